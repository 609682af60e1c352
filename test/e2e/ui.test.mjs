// UI end to end in a real VS Code (code-server + Chromium): install the packaged .vsix, open a copy
// of htdocs-sample, click Go Live in the status bar, fetch the page over TCP, read the request line
// in the "Porthole" Output channel, find the request under its client node in the Requests view,
// click Stop and see the port closed. A screenshot of each step goes to test-output/e2e/.
// Needs `npm run build && npm run package` first.
/* global document */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EXTENSION_ID, OUTPUT_DIR, e2e, freePorts, logChannelFile, portClosed, sampleWorkspace, tcpGet, tempDir, vsixPath } from './lib.mjs';

const MAX_VSIX_BYTES = 500 * 1024;
let manifest; let root; let server; let browser; let page; let shot; let port;

before(async () => {
  manifest = e2e.ensureSetup({ quiet: true });
  const vsix = vsixPath();
  root = tempDir('porthole-ui-');
  [port] = await freePorts(1);
  const workspace = sampleWorkspace(path.join(root, 'htdocs-sample'), { 'porthole.port': port, 'porthole.openBrowser': false });
  // Only this file's numbered screenshots: the API test writes beside them.
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  for (const f of fs.readdirSync(OUTPUT_DIR)) if (/^\d\d-.*\.png$/.test(f)) fs.rmSync(path.join(OUTPUT_DIR, f));
  server = await e2e.startCodeServer({ manifest, vsix: [vsix], workspace, portRange: { from: 19000, to: 19999 } });
  browser = await e2e.launchBrowser({ manifest });
  page = browser.page;
  shot = e2e.screenshotter(page, OUTPUT_DIR);
  await e2e.openWorkbench(page, server);
});

after(async () => {
  await browser?.close();
  await server?.stop({ removeDirs: true });
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test('the .vsix is under 500 KB', () => {
  const size = fs.statSync(vsixPath()).size;
  console.log(`vsix ${path.basename(vsixPath())}: ${size} bytes`);
  assert.ok(size < MAX_VSIX_BYTES, `${size} bytes`);
});

test('Go Live in the status bar starts the server; the page answers over TCP', async () => {
  const goLive = e2e.statusBarItem(page, 'Go Live');
  await goLive.waitFor({ state: 'visible', timeout: 60_000 });
  await shot('workbench-go-live');
  await goLive.click();
  await e2e.statusBarItem(page, `Port : ${port}`).waitFor({ state: 'visible', timeout: 20_000 });
  const res = await tcpGet(port, '/');
  assert.equal(res.status, 200);
  assert.match(res.body, /Porthole sample site/);
  await shot('running');
});

test('the request line is in the "Porthole" Output channel', async () => {
  const text = await e2e.readOutputChannel(page, 'Porthole', { waitFor: /127\.0\.0\.1( \([^)]*\))? GET \/ 200 /, timeout: 20_000 });
  assert.match(text, /\d\d:\d\d:\d\d\.\d{3} 127\.0\.0\.1( \([^)]*\))? GET \/ 200 \d[\d.]* (B|KB) [\d.]+ ms/);
  assert.match(text, new RegExp(`Serving htdocs-sample at http://127\\.0\\.0\\.1:${port}/`));
  await shot('output-channel');
});

test('the Requests view shows the request under its client node', async () => {
  await e2e.openViewContainer(page, 'Porthole');
  const frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: 'li.request', timeout: 30_000 });
  const client = frame.locator('li.client[role="treeitem"]').first();
  assert.equal(await client.locator(':scope > .row .client-ip').textContent(), '127.0.0.1');
  const request = client.locator('li.request[role="treeitem"]').filter({ has: frame.locator('.path', { hasText: /^\/$/ }) }).first();
  await request.waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await request.locator('.method').textContent(), 'GET');
  assert.equal(await request.locator('.status').textContent(), '200');
  assert.match(await request.locator('.status').getAttribute('class'), /status-2xx/);
  assert.equal(await frame.locator('[role="tree"]').count(), 1);
  // Expand the request: its details (headers, timing) arrive from the host. (The status cell: a
  // side bar under 440 px hides the time cell.)
  await request.locator(':scope > .row .status').click();
  await request.locator('li.section', { hasText: 'Request headers' }).waitFor({ timeout: 10_000 });
  assert.equal(await request.getAttribute('aria-expanded'), 'true');
  await shot('requests-view');
  // Keyboard: ArrowUp moves to the client node, ArrowLeft collapses it.
  await request.focus();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  assert.equal(await frame.evaluate(() => document.activeElement?.classList.contains('client')), true);
  await page.keyboard.press('ArrowLeft');
  assert.equal(await client.getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('ArrowRight');
  assert.equal(await client.getAttribute('aria-expanded'), 'true');
});

test('clicking a path opens the served file in the editor', async () => {
  const frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: 'li.request' });
  await frame.locator('li.request .path.link', { hasText: /^\/$/ }).first().click();
  await page.locator('.tabs-container .tab', { hasText: 'index.html' }).first().waitFor({ state: 'visible', timeout: 15_000 });
  await shot('path-opens-file');
});

test('the view keeps its filter across hide/show', async () => {
  let frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: 'li.request' });
  await frame.locator('#filter').fill('no-such-path');
  await frame.locator('li.client').first().waitFor({ state: 'hidden', timeout: 15_000 });
  await e2e.openViewContainer(page, 'Explorer');
  await e2e.openViewContainer(page, 'Porthole');
  frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: '#filter' });
  await frame.locator('li.request').first().waitFor({ state: 'attached', timeout: 10_000 });
  assert.equal(await frame.locator('#filter').inputValue(), 'no-such-path');
  assert.equal(await frame.locator('li.client').first().isHidden(), true);
  await frame.locator('#filter').fill('');
  await frame.locator('li.client').first().waitFor({ state: 'visible', timeout: 15_000 });
});

test('Stop from the status bar menu closes the port', async () => {
  await e2e.statusBarItem(page, `Port : ${port}`).click();
  await e2e.pickQuickInputRow(page, 'Stop');
  await e2e.statusBarItem(page, 'Go Live').waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal(await portClosed(port), true);
  await shot('stopped');
  assert.match(logChannelFile(server, 'Porthole'), /Stopped after \d+ requests?/);
});
