// Issue 12 parts 1 and 3 in headless Chromium against the built CLI:
//   npm run build && node --test test/browser/spa-headers.test.mjs
// - --spa: a deep link loads the app (200, its script runs, the route is the deep path), a broken
//   <script src> is still a 404, and the page reloads in place after an edit (live reload);
// - --cross-origin-isolation: the page reports crossOriginIsolated === true (false without it);
// - --cors: a page of another origin (another Porthole port) can fetch() with a preflighted header
//   when it is on, and cannot when it is off (the default); under a proxied route it can POST JSON
//   (a preflighted method) to the back-end.
// Every wait is bounded; nothing asserts on durations.
/* global document, window, crossOriginIsolated -- used inside page.evaluate(), which runs in the page */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from './chromium.mjs';

const WAIT_MS = 15_000;
const TEST_TIMEOUT_MS = 60_000;

/** @type {string[]} */
const dirs = [];
/** @type {import('./chromium.mjs').RunningCli[]} */
const clis = [];
/** @type {import('playwright-core').Browser} */
let browser;

const appPage = (title) => `<!doctype html>
<html><head><title>${title}</title><script src="/assets/app.js"></script></head>
<body><h1>${title}</h1><p id="route"></p><script src="/assets/missing-on-purpose.js"></script></body></html>
`;

async function site(files) {
  const dir = await mkdtemp(path.join(tmpdir(), 'porthole-spa-browser-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}

async function serve(args) {
  const cli = await startCli([...args, '--port', '0', '--quiet']);
  clis.push(cli);
  return cli;
}

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const cli of clis) await cli.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('--spa: a deep link loads the app, a broken script stays 404, and an edit reloads the deep link', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = await site({
    'index.html': appPage('first'),
    'assets/app.js': "window.addEventListener('DOMContentLoaded', () => { document.getElementById('route').textContent = location.pathname; });\n",
  });
  const cli = await serve([dir, '--spa', '--reload-debounce', '50']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    /** @type {Map<string, number>} */
    const statuses = new Map();
    tab.on('response', (r) => statuses.set(new URL(r.url()).pathname, r.status()));
    const response = await tab.goto(`${cli.url}users/42/profile`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    await tab.waitForFunction(() => document.getElementById('route')?.textContent === '/users/42/profile', undefined, { timeout: WAIT_MS });
    assert.equal(statuses.get('/assets/app.js'), 200);
    assert.equal(statuses.get('/assets/missing-on-purpose.js'), 404, 'a missing asset is not answered with the page');
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await tab.evaluate(() => {
      window.__marker = 'before';
    });
    await writeFile(path.join(dir, 'index.html'), appPage('second'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'second', undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.__marker), undefined, 'the page was reloaded');
    assert.equal(new URL(tab.url()).pathname, '/users/42/profile', 'still on the deep link');
    await tab.waitForFunction(() => document.getElementById('route')?.textContent === '/users/42/profile', undefined, { timeout: WAIT_MS });
  } finally {
    await context.close();
  }
});

test('--spa: a missing asset URL typed in the address bar (/assets/missing-abc.js, /users/42.json) is a 404, not the app; a route with a dot (/users/john.doe) is the app', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = await site({ 'index.html': appPage('app'), 'assets/app.js': '' });
  const cli = await serve([dir, '--spa']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    for (const [route, status] of [
      ['assets/missing-abc.js', 404],
      ['users/42.json', 404],
      ['APP.JS', 404],
      ['users/42', 200],
      ['users/john.doe', 200],
      ['v1.2', 200],
      ['page.html', 200],
    ]) {
      const response = await tab.goto(`${cli.url}${route}`, { waitUntil: 'load' });
      assert.equal(response?.status(), status, route);
      assert.equal(await tab.evaluate(() => document.querySelector('h1')?.textContent), status === 200 ? 'app' : '404 Not Found', route);
    }
  } finally {
    await context.close();
  }
});

test('--cross-origin-isolation: crossOriginIsolated is true in the page (false without it)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const dir = await site({ 'index.html': '<!doctype html><title>iso</title><h1>iso</h1>' });
  const isolated = await serve([dir, '--cross-origin-isolation']);
  const plain = await serve([dir]);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(isolated.url, { waitUntil: 'load' });
    assert.equal(await tab.evaluate(() => crossOriginIsolated), true);
    assert.equal(await tab.evaluate(() => typeof SharedArrayBuffer), 'function');
    await tab.goto(plain.url, { waitUntil: 'load' });
    assert.equal(await tab.evaluate(() => crossOriginIsolated), false);
  } finally {
    await context.close();
  }
});

test('--cors: another origin may fetch with a preflighted header when on; not when off', { timeout: TEST_TIMEOUT_MS }, async () => {
  const page = await site({ 'index.html': '<!doctype html><title>caller</title>' });
  const data = await site({ 'data.json': '{"from":"porthole"}' });
  const caller = await serve([page]);
  const off = await serve([data]);
  const callerOrigin = caller.url.replace(/\/$/, '');
  const on = await serve([data, '--cors-origin', callerOrigin]);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(caller.url, { waitUntil: 'load' });
    const read = (url) =>
      tab.evaluate(
        (u) =>
          fetch(u, { headers: { 'X-Token': 'abc' } }).then(
            (r) => r.text(),
            (e) => `blocked: ${e.name}`,
          ),
        url,
      );
    assert.equal(await read(`${on.url}data.json`), '{"from":"porthole"}');
    assert.match(await read(`${off.url}data.json`), /^blocked: TypeError/);
  } finally {
    await context.close();
  }
});

test('--cors with --proxy: another origin may POST JSON to a proxied API (its preflight allows POST there, not on files)', { timeout: TEST_TIMEOUT_MS }, async () => {
  // A back-end on raw `net` that answers each request with its method and body (Content-Length framed).
  const backend = createServer((socket) => {
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
        buf = buf.subarray(end + 4 + length);
        const answer = JSON.stringify({ method: head.split(' ')[0], body });
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(answer)}\r\n\r\n${answer}`);
      }
    });
  });
  await new Promise((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const address = backend.address();
  const backendPort = typeof address === 'object' && address !== null ? address.port : 0;
  const page = await site({ 'index.html': '<!doctype html><title>caller</title>' });
  const data = await site({ 'data.json': '{"from":"porthole"}' });
  const caller = await serve([page]);
  const callerOrigin = caller.url.replace(/\/$/, '');
  const api = await serve([data, '--cors-origin', callerOrigin, '--proxy', `/api=http://127.0.0.1:${backendPort}`]);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(caller.url, { waitUntil: 'load' });
    const post = (url) =>
      tab.evaluate(
        (u) =>
          fetch(u, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"n":1}' }).then(
            (r) => r.text(),
            (e) => `blocked: ${e.name}`,
          ),
        url,
      );
    assert.equal(await post(`${api.url}api/items`), '{"method":"POST","body":"{\\"n\\":1}"}', 'the back-end got the POST and its answer was readable');
    // A file answers GET and HEAD only: its preflight for POST is still refused.
    assert.match(await post(`${api.url}data.json`), /^blocked: TypeError/);
  } finally {
    await context.close();
    backend.close();
  }
});
