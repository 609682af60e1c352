/**
 * Proxied pages and the live-reload tag: a page whose Content-Type names an encoding in which
 * ASCII bytes are not ASCII text (UTF-16, ISO-2022-JP, the replacement encodings) is passed on
 * byte for byte (an ASCII tag spliced in corrupted it: Chromium showed `猼牣灩…` and ran no
 * script); ASCII-compatible labels are injected. A proxied page whose parse is pathological is
 * planned off the server's thread like a file: other requests are answered meanwhile.
 * Real sockets: a raw `net` back-end, the server over TCP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { makeSite, type Site } from '../fixtures/make-site';
import { rawBackend, startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

const NAV = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];
const PAGE = '<!doctype html><html><head><title>t</title></head><body><p>page</p></body></html>';
// Pathological before its body begins (inside a template in the head), where the tag's place is
// decided: a page so only in its body is planned from its head alone (earlyDocument).
const NESTED = `<!doctype html><head><template>${'<div>'.repeat(200_000)}`;

/** Path → [Content-Type, body] the back-end answers with. */
const pages = new Map<string, [string, Buffer]>([
  ['/api/utf16le', ['text/html; charset=utf-16le', Buffer.from(PAGE, 'utf16le')]],
  ['/api/utf16', ['text/html;charset="UTF-16"', Buffer.from(PAGE, 'utf16le')]],
  ['/api/unicode', ['text/html; Charset=unicode', Buffer.from(PAGE, 'utf16le')]],
  ['/api/utf16be', ['text/html; charset=unicodeFFFE', Buffer.from(PAGE, 'utf16le').swap16()]],
  ['/api/jis', ['text/html; charset=iso-2022-jp', Buffer.from(PAGE, 'latin1')]],
  ['/api/kr', ['text/html; charset=csiso2022kr', Buffer.from(PAGE, 'latin1')]],
  // Fetch's "extract a MIME type" takes the last value: every charset named must pass.
  ['/api/two-types', ['text/html; charset=utf-8\r\nContent-Type: text/html; charset=iso-2022-jp', Buffer.from(PAGE, 'latin1')]],
  ['/api/type-list', ['text/html; charset=iso-2022-jp, text/html', Buffer.from(PAGE, 'latin1')]],
  ['/api/quoted', ['text/html; x="a;charset=utf-8"; charset=utf-16le', Buffer.from(PAGE, 'utf16le')]],
  ['/api/latin', ['text/html; charset=windows-1252', Buffer.from(PAGE, 'latin1')]],
  ['/api/utf8', ['text/html; charset=utf-8', Buffer.from(PAGE, 'utf8')]],
  ['/api/none', ['text/html', Buffer.from(PAGE, 'utf8')]],
  ['/api/nested', ['text/html', Buffer.from(NESTED, 'latin1')]],
]);

let site: Site;
let backend: Server;
let backendPort: number;
let srv: Running;

before(async () => {
  site = await makeSite();
  const back = await rawBackend((target, socket) => {
    const [type, body] = pages.get(target) ?? ['text/plain', Buffer.from('none\n')];
    socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
  });
  backend = back.server;
  backendPort = back.port;
  srv = await startServer({ root: site.root, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${back.port}` }] } });
});

after(async () => {
  await srv.close();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  await site.cleanup();
});

test('a proxied page labelled UTF-16, ISO-2022-JP or a replacement encoding is passed on byte for byte, with the reason', async () => {
  for (const path of ['/api/utf16le', '/api/utf16', '/api/unicode', '/api/utf16be', '/api/jis', '/api/kr', '/api/two-types', '/api/type-list', '/api/quoted']) {
    const res = await fetchOnce(srv.port, request(path, { headers: NAV }));
    assert.equal(res.status, 200, path);
    assert.ok(res.body.equals(pages.get(path)?.[1] ?? Buffer.alloc(0)), `${path}: the back-end's bytes`);
    const record = srv.records.filter((r) => r.target === path).at(-1);
    assert.match(record?.note ?? '', /not ASCII-compatible/, path);
  }
});

test('a proxied page in an ASCII-compatible encoding (or none named) gets the tag', async () => {
  for (const path of ['/api/latin', '/api/utf8', '/api/none']) {
    const res = await fetchOnce(srv.port, request(path, { headers: NAV }));
    assert.match(res.body.toString('latin1'), /data-porthole-client/, path);
  }
});

test('a proxied page whose parse is pathological: other requests are answered first; it comes as it is', async () => {
  const order: string[] = [];
  const page = fetchOnce(srv.port, request('/api/nested', { headers: NAV }), { timeoutMs: 30_000 }).then((r) => {
    order.push('page');
    return r;
  });
  for (let i = 0; i < 3; i++) {
    assert.equal((await fetchOnce(srv.port, request('/api/utf8'))).status, 200);
    order.push('other');
  }
  const answer = await page;
  assert.deepEqual(order, ['other', 'other', 'other', 'page']);
  assert.ok(answer.body.equals(pages.get('/api/nested')?.[1] ?? Buffer.alloc(0)));
  assert.match(srv.records.filter((r) => r.target === '/api/nested').at(-1)?.note ?? '', /could not be parsed within/);
});

test('a proxied page declaring a non-ASCII-compatible encoding in its own bytes (meta, anywhere) is passed on as it is', async () => {
  const path = '/api/meta-jis';
  const body = Buffer.from(`<!doctype html><html><head><meta/charset="ISO-2022-JP"><title>t</title></head><body><p>\u001b$B$3$s$K$A$O</p></body></html>`, 'latin1');
  pages.set(path, ['text/html', body]);
  const late = '/api/late-meta';
  const lateBody = Buffer.from(`<!doctype html><html><head><title>t</title><!--${'x'.repeat(2000)}--><meta http-equiv="Content-Type" content="text/html; charset=iso-2022-jp"></head><body>x</body></html>`, 'latin1');
  pages.set(late, ['text/html', lateBody]);
  for (const [p, bytes] of [[path, body], [late, lateBody]] as const) {
    const res = await fetchOnce(srv.port, request(p, { headers: NAV }));
    assert.ok(res.body.equals(bytes), `${p}: the back-end's bytes`);
  }
});

test("a proxied page whose own meta says UTF-16 gets the tag: a meta's UTF-16 is read as UTF-8 (HTML §13.2.3.2, §13.2.3.4)", async () => {
  // Word's "charset=unicode", kept by a page converted to UTF-8 or a legacy encoding; the browser
  // never reads the page as UTF-16 for it. It went out without the client, never reloading.
  const path = '/api/meta-utf16';
  const body = Buffer.from(`<!doctype html><html><head><title>t</title><!--${'x'.repeat(2000)}--><meta http-equiv="Content-Type" content="text/html; charset=utf-16le"></head><body>caf\u00e9</body></html>`, 'latin1');
  pages.set(path, ['text/html', body]);
  const res = await fetchOnce(srv.port, request(path, { headers: NAV }));
  assert.match(res.body.toString('latin1'), /data-porthole-client/);
  assert.ok(res.body.toString('latin1').endsWith(`<body>caf\u00e9</body></html>`));
});

test('a proxied page a rule labels with a Content-Encoding is passed on as it is, with the reason', async () => {
  // The label says the bytes are stored encoded: a tag spliced into them broke the coding.
  const coded = await startServer({
    root: site.root,
    configFile: false,
    headers: [{ source: '/api/**', headers: { 'Content-Encoding': 'gzip' } }],
    proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backendPort}` }] },
  });
  const warnings: string[] = [];
  coded.server.on('diagnostic', (_level, message) => warnings.push(message));
  try {
    const res = await fetchOnce(coded.port, request('/api/utf8', { headers: NAV }));
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(pages.get('/api/utf8')?.[1] ?? Buffer.alloc(0)), "the back-end's bytes, no tag");
    assert.match(warnings.join('\n'), /live reload is not in \/api\/utf8: a configured Content-Encoding/);
  } finally {
    await coded.close();
  }
});
