/**
 * A V8 code cache for the CLI's bundle. Parsing and compiling dist/cli-main.js took 20–25 ms of
 * every start of the CLI (`node --cpu-prof`, `wrapSafe`); run from V8's cached data it takes a
 * few. Node ≥ 22.1 has this built in (`module.enableCompileCache`); Node 20, which the CLI runs
 * on, has not, so this does the same with `vm.Script`'s `cachedData`.
 *
 * The cache is code this process will run, and V8 checks neither its bytes (its checksum check is
 * off by default: one flipped byte crashed the CLI) nor that it was made from the same text (only
 * the length). So:
 * - every file starts with a header: a magic; what it was made from: a CRC-32 of the bundle's
 *   path, its length, Node's flags and NODE_OPTIONS, a CRC-32 of the bundle's bytes, and the
 *   bundle file's identity (device, inode, size, and its modification and change times in ns:
 *   a file written anew has a new change time, which no tool can set back); and a CRC-32 of the
 *   cached data. A file whose header does not match is not used, and is written anew (the path
 *   is in it because V8 names the code it runs from a cache after the file the cache was made
 *   from: another checkout's cache would put that checkout's path in every stack frame and
 *   profile). CRC-32 (zlib's, in Node since 20.15) finds every flipped byte and every burst of up
 *   to 32 bits; the cache is no defence against someone who can write the user's own files, who
 *   could change the bundle itself. It replaced SHA-256 because node:crypto cost the start ~3 ms
 *   to load and ~2 ms to hash, and nothing else of a plain start needs it. On a Node without
 *   zlib.crc32 (20.0–20.14) Node's own `require` loads the bundle: no cache;
 * - it is only read from and written to a folder only this user (and root) can change, and
 *   whose every parent only they can change too (a sticky folder such as /tmp excepted, where
 *   nobody may rename what is another's); the folder itself is never a symlink, and a missing one
 *   is made (0700) only under such parents: on Linux `$XDG_CACHE_HOME/porthole` or
 *   `~/.cache/porthole`, on macOS `~/Library/Caches/porthole`, on Windows
 *   `%LOCALAPPDATA%\porthole\Cache` (where the folder is the user's own, unchecked);
 * - the file is opened without following a symlink or waiting on a FIFO, and must be a regular
 *   file of this user's that nobody else may write.
 * - where something acts when Node compiles a file (source maps, coverage, a policy, a preloaded
 *   module or a loader: compileCacheBypass), Node's own `require` loads the bundle;
 * - a folder is made only when a cache is written: a command that ends at once makes none.
 * Each use refreshes the file's mtime; when a new one is written, cache files unused for
 * STALE_CACHE_MS (other versions of Porthole, other Nodes, other flags) are removed, and all but
 * the MAX_CACHE_FILES used last. Any failure (no home, no such folder, a folder others can
 * change, a corrupt or rejected file, a full disk) only means the bundle is compiled as without a
 * cache. `NODE_DISABLE_COMPILE_CACHE=1` (Node's own switch for its cache) turns it off.
 *
 * Uses only Node; imports nothing of the CLI or the core.
 */
import { isAscii } from 'node:buffer';
import {
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  opendirSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  type BigIntStats,
  type Stats,
} from 'node:fs';
import type Module from 'node:module';
import { basename, dirname, isAbsolute, join, parse, sep } from 'node:path';
import { Script } from 'node:vm';
import * as zlib from 'node:zlib';

/** What the cache is written after, from the start (ms): the start-up and a first request have compiled what they use. */
export const CACHE_WRITE_DELAY_MS = 500;
/** A cache file larger than this is not read (bytes): the bundle's cache is ~0.5 MiB. */
export const MAX_CACHE_BYTES = 16 * 1024 * 1024;
/** A cache file unused this long (ms) is removed when another is written: an older Porthole's, another Node's. */
export const STALE_CACHE_MS = 30 * 24 * 3600 * 1000;
/**
 * At most this many cache files are kept (the most recently used): one per Porthole version,
 * copy of dist/, Node and set of flags in use, ~0.4 MB each; a developer rebuilding the bundle makes a new one
 * every build.
 */
export const MAX_CACHE_FILES = 8;
/** Names prune() looks at, at most: it runs on the event loop (the folder is the user's own; 8 files or so). */
export const MAX_SCANNED_ENTRIES = 1024;
/** A temporary file of a write this old (ms) was left by a process killed mid-write. */
export const STALE_TEMPORARY_MS = 10 * 60 * 1000;
/** The cache file's first bytes (-2: CRC-32s and the bundle's identity; -1 held SHA-256s). */
const MAGIC = Buffer.from('PORTHOLE-V8C-2\n\0', 'latin1');
/** A compileCacheKey, as bytes: the CRC-32 of the origin (path, length, flags), then of the bundle's bytes. */
const KEY_BYTES = 8;
/** The bundle file's identity: device, inode, size, mtime (ns), ctime (ns), each a 64-bit integer. */
const IDENTITY_BYTES = 5 * 8;
/** What the header says of the bundle: ASCII_BUNDLE, or 0. */
const FLAGS_BYTES = 4;
/** The bundle's bytes are ASCII (decoded as Latin-1 without isAscii looking at them again: ~0.6 ms). */
const ASCII_BUNDLE = 1;
const CHECKSUM_BYTES = 4;
const ORIGIN_END = MAGIC.length + KEY_BYTES + IDENTITY_BYTES;
const HEADER_BYTES = ORIGIN_END + FLAGS_BYTES + CHECKSUM_BYTES;
/**
 * Node's CommonJS Module class (what `require('node:module')` gives), taken from this file's own
 * module: loading node:module's public face cost the start ~0.5 ms.
 */
const CjsModule = module.constructor as typeof Module;
const CACHE_FILE = /^cli-main-.+\.v8cache$/;
const TEMPORARY_FILE = /^cli-main-.+\.v8cache\.tmp$/;

/**
 * The cache folder for `platform` ('linux', 'darwin', 'win32', … as `process.platform`), from
 * `env` and the home folder `home` (undefined when the user has none): an absolute path, or
 * undefined when there is none to use (no home, a relative `XDG_CACHE_HOME` is ignored as the XDG
 * Base Directory spec says, or `NODE_DISABLE_COMPILE_CACHE` set).
 */
export function compileCacheFolder(env: NodeJS.ProcessEnv, platform: string, home: string | undefined): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  if (platform === 'win32') return env.LOCALAPPDATA && isAbsolute(env.LOCALAPPDATA) ? join(env.LOCALAPPDATA, 'porthole', 'Cache') : undefined;
  const xdg = env.XDG_CACHE_HOME;
  if (platform !== 'darwin' && xdg && isAbsolute(xdg)) return join(xdg, 'porthole');
  if (!home || !isAbsolute(home)) return undefined;
  return platform === 'darwin' ? join(home, 'Library', 'Caches', 'porthole') : join(home, '.cache', 'porthole');
}

/** zlib's CRC-32 (Node ≥ 20.15), or undefined on an older Node (no cache there). */
const crc32 = (zlib as Partial<typeof zlib>).crc32;

/**
 * What a cache is made from, as 16 hex digits: the CRC-32 of the bundle's path `file` as given to
 * V8 (the name its stack frames and profiles show, which V8 takes from the cache: each copy of
 * dist/ has its own), of V8's version (Electron's differs from its Node's), of Node's
 * command-line flags `execArgv` and `nodeOptions` (NODE_OPTIONS), which V8 rejects a cache made
 * under others for, and of the length of `source` in bytes; then the CRC-32 of `source` itself (the
 * bundle's bytes, or the text they are in UTF-8). The header also holds the bundle file's
 * identity (cacheIdentity). Throws on a Node without zlib.crc32 (runWithCompileCache uses none there).
 */
export function compileCacheKey(file: string, source: string | Uint8Array, execArgv: readonly string[], nodeOptions: string | undefined): string {
  if (crc32 === undefined) throw new Error('zlib.crc32 is missing (Node < 20.15): no compile cache');
  const length = typeof source === 'string' ? Buffer.byteLength(source, 'utf8') : source.byteLength;
  const key = Buffer.alloc(KEY_BYTES);
  key.writeUInt32BE(crc32(JSON.stringify([process.versions.v8, file, execArgv, nodeOptions ?? '', length])), 0);
  key.writeUInt32BE(crc32(source), 4);
  return key.toString('hex');
}

/** The identity of the bundle file `st` (read with bigint: true) as the header holds it. */
function cacheIdentity(st: BigIntStats): Buffer {
  const identity = Buffer.alloc(IDENTITY_BYTES);
  [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs].forEach((n, i) => identity.writeBigUInt64BE(BigInt.asUintN(64, n), i * 8));
  return identity;
}

/** The CRC-32 of `flags` (the header's) and then `data` (the cached data), as the header holds it. */
function checksum(flags: Uint8Array, data: Uint8Array): Buffer {
  const sum = Buffer.alloc(CHECKSUM_BYTES);
  sum.writeUInt32BE(crc32!(data, crc32!(flags)), 0);
  return sum;
}

/** The cache file's name for `key` (compileCacheKey): `cli-main-<node>-<arch>-<key>.v8cache`. */
export function compileCacheFileName(key: string): string {
  return `cli-main-${process.version}-${process.arch}-${key}.v8cache`;
}

/** The effective uid (undefined where there are none: Windows). */
const uid = (): number | undefined => (process.geteuid ?? process.getuid)?.();

/** Whether `st` is this user's and nobody else may write it (always true where there are no uids). */
function ownedPrivately(st: Stats): boolean {
  const me = uid();
  return me === undefined || (st.uid === me && (st.mode & 0o022) === 0);
}

/**
 * Whether only this user and root can change what lies in the folder `st`: owned by either, and
 * writable by nobody else, or sticky (nobody may rename or remove what is another's in it).
 */
function changedOnlyByUs(st: Stats): boolean {
  const me = uid();
  if (me === undefined) return true;
  return st.isDirectory() && (st.uid === me || st.uid === 0) && ((st.mode & 0o022) === 0 || (st.mode & 0o1000) !== 0);
}

/** Whether `realPath` (no symlinks in it) and each folder above it only this user and root can change. */
function trustedPath(realPath: string): boolean {
  const { root } = parse(realPath);
  const parts = realPath.slice(root.length).split(sep).filter((p) => p.length > 0);
  let at = root;
  if (!changedOnlyByUs(lstatSync(at))) return false;
  for (const part of parts) {
    at = join(at, part);
    if (!changedOnlyByUs(lstatSync(at))) return false;
  }
  return true;
}

/**
 * The real path of the cache folder `folder` when what exists of its path is trusted
 * (trustedPath) and the folder is this user's alone (no symlink); with `create`, it is made
 * (0700) with any missing parents first, else a missing folder is undefined. Undefined too when it
 * cannot be used: a parent others can change, a symlink as the folder itself, or any error.
 * Folders are made one at a time (no recursive mkdir: Node's loops for ever under /proc).
 */
function trustedFolder(folder: string, create: boolean): string | undefined {
  try {
    if (uid() === undefined) {
      if (create) mkdirSync(folder, { recursive: true, mode: 0o700 });
      return lstatSync(folder).isDirectory() ? folder : undefined;
    }
    // The deepest part of the parent's path that exists, and the names to make under it.
    const missing: string[] = [];
    let existing = dirname(folder);
    for (;;) {
      try {
        lstatSync(existing);
        break;
      } catch (err) {
        const parent = dirname(existing);
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === existing) return undefined;
        missing.unshift(basename(existing));
        existing = parent;
      }
    }
    if (missing.length > 0 && !create) return undefined;
    let at = realpathSync.native(existing);
    if (!trustedPath(at)) return undefined;
    const names = [...missing, basename(folder)];
    for (const [i, name] of names.entries()) {
      at = join(at, name);
      if (create) {
        try {
          mkdirSync(at, { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
        }
      }
      const st = lstatSync(at);
      if (!st.isDirectory() || (i === names.length - 1 ? !ownedPrivately(st) : !changedOnlyByUs(st))) return undefined;
    }
    return at;
  } catch {
    return undefined;
  }
}

/**
 * The cached data in `file` (`data`) and whether the bundle it was made from is ASCII (`ascii`),
 * when its header says it was made for `madeFor` (the key's bytes and the bundle's identity) and
 * its bytes are the ones written (and it is a regular file of this user's that nobody else may
 * write, at most MAX_CACHE_BYTES); its mtime is then set to now (in use). Else undefined.
 */
function readCache(file: string, madeFor: Buffer): { data: Buffer; ascii: boolean } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    const st = fstatSync(fd);
    if (!st.isFile() || !ownedPrivately(st) || st.size > MAX_CACHE_BYTES || st.size <= HEADER_BYTES) return undefined;
    const bytes = readFileSync(fd);
    const data = bytes.subarray(HEADER_BYTES);
    const origin = bytes.subarray(MAGIC.length, ORIGIN_END);
    const flags = bytes.subarray(ORIGIN_END, ORIGIN_END + FLAGS_BYTES);
    const written = bytes.subarray(ORIGIN_END + FLAGS_BYTES, HEADER_BYTES);
    if (!bytes.subarray(0, MAGIC.length).equals(MAGIC) || !origin.equals(madeFor) || !written.equals(checksum(flags, data))) return undefined;
    try {
      const now = new Date();
      futimesSync(fd, now, now);
    } catch {
      // a read-only file system: it is only the age of a cache
    }
    return { data, ascii: (flags.readUInt32BE(0) & ASCII_BUNDLE) !== 0 };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Removes from `folder` the cache files unused for STALE_CACHE_MS, those beyond the
 * MAX_CACHE_FILES − 1 used last (room for one more), and temporary files older than
 * STALE_TEMPORARY_MS (a write killed before its rename). Looks at MAX_SCANNED_ENTRIES names at
 * most: the folder is the user's own, and this runs on the event loop.
 */
function prune(folder: string): void {
  const names: string[] = [];
  try {
    const dir = opendirSync(folder);
    try {
      for (let entry = dir.readSync(); entry !== null && names.length < MAX_SCANNED_ENTRIES; entry = dir.readSync()) names.push(entry.name);
    } finally {
      dir.closeSync();
    }
  } catch {
    return;
  }
  const now = Date.now();
  const kept: Array<{ path: string; mtimeMs: number }> = [];
  for (const name of names) {
    const cache = CACHE_FILE.test(name);
    if (!cache && !TEMPORARY_FILE.test(name)) continue;
    const path = join(folder, name);
    try {
      const st = lstatSync(path);
      if (!st.isFile()) continue;
      if (st.mtimeMs < now - (cache ? STALE_CACHE_MS : STALE_TEMPORARY_MS)) removeQuietly(path);
      else if (cache) kept.push({ path, mtimeMs: st.mtimeMs });
    } catch {
      // another start removed it
    }
  }
  kept.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { path } of kept.slice(MAX_CACHE_FILES - 1)) removeQuietly(path);
}

/**
 * Writes `data` made for `madeFor` (the key's bytes and the bundle's identity) from a bundle that
 * is ASCII or not (`ascii`) to `file` (0600, with its header) through `<file>.tmp` and a rename, after prune() made room. Another start writing the same cache holds that temporary
 * name: then this one writes nothing (prune() removes one left by a killed write once it is
 * STALE_TEMPORARY_MS old).
 */
function writeCache(file: string, madeFor: Buffer, ascii: boolean, data: Buffer): void {
  prune(dirname(file));
  const temporary = `${file}.tmp`;
  try {
    const flags = Buffer.alloc(FLAGS_BYTES);
    flags.writeUInt32BE(ascii ? ASCII_BUNDLE : 0, 0);
    writeFileSync(temporary, Buffer.concat([MAGIC, madeFor, flags, checksum(flags, data), data]), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // EEXIST: another start is writing it. Anything else (ENOSPC…): nothing is left behind.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') removeQuietly(temporary);
    return;
  }
  try {
    renameSync(temporary, file);
  } catch {
    removeQuietly(temporary);
  }
}

/** Removes `path`; one already gone (another start removing it too) is no error. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** The bundle as read by readBundle, for wrappedSource. */
interface ReadBundle {
  /** Room for the wrapper's head, the bundle's bytes, room for its tail. */
  readonly whole: Buffer;
  /** The bundle's own bytes (what the cache key is made from), in `whole` after the head's room. */
  readonly bytes: Buffer;
  /** Its file's identity (cacheIdentity). */
  readonly identity: Buffer;
  readonly head: string;
  readonly tail: string;
}

/**
 * The bundle `file` read once, straight into one buffer between room for the CommonJS wrapper's
 * head and tail (Module.wrap's), which wrappedSource decodes in one piece: `Module.wrap(text)`
 * would make a second copy of the bundle's ~0.5 MB beside the first, and both are young large
 * objects in V8's heap, where they brought a collection (a scavenge, ~3 ms here) forward into
 * every start (`node --trace-gc`, v8.getHeapSpaceStatistics); concatenating head, file and tail
 * copied the ~0.5 MB once more into memory the process had not touched yet (~2 ms of every start
 * on this machine's VM). Throws what opening or reading `file` throws.
 */
function readBundle(file: string): ReadBundle {
  const [head = '', tail = ''] = CjsModule.wrap('\0').split('\0');
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    const headBytes = Buffer.byteLength(head, 'utf8');
    const tailBytes = Buffer.byteLength(tail, 'utf8');
    const whole = Buffer.allocUnsafeSlow(headBytes + size + tailBytes);
    let read = 0;
    for (let n = -1; n !== 0 && read < size; read += n) n = readSync(fd, whole, headBytes + read, size - read, null);
    // A file that shrank while read: what was read, as readFileSync would give it.
    const bytes = whole.subarray(headBytes, headBytes + read);
    return { whole: whole.subarray(0, headBytes + read + tailBytes), bytes, identity: cacheIdentity(st), head, tail };
  } finally {
    closeSync(fd);
  }
}

/**
 * The CommonJS module text of `bundle` as `Module.wrap` makes it (the same characters, so the same
 * cache), `ascii` saying whether its bytes are ASCII: esbuild writes ASCII only, and decoded as
 * Latin-1 it is the same text, made ~10× faster than as UTF-8; other bytes are decoded as UTF-8.
 */
function wrappedSource(bundle: ReadBundle, ascii: boolean): string {
  const { whole, bytes, head, tail } = bundle;
  const encoding = ascii ? 'latin1' : 'utf8';
  whole.write(head, 0, encoding);
  whole.write(tail, bytes.byteOffset - whole.byteOffset + bytes.length, encoding);
  return whole.toString(encoding);
}

type CommonJsWrapper = (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;

/**
 * Why Node itself must load the bundle (a reason), or undefined: what acts when Node compiles a
 * file (source maps, coverage, a policy's integrity check, a preloaded module or a loader) never
 * sees code compiled from a cache, nor from vm.Script at all. `execArgv` and `env` as process's.
 */
export function compileCacheBypass(execArgv: readonly string[], env: NodeJS.ProcessEnv, sourceMapsEnabled: boolean): string | undefined {
  if (sourceMapsEnabled) return 'source maps are enabled';
  if (env.NODE_V8_COVERAGE) return 'NODE_V8_COVERAGE is set';
  const flags = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  const hook = flags.find((f) => /^(?:-r|--require|--import|--(?:experimental-)?loader|--experimental-policy|--policy-integrity)(?:=|$)/.test(f));
  return hook === undefined ? undefined : `${hook.split('=')[0]!} is given`;
}

/**
 * Runs the CommonJS file `file` (the CLI bundle) as `require` would, compiled from the code
 * cache when there is a valid one; when there is none, or V8 rejected it, writes one
 * CACHE_WRITE_DELAY_MS later (an unref'd timer: a command that ends sooner writes none, and
 * makes no folder). Without a cache to use (NODE_DISABLE_COMPILE_CACHE, no folder,
 * compileCacheBypass, or a Node without zlib.crc32), Node's own `require` loads it. `home`: the user's home folder, undefined
 * when there is none. Throws what reading `file` or running it throws.
 */
export function runWithCompileCache(file: string, env: NodeJS.ProcessEnv, platform: string, home: string | undefined): void {
  const folderAsked = compileCacheBypass(process.execArgv, env, process.sourceMapsEnabled) === undefined ? compileCacheFolder(env, platform, home) : undefined;
  if (folderAsked === undefined || crc32 === undefined) {
    CjsModule.createRequire(file)(file);
    return;
  }
  const bundle = readBundle(file);
  const key = compileCacheKey(file, bundle.bytes, process.execArgv, env.NODE_OPTIONS);
  const name = compileCacheFileName(key);
  const madeFor = Buffer.concat([Buffer.from(key, 'hex'), bundle.identity]);
  const folder = trustedFolder(folderAsked, false);
  const cached = folder === undefined ? undefined : readCache(join(folder, name), madeFor);
  const cachedData = cached?.data;
  // A cache made from these very bytes (key and identity) says whether they are ASCII.
  const ascii = cached?.ascii ?? isAscii(bundle.bytes);
  const script = new Script(wrappedSource(bundle, ascii), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    const write = (): void => {
      try {
        const made = folder ?? trustedFolder(folderAsked, true);
        if (made !== undefined) writeCache(join(made, name), madeFor, ascii, script.createCachedData());
      } catch {
        // the cache is only ever a shortcut
      }
    };
    setTimeout(write, CACHE_WRITE_DELAY_MS).unref();
  }
  const run = script.runInThisContext() as CommonJsWrapper;
  const mod = new CjsModule(file, require.main);
  mod.filename = file;
  const requireFromFile = CjsModule.createRequire(file);
  mod.require = requireFromFile as Module['require'];
  run.call(mod.exports, mod.exports, requireFromFile, mod, file, dirname(file));
  mod.loaded = true;
}
