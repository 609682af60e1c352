// Issue 12 (mounts, clean URLs) in headless Chromium against the built CLI:
//   npm run build && node --test test/browser/mounts-clean-urls.test.mjs
// - --clean-urls: /about loads about.html (200), its script runs, location stays /about; a link to
//   /about.html ends on /about (the 301), and an edit of about.html reloads the page (live reload);
// - --mount: a page whose <script src> comes from a mounted folder (/vendor/lib.js) runs it; an
//   edit of the mounted script reloads the page (mounted folders are watched).
// Every wait is bounded; nothing asserts on durations.
/* global document, window, location -- used inside page.evaluate(), which runs in the page */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from './chromium.mjs';

const WAIT_MS = 15_000;
const TEST_TIMEOUT_MS = 60_000;

/** @type {string} */
let base;
/** @type {import('./chromium.mjs').RunningCli[]} */
const clis = [];
/** @type {import('playwright-core').Browser} */
let browser;

const aboutPage = (title) => `<!doctype html>
<html><head><title>${title}</title><script src="/vendor/lib.js"></script></head>
<body><h1>${title}</h1><p id="from-mount"></p><p id="path"></p>
<script>document.getElementById('path').textContent = location.pathname;</script></body></html>
`;
const libScript = (word) => `window.addEventListener('DOMContentLoaded', () => { document.getElementById('from-mount').textContent = '${word}'; });\n`;

before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'porthole-mounts-browser-'));
  await mkdir(path.join(base, 'site'), { recursive: true });
  await mkdir(path.join(base, 'node_modules', 'lib'), { recursive: true });
  await writeFile(path.join(base, 'site', 'about.html'), aboutPage('about'));
  await writeFile(path.join(base, 'site', 'index.html'), '<!doctype html><a id="go" href="/about.html">about</a>');
  await writeFile(path.join(base, 'node_modules', 'lib', 'lib.js'), libScript('mounted script ran'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const cli of clis) await cli.stop();
  await rm(base, { recursive: true, force: true });
});

test('a clean URL page whose script comes from a mount: loads, runs, and reloads on edits of either', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cli = await startCli(['site', '--port', '0', '--quiet', '--clean-urls', '--mount', '/vendor=./node_modules/lib', '--reload-debounce', '50'], { cwd: base });
  clis.push(cli);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    /** @type {Map<string, number>} */
    const statuses = new Map();
    tab.on('response', (r) => statuses.set(new URL(r.url()).pathname, r.status()));
    const response = await tab.goto(`${cli.url}about`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    await tab.waitForFunction(() => document.getElementById('from-mount')?.textContent === 'mounted script ran', undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => document.getElementById('path')?.textContent), '/about');
    assert.equal(statuses.get('/vendor/lib.js'), 200);

    // The old .html link ends on the clean URL.
    await tab.goto(cli.url, { waitUntil: 'load' });
    await tab.click('#go');
    await tab.waitForFunction(() => location.pathname === '/about' && document.querySelector('h1')?.textContent === 'about', undefined, { timeout: WAIT_MS });
    assert.equal(statuses.get('/about.html'), 301);

    // Live reload: an edit of the clean URL's file, then of the mounted script.
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await writeFile(path.join(base, 'site', 'about.html'), aboutPage('edited'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'edited', undefined, { timeout: WAIT_MS });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await writeFile(path.join(base, 'node_modules', 'lib', 'lib.js'), libScript('edited mounted script'));
    await tab.waitForFunction(() => document.getElementById('from-mount')?.textContent === 'edited mounted script', undefined, { timeout: WAIT_MS });
  } finally {
    await context.close();
  }
});
