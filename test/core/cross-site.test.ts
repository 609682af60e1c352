/**
 * Cross-site loads (issue 10, item 7): by default another site's page may not load served files as
 * subresources (`Sec-Fetch-Site: cross-site` with a no-cors/cors mode and a non-document
 * destination → 403), decided before the path is looked at, so the answer is the same whether the
 * file exists; every response says `Cross-Origin-Resource-Policy: same-site`. Navigations, iframes
 * included, are answered. `crossSiteLoads: true` turns the refusal and the header off.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

let site: Site;
let srv: Running;
let open: Running;

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  srv = await startServer({ root: site.root });
  open = await startServer({ root: site.root, crossSiteLoads: true });
});

after(async () => {
  await srv.close();
  await open.close();
  await site.cleanup();
});

const SCRIPT_CROSS = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script'];
const IMAGE_CROSS = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: image'];
const FETCH_CROSS = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: cors', 'Sec-Fetch-Dest: empty'];

test('a cross-site <script src>, <img> or fetch() load gets 403, the same for a file that exists and one that does not', async () => {
  // helper-50: <object>/<embed> come with Sec-Fetch-Mode: navigate, and their load/error event
  // tells the other site whether the file exists.
  const OBJECT_CROSS = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: object'];
  const EMBED_CROSS = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: embed'];
  const OBJECT_NO_CORS = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: object'];
  for (const headers of [SCRIPT_CROSS, IMAGE_CROSS, FETCH_CROSS, OBJECT_CROSS, EMBED_CROSS, OBJECT_NO_CORS]) {
    const existing = await fetchOnce(srv.port, request('/hello.txt', { headers }));
    const missing = await fetchOnce(srv.port, request('/no-such-file.js', { headers }));
    const hidden = await fetchOnce(srv.port, request('/.env', { headers }));
    assert.equal(existing.status, 403, headers.join(' '));
    assert.equal(missing.status, 403);
    assert.equal(hidden.status, 403);
    assert.deepEqual(existing.body, missing.body, 'the body does not tell whether the file exists');
    assert.deepEqual(existing.body, hidden.body);
    assert.match(existing.body.toString(), /another site may not load/);
    assert.doesNotMatch(existing.body.toString(), new RegExp(site.hello.trim()));
  }
  const record = srv.records.find((r) => r.status === 403 && r.target === '/hello.txt');
  assert.equal(record?.filePath, undefined, 'no file was looked up');
  assert.match(record?.note ?? '', /cross-site load refused .*--allow-cross-site/);
  // A load that names its page: the note names the flag and the setting, not the option's key alone (helper-151).
  await fetchOnce(srv.port, request('/hello.txt?named', { headers: [...SCRIPT_CROSS, 'Referer: http://other.example/'] }));
  const named = srv.records.find((r) => r.target === '/hello.txt?named');
  assert.equal(named?.note, 'cross-site load refused (crossSiteLoads is off: --allow-cross-site, porthole.crossSiteLoads in VS Code)');
});

// helper-157: with two Sec-Fetch-Site lines the first decided, and `same-origin` before
// `cross-site` got the file a lone `cross-site` is refused. A browser sends each field once.
test('a load with a second Sec-Fetch-Site, -Mode or -Dest value (a second line, or a list on one), or a second Origin, gets 400 whatever the order, and no file', async () => {
  for (const headers of [
    ['Sec-Fetch-Site: same-origin', 'Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script'],
    ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script'],
    ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: document', 'Sec-Fetch-Dest: script'],
    ['Origin: http://127.0.0.1', 'Origin: http://evil.example', 'Sec-Fetch-Mode: cors'],
    // helper-159: the two values as a list on one line.
    ['Sec-Fetch-Site: same-origin, cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script'],
    ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: navigate,no-cors', 'Sec-Fetch-Dest: script'],
  ]) {
    const res = await fetchOnce(srv.port, request('/hello.txt', { headers }));
    assert.equal(res.status, 400, headers.join(' '));
    assert.match(res.body.toString(), /more than one (Sec-Fetch-Site, Sec-Fetch-Mode or Sec-Fetch-Dest value|Origin header)/);
    assert.doesNotMatch(res.body.toString(), new RegExp(site.hello.trim()));
  }
});

test('navigations (a page, an iframe) from another site are answered; same-site and same-origin loads too', async () => {
  const navigations = [
    ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: document'],
    ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: iframe'],
    ['Sec-Fetch-Site: same-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script'],
    ['Sec-Fetch-Site: same-origin', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script'],
    ['Sec-Fetch-Site: none', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: document'],
    [],
  ];
  for (const headers of navigations) {
    const res = await fetchOnce(srv.port, request('/hello.txt', { headers }));
    assert.equal(res.status, 200, headers.join(' '));
    assert.equal(res.body.toString(), site.hello);
  }
});

test('every response carries Cross-Origin-Resource-Policy: same-site (files, cached files, errors, parse errors)', async () => {
  for (const target of ['/hello.txt', '/hello.txt', '/no-such-file', '/']) {
    const res = await fetchOnce(srv.port, request(target));
    assert.equal(res.header('cross-origin-resource-policy'), 'same-site', target);
  }
  const bad = await fetchOnce(srv.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n');
  assert.equal(bad.status, 400);
  assert.equal(bad.header('cross-origin-resource-policy'), 'same-site');
});

test('a same-site load (Sec-Fetch-Site: same-site) gets Cross-Origin-Resource-Policy: cross-origin and Vary: Sec-Fetch-Site; same-origin, none and no Fetch Metadata keep same-site (helper-151, helper-156)', async () => {
  // Chromium refused `same-site` answers to a page on another port of the same IP address
  // (ERR_BLOCKED_BY_RESPONSE.NotSameSite) though it sent the load as same-site itself; and no
  // CORP at all failed a page under COEP require-corp on another port.
  const SAME_SITE = ['Sec-Fetch-Site: same-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: image'];
  // Twice: the first answer reads the file, the second is the cached one's prepared head; a 404
  // and a page too (whose Vary live reload extends).
  for (const target of ['/hello.txt', '/hello.txt', '/no-such-file.png', '/index.html', '/index.html']) {
    const res = await fetchOnce(srv.port, request(target, { headers: SAME_SITE }));
    assert.equal(res.header('cross-origin-resource-policy'), 'cross-origin', target);
    assert.match(res.header('vary') ?? '', /(^|, )Sec-Fetch-Site(,|$)/, target);
  }
  for (const headers of [['Sec-Fetch-Site: same-origin', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: image'], ['Sec-Fetch-Site: none'], []]) {
    for (const target of ['/hello.txt', '/no-such-file.png']) {
      const res = await fetchOnce(srv.port, request(target, { headers }));
      assert.equal(res.header('cross-origin-resource-policy'), 'same-site', `${target} ${headers.join(' ')}`);
    }
  }
});

test('crossSiteLoads: true answers cross-site loads and sends no Cross-Origin-Resource-Policy', async () => {
  const res = await fetchOnce(open.port, request('/hello.txt', { headers: SCRIPT_CROSS }));
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), site.hello);
  assert.equal(res.header('cross-origin-resource-policy'), undefined);
});

test('reconfigure turns cross-site loads on and off on a running server', async () => {
  srv.server.reconfigure({ crossSiteLoads: true });
  try {
    assert.equal((await fetchOnce(srv.port, request('/hello.txt', { headers: SCRIPT_CROSS }))).status, 200);
  } finally {
    srv.server.reconfigure({ crossSiteLoads: false });
  }
  assert.equal((await fetchOnce(srv.port, request('/hello.txt', { headers: SCRIPT_CROSS }))).status, 403);
});

test('a cross-site load from this very server under another loopback name is refused saying so: one name, or a relative URL (helper-139)', async () => {
  const STYLE_CROSS = ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: style'];
  const p = srv.port;
  const cases: Array<[string[], string | undefined]> = [
    // A page at 127.0.0.1 linking to localhost (the Referer is the page's origin, cross-origin).
    [[`localhost:${p}`, `Referer: http://127.0.0.1:${p}/`], `http://127.0.0.1:${p}`],
    // A fetch() from a page at [::1] to 127.0.0.1: its Origin.
    [[`127.0.0.1:${p}`, `Origin: http://[::1]:${p}`], `http://[::1]:${p}`],
    [[`app.localhost:${p}`, `Referer: http://localhost:${p}/q.html`], `http://localhost:${p}`],
    // Another port, another site, no page named: the usual words.
    [[`localhost:${p}`, `Referer: http://127.0.0.1:${p + 1}/`], undefined],
    [[`localhost:${p}`, 'Referer: https://evil.example/'], undefined],
    [[`localhost:${p}`, 'Origin: null'], undefined],
    [[`localhost:${p}`], undefined],
    // Origin first, whatever the order (helper-143); an opaque one names no page; a long one none.
    [[`localhost:${p}`, `Referer: http://127.0.0.2:${p}/`, 'Origin: https://evil.example'], undefined],
    [[`localhost:${p}`, `Referer: http://127.0.0.1:${p}/`, 'Origin: null'], undefined],
    [[`localhost:${p}`, `Referer: http://${'a.'.repeat(2_000)}localhost:${p}/`], undefined],
  ];
  for (const [[host, ...extra], page] of cases) {
    const headers = [...STYLE_CROSS, ...extra];
    const existing = await fetchOnce(p, request('/hello.txt', { headers, host }));
    const missing = await fetchOnce(p, request('/no-such.css', { headers, host }));
    assert.equal(existing.status, 403, headers.join(' '));
    assert.deepEqual(existing.body, missing.body, 'the body does not tell whether the file exists');
    const text = existing.body.toString();
    if (page === undefined) {
      assert.match(text, /another site may not load/, headers.join(' '));
      // No Referer, and no Origin or Origin: null: what a sandboxed frame of this server sends
      // (helper-147), said as such; a load that names its page is not.
      const unnamed = !extra.some((h) => h.startsWith('Referer:') || (h.startsWith('Origin:') && h !== 'Origin: null'));
      if (unnamed) assert.match(text, /sent no address of its own.*add allow-same-origin to its sandbox, or turn on crossSiteLoads/, headers.join(' '));
      else assert.doesNotMatch(text, /sandbox/, headers.join(' '));
    } else {
      assert.ok(text.startsWith(`Forbidden: the page at ${page} loads this from `), text);
      assert.match(text, /If that page is this server under another name, the browser still takes the two for different sites: use one name \(a relative URL in the page/);
    }
    assert.match(existing.header('vary') ?? '', /Referer/);
  }
  const noted = srv.records.filter((r) => r.status === 403 && /may be this server under another name/.test(r.note ?? '')).length;
  assert.equal(noted, 6, 'the log line says it too');
});
