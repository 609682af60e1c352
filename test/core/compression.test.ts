/**
 * Content codings over real sockets: Accept-Encoding negotiation (q-values, `*`, `identity;q=0`),
 * `.br`/`.gz` files beside the one asked for, brotli/gzip on the fly (decoding to exactly the
 * file's bytes, kept per version), `Vary: Accept-Encoding` on every answer of a negotiable file
 * (304 and the unencoded one included), validators per encoding, Range, HEAD, the size bounds,
 * encoded web assets (`game.wasm.br`) against plain archives (`archive.tar.gz`), live reload's
 * pages, the log's byte count, and `compression: false`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import type { RequestRecord } from '../../src/core';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request, type RawResponse } from './raw-client';
import { decodeChunked } from '../fixtures/backend';

let root = '';
let outside = '';
let srv: Running;
let srvOff: Running;

/** A script of `lines` lines, text that compresses well. */
function script(lines: number, tag = 'a'): Buffer {
  let s = '';
  for (let i = 0; i < lines; i++) s += `console.log("${tag} line ${i}", ${i * 7});\n`;
  return Buffer.from(s, 'utf8');
}

const APP = script(400);
const PRE = script(300, 'pre');
const PRE_BR = brotliCompressSync(PRE);
const PRE_GZ = gzipSync(PRE);
const DATA = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256));
const DATA_GZ = gzipSync(DATA);
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
const WASM_BR = brotliCompressSync(WASM);
const JSON_TEXT = Buffer.from(JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => ({ i, name: `item ${i}` })) }));
const TARBALL = gzipSync(Buffer.alloc(2048, 7));
const PAGE = Buffer.from(`<!doctype html><html><head><title>page</title></head><body>${'<p>paragraph</p>\n'.repeat(200)}</body></html>`);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-coding-'));
  outside = await mkdtemp(join(tmpdir(), 'porthole-coding-out-'));
  await writeFile(join(root, 'app.js'), APP);
  await writeFile(join(root, 'small.js'), 'console.log(1);\n');
  await writeFile(join(root, 'pre.js'), PRE);
  await writeFile(join(root, 'pre.js.br'), PRE_BR);
  await writeFile(join(root, 'pre.js.gz'), PRE_GZ);
  await writeFile(join(root, 'data.bin'), DATA);
  await writeFile(join(root, 'data.bin.gz'), DATA_GZ);
  await writeFile(join(root, 'plain.bin'), DATA);
  await writeFile(join(root, 'game.wasm.br'), WASM_BR);
  await writeFile(join(root, 'data.json.gz'), gzipSync(JSON_TEXT));
  await writeFile(join(root, 'build.js.gz'), gzipSync(APP));
  await writeFile(join(root, 'archive.tar.gz'), TARBALL);
  await writeFile(join(root, 'page.html'), PAGE);
  await writeFile(join(root, 'edit.js'), script(100, 'one'));
  // 1 MiB + 1 of text: above the on-the-fly bound.
  await writeFile(join(root, 'huge.txt'), Buffer.alloc(1024 * 1024 + 1, 'x'));
  // A sibling that is a symlink out of the root is not served, as any such file.
  await writeFile(join(root, 'linked.js'), script(100, 'inside'));
  await writeFile(join(outside, 'secret.br'), brotliCompressSync(Buffer.from('SECRET OUTSIDE THE ROOT\n'.repeat(100))));
  await symlink(join(outside, 'secret.br'), join(root, 'linked.js.br'));
  srv = await startServer({ root });
  srvOff = await startServer({ root, compression: false });
});

after(async () => {
  await Promise.all([srv.close(), srvOff.close()]);
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

/** One request on its own connection (closed after the answer, so a chunked body ends at EOF); a chunked body comes back decoded. */
async function get(port: number, target: string, headers: readonly string[] = [], method = 'GET'): Promise<RawResponse> {
  const res = await fetchOnce(port, request(target, { method, headers: [...headers, 'Connection: close'] }), { head: method === 'HEAD' });
  if (res.header('transfer-encoding') !== 'chunked' || method === 'HEAD') return res;
  const decoded = decodeChunked(res.body);
  assert.ok(decoded !== undefined, `${target}: a complete chunked body`);
  return { ...res, body: decoded.body };
}

function decode(res: RawResponse): Buffer {
  const coding = res.header('content-encoding');
  if (coding === 'br') return brotliDecompressSync(res.body);
  if (coding === 'gzip') return gunzipSync(res.body);
  assert.equal(coding, undefined, 'no other coding');
  return res.body;
}

/** The record of the `nth` (1-based) request for `target`, waited for (records follow the answer). */
async function recordOf(running: Running, target: string, nth: number): Promise<RequestRecord> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const matching = running.records.filter((r) => r.target === target);
    const found = matching[nth - 1];
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no record #${nth} for ${target}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('negotiation (RFC 9110 §12.5.3)', () => {
  // [Accept-Encoding line or undefined, the coding expected (undefined: none)]
  const MATRIX: Array<[string | undefined, string | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br;q=0.5, gzip', 'gzip'],
    ['br;q=1.0, gzip;q=0.9', 'br'],
    ['br ; q=0.2 , gzip ; q=0.1', 'br'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
    ['identity;q=0', undefined],
    ['identity, gzip;q=0.5', undefined],
    ['identity;q=0.5, gzip', 'gzip'],
    ['*', 'br'],
    ['*;q=0', undefined],
    ['gzip;q=0, *', 'br'],
    ['br;q=0, *;q=0.3', 'gzip'],
    ['deflate', undefined],
    ['zstd, deflate', undefined],
    ['br;q=2', undefined],
    ['br;q=0.5x, gzip;q=0.1', 'gzip'],
  ];

  test('the coding chosen for each Accept-Encoding; every answer says Vary: Accept-Encoding and decodes to the file', async () => {
    for (const [value, expected] of MATRIX) {
      const headers = value === undefined ? [] : [`Accept-Encoding: ${value}`];
      const res = await get(srv.port, '/app.js', headers);
      const what = `Accept-Encoding: ${String(value)}`;
      assert.equal(res.status, 200, what);
      assert.equal(res.header('content-encoding'), expected, what);
      assert.equal(res.header('vary'), 'Accept-Encoding', what);
      assert.equal(res.header('content-length'), String(res.body.length), what);
      assert.ok(decode(res).equals(APP), `${what}: decodes to exactly the file`);
    }
  });

  test('a compressed copy is smaller than the file, and its type is the file’s', async () => {
    const res = await get(srv.port, '/app.js', ['Accept-Encoding: br']);
    assert.ok(res.body.length < APP.length / 4, `${res.body.length} of ${APP.length}`);
    assert.equal(res.header('content-type'), 'text/javascript; charset=utf-8');
  });
});

describe('validators per encoding', () => {
  test('identity, br and gzip each have their own ETag; the compressed ones are weak and not rangeable', async () => {
    const plain = await get(srv.port, '/app.js');
    const br = await get(srv.port, '/app.js', ['Accept-Encoding: br']);
    const gz = await get(srv.port, '/app.js', ['Accept-Encoding: gzip']);
    const tags = [plain, br, gz].map((r) => r.header('etag') ?? '');
    assert.equal(new Set(tags).size, 3, tags.join(' '));
    assert.match(tags[0] ?? '', /^"/);
    assert.match(tags[1] ?? '', /^W\/"/);
    assert.match(tags[2] ?? '', /^W\/"/);
    assert.equal(plain.header('accept-ranges'), 'bytes');
    assert.equal(br.header('accept-ranges'), undefined);
    assert.equal(br.header('last-modified'), plain.header('last-modified'));
  });

  test('304 with Vary for each encoding’s own tag; another encoding’s tag is a 200', async () => {
    const br = await get(srv.port, '/app.js', ['Accept-Encoding: br']);
    const tag = br.header('etag') ?? '';
    const again = await get(srv.port, '/app.js', ['Accept-Encoding: br', `If-None-Match: ${tag}`]);
    assert.equal(again.status, 304);
    assert.equal(again.header('vary'), 'Accept-Encoding');
    assert.equal(again.header('etag'), tag);
    assert.equal(again.body.length, 0);
    const other = await get(srv.port, '/app.js', ['Accept-Encoding: gzip', `If-None-Match: ${tag}`]);
    assert.equal(other.status, 200);
    assert.equal(other.header('content-encoding'), 'gzip');
    const plain = await get(srv.port, '/app.js');
    const plain304 = await get(srv.port, '/app.js', [`If-None-Match: ${plain.header('etag') ?? ''}`]);
    assert.equal(plain304.status, 304);
    assert.equal(plain304.header('vary'), 'Accept-Encoding', 'the unencoded 304 varies too');
    const sibling = await get(srv.port, '/pre.js', ['Accept-Encoding: br']);
    const sibling304 = await get(srv.port, '/pre.js', ['Accept-Encoding: br', `If-None-Match: ${sibling.header('etag') ?? ''}`]);
    assert.equal(sibling304.status, 304);
    assert.equal(sibling304.header('vary'), 'Accept-Encoding');
  });

  test('If-Match with a compressed (weak) tag fails: 412', async () => {
    const br = await get(srv.port, '/app.js', ['Accept-Encoding: br']);
    const res = await get(srv.port, '/app.js', ['Accept-Encoding: br', `If-Match: ${br.header('etag') ?? ''}`]);
    assert.equal(res.status, 412);
    // helper-46: the 412 alone had no Vary, where 200, 206, 304 and 416 had it.
    assert.equal(res.header('vary'), 'Accept-Encoding', 'a 412 of a file with encodings varies too');
  });

  test('every 412 of a file with encodings says Vary: Accept-Encoding (siblings, on the fly, before and after the compression)', async () => {
    for (const path of ['/pre.js', '/app.js', '/data.bin']) {
      for (const coding of ['br', 'gzip', 'identity']) {
        const res = await get(srv.port, path, [`Accept-Encoding: ${coding}`, 'If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT']);
        assert.equal(res.status, 412, `${path} ${coding}`);
        assert.equal(res.header('vary'), 'Accept-Encoding', `${path} ${coding}`);
      }
    }
    // A file with no encodings has nothing to vary on.
    const plain = await get(srv.port, '/plain.bin', ['Accept-Encoding: gzip', 'If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT']);
    assert.equal(plain.status, 412);
    assert.equal(plain.header('vary'), undefined);
  });
});

describe('on the fly', () => {
  test('HEAD has GET’s headers (the compressed length) and no body', async () => {
    const got = await get(srv.port, '/app.js', ['Accept-Encoding: gzip']);
    const head = await get(srv.port, '/app.js', ['Accept-Encoding: gzip'], 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const name of ['content-type', 'content-encoding', 'content-length', 'etag', 'vary']) {
      assert.equal(head.header(name), got.header(name), name);
    }
  });

  test('a Range request is answered from the unencoded file (206 with its strong tag, Vary)', async () => {
    const res = await get(srv.port, '/app.js', ['Accept-Encoding: br, gzip', 'Range: bytes=10-29']);
    assert.equal(res.status, 206);
    assert.equal(res.header('content-encoding'), undefined);
    assert.equal(res.header('content-range'), `bytes 10-29/${APP.length}`);
    assert.equal(res.header('vary'), 'Accept-Encoding');
    assert.ok(res.body.equals(APP.subarray(10, 30)));
  });

  test('compressed once per version: the first answer compressed it (said in the log), the next is the kept copy; an edit makes a new one', async () => {
    const first = await get(srv.port, '/edit.js', ['Accept-Encoding: br']);
    const second = await get(srv.port, '/edit.js', ['Accept-Encoding: br']);
    assert.ok(first.body.equals(second.body));
    assert.match((await recordOf(srv, '/edit.js', 1)).note ?? '', /^compressed with br: .* kept for the next requests$/);
    assert.equal((await recordOf(srv, '/edit.js', 2)).note, undefined, 'the second answer compressed nothing');
    const edited = script(100, 'two');
    await writeFile(join(root, 'edit.js'), edited);
    const third = await get(srv.port, '/edit.js', ['Accept-Encoding: br']);
    assert.ok(decode(third).equals(edited), 'the new version, compressed');
    assert.notEqual(third.header('etag'), first.header('etag'));
    assert.match((await recordOf(srv, '/edit.js', 3)).note ?? '', /^compressed with br/);
  });

  test('the log counts the bytes sent: the compressed length', async () => {
    const res = await get(srv.port, '/app.js?log', ['Accept-Encoding: gzip']);
    const record = await recordOf(srv, '/app.js?log', 1);
    assert.equal(record.bytes, res.body.length);
    assert.ok(record.bytes < APP.length);
  });

  test('bounds: under 1 KiB and over 1 MiB are sent as they are, without Vary; binary types are never compressed', async () => {
    for (const target of ['/small.js', '/huge.txt', '/plain.bin']) {
      const res = await get(srv.port, target, ['Accept-Encoding: br, gzip']);
      assert.equal(res.status, 200, target);
      assert.equal(res.header('content-encoding'), undefined, target);
      assert.equal(res.header('vary'), undefined, target);
    }
  });

  test('JSON, HTML and WebAssembly-typed text compress; a page with live reload is compressed after the client is injected', async () => {
    const nav = ['Accept-Encoding: br', 'Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];
    const page = await get(srv.port, '/page.html', nav);
    assert.equal(page.status, 200);
    assert.equal(page.header('content-encoding'), 'br');
    assert.deepEqual(page.headerAll('vary'), ['Accept-Encoding, Sec-Fetch-Dest, Sec-Fetch-Mode, Accept']);
    const html = decode(page).toString('utf8');
    assert.match(html, /<script[^>]+__porthole\/client\.js/);
    assert.ok(html.replace(/<script[^>]*__porthole[^<]*<\/script>/, '') === PAGE.toString('utf8'), 'the page, plus the client only');
    // The page's tag names live reload's generation, which a change elsewhere in the folder moves
    // on: ask again until two answers in a row share a generation (bounded).
    let tag = page.header('etag') ?? '';
    for (let attempt = 0; ; attempt++) {
      const again = await get(srv.port, '/page.html', [...nav, `If-None-Match: ${tag}`]);
      if (again.status === 200 && again.header('etag') !== tag && attempt < 10) {
        tag = again.header('etag') ?? '';
        continue;
      }
      assert.equal(again.status, 304);
      assert.deepEqual(again.headerAll('vary'), ['Accept-Encoding, Sec-Fetch-Dest, Sec-Fetch-Mode, Accept']);
      assert.equal(again.header('etag'), tag);
      break;
    }
  });
});

describe('.br / .gz files beside the file', () => {
  test('picked by Accept-Encoding: exactly the sibling’s bytes, the file’s type, their own strong tags', async () => {
    const br = await get(srv.port, '/pre.js', ['Accept-Encoding: gzip, br']);
    const gz = await get(srv.port, '/pre.js', ['Accept-Encoding: gzip']);
    const plain = await get(srv.port, '/pre.js');
    assert.equal(br.header('content-encoding'), 'br');
    assert.ok(br.body.equals(PRE_BR), 'the .br file as it is');
    assert.equal(gz.header('content-encoding'), 'gzip');
    assert.ok(gz.body.equals(PRE_GZ), 'the .gz file as it is');
    assert.ok(plain.body.equals(PRE));
    for (const res of [br, gz, plain]) {
      assert.equal(res.header('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(res.header('vary'), 'Accept-Encoding');
      assert.match(res.header('etag') ?? '', /^"/, 'strong: a file on disk');
      assert.equal(res.header('accept-ranges'), 'bytes');
    }
    assert.equal(new Set([br, gz, plain].map((r) => r.header('etag'))).size, 3);
    assert.equal((await recordOf(srv, '/pre.js', 1)).filePath, join(root, 'pre.js.br'));
  });

  test('ranges of a sibling are ranges of its encoded bytes', async () => {
    const res = await get(srv.port, '/pre.js', ['Accept-Encoding: br', 'Range: bytes=0-9']);
    assert.equal(res.status, 206);
    assert.equal(res.header('content-encoding'), 'br');
    assert.equal(res.header('content-range'), `bytes 0-9/${PRE_BR.length}`);
    assert.ok(res.body.equals(PRE_BR.subarray(0, 10)));
  });

  test('a binary file with a .gz beside it is negotiable: gzip picked, and Vary on the unencoded answer', async () => {
    const gz = await get(srv.port, '/data.bin', ['Accept-Encoding: gzip, br']);
    assert.equal(gz.header('content-encoding'), 'gzip');
    assert.ok(gz.body.equals(DATA_GZ));
    assert.equal(gz.header('content-type'), 'application/octet-stream');
    const plain = await get(srv.port, '/data.bin');
    assert.equal(plain.header('content-encoding'), undefined);
    assert.equal(plain.header('vary'), 'Accept-Encoding');
    assert.ok(plain.body.equals(DATA));
  });

  test('a sibling older than the file (left from a build before an edit) is not used: the edit is served', async () => {
    const built = script(100, 'built');
    await writeFile(join(root, 'stale.js'), built);
    const builtBr = brotliCompressSync(built);
    await writeFile(join(root, 'stale.js.br'), builtBr);
    // The build wrote the file, then its .br.
    await utimes(join(root, 'stale.js'), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    await utimes(join(root, 'stale.js.br'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const res = await get(srv.port, '/stale.js', ['Accept-Encoding: br']);
    assert.equal(res.header('content-encoding'), 'br');
    assert.ok(res.body.equals(builtBr), 'the fresh sibling, as it is');
    const edited = script(100, 'edited by hand');
    await writeFile(join(root, 'stale.js'), edited);
    const after = await get(srv.port, '/stale.js', ['Accept-Encoding: br']);
    assert.equal(after.header('content-encoding'), 'br', 'compressed on the fly instead');
    assert.ok(decode(after).equals(edited), 'the edited file, not the stale .br');
    assert.ok(decode(res).equals(built));
  });

  test('a sibling older than the file by its ctime (the fix copied in with an older time: cp -p, rsync -t) is not used: every client gets the fix', async () => {
    const built = script(100, 'built by the bundler');
    await writeFile(join(root, 'copied.js'), built);
    await utimes(join(root, 'copied.js'), new Date(Date.now() - 1_800_000), new Date(Date.now() - 1_800_000));
    await writeFile(join(root, 'copied.js.br'), brotliCompressSync(built));
    assert.equal((await get(srv.port, '/copied.js', ['Accept-Encoding: br'])).header('content-encoding'), 'br', 'the fresh sibling first');
    // The fix, copied in with its own time, older than the .br's (cp -p fixed.js dist/copied.js).
    const fixed = script(100, 'fixed by hand');
    await writeFile(join(root, 'copied.js'), fixed);
    await utimes(join(root, 'copied.js'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const plain = await get(srv.port, '/copied.js');
    assert.ok(plain.body.equals(fixed), 'the unencoded answer is the fix');
    const br = await get(srv.port, '/copied.js', ['Accept-Encoding: br']);
    assert.ok(decode(br).equals(fixed), 'a client that accepts br gets the fix too, not the old .br (nginx gzip_static would send the .br: Porthole promises fresh siblings only)');
  });

  test('a sibling added to a long-unchanged folder is picked by the next request (the new name changes the folder)', async () => {
    // "None beside it" is remembered while the folder keeps a settled mtime; a new file is a new
    // name in the folder, so the next request looks again.
    const folder = join(root, 'settled');
    await mkdir(folder);
    const tiny = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 7) % 256));
    await writeFile(join(folder, 'tiny.bin'), tiny);
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(folder, 'tiny.bin'), hourAgo, hourAgo);
    await utimes(folder, hourAgo, hourAgo);
    for (let i = 0; i < 2; i++) {
      const none = await get(srv.port, '/settled/tiny.bin', ['Accept-Encoding: gzip, br']);
      assert.equal(none.header('content-encoding'), undefined, 'nothing beside it yet');
      assert.equal(none.header('vary'), undefined);
    }
    const tinyGz = gzipSync(tiny);
    await writeFile(join(folder, 'tiny.bin.gz'), tinyGz);
    const gz = await get(srv.port, '/settled/tiny.bin', ['Accept-Encoding: gzip, br']);
    assert.equal(gz.header('content-encoding'), 'gzip', 'the new sibling, at once');
    assert.ok(gz.body.equals(tinyGz));
    assert.equal((await get(srv.port, '/settled/tiny.bin')).header('vary'), 'Accept-Encoding');
  });

  test('a sibling added by a build that then sets the folder\'s times back (touch -d, tar x, SOURCE_DATE_EPOCH) is picked by the next request', async () => {
    // The folder's mtime is the same before and after: only its ctime tells that a name was added.
    const folder = join(root, 'reproducible');
    await mkdir(folder);
    const tiny = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 11) % 256));
    await writeFile(join(folder, 'tiny.bin'), tiny);
    const epoch = new Date('2020-01-01T00:00:00Z');
    await utimes(join(folder, 'tiny.bin'), epoch, epoch);
    await utimes(folder, epoch, epoch);
    // The folder's ctime settles as a real build's folder would (SETTLED_FOLDER_MS is 2 s).
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    for (let i = 0; i < 2; i++) {
      const none = await get(srv.port, '/reproducible/tiny.bin', ['Accept-Encoding: gzip, br']);
      assert.equal(none.header('content-encoding'), undefined, 'nothing beside it yet');
    }
    const tinyGz = gzipSync(tiny);
    await writeFile(join(folder, 'tiny.bin.gz'), tinyGz);
    await utimes(join(folder, 'tiny.bin.gz'), epoch, epoch);
    await utimes(folder, epoch, epoch);
    const gz = await get(srv.port, '/reproducible/tiny.bin', ['Accept-Encoding: gzip, br']);
    assert.equal(gz.header('content-encoding'), 'gzip', 'the new sibling, at once (nginx gzip_static opens it per request)');
    assert.ok(gz.body.equals(tinyGz));
  });

  test('a sibling that leads outside the root is never served', async () => {
    const res = await get(srv.port, '/linked.js', ['Accept-Encoding: br']);
    assert.equal(res.status, 200);
    assert.doesNotMatch(decode(res).toString(), /SECRET/);
    assert.ok(decode(res).equals(script(100, 'inside')));
  });
  test('a sibling that leads outside the root or to a hidden file is no encoding: no Vary, whether its target exists or not (no existence oracle)', async () => {
    // Before: Vary: Accept-Encoding on /there.png (its .br linked to an existing file out of the
    // root) and none on /none.png (linked to nothing) told whether that file exists.
    await mkdir(join(root, 'refused-siblings'));
    const bytes = randomBytes(4000);
    for (const name of ['there', 'none', 'dot', 'dot-none']) await writeFile(join(root, 'refused-siblings', `${name}.png`), bytes);
    // Newer than the files, as a build's siblings are.
    await writeFile(join(outside, 'there.png.br'), brotliCompressSync(Buffer.from('OUTSIDE')));
    await writeFile(join(root, 'refused-siblings', '.dot.br'), brotliCompressSync(Buffer.from('HIDDEN')));
    await symlink(join(outside, 'there.png.br'), join(root, 'refused-siblings', 'there.png.br'));
    await symlink(join(outside, 'none.png.br'), join(root, 'refused-siblings', 'none.png.br'));
    await symlink('.dot.br', join(root, 'refused-siblings', 'dot.png.br'));
    await symlink('.none.br', join(root, 'refused-siblings', 'dot-none.png.br'));
    for (const name of ['there', 'none', 'dot', 'dot-none']) {
      for (const accept of [[], ['Accept-Encoding: br']]) {
        const res = await get(srv.port, `/refused-siblings/${name}.png`, accept);
        assert.equal(res.status, 200, name);
        assert.equal(res.header('vary'), undefined, `${name} ${accept.join('')}: no encoding to vary over`);
        assert.equal(res.header('content-encoding'), undefined, name);
        assert.ok(res.body.equals(bytes), name);
      }
    }
  });
  test('an empty sibling (a build caught between truncating and writing it) is no encoding: the file goes as it is', async () => {
    await writeFile(join(root, 'emptied.js'), APP);
    // Newer than the file, as a build's sibling is; empty: no brotli or gzip stream is.
    await writeFile(join(root, 'emptied.js.br'), '');
    await writeFile(join(root, 'emptied.js.gz'), '');
    for (const accept of ['br', 'gzip', 'gzip, br']) {
      const res = await get(srv.port, '/emptied.js', [`Accept-Encoding: ${accept}`]);
      assert.equal(res.status, 200);
      // Its bytes as they are, or compressed on the fly: never the empty sibling.
      assert.ok(res.body.length > 0 && decode(res).equals(APP), `${accept}: the file's own bytes`);
    }
  });
});

describe('encoded web assets requested by their own name', () => {
  test('an empty game.wasm.br or data.json.gz (truncated mid-build): the empty file, with no Content-Encoding to fail decoding', async () => {
    await writeFile(join(root, 'empty.wasm.br'), '');
    await writeFile(join(root, 'empty.json.gz'), '');
    for (const [target, type] of [
      ['/empty.wasm.br', 'application/wasm'],
      ['/empty.json.gz', 'application/json'],
    ] as const) {
      for (const accept of [['Accept-Encoding: gzip, br'], []]) {
        const res = await get(srv.port, target, accept);
        assert.equal(res.status, 200, target);
        assert.equal(res.header('content-encoding'), undefined, `${target} ${accept.join()}`);
        assert.equal(res.body.length, 0);
        assert.equal(res.header('content-type')?.split(';')[0], type, target);
      }
    }
  });

  test('game.wasm.br, data.json.gz, build.js.gz: the inner type and Content-Encoding, the bytes as stored', async () => {
    const cases: Array<[string, string, string, Buffer]> = [
      ['/game.wasm.br', 'application/wasm', 'br', WASM_BR],
      ['/data.json.gz', 'application/json; charset=utf-8', 'gzip', gzipSync(JSON_TEXT)],
      ['/build.js.gz', 'text/javascript; charset=utf-8', 'gzip', gzipSync(APP)],
    ];
    for (const [target, type, coding, bytes] of cases) {
      const res = await get(srv.port, target, ['Accept-Encoding: gzip, br']);
      assert.equal(res.status, 200, target);
      assert.equal(res.header('content-type'), type, target);
      assert.equal(res.header('content-encoding'), coding, target);
      assert.ok(res.body.equals(bytes), target);
      assert.equal(res.header('vary'), 'Accept-Encoding', `${target}: decoded for other clients`);
      assert.match(res.header('etag') ?? '', /^"/);
    }
  });

  test('to a client that does not accept the coding: decoded (whole, with its length, a weak tag of its own, no ranges), and the log says so', async () => {
    const stored = await get(srv.port, '/game.wasm.br', ['Accept-Encoding: br']);
    for (const [headers, nth] of [[['Accept-Encoding: gzip'], 3], [[], 4], [['Accept-Encoding: gzip', 'Range: bytes=0-3'], 5]] as const) {
      const res = await get(srv.port, '/game.wasm.br', headers);
      assert.equal(res.status, 200, headers.join());
      assert.equal(res.header('content-encoding'), undefined);
      assert.equal(res.header('content-type'), 'application/wasm');
      // In memory: decoded whole before the answer starts (undecodable-assets.test.ts), so its length is known.
      assert.equal(res.header('transfer-encoding'), undefined);
      assert.equal(res.header('content-length'), String(WASM.length));
      assert.equal(res.header('vary'), 'Accept-Encoding');
      assert.equal(res.header('accept-ranges'), undefined);
      assert.match(res.header('etag') ?? '', /^W\/"/);
      assert.notEqual(res.header('etag'), stored.header('etag'));
      assert.ok(res.body.equals(WASM), 'the module itself');
      assert.match((await recordOf(srv, '/game.wasm.br', nth)).note ?? '', /^decoded from br/);
    }
    const json = await get(srv.port, '/data.json.gz');
    assert.equal(json.header('content-type'), 'application/json; charset=utf-8');
    assert.ok(json.body.equals(JSON_TEXT));
    const revalidated = await get(srv.port, '/data.json.gz', [`If-None-Match: ${json.header('etag') ?? ''}`]);
    assert.equal(revalidated.status, 304);
    assert.equal(revalidated.header('vary'), 'Accept-Encoding');
    const head = await get(srv.port, '/data.json.gz', [], 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.header('etag'), json.header('etag'));
  });

  test('a big stored asset (over the cache bound) is decoded from its descriptor', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    const stored = gzipSync(big, { level: 1 });
    assert.ok(stored.length > 1024 * 1024, 'stored above the file cache bound');
    await writeFile(join(root, 'big.data.gz'), stored);
    const res = await get(srv.port, '/big.data.gz', [], 'GET');
    assert.equal(res.status, 200);
    assert.equal(res.header('content-type'), 'application/octet-stream');
    assert.ok(res.body.equals(big));
    assert.equal(res.header('transfer-encoding'), 'chunked', 'streamed from its descriptor');
    const asStored = await get(srv.port, '/big.data.gz', ['Accept-Encoding: gzip']);
    assert.equal(asStored.header('content-encoding'), 'gzip');
    assert.ok(asStored.body.equals(stored));
  });

  test('archive.tar.gz stays a download: application/gzip, no Content-Encoding', async () => {
    for (const running of [srv, srvOff]) {
      const res = await get(running.port, '/archive.tar.gz', ['Accept-Encoding: gzip, br']);
      assert.equal(res.status, 200);
      assert.equal(res.header('content-type'), 'application/gzip');
      assert.equal(res.header('content-encoding'), undefined);
      assert.ok(res.body.equals(TARBALL));
    }
  });
});

describe('compression: false', () => {
  test('no coding on the fly, no sibling chosen, no Vary; an encoded asset is still sent as stored (or decoded)', async () => {
    const app = await get(srvOff.port, '/app.js', ['Accept-Encoding: br, gzip']);
    assert.equal(app.header('content-encoding'), undefined);
    assert.equal(app.header('vary'), undefined);
    assert.ok(app.body.equals(APP));
    const pre = await get(srvOff.port, '/pre.js', ['Accept-Encoding: br, gzip']);
    assert.equal(pre.header('content-encoding'), undefined);
    assert.ok(pre.body.equals(PRE));
    const wasm = await get(srvOff.port, '/game.wasm.br', ['Accept-Encoding: br']);
    assert.equal(wasm.header('content-encoding'), 'br');
    assert.equal(wasm.header('content-type'), 'application/wasm');
    const decoded = await get(srvOff.port, '/game.wasm.br');
    assert.equal(decoded.header('content-encoding'), undefined);
    assert.ok(decoded.body.equals(WASM));
  });

  test('reconfigure turns it on and off on a running server', async () => {
    const running = await startServer({ root, compression: false });
    try {
      assert.equal((await get(running.port, '/app.js', ['Accept-Encoding: br'])).header('content-encoding'), undefined);
      running.server.reconfigure({ compression: true });
      assert.equal((await get(running.port, '/app.js', ['Accept-Encoding: br'])).header('content-encoding'), 'br');
    } finally {
      await running.close();
    }
  });
});

test('compressed copies are kept up to 32 MiB in all, oldest out first: past it the first copy is compressed again, the later ones are still kept', async () => {
  // README: "the copy is kept (32 MiB in all, oldest out first)". 44 texts of 1 MiB of base64
  // (brotli keeps about three quarters of it): some 33 MiB of copies, past the bound by one or two.
  const dir = await mkdtemp(join(tmpdir(), 'porthole-coding-total-'));
  const files = 44;
  for (let i = 0; i < files; i++) await writeFile(join(dir, `t${i}.txt`), randomBytes(768 * 1024).toString('base64').slice(0, 1024 * 1024));
  const own = await startServer({ root: dir, reload: { enabled: false } });
  try {
    let copies = 0;
    for (let i = 0; i < files; i++) {
      const res = await get(own.port, `/t${i}.txt`, ['Accept-Encoding: br']);
      assert.equal(res.header('content-encoding'), 'br', `t${i}`);
      copies += Number(res.header('content-length') ?? res.body.length);
    }
    assert.ok(copies > 32 * 1024 * 1024 && copies < 34 * 1024 * 1024, `${copies} bytes of copies`);
    // The copies past the first two or three are within the bound: kept (a smaller bound drops them too).
    for (const i of [files - 1, 3]) {
      await get(own.port, `/t${i}.txt`, ['Accept-Encoding: br']);
      assert.equal((await recordOf(own, `/t${i}.txt`, 2)).note, undefined, `the copy of t${i} is kept`);
    }
    await get(own.port, '/t0.txt', ['Accept-Encoding: br']);
    assert.match((await recordOf(own, '/t0.txt', 2)).note ?? '', /^compressed with br/, 'the first copy went out to keep the bound');
  } finally {
    await own.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a page\'s answer carries one Vary field: its own Accept-Encoding and the page Vary merged, a configured one added, each name once (RFC 9110 §12.5.5)', async () => {
  // Before: two Vary lines (`Vary: Accept-Encoding` and `Vary: Sec-Fetch-Dest, Sec-Fetch-Mode, Accept`),
  // and a configured Vary a third, names repeated.
  const own = await startServer({ root, headers: [{ source: '**', headers: { Vary: 'origin, accept-encoding' } }] });
  try {
    for (const [what, port, headers] of [
      ['a fetch() of a page', srv.port, ['Accept-Encoding: br']],
      ['a navigation', srv.port, ['Accept-Encoding: br', 'Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html']],
    ] as const) {
      const res = await get(port, '/page.html', headers);
      assert.equal(res.status, 200, what);
      assert.deepEqual(res.headerAll('vary'), ['Accept-Encoding, Sec-Fetch-Dest, Sec-Fetch-Mode, Accept'], what);
    }
    const configured = await get(own.port, '/page.html', ['Accept-Encoding: br']);
    assert.deepEqual(configured.headerAll('vary'), ['Accept-Encoding, origin, Sec-Fetch-Dest, Sec-Fetch-Mode, Accept']);
    const plain = await get(own.port, '/edit.js', ['Accept-Encoding: br']);
    assert.deepEqual(plain.headerAll('vary'), ['Accept-Encoding, origin']);
  } finally {
    await own.close();
  }
});

test('one connection asking for the same cached page again and again gets the merged Vary and its own Connection each time (the merged head is kept per status and Connection, never reused for another)', async () => {
  // The head with the merged Vary is made once per page, status and Connection, and kept: a
  // kept head carrying another answer's Connection or status would show here.
  const client = await RawClient.connect(srv.port);
  try {
    const vary = ['Accept-Encoding, Sec-Fetch-Dest, Sec-Fetch-Mode, Accept'];
    await client.write(request('/page.html', { headers: ['Accept-Encoding: br'] }));
    const first = await client.readResponse();
    assert.equal(first.status, 200);
    assert.deepEqual(first.headerAll('vary'), vary);
    assert.deepEqual(first.headerAll('connection'), []);
    const tag = first.header('etag');
    assert.ok(tag !== undefined);
    const steps: Array<[string, string, string[], number, string[]]> = [
      ['again, compressed', '1.1', ['Accept-Encoding: br'], 200, []],
      ['identity', '1.1', [], 200, []],
      ['HTTP/1.0 keep-alive', '1.0', ['Accept-Encoding: br', 'Connection: keep-alive'], 200, ['keep-alive']],
      ['a 304', '1.1', ['Accept-Encoding: br', `If-None-Match: ${tag}`], 304, []],
      ['a 304, HTTP/1.0 keep-alive', '1.0', ['Accept-Encoding: br', `If-None-Match: ${tag}`, 'Connection: keep-alive'], 304, ['keep-alive']],
      ['compressed, closing', '1.1', ['Accept-Encoding: br', 'Connection: close'], 200, ['close']],
    ];
    for (const [what, version, headers, status, connection] of steps) {
      await client.write(request('/page.html', { version, headers }));
      const res = await client.readResponse();
      assert.equal(res.status, status, what);
      assert.deepEqual(res.headerAll('vary'), vary, what);
      assert.deepEqual(res.headerAll('connection'), connection, what);
      assert.deepEqual(res.headerAll('date').length, 1, what);
      assert.ok(res.headText.endsWith('\r\n\r\n') && !/\r\n\r\n./s.test(res.headText.slice(0, -4)), what);
    }
    // And a fresh connection's first answer has no Connection left over from the closing one.
    const fresh = await fetchOnce(srv.port, request('/page.html', { headers: ['Accept-Encoding: br', 'Connection: close'] }));
    assert.deepEqual(fresh.headerAll('connection'), ['close']);
    assert.deepEqual(fresh.headerAll('vary'), vary);
  } finally {
    client.destroy();
  }
});
