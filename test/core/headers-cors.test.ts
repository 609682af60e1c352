/**
 * Configured response headers (per glob and for every path), the cross-origin isolation pair,
 * and CORS (off by default; preflights answered or refused; `*` or an echoed allowed origin with
 * Vary: Origin), over real sockets. Header names and values that break the grammar never start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerError } from '../../src/core';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

let root: string;
const servers: Running[] = [];

async function serve(input: Parameters<typeof startServer>[0]): Promise<Running> {
  const running = await startServer(input);
  servers.push(running);
  return running;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-headers-'));
  await mkdir(join(root, 'wasm'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>i</title><p>index</p>');
  await writeFile(join(root, 'wasm', 'game.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  await writeFile(join(root, 'data.json'), '{"a":1}');
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(root, { recursive: true, force: true });
});

test('per-glob headers reach matching paths only; later rules win; --header-style ** rules reach every answer', async () => {
  const s = await serve({
    root,
    configFile: false,
    headers: [
      { source: '**', headers: { 'X-Everywhere': 'yes', 'Cache-Control': 'max-age=60' } },
      { source: '**/*.wasm', headers: { 'Cache-Control': 'no-store', 'X-Wasm': 'true' } },
    ],
  });
  const wasm = await fetchOnce(s.port, request('/wasm/game.wasm'));
  assert.equal(wasm.status, 200);
  assert.equal(wasm.header('x-wasm'), 'true');
  assert.equal(wasm.header('x-everywhere'), 'yes');
  assert.deepEqual(wasm.headerAll('cache-control'), ['no-store'], 'one Cache-Control, the later rule');
  const json = await fetchOnce(s.port, request('/data.json'));
  assert.equal(json.header('x-wasm'), undefined);
  assert.deepEqual(json.headerAll('cache-control'), ['max-age=60']);
  // Answered from the file cache the second time (a prepared head): the headers are still there.
  const again = await fetchOnce(s.port, request('/data.json'));
  assert.equal(again.header('x-everywhere'), 'yes');
  assert.deepEqual(again.headerAll('cache-control'), ['max-age=60']);
  const missing = await fetchOnce(s.port, request('/nope.txt'));
  assert.equal(missing.status, 404);
  assert.equal(missing.header('x-everywhere'), 'yes', 'error answers carry them too');
});

test('crossOriginIsolation sends COOP same-origin and COEP require-corp with pages and files', async () => {
  const s = await serve({ root, configFile: false, crossOriginIsolation: true });
  for (const path of ['/', '/data.json']) {
    const r = await fetchOnce(s.port, request(path, { headers: ['Sec-Fetch-Dest: document'] }));
    assert.equal(r.status, 200, path);
    assert.equal(r.header('cross-origin-opener-policy'), 'same-origin', path);
    assert.equal(r.header('cross-origin-embedder-policy'), 'require-corp', path);
  }
});

test('header names and values outside RFC 9110 grammar refuse to start (no CR/LF reaches the wire)', async () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ 'X-Evil': 'a\r\nSet-Cookie: x=1' }, /control character/],
    [{ 'X-Evil': 'a\nb' }, /control character/],
    [{ 'X-Evil': 'nul\u0000' }, /control character/],
    [{ 'Bad Name': 'v' }, /not a header name/],
    [{ 'X-Wide': 'snowman ☃' }, /above U\+00FF/],
    [{ 'Content-Length': '0' }, /frames the message/],
    [{ 'transfer-encoding': 'chunked' }, /frames the message/],
    [{ Connection: 'close' }, /frames the message/],
    [{ Date: 'Thu, 01 Jan 1970 00:00:00 GMT' }, /Porthole sets it itself/],
  ];
  for (const [headers, reason] of bad) {
    await assert.rejects(
      startServer({ root, configFile: false, headers: [{ source: '**', headers }] }),
      (err: unknown) => err instanceof ServerError && err.code === 'EOPTIONS' && reason.test(err.message),
      JSON.stringify(headers),
    );
  }
});

test('CORS off (the default): no Access-Control-Allow-Origin, and a preflight is refused 403', async () => {
  const s = await serve({ root, configFile: false });
  const get = await fetchOnce(s.port, request('/data.json', { headers: ['Origin: http://evil.example'] }));
  assert.equal(get.status, 200);
  assert.equal(get.header('access-control-allow-origin'), undefined);
  const pre = await fetchOnce(
    s.port,
    request('/data.json', { method: 'OPTIONS', headers: ['Origin: http://evil.example', 'Access-Control-Request-Method: GET'] }),
  );
  assert.equal(pre.status, 403);
  assert.equal(pre.header('access-control-allow-origin'), undefined);
  assert.equal(pre.header('access-control-allow-methods'), undefined);
  assert.match(pre.body.toString(), /--cors/);
  // A plain OPTIONS (no preflight) is still answered as before.
  const plain = await fetchOnce(s.port, request('/data.json', { method: 'OPTIONS' }));
  assert.equal(plain.status, 204);
  assert.equal(plain.header('allow'), 'GET, HEAD, OPTIONS');
});

test('CORS on for any origin: `*`, no credentials, preflight 204 with methods and the asked headers', async () => {
  const s = await serve({ root, configFile: false, cors: { enabled: true } });
  const get = await fetchOnce(s.port, request('/data.json', { headers: ['Origin: http://app.example:5173'] }));
  assert.equal(get.header('access-control-allow-origin'), '*');
  assert.equal(get.header('access-control-allow-credentials'), undefined);
  const noOrigin = await fetchOnce(s.port, request('/data.json'));
  assert.equal(noOrigin.header('access-control-allow-origin'), undefined, 'same-origin requests need none');
  const pre = await fetchOnce(
    s.port,
    request('/data.json', {
      method: 'OPTIONS',
      headers: ['Origin: http://app.example:5173', 'Access-Control-Request-Method: GET', 'Access-Control-Request-Headers: x-token, content-type'],
    }),
  );
  assert.equal(pre.status, 204);
  assert.equal(pre.header('access-control-allow-origin'), '*');
  assert.equal(pre.header('access-control-allow-methods'), 'GET, HEAD');
  assert.equal(pre.header('access-control-allow-headers'), 'x-token, content-type');
  assert.equal(pre.header('access-control-max-age'), '600');
  const put = await fetchOnce(
    s.port,
    request('/data.json', { method: 'OPTIONS', headers: ['Origin: http://app.example:5173', 'Access-Control-Request-Method: PUT'] }),
  );
  assert.equal(put.status, 403, 'a method the server does not answer is not offered');
  assert.equal(put.header('access-control-allow-methods'), undefined);
});

test('CORS with an origin list: the allowed origin is echoed with Vary: Origin; others get nothing', async () => {
  const s = await serve({ root, configFile: false, cors: { enabled: true, origins: ['http://app.example:5173'] } });
  const ok = await fetchOnce(s.port, request('/data.json', { headers: ['Origin: http://app.example:5173'] }));
  assert.equal(ok.header('access-control-allow-origin'), 'http://app.example:5173');
  assert.ok(ok.headerAll('vary').some((v) => /\bOrigin\b/.test(v)));
  const other = await fetchOnce(s.port, request('/data.json', { headers: ['Origin: http://evil.example'] }));
  assert.equal(other.status, 200);
  assert.equal(other.header('access-control-allow-origin'), undefined);
  assert.ok(other.headerAll('vary').some((v) => /\bOrigin\b/.test(v)), 'the answer varies by Origin even when refused');
  const pre = await fetchOnce(
    s.port,
    request('/data.json', { method: 'OPTIONS', headers: ['Origin: http://evil.example', 'Access-Control-Request-Method: GET'] }),
  );
  assert.equal(pre.status, 403);
  assert.equal(pre.header('access-control-allow-origin'), undefined);
});

test('reconfigure turns CORS and headers on and off on a running server', async () => {
  const s = await serve({ root, configFile: false });
  const origin = ['Origin: http://app.example'];
  assert.equal((await fetchOnce(s.port, request('/data.json', { headers: origin }))).header('access-control-allow-origin'), undefined);
  s.server.reconfigure({ cors: { enabled: true, origins: [] }, headers: [{ source: '*.json', headers: { 'X-Json': '1' } }] });
  const on = await fetchOnce(s.port, request('/data.json', { headers: origin }));
  assert.equal(on.header('access-control-allow-origin'), '*');
  assert.equal(on.header('x-json'), '1');
  s.server.reconfigure({ cors: { enabled: false, origins: [] }, headers: [] });
  const off = await fetchOnce(s.port, request('/data.json', { headers: origin }));
  assert.equal(off.header('access-control-allow-origin'), undefined);
  assert.equal(off.header('x-json'), undefined);
  assert.throws(() => s.server.reconfigure({ headers: [{ source: '**', headers: { 'X-A': 'a\r\nb' } }] }), /control character/);
  assert.equal((await fetchOnce(s.port, request('/data.json'))).status, 200, 'a refused reconfigure changes nothing');
});
