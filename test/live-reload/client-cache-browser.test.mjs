// What the browser's cache keeps under live reload, in headless Chromium against the built CLI:
//   npm run build && node --test test/live-reload/client-cache-browser.test.mjs
// A reloaded page runs /__porthole/client.js from the cache (no request, so no round trip before
// the page's first script), and a copy cached from another Porthole version is replaced by the
// server's. A page's own files kept fresh in the cache by a configured Cache-Control max-age: a
// reload for a change runs and shows the changed ones, not the copies the browser may reuse
// without asking (helper-138: the page reloaded after a script's save, the script was not asked
// for, and the old one ran). Every wait is bounded; nothing asserts on durations (see the reload
// race of `npm run bench`).
/* global window, document, sessionStorage -- used inside page callbacks, which run in the page */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from '../browser/chromium.mjs';

const TEST_TIMEOUT_MS = 60_000;
const WAIT_MS = 15_000;

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {string[]} */
const sites = [];

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const site of sites) await rm(site, { recursive: true, force: true });
});

async function newSite() {
  const site = await mkdtemp(path.join(tmpdir(), 'porthole-client-cache-'));
  sites.push(site);
  return site;
}

/** @param {string} text */
const page = (text) => `<!doctype html>
<html><head><meta charset="utf-8"><title>cached client</title></head>
<body><h1>${text}</h1></body></html>
`;

/**
 * The log's request lines for `target` once `done(lines)` holds (the log is written as requests
 * end); bounded by WAIT_MS.
 * @param {string} logFile
 * @param {(lines: string[]) => boolean} done
 */
async function logLines(logFile, done) {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    const lines = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter((l) => l.length > 0);
    if (done(lines) || Date.now() > until) return lines;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The server's generation (the events it has sent), from the hello of its event stream.
 * @param {string} url
 */
async function serverGeneration(url) {
  const stream = await fetch(`${url}__porthole/events`, { headers: { accept: 'text/event-stream' }, signal: globalThis.AbortSignal.timeout(WAIT_MS) });
  assert.ok(stream.body, 'the event stream answered');
  const reader = stream.body.getReader();
  let text = '';
  try {
    for (;;) {
      const generation = /event: hello\ndata: \{[^\n]*"generation":(\d+)/.exec(text);
      if (generation) return Number(generation[1]);
      const { value, done } = await reader.read();
      if (done) throw new Error(`no hello on the event stream: ${text}`);
      text += Buffer.from(value).toString('utf8');
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

test('a reloaded page runs the client from the browser cache: one request for it across reloads', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  const logFile = path.join(await newSite(), 'requests.log');
  await writeFile(path.join(site, 'index.html'), page('load 0'));
  const cli = await startCli([site, '--port', '0', '--log', logFile, '--quiet', '--reload-debounce', '50']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(cli.url, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    const sentBefore = await tab.evaluate(() => window.__portholeReload.generation);
    for (let i = 1; i <= 2; i++) {
      await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
      await writeFile(path.join(site, 'index.html'), page(`load ${i}`));
      await tab.waitForFunction((n) => document.querySelector('h1')?.textContent === `load ${n}`, i, { timeout: WAIT_MS });
    }
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    // Three page loads, each followed by its WebSocket: once the third socket is logged (a socket
    // is logged when it ends, so close the tab), every client.js request would be there too.
    await context.close();
    // Each save is one event, or two when its write comes later than the settle after its
    // truncation (under load: a fourth load): at most one reload per event the server sent
    // before the tab closed (its generation, in the hello of a stream opened now).
    const sent = (await serverGeneration(cli.url)) - sentBefore;
    const lines = await logLines(logFile, (l) => l.filter((x) => x.includes('GET /__porthole/socket')).length >= 3);
    const pages = lines.filter((l) => /"GET \/ HTTP/.test(l));
    const clients = lines.filter((l) => l.includes('GET /__porthole/client.js'));
    assert.ok(sent >= 2 && pages.length >= 3 && pages.length <= 1 + sent, `the page was loaded once, then once per event (${sent} sent for the two saves):\n${lines.join('\n')}`);
    assert.equal(clients.length, 1, `client.js was asked for once, then taken from the cache:\n${lines.join('\n')}`);
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('a client cached from another Porthole version is fetched again and the page reloads with the server\'s', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await writeFile(path.join(site, 'index.html'), page('stale first'));
  // The client this build serves, and its version as written in it.
  const current = await startCli([site, '--port', '0', '--quiet']);
  let script;
  try {
    script = await (await fetch(`${current.url}__porthole/client.js`)).text();
  } finally {
    await current.stop();
  }
  const version = /var VERSION = '([^']+)';/.exec(script)?.[1];
  assert.ok(version, 'the client says its version');
  // Another version's client, kept in the browser's cache: a server with live reload off serves
  // that copy from the folder at the same URL, with a max-age, to a page that names it.
  await mkdir(path.join(site, '__porthole'));
  await writeFile(path.join(site, '__porthole', 'client.js'), script.replace(`var VERSION = '${version}';`, "var VERSION = 'stale0000000';"));
  await writeFile(
    path.join(site, 'porthole.config.json'),
    JSON.stringify({ headers: [{ source: '__porthole/**', headers: { 'Cache-Control': 'max-age=86400' } }] }),
  );
  await writeFile(path.join(site, 'index.html'), page('stale first').replace('</head>', '<script src="./__porthole/client.js"></script></head>'));
  const old = await startCli([site, '--port', '0', '--quiet', '--no-reload']);
  const context = await browser.newContext();
  /** @type {import('../browser/chromium.mjs').RunningCli | undefined} */
  let upgraded;
  try {
    const tab = await context.newPage();
    await tab.goto(old.url, { waitUntil: 'load' });
    assert.equal(await tab.evaluate(() => window.__portholeReload?.version), 'stale0000000');
    await old.stop();
    await rm(path.join(site, 'porthole.config.json'));
    await writeFile(path.join(site, 'index.html'), page('served with live reload'));
    upgraded = await startCli([site, '--port', String(old.port), '--quiet']);
    assert.equal(upgraded.port, old.port);
    // The reload (as after a restart) runs the cached copy first; its hello names this version.
    await tab.reload({ waitUntil: 'load' });
    await tab.waitForFunction((v) => window.__portholeReload?.version === v && window.__portholeReload?.id != null, version, {
      timeout: WAIT_MS,
    });
    assert.equal(await tab.locator('h1').textContent(), 'served with live reload');
  } finally {
    await context.close();
    await old.stop();
    await upgraded?.stop();
  }
});

/**
 * A page that counts its loads in sessionStorage, with `body` in it.
 * @param {string} body
 */
const countingPage = (body) => `<!doctype html>
<html><head><meta charset="utf-8"><title>cached files</title></head>
<body>
${body}
<script>sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads') || 0) + 1));</script>
</body></html>
`;

/**
 * Opens `url`, waits for its live-reload stream, runs `edit`, and waits until `shows` holds in
 * the page; returns how many times the page loaded in all.
 * @param {string} url
 * @param {(tab: import('playwright-core').Page) => Promise<boolean>} shownBefore
 * @param {() => Promise<void>} edit
 * @param {() => boolean} shows
 */
async function editAndWait(url, shownBefore, edit, shows) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(url, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    assert.ok(await shownBefore(tab), 'the page shows the first version');
    await edit();
    await tab.waitForFunction(shows, undefined, { timeout: WAIT_MS });
    return Number(await tab.evaluate(() => sessionStorage.getItem('loads')));
  } finally {
    await context.close();
  }
}

test('a script kept fresh by a configured max-age: a save reloads the page and the new script runs', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await mkdir(path.join(site, 'js'));
  await writeFile(path.join(site, 'index.html'), countingPage('<h1>app</h1><script src="js/app.js?v=1"></script>'));
  await writeFile(path.join(site, 'js', 'app.js'), 'document.title = "js v1";\n');
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50', '--header', 'Cache-Control: max-age=3600']);
  try {
    const loads = await editAndWait(
      cli.url,
      async (tab) => (await tab.title()) === 'js v1',
      () => writeFile(path.join(site, 'js', 'app.js'), 'document.title = "js v2";\n'),
      () => document.title === 'js v2',
    );
    assert.ok(loads >= 2 && loads <= 3, `reloaded for the save, not in a loop (${loads} loads)`);
  } finally {
    await cli.stop();
  }
});

test('a module imported by a module, cached as immutable by a config rule: a save of it shows its new export', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await writeFile(
    path.join(site, 'porthole.config.json'),
    JSON.stringify({ headers: [{ source: '**/*.js', headers: { 'Cache-Control': 'public, max-age=31536000, immutable' } }] }),
  );
  await writeFile(path.join(site, 'index.html'), countingPage('<p id="out"></p><script type="module" src="main.js"></script>'));
  await writeFile(path.join(site, 'main.js'), "import { word } from './util.js';\ndocument.getElementById('out').textContent = word;\n");
  await writeFile(path.join(site, 'util.js'), "export const word = 'util v1';\n");
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50']);
  try {
    await editAndWait(
      cli.url,
      async (tab) => {
        await tab.waitForFunction(() => document.getElementById('out')?.textContent === 'util v1', undefined, { timeout: WAIT_MS });
        return true;
      },
      () => writeFile(path.join(site, 'util.js'), "export const word = 'util v2';\n"),
      () => document.getElementById('out')?.textContent === 'util v2',
    );
  } finally {
    await cli.stop();
  }
});

/** @param {number} width */
const svg = (width) => `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="10"><rect width="${width}" height="10" fill="teal"/></svg>\n`;

test('an image a <picture> shows, kept fresh by a configured max-age: the reload it takes shows the new image', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await writeFile(path.join(site, 'index.html'), countingPage('<picture><img id="pic" src="pic.svg" alt="pic"></picture>'));
  await writeFile(path.join(site, 'pic.svg'), svg(10));
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50', '--header', 'Cache-Control: max-age=3600']);
  try {
    await editAndWait(
      cli.url,
      async (tab) => {
        await tab.waitForFunction(() => /** @type {HTMLImageElement | null} */ (document.getElementById('pic'))?.naturalWidth === 10, undefined, { timeout: WAIT_MS });
        return true;
      },
      () => writeFile(path.join(site, 'pic.svg'), svg(20)),
      () => /** @type {HTMLImageElement | null} */ (document.getElementById('pic'))?.naturalWidth === 20,
    );
  } finally {
    await cli.stop();
  }
});

test('a script only a same-origin frame runs, kept fresh by a configured max-age: the page reloads and the frame runs the new one', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await writeFile(path.join(site, 'index.html'), countingPage('<iframe id="f" src="frame.html"></iframe>'));
  await writeFile(path.join(site, 'frame.html'), '<!doctype html><html><body><p id="out"></p><script src="frame.js"></script></body></html>\n');
  await writeFile(path.join(site, 'frame.js'), "document.getElementById('out').textContent = 'frame v1';\n");
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50', '--header', 'Cache-Control: max-age=3600']);
  try {
    await editAndWait(
      cli.url,
      async (tab) => {
        await tab.waitForFunction(() => /** @type {HTMLIFrameElement | null} */ (document.getElementById('f'))?.contentDocument?.getElementById('out')?.textContent === 'frame v1', undefined, { timeout: WAIT_MS });
        return true;
      },
      () => writeFile(path.join(site, 'frame.js'), "document.getElementById('out').textContent = 'frame v2';\n"),
      () => /** @type {HTMLIFrameElement | null} */ (document.getElementById('f'))?.contentDocument?.getElementById('out')?.textContent === 'frame v2',
    );
  } finally {
    await cli.stop();
  }
});
