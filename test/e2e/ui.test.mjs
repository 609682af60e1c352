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
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { EXTENSION_ID, OUTPUT_DIR, e2e, freePorts, logChannelFile, portClosed, sampleWorkspace, tcpGet, tempDir, vsixPath } from './lib.mjs';

const MAX_VSIX_BYTES = 500 * 1024;
const require = createRequire(import.meta.url);

/** Asserts `har` is valid HAR 1.2 by the har-schema package's JSON Schema (draft-06). */
function validateHar(har) {
  const dir = path.dirname(require.resolve('har-schema'));
  // har-schema also uses `min`, which is no JSON Schema keyword: strict off.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addMetaSchema(require('ajv/lib/refs/json-schema-draft-06.json'));
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.json') && f !== 'har.json') ajv.addSchema(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(dir, 'har.json'), 'utf8')));
  assert.ok(validate(har), ajv.errorsText(validate.errors));
}
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

test('Copy as curl in a request\'s details: the clipboard holds a command that gets the same page from the server', async () => {
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
  const frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: 'li.request' });
  const request = frame.locator('li.request[role="treeitem"]').filter({ has: frame.locator('.path', { hasText: /^\/$/ }) }).first();
  if ((await request.getAttribute('aria-expanded')) !== 'true') await request.locator(':scope > .row .status').click();
  const copy = request.locator('li.copy-curl');
  await copy.waitFor({ state: 'visible', timeout: 10_000 });
  await copy.click();
  await e2e.statusBarItem(page, 'as curl').waitFor({ state: 'visible', timeout: 10_000 });
  await shot('copied-as-curl');
  const command = await page.evaluate(() => globalThis.navigator.clipboard.readText());
  assert.match(command, new RegExp(`^curl .*'http://127\\.0\\.0\\.1:${port}/'$`));
  const out = execFileSync('sh', ['-c', command], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(out, (await tcpGet(port, '/')).body);
  // The same from the request's context menu (VS Code's webview/context menu).
  await page.evaluate(() => globalThis.navigator.clipboard.writeText(''));
  await request.locator(':scope > .row .method').click({ button: 'right' });
  const item = page.locator('.context-view .action-item', { hasText: 'Copy as curl' }).first();
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  await shot('context-menu-copy-as-curl');
  await item.click();
  const deadline = Date.now() + 10_000;
  let again = '';
  while (again === '' && Date.now() < deadline) again = await page.evaluate(() => globalThis.navigator.clipboard.readText());
  assert.equal(again, command);
});

test('Copy as curl of a request whose path holds [label](command:…): the notification shows it as text, never as a link', async () => {
  const target = '/[Open_settings](command:workbench.action.openSettings)';
  const net = await import('node:net');
  await new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => socket.end(`POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nA`));
    socket.on('data', () => undefined);
    socket.on('close', resolve);
    socket.on('error', resolve);
  });
  const frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: 'li.request' });
  const request = frame.locator('li.request[role="treeitem"]').filter({ has: frame.locator('.path', { hasText: target }) }).first();
  await request.waitFor({ state: 'visible', timeout: 15_000 });
  if ((await request.getAttribute('aria-expanded')) !== 'true') await request.locator(':scope > .row .status').click();
  await request.locator('li.copy-curl').click();
  // A request with a body: the notification says the body is read from stdin, and names the request.
  const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'as curl' }).first();
  await toast.waitFor({ state: 'visible', timeout: 10_000 });
  await shot('copied-as-curl-link-text');
  assert.match(await toast.textContent(), /Open_settings\] \(command:workbench\.action\.openSettings\)/);
  // In Porthole's own notification: code-server's may carry links of its own (a port some other
  // process on the machine opened: "See all forwarded ports", a command link).
  assert.equal(await toast.locator('a[href^="command:"]').count(), 0, 'no command link from a client');
  await toast.locator('.codicon-notifications-clear, .codicon-close').first().click().catch(() => undefined);
});

test('Export Requests as HAR in the view title: the save dialog writes a HAR 1.2 file that validates and holds the requests', async () => {
  await tcpGet(port, '/?from=har');
  // Records reach the view in batches: export once the view shows this one.
  const frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: 'li.request' });
  await frame.locator('li.request .path', { hasText: /^\/\?from=har$/ }).first().waitFor({ state: 'attached', timeout: 15_000 });
  const target = path.join(root, 'requests.har');
  await page.locator('.part.sidebar .title-actions .action-label[aria-label="Export Requests as HAR"], .part.sidebar .actions-container .action-label[aria-label="Export Requests as HAR"]').first().click();
  // code-server's save dialog is VS Code's simple file dialog: a quick input holding a path.
  const input = page.locator('.quick-input-widget input').first();
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  // The dialog fills its value after it shows: poll (bounded) for the default name.
  const named = /porthole-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.har$/;
  let value = '';
  for (const until = Date.now() + 10_000; !named.test(value) && Date.now() < until; ) {
    value = await input.inputValue();
    if (!named.test(value)) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(value, named, 'the default name has the date');
  await shot('export-har-dialog');
  await input.fill(target);
  const ok = page.locator('.quick-input-widget .monaco-button', { hasText: /^OK$/ }).first();
  await ok.click();
  // The simple file dialog ignores OK while it still resolves the typed path (seen once on a cold
  // machine: the dialog stayed open, the path in it, for 20 s): while it shows, OK is pressed again.
  const deadline = Date.now() + 20_000;
  while (!fs.existsSync(target) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    if (!fs.existsSync(target) && (await input.isVisible())) await ok.click({ timeout: 2_000 }).catch(() => undefined);
  }
  if (!fs.existsSync(target)) await shot('export-har-not-written');
  assert.ok(fs.existsSync(target), `${target} written`);
  const har = JSON.parse(fs.readFileSync(target, 'utf8'));
  validateHar(har);
  assert.equal(har.log.creator.name, 'Porthole');
  const urls = har.log.entries.map((e) => e.request.url);
  assert.ok(urls.includes(`http://127.0.0.1:${port}/`), urls.join(' '));
  const query = har.log.entries.find((e) => e.request.url === `http://127.0.0.1:${port}/?from=har`);
  assert.ok(query, 'the request made just before the export is in it');
  assert.deepEqual(query.request.queryString, [{ name: 'from', value: 'har' }]);
  assert.equal(query.response.status, 200);
  assert.equal(query.serverIPAddress, '127.0.0.1');
  await shot('exported-har');
});

test('Stop from the status bar menu closes the port', async () => {
  await e2e.statusBarItem(page, `Port : ${port}`).click();
  await e2e.pickQuickInputRow(page, 'Stop');
  await e2e.statusBarItem(page, 'Go Live').waitFor({ state: 'visible', timeout: 20_000 });
  assert.equal(await portClosed(port), true);
  await shot('stopped');
  assert.match(logChannelFile(server, 'Porthole'), /Stopped after \d+ requests?/);
});

test('a file name holding [label](command:…) outside the served folder: the warning shows it as text, never as a link', async () => {
  // A cloned repository names its files: one outside porthole.root, opened in the editor.
  const ws = path.join(root, 'htdocs-sample');
  fs.mkdirSync(path.join(ws, 'public'), { recursive: true });
  fs.writeFileSync(path.join(ws, 'public', 'index.html'), '<!DOCTYPE html><title>public</title>');
  const name = '[Open_settings](command:workbench.action.openSettings).html';
  fs.writeFileSync(path.join(ws, name), '<!DOCTYPE html><title>outside</title>');
  const settingsFile = path.join(ws, '.vscode', 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(settingsFile, 'utf8')), 'porthole.root': 'public' }, null, 2));
  await new Promise((r) => setTimeout(r, 2_000));
  const input = page.locator('.quick-input-widget input').first();
  await page.keyboard.press('Control+P');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill('Open_settings');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open_settings' }).first().waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab', { hasText: 'Open_settings' }).first().waitFor({ state: 'visible', timeout: 15_000 });
  await e2e.runCommand(page, 'Porthole: Open Current File in Browser');
  const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'outside the served folder' }).first();
  await toast.waitFor({ state: 'visible', timeout: 30_000 });
  await shot('file-name-link-text');
  assert.match(await toast.textContent(), /Open_settings\] \(command:workbench\.action\.openSettings\)/);
  assert.equal(await toast.locator('a[href^="command:"]').count(), 0, 'no command link from a file name');
});
