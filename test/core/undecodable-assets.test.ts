/**
 * A file named as stored encoded (`x.html.gz`, `game.wasm.br`, `pic.svgz`) whose bytes are not in
 * that coding (plain text saved under a `.gz` name, a build output cut short), asked for by a
 * client that does not accept the coding: the server decodes it for that client, and when it does
 * not decode the answer is a complete 500 that names the file and says what to do, never a 200
 * whose body breaks off (the client saw "connection reset" and nothing else). A good one comes
 * decoded with its Content-Length. Real server, real files, raw loopback sockets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { startServer, type Running } from './harness';
import { fetchOnce, request, type RawResponse } from './raw-client';

let root: string;
let srv: Running;

const PAGE = Buffer.from('<!doctype html><title>t</title><p>hello</p>\n');

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-undecodable-'));
  await writeFile(join(root, 'plain.html.gz'), PAGE); // not gzip at all
  await writeFile(join(root, 'cut.js.gz'), gzipSync(Buffer.alloc(50_000, 'a')).subarray(0, 40)); // cut short
  await writeFile(join(root, 'plain.wasm.br'), Buffer.from('not brotli\n'));
  await writeFile(join(root, 'pic.svgz'), Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>\n'));
  await writeFile(join(root, 'bomb.txt.gz'), gzipSync(Buffer.alloc(40 * 1024 * 1024, 0))); // 40 KiB → 40 MiB
  await writeFile(join(root, 'good.html.gz'), gzipSync(PAGE));
  await writeFile(join(root, 'good.json.br'), brotliCompressSync(Buffer.from('{"a":1}\n')));
  srv = await startServer({ root });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

function get(target: string, headers: readonly string[] = [], method = 'GET'): Promise<RawResponse> {
  return fetchOnce(srv.port, request(target, { method, headers: [...headers, 'Connection: close'] }), { timeoutMs: 10_000, head: method === 'HEAD' });
}

describe('stored-encoded files that do not decode', () => {
  test('a complete 500 naming the file and what to do, not a 200 cut off', async () => {
    for (const [target, name, coding] of [
      ['/plain.html.gz', 'plain.html.gz', 'gzip'],
      ['/cut.js.gz', 'cut.js.gz', 'gzip'],
      ['/plain.wasm.br', 'plain.wasm.br', 'br'],
      ['/pic.svgz', 'pic.svgz', 'gzip'],
    ] as const) {
      const res = await get(target);
      assert.equal(res.status, 500, target);
      assert.equal(res.header('content-type'), 'text/plain; charset=utf-8', target);
      assert.equal(res.header('content-encoding'), undefined, target);
      assert.equal(res.header('cache-control'), 'no-store', target);
      assert.equal(Number(res.header('content-length')), res.body.length, `${target}: the whole answer`);
      const text = res.body.toString('utf8');
      assert.ok(text.includes(name), `${target}: names the file: ${text}`);
      assert.ok(text.includes(`not ${coding} data`), `${target}: says what is wrong: ${text}`);
      assert.match(text, /Rebuild it, or rename it/, target);
      const head = await get(target, [], 'HEAD');
      assert.equal(head.status, 500, `${target}: HEAD answers as GET does`);
      assert.equal(head.header('content-length'), res.header('content-length'), target);
    }
  });

  test('one that decodes past the bound is a 500 saying so, not a cut', async () => {
    const res = await get('/bomb.txt.gz');
    assert.equal(res.status, 500);
    assert.equal(Number(res.header('content-length')), res.body.length);
    assert.match(res.body.toString('utf8'), /bomb\.txt\.gz .* decodes to more than 16(\.0)? MiB/);
  });

  test('a good one is decoded whole, with its Content-Length; as stored for a client that takes the coding', async () => {
    const res = await get('/good.html.gz');
    assert.equal(res.status, 200);
    assert.equal(res.header('transfer-encoding'), undefined);
    assert.equal(res.header('content-length'), String(PAGE.length));
    assert.equal(res.header('content-type'), 'text/html; charset=utf-8');
    // One field: the coding's and the page's (the file is a page), RFC 9110 §12.5.5.
    assert.deepEqual(res.headerAll('vary'), ['Accept-Encoding, Sec-Fetch-Dest, Sec-Fetch-Mode, Accept']);
    assert.match(res.header('etag') ?? '', /^W\/"/);
    assert.ok(res.body.equals(PAGE));
    const head = await get('/good.html.gz', [], 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.header('content-length'), String(PAGE.length), 'HEAD: the length a GET sends');
    assert.equal(head.header('etag'), res.header('etag'));
    const json = await get('/good.json.br');
    assert.equal(json.body.toString(), '{"a":1}\n');
    const stored = await get('/plain.html.gz', ['Accept-Encoding: gzip']);
    assert.equal(stored.status, 200, 'a client that takes gzip gets the file as stored');
    assert.equal(stored.header('content-encoding'), 'gzip');
  });
});
