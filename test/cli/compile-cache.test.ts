/**
 * The CLI's V8 code cache (src/cli/compile-cache.ts) as users' starts meet it: the first start
 * writes it, owner-only, in the user's cache folder (and removes older Portholes' caches, and
 * other Nodes' long unused); the next start runs from it and leaves it be;
 * a corrupt one is replaced; a folder others can write, a symlinked folder or
 * NODE_DISABLE_COMPILE_CACHE gets no cache at all; and every one of those starts serves as
 * usual. Each start gets its own XDG_CACHE_HOME. Needs `npm run build` first (dist/cli.js,
 * dist/cli-main.js).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_WRITE_DELAY_MS, STALE_CACHE_MS, compileCacheFileName, compileCacheFolder } from '../../src/cli/compile-cache';
import { fetchOnce } from '../core/raw-client';
import { REPO, killAllClis, requireBuiltCli, runCli, stopCli, waitForLocalPort } from './run-cli';

/** Long enough past CACHE_WRITE_DELAY_MS for a write that was going to happen to have happened. */
const SETTLE_MS = CACHE_WRITE_DELAY_MS + 1000;
/** A cache write is awaited at most this long. */
const WRITE_WAIT_MS = 10_000;

let work: string;
let root: string;
let cacheName: string;

before(async () => {
  requireBuiltCli();
  work = await mkdtemp(join(tmpdir(), 'porthole-compile-cache-'));
  root = join(work, 'site');
  await mkdir(root);
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>hello</p>');
  cacheName = compileCacheFileName(readFileSync(join(REPO, 'dist', 'cli-main.js'), 'utf8'));
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

/** Starts the CLI with `env`, asserts it serves the page (200 with its bytes), and returns it running. */
async function startServing(env: Record<string, string>): Promise<ReturnType<typeof runCli>> {
  const cli = runCli([root, '--port', '0', '--quiet', '--no-reload'], work, env);
  const port = await waitForLocalPort(cli);
  const res = await fetchOnce(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  assert.equal(res.status, 200);
  assert.match(res.body.toString('utf8'), /<p>hello<\/p>/);
  return cli;
}

test('the first start writes the cache, owner-only; the next start runs from it and leaves it be', async () => {
  const xdg = await mkdtemp(join(work, 'xdg-'));
  const folder = join(xdg, 'porthole');
  const file = join(folder, cacheName);
  // Beside it: an older Porthole's cache for this Node (removed), another Node's in use (kept),
  // and another Node's unused for longer than STALE_CACHE_MS (removed).
  await mkdir(folder, { mode: 0o700 });
  const olderBundle = `cli-main-${process.version}-${process.arch}-0000000000000000.v8cache`;
  const otherNode = `cli-main-v99.0.0-${process.arch}-0000000000000000.v8cache`;
  const staleNode = `cli-main-v98.0.0-${process.arch}-0000000000000000.v8cache`;
  for (const name of [olderBundle, otherNode, staleNode]) await writeFile(join(folder, name), 'x', { mode: 0o600 });
  const longAgo = (Date.now() - STALE_CACHE_MS - 60_000) / 1000;
  await utimes(join(folder, staleNode), longAgo, longAgo);
  const first = await startServing({ XDG_CACHE_HOME: xdg });
  await waitUntil(() => exists(file), WRITE_WAIT_MS, 'the cache file written');
  assert.equal(await stopCli(first), 0);
  assert.deepEqual((await readdir(folder)).sort(), [cacheName, otherNode].sort());
  assert.equal((await stat(folder)).mode & 0o777, 0o700);
  const written = await stat(file);
  assert.equal(written.mode & 0o777, 0o600);
  assert.ok(written.size > 100_000, `a cache of the whole bundle, not ${written.size} bytes`);

  // V8 accepted it: a rejected cache is written again (a new file renamed over it).
  const second = await startServing({ XDG_CACHE_HOME: xdg });
  await sleep(SETTLE_MS);
  assert.equal(await stopCli(second), 0);
  const after = await stat(file);
  assert.deepEqual([after.ino, after.mtimeMs], [written.ino, written.mtimeMs]);
  assert.deepEqual((await readdir(folder)).sort(), [cacheName, otherNode].sort());
});

test('a corrupt cache file is rejected and written anew, and the CLI serves as without one', async () => {
  const xdg = await mkdtemp(join(work, 'xdg-'));
  const folder = join(xdg, 'porthole');
  await mkdir(folder, { mode: 0o700 });
  const file = join(folder, cacheName);
  await writeFile(file, Buffer.alloc(4096, 0x5a), { mode: 0o600 });
  const corrupt = await stat(file);
  const cli = await startServing({ XDG_CACHE_HOME: xdg });
  await waitUntil(async () => (await stat(file)).ino !== corrupt.ino, WRITE_WAIT_MS, 'the corrupt cache replaced');
  assert.equal(await stopCli(cli), 0);
  assert.ok((await stat(file)).size > 100_000);
});

test('a cache folder others can write, a symlinked one, or NODE_DISABLE_COMPILE_CACHE: no cache is read or written', async () => {
  // Others can write it: what is in it could be anybody's code.
  const shared = await mkdtemp(join(work, 'xdg-'));
  await mkdir(join(shared, 'porthole'));
  await chmod(join(shared, 'porthole'), 0o777);
  // A symlink to a folder of ours: followed, it could as well lead to somebody else's.
  const linked = await mkdtemp(join(work, 'xdg-'));
  const target = await mkdtemp(join(work, 'elsewhere-'));
  await symlink(target, join(linked, 'porthole'));
  const disabled = await mkdtemp(join(work, 'xdg-'));
  const clis = [
    await startServing({ XDG_CACHE_HOME: shared }),
    await startServing({ XDG_CACHE_HOME: linked }),
    await startServing({ XDG_CACHE_HOME: disabled, NODE_DISABLE_COMPILE_CACHE: '1' }),
  ];
  await sleep(SETTLE_MS);
  for (const cli of clis) assert.equal(await stopCli(cli), 0);
  assert.deepEqual(await readdir(join(shared, 'porthole')), []);
  assert.deepEqual(await readdir(target), []);
  assert.deepEqual(await readdir(disabled), []);
});

test('the cache file is named by the bundle\'s bytes, not its length, and by Node\'s version and architecture', () => {
  const a = compileCacheFileName('module.exports = "aaaa";');
  const b = compileCacheFileName('module.exports = "aaab";');
  assert.notEqual(a, b);
  assert.ok(a.startsWith(`cli-main-${process.version}-${process.arch}-`), a);
  assert.equal(compileCacheFileName('module.exports = "aaaa";'), a);
});

test('the cache folder is the platform\'s per-user cache folder, or none', () => {
  assert.equal(compileCacheFolder({}, 'linux', '/home/u'), '/home/u/.cache/porthole');
  assert.equal(compileCacheFolder({ XDG_CACHE_HOME: '/var/cache/u' }, 'linux', '/home/u'), '/var/cache/u/porthole');
  // The XDG Base Directory spec: a relative path is invalid and ignored.
  assert.equal(compileCacheFolder({ XDG_CACHE_HOME: 'rel' }, 'linux', '/home/u'), '/home/u/.cache/porthole');
  assert.equal(compileCacheFolder({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/porthole');
  assert.equal(compileCacheFolder({}, 'linux', ''), undefined);
  assert.equal(compileCacheFolder({ NODE_DISABLE_COMPILE_CACHE: '1' }, 'linux', '/home/u'), undefined);
  assert.equal(compileCacheFolder({}, 'win32', 'C:\\Users\\u'), undefined);
});
