// Live reload through the proxy in headless Chromium, against the built CLI:
//   npm run build && node --test test/live-reload/proxy-browser.test.mjs
// A tiny template back-end (raw `net`, like a Flask or PHP server in development) renders
// templates/page.html from disk on every request; Porthole proxies /app to it and watches the
// templates folder (--watch), which is outside the served root. Editing the template reloads the
// page. Every wait is bounded; nothing asserts on durations.
/* global window, document, location, WebSocket -- used inside page callbacks, which run in the page */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from '../browser/chromium.mjs';

const TEST_TIMEOUT_MS = 60_000;
const WAIT_MS = 15_000;

/** @param {string} text */
const template = (text) => `<!doctype html>
<html>
<head><meta charset="utf-8"><title>app</title></head>
<body>
<h1>${text}</h1>
</body>
</html>
`;

const STRICT_POLICY = "default-src 'none'; script-src 'nonce-backend0nonce'";
const STRICT_SCRIPTS = '<script nonce="backend0nonce">window.__own = 1</script><script>window.__unsafe = 1</script>';

/** @type {string} */
let base;
/** @type {import('node:net').Server} */
let backend;
/** The port of /later's back-end, which is started only by the test that needs it. */
let laterPort = 0;
/** @type {import('../browser/chromium.mjs').RunningCli} */
let cli;
/** @type {import('playwright-core').Browser} */
let browser;

/**
 * Answers every request with the template, read from disk now (Connection: close, no keep-alive);
 * a WebSocket upgrade (RFC 6455 §4.2.2) gets 101 and then every text frame echoed with "echo: ".
 */
function startBackend(templates, port = 0) {
  const server = createServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    socket.on('data', async (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(head);
      if (key !== null) {
        socket.removeAllListeners('data');
        const accept = createHash('sha1').update(`${key[1]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        echoTextFrames(socket);
        return;
      }
      // A strict page, as a framework with a nonce-based policy sends it: the back-end's own
      // Content-Security-Policy header allows its own nonce and nothing else.
      const strict = /^GET \S*strict/.test(head);
      const text = await readFile(path.join(templates, 'page.html'), 'utf8');
      // A page that fetches its own URL (pjax, Turbo) and links away.
      const fetched = /^GET \S*fetched/.test(head);
      const own = fetched ? text.replace('</body>', '<a id="away" href="/">away</a><script>fetch(location.href).then((r) => r.text()).then((t) => { window.__fetched = t.length; });</script></body>') : text;
      const html = Buffer.from(strict ? text.replace('</body>', `${STRICT_SCRIPTS}</body>`) : own, 'utf8');
      const policy = strict ? `Content-Security-Policy: ${STRICT_POLICY}\r\n` : '';
      // An export endpoint: the page as a file to save (a report, an invoice).
      const disposition = /^GET \S*export/.test(head) ? 'Content-Disposition: attachment; filename="report.html"\r\n' : '';
      socket.end(
        Buffer.concat([
          Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n${policy}${disposition}Content-Length: ${html.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
          html,
        ]),
      );
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** A port nothing listens on now (listened on and closed). */
function freePort() {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Reads masked client frames (payloads < 126 bytes are enough here) and answers text frames. */
function echoTextFrames(socket) {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 6) {
      const opcode = buf[0] & 0x0f;
      const len = buf[1] & 0x7f;
      if (len >= 126 || buf.length < 6 + len) return;
      const mask = buf.subarray(2, 6);
      const payload = Buffer.from(buf.subarray(6, 6 + len)).map((b, i) => b ^ mask[i % 4]);
      buf = buf.subarray(6 + len);
      if (opcode === 0x8) {
        socket.end(Buffer.from([0x88, 0x00]));
        return;
      }
      if (opcode !== 0x1) continue;
      const reply = Buffer.from(`echo: ${Buffer.from(payload).toString('utf8')}`, 'utf8');
      socket.write(Buffer.concat([Buffer.from([0x81, reply.length]), reply]));
    }
  });
}

before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'porthole-proxy-live-'));
  const site = path.join(base, 'static');
  const templates = path.join(base, 'app', 'templates');
  await mkdir(site, { recursive: true });
  await mkdir(templates, { recursive: true });
  await writeFile(path.join(site, 'index.html'), '<!doctype html><title>static</title><p>static</p>\n');
  await writeFile(path.join(templates, 'page.html'), template('first'));
  backend = await startBackend(templates);
  const address = backend.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  laterPort = await freePort();
  cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50', '--proxy', `/app=http://127.0.0.1:${port}`, '--proxy', `/later=http://127.0.0.1:${laterPort}`, '--watch', templates]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await cli?.stop();
  await new Promise((resolve) => (backend ? backend.close(() => resolve(undefined)) : resolve(undefined)));
  if (base !== undefined) await rm(base, { recursive: true, force: true });
});

test('a page from the back-end reloads when its template (in a --watch folder) changes', { timeout: TEST_TIMEOUT_MS }, async () => {
  const context = await browser.newContext();
  const tab = await context.newPage();
  try {
    const response = await tab.goto(`${cli.url}app/page`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.equal(await tab.textContent('h1'), 'first');
    // The live-reload client came with the back-end's page and connected to Porthole's stream.
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await tab.evaluate(() => {
      window.__marker = 'before';
    });
    await writeFile(path.join(base, 'app', 'templates', 'page.html'), template('second'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'second', undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.__marker), undefined, 'the page was reloaded');
  } finally {
    await context.close();
  }
});

test('a tab on the 502 page of a back-end that is not running shows its page once it starts, with no reload by hand', { timeout: TEST_TIMEOUT_MS }, async () => {
  // A back-end restarting (nodemon, Flask's reloader) while a save reloads the tab: the tab got
  // the 502 page and stayed there until reloaded by hand.
  await writeFile(path.join(base, 'app', 'templates', 'page.html'), template('later'));
  const context = await browser.newContext();
  const tab = await context.newPage();
  /** @type {import('node:net').Server | undefined} */
  let later;
  try {
    const response = await tab.goto(`${cli.url}later/page`, { waitUntil: 'load' });
    assert.equal(response?.status(), 502);
    assert.match((await tab.textContent('h1')) ?? '', /502 Bad Gateway/);
    later = await startBackend(path.join(base, 'app', 'templates'), laterPort);
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'later', undefined, { timeout: WAIT_MS });
  } finally {
    await context.close();
    await new Promise((resolve) => (later ? later.close(() => resolve(undefined)) : resolve(undefined)));
  }
});

test("a back-end page with its own strict Content-Security-Policy header still reloads, and its policy still holds", { timeout: TEST_TIMEOUT_MS }, async () => {
  await writeFile(path.join(base, 'app', 'templates', 'page.html'), template('strict one'));
  const context = await browser.newContext();
  const tab = await context.newPage();
  try {
    const response = await tab.goto(`${cli.url}app/strict`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    const policy = response?.headers()['content-security-policy'] ?? '';
    assert.match(policy, /'nonce-backend0nonce'/, 'the back-end\'s own nonce is kept');
    assert.match(policy, /connect-src [^;]*\/__porthole\/socket/, 'the policy names our socket');
    // The client came through the back-end's policy and connected…
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    // …while the page's own rules still apply: its nonce'd script ran, an inline one without it did not.
    assert.equal(await tab.evaluate(() => window.__own), 1);
    assert.equal(await tab.evaluate(() => window.__unsafe), undefined);
    await tab.evaluate(() => {
      window.__marker = 'before';
    });
    await writeFile(path.join(base, 'app', 'templates', 'page.html'), template('strict two'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'strict two', undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.__marker), undefined, 'the page was reloaded');
  } finally {
    await context.close();
  }
});

test('a WebSocket opened by the page through the proxy echoes both ways', { timeout: TEST_TIMEOUT_MS }, async () => {
  const context = await browser.newContext();
  const tab = await context.newPage();
  try {
    await tab.goto(cli.url, { waitUntil: 'load' });
    const reply = await tab.evaluate(
      (url) =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url);
          ws.onopen = () => ws.send('hello from Chromium');
          ws.onmessage = (event) => {
            resolve(String(event.data));
            ws.close();
          };
          ws.onerror = () => reject(new Error('WebSocket error'));
        }),
      `${cli.url.replace(/^http/, 'ws')}app/socket`,
    );
    assert.equal(reply, 'echo: hello from Chromium');
  } finally {
    await context.close();
  }
});

test("a back-end's page sent as an attachment (an export) is saved as the back-end sent it, without the tag", { timeout: TEST_TIMEOUT_MS }, async () => {
  // The browser saves it instead of showing it: a tag spliced in ran in no tab and stayed in the file.
  const context = await browser.newContext({ acceptDownloads: true });
  const tab = await context.newPage();
  try {
    await tab.goto(`${cli.url}app/page`, { waitUntil: 'load' });
    const download = tab.waitForEvent('download', { timeout: WAIT_MS });
    await tab.evaluate(() => {
      location.href = '/app/export';
    });
    const saved = await (await download).path();
    const sent = await readFile(path.join(base, 'app', 'templates', 'page.html'), 'utf8');
    assert.equal(await readFile(saved, 'utf8'), sent);
  } finally {
    await context.close();
  }
});

test('a back-end page whose URL the page also fetched still has the client when the tab goes back to it', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The fetch gets the back-end's bytes, the navigation the page with the tag: without Vary the
  // fetch's copy replaced the page in the browser's cache, and Back showed it without live reload.
  const context = await browser.newContext();
  const tab = await context.newPage();
  try {
    await tab.goto(`${cli.url}app/fetched`, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__fetched > 0 && window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await tab.click('#away');
    await tab.waitForFunction(() => document.title === 'static', undefined, { timeout: WAIT_MS });
    await tab.goBack({ waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => document.querySelector('script[data-porthole-client]') !== null), true, 'the page as navigated, with the client');
  } finally {
    await context.close();
  }
});
