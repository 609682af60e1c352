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

test('generated pages (a listing, a 404) have no validators: Range and date conditions never apply', async () => {
  for (const [path, status] of [['/folder/', 200], ['/missing.html', 404]] as const) {
    const plain = await get(path);
    assert.equal(plain.status, status, path);
    assert.equal(plain.header('etag'), undefined, path);
    assert.equal(plain.header('accept-ranges'), undefined, path);
    assert.equal(plain.header('cache-control'), 'no-cache', path);
    assert.equal(plain.header('x-content-type-options'), 'nosniff', path);
    const always = ['Range: bytes=0-3', 'If-None-Match: "x"', 'If-Match: *', 'If-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT', 'If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT'];
    // A 404 ignores every precondition (RFC 9110 §13.2.1: only a 2xx or 412 answer evaluates them).
    for (const h of status === 404 ? [...always, 'If-None-Match: *', 'If-Match: "x"'] : always) {
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

test('a listing (a 200 without an entity tag) evaluates If-Match and If-None-Match: * (RFC 9110 §13.1.1, §13.1.2)', async () => {
  // If-Match with tags: none can match a representation that has no entity tag, so the condition
  // is false and the method is not performed (412); `*` matches any current representation.
  const failed = await get('/folder/', ['If-Match: "x", W/"y"']);
  assert.equal(failed.status, 412);
  assert.equal((await get('/folder/', ['If-Match: *'])).status, 200);
  // If-None-Match: * is false when a current representation exists: 304 for GET and HEAD.
  const notModified = await get('/folder/', ['If-None-Match: *']);
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  assert.equal((await get('/folder/', ['If-None-Match: *'], 'HEAD')).status, 304);
  // If-Match is evaluated first (§13.2.2): a failed If-Match is a 412 whatever If-None-Match says.
  assert.equal((await get('/folder/', ['If-Match: "x"', 'If-None-Match: *'])).status, 412);
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
    // If-Range is no list either: two different lines are no one validator, so none that matches
    // (RFC 9110 §13.1.5): the whole file, never a range of the version on disk now to splice into
    // the client's older copy, whichever line names the current tag or date.
    for (const lines of [['If-Range: "old-1"', `If-Range: ${etag}`], [`If-Range: ${etag}`, 'If-Range: "old-1"'], [`If-Range: ${lm}`, 'If-Range: Sun, 06 Nov 1994 08:49:37 GMT']]) {
      const res = await get(path, ['Range: bytes=0-1', ...lines]);
      assert.equal(res.status, 200, `${path}: ${lines.join(' + ')}`);
      assert.equal(res.header('content-range'), undefined, `${path}: ${lines.join(' + ')}`);
    }
    assert.equal((await get(path, ['Range: bytes=0-1', `If-Range: ${etag}`, `If-Range: ${etag}`])).status, 206, `${path}: the same If-Range twice`);
  }
  const coded = await get('/text.css', ['Accept-Encoding: identity', 'Accept-Encoding: gzip']);
  assert.equal(coded.header('content-encoding'), 'gzip', 'Accept-Encoding on two lines');
});
