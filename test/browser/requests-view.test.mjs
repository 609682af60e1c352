// Browser test of the Requests view's own script (media/requests.js) in Debian's Chromium: the
// page is the view's skeleton (as vscode-requests-view.ts writes it) served by the built CLI, with
// acquireVsCodeApi standing in for the webview host; messages are posted as the host posts them
// (src/extension/requests/webview-protocol.ts). Run after `npm run build`:
//   node --test test/browser/requests-view.test.mjs
/* global window, document -- used inside page.evaluate() callbacks, which run in the page */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, REPO_ROOT, startCli } from './chromium.mjs';

const STEP_TIMEOUT_MS = 30_000;

const PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Requests</title>
<script>
  window.sent = [];
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.sent.push(m), getState: () => undefined, setState: () => undefined });
</script></head>
<body>
<div class="toolbar" role="toolbar"><input id="filter" type="search">
<span class="chips">${['2xx', '3xx', '4xx', '5xx'].map((c) => `<button type="button" class="chip status-${c}" data-class="${c}" aria-pressed="true">${c}</button>`).join('')}</span>
<span class="toolbar-actions"><button type="button" id="pause" aria-pressed="false">Pause</button><button type="button" id="clear">Clear</button></span></div>
<section id="sharing" hidden></section>
<div id="summary" role="status"></div>
<ul id="tree" role="tree"></ul>
<p id="empty">No requests yet.</p>
<script src="requests.js"></script>
</body></html>`;

/** @type {string} */
let dir;
/** @type {import('./chromium.mjs').RunningCli | undefined} */
let cli;
/** @type {import('playwright-core').Browser | undefined} */
let browser;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'porthole-requests-view-'));
  await writeFile(path.join(dir, 'index.html'), PAGE);
  await copyFile(path.join(REPO_ROOT, 'media', 'requests.js'), path.join(dir, 'requests.js'));
  cli = await startCli([dir, '--port', '0', '--no-reload']);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await cli?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A row as the host formats it (toRow).
 * @param {number} key
 */
function row(key) {
  return {
    key, server: 'site', clientIp: '10.0.0.2', clientHost: undefined, timeText: '14:03:07.123', method: 'GET',
    target: `/big?${key}`, status: 200, statusClass: '2xx', bytesText: '17 B', durationText: '1 ms', aborted: false, hasFile: false, note: undefined,
  };
}

test('the view drops the rows the host dropped by bytes (append.oldest), not only beyond maxEntries', { timeout: STEP_TIMEOUT_MS }, async () => {
  assert.ok(cli && browser);
  const page = await browser.newPage();
  try {
    await page.goto(cli.url, { timeout: STEP_TIMEOUT_MS });
    await page.waitForFunction(() => window.sent.some((m) => m.type === 'ready'), undefined, { timeout: STEP_TIMEOUT_MS });
    const keys = () => page.evaluate(() => Array.from(document.querySelectorAll('li.request')).map((li) => Number(li.dataset.key)).sort((a, b) => a - b));
    const post = (message) => page.evaluate((m) => window.postMessage(m, '*'), message);
    await post({ type: 'snapshot', rows: [], dropped: 0, maxEntries: 1000, paused: false });
    await post({ type: 'append', rows: Array.from({ length: 50 }, (_, i) => row(i + 1)), dropped: 0, oldest: 1 });
    await page.waitForFunction(() => document.querySelectorAll('li.request').length === 50, undefined, { timeout: STEP_TIMEOUT_MS });
    // The host kept 1,000 at most by count, but its byte budget dropped keys 1..40.
    await post({ type: 'append', rows: Array.from({ length: 10 }, (_, i) => row(i + 51)), dropped: 40, oldest: 41 });
    await page.waitForFunction(() => document.querySelectorAll('li.request[data-key="60"]').length === 1, undefined, { timeout: STEP_TIMEOUT_MS });
    assert.deepEqual(await keys(), Array.from({ length: 20 }, (_, i) => i + 41), 'the view holds what the host holds');
    // A snapshot (the view reloaded) starts over: its rows are all kept.
    await post({ type: 'snapshot', rows: [row(70), row(71)], dropped: 69, maxEntries: 1000, paused: false });
    await post({ type: 'append', rows: [row(72)], dropped: 69, oldest: 70 });
    await page.waitForFunction(() => document.querySelectorAll('li.request[data-key="72"]').length === 1, undefined, { timeout: STEP_TIMEOUT_MS });
    assert.deepEqual(await keys(), [70, 71, 72]);
  } finally {
    await page.close();
  }
});
