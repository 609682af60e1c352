// The leading edge at once, in headless Chromium against the built CLI:
//   npm run build && node --test test/live-reload/at-once-browser.test.mjs
// A page is rewritten in place, a piece every millisecond or so, until the browser asks for the
// page again: the reload goes out with the first piece (not once the file has settled), and the
// server answers that request once the writing has stopped, so the page shows the whole save.
// Every wait is bounded; nothing asserts on durations (see the reload race of `npm run bench`).
/* global window, document -- used inside page callbacks, which run in the page */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from '../browser/chromium.mjs';

const TEST_TIMEOUT_MS = 60_000;
const WAIT_MS = 15_000;
/** Pieces the writer writes at most (about a millisecond apart) before it gives up waiting for the browser. */
const MAX_PIECES = 1_000;

/** @type {string} */
let site;
/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  site = await mkdtemp(path.join(tmpdir(), 'porthole-at-once-'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (site !== undefined) await rm(site, { recursive: true, force: true });
});

const head = (title) => `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n<body><h1>${title}</h1>\n`;

test('a save written in pieces: the page reloads while it is written, and shows it whole', { timeout: TEST_TIMEOUT_MS }, async () => {
  const file = path.join(site, 'index.html');
  await writeFile(file, `${head('before')}<p id="end">end</p></body></html>\n`);
  // A debounce longer than the writer runs: waiting for the file to settle (or for the debounce
  // to end) would send nothing until the writer gave up.
  const cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '5000']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(cli.url, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    let asked = false;
    tab.on('request', (r) => {
      if (r.isNavigationRequest() && r.frame() === tab.mainFrame()) asked = true;
    });
    writeFileSync(file, head('after'));
    let pieces = 0;
    while (!asked && pieces < MAX_PIECES) {
      appendFileSync(file, `<p class="piece">${pieces}</p>\n`);
      pieces += 1;
      await sleep(1);
    }
    appendFileSync(file, '<p id="end">end</p></body></html>\n');
    assert.ok(asked, `the browser asked for the page while it was written (${pieces} pieces)`);
    await tab
      .waitForFunction(
        (n) => document.querySelector('h1')?.textContent === 'after' && document.getElementById('end') !== null && document.querySelectorAll('p.piece').length === n,
        pieces,
        { timeout: WAIT_MS },
      )
      .catch(async (err) => {
        // What the tab shows instead, to tell a partial answer from a reload that never came.
        const shown = await tab
          .evaluate(() => ({ h1: document.querySelector('h1')?.textContent, pieces: document.querySelectorAll('p.piece').length, end: document.getElementById('end') !== null }))
          .catch((e) => String(e));
        throw new Error(`${err.message}; the tab shows ${JSON.stringify(shown)}, the file has ${pieces} pieces and its end`);
      });
  } finally {
    await context.close();
    await cli.stop();
  }
});
