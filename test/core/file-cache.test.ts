/**
 * The small-file cache never serves a stale byte: every change a user or an editor makes between
 * two requests — an in-place edit of the same size, an atomic save by rename, a symlink
 * re-pointed, a new index.html, a deleted file, a custom 404.html appearing — shows in the very
 * next response. Real files, real sockets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request } from './raw-client';

let root = '';
let running: Running;

async function get(path: string): Promise<{ status: number; body: string }> {
  const r = await fetchOnce(running.port, request(path));
  return { status: r.status, body: r.body.toString() };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-cache-'));
  await mkdir(join(root, 'v1'));
  await mkdir(join(root, 'v2'));
  await mkdir(join(root, 'docs'));
  await writeFile(join(root, 'v1', 'app.js'), 'version one\n');
  await writeFile(join(root, 'v2', 'app.js'), 'version two\n');
  await symlink('v1', join(root, 'current'));
  await writeFile(join(root, 'docs', 'index.htm'), 'old index\n');
  running = await startServer({ root, reload: { enabled: false } });
});

after(async () => {
  await running.close();
  await rm(root, { recursive: true, force: true });
});

test('an in-place edit of the same size is served at once', async () => {
  await writeFile(join(root, 'same.txt'), 'AAAA\n');
  assert.equal((await get('/same.txt')).body, 'AAAA\n');
  assert.equal((await get('/same.txt')).body, 'AAAA\n');
  await writeFile(join(root, 'same.txt'), 'BBBB\n');
  assert.equal((await get('/same.txt')).body, 'BBBB\n');
});

test('an atomic save (write a temp file, rename over) is served at once', async () => {
  await writeFile(join(root, 'atomic.txt'), 'first\n');
  assert.equal((await get('/atomic.txt')).body, 'first\n');
  await writeFile(join(root, 'atomic.txt.tmp'), 'secnd\n');
  await rename(join(root, 'atomic.txt.tmp'), join(root, 'atomic.txt'));
  assert.equal((await get('/atomic.txt')).body, 'secnd\n');
});

test('a symlink re-pointed serves the new target', async () => {
  assert.equal((await get('/current/app.js')).body, 'version one\n');
  await unlink(join(root, 'current'));
  await symlink('v2', join(root, 'current'));
  assert.equal((await get('/current/app.js')).body, 'version two\n');
});

test('a new index.html takes over from index.htm', async () => {
  assert.equal((await get('/docs/')).body, 'old index\n');
  await writeFile(join(root, 'docs', 'index.html'), 'new index\n');
  assert.equal((await get('/docs/')).body, 'new index\n');
});

test('a new index.html takes over from index.htm also when a build sets the folder\'s times back (touch -d, tar x, SOURCE_DATE_EPOCH)', async () => {
  await mkdir(join(root, 'built'));
  await writeFile(join(root, 'built', 'index.htm'), 'old built index\n');
  const epoch = new Date('2020-01-01T00:00:00Z');
  await utimes(join(root, 'built'), epoch, epoch);
  assert.equal((await get('/built/')).body, 'old built index\n');
  assert.equal((await get('/built/')).body, 'old built index\n');
  await writeFile(join(root, 'built', 'index.html'), 'new built index\n');
  await utimes(join(root, 'built'), epoch, epoch);
  assert.equal((await get('/built/')).body, 'new built index\n', 'nginx serves the first index name there: index.html');
});

test('a deleted file is a 404, a recreated one is served', async () => {
  await writeFile(join(root, 'gone.txt'), 'here\n');
  assert.equal((await get('/gone.txt')).status, 200);
  await unlink(join(root, 'gone.txt'));
  assert.equal((await get('/gone.txt')).status, 404);
  await writeFile(join(root, 'gone.txt'), 'back\n');
  assert.deepEqual(await get('/gone.txt'), { status: 200, body: 'back\n' });
});

test('a custom 404.html appearing and changing is used at once, still with status 404', async () => {
  const before404 = await get('/missing.txt');
  assert.equal(before404.status, 404);
  assert.match(before404.body, /There is no file at/);
  await writeFile(join(root, '404.html'), '<p>custom one</p>\n');
  assert.deepEqual(await get('/missing.txt'), { status: 404, body: '<p>custom one</p>\n' });
  await writeFile(join(root, '404.html'), '<p>custom two</p>\n');
  assert.deepEqual(await get('/missing.txt'), { status: 404, body: '<p>custom two</p>\n' });
  await unlink(join(root, '404.html'));
  assert.match((await get('/missing.txt')).body, /There is no file at/);
});

test('a file turned into a folder is redirected, not served from the cache', async () => {
  await writeFile(join(root, 'shape'), 'file\n');
  assert.equal((await get('/shape')).body, 'file\n');
  await unlink(join(root, 'shape'));
  await mkdir(join(root, 'shape'));
  assert.equal((await get('/shape')).status, 301);
});

test('a cached file whose folder became a file, or which became a symlink loop: 404, never 500', async () => {
  // Each lstat of the cache hit's check threw (ENOTDIR, ELOOP), and every later request got 500 (helper-45).
  await mkdir(join(root, 'shelf'));
  await writeFile(join(root, 'shelf', 'book.txt'), 'pages\n');
  await mkdir(join(root, 'site'));
  await writeFile(join(root, 'site', 'index.html'), '<p>site</p>\n');
  await writeFile(join(root, 'loop.txt'), 'plain\n');
  for (const path of ['/shelf/book.txt', '/site/', '/loop.txt']) assert.equal((await get(path)).status, 200, `${path} cached`);
  await rm(join(root, 'shelf'), { recursive: true });
  await writeFile(join(root, 'shelf'), 'a file now\n');
  await rm(join(root, 'site'), { recursive: true });
  await writeFile(join(root, 'site'), 'a file now\n');
  await unlink(join(root, 'loop.txt'));
  await symlink('loop.txt', join(root, 'loop.txt'));
  for (const path of ['/shelf/book.txt', '/site/', '/loop.txt']) {
    for (let i = 0; i < 2; i++) assert.equal((await get(path)).status, 404, `${path} #${i}`);
  }
});

test('a missing path asked for many times in one batch: every answer a 404 saying why; created, it is served', async () => {
  // Pipelined in one write, so all are read in one turn of the event loop (one stat answers them).
  const client = await RawClient.connect(running.port);
  try {
    await client.write(request('/later.txt').repeat(5));
    for (const res of await client.readResponses(5)) assert.equal(res.status, 404);
    await writeFile(join(root, 'later.txt'), 'now here\n');
    await client.write(request('/later.txt').repeat(3));
    for (const res of await client.readResponses(3)) {
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'now here\n');
    }
  } finally {
    client.socket.destroy();
  }
  // Records follow the answers: wait for all eight.
  const deadline = Date.now() + 10_000;
  while (running.records.filter((r) => r.target === '/later.txt').length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const notes = running.records.filter((r) => r.target === '/later.txt' && r.status === 404).map((r) => r.note);
  assert.deepEqual(notes, Array(5).fill('No such file.'));
});

test('a path the file system cannot name (a name over 255 bytes, a loop of links) is a 404 whose note says why in words', async () => {
  await symlink('round.txt', join(root, 'round.txt'));
  const long = `/${'n'.repeat(300)}.txt`;
  for (const path of [long, '/round.txt']) assert.equal((await get(path)).status, 404, path);
  const deadline = Date.now() + 10_000;
  const noteOf = (path: string): string | undefined => running.records.find((r) => r.target === path)?.note;
  while ((noteOf(long) === undefined || noteOf('/round.txt') === undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(noteOf(long), 'No such file: a name in the path is longer than the file system allows (ENAMETOOLONG).');
  assert.equal(noteOf('/round.txt'), 'No such file: the path goes round a loop of symbolic links (ELOOP).');
});
