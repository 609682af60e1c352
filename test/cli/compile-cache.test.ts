/**
 * The CLI's V8 code cache (src/cli/compile-cache.ts) as users' starts meet it, each start with
 * its own XDG_CACHE_HOME:
 * - the first start writes it, owner-only; the next runs from it and leaves it be; other Nodes'
 *   and flags' caches live beside it, and only what is long unused is removed;
 * - a cache whose bytes or origin do not match its header (one flipped byte, another bundle's
 *   cache under this one's name, garbage) is never run: the CLI serves and writes it anew;
 * - a folder others can change (the folder, or a parent of it), a symlinked folder, a FIFO at
 *   the cache's name, /proc, another user's home, NODE_DISABLE_COMPILE_CACHE or no home at all:
 *   no cache is read or written, and the CLI serves as usual.
 * Every start here must serve the page and exit 0 on SIGINT. The cases needing a second uid run
 * as root only. Needs `npm run build` first (dist/cli.js, dist/cli-main.js).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CACHE_WRITE_DELAY_MS,
  MAX_CACHE_FILES,
  MAX_SCANNED_ENTRIES,
  STALE_CACHE_MS,
  STALE_TEMPORARY_MS,
  compileCacheBypass,
  compileCacheFileName,
  compileCacheFolder,
  compileCacheKey,
} from '../../src/cli/compile-cache';
import { fetchOnce } from '../core/raw-client';
import { CLI, REPO, killAllClis, requireBuiltCli, runCli, runCommand, stopCli, waitForLocalPort, type Cli } from './run-cli';

/** Long enough past CACHE_WRITE_DELAY_MS for a write that was going to happen to have happened. */
const SETTLE_MS = CACHE_WRITE_DELAY_MS + 1000;
/** A cache write is awaited at most this long. */
const WRITE_WAIT_MS = 10_000;
/** A uid and gid with no passwd entry (no home folder). */
const STRANGER = 12345;
const asRoot = process.getuid?.() === 0;

let work: string;
let root: string;
let source: string;
/** The bundle's path, as dist/cli.js gives it to V8. */
let bundle: string;
/** The cache's name for a plain start (no flags), as the CLI computes it. */
let cacheName: string;

before(async () => {
  requireBuiltCli();
  work = await mkdtemp(join(tmpdir(), 'porthole-compile-cache-'));
  await chmod(work, 0o755); // the stranger's start reads the site too
  root = join(work, 'site');
  await mkdir(root, { mode: 0o755 });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>hello</p>', { mode: 0o644 });
  source = readFileSync(join(REPO, 'dist', 'cli-main.js'), 'utf8');
  bundle = join(REPO, 'dist', 'cli-main.js');
  cacheName = compileCacheFileName(compileCacheKey(bundle, source, [], undefined));
});

after(async () => {
  killAllClis();
  await rm(work, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it is true (bounded by `ms`; throws saying `what`). */
async function waitUntil(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);
const inode = async (path: string): Promise<number> => (await stat(path)).ino;

/** Asserts that `cli` serves the page (200 with its bytes) and returns it running. */
async function serving(cli: Cli): Promise<Cli> {
  const port = await waitForLocalPort(cli);
  const res = await fetchOnce(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  assert.equal(res.status, 200);
  assert.match(res.body.toString('utf8'), /<p>hello<\/p>/);
  return cli;
}

/** The CLI started with `env` (NODE_OPTIONS and NODE_V8_COVERAGE unset unless given), once it serves the page. */
const startServing = (env: Record<string, string | undefined>): Promise<Cli> =>
  serving(runCli([root, '--port', '0', '--quiet', '--no-reload'], work, { NODE_OPTIONS: undefined, NODE_V8_COVERAGE: undefined, ...env }));

/** Starts, serves, waits SETTLE_MS and stops (exit 0) with `env`. */
async function startAndStop(env: Record<string, string | undefined>): Promise<void> {
  const cli = await startServing(env);
  await sleep(SETTLE_MS);
  assert.equal(await stopCli(cli), 0, cli.stderr);
}

/** A fresh XDG_CACHE_HOME, and its porthole folder's path. */
async function freshCacheHome(): Promise<{ xdg: string; folder: string }> {
  const xdg = await mkdtemp(join(work, 'xdg-'));
  return { xdg, folder: join(xdg, 'porthole') };
}

/** A plain start's cache written into a fresh XDG_CACHE_HOME: its paths. */
async function writtenCache(): Promise<{ xdg: string; folder: string; file: string }> {
  const { xdg, folder } = await freshCacheHome();
  const file = join(folder, cacheName);
  const cli = await startServing({ XDG_CACHE_HOME: xdg });
  await waitUntil(() => exists(file), WRITE_WAIT_MS, 'the cache file written');
  assert.equal(await stopCli(cli), 0, cli.stderr);
  return { xdg, folder, file };
}

test('the first start writes the cache, owner-only; the next start runs from it and leaves it be', async () => {
  const { xdg, folder } = await freshCacheHome();
  const file = join(folder, cacheName);
  // Beside it: another Porthole's cache for this Node and another Node's, both in use (kept),
  // one unused for longer than STALE_CACHE_MS (removed), and a write's temporary files: one of a
  // start killed long ago (removed), one being written now (kept).
  await mkdir(folder, { mode: 0o700 });
  const otherBundle = `cli-main-${process.version}-${process.arch}-0000000000000000.v8cache`;
  const otherNode = `cli-main-v99.0.0-${process.arch}-0000000000000000.v8cache`;
  const stale = `cli-main-v98.0.0-${process.arch}-0000000000000000.v8cache`;
  const leftOver = `${otherBundle}.tmp`;
  const beingWritten = `${otherNode}.tmp`;
  for (const name of [otherBundle, otherNode, stale, leftOver, beingWritten]) await writeFile(join(folder, name), 'x', { mode: 0o600 });
  const longAgo = (Date.now() - STALE_CACHE_MS - 60_000) / 1000;
  await utimes(join(folder, stale), longAgo, longAgo);
  const aWhileAgo = (Date.now() - STALE_TEMPORARY_MS - 60_000) / 1000;
  await utimes(join(folder, leftOver), aWhileAgo, aWhileAgo);

  const first = await startServing({ XDG_CACHE_HOME: xdg });
  await waitUntil(() => exists(file), WRITE_WAIT_MS, 'the cache file written');
  assert.equal(await stopCli(first), 0);
  assert.deepEqual((await readdir(folder)).sort(), [cacheName, otherBundle, otherNode, beingWritten].sort());
  assert.equal((await stat(folder)).mode & 0o777, 0o700);
  const written = await stat(file);
  assert.equal(written.mode & 0o777, 0o600);
  assert.ok(written.size > 100_000, `a cache of the whole bundle, not ${written.size} bytes`);
  const bytes = await readFile(file);

  // Accepted: a rejected cache is written anew (another file renamed over it). Its use is its mtime.
  await startAndStop({ XDG_CACHE_HOME: xdg });
  const used = await stat(file);
  assert.equal(used.ino, written.ino);
  assert.ok((await readFile(file)).equals(bytes));
  assert.ok(used.mtimeMs > written.mtimeMs, 'the mtime says when it was last used');
});

test('at most MAX_CACHE_FILES cache files are kept: the new one and the others used last', async () => {
  const { xdg, folder } = await freshCacheHome();
  await mkdir(folder, { mode: 0o700 });
  // Others used 1 to 12 minutes ago: the MAX_CACHE_FILES − 1 used last stay.
  const others = Array.from({ length: 12 }, (_, i) => `cli-main-v${90 + i}.0.0-${process.arch}-0000000000000000.v8cache`);
  for (const [i, name] of others.entries()) {
    await writeFile(join(folder, name), 'x', { mode: 0o600 });
    const used = (Date.now() - (i + 1) * 60_000) / 1000;
    await utimes(join(folder, name), used, used);
  }
  const cli = await startServing({ XDG_CACHE_HOME: xdg });
  await waitUntil(() => exists(join(folder, cacheName)), WRITE_WAIT_MS, 'the cache file written');
  assert.equal(await stopCli(cli), 0);
  assert.deepEqual((await readdir(folder)).sort(), [cacheName, ...others.slice(0, MAX_CACHE_FILES - 1)].sort());
});

test('a cache being written by another start is left to it; one left by a killed write is removed once stale', async () => {
  const { xdg, folder } = await freshCacheHome();
  await mkdir(folder, { mode: 0o700 });
  const file = join(folder, cacheName);
  const temporary = `${file}.tmp`;
  await writeFile(temporary, 'x', { mode: 0o600 });
  await startAndStop({ XDG_CACHE_HOME: xdg });
  assert.deepEqual(await readdir(folder), [`${cacheName}.tmp`]);
  const stale = (Date.now() - STALE_TEMPORARY_MS - 60_000) / 1000;
  await utimes(temporary, stale, stale);
  const cli = await startServing({ XDG_CACHE_HOME: xdg });
  await waitUntil(() => exists(file), WRITE_WAIT_MS, 'the cache written once the stale temporary file is gone');
  assert.equal(await stopCli(cli), 0);
  assert.deepEqual(await readdir(folder), [cacheName]);
});

test('a folder holding many stale files costs the write MAX_SCANNED_ENTRIES names at most', async () => {
  const { xdg, folder } = await freshCacheHome();
  await mkdir(folder, { mode: 0o700 });
  const stale = (Date.now() - STALE_CACHE_MS - 60_000) / 1000;
  const count = MAX_SCANNED_ENTRIES + 476;
  for (let i = 0; i < count; i++) {
    const path = join(folder, `cli-main-v1.0.${i}-${process.arch}-0000000000000000.v8cache`);
    await writeFile(path, 'x', { mode: 0o600 });
    await utimes(path, stale, stale);
  }
  const cli = await startServing({ XDG_CACHE_HOME: xdg });
  await waitUntil(() => exists(join(folder, cacheName)), WRITE_WAIT_MS, 'the cache file written');
  assert.equal(await stopCli(cli), 0);
  // The first MAX_SCANNED_ENTRIES names read were stale and removed; the rest wait for the next write.
  assert.equal((await readdir(folder)).length, count - MAX_SCANNED_ENTRIES + 1);
});

test('a command that ends at once (--version) makes no cache folder', async () => {
  const { xdg } = await freshCacheHome();
  const deep = join(xdg, 'a', 'b');
  const cli = runCli(['--version'], work, { XDG_CACHE_HOME: deep, NODE_OPTIONS: undefined, NODE_V8_COVERAGE: undefined });
  assert.equal(await cli.exited, 0);
  assert.match(cli.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.deepEqual(await readdir(xdg), []);
});

test('with source maps, coverage or a preloaded module, Node itself loads the bundle: no cache, and coverage sees the CLI', async () => {
  const { xdg, folder, file } = await writtenCache();
  const written = await inode(file);
  for (const flags of ['--enable-source-maps', `--require ${JSON.stringify(join(work, 'preload.js'))}`]) {
    await writeFile(join(work, 'preload.js'), '');
    const fresh = await freshCacheHome();
    await startAndStop({ XDG_CACHE_HOME: fresh.xdg, NODE_OPTIONS: flags });
    assert.deepEqual(await readdir(fresh.xdg), [], flags);
  }
  // A valid cache is there; coverage of the bundle is still whole (from V8's own compile).
  const coverage = await mkdtemp(join(work, 'coverage-'));
  await startAndStop({ XDG_CACHE_HOME: xdg, NODE_V8_COVERAGE: coverage });
  assert.equal(await inode(file), written);
  assert.deepEqual(await readdir(folder), [cacheName]);
  const reports = await Promise.all((await readdir(coverage)).map(async (n) => JSON.parse(await readFile(join(coverage, n), 'utf8')) as { result: Array<{ url: string; functions: unknown[] }> }));
  const bundle = reports.flatMap((r) => r.result).find((s) => s.url.endsWith('/dist/cli-main.js'));
  assert.ok(bundle !== undefined, 'the bundle is in the coverage');
  assert.ok(bundle.functions.length > 300, `coverage of ${bundle.functions.length} functions: the bundle compiled by V8 itself`);
});

test('each copy of the bundle has a cache of its own: what runs names its own file (stack frames, profiles)', async () => {
  // Two checkouts (or a copied dist/) with the same bytes: V8 names the code it runs from a cache
  // after the file the cache was made from, so one copy's cache run by the other would put the
  // first copy's path in every stack frame. A CPU profile lists the file each sampled function is in.
  const { xdg, folder } = await freshCacheHome();
  const copies = [join(work, 'copy-a'), join(work, 'copy-b')];
  for (const copy of copies) await cp(join(REPO, 'dist'), join(copy, 'dist'), { recursive: true });
  const profiles = await mkdtemp(join(work, 'profiles-'));
  const caches = async (): Promise<string[]> => (await readdir(folder).catch(() => [] as string[])).filter((n) => n.endsWith('.v8cache'));
  /** Starts the copy's CLI (profiled), serves, lets it write its cache, stops; the bundle's files its profile names. */
  const run = async (copy: string): Promise<string[]> => {
    const cli = await serving(
      runCommand(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, join(copy, 'dist', 'cli.js'), root, '--port', '0', '--quiet', '--no-reload'], work, {
        XDG_CACHE_HOME: xdg,
        NODE_OPTIONS: undefined,
        NODE_V8_COVERAGE: undefined,
      }),
    );
    await sleep(SETTLE_MS);
    assert.equal(await stopCli(cli), 0, cli.stderr);
    const name = (await readdir(profiles)).find((n) => n.includes(`.${cli.child.pid}.`));
    assert.ok(name !== undefined, 'the profile written');
    const profile = JSON.parse(await readFile(join(profiles, name), 'utf8')) as { nodes: Array<{ callFrame: { url: string } }> };
    return [...new Set(profile.nodes.map((n) => n.callFrame.url).filter((u) => u.endsWith('/cli-main.js')))];
  };
  assert.deepEqual(await run(copies[0]!), [`file://${join(copies[0]!, 'dist', 'cli-main.js')}`]);
  assert.equal((await caches()).length, 1, 'the first copy\'s cache written');
  // The second copy, twice: the second start runs from a cache (its own).
  await run(copies[1]!);
  assert.deepEqual(await run(copies[1]!), [`file://${join(copies[1]!, 'dist', 'cli-main.js')}`]);
  assert.equal((await caches()).length, 2, 'one cache per copy');
});

test('other flags get a cache of their own: alternating starts rewrite neither', async () => {
  const { xdg, folder, file } = await writtenCache();
  const flags = '--max-old-space-size=300';
  const flagged = join(folder, compileCacheFileName(compileCacheKey(bundle, source, [], flags)));
  const cli = await startServing({ XDG_CACHE_HOME: xdg, NODE_OPTIONS: flags });
  await waitUntil(() => exists(flagged), WRITE_WAIT_MS, 'the flagged start\'s cache written');
  assert.equal(await stopCli(cli), 0);
  const [plain, other] = [await inode(file), await inode(flagged)];
  await startAndStop({ XDG_CACHE_HOME: xdg });
  await startAndStop({ XDG_CACHE_HOME: xdg, NODE_OPTIONS: flags });
  assert.deepEqual([await inode(file), await inode(flagged)], [plain, other]);
});

test('a cache whose bytes or origin do not match its header is never run: the CLI serves and writes it anew', async () => {
  const { xdg, file } = await writtenCache();
  const good = await readFile(file);
  const cases: Array<[string, Buffer]> = [
    // One byte flipped deep in V8's data: V8 itself does not check (its checksum check is off).
    ['one flipped byte', Buffer.from(good).fill(good[160_000]! ^ 0xff, 160_000, 160_001)],
    // Another bundle's valid cache (here: made for other flags) under this bundle's name.
    // (The header: a 16-byte magic, then the 8-byte key of what the cache was made from.)
    ['another origin', Buffer.concat([good.subarray(0, 16), Buffer.alloc(8, 7), good.subarray(24)])],
    // The same key, but another file at the bundle's path (its identity: the 40 bytes after the key).
    ['another file with the same bytes', Buffer.concat([good.subarray(0, 24), Buffer.alloc(40, 7), good.subarray(64)])],
    // The flags after the identity (bit 0: the bundle is ASCII, decoded as Latin-1) are checked with the data.
    ['a flipped flag', Buffer.from(good).fill(good[67]! ^ 0x01, 67, 68)],
    ['garbage', Buffer.alloc(4096, 0x5a)],
    ['a header alone', good.subarray(0, 80)],
  ];
  for (const [what, bytes] of cases) {
    await writeFile(file, bytes, { mode: 0o600 });
    const planted = await inode(file);
    const cli = await startServing({ XDG_CACHE_HOME: xdg });
    await waitUntil(async () => (await inode(file)) !== planted, WRITE_WAIT_MS, `${what}: the cache written anew`);
    assert.equal(await stopCli(cli), 0, `${what}: ${cli.stderr}`);
    assert.equal(cli.stderr, '', what);
    assert.ok((await stat(file)).size > 100_000, `${what}: a cache of the whole bundle written`);
  }
});

test('a cache folder others can change, a symlinked one, a FIFO at its name, /proc or NODE_DISABLE_COMPILE_CACHE: no cache, and the CLI serves', async () => {
  // Others can write the folder: what is in it could be anybody's code.
  const shared = await freshCacheHome();
  await mkdir(shared.folder);
  await chmod(shared.folder, 0o777);
  // A symlink to a folder of ours: followed, it could as well lead to somebody else's.
  const linked = await freshCacheHome();
  const target = await mkdtemp(join(work, 'elsewhere-'));
  await symlink(target, linked.folder);
  // A parent others can write (not sticky): they could swap the folder between check and use.
  const openParent = await freshCacheHome();
  await chmod(openParent.xdg, 0o777);
  // A FIFO where the cache file is: opened, it must not hold the start.
  const fifo = await freshCacheHome();
  await mkdir(fifo.folder, { mode: 0o700 });
  execFileSync('mkfifo', ['-m', '600', join(fifo.folder, cacheName)]);
  const disabled = await freshCacheHome();
  const clis = [
    await startServing({ XDG_CACHE_HOME: shared.xdg }),
    await startServing({ XDG_CACHE_HOME: linked.xdg }),
    await startServing({ XDG_CACHE_HOME: openParent.xdg }),
    await startServing({ XDG_CACHE_HOME: fifo.xdg }),
    // Node's recursive mkdir loops for ever on a path under /proc/self.
    await startServing({ XDG_CACHE_HOME: '/proc/self' }),
    await startServing({ XDG_CACHE_HOME: disabled.xdg, NODE_DISABLE_COMPILE_CACHE: '1' }),
  ];
  await sleep(SETTLE_MS);
  for (const cli of clis) assert.equal(await stopCli(cli), 0, cli.stderr);
  assert.deepEqual(await readdir(shared.folder), []);
  assert.deepEqual(await readdir(target), []);
  assert.deepEqual(await readdir(openParent.xdg), []);
  assert.deepEqual(await readdir(fifo.folder), [cacheName]);
  assert.deepEqual(await readdir(disabled.xdg), []);
});

test('run as root with another user\'s folders, or as a user with no home: no cache is made there, and the CLI serves', { skip: !asRoot && 'needs root (a second uid)' }, async () => {
  // Another user's cache home (sudo -E keeps the user's XDG_CACHE_HOME): nothing of root's goes in it.
  const theirs = await freshCacheHome();
  await chown(theirs.xdg, STRANGER, STRANGER);
  // Another user's home (sudo keeping HOME): root's start must not make a root-owned ~/.cache there.
  const home = await mkdtemp(join(work, 'home-'));
  await chown(home, STRANGER, STRANGER);
  await startAndStop({ XDG_CACHE_HOME: theirs.xdg });
  await startAndStop({ XDG_CACHE_HOME: undefined, HOME: home });
  assert.deepEqual(await readdir(theirs.xdg), []);
  assert.deepEqual(await readdir(home), []);
  // A uid with no passwd entry and no HOME: os.homedir() throws.
  const stranger = await serving(
    runCommand('setpriv', ['--reuid', String(STRANGER), '--regid', String(STRANGER), '--clear-groups', process.execPath, CLI, root, '--port', '0', '--quiet', '--no-reload'], work, {
      HOME: undefined,
      XDG_CACHE_HOME: undefined,
      NODE_OPTIONS: undefined,
    }),
  );
  assert.equal(await stopCli(stranger), 0, stranger.stderr);
});

test('the cache is named by what it is made from: the bundle\'s path and bytes (not its length), Node\'s flags, Node\'s version and architecture', () => {
  const file = '/opt/porthole/dist/cli-main.js';
  const a = compileCacheKey(file, 'module.exports = "aaaa";', [], undefined);
  assert.notEqual(compileCacheKey('/home/u/porthole/dist/cli-main.js', 'module.exports = "aaaa";', [], undefined), a);
  assert.notEqual(compileCacheKey(file, 'module.exports = "aaab";', [], undefined), a);
  assert.notEqual(compileCacheKey(file, 'module.exports = "aaaa";', ['--jitless'], undefined), a);
  assert.notEqual(compileCacheKey(file, 'module.exports = "aaaa";', [], '--max-old-space-size=100'), a);
  assert.equal(compileCacheKey(file, 'module.exports = "aaaa";', [], undefined), a);
  assert.equal(compileCacheKey(file, Buffer.from('module.exports = "aaaa";'), [], undefined), a, 'the text and its UTF-8 bytes are one key');
  assert.ok(compileCacheFileName(a).startsWith(`cli-main-${process.version}-${process.arch}-`));
});

test('the cache folder is the platform\'s per-user cache folder, or none', () => {
  assert.equal(compileCacheFolder({}, 'linux', '/home/u'), '/home/u/.cache/porthole');
  assert.equal(compileCacheFolder({ XDG_CACHE_HOME: '/var/cache/u' }, 'linux', '/home/u'), '/var/cache/u/porthole');
  assert.equal(compileCacheFolder({ XDG_CACHE_HOME: '/var/cache/u' }, 'linux', undefined), '/var/cache/u/porthole');
  // The XDG Base Directory spec: a relative path is invalid and ignored.
  assert.equal(compileCacheFolder({ XDG_CACHE_HOME: 'rel' }, 'linux', '/home/u'), '/home/u/.cache/porthole');
  assert.equal(compileCacheFolder({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/porthole');
  assert.equal(compileCacheFolder({}, 'linux', undefined), undefined);
  assert.equal(compileCacheFolder({}, 'linux', ''), undefined);
  assert.equal(compileCacheFolder({ NODE_DISABLE_COMPILE_CACHE: '1' }, 'linux', '/home/u'), undefined);
  assert.equal(compileCacheFolder({}, 'win32', 'C:\\Users\\u'), undefined);
});

test('a bundle with text beyond ASCII runs as its UTF-8 says (the ASCII one is decoded as Latin-1)', async () => {
  const file = join(work, 'not-ascii.js');
  await writeFile(file, 'process.stdout.write(JSON.stringify(["é€😀", __filename, typeof require, module.exports === exports]));');
  const run = (xdg: string): string =>
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'cli', 'compile-cache.js'))}).runWithCompileCache(${JSON.stringify(file)}, process.env, 'linux', undefined)`], {
      env: { ...process.env, XDG_CACHE_HOME: xdg, NODE_OPTIONS: '', NODE_V8_COVERAGE: '' },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const { xdg } = await freshCacheHome();
  assert.deepEqual(JSON.parse(run(xdg)), ['é€😀', file, 'function', true]);
});

test('what Node must load itself: source maps, coverage, a policy, a preloaded module, a loader', () => {
  assert.equal(compileCacheBypass([], {}, false), undefined);
  assert.equal(compileCacheBypass(['--max-old-space-size=100'], { NODE_OPTIONS: '--jitless' }, false), undefined);
  assert.equal(compileCacheBypass([], {}, true), 'source maps are enabled');
  assert.equal(compileCacheBypass([], { NODE_V8_COVERAGE: '/tmp/c' }, false), 'NODE_V8_COVERAGE is set');
  assert.equal(compileCacheBypass(['--experimental-policy=p.json'], {}, false), '--experimental-policy is given');
  assert.equal(compileCacheBypass([], { NODE_OPTIONS: '--require ./hook.js' }, false), '--require is given');
  assert.equal(compileCacheBypass(['-r', 'x'], {}, false), '-r is given');
  assert.equal(compileCacheBypass(['--import=x'], {}, false), '--import is given');
  assert.equal(compileCacheBypass(['--experimental-loader', 'x'], {}, false), '--experimental-loader is given');
});
