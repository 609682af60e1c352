/**
 * The single-page-app fallback over real sockets: a navigation to a missing path gets the
 * fallback page (200, live reload injected); a missing asset, a fetch/XHR, a hidden path or a
 * malformed one stays as it was (404/400); existing files are untouched; off by default.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer, ServerError, createSelfSignedCertificate, type ServerOptionsInput } from '../../src/core';

const made = createSelfSignedCertificate(['127.0.0.1', 'localhost']);
import { startServer, type Running } from './harness';
import { formatShortLine } from '../../src/core/log/request-log';
import { spaFileProblem, spaFileSegments } from '../../src/core/config/config-file';
import { DEFAULT_WAIT_MS, fetchOnce, request, withTimeout } from './raw-client';

let root: string;
const servers: Running[] = [];
const INDEX = '<!doctype html><html><head><title>app</title></head><body><div id="app">spa-index</div></body></html>';
const SHELL = '<!doctype html><html><body>spa-shell</body></html>';

async function serve(input: Omit<Parameters<typeof startServer>[0], 'root'>): Promise<Running> {
  const running = await startServer({ root, configFile: false, ...input });
  servers.push(running);
  return running;
}

const navigation = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html,application/xhtml+xml,*/*;q=0.8'];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-spa-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), INDEX);
  await writeFile(join(root, 'shell.html'), SHELL);
  await writeFile(join(root, 'assets', 'app.js'), 'console.log(1)\n');
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(root, { recursive: true, force: true });
});

test('a navigation to a deep link gets index.html (200) with the live-reload client', async () => {
  const s = await serve({ spa: 'index.html' });
  for (const path of ['/users/42', '/users/42/edit?tab=1', '/assets/nested/route', '/index.html/extra']) {
    const r = await fetchOnce(s.port, request(path, { headers: navigation }));
    assert.equal(r.status, 200, path);
    assert.match(r.header('content-type') ?? '', /^text\/html/, path);
    assert.match(r.body.toString(), /spa-index/, path);
    assert.match(r.body.toString(), /__porthole\/client\.js/, `${path}: live reload injected`);
  }
  const record = s.records.find((rec) => rec.target === '/users/42');
  assert.equal(record?.spaFallback, '/index.html');
});

test('the log says a fallback answer was the fallback\'s: the record, the terminal line and the log file line (its Combined fields as sent), also when compression adds its own note', async () => {
  // Before: the answer was logged exactly as a plain hit on the path asked for (the terminal and
  // the log file showed `GET /users/42 200`), and the note that said otherwise was overwritten by
  // a later stage's (compression, live reload).
  const logDir = await mkdtemp(join(tmpdir(), 'porthole-spa-log-'));
  const logFile = join(logDir, 'access.log');
  const big = `<!doctype html><html><body>${'spa-big '.repeat(400)}</body></html>`;
  await writeFile(join(root, 'big.html'), big);
  try {
    const s = await startServer({ root, configFile: false, spa: 'big.html', logFile, reload: { enabled: false } });
    try {
      const deep = await fetchOnce(s.port, request('/users/42', { headers: [...navigation, 'Accept-Encoding: gzip', 'User-Agent: t'] }));
      assert.equal(deep.status, 200);
      assert.equal(deep.header('content-encoding'), 'gzip');
      const plain = await fetchOnce(s.port, request('/big.html', { headers: [...navigation, 'User-Agent: t'] }));
      assert.equal(plain.status, 200);
    } finally {
      await s.close();
    }
    const fallen = s.records.find((r) => r.target === '/users/42');
    const hit = s.records.find((r) => r.target === '/big.html');
    assert.equal(fallen?.spaFallback, '/big.html');
    assert.equal(hit?.spaFallback, undefined, 'a plain hit is no fallback');
    assert.match(formatShortLine(fallen), / GET \/users\/42 200 \d+B \d+ms \(SPA fallback \/big\.html\)$/);
    assert.doesNotMatch(formatShortLine(hit!), /SPA fallback/);
    const lines = (await readFile(logFile, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    // The Combined Log fields stay standard (the request line as sent); the mark is appended.
    assert.match(lines[0] ?? '', /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/users\/42 HTTP\/1\.1" 200 \d+ "-" "t" \d+\.\d{3} \S+ spa-fallback=\/big\.html$/);
    assert.match(lines[1] ?? '', /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/big\.html HTTP\/1\.1" 200 \d+ "-" "t" \d+\.\d{3} \S+$/);
  } finally {
    await rm(join(root, 'big.html'), { force: true });
    await rm(logDir, { recursive: true, force: true });
  }
});

test('a fallback file with a space, a percent sign or ESC in its name: the terminal line names it as it is (escaped), the log file keeps it percent-encoded (helper-117)', async () => {
  // Before: the terminal said (SPA fallback /my%20app.html) and, for a file named a%20b.html,
  // (SPA fallback /a%2520b.html); the start-time words show the name as given.
  const logDir = await mkdtemp(join(tmpdir(), 'porthole-spa-names-'));
  try {
    for (const [name, shown, field] of [
      ['my app.html', '/my app.html', '/my%20app.html'],
      ['a%20b.html', '/a%20b.html', '/a%2520b.html'],
      ['e\u001b[31m.html', '/e\\x1b[31m.html', '/e%1B%5B31m.html'],
    ] as const) {
      await writeFile(join(root, name), '<!doctype html><title>app</title><p>app</p>\n');
      const logFile = join(logDir, 'access.log');
      const s = await startServer({ root, configFile: false, spa: name, logFile, reload: { enabled: false } });
      try {
        assert.equal((await fetchOnce(s.port, request('/users/7', { headers: navigation }))).status, 200, name);
      } finally {
        await s.close();
        await rm(join(root, name), { force: true });
      }
      const fallen = s.records.find((r) => r.target === '/users/7');
      assert.ok(fallen !== undefined, name);
      assert.ok(formatShortLine(fallen).endsWith(` (SPA fallback ${shown})`), `${name}: ${formatShortLine(fallen)}`);
      const line = (await readFile(logFile, 'utf8')).trim().split('\n').at(-1) ?? '';
      assert.ok(line.endsWith(` spa-fallback=${field}`), `${name}: ${line}`);
      await rm(logFile, { force: true });
    }
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
});

test('a navigation a service worker passes on (Sec-Fetch-Mode navigate, Sec-Fetch-Dest empty) gets the fallback, with the client', async () => {
  // A PWA in development: its service worker answers navigations with fetch(event.request), which
  // Chromium sends with Sec-Fetch-Dest: empty. Deep links got 404 and pages lost live reload.
  const s = await serve({ spa: 'index.html' });
  const passedOn = ['Sec-Fetch-Site: same-origin', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: empty', 'Accept: text/html,application/xhtml+xml,*/*;q=0.8'];
  const r = await fetchOnce(s.port, request('/users/42', { headers: passedOn }));
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /spa-index/);
  assert.match(r.body.toString(), /__porthole\/client\.js/);
  const page = await fetchOnce(s.port, request('/index.html', { headers: passedOn }));
  assert.match(page.body.toString(), /__porthole\/client\.js/, 'an existing page is injected too');
  // A fetch() of a deep link stays 404, of a page the bytes on disk.
  const fetched = ['Sec-Fetch-Site: same-origin', 'Sec-Fetch-Mode: cors', 'Sec-Fetch-Dest: empty', 'Accept: text/html'];
  assert.equal((await fetchOnce(s.port, request('/users/42', { headers: fetched }))).status, 404);
  assert.equal((await fetchOnce(s.port, request('/index.html', { headers: fetched }))).body.toString(), INDEX);
});

test('a service worker\'s pass-through is a navigation only with the navigation\'s Accept: text/html; a download (<a download>: the same fields, no Accept) stays 404, and the README says so', async () => {
  const s = await serve({ spa: 'index.html' });
  const download = ['Sec-Fetch-Site: same-origin', 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: empty'];
  // A missing download target saved as index.html would be a file of the wrong bytes under the right name.
  assert.equal((await fetchOnce(s.port, request('/reports/2024.csv', { headers: download }))).status, 404);
  assert.equal((await fetchOnce(s.port, request('/reports/2024.csv', { headers: [...download, 'Accept: */*'] }))).status, 404);
  assert.equal((await fetchOnce(s.port, request('/users/42', { headers: [...download, 'Accept: text/html,*/*;q=0.8'] }))).status, 200);
  // Before: the README's SPA section listed navigate + empty as a navigation without the Accept condition.
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const spa = readme.slice(readme.indexOf('- **SPA fallback**'), readme.indexOf('### Mounts and clean URLs'));
  assert.match(spa.replace(/\s+/g, ' '), /`Sec-Fetch-Mode: navigate` with `Sec-Fetch-Dest: empty` and the navigation's `Accept: text\/html`/);
});

test('the live-reload client is addressed relative to the deep link the browser is on, not to the fallback file', async () => {
  const s = await serve({ spa: 'index.html' });
  for (const [path, src] of [
    ['/users/42', '../__porthole/client.js'],
    ['/users/42/edit?tab=1', '../../__porthole/client.js'],
    ['/deep', './__porthole/client.js'],
  ] as const) {
    const r = await fetchOnce(s.port, request(path, { headers: navigation }));
    assert.equal(r.status, 200, path);
    const found = /<script src="([^"]*)"[^>]*data-porthole-client/.exec(r.body.toString());
    assert.equal(found?.[1], src, path);
    // What the browser resolves it to is Porthole's own endpoint.
    assert.equal(new URL(src, `http://127.0.0.1${path}`).pathname, '/__porthole/client.js', path);
  }
});

test('a frame\'s navigation gets the fallback too: the editor preview\'s document (injected), and an app in the page\'s own iframe (not injected) (helper-55)', async () => {
  // helper-55: an app embedded in an <iframe> (a docs page, a Storybook-style host) got 404 for
  // its deep link, where nginx's try_files, Vite and Five Server serve the app.
  const s = await serve({ spa: 'index.html' });
  const preview = await fetchOnce(s.port, request('/users/42?__porthole_preview=1', { headers: ['Sec-Fetch-Dest: iframe', 'Sec-Fetch-Mode: navigate'] }));
  assert.equal(preview.status, 200);
  assert.match(preview.body.toString(), /spa-index/);
  assert.match(preview.body.toString(), /__porthole\/client\.js/);
  for (const dest of ['iframe', 'frame']) {
    const own = await fetchOnce(s.port, request('/users/42', { headers: [`Sec-Fetch-Dest: ${dest}`, 'Sec-Fetch-Mode: navigate', 'Accept: text/html'] }));
    assert.equal(own.status, 200, dest);
    assert.match(own.body.toString(), /spa-index/, dest);
    assert.doesNotMatch(own.body.toString(), /__porthole\/client\.js/, `${dest}: the page's own frames are never injected`);
  }
  // Other destinations that find nothing stay 404 (an <embed>, an <object>, a worker).
  for (const dest of ['embed', 'object', 'worker']) {
    const other = await fetchOnce(s.port, request('/users/42', { headers: [`Sec-Fetch-Dest: ${dest}`, 'Accept: text/html'] }));
    assert.equal(other.status, 404, dest);
  }
});

test('without Fetch Metadata, Accept: text/html (outside fetch/XHR) is a navigation too', async () => {
  const s = await serve({ spa: 'index.html' });
  const r = await fetchOnce(s.port, request('/deep', { headers: ['Accept: text/html'] }));
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /spa-index/);
});

test('Accept is judged as RFC 9110 §12.5.1 says: q=0 refuses HTML, ranges and weights are read, not searched for text/html', async () => {
  // Before: any Accept with the characters "text/html" in it was a navigation, so
  // `Accept: text/html;q=0` (HTML not acceptable, §12.4.2) got the fallback page.
  const s = await serve({ spa: 'index.html' });
  assert.equal((await fetchOnce(s.port, request('/deep/link', { headers: ['Accept: text/html;q=0'] }))).status, 404, 'Accept: text/html;q=0');
  const fallback: string[][] = [
    ['Accept: TEXT/HTML'],
    ['Accept: text/html ; q=0.5'],
    ['Accept: text/html;Q=1.000'],
    ['Accept: text/*'],
    ['Accept: text/html;level=1'],
    ['Accept: text/*;q=0, text/html'],
    ['Accept: application/json', 'Accept: text/html;q=0.1'],
    ['Accept: image/png;x="a,text/html;q=0", text/html'],
    // A browser's navigation says HTML unless its Accept refuses it.
    ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: */*'],
    ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate'],
  ];
  for (const headers of fallback) {
    const r = await fetchOnce(s.port, request('/deep/link', { headers }));
    assert.equal(r.status, 200, headers.join('; '));
    assert.match(r.body.toString(), /spa-index/, headers.join('; '));
  }
  const refused: string[][] = [
    ['Accept: text/html;q=0'],
    ['Accept: text/html; q=0.000'],
    ['Accept: text/html;q=0, */*'],
    ['Accept: */*;q=0.8, text/html;q=0'],
    ['Accept: TEXT/*;Q=0'],
    ['Accept: text/htmlx'],
    ['Accept: application/xhtml+text/html'],
    ['Accept: text/html;q=abc'],
    ['Accept: text/html;q=1.5'],
    ['Accept: text/html;q=0.0001'],
    ['Accept: */html'],
    ['Accept: image/png;x="text/html"'],
    ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html;q=0'],
    ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: application/json'],
    ['Sec-Fetch-Dest: iframe', 'Sec-Fetch-Mode: navigate', 'Accept: text/html;q=0,*/*'],
    ['Sec-Fetch-Dest: empty', 'Sec-Fetch-Mode: navigate', 'Accept: text/html;q=0,*/*;q=0.8'],
    ['Sec-Fetch-Dest: empty', 'Sec-Fetch-Mode: navigate', 'Accept: */*'],
  ];
  for (const headers of refused) {
    const r = await fetchOnce(s.port, request('/deep/link', { headers }));
    assert.equal(r.status, 404, headers.join('; '));
  }
});

test('a text/html range naming charset=utf-8 is more specific than a plain one (RFC 9110 §12.5.1): it decides for the UTF-8 page, either way', async () => {
  // Before: `text/html;q=0, text/html;charset=utf-8` was judged refused (the plain range always
  // won over one with parameters), though the more specific range accepts a UTF-8 page.
  const s = await serve({ spa: 'index.html' });
  for (const headers of [
    ['Accept: text/html;q=0, text/html;charset=utf-8'],
    ['Accept: text/html;q=0, text/html; CHARSET="UTF-8";q=0.5'],
    ['Accept: text/*;q=0, text/html;q=0, text/html;charset=utf-8;q=0.1'],
  ]) {
    const r = await fetchOnce(s.port, request('/deep/link', { headers }));
    assert.equal(r.status, 200, headers.join('; '));
    assert.match(r.body.toString(), /spa-index/, headers.join('; '));
  }
  for (const headers of [
    ['Accept: text/html, text/html;charset=utf-8;q=0'],
    ['Accept: text/html;charset=utf-8;q=0, */*'],
    // Another charset, or another parameter, says nothing of a UTF-8 page where a plain range speaks.
    ['Accept: text/html;q=0, text/html;charset=iso-8859-1'],
    ['Accept: text/html;q=0, text/html;charset=utf-8;level=1'],
  ]) {
    const r = await fetchOnce(s.port, request('/deep/link', { headers }));
    assert.equal(r.status, 404, headers.join('; '));
  }
});

test('the self-reloading 503 page follows the same judgement: a navigation whose Accept refuses HTML gets the plain text', async () => {
  // A listing is built in memory; with a budget of one byte it is refused (503, respondBusy).
  const s = await serve({ limits: { maxBuiltBytes: 1 } });
  const nav = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate'];
  const page = await fetchOnce(s.port, request('/assets/', { headers: [...nav, 'Accept: text/html,*/*;q=0.8'] }));
  assert.equal(page.status, 503);
  assert.match(page.header('content-type') ?? '', /^text\/html/);
  for (const headers of [[...nav, 'Accept: text/html;q=0'], ['Accept: text/html;q=0'], ['Accept: */*;q=0.5, TEXT/HTML ; Q=0']]) {
    const r = await fetchOnce(s.port, request('/assets/', { headers }));
    assert.equal(r.status, 503, headers.join('; '));
    assert.match(r.header('content-type') ?? '', /^text\/plain/, headers.join('; '));
  }
});

test('an existing page asked for with HTML refused is sent as it is on disk, and the 404 page without the live-reload client', async () => {
  const s = await serve({ spa: 'index.html' });
  for (const headers of [['Accept: text/html;q=0'], ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html;q=0, */*']]) {
    const page = await fetchOnce(s.port, request('/index.html', { headers }));
    assert.equal(page.status, 200);
    assert.equal(page.body.toString(), INDEX, `${headers.join('; ')}: no client injected`);
    const missing = await fetchOnce(s.port, request('/missing.png', { headers }));
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.body.toString(), /__porthole\/client\.js/, headers.join('; '));
  }
  const shown = await fetchOnce(s.port, request('/index.html', { headers: ['Accept: text/html;q=0.9'] }));
  assert.match(shown.body.toString(), /__porthole\/client\.js/, 'HTML at 0.9 is still a page');
});

test('missing assets, fetch() and XHR stay 404; existing files are served as they are', async () => {
  const s = await serve({ spa: 'index.html' });
  const cases: Array<[string, string[]]> = [
    ['/assets/missing.js', ['Sec-Fetch-Dest: script', 'Accept: */*']],
    ['/missing.png', ['Sec-Fetch-Dest: image', 'Accept: image/avif,image/webp,*/*']],
    ['/api/users', ['Sec-Fetch-Dest: empty', 'Sec-Fetch-Mode: cors', 'Accept: text/html']],
    ['/api/users', ['Accept: text/html', 'X-Requested-With: XMLHttpRequest']],
    ['/no-accept', []],
    ['/curl-like', ['Accept: */*']],
  ];
  for (const [path, headers] of cases) {
    const r = await fetchOnce(s.port, request(path, { headers }));
    assert.equal(r.status, 404, `${path} ${headers.join('; ')}`);
  }
  const js = await fetchOnce(s.port, request('/assets/app.js', { headers: navigation }));
  assert.equal(js.status, 200);
  assert.equal(js.body.toString(), 'console.log(1)\n');
});

test('a navigation to a missing path whose extension names an asset type (.js, .json, .css, .png) is a 404, not the app; an extension no type knows (/users/john.doe, /v1.2), .html, a trailing slash still get the fallback', async () => {
  // Before: the address bar's request for a stale or mistyped hashed asset got 200 text/html, the
  // app shell, under the asset's URL; --help says missing assets stay 404.
  const s = await serve({ spa: 'index.html' });
  const plain = await serve({});
  const asset = [
    '/assets/missing-abc.js',
    '/users/42.json',
    '/APP.JS',
    '/assets/missing-abc.js?v=2',
    '/assets/style.CSS',
    '/img/logo.png',
    '/data/report.pdf',
    '/assets/missing%2Ejs',
    '/users/42%2ejson',
    '/x/../assets/gone.mjs',
  ];
  // The 404 page without its live-reload client's tag (which names each server's instance).
  const page404 = (body: Buffer): string => body.toString().replace(/<script [^>]*data-porthole-client[^>]*><\/script>\n?/, '');
  const frame = ['Sec-Fetch-Dest: iframe', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];
  const noMetadata = ['Accept: text/html,application/xhtml+xml,*/*;q=0.8'];
  for (const path of asset) {
    const reference = await fetchOnce(plain.port, request(path, { headers: navigation }));
    assert.equal(reference.status, 404, `${path} without --spa`);
    for (const headers of [navigation, frame, noMetadata]) {
      const r = await fetchOnce(s.port, request(path, { headers }));
      assert.equal(r.status, 404, `${path} ${headers.join('; ')}`);
      assert.doesNotMatch(r.body.toString(), /spa-index/, path);
      assert.match(r.body.toString(), /404 Not Found/, path);
      assert.equal(page404(r.body), page404(reference.body), `${path}: the 404 it gets without --spa`);
    }
    assert.equal(s.records.find((rec) => rec.target === path)?.spaFallback, undefined, path);
  }
  const routes = [
    '/users/42',
    '/users/john.doe',
    '/v1.2',
    '/page.html',
    '/Page.HTM',
    '/doc.xhtml',
    '/missing.js/',
    '/assets/missing-abc.js/',
    '/release.',
    '/src/main.ts',
    // Routes that end like a domain or a file of another kind: types no page loads.
    '/sites/example.com',
    '/about.me',
    '/index.php',
  ];
  for (const path of routes) {
    const r = await fetchOnce(s.port, request(path, { headers: navigation }));
    assert.equal(r.status, 200, path);
    assert.match(r.header('content-type') ?? '', /^text\/html/, path);
    assert.match(r.body.toString(), /spa-index/, path);
    assert.equal(s.records.find((rec) => rec.target === path)?.spaFallback, '/index.html', path);
  }
  // An existing asset opened in the address bar is the asset, as before.
  const js = await fetchOnce(s.port, request('/assets/app.js', { headers: navigation }));
  assert.equal(js.status, 200);
  assert.equal(js.body.toString(), 'console.log(1)\n');
});

test('hidden and malformed paths are not rescued by the fallback', async () => {
  const s = await serve({ spa: 'index.html' });
  assert.equal((await fetchOnce(s.port, request('/.env', { headers: navigation }))).status, 404);
  assert.equal((await fetchOnce(s.port, request('/a%ZZ', { headers: navigation }))).status, 400);
});

test('spa names another fallback file; off (the default) answers 404', async () => {
  const shell = await serve({ spa: 'shell.html' });
  const r = await fetchOnce(shell.port, request('/deep/link', { headers: navigation }));
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /spa-shell/);
  const off = await serve({});
  assert.equal((await fetchOnce(off.port, request('/deep/link', { headers: navigation }))).status, 404);
});

test('a fallback outside the root is refused at start; a missing fallback file is a 404, not a crash', async () => {
  for (const spa of ['../outside.html', '/etc/passwd']) {
    await assert.rejects(startServer({ root, configFile: false, spa }), (err: unknown) => err instanceof ServerError && /spa/.test(err.message), spa);
  }
  const s = await serve({ spa: 'nope.html' });
  assert.equal((await fetchOnce(s.port, request('/deep', { headers: navigation }))).status, 404);
});

test('the fallback path\'s dot segments are resolved by one function for the check at start and for the answer: one that climbs out has no segments, never the root\'s file of that name', () => {
  assert.deepEqual(spaFileSegments('app/../index.html'), ['index.html']);
  assert.deepEqual(spaFileSegments('./a//b\\c.html'), ['a', 'b', 'c.html']);
  assert.equal(spaFileSegments('../index.html'), undefined);
  assert.equal(spaFileSegments('a/../../index.html'), undefined);
  assert.deepEqual(spaFileSegments('a/..'), []);
  assert.match(spaFileProblem('a/../../index.html') ?? '', /leaves the served folder/);
  assert.match(spaFileProblem('a/..') ?? '', /names the served folder itself/);
});

test('a fallback file that is missing or hidden: the path asked for is the 404, its note says why; once the file exists it answers (helper-46)', async () => {
  // Before: the 404 page said "There is no file at /nope.html" (the fallback's path, not the
  // one asked for) and the log said only "No such file."
  const s = await serve({ spa: 'nope.html' });
  const missing = await fetchOnce(s.port, request('/missing/page', { headers: navigation }));
  assert.equal(missing.status, 404);
  assert.match(missing.body.toString(), /\/missing\/page/, 'the 404 names the path asked for');
  assert.doesNotMatch(missing.body.toString(), /nope\.html/);
  assert.match(s.records.find((r) => r.target === '/missing/page')?.note ?? '', /the single-page app fallback \/nope\.html does not exist/);
  // A build that makes the fallback later: the next navigation gets it.
  await writeFile(join(root, 'nope.html'), SHELL);
  const later = await fetchOnce(s.port, request('/missing/again', { headers: navigation }));
  assert.equal(later.status, 200);
  assert.match(later.body.toString(), /spa-shell/);
  // A hidden fallback is never served while dotfiles are off.
  await writeFile(join(root, '.secret.html'), 'SECRET');
  const hidden = await serve({ spa: '.secret.html' });
  const refused = await fetchOnce(hidden.port, request('/deep/link', { headers: navigation }));
  assert.equal(refused.status, 404);
  assert.doesNotMatch(refused.body.toString(), /SECRET/);
  assert.match(hidden.records.find((r) => r.target === '/deep/link')?.note ?? '', /\.secret\.html is a hidden file, never served/);
});

test('a path a symlink leads out of the root or to a hidden file is answered as a missing one: the fallback, whether or not something is there (no existence oracle)', async () => {
  // Before: the fallback's 200 for a missing path against the 404 for an existing one told, for
  // any file on the machine, whether it exists (`/up/etc/passwd` 404, `/up/etc/nope` 200).
  const outside = await mkdtemp(join(tmpdir(), 'porthole-spa-outside-'));
  try {
    await writeFile(join(outside, 'secret.txt'), 'OUTSIDE-SECRET');
    await writeFile(join(outside, 'secret'), 'OUTSIDE-SECRET');
    await mkdir(join(root, 'links'));
    await symlink(outside, join(root, 'links', 'up'));
    await writeFile(join(root, '.env'), 'DOTENV-SECRET');
    await symlink('../.env', join(root, 'links', 'env'));
    await symlink('../.env-none', join(root, 'links', 'env-none'));
    await writeFile(join(root, '.page.html'), 'HIDDEN-PAGE');
    await symlink('../.page.html', join(root, 'links', 'page.html'));
    const s = await serve({ spa: 'index.html' });
    const clean = await serve({ spa: 'index.html', cleanUrls: true });
    const pairs: [Running, string, string, number][] = [
      [s, '/links/up/secret', '/links/up/nothing', 200],
      [s, '/links/up/', '/links/none/', 200],
      [s, '/links/env', '/links/env-none', 200],
      [clean, '/links/page', '/links/nopage', 200],
      // A name of an asset type is no route: the 404 either way, never the file.
      [s, '/links/up/secret.txt', '/links/up/nothing.txt', 404],
    ];
    for (const [server, there, missing, status] of pairs) {
      const a = await fetchOnce(server.port, request(there, { headers: navigation }));
      const b = await fetchOnce(server.port, request(missing, { headers: navigation }));
      assert.equal(a.status, b.status, `${there} answers as ${missing} does`);
      assert.equal(a.status, status, there);
      if (status === 200) assert.match(a.body.toString(), /spa-index/, there);
      assert.doesNotMatch(a.body.toString(), /SECRET|HIDDEN-PAGE/, there);
    }
    // The fallback itself a link out of the root: said as refused, not as "does not exist".
    await writeFile(join(outside, 'shell.html'), 'OUTSIDE-SHELL');
    await symlink(join(outside, 'shell.html'), join(root, 'links', 'shell.html'));
    const linked = await serve({ spa: 'links/shell.html' });
    const l = await fetchOnce(linked.port, request('/deep/route', { headers: navigation }));
    assert.equal(l.status, 404);
    assert.doesNotMatch(l.body.toString(), /OUTSIDE-SHELL/);
    assert.match(linked.records.find((rec) => rec.target === '/deep/route')?.note ?? '', /fallback \/links\/shell\.html leads out of the served folder or to a hidden file, so it is never served/);
    // Followed symlinks are served as they are (the file exists and may be served: no fallback).
    const followed = await serve({ spa: 'index.html', followSymlinks: true });
    const r = await fetchOnce(followed.port, request('/links/up/secret.txt', { headers: navigation }));
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'OUTSIDE-SECRET');
  } finally {
    await rm(join(root, 'links'), { recursive: true, force: true });
    await rm(join(root, '.env'), { force: true });
    await rm(join(root, '.page.html'), { force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('a path that can name no file (a name too long, a path too long, a loop of links) gets the fallback, as a missing path does', async () => {
  // Before: its stat failed with ENAMETOOLONG or ELOOP, not ENOENT, so it counted as existing and
  // the navigation got the 404 of the lookup ("No such file: a name … is longer than the file
  // system allows"), where a dangling link or any other missing path gets the app.
  await mkdir(join(root, 'loops'));
  try {
    await symlink('round', join(root, 'loops', 'round'));
    const s = await serve({ spa: 'index.html' });
    const clean = await serve({ spa: 'index.html', cleanUrls: true });
    const longName = `/${'n'.repeat(300)}`;
    const longPath = `/${Array.from({ length: 25 }, () => 'p'.repeat(200)).join('/')}`;
    for (const server of [s, clean]) {
      for (const path of [longName, `${longName}/`, longPath, '/loops/round', '/loops/round/deeper']) {
        const r = await fetchOnce(server.port, request(path, { headers: navigation }));
        assert.equal(r.status, 200, `${path.slice(0, 40)}… (${path.length} characters)`);
        assert.match(r.body.toString(), /spa-index/);
      }
      // A script that asks for such a path still gets its 404, with the reason.
      const asset = await fetchOnce(server.port, request(longName));
      assert.equal(asset.status, 404);
    }
    assert.match(s.records.find((rec) => rec.target === longName && rec.status === 404)?.note ?? '', /ENAMETOOLONG/);
  } finally {
    await rm(join(root, 'loops'), { recursive: true, force: true });
  }
});

/** A server started as serve() does, with the warnings it said while starting. */
async function serveWithWarnings(input: Omit<ServerOptionsInput, 'root'>): Promise<{ running: Running; warnings: string[] }> {
  const server = new PreviewServer();
  const warnings: string[] = [];
  server.on('diagnostic', (level, message) => {
    if (level === 'warn') warnings.push(message);
  });
  const records: Running['records'] = [];
  server.on('request', (r) => records.push(r));
  const address = await server.listen({ root, configFile: false, port: 0, host: '127.0.0.1', resolveHostNames: false, timeouts: { closeGraceMs: 500 }, ...input });
  const running: Running = { server, port: address.port, records, close: () => server.close() };
  servers.push(running);
  return { running, warnings };
}

test('a fallback that names a folder or a named pipe is said at start, and navigations get the 404 of a missing fallback: never 301, 403 or a hang', { skip: process.platform === 'win32' && 'mkfifo' }, async () => {
  // Before: a folder fallback counted as existing, so every deep link was moved (301) to the
  // folder (/app/), its listing or index in place of the app; a named pipe was answered 403
  // ("not a regular file"), and neither was said at start.
  const place = join(root, 'not-files');
  await mkdir(join(place, 'app'), { recursive: true });
  await mkdir(join(place, 'with-index'));
  await writeFile(join(place, 'with-index', 'index.html'), SHELL);
  execFileSync('mkfifo', [join(place, 'pipe.html')]);
  execFileSync('mkfifo', [join(place, 'clean.html')]);
  try {
    const cases: Array<[string, Omit<ServerOptionsInput, 'root'>, RegExp]> = [
      ['a folder', { spa: 'not-files/app' }, /the single-page app fallback \/not-files\/app is a folder, not a file/],
      ['a folder with an index.html', { spa: 'not-files/with-index/' }, /the single-page app fallback \/not-files\/with-index is a folder, not a file/],
      ['a named pipe', { spa: 'not-files/pipe.html' }, /the single-page app fallback \/not-files\/pipe\.html is a named pipe \(FIFO\), not a file/],
      ['a named pipe found as a clean URL', { spa: 'not-files/clean', cleanUrls: true }, /the single-page app fallback \/not-files\/clean \(its clean URL's page \/not-files\/clean\.html\) is a named pipe \(FIFO\), not a file/],
    ];
    for (const [what, input, said] of cases) {
      const { running, warnings } = await serveWithWarnings(input);
      assert.ok(warnings.some((w) => said.test(w) && /navigations to missing paths get 404 meanwhile/.test(w)), `${what}: ${JSON.stringify(warnings)}`);
      for (const path of ['/deep/link', '/other']) {
        const r = await withTimeout(fetchOnce(running.port, request(path, { headers: navigation })), DEFAULT_WAIT_MS, `${what}: ${path}`);
        assert.equal(r.status, 404, `${what}: ${path}`);
        assert.equal(r.header('location'), undefined, `${what}: ${path}`);
        assert.match(r.body.toString(), new RegExp(path.replace(/\//g, '\\/')), `${what}: the 404 names the path asked for`);
        assert.match(running.records.find((rec) => rec.target === path)?.note ?? '', said, `${what}: ${path}'s note`);
      }
      // Existing files are served as ever.
      assert.equal((await fetchOnce(running.port, request('/assets/app.js', { headers: navigation }))).body.toString(), 'console.log(1)\n', what);
    }
  } finally {
    await rm(place, { recursive: true, force: true });
  }
});

/** A folder of odd fallbacks under the root for the start-time words: loop1, dangling.html, app.html, the key. */
async function startWords(): Promise<string> {
  const place = join(root, 'start-words');
  await rm(place, { recursive: true, force: true });
  await mkdir(join(place, 'dir'), { recursive: true });
  await symlink('loop1', join(place, 'loop1'));
  await symlink('nowhere.html', join(place, 'dangling.html'));
  await writeFile(join(place, 'app.html'), SHELL);
  await writeFile(join(place, 'localhost-key.pem'), made.key, { mode: 0o600 });
  return place;
}

const links = { skip: process.platform === 'win32' && 'symlinks' };

test('--spa=loop1 (a link loop) is said at start as a link loop; a dangling link as a link to nothing', links, async () => {
  const place = await startWords();
  try {
    // Before: "leads out of the served folder or to a hidden file".
    const loop = await serveWithWarnings({ spa: 'start-words/loop1' });
    assert.ok(loop.warnings.some((w) => /fallback \/start-words\/loop1 is a link that leads round in a loop \(ELOOP\)/.test(w)), JSON.stringify(loop.warnings));
    const dangling = await serveWithWarnings({ spa: 'start-words/dangling.html' });
    assert.ok(dangling.warnings.some((w) => /fallback \/start-words\/dangling\.html is a link to something that does not exist/.test(w)), JSON.stringify(dangling.warnings));
  } finally {
    await rm(place, { recursive: true, force: true });
  }
});

test('--spa=dir/../app.html is normalized first: it stays inside, so it is taken and answers; one that climbs out is refused', links, async () => {
  const place = await startWords();
  try {
    // Before: refused at start ("leaves the served folder") though it names start-words/app.html.
    const dotted = await serveWithWarnings({ spa: 'start-words/dir/../app.html' });
    assert.deepEqual(dotted.warnings.filter((w) => /single-page app/.test(w)), []);
    const r = await fetchOnce(dotted.running.port, request('/deep/link', { headers: navigation }));
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /spa-shell/);
    for (const spa of ['start-words/../../app.html', '../x.html', 'dir/../../x.html']) {
      await assert.rejects(startServer({ root, configFile: false, spa }), (err: unknown) => err instanceof ServerError && /leaves the served folder/.test(err.message), spa);
    }
    await assert.rejects(startServer({ root, configFile: false, spa: 'dir/..' }), (err: unknown) => err instanceof ServerError && /names the served folder itself/.test(err.message));
  } finally {
    await rm(place, { recursive: true, force: true });
  }
});

test('--spa=my%20app.html is shown as given, not encoded once more (/my%2520app.html)', async () => {
  const encoded = await serveWithWarnings({ spa: 'start-words/my%20app.html' });
  assert.ok(encoded.warnings.some((w) => w.startsWith('the single-page app fallback /start-words/my%20app.html does not exist')), JSON.stringify(encoded.warnings));
  const spaced = await serveWithWarnings({ spa: 'start-words/my app.html' });
  assert.ok(spaced.warnings.some((w) => w.startsWith('the single-page app fallback /start-words/my app.html does not exist')), JSON.stringify(spaced.warnings));
});

test('--spa=<the HTTPS key file> is said at start: that file is never served', links, async () => {
  const place = await startWords();
  try {
    // Before: nothing said at start, though every navigation then got the 404.
    const keyed = await serveWithWarnings({ spa: 'start-words/localhost-key.pem', tls: { cert: made.cert, key: made.key, privateFiles: [join(place, 'localhost-key.pem')] } });
    assert.ok(
      keyed.warnings.some((w) => /fallback \/start-words\/localhost-key\.pem is a file the HTTPS private key or its passphrase was read from, never served/.test(w)),
      JSON.stringify(keyed.warnings),
    );
  } finally {
    await rm(place, { recursive: true, force: true });
  }
});

test('a fallback changed while the server runs (porthole.config.json, the setting) to a missing page or a folder is said then, as at start', async () => {
  const { running, warnings } = await serveWithWarnings({ spa: 'index.html' });
  assert.deepEqual(warnings, []);
  running.server.reconfigure({ spa: 'assets' });
  assert.ok(warnings.some((w) => /fallback \/assets is a folder, not a file; name a page in it \(e\.g\. \/assets\/index\.html\); navigations to missing paths get 404 meanwhile/.test(w)), JSON.stringify(warnings));
  running.server.reconfigure({ spa: 'later.html' });
  assert.ok(warnings.some((w) => /fallback \/later\.html does not exist/.test(w)), JSON.stringify(warnings));
  const before = warnings.length;
  running.server.reconfigure({ spa: 'shell.html' });
  assert.equal(warnings.length, before, 'a page that can answer is said nothing of');
});

test('porthole.config.json\'s spa gets the same judgement: dot segments resolved, and a change to a missing page said when the file is read again', async () => {
  const site = await mkdtemp(join(tmpdir(), 'porthole-spa-config-'));
  try {
    await mkdir(join(site, 'dir'));
    await writeFile(join(site, 'app.html'), SHELL);
    await writeFile(join(site, 'porthole.config.json'), JSON.stringify({ spa: 'dir/../app.html' }));
    const server = new PreviewServer();
    const warnings: string[] = [];
    server.on('diagnostic', (level, message) => {
      if (level === 'warn') warnings.push(message);
    });
    const records: Running['records'] = [];
    const address = await server.listen({ root: site, port: 0, host: '127.0.0.1', resolveHostNames: false, timeouts: { closeGraceMs: 500 } });
    servers.push({ server, port: address.port, records, close: () => server.close() });
    const r = await fetchOnce(address.port, request('/deep/link', { headers: navigation }));
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /spa-shell/);
    const applied = new Promise<void>((resolve) => server.once('config', () => resolve()));
    await writeFile(join(site, 'porthole.config.json'), JSON.stringify({ spa: 'missing.html' }));
    await withTimeout(applied, 10_000, 'the config file read again');
    assert.ok(warnings.some((w) => /fallback \/missing\.html does not exist; navigations to missing paths get 404 meanwhile/.test(w)), JSON.stringify(warnings));
  } finally {
    await rm(site, { recursive: true, force: true });
  }
});
