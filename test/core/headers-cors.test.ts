/**
 * Configured response headers (per glob and for every path), the cross-origin isolation pair,
 * and CORS (off by default; preflights answered or refused; `*` or an echoed allowed origin with
 * Vary: Origin), over real sockets. Header names and values that break the grammar never start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { ServerError } from '../../src/core';
import { rawBackend, startServer, type Running } from './harness';
import { RawClient, fetchOnce, request } from './raw-client';

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

test('a rule\'s glob matches the file the answer is read from, however the path is spelt: dot segments, doubled slashes, escaped letters', async () => {
  // helper-160's kind (a path spelt otherwise than a rule reads it): /sub/../admin/x.html read
  // admin/x.html but matched the glob as `sub/../admin/x.html`, so admin/**'s DENY was left off.
  await mkdir(join(root, 'admin'), { recursive: true });
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'admin', 'x.html'), '<!doctype html><title>admin</title><p>admin</p>');
  const s = await serve({ root, configFile: false, reload: { enabled: false }, headers: [{ source: 'admin/**', headers: { 'X-Frame-Options': 'DENY' } }] });
  for (const target of ['/admin/x.html', '/sub/../admin/x.html', '//admin/x.html', '/admin//x.html', '/%61dmin/x.html', '/admin/./x.%68tml', '/admin/x.html?q=1']) {
    const res = await fetchOnce(s.port, request(target));
    assert.equal(res.status, 200, target);
    assert.match(res.body.toString('utf8'), /<p>admin<\/p>/, target);
    assert.equal(res.header('x-frame-options'), 'DENY', `${target}: the rule for admin/** applies`);
  }
  const folder = await fetchOnce(s.port, request('/sub/../admin/'));
  assert.equal(folder.header('x-frame-options'), 'DENY', 'the folder too');
  const other = await fetchOnce(s.port, request('/admin/../index.html'));
  assert.equal(other.status, 200);
  assert.equal(other.header('x-frame-options'), undefined, 'a path resolved out of admin/ is not the rule\'s');
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
    [{ Date: 'Thu, 01 Jan 1970 00:00:00 GMT' }, /Porthole sends Date itself on every answer/],
    [{ server: 'x' }, /Porthole sends server itself on every answer/],
  ];

  for (const [headers, reason] of bad) {
    await assert.rejects(
      startServer({ root, configFile: false, headers: [{ source: '**', headers }] }),
      // The one strict validation of every option (validate-options) refuses them: EINVALIDOPTION.
      (err: unknown) => err instanceof ServerError && err.code === 'EINVALIDOPTION' && reason.test(err.message),
      JSON.stringify(headers),
    );
  }
});

test('a configured ETag or Last-Modified is refused: it gave every version and encoding of a file one validator', async () => {
  // Before: `ETag: "x"` went out on the br copy, the gzip copy and the file alike (RFC 9110 §8.8.3:
  // a strong tag names one representation), and on the file after every edit.
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ ETag: '"x"' }, /ETag is a validator Porthole sets from each file version and encoding/],
    [{ 'last-modified': 'Thu, 01 Jan 1970 00:00:00 GMT' }, /last-modified is a validator/],
  ];
  for (const [headers, reason] of cases) {
    await assert.rejects(
      startServer({ root, configFile: false, headers: [{ source: '**', headers }] }),
      (err: unknown) => err instanceof ServerError && err.code === 'EINVALIDOPTION' && reason.test(err.message),
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

test('a configured origin is compared as a browser serializes it: default port, case, IDNA and IP spellings; a user name is refused', async () => {
  // Each configured spelling, and the Origin a browser sends for a page at it (WHATWG HTML §7.1.1).
  const cases: Array<[string, string]> = [
    ['http://localhost:80', 'http://localhost'],
    ['https://app.example:443', 'https://app.example'],
    ['HTTP://App.Example:05173', 'http://app.example:5173'],
    ['http://127.1:5173', 'http://127.0.0.1:5173'],
    ['http://[0:0::1]:5173', 'http://[::1]:5173'],
    ['http://café.example', 'http://xn--caf-dma.example'],
  ];
  const s = await serve({ root, configFile: false, cors: { enabled: true, origins: cases.map(([configured]) => configured) } });
  for (const [configured, sent] of cases) {
    const res = await fetchOnce(s.port, request('/data.json', { headers: [`Origin: ${sent}`] }));
    assert.equal(res.header('access-control-allow-origin'), sent, `${configured} lets ${sent} read`);
    const pre = await fetchOnce(s.port, request('/data.json', { method: 'OPTIONS', headers: [`Origin: ${sent}`, 'Access-Control-Request-Method: GET'] }));
    assert.equal(pre.status, 204, `${configured}: the preflight from ${sent}`);
  }
  await assert.rejects(
    startServer({ root, configFile: false, cors: { enabled: true, origins: ['http://user@app.example:5173'] } }),
    (err: unknown) => err instanceof ServerError && /cors\.origins.*user name/.test(err.message),
  );
});

test('a configured Vary is kept beside the Vary: Origin of a CORS origin list (a list: added, never replaced)', async () => {
  const s = await serve({
    root,
    configFile: false,
    headers: [{ source: '**', headers: { Vary: 'Cookie' } }],
    cors: { enabled: true, origins: ['http://app.example:5173'] },
  });
  for (const origin of ['http://app.example:5173', 'http://other.example', undefined]) {
    const res = await fetchOnce(s.port, request('/data.json', { headers: origin === undefined ? [] : [`Origin: ${origin}`] }));
    const varied = res.headerAll('vary').flatMap((v) => v.split(',').map((t) => t.trim().toLowerCase()));
    assert.ok(varied.includes('cookie'), `Origin ${origin ?? '(none)'}: the configured Vary: Cookie is sent (Vary: ${res.headerAll('vary').join(' | ')})`);
    assert.ok(varied.includes('origin'), `Origin ${origin ?? '(none)'}: Vary names Origin (Vary: ${res.headerAll('vary').join(' | ')})`);
  }
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

const CORS_FETCH = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: cors', 'Sec-Fetch-Dest: empty'];
const SCRIPT_LOAD = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script'];

test('a cached file or page with configured headers: every answer has its own origin, Connection and Vary, in any order of requests', async () => {
  // The configured list and the head merged with it are kept and reused (ResponsePolicy's lists,
  // the connection's merged heads): each answer must still be the one its request asked for.
  const A = 'http://app.example:5173';
  const B = 'http://b.example:8080';
  const s = await serve({
    root,
    configFile: false,
    reload: { enabled: true, watch: false },
    crossOriginIsolation: true,
    headers: [{ source: '**', headers: { 'X-Frame-Options': 'DENY' } }, { source: '*.json', headers: { 'Cache-Control': 'max-age=5' } }],
    cors: { enabled: true, origins: [A, B] },
  });
  const navigation = ['Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: document'];
  for (let round = 0; round < 3; round++) {
    for (const path of ['/index.html', '/data.json', '/index.html']) {
      for (const origin of [A, B, 'http://evil.example', undefined, A]) {
        for (const connection of ['keep-alive', 'close', '1.0'] as const) {
          const headers = [...(origin === undefined ? [] : [`Origin: ${origin}`]), ...(round === 1 && path === '/index.html' ? navigation : [])];
          if (connection === 'close') headers.push('Connection: close');
          const what = `${path} from ${origin ?? '(no Origin)'}, ${connection}, round ${round}`;
          const res = await fetchOnce(s.port, request(path, { headers, version: connection === '1.0' ? '1.0' : '1.1' }));
          assert.equal(res.status, 200, what);
          assert.equal(res.header('access-control-allow-origin'), origin === A || origin === B ? origin : undefined, what);
          assert.deepEqual(res.headerAll('x-frame-options'), ['DENY'], what);
          assert.deepEqual(res.headerAll('cross-origin-opener-policy'), ['same-origin'], what);
          assert.deepEqual(res.headerAll('cache-control'), path === '/data.json' ? ['max-age=5'] : ['no-cache'], what);
          assert.equal(res.headerAll('connection').join(), connection === 'keep-alive' ? '' : connection === 'close' ? 'close' : 'close', what);
          const vary = res.headerAll('vary');
          assert.equal(vary.length, 1, `${what}: one Vary field (${vary.join(' | ')})`);
          const varied = vary[0]!.split(',').map((t) => t.trim().toLowerCase());
          for (const name of ['origin', ...(path === '/index.html' ? ['sec-fetch-dest', 'sec-fetch-mode'] : [])]) {
            assert.ok(varied.includes(name), `${what}: Vary names ${name} (${vary[0]})`);
          }
          assert.equal(res.body.toString('utf8').includes('<p>index</p>'), path === '/index.html', what);
          assert.equal(res.body.toString('utf8').includes('/__porthole/'), round === 1 && path === '/index.html', `${what}: the live-reload client only in a navigation`);
        }
      }
    }
  }
});

test('a CORS fetch from an origin --cors allows is answered, not refused as a cross-site load; others still are', async () => {
  const app = 'Origin: http://app.example:5173';
  const s = await serve({ root, configFile: false, cors: { enabled: true, origins: ['http://app.example:5173'] } });
  const allowed = await fetchOnce(s.port, request('/data.json', { headers: [app, ...CORS_FETCH] }));
  assert.equal(allowed.status, 200, 'CORS allows this origin: the cross-site rule must not refuse it');
  assert.equal(allowed.header('access-control-allow-origin'), 'http://app.example:5173');
  assert.equal(allowed.body.toString(), '{"a":1}');
  const other = await fetchOnce(s.port, request('/data.json', { headers: ['Origin: http://evil.example', ...CORS_FETCH] }));
  assert.equal(other.status, 403, 'an origin CORS does not allow is still a refused cross-site load');
  assert.equal(other.header('access-control-allow-origin'), undefined);
  const script = await fetchOnce(s.port, request('/data.json', { headers: [app, ...SCRIPT_LOAD] }));
  assert.equal(script.status, 403, 'a no-cors load (<script src>) is no CORS request, whatever its Origin');
  const preflight = await fetchOnce(
    s.port,
    request('/data.json', { method: 'OPTIONS', headers: [app, 'Access-Control-Request-Method: GET', ...CORS_FETCH] }),
  );
  assert.equal(preflight.status, 204, 'the preflight of an allowed origin is answered');
  // CORS off: the same fetch is a refused cross-site load, as before.
  const off = await serve({ root, configFile: false });
  assert.equal((await fetchOnce(off.port, request('/data.json', { headers: [app, ...CORS_FETCH] }))).status, 403);
  // Any origin allowed (`*`): every CORS fetch is answered.
  const any = await serve({ root, configFile: false, cors: { enabled: true } });
  const anyAnswer = await fetchOnce(any.port, request('/data.json', { headers: ['Origin: http://other.example', ...CORS_FETCH] }));
  assert.equal(anyAnswer.status, 200);
  assert.equal(anyAnswer.header('access-control-allow-origin'), '*');
});

test('configured headers reach refusals, cached files and the 101 of a WebSocket upgrade; a configured CORP replaces the default', async () => {
  const s = await serve({
    root,
    configFile: false,
    headers: [{ source: '**', headers: { 'X-Everywhere': 'yes', 'Cross-Origin-Resource-Policy': 'cross-origin' } }],
  });
  const refused = await fetchOnce(s.port, request('/data.json', { headers: SCRIPT_LOAD }));
  assert.equal(refused.status, 403);
  assert.equal(refused.header('x-everywhere'), 'yes');
  await fetchOnce(s.port, request('/data.json'));
  const cached = await fetchOnce(s.port, request('/data.json'));
  assert.equal(cached.header('x-everywhere'), 'yes');
  assert.deepEqual(cached.headerAll('cross-origin-resource-policy'), ['cross-origin'], 'one CORP, the configured one');
  const head = await new Promise<string>((resolve, reject) => {
    const socket = connect(s.port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no 101 head within 5 s'));
    }, 5000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.write(
      `GET /__porthole/socket HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${s.port}\r\n\r\n`,
    );
  });
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.match(head, /\r\nX-Everywhere: yes(\r\n|$)/i);
});

test('a configured Content-Encoding never relabels an answer\'s own encoded body nor an error\'s page; Content-Range, Accept-Ranges and Allow are refused at start', async () => {
  // `--header 'Content-Encoding: identity'` replaced the gzip of a compressed copy: gzip bytes
  // labelled identity, which a browser shows as garbage (RFC 9110 §8.4: the coding says how to decode).
  const text = `${'h1 { color: red }\n'.repeat(200)}`;
  await writeFile(join(root, 'coded.css'), text); // compressed on the fly
  await writeFile(join(root, 'small.bin'), 'raw');
  const s = await serve({ root, configFile: false, headers: [{ source: '**', headers: { 'Content-Encoding': 'identity', 'X-Everywhere': 'yes' } }] });
  for (const coding of ['gzip', 'br']) {
    const res = await fetchOnce(s.port, request('/coded.css', { headers: [`Accept-Encoding: ${coding}`] }));
    assert.equal(res.status, 200);
    assert.deepEqual(res.headerAll('content-encoding'), [coding], `${coding}: the answer's own coding, alone`);
    assert.equal(res.header('x-everywhere'), 'yes', 'the other configured headers still come');
    const decoded = coding === 'gzip' ? gunzipSync(res.body) : brotliDecompressSync(res.body);
    assert.equal(decoded.toString(), text);
  }
  // An answer without a coding of its own still gets the configured label (files stored encoded under another name).
  assert.deepEqual((await fetchOnce(s.port, request('/small.bin'))).headerAll('content-encoding'), ['identity']);
  // An error's page is Porthole's own, never stored encoded: no configured label (helper-171: a
  // rule for `**` with gzip made the 404 page undecodable), a prepared 404 and one made per request alike.
  const gzipped = await serve({ root, configFile: false, headers: [{ source: '**', headers: { 'Content-Encoding': 'gzip', 'X-Everywhere': 'yes' } }] });
  for (const [target, status] of [['/missing.txt.gz', 404], ['/missing.txt.gz', 404], ['/small.bin', 405], ['/%zz', 400]] as const) {
    const res = await fetchOnce(gzipped.port, request(target, status === 405 ? { method: 'DELETE' } : {}));
    assert.equal(res.status, status, target);
    assert.deepEqual(res.headerAll('content-encoding'), [], `${target} ${status}: no configured coding on an error's page`);
    assert.equal(res.header('x-everywhere'), 'yes', `${target} ${status}: the other configured headers still come`);
  }
  assert.deepEqual((await fetchOnce(gzipped.port, request('/small.bin'))).headerAll('content-encoding'), ['gzip'], 'a file still gets it');
  for (const [name, value, said] of [
    ['Content-Range', 'bytes 0-1/2', /Content-Range says which bytes/],
    ['Accept-Ranges', 'none', /Accept-Ranges says whether the answer's resource takes Range requests/],
    ['Allow', 'GET', /Allow lists the methods the target takes/],
    ['Location', '/elsewhere', /Location says where a redirect goes/],
  ] as const) {
    await assert.rejects(
      startServer({ root, configFile: false, headers: [{ source: '**', headers: { [name]: value } }] }),
      (err: unknown) => err instanceof ServerError && err.code === 'EINVALIDOPTION' && said.test(err.message),
      name,
    );
  }
});

test('a file a rule labels Content-Encoding goes as it is stored, never compressed again; a multipart 206 keeps its own Content-Type; a redirect gets no configured coding (helper-173)', async () => {
  // gzip bytes of 9 KB of JSON, stored under the plain name (a Unity-style build).
  const json = JSON.stringify({ rows: Array.from({ length: 400 }, (_, i) => ({ id: i, name: `row ${i}` })) });
  const stored = gzipSync(json);
  await writeFile(join(root, 'stored.json'), stored);
  await mkdir(join(root, 'folder'), { recursive: true });
  await writeFile(join(root, 'ranges.txt'), 'x'.repeat(4000));
  const s = await serve({
    root,
    configFile: false,
    headers: [
      { source: '/stored.json', headers: { 'Content-Encoding': 'gzip' } },
      { source: '**/*.txt', headers: { 'Content-Type': 'text/plain; charset=utf-8' } },
      { source: '/folder', headers: { 'Content-Encoding': 'gzip' } },
    ],
  });
  // Twice each: the first read from disk, the second from the file cache.
  for (const accept of ['br', 'gzip', 'gzip, br', 'br', undefined]) {
    const res = await fetchOnce(s.port, request('/stored.json', accept === undefined ? {} : { headers: [`Accept-Encoding: ${accept}`] }));
    assert.equal(res.status, 200, String(accept));
    assert.deepEqual(res.headerAll('content-encoding'), ['gzip'], `${accept}: the configured label alone`);
    assert.ok(res.body.equals(stored), `${accept}: the stored bytes, not compressed once more`);
    assert.equal(gunzipSync(res.body).toString('utf8'), json);
  }
  const multi = await fetchOnce(s.port, request('/ranges.txt', { headers: ['Range: bytes=0-3,100-103'] }));
  assert.equal(multi.status, 206);
  assert.match(multi.header('content-type') ?? '', /^multipart\/byteranges; boundary=/, 'the parts are framed by their boundary');
  const one = await fetchOnce(s.port, request('/ranges.txt', { headers: ['Range: bytes=0-3'] }));
  assert.equal(one.header('content-type'), 'text/plain; charset=utf-8', 'a single range is the file\'s part: the configured type');
  const redirect = await fetchOnce(s.port, request('/folder'));
  assert.equal(redirect.status, 301);
  assert.deepEqual(redirect.headerAll('content-encoding'), [], 'a redirect\'s page is Porthole\'s own');
});

test('a body Porthole writes itself (a folder listing, the live-reload client and its event stream) gets no configured Content-Encoding, and a page labelled with one takes no live-reload tag', async () => {
  // A rule for `**` with gzip (a site whose files are all stored gzipped) labelled the listing and
  // the client script gzip, which no browser could decode; and the tag spliced into a page's gzip
  // bytes made them undecodable.
  const page = '<!doctype html><html><head><title>t</title></head><body><p>stored</p></body></html>';
  await mkdir(join(root, 'coded'), { recursive: true });
  await writeFile(join(root, 'coded', 'page.html'), gzipSync(page));
  await mkdir(join(root, 'coded', 'listed'), { recursive: true });
  await writeFile(join(root, 'coded', 'listed', 'a.txt.gz'), gzipSync('a'));
  const s = await serve({ root, configFile: false, listing: true, reload: { enabled: true }, headers: [{ source: '**', headers: { 'Content-Encoding': 'gzip', 'X-Everywhere': 'yes' } }] });
  const nav = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];
  for (let i = 0; i < 2; i++) {
    // Twice: the second comes from the file cache (a prepared head).
    const stored = await fetchOnce(s.port, request('/coded/page.html', { headers: nav }));
    assert.equal(stored.status, 200);
    assert.deepEqual(stored.headerAll('content-encoding'), ['gzip'], 'the stored page keeps its label');
    assert.equal(gunzipSync(stored.body).toString('utf8'), page, 'its bytes as stored: no tag spliced in');
  }
  const listing = await fetchOnce(s.port, request('/coded/listed/', { headers: nav }));
  assert.equal(listing.status, 200);
  assert.deepEqual(listing.headerAll('content-encoding'), [], 'a listing is Porthole\'s own page');
  assert.match(listing.body.toString('utf8'), /a\.txt\.gz/);
  assert.equal(listing.header('x-everywhere'), 'yes', 'the other configured headers still come');
  for (let i = 0; i < 2; i++) {
    const client = await fetchOnce(s.port, request('/__porthole/client.js'));
    assert.equal(client.status, 200);
    assert.deepEqual(client.headerAll('content-encoding'), [], 'the client script is Porthole\'s own');
    assert.match(client.body.subarray(0, 4096).toString('utf8'), /\S/);
    assert.notEqual(client.body[0], 0x1f, 'not gzip bytes');
  }
});

test('configured representation fields describe the file: never a decoded answer\'s coding, an error\'s page, a 304 or a body Porthole writes (helper-176)', async () => {
  const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  await writeFile(join(root, 'x.wasm.gz'), gzipSync(wasm));
  await writeFile(join(root, 'notes.txt'), 'plain notes\n');
  await writeFile(join(root, 'script.js'), `${'let x = 1;\n'.repeat(300)}`); // compressed on the fly
  await writeFile(join(root, '404.html'), '<!doctype html><title>none</title><p>not here</p>');
  const s = await serve({
    root,
    configFile: false,
    headers: [
      { source: '**/*.gz', headers: { 'Content-Encoding': 'gzip' } },
      { source: '**/*.txt', headers: { 'Content-Type': 'text/plain; charset=iso-8859-1', 'Content-Language': 'fr', 'Content-Disposition': 'inline; filename="d.txt"', 'X-Everywhere': 'yes' } },
      { source: '**/*.js', headers: { 'Content-Encoding': 'identity' } },
    ],
  });
  // A client that does not accept gzip gets the stored file decoded: no coding label on it.
  for (const method of ['GET', 'HEAD', 'GET']) {
    const decoded = await fetchOnce(s.port, request('/x.wasm.gz', { method }), { head: method === 'HEAD' });
    assert.equal(decoded.status, 200, method);
    assert.deepEqual(decoded.headerAll('content-encoding'), [], `${method}: decoded bytes carry no coding`);
    if (method === 'GET') assert.ok(decoded.body.equals(wasm));
  }
  // The site's 404.html, a 405 and a 416 for a .txt path are not the .txt file the rule describes.
  for (const [target, status, method, headers] of [
    ['/nope.txt', 404, 'GET', []],
    ['/notes.txt', 405, 'DELETE', []],
    ['/notes.txt', 416, 'GET', ['Range: bytes=999-']],
  ] as const) {
    const res = await fetchOnce(s.port, request(target, { method, headers: [...headers] }));
    assert.equal(res.status, status, target);
    assert.doesNotMatch(res.header('content-type') ?? '', /iso-8859-1/, `${status}: its own type`);
    assert.deepEqual(res.headerAll('content-language'), [], `${status}: no configured language`);
    assert.deepEqual(res.headerAll('content-disposition'), [], `${status}: no configured disposition`);
    assert.equal(res.header('x-everywhere'), 'yes', `${status}: the other configured headers still come`);
  }
  const file = await fetchOnce(s.port, request('/notes.txt'));
  assert.equal(file.header('content-type'), 'text/plain; charset=iso-8859-1', 'the file gets them');
  assert.equal(file.header('content-language'), 'fr');
  // A 304 carries no representation metadata (RFC 9110 §15.4.5): a cache would relabel its stored gzip 200.
  const gz = await fetchOnce(s.port, request('/script.js', { headers: ['Accept-Encoding: gzip'] }));
  assert.deepEqual(gz.headerAll('content-encoding'), ['gzip']);
  const etag = gz.header('etag') ?? '';
  for (let i = 0; i < 2; i++) {
    const fresh = await fetchOnce(s.port, request('/script.js', { headers: ['Accept-Encoding: gzip', `If-None-Match: ${etag}`] }));
    assert.equal(fresh.status, 304);
    assert.deepEqual(fresh.headerAll('content-encoding'), [], 'no configured identity on the 304');
  }
  const notesTag = file.header('etag') ?? '';
  const notModified = await fetchOnce(s.port, request('/notes.txt', { headers: [`If-None-Match: ${notesTag}`] }));
  assert.equal(notModified.status, 304);
  assert.deepEqual([notModified.headerAll('content-type'), notModified.headerAll('content-language')], [[], []]);
});

test('many ranges of a coded file get the whole file (200), and each part of a multi-range 206 says the configured type (helper-176)', async () => {
  const stored = gzipSync(Buffer.from(`${'w'.repeat(3000)}`));
  await writeFile(join(root, 'm.wasm.gz'), stored);
  await writeFile(join(root, 'labelled.js'), stored);
  await writeFile(join(root, 'parts.txt'), 'p'.repeat(2000));
  const s = await serve({
    root,
    configFile: false,
    headers: [
      { source: '/labelled.js', headers: { 'Content-Encoding': 'gzip' } },
      { source: '**/parts.txt', headers: { 'Content-Type': 'text/plain; charset=iso-8859-1' } },
    ],
  });
  for (const target of ['/m.wasm.gz', '/labelled.js']) {
    for (let i = 0; i < 2; i++) {
      const res = await fetchOnce(s.port, request(target, { headers: ['Accept-Encoding: gzip', 'Range: bytes=0-3,10-13'] }));
      assert.equal(res.status, 200, `${target}: the Range is ignored`);
      assert.deepEqual(res.headerAll('content-encoding'), ['gzip'], target);
      assert.ok(res.body.equals(stored), `${target}: the stored gzip bytes, whole`);
    }
    const one = await fetchOnce(s.port, request(target, { headers: ['Accept-Encoding: gzip', 'Range: bytes=0-3'] }));
    assert.equal(one.status, 206, `${target}: one range of the coded bytes is still a 206`);
    assert.ok(one.body.equals(stored.subarray(0, 4)));
  }
  const multi = await fetchOnce(s.port, request('/parts.txt', { headers: ['Range: bytes=0-1,5-6'] }));
  assert.equal(multi.status, 206);
  const partTypes = multi.body.toString('latin1').match(/^Content-Type: .*$/gm) ?? [];
  assert.deepEqual(partTypes, ['Content-Type: text/plain; charset=iso-8859-1', 'Content-Type: text/plain; charset=iso-8859-1']);
});

test('Vary from several rules is one list; a configured Set-Cookie is set beside a back-end\'s cookies; a name twice in a rule, a padded value, an empty Content-Type are refused (helper-176)', async () => {
  await writeFile(join(root, 'lang.txt'), 'text\n');
  const back = await rawBackend((_target, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: sid=1\r\nSet-Cookie: csrf=2\r\nContent-Length: 2\r\n\r\nok');
  });
  try {
    const s = await serve({
      root,
      configFile: false,
      headers: [
        { source: '**', headers: { Vary: 'Cookie', 'Set-Cookie': 'cfg=1' } },
        { source: '**/*.txt', headers: { vary: 'Accept-Language', 'Set-Cookie': 'txt=1' } },
      ],
      proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${back.port}` }] },
    });
    const file = await fetchOnce(s.port, request('/lang.txt'));
    const vary = file.headerAll('vary').join(', ').toLowerCase();
    assert.match(vary, /cookie/, 'the ** rule\'s Vary is kept');
    assert.match(vary, /accept-language/, 'the *.txt rule\'s Vary too');
    assert.deepEqual(file.headerAll('set-cookie').sort(), ['cfg=1', 'txt=1'], 'each rule\'s cookie');
    const proxied = await fetchOnce(s.port, request('/api/x'));
    assert.equal(proxied.status, 200);
    assert.deepEqual(proxied.headerAll('set-cookie').sort(), ['cfg=1', 'csrf=2', 'sid=1'], 'the back-end\'s cookies are kept');
  } finally {
    await new Promise<void>((resolve) => back.server.close(() => resolve()));
  }
  for (const [headers, said] of [
    [{ 'X-A': '1', 'x-a': '2' }, /X-A and x-a name one field/],
    [{ 'X-P': ' padded ' }, /begins or ends with a space or tab/],
    [{ 'Content-Type': '' }, /Content-Type is empty/],
  ] as const) {
    await assert.rejects(
      startServer({ root, configFile: false, headers: [{ source: '**', headers: { ...headers } }] }),
      (err: unknown) => err instanceof ServerError && (err.code === 'EINVALIDOPTION' || err.code === 'EOPTIONS') && said.test(err.message),
      JSON.stringify(headers),
    );
  }
});

test('a preflight\'s decision is its own: configured Access-Control-Allow-Methods/-Headers never replace it (helper-176)', async () => {
  const s = await serve({
    root,
    configFile: false,
    cors: { enabled: true },
    headers: [{ source: '**', headers: { 'Access-Control-Allow-Headers': 'X-Token', 'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE', 'Access-Control-Expose-Headers': 'X-Own' } }],
  });
  const preflight = (method: string, asked?: string): Promise<Awaited<ReturnType<typeof fetchOnce>>> =>
    fetchOnce(s.port, request('/data.json', { method: 'OPTIONS', headers: ['Origin: http://app.example:5173', `Access-Control-Request-Method: ${method}`, ...(asked === undefined ? [] : [`Access-Control-Request-Headers: ${asked}`])] }));
  const pre = await preflight('GET', 'x-other');
  assert.equal(pre.status, 204);
  assert.deepEqual(pre.headerAll('access-control-allow-headers'), ['x-other'], 'the asked header, as decided');
  assert.deepEqual(pre.headerAll('access-control-allow-methods'), ['GET, HEAD'], 'the methods the files answer');
  const put = await preflight('PUT');
  assert.equal(put.status, 403);
  assert.deepEqual(put.headerAll('access-control-allow-methods'), [], 'a refusal offers no methods');
  const get = await fetchOnce(s.port, request('/data.json', { headers: ['Origin: http://app.example:5173'] }));
  assert.equal(get.header('access-control-expose-headers'), 'X-Own', 'configured CORS fields still go on answers');
});

test('answers that differ for a navigation say Vary whatever the URL and the rules; Porthole\'s own OPTIONS and event stream keep their own fields (helper-178)', async () => {
  await mkdir(join(root, 'vary-listed'), { recursive: true });
  await writeFile(join(root, 'vary-listed', 'a.txt'), 'a');
  const nav = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];
  for (const withSite404 of [false, true]) {
    const site = await mkdtemp(join(tmpdir(), 'porthole-vary-'));
    try {
      await mkdir(join(site, 'sub'));
      if (withSite404) await writeFile(join(site, '404.html'), '<!doctype html><title>none</title><p>not here</p>');
      const s = await serve({
        root: site,
        configFile: false,
        listing: true,
        reload: { enabled: true },
        headers: [
          { source: '**', headers: { 'Content-Encoding': 'gzip', 'Cache-Control': 'max-age=7' } },
          { source: '**/*.txt', headers: { 'Content-Type': 'text/plain; charset=iso-8859-1' } },
        ],
      });
      for (const target of ['/nope.txt', '/nope', '/sub/']) {
        for (const headers of [nav, []]) {
          const res = await fetchOnce(s.port, request(target, { headers: [...headers] }));
          assert.match(res.headerAll('vary').join(', '), /Sec-Fetch-Dest/, `${target} ${headers.length > 0 ? 'navigation' : 'fetch'} (site 404: ${withSite404})`);
        }
      }
      const options = await fetchOnce(s.port, request('/x.txt', { method: 'OPTIONS' }));
      assert.equal(options.status, 204);
      assert.deepEqual([options.headerAll('content-type'), options.headerAll('content-encoding')], [[], []], 'no configured representation field on OPTIONS');
      const client = await RawClient.connect(s.port);
      try {
        await client.write(request('/__porthole/events', { headers: ['Accept: text/event-stream'] }));
        const head = (await client.readBytes(150, 5_000)).toString('latin1');
        assert.match(head, /^HTTP\/1\.1 200 /);
        assert.match(head, /\r\nCache-Control: no-cache, no-transform\r\n/, head);
        assert.doesNotMatch(head, /max-age=7/);
      } finally {
        client.destroy();
      }
    } finally {
      await rm(site, { recursive: true, force: true });
    }
  }
});

test('a file\'s entity tag names its configured representation: another Content-Type is another tag, so a revalidation after a rule\'s edit gets the new type (helper-178)', async () => {
  await writeFile(join(root, 'tagged.css'), `${'b { color: red }\n'.repeat(100)}`);
  const plain = await serve({ root, configFile: false });
  const typed = await serve({ root, configFile: false, headers: [{ source: '**/*.css', headers: { 'Content-Type': 'text/plain', 'X-Other': 'not a representation field' } }] });
  const other = await serve({ root, configFile: false, headers: [{ source: '**/*.css', headers: { 'X-Other': 'only this' } }] });
  const tagOf = async (port: number, headers: string[] = []): Promise<string> => (await fetchOnce(port, request('/tagged.css', { headers }))).header('etag') ?? '';
  const [plainTag, typedTag, otherTag] = [await tagOf(plain.port), await tagOf(typed.port), await tagOf(other.port)];
  assert.notEqual(typedTag, plainTag, 'a configured Content-Type makes another representation');
  assert.equal(otherTag, plainTag, 'a field that describes no representation changes no tag');
  for (const [s, own, foreign] of [[typed, typedTag, plainTag], [plain, plainTag, typedTag]] as const) {
    for (const encoding of [[], ['Accept-Encoding: gzip']]) {
      for (let i = 0; i < 2; i++) {
        // Twice: the first from disk, the second from the file cache (a prepared 304).
        const ownTag = encoding.length === 0 ? own : await tagOf(s.port, encoding);
        const again = await fetchOnce(s.port, request('/tagged.css', { headers: [...encoding, `If-None-Match: ${ownTag}`] }));
        assert.equal(again.status, 304, `its own tag ${ownTag}`);
        assert.equal(again.header('etag'), ownTag, 'the 304 names the same tag');
        const stale = await fetchOnce(s.port, request('/tagged.css', { headers: [...encoding, `If-None-Match: ${foreign}`] }));
        assert.equal(stale.status, 200, `the other configuration's tag ${foreign}`);
      }
    }
  }
  const ranged = await fetchOnce(typed.port, request('/tagged.css', { headers: [`If-Range: ${typedTag}`, 'Range: bytes=0-3'] }));
  assert.equal(ranged.status, 206, 'If-Range with the tag as sent');
});

test('a configured Cache-Control never makes a 412 or 416 storable: they answer one request’s own conditions (no-store)', async () => {
  // With `--header 'Cache-Control: max-age=60'` a 412 (If-Match) and a 416 (Range) went out with
  // max-age=60: storable (RFC 9111 §3), and a cache keys by URL, not by If-Match or Range, so it
  // could answer every plain GET of the file with that 412 or 416 for a minute.
  await writeFile(join(root, 'style.css'), `${'p { margin: 0 }\n'.repeat(200)}`); // compressed on the fly
  const s = await serve({
    root,
    configFile: false,
    headers: [{ source: '**', headers: { 'Cache-Control': 'max-age=60', 'X-Everywhere': 'yes' } }],
  });
  const cases: Array<[string, string[], number]> = [
    ['/data.json', ['If-Match: "other"'], 412],
    ['/data.json', ['If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT'], 412],
    ['/data.json', ['Range: bytes=500-'], 416],
    // The encoding chosen first: a 412 decided from a compressed copy's validators alone.
    ['/style.css', ['Accept-Encoding: gzip', 'If-Match: "other"'], 412],
    ['/style.css', ['Accept-Encoding: gzip', 'Range: bytes=99999-'], 416],
  ];
  for (const [path, headers, status] of cases) {
    for (let i = 0; i < 2; i++) {
      // Twice: the second comes from the file cache.
      const res = await fetchOnce(s.port, request(path, { headers }));
      const what = `${path} ${headers.join(', ')}`;
      assert.equal(res.status, status, what);
      assert.deepEqual(res.headerAll('cache-control'), ['no-store'], what);
      assert.equal(res.header('x-everywhere'), 'yes', `${what}: the other configured headers still come`);
      if (path === '/style.css') assert.equal(res.header('vary'), 'Accept-Encoding', what);
      if (status === 416) assert.match(res.header('content-range') ?? '', /^bytes \*\/\d+$/, what);
    }
  }
  // The answers a cache should keep still carry the configured field: 200, 206 and 304.
  const full = await fetchOnce(s.port, request('/data.json'));
  assert.equal(full.header('cache-control'), 'max-age=60');
  assert.equal((await fetchOnce(s.port, request('/data.json', { headers: ['Range: bytes=0-1'] }))).header('cache-control'), 'max-age=60');
  const etag = full.header('etag') ?? '';
  const notModified = await fetchOnce(s.port, request('/data.json', { headers: [`If-None-Match: ${etag}`] }));
  assert.equal(notModified.status, 304);
  assert.equal(notModified.header('cache-control'), 'max-age=60');
});
