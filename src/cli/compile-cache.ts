/**
 * A V8 code cache for the CLI's bundle. Parsing and compiling dist/cli-main.js (~470 KB, most of
 * it mime-db's table) took 20–25 ms of every start of the CLI (`node --cpu-prof`, `wrapSafe`);
 * run from V8's cached data it takes ~2 ms. Node ≥ 22.1 has this built in
 * (`module.enableCompileCache`); Node 20, which the CLI runs on, has not, so this does the same
 * with `vm.Script`'s `cachedData`.
 *
 * The cache is code this process will run, so it is only read from and written to a folder that
 * is the user's own and that nobody else can write (never a shared temporary folder): on Linux
 * `$XDG_CACHE_HOME/porthole` or `~/.cache/porthole`, on macOS `~/Library/Caches/porthole`, on
 * Windows `%LOCALAPPDATA%\porthole\Cache`. A file's name carries the Node version, the CPU
 * architecture and the SHA-256 of the bundle's text, so another bundle or another Node never
 * reads it (V8 itself checks only the text's length and its own version and flags). Any failure
 * (no such folder, a folder others can write, a corrupt or rejected file, a full disk) only means
 * the bundle is compiled as without a cache; `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch
 * for its cache) turns it off.
 *
 * Uses only Node; imports nothing of the CLI or the core.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { isAbsolute, dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** What the cache is written after, from the start (ms): the start-up and a first request have compiled what they use. */
export const CACHE_WRITE_DELAY_MS = 500;
/** A cache file larger than this is not read (bytes): the bundle's cache is ~0.5 MiB. */
export const MAX_CACHE_BYTES = 16 * 1024 * 1024;
/** Another Node's cache file unused this long is removed (ms): that Node is likely gone. */
export const STALE_CACHE_MS = 30 * 24 * 3600 * 1000;
const CACHE_FILE = /^cli-main-.*\.v8cache$/;

/**
 * The cache folder for `platform` ('linux', 'darwin', 'win32', … as `process.platform`), from
 * `env` and the home folder `home`: an absolute path, or undefined when there is none to use
 * (no home, a relative `XDG_CACHE_HOME` is ignored as the XDG spec says, or
 * `NODE_DISABLE_COMPILE_CACHE` set).
 */
export function compileCacheFolder(env: NodeJS.ProcessEnv, platform: string, home: string): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  if (platform === 'win32') return env.LOCALAPPDATA && isAbsolute(env.LOCALAPPDATA) ? join(env.LOCALAPPDATA, 'porthole', 'Cache') : undefined;
  if (!home || !isAbsolute(home)) return undefined;
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'porthole');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'porthole');
}

/** The cache file's name for a bundle whose text is `source`: `cli-main-<node>-<arch>-<sha256/16>.v8cache`. */
export function compileCacheFileName(source: string): string {
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return `cli-main-${process.version}-${process.arch}-${digest}.v8cache`;
}

/** Whether `st` is this user's and nobody else may write it (POSIX; always true where there are no uids). */
function ownedPrivately(st: { uid: number; mode: number }): boolean {
  return process.getuid === undefined || (st.uid === process.getuid() && (st.mode & 0o022) === 0);
}

/** Makes `folder` (0700) when missing; true when it is a real folder (no symlink) that is this user's alone. */
function privateFolder(folder: string): boolean {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const st = lstatSync(folder);
    return st.isDirectory() && ownedPrivately(st);
  } catch {
    return false;
  }
}

/** The bytes of `file` when it is a regular file of this user's that nobody else may write, at most MAX_CACHE_BYTES; else undefined. */
function readPrivateFile(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    const st = fstatSync(fd);
    return st.isFile() && ownedPrivately(st) && st.size <= MAX_CACHE_BYTES ? readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `data` to `file` (0600) through a temporary name and a rename, then removes the folder's
 * cache files of other bundles for this Node, and those of other Nodes older than STALE_CACHE_MS.
 */
function writeCacheFile(file: string, data: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // never made
    }
    return;
  }
  const folder = dirname(file);
  const own = file.slice(folder.length + 1);
  const sameNode = `cli-main-${process.version}-${process.arch}-`;
  const staleBefore = Date.now() - STALE_CACHE_MS;
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    if (!CACHE_FILE.test(name) || name === own) continue;
    try {
      // Another bundle for this Node is an older Porthole; another Node's stays while it may still run.
      if (name.startsWith(sameNode) || lstatSync(join(folder, name)).mtimeMs < staleBefore) unlinkSync(join(folder, name));
    } catch {
      // another start removing it too
    }
  }
}

type CommonJsWrapper = (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

/**
 * Runs the CommonJS file `file` (the CLI bundle) as `require` would, compiled from the code
 * cache when there is a valid one; when there is none, or V8 rejected it, writes one
 * CACHE_WRITE_DELAY_MS later (an unref'd timer: a command that ends sooner writes none).
 * Throws what reading `file` or running it throws.
 */
export function runWithCompileCache(file: string, env: NodeJS.ProcessEnv, platform: string, home: string): void {
  const source = readFileSync(file, 'utf8');
  const folder = compileCacheFolder(env, platform, home);
  const cacheFile = folder !== undefined && privateFolder(folder) ? join(folder, compileCacheFileName(source)) : undefined;
  const cachedData = cacheFile !== undefined ? readPrivateFile(cacheFile) : undefined;
  const script = new Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    const write = (): void => {
      try {
        writeCacheFile(cacheFile, script.createCachedData());
      } catch {
        // the cache is only ever a shortcut
      }
    };
    setTimeout(write, CACHE_WRITE_DELAY_MS).unref();
  }
  const run = script.runInThisContext() as CommonJsWrapper;
  const mod = new Module(file, require.main);
  mod.filename = file;
  const requireFromFile = createRequire(file);
  mod.require = requireFromFile as Module['require'];
  run.call(mod.exports, mod.exports, requireFromFile, mod, file, dirname(file));
  mod.loaded = true;
}
