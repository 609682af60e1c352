// What the browser's cache keeps under live reload, in headless Chromium against the built CLI:
//   npm run build && node --test test/live-reload/client-cache-browser.test.mjs
// A reloaded page runs /__porthole/client.js from the cache (no request, so no round trip before
// the page's first script), and a copy cached from another Porthole version is replaced by the
// server's. A page's own files kept fresh in the cache by a configured Cache-Control max-age: a
// reload for a change runs and shows the changed ones, not the copies the browser may reuse
// without asking (helper-138: the page reloaded after a script's save, the script was not asked
// for, and the old one ran); and a stylesheet or an image updated in place leaves the cache of its
// plain URL fresh too, for other pages, new tabs and reloads. Every wait is bounded; nothing
// asserts on durations (see the reload race of `npm run bench`).
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
    const tab = await openConnected(context, cli.url);
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

/**
 * A new tab of `context` on `url`, once its live-reload channel has said hello (bounded by WAIT_MS).
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} url
 */
async function openConnected(context, url) {
  const tab = await context.newPage();
  await tab.goto(url, { waitUntil: 'load' });
  await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  return tab;
}

/**
 * Waits, bounded by WAIT_MS and without failing, until `tab` has fetched `pathname` past its
 * cache (a resource entry of a fetch(): the client's re-fetch of a plain URL it swapped in place),
 * so that a page opened next finds what it stored. Returns whether it did.
 * @param {import('playwright-core').Page} tab
 * @param {string} pathname
 */
async function refetched(tab, pathname) {
  return tab
    .waitForFunction(
      (p) => window.performance.getEntriesByType('resource').some((e) => /** @type {PerformanceResourceTiming} */ (e).initiatorType === 'fetch' && new URL(e.name).pathname === p && new URL(e.name).search === ''),
      pathname,
      { timeout: WAIT_MS },
    )
    .then(() => true, () => false);
}

test('a stylesheet kept fresh by a configured max-age, swapped in place: a new tab linking its plain URL shows the new style, the page keeps its state', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await mkdir(path.join(site, 'css'));
  await writeFile(
    path.join(site, 'porthole.config.json'),
    JSON.stringify({ headers: [{ source: '**/*.css', headers: { 'Cache-Control': 'max-age=31536000' } }] }),
  );
  const linked = countingPage('<h1 id="t">styled</h1>').replace('</head>', '<link rel="stylesheet" href="css/style.css"></head>');
  await writeFile(path.join(site, 'index.html'), linked);
  await writeFile(path.join(site, 'other.html'), linked);
  await writeFile(path.join(site, 'css', 'style.css'), '#t { color: rgb(255, 0, 0); }\n');
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50']);
  const context = await browser.newContext();
  const color = () => window.getComputedStyle(/** @type {HTMLElement} */ (document.getElementById('t'))).color;
  try {
    const tab = await openConnected(context, cli.url);
    assert.equal(await tab.evaluate(color), 'rgb(255, 0, 0)');
    await tab.evaluate(() => { window.kept = 'state'; });
    await writeFile(path.join(site, 'css', 'style.css'), '#t { color: rgb(0, 0, 255); }\n');
    await tab.waitForFunction(() => window.getComputedStyle(/** @type {HTMLElement} */ (document.getElementById('t'))).color === 'rgb(0, 0, 255)', undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.kept), 'state', 'swapped in place: the page\'s JavaScript state is kept');
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('loads')), '1', 'no reload');
    await refetched(tab, '/css/style.css');
    // A new tab of the same context shares the browser's HTTP cache.
    const second = await context.newPage();
    await second.goto(`${cli.url}other.html`, { waitUntil: 'load' });
    assert.equal(await second.evaluate(color), 'rgb(0, 0, 255)', 'the plain URL\'s cached copy is the new one');
    // And the first page, reloaded as F5 does (subresources from the cache), shows it too.
    await tab.reload({ waitUntil: 'load' });
    assert.equal(await tab.evaluate(color), 'rgb(0, 0, 255)', 'a reload shows the new style');
  } finally {
    await context.close();
    await cli.stop();
  }
});

// A <link>'s sheet that @imports the changed file is loaded again as a whole (its @import edited in
// the sheet left the page unstyled until it loaded: helper-158): its @import names the plain URL,
// which a configured max-age keeps fresh in the cache, so the link waits for the client's refetch.
test('a file a <link>\'s sheet imports, kept fresh by a configured max-age, swapped in place: the page shows the new style and keeps its state', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await mkdir(path.join(site, 'css'));
  await writeFile(
    path.join(site, 'porthole.config.json'),
    JSON.stringify({ headers: [{ source: '**/*.css', headers: { 'Cache-Control': 'max-age=31536000' } }] }),
  );
  await writeFile(path.join(site, 'index.html'), countingPage('<h1 id="t">styled</h1>').replace('</head>', '<link rel="stylesheet" href="css/outer.css"></head>'));
  await writeFile(path.join(site, 'css', 'outer.css'), '@import url("deep.css");\n');
  await writeFile(path.join(site, 'css', 'deep.css'), '#t { color: rgb(255, 0, 0); }\n');
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50']);
  const context = await browser.newContext();
  try {
    const tab = await openConnected(context, cli.url);
    await tab.evaluate(() => { window.kept = 'state'; });
    for (const color of ['rgb(0, 0, 255)', 'rgb(0, 128, 0)']) {
      await writeFile(path.join(site, 'css', 'deep.css'), `#t { color: ${color}; }\n`);
      await tab.waitForFunction((c) => window.getComputedStyle(/** @type {HTMLElement} */ (document.getElementById('t'))).color === c, color, { timeout: WAIT_MS });
    }
    assert.equal(await tab.evaluate(() => window.kept), 'state', 'swapped in place: the page\'s JavaScript state is kept');
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('loads')), '1', 'no reload');
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('an image kept fresh by a configured max-age, refreshed in place: a new tab showing its plain URL shows the new image', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await mkdir(path.join(site, 'img'));
  const shown = countingPage('<img id="pic" src="img/pic.svg" alt="pic">');
  await writeFile(path.join(site, 'index.html'), shown);
  await writeFile(path.join(site, 'other.html'), shown);
  await writeFile(path.join(site, 'img', 'pic.svg'), svg(10));
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50', '--header', 'Cache-Control: max-age=3600']);
  const context = await browser.newContext();
  const width = () => /** @type {HTMLImageElement | null} */ (document.getElementById('pic'))?.naturalWidth;
  try {
    const tab = await openConnected(context, cli.url);
    assert.equal(await tab.evaluate(width), 10);
    await tab.evaluate(() => { window.kept = 'state'; });
    await writeFile(path.join(site, 'img', 'pic.svg'), svg(20));
    await tab.waitForFunction(() => /** @type {HTMLImageElement | null} */ (document.getElementById('pic'))?.naturalWidth === 20, undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.kept), 'state', 'refreshed in place: the page\'s JavaScript state is kept');
    await refetched(tab, '/img/pic.svg');
    const second = await context.newPage();
    await second.goto(`${cli.url}other.html`, { waitUntil: 'load' });
    assert.equal(await second.evaluate(width), 20, 'the plain URL\'s cached copy is the new one');
  } finally {
    await context.close();
    await cli.stop();
  }
});

// Records the URLs the page fetches past the cache (the client's re-fetches), before any save.
const SPY = "window.refetches = [];\nvar pageFetch = window.fetch;\nwindow.fetch = function (input, init) {\n  if (init && init.cache === 'reload') window.refetches.push(String(input));\n  return pageFetch.apply(this, arguments);\n};\n";

test('a stylesheet two links, an @import and a frame share, swapped in place: its plain URL is fetched again once per change, also once the links carry a busted URL', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await mkdir(path.join(site, 'css'));
  await writeFile(path.join(site, 'spy.js'), SPY);
  await writeFile(
    path.join(site, 'index.html'),
    countingPage('<h1 id="t">shared</h1><iframe id="f" src="frame.html"></iframe>').replace(
      '</head>',
      '<script src="spy.js"></script><link rel="stylesheet" href="css/style.css"><link rel="stylesheet" href="css/style.css"><style>@import url("css/style.css");</style></head>',
    ),
  );
  await writeFile(path.join(site, 'frame.html'), '<!doctype html><html><head><link rel="stylesheet" href="css/style.css"></head><body><h1 id="t">frame</h1></body></html>\n');
  await writeFile(path.join(site, 'css', 'style.css'), '#t { color: rgb(255, 0, 0); }\n');
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50']);
  const context = await browser.newContext();
  try {
    const tab = await openConnected(context, cli.url);
    const frameColor = () => {
      const doc = /** @type {HTMLIFrameElement | null} */ (document.getElementById('f'))?.contentDocument;
      const t = doc?.getElementById('t');
      return t ? doc.defaultView?.getComputedStyle(t).color : undefined;
    };
    await tab.waitForFunction(frameColor, undefined, { timeout: WAIT_MS });
    for (const [i, color] of [[1, 'rgb(0, 0, 255)'], [2, 'rgb(0, 128, 0)']]) {
      const before = await tab.evaluate(() => ({ generation: window.__portholeReload.generation, calls: window.refetches.length }));
      await writeFile(path.join(site, 'css', 'style.css'), `#t { color: ${color}; }\n`);
      await tab.waitForFunction(
        (c) => {
          const doc = /** @type {HTMLIFrameElement | null} */ (document.getElementById('f'))?.contentDocument;
          const inFrame = doc?.getElementById('t');
          const t = document.getElementById('t');
          // The @import, last in the cascade, shows the new colour before every link's new sheet
          // has loaded: until each has, the link's copy is still in the page.
          const held = document.querySelectorAll('link[data-porthole-copy]').length + (doc?.querySelectorAll('link[data-porthole-copy]').length ?? 1);
          // And the <style>'s replaced @import rule stays until its new one has loaded.
          const imports = /** @type {HTMLStyleElement} */ (document.querySelector('style')).sheet?.cssRules.length;
          return !!t && !!inFrame && held === 0 && imports === 1 && window.getComputedStyle(t).color === c && doc?.defaultView?.getComputedStyle(inFrame).color === c;
        },
        color,
        { timeout: WAIT_MS },
      );
      // Read at once: each change message swaps and re-fetches in one task.
      const now = await tab.evaluate(() => ({
        generation: window.__portholeReload.generation,
        calls: window.refetches.slice(),
        hrefs: [
          ...[...document.querySelectorAll('link[rel="stylesheet"]')].map((l) => l.getAttribute('href')),
          /** @type {CSSImportRule} */ (/** @type {HTMLStyleElement} */ (document.querySelector('style')).sheet?.cssRules[0])?.href,
          /** @type {HTMLIFrameElement} */ (document.getElementById('f')).contentDocument?.querySelector('link')?.getAttribute('href'),
        ],
        loads: sessionStorage.getItem('loads'),
      }));
      assert.equal(now.loads, '1', `save ${i}: swapped in place, no reload`);
      assert.ok(now.hrefs.every((h) => typeof h === 'string' && h.includes('__porthole=')), `save ${i}: both links, the @import and the frame's link were swapped: ${now.hrefs.join(', ')}`);
      const events = now.generation - before.generation;
      const added = now.calls.slice(before.calls);
      assert.ok(events >= 1, `save ${i}: a change message came`);
      assert.deepEqual(added, Array(events).fill(`${cli.url}css/style.css`), `save ${i}: the plain URL, fetched again once per change message (${events})`);
    }
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('a page under a CSP (connect-src \'none\'): a stylesheet is still swapped in place, and nothing is fetched past the cache, refused or reported', { timeout: TEST_TIMEOUT_MS }, async () => {
  const site = await newSite();
  await mkdir(path.join(site, 'css'));
  await writeFile(path.join(site, 'spy.js'), SPY);
  await writeFile(
    path.join(site, 'porthole.config.json'),
    JSON.stringify({
      headers: [
        { source: 'csp.html', headers: { 'Content-Security-Policy': "default-src 'self'; connect-src 'none'; report-uri /csp-report" } },
        { source: '**/*.css', headers: { 'Cache-Control': 'max-age=31536000' } },
      ],
    }),
  );
  await writeFile(
    path.join(site, 'csp.html'),
    page('policy').replace('<h1>', '<h1 id="t">').replace('</head>', '<script src="spy.js"></script><link rel="stylesheet" href="css/style.css"></head>'),
  );
  await writeFile(path.join(site, 'css', 'style.css'), '#t { color: rgb(255, 0, 0); }\n');
  const cli = await startCli([site, '--port', '0', '--reload-debounce', '50']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    /** @type {string[]} */
    const said = [];
    tab.on('console', (m) => {
      if (/Content Security Policy|Fetch API cannot load/i.test(m.text())) said.push(m.text());
    });
    await tab.goto(`${cli.url}csp.html`, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await tab.evaluate(() => { window.kept = 'state'; });
    assert.ok(await tab.evaluate(() => document.querySelector('script[data-porthole-client]')?.hasAttribute('nonce')), 'the page is served under its policy');
    await writeFile(path.join(site, 'css', 'style.css'), '#t { color: rgb(0, 0, 255); }\n');
    await tab.waitForFunction(() => window.getComputedStyle(/** @type {HTMLElement} */ (document.getElementById('t'))).color === 'rgb(0, 0, 255)', undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.kept), 'state', 'swapped in place');
    assert.deepEqual(await tab.evaluate(() => window.refetches), [], 'nothing fetched past the cache under the policy');
    assert.deepEqual(said, [], 'nothing refused or reported');
    assert.doesNotMatch(cli.stdoutLines.join('\n'), /csp-report/, 'no violation report reached the server');
  } finally {
    await context.close();
    await cli.stop();
  }
});
