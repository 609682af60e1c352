// Live reload in headless Chromium (Debian's, via playwright-core) against the built CLI:
//   npm run build && node --test test/live-reload/browser.test.mjs
// The site is written into a fresh temp folder; the CLI logs into that folder's textlog.txt, so
// the log changing under the watcher is part of every run. Every wait is bounded by Playwright's
// timeouts or the test timeout; nothing asserts on durations (see the reload race of `npm run bench`).
/* global window, document, getComputedStyle, sessionStorage, navigator -- used inside page callbacks, which run in the page */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from '../browser/chromium.mjs';

const TEST_TIMEOUT_MS = 60_000;
const WAIT_MS = 15_000;

/** @param {string} text */
const page = (text) => `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>live</title>
<link rel="stylesheet" href="css/site.css">
</head>
<body>
<h1>${text}</h1>
<p>Grüße — 日本語 — 🎉</p>
<button id="more" type="button">more</button> <span id="count">0</span>
<script>
  let count = 0;
  document.getElementById('more').addEventListener('click', () => {
    count += 1;
    document.getElementById('count').textContent = String(count);
  });
  window.countValue = () => count;
  const s = "not the end: </body>";
</script>
</body>
</html>
`;

const RED_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC', 'base64');
const BLUE_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYPgPAAEDAQAIicLsAAAAAElFTkSuQmCC', 'base64');

/** Service workers by folder: `sw-pass` passes requests on, `sw-cache` answers from its cache first. */
const SERVICE_WORKERS = {
  'sw-pass': `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => e.respondWith(fetch(e.request)));
`,
  'sw-cache': `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => e.respondWith(caches.open('c').then(async (cache) => {
  const hit = await cache.match(e.request);
  if (hit) return hit;
  const res = await fetch(e.request);
  if (res.ok) await cache.put(e.request, res.clone());
  return res;
})));
`,
};

/**
 * A page that registers its folder's service worker and counts its loads in sessionStorage.
 * @param {string} folder
 * @param {string} text
 */
const workerPage = (folder, text) => `<!doctype html>
<html><head><meta charset="utf-8"><title>${folder}</title></head>
<body><h1>${text}</h1>
<script>
sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads') || 0) + 1));
navigator.serviceWorker.register('sw.js');
</script>
</body></html>
`;

/** @type {string} */
let site;
/** @type {import('../browser/chromium.mjs').RunningCli} */
let cli;
/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  site = await mkdtemp(path.join(tmpdir(), 'porthole-live-'));
  await mkdir(path.join(site, 'css'));
  await writeFile(path.join(site, 'index.html'), page('first'));
  await writeFile(path.join(site, 'fragment.html'), '<div class="fragment">a fragment</div>\n');
  await writeFile(path.join(site, 'css', 'site.css'), 'h1 { color: rgb(200, 0, 0); }\n');
  // The image and web-component pages' files exist before the server starts: no event of theirs
  // can reload a page those tests open (each test's first write is the change it watches).
  await writeFile(path.join(site, 'solo.png'), RED_PNG);
  await writeFile(path.join(site, 'pic.png'), RED_PNG);
  await writeFile(path.join(site, 'solo.html'), '<!doctype html><meta charset="utf-8"><title>solo</title><img id="i" src="solo.png">\n');
  await writeFile(
    path.join(site, 'pics.html'),
    '<!doctype html><meta charset="utf-8"><title>pics</title><picture><source srcset="pic.png" type="image/png"><img id="p" src="missing.png"></picture><img id="i" src="pic.png">\n',
  );
  // Pages that show an image otherwise than by an <img> too, and one that links to its image.
  for (const n of [1, 2, 3, 4]) await writeFile(path.join(site, `bg${n}.png`), RED_PNG);
  await writeFile(path.join(site, 'bg.css'), '.b { width: 4px; height: 4px; background: url(bg2.png); }\n');
  const imgPage = (body) => `<!doctype html><meta charset="utf-8"><title>bg</title><link rel="stylesheet" href="bg.css">${body}\n`;
  await writeFile(path.join(site, 'bg-inline.html'), imgPage('<img id="i" src="bg1.png"><div style="width:4px;height:4px;background:url(bg1.png)"></div>'));
  await writeFile(path.join(site, 'bg-sheet.html'), imgPage('<img id="i" src="bg2.png"><div class="b"></div>'));
  await writeFile(path.join(site, 'bg-svg.html'), imgPage('<img id="i" src="bg3.png"><svg width="4" height="4"><image href="bg3.png" width="4" height="4"/></svg>'));
  await writeFile(path.join(site, 'bg-link.html'), imgPage('<a href="bg4.png"><img id="i" src="bg4.png"></a>'));
  await writeFile(path.join(site, 'theme.css'), 'h1 { color: rgb(1, 1, 1); }\n');
  await writeFile(
    path.join(site, 'shadow.html'),
    `<!doctype html><meta charset="utf-8"><title>shadow</title><link rel="stylesheet" href="theme.css"><h1 id="outer">outer</h1><x-card></x-card>
<script>customElements.define('x-card', class extends HTMLElement { constructor() { super();
  this.attachShadow({ mode: 'open' }).innerHTML = '<link rel="stylesheet" href="theme.css"><h1 id="inner">inner</h1>'; } });</script>\n`,
  );
  // A page and its same-origin frames: one stylesheet both use, one only a frame uses.
  await writeFile(path.join(site, 'framed.css'), 'h1 { color: rgb(1, 1, 1); }\n');
  await writeFile(path.join(site, 'frame-only.css'), 'h1 { color: rgb(5, 5, 5); }\n');
  await writeFile(
    path.join(site, 'frames.html'),
    '<!doctype html><meta charset="utf-8"><title>frames</title><link rel="stylesheet" href="framed.css"><h1>page</h1><iframe id="a" src="frame-a.html"></iframe><iframe id="b" src="frame-b.html"></iframe>\n',
  );
  await writeFile(path.join(site, 'frame-a.html'), '<!doctype html><meta charset="utf-8"><title>a</title><link rel="stylesheet" href="framed.css"><h1>a</h1>\n');
  await writeFile(path.join(site, 'frame-b.html'), '<!doctype html><meta charset="utf-8"><title>b</title><style>@import url("frame-only.css");</style><h1>b</h1>\n');
  // Pages under a service worker: one that passes every request on, one that answers from its
  // cache first (caching what it fetched), each in a folder of its own (its scope).
  for (const [folder, worker] of Object.entries(SERVICE_WORKERS)) {
    await mkdir(path.join(site, folder));
    await writeFile(path.join(site, folder, 'index.html'), workerPage(folder, 'v1'));
    await writeFile(path.join(site, folder, 'sw.js'), worker);
  }
  cli = await startCli([site, '--port', '0', '--log', path.join(site, 'textlog.txt'), '--quiet', '--reload-debounce', '50']);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await cli?.stop();
  if (site !== undefined) await rm(site, { recursive: true, force: true });
});

/**
 * A fresh page on the site, with the live-reload stream connected (its hello received).
 * @param {string} [url]
 */
async function openConnected(url = cli.url) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const response = await tab.goto(url, { waitUntil: 'load' });
  await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  return { tab, response, context };
}

test('editing the HTML file reloads the page', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { tab, context } = await openConnected();
  try {
    await tab.evaluate(() => {
      window.__marker = 'before';
    });
    await writeFile(path.join(site, 'index.html'), page('second'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'second', undefined, {
      timeout: WAIT_MS,
    });
    assert.equal(await tab.evaluate(() => window.__marker), undefined, 'the page was reloaded');
  } finally {
    await context.close();
  }
});

/** @param {string} text  A page that counts its loads in sessionStorage (kept across reloads). */
const countingPage = (text) => `<!doctype html>
<html><head><meta charset="utf-8"><title>count</title><link rel="stylesheet" href="css/count.css"></head>
<body><h1>${text}</h1>
<script>sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads') || 0) + 1));</script>
</body></html>
`;

test('two saves in a row: the page shows the last one, reloaded at most twice', { timeout: TEST_TIMEOUT_MS }, async () => {
  await writeFile(path.join(site, 'css', 'count.css'), 'h1 { color: rgb(200, 0, 0); }\n');
  await writeFile(path.join(site, 'count.html'), countingPage('v1'));
  const { tab, context } = await openConnected(`${cli.url}count.html`);
  try {
    const sentBefore = await tab.evaluate(() => window.__portholeReload.generation);
    await writeFile(path.join(site, 'count.html'), countingPage('v2'));
    await writeFile(path.join(site, 'count.html'), countingPage('v3'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'v3', undefined, { timeout: WAIT_MS });
    // Events arrive in order: once a later stylesheet change is applied, every reload for the
    // saves has happened.
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await writeFile(path.join(site, 'css', 'count.css'), 'h1 { color: rgb(0, 0, 200); }\n');
    await tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 0, 200)', undefined, { timeout: WAIT_MS });
    const loads = Number(await tab.evaluate(() => sessionStorage.getItem('loads')));
    // Each save is one event, or two when its write comes later than the settle after its
    // truncation (under load): at most one reload per event sent before the stylesheet's.
    const sent = (await tab.evaluate(() => window.__portholeReload.generation)) - sentBefore - 1;
    assert.ok(loads >= 2 && loads <= 1 + sent, `loaded ${loads} times: the first load, then one reload per event (${sent} sent for the two saves)`);
    assert.equal(await tab.locator('h1').textContent(), 'v3');
  } finally {
    await context.close();
  }
});

/**
 * Our own event stream on the CLI, over TCP. `waitFor(piece)` resolves once `piece` has arrived;
 * bounded by WAIT_MS.
 */
function eventStream() {
  const socket = connect(cli.port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (c) => {
    received += c;
  });
  socket.on('error', () => {});
  socket.write(`GET /__porthole/events HTTP/1.1\r\nHost: 127.0.0.1:${cli.port}\r\nAccept: text/event-stream\r\n\r\n`);
  return {
    close: () => socket.destroy(),
    /** @param {string} piece */
    async waitFor(piece) {
      const until = Date.now() + WAIT_MS;
      while (!received.includes(piece)) {
        if (Date.now() > until) throw new Error(`no ${JSON.stringify(piece)} on the stream; got ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

test('a change made after the page loaded but before its stream connected still reloads it', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The page's first connection is held until the change has gone out to the channels that were
  // open, as when a reload's new page has not connected yet.
  await writeFile(path.join(site, 'race.html'), page('race one'));
  const context = await browser.newContext();
  /** @type {() => void} */
  let release = () => {};
  const held = new Promise((r) => {
    release = () => r(undefined);
  });
  let streams = 0;
  await context.routeWebSocket('**/__porthole/socket', async (route) => {
    if (++streams === 1) await held;
    route.connectToServer();
  });
  const watcher = eventStream();
  try {
    await watcher.waitFor('event: hello');
    const tab = await context.newPage();
    await tab.goto(`${cli.url}race.html`, { waitUntil: 'load' });
    assert.equal(await tab.locator('h1').textContent(), 'race one');
    await writeFile(path.join(site, 'race.html'), page('race two'));
    await watcher.waitFor('"/race.html"');
    release();
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'race two', undefined, { timeout: WAIT_MS });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  } finally {
    release();
    watcher.close();
    await context.close();
  }
});

test('editing the stylesheet swaps it in place and keeps the page state', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { tab, context } = await openConnected();
  try {
    for (let i = 0; i < 3; i++) await tab.click('#more');
    await tab.evaluate(() => {
      window.__marker = 'kept';
    });
    assert.equal(await tab.evaluate(() => getComputedStyle(document.querySelector('h1')).color), 'rgb(200, 0, 0)');
    await writeFile(path.join(site, 'css', 'site.css'), 'h1 { color: rgb(0, 0, 200); }\n');
    await tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 0, 200)', undefined, {
      timeout: WAIT_MS,
    });
    assert.equal(await tab.evaluate(() => window.countValue()), 3);
    assert.equal(await tab.evaluate(() => window.__marker), 'kept');
    assert.equal(await tab.locator('#count').textContent(), '3');
  } finally {
    await context.close();
  }
});

test('a changed image shown by a plain <img src> is fetched again in place; one a srcset or <picture> shows reloads the page (helper-55)', { timeout: TEST_TIMEOUT_MS }, async () => {
  // helper-55: only img[src] was refreshed: a <picture>'s or a srcset's copy kept the old
  // pixels and the page was not reloaded, so it showed two versions at once.
  // One page at a time: a tab on pics.html would reload for solo.png's event (no <img> of its
  // shows that file), which is right, but would hide what this test looks for.
  const solo = await openConnected(new URL('solo.html', cli.url).href);
  try {
    await solo.tab.evaluate(() => {
      window.__marker = 'kept';
    });
    await writeFile(path.join(site, 'solo.png'), BLUE_PNG);
    await solo.tab.waitForFunction(() => document.getElementById('i')?.getAttribute('src')?.includes('__porthole='), undefined, { timeout: WAIT_MS });
    assert.equal(await solo.tab.evaluate(() => window.__marker), 'kept', 'a plain <img src> is updated in place');
  } finally {
    await solo.context.close();
  }
  const pics = await openConnected(new URL('pics.html', cli.url).href);
  try {
    await pics.tab.evaluate(() => {
      window.__marker = 'kept';
    });
    await writeFile(path.join(site, 'pic.png'), BLUE_PNG);
    // Reloaded (the marker gone), and the <picture> shows the new file.
    await pics.tab.waitForFunction(() => window.__marker === undefined && window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  } finally {
    await pics.context.close();
  }
});

test('a changed image an <img> shows and a background, a style sheet or an SVG <image> shows too reloads the page; one only linked to is refreshed in place', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Only the <img> was fetched again: the background or the SVG image kept the old pixels, and
  // the page was not reloaded, so it showed two versions of the file at once.
  // One page at a time: an event for another page's image reloads a tab (no <img> of its shows it).
  for (const [page, file] of [['bg-inline.html', 'bg1.png'], ['bg-sheet.html', 'bg2.png'], ['bg-svg.html', 'bg3.png']]) {
    const { tab, context } = await openConnected(new URL(page, cli.url).href);
    try {
      await tab.evaluate(() => {
        window.__marker = 'kept';
      });
      await writeFile(path.join(site, file), BLUE_PNG);
      await tab.waitForFunction(() => window.__marker === undefined && window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
      assert.equal(await tab.evaluate(() => document.getElementById('i').getAttribute('src')), file, `${page}: reloaded, not refreshed in place`);
    } finally {
      await context.close();
    }
  }
  const { tab, context } = await openConnected(new URL('bg-link.html', cli.url).href);
  try {
    await tab.evaluate(() => {
      window.__marker = 'kept';
    });
    await writeFile(path.join(site, 'bg4.png'), BLUE_PNG);
    await tab.waitForFunction(() => document.getElementById('i')?.getAttribute('src')?.includes('__porthole='), undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'an image only linked to besides its <img> is refreshed in place');
  } finally {
    await context.close();
  }
});

test('a stylesheet a web component uses too is swapped inside its shadow root as well, in place (helper-55)', { timeout: TEST_TIMEOUT_MS }, async () => {
  // helper-55: the document's copy was swapped, the shadow root's kept the old rules, and the
  // page was not reloaded.
  const { tab, context } = await openConnected(new URL('shadow.html', cli.url).href);
  try {
    const colors = () =>
      tab.evaluate(() => {
        const inner = document.querySelector('x-card')?.shadowRoot?.getElementById('inner');
        return [getComputedStyle(document.getElementById('outer')).color, inner ? getComputedStyle(inner).color : ''];
      });
    await tab.waitForFunction(() => {
      const inner = document.querySelector('x-card')?.shadowRoot?.getElementById('inner');
      return inner !== undefined && inner !== null && getComputedStyle(inner).color === 'rgb(1, 1, 1)';
    }, undefined, { timeout: WAIT_MS });
    await tab.evaluate(() => {
      window.__marker = 'kept';
    });
    await writeFile(path.join(site, 'theme.css'), 'h1 { color: rgb(2, 2, 2); }\n');
    await tab.waitForFunction(() => {
      const inner = document.querySelector('x-card')?.shadowRoot?.getElementById('inner');
      return getComputedStyle(document.getElementById('outer')).color === 'rgb(2, 2, 2)' && inner !== undefined && inner !== null && getComputedStyle(inner).color === 'rgb(2, 2, 2)';
    }, undefined, { timeout: WAIT_MS }).catch(async (err) => {
      throw new Error(`colours now ${JSON.stringify(await colors())}: ${err.message}`);
    });
    assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place, not reloaded');
  } finally {
    await context.close();
  }
});

test('a stylesheet the page shares with its same-origin iframes is swapped in them too; one only an iframe uses is swapped there, in place', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The page's own frames are not injected (only top-level navigations are): the page's client
  // swapped its own <link> and left the frame showing the old rules, without reloading; a sheet
  // only a frame used reloaded the whole page.
  const { tab, context } = await openConnected(new URL('frames.html', cli.url).href);
  try {
    const colors = () =>
      tab.evaluate(() =>
        [document, document.getElementById('a')?.contentDocument, document.getElementById('b')?.contentDocument].map((d) => {
          const h1 = d?.querySelector('h1');
          return h1 ? getComputedStyle(h1).color : '';
        }),
      );
    const waitColors = (want) =>
      tab.waitForFunction((w) => {
        const got = [document, document.getElementById('a')?.contentDocument, document.getElementById('b')?.contentDocument].map((d) => {
          const h1 = d?.querySelector('h1');
          return h1 ? getComputedStyle(h1).color : '';
        });
        return JSON.stringify(got) === JSON.stringify(w);
      }, want, { timeout: WAIT_MS }).catch(async (err) => {
        throw new Error(`colours now ${JSON.stringify(await colors())}, want ${JSON.stringify(want)}: ${err.message}`);
      });
    await waitColors(['rgb(1, 1, 1)', 'rgb(1, 1, 1)', 'rgb(5, 5, 5)']);
    await tab.evaluate(() => {
      window.__marker = 'kept';
    });
    await writeFile(path.join(site, 'framed.css'), 'h1 { color: rgb(2, 2, 2); }\n');
    await waitColors(['rgb(2, 2, 2)', 'rgb(2, 2, 2)', 'rgb(5, 5, 5)']);
    assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place, not reloaded');
    await writeFile(path.join(site, 'frame-only.css'), 'h1 { color: rgb(6, 6, 6); }\n');
    await waitColors(['rgb(2, 2, 2)', 'rgb(2, 2, 2)', 'rgb(6, 6, 6)']);
    assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'the frame\'s own sheet swapped in place, the page not reloaded');
  } finally {
    await context.close();
  }
});

/**
 * A tab on `folder`'s page, controlled by its service worker, loaded through it (the navigation
 * the worker passed on or answered), with the live-reload stream connected.
 * @param {string} folder
 */
async function openUnderServiceWorker(folder) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(new URL(`${folder}/index.html`, cli.url).href, { waitUntil: 'load' });
  await tab.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: WAIT_MS });
  await tab.reload({ waitUntil: 'load' });
  await tab.waitForFunction(() => navigator.serviceWorker.controller !== null && window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS }).catch(async (err) => {
    const html = await tab.content();
    throw new Error(`the page loaded through its service worker has no connected client (${/data-porthole-client/.test(html) ? 'tag present' : 'no tag'}): ${err.message}`);
  });
  return { tab, context };
}

test('a page under a service worker that passes navigations on is served with the client and reloads on a save', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Chromium sends a navigation a service worker passes on (fetch(event.request)) with
  // Sec-Fetch-Dest: empty: from its second load on, the page came without the client and never
  // reloaded again.
  const { tab, context } = await openUnderServiceWorker('sw-pass');
  try {
    await writeFile(path.join(site, 'sw-pass', 'index.html'), workerPage('sw-pass', 'v2'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'v2', undefined, { timeout: WAIT_MS });
  } finally {
    await context.close();
  }
});

test('a page a service worker answers from its cache reloads once per save, not in a loop', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The cached copy is always behind the server's count of changes: every load of it saw itself
  // behind and reloaded, dozens of times a second, for good.
  const { tab, context } = await openUnderServiceWorker('sw-cache');
  try {
    const loads = () => tab.evaluate(() => Number(sessionStorage.getItem('loads')));
    const before = await loads();
    const generation = () => tab.evaluate(() => window.__portholeReload.generation);
    const sentBefore = await generation();
    await writeFile(path.join(site, 'sw-cache', 'index.html'), workerPage('sw-cache', 'v2'));
    await tab.waitForFunction((n) => Number(sessionStorage.getItem('loads')) > n && window.__portholeReload?.id != null, before, { timeout: WAIT_MS });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // One save is usually one event, but two when its write comes later than the settle after its
    // truncation (under load: generation 0 -> 2, 4 loads where 3 were counted): at most one reload
    // per event the server sent (the page's generation counts them), never a loop.
    const reloads = (await loads()) - before;
    const sent = (await generation()) - sentBefore;
    assert.ok(sent >= 1, `the save was sent (${sent} events)`);
    assert.ok(reloads >= 1 && reloads <= sent, `${reloads} reloads for the save's ${sent} events`);
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('__porthole_reload')), null, 'nothing of ours left in the page\'s storage');
  } finally {
    await context.close();
  }
});

test('a page whose <base href> points to another origin still loads the client from this server and reloads', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Before the tag went in front of the base element, its src resolved against the base: the
  // browser asked cdn.invalid for /__porthole/client.js (another origin's script) and never reloaded.
  const html = (text) => `<!doctype html><html><head><base href="https://cdn.invalid/assets/"><meta charset="utf-8"><title>base</title></head><body><h1>${text}</h1></body></html>\n`;
  await writeFile(path.join(site, 'based.html'), html('one'));
  const context = await browser.newContext();
  const asked = [];
  context.on('request', (r) => asked.push(r.url()));
  const tab = await context.newPage();
  try {
    await tab.goto(new URL('based.html', cli.url).href, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    // What the browser fetched (the element's `src` property is resolved anew against the base
    // each time it is read, so it cannot tell).
    assert.ok(asked.includes(new URL('/__porthole/client.js', cli.url).href), asked.join(' '));
    assert.deepEqual(asked.filter((u) => u.includes('cdn.invalid')), []);
    await writeFile(path.join(site, 'based.html'), html('two'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'two', undefined, { timeout: WAIT_MS });
  } finally {
    await context.close();
  }
});

test('fetch() of an HTML file gets the file byte for byte', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { tab, context } = await openConnected();
  try {
    for (const name of ['fragment.html', 'index.html']) {
      const bytes = await tab.evaluate(async (n) => Array.from(new Uint8Array(await (await fetch(n)).arrayBuffer())), name);
      assert.deepEqual(Buffer.from(bytes), await readFile(path.join(site, name)), name);
    }
  } finally {
    await context.close();
  }
});

test('an injected page: Content-Length equals the bytes received', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { response, context } = await openConnected(`${cli.url}index.html`);
  try {
    assert.ok(response);
    const body = await response.body();
    const headers = await response.allHeaders();
    assert.equal(Number(headers['content-length']), body.length);
    assert.ok(body.toString('utf8').includes('/__porthole/client.js'));
    assert.match(headers.etag ?? '', /^W\//);
    // Console forwarding is on (the default): the tag went first in the head, right after the
    // charset meta, and the script string with a </body> in it is untouched.
    const text = body.toString('utf8');
    assert.ok(text.includes('"not the end: </body>"'));
    assert.match(text, /<meta charset="utf-8"><script src="\.\/__porthole\/client\.js"/);
    assert.ok(text.indexOf('/__porthole/client.js') < text.indexOf('not the end'));
  } finally {
    await context.close();
  }
});

test('the log file changing does not reload the page', { timeout: TEST_TIMEOUT_MS }, async () => {
  const { tab, context } = await openConnected();
  try {
    await tab.evaluate(() => {
      window.__marker = 'still here';
    });
    // Requests write the log; then the log is written to directly too.
    await tab.evaluate(async () => {
      for (let i = 0; i < 5; i++) await fetch(`fragment.html?n=${i}`);
    });
    await appendFile(path.join(site, 'textlog.txt'), '');
    await appendFile(path.join(site, 'textlog.txt'), '# touched by the test\n');
    // A stylesheet change after them: its event comes after any event they could have caused.
    await writeFile(path.join(site, 'css', 'site.css'), 'h1 { color: rgb(0, 120, 0); }\n');
    await tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 120, 0)', undefined, {
      timeout: WAIT_MS,
    });
    assert.equal(await tab.evaluate(() => window.__marker), 'still here');
  } finally {
    await context.close();
  }
});

test('with --no-reload nothing is injected', { timeout: TEST_TIMEOUT_MS }, async () => {
  const off = await startCli([site, '--port', '0', '--quiet', '--no-reload']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const response = await tab.goto(off.url, { waitUntil: 'load' });
    assert.ok(response);
    assert.deepEqual(await response.body(), await readFile(path.join(site, 'index.html')));
    assert.equal(await tab.evaluate(() => window.__portholeReload), undefined);
  } finally {
    await context.close();
    await off.stop();
  }
});

test('a saved build source (Sass, TypeScript) leaves a page as it is when nothing loaded it, its built stylesheet swapped in place; one something loaded (the page, its worker) reloads pages', { timeout: TEST_TIMEOUT_MS }, async () => {
  await mkdir(path.join(site, 'src'), { recursive: true });
  await writeFile(path.join(site, 'src', 'theme.scss'), '$c: rgb(1, 2, 3);\nh1 { color: $c; }\n');
  await writeFile(path.join(site, 'src', 'main.ts'), 'export const n: number = 1;\n');
  await writeFile(path.join(site, 'src', 'work.ts'), 'export const w: number = 1;\n');
  await writeFile(path.join(site, 'built.css'), 'h1 { color: rgb(1, 2, 3); }\n');
  await writeFile(path.join(site, 'built.html'), '<!doctype html><meta charset="utf-8"><title>built</title><link rel="stylesheet" href="built.css"><h1>built</h1>\n');
  await writeFile(
    path.join(site, 'fetches-source.html'),
    '<!doctype html><meta charset="utf-8"><title>fetches</title><h1 id="t">…</h1><script>fetch("src/main.ts").then((r) => r.text()).then((t) => { document.getElementById("t").textContent = t; });</script>\n',
  );
  // A worker's loads are in its own resource timing, which the page cannot read (helper-166).
  await writeFile(path.join(site, 'compile-worker.js'), 'fetch("src/work.ts").then((r) => r.text()).then((t) => postMessage(t));\n');
  await writeFile(
    path.join(site, 'worker-source.html'),
    '<!doctype html><meta charset="utf-8"><title>worker</title><h1 id="t">…</h1><script>new Worker("compile-worker.js").onmessage = (e) => { document.getElementById("t").textContent = e.data; };</script>\n',
  );
  const built = await openConnected(new URL('built.html', cli.url).href);
  try {
    await built.tab.evaluate(() => {
      window.__marker = 'kept';
    });
    // What a `sass --watch` does: the source saved, then the stylesheet it builds.
    await writeFile(path.join(site, 'src', 'theme.scss'), '$c: rgb(4, 5, 6);\nh1 { color: $c; }\n');
    await writeFile(path.join(site, 'built.css'), 'h1 { color: rgb(4, 5, 6); }\n');
    await built.tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(4, 5, 6)', undefined, { timeout: WAIT_MS });
    // The stylesheet's event came after the source's: had it reloaded the page, the marker was gone.
    assert.equal(await built.tab.evaluate(() => window.__marker), 'kept');
  } finally {
    await built.context.close();
  }
  for (const [page, file, text] of [['fetches-source.html', 'main.ts', 'n: number'], ['worker-source.html', 'work.ts', 'w: number']]) {
    const { tab, context } = await openConnected(new URL(page, cli.url).href);
    try {
      await tab.waitForFunction((t) => document.getElementById('t')?.textContent?.includes(`${t} = 1`), text, { timeout: WAIT_MS });
      await tab.evaluate(() => {
        window.__marker = 'kept';
      });
      await writeFile(path.join(site, 'src', file), `export const ${text} = 2;\n`);
      await tab.waitForFunction((t) => window.__marker === undefined && document.getElementById('t')?.textContent?.includes(`${t} = 2`), text, { timeout: WAIT_MS });
    } finally {
      await context.close();
    }
  }
});

test('after a server restart the page reconnects and reloads', { timeout: TEST_TIMEOUT_MS }, async () => {
  const first = await startCli([site, '--port', '0', '--quiet']);
  const context = await browser.newContext();
  /** @type {import('../browser/chromium.mjs').RunningCli | undefined} */
  let second;
  try {
    const tab = await context.newPage();
    await tab.goto(first.url, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await tab.evaluate(() => {
      window.__marker = 'old server';
    });
    await first.stop();
    second = await startCli([site, '--port', String(first.port), '--quiet']);
    assert.equal(second.port, first.port);
    await tab.waitForFunction(() => window.__marker === undefined && window.__portholeReload?.id != null, undefined, {
      timeout: WAIT_MS,
    });
  } finally {
    await context.close();
    await first.stop();
    await second?.stop();
  }
});
