/**
 * A download resumed with an If-Range date (RFC 9110 §13.1.5) must not splice two content codings.
 * A text file compressed on the fly goes gzip-encoded to a client that accepts gzip, with a weak
 * ETag (which If-Range cannot use, §8.8.3.2) and the file's Last-Modified, which the unencoded
 * bytes share. A client resuming that download sends Range with If-Range: <Last-Modified>; a 206
 * of the unencoded bytes appended to the gzip bytes it holds is neither. The date names no one
 * coding, so the Range is ignored and the whole answer sent (200), as nginx does for every Range
 * request its gzip filter encodes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

let root: string;
let srv: Running;
const text = Buffer.from(Array.from({ length: 4000 }, (_, i) => `line ${i} of a text file\n`).join(''));
const script = Buffer.from(Array.from({ length: 3000 }, (_, i) => `console.log(${i});\n`).join(''));

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-if-range-coding-'));
  await writeFile(join(root, 'notes.txt'), text);
  // A file and the .gz a build wrote beside it in the same second: one Last-Modified for both.
  await writeFile(join(root, 'app.js'), script);
  await writeFile(join(root, 'app.js.gz'), gzipSync(script));
  const when = new Date('2026-11-30T12:00:00Z');
  await utimes(join(root, 'app.js'), when, when);
  await utimes(join(root, 'app.js.gz'), when, when);
  srv = await startServer({ root });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

test('Range with an If-Range date from a gzip answer: the whole gzip answer, never unencoded bytes to splice', async () => {
  const first = await fetchOnce(srv.port, request('/notes.txt', { headers: ['Accept-Encoding: gzip'] }));
  assert.equal(first.status, 200);
  assert.equal(first.header('content-encoding'), 'gzip');
  const lastModified = first.header('last-modified');
  assert.ok(lastModified !== undefined);
  // The client kept the first half of the gzip body and resumes.
  const held = first.body.subarray(0, Math.floor(first.body.length / 2));
  const resumed = await fetchOnce(
    srv.port,
    request('/notes.txt', { headers: ['Accept-Encoding: gzip', `Range: bytes=${held.length}-`, `If-Range: ${lastModified}`] }),
  );
  assert.equal(resumed.status, 200, `a ${resumed.status} with Content-Encoding ${resumed.header('content-encoding') ?? 'none'} for a client holding gzip bytes`);
  assert.deepEqual(gunzipSync(resumed.body), text);
  // Without If-Range a Range is still answered (from the unencoded bytes), and an entity tag
  // If-Range still works: only a date is ambiguous between the codings.
  const ranged = await fetchOnce(srv.port, request('/notes.txt', { headers: ['Accept-Encoding: gzip', 'Range: bytes=0-3'] }));
  assert.equal(ranged.status, 206);
  assert.equal(ranged.body.toString(), 'line');
  const plain = await fetchOnce(srv.port, request('/notes.txt'));
  const byTag = await fetchOnce(srv.port, request('/notes.txt', { headers: ['Accept-Encoding: gzip', 'Range: bytes=0-3', `If-Range: ${plain.header('etag') ?? ''}`] }));
  assert.equal(byTag.status, 206);
  assert.equal(byTag.body.toString(), 'line');
});

test('a .gz beside the file with the same Last-Modified: an If-Range date gets the whole answer in either coding, never a 206 of the other one', async () => {
  // Before: the client holding the .gz bytes that resumed without Accept-Encoding got a 206 of the
  // unencoded bytes, and the client holding the unencoded bytes that resumed with gzip a 206 of the
  // .gz file's, each to splice into the other coding.
  const gz = await fetchOnce(srv.port, request('/app.js', { headers: ['Accept-Encoding: gzip'] }));
  assert.equal(gz.header('content-encoding'), 'gzip');
  const plain = await fetchOnce(srv.port, request('/app.js'));
  assert.equal(plain.header('content-encoding'), undefined);
  const lastModified = gz.header('last-modified') ?? '';
  assert.equal(plain.header('last-modified'), lastModified, 'the two codings share one Last-Modified');
  for (const [what, held, accept] of [
    ['gzip bytes resumed without gzip', gz.body, []],
    ['unencoded bytes resumed with gzip', plain.body, ['Accept-Encoding: gzip']],
  ] as const) {
    const resumed = await fetchOnce(srv.port, request('/app.js', { headers: [...accept, `Range: bytes=${Math.floor(held.length / 2)}-`, `If-Range: ${lastModified}`] }));
    assert.equal(resumed.status, 200, `${what}: ${resumed.status}, Content-Encoding ${resumed.header('content-encoding') ?? 'none'}`);
    const whole = resumed.header('content-encoding') === 'gzip' ? gunzipSync(resumed.body) : resumed.body;
    assert.deepEqual(whole, script, what);
  }
  // An entity tag names one coding: it still gets its range.
  const byTag = await fetchOnce(srv.port, request('/app.js', { headers: ['Accept-Encoding: gzip', 'Range: bytes=0-1', `If-Range: ${gz.header('etag') ?? ''}`] }));
  assert.equal(byTag.status, 206);
  assert.deepEqual(byTag.body, gz.body.subarray(0, 2));
});
