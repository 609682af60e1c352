/**
 * One pipeline for every kind of answer (files/representation.ts): cached files, streamed files,
 * listings and 404 pages go through the same precondition, Range and HEAD rules. Over TCP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

let root: string;
let srv: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-rep-'));
  await writeFile(join(root, 'small.txt'), 'small and cached\n');
  await writeFile(join(root, 'text.css'), `${'body { color: red; }\n'.repeat(200)}`); // compressible
  await writeFile(join(root, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 7)); // over the cache limit: streamed
  await mkdir(join(root, 'folder'));
  await writeFile(join(root, 'folder', 'a.txt'), 'a');
  srv = await startServer({ root, reload: { enabled: false } });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

const get = (target: string, headers: string[] = [], method = 'GET') =>
  fetchOnce(srv.port, request(target, { method, headers }), { head: method === 'HEAD' });

test('a cached and a streamed file answer If-None-Match and Range alike', async () => {
  for (const path of ['/small.txt', '/big.bin']) {
    await get(path); // the first answer fills the cache where it may
    const first = await get(path);
    const etag = first.header('etag') ?? '';
    assert.match(etag, /^"[0-9a-f]{16}-[0-9a-f]+"$/, path);
    assert.equal(first.header('accept-ranges'), 'bytes', path);
    assert.equal((await get(path, [`If-None-Match: ${etag}`])).status, 304, path);
    const part = await get(path, ['Range: bytes=2-5']);
    assert.equal(part.status, 206, path);
    assert.equal(part.body.length, 4, path);
    assert.equal((await get(path, ['Range: bytes=2-5', 'If-Range: "other-1"'])).status, 200, path);
    assert.equal((await get(path, [`If-Match: "other-1"`])).status, 412, path);
  }
});

test('generated pages (a listing, a 404) have no validators: preconditions and Range never apply', async () => {
  for (const [path, status] of [['/folder/', 200], ['/missing.html', 404]] as const) {
    const plain = await get(path);
    assert.equal(plain.status, status, path);
    assert.equal(plain.header('etag'), undefined, path);
    assert.equal(plain.header('accept-ranges'), undefined, path);
    assert.equal(plain.header('cache-control'), 'no-cache', path);
    assert.equal(plain.header('x-content-type-options'), 'nosniff', path);
    for (const h of ['If-None-Match: *', 'Range: bytes=0-3', 'If-Match: "x"']) {
      const res = await get(path, [h]);
      assert.equal(res.status, status, `${path} with ${h}`);
      assert.equal(res.body.length, plain.body.length, `${path} with ${h}: the whole body`);
    }
    const head = await get(path, [], 'HEAD');
    assert.equal(head.status, status, `HEAD ${path}`);
    assert.equal(head.header('content-length'), String(plain.body.length), `HEAD ${path}`);
    assert.equal(head.body.length, 0, `HEAD ${path}`);
  }
});

test('a field sent on several lines: a list is read whole, a single value only when the lines agree (helper-48)', async () => {
  for (const path of ['/small.txt', '/big.bin']) {
    const etag = (await get(path)).header('etag') ?? '';
    // RFC 9110 §5.3: If-Match and If-None-Match are lists, their lines one comma-joined value.
    assert.equal((await get(path, ['If-Match: "x"', `If-Match: ${etag}`])).status, 200, `${path}: If-Match on two lines`);
    assert.equal((await get(path, ['If-None-Match: "x"', `If-None-Match: ${etag}`])).status, 304, `${path}: If-None-Match on two lines`);
    // Range is no list: two different lines are no one range, so the whole file.
    const ranged = await get(path, ['Range: bytes=0-1', 'Range: bytes=2-3']);
    assert.equal(ranged.status, 200, `${path}: two Range lines`);
    assert.equal((await get(path, ['Range: bytes=0-1', 'Range: bytes=0-1'])).status, 206, `${path}: the same Range twice`);
    const lm = (await get(path)).header('last-modified') ?? '';
    assert.equal((await get(path, [`If-Modified-Since: ${lm}`, 'If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT'])).status, 200, `${path}: two dates`);
  }
  const coded = await get('/text.css', ['Accept-Encoding: identity', 'Accept-Encoding: gzip']);
  assert.equal(coded.header('content-encoding'), 'gzip', 'Accept-Encoding on two lines');
});
