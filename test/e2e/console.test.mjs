// A page's console in a real VS Code (code-server + Chromium): Go Live, open a page of the served
// folder in a second Chromium page; its console.error and its uncaught error appear in the
// "Porthole" Output channel (with the client and the page) and in the Requests view under the
// client, and the error's details (message, stack, source) open there. Then the setting
// `porthole.console.forward` set to "off" in the workspace applies live: the open page's console
// is handed back untouched. Screenshots go to test-output/e2e/console-*.png.
// Needs `npm run build && npm run package` first.
/* global window */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { EXTENSION_ID, OUTPUT_DIR, e2e, freePorts, logChannelFile, sampleWorkspace, tempDir, vsixPath, clickGoLive } from './lib.mjs';

const MARK = `e2e-console-${Date.now().toString(36)}`;
// Runs on `load`: after the live-reload client (end of <body>) has hooked the console.
const SCRIPT = `window.addEventListener('load', function () {
  console.error('${MARK} from the page', { answer: 42 });
  setTimeout(function boom() {
    throw new RangeError('${MARK} thrown');
  }, 0);
});
`;
let manifest; let root; let server; let browser; let page; let site; let port; let workspace;
let step = 0;

/** Screenshot of `p` to test-output/e2e/console-NN-name.png. */
const shot = (p, name) => p.screenshot({ path: path.join(OUTPUT_DIR, `console-${String(++step).padStart(2, '0')}-${name}.png`) });

before(async () => {
  manifest = e2e.ensureSetup({ quiet: true });
  const vsix = vsixPath();
  root = tempDir('porthole-console-');
  [port] = await freePorts(1);
  workspace = sampleWorkspace(path.join(root, 'htdocs-sample'), { 'porthole.port': port, 'porthole.openBrowser': false });
  fs.writeFileSync(path.join(workspace, 'console.html'), '<!doctype html>\n<html><head><meta charset="utf-8"><title>console page</title></head>\n<body><p>console</p><script src="console.js"></script></body></html>\n');
  fs.writeFileSync(path.join(workspace, 'console.js'), SCRIPT);
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  for (const f of fs.readdirSync(OUTPUT_DIR)) if (/^console-.*\.png$/.test(f)) fs.rmSync(path.join(OUTPUT_DIR, f));
  server = await e2e.startCodeServer({ manifest, vsix: [vsix], workspace, portRange: { from: 19000, to: 19999 } });
  browser = await e2e.launchBrowser({ manifest });
  page = browser.page;
  await e2e.openWorkbench(page, server);
});

after(async () => {
  await site?.close().catch(() => {});
  await browser?.close();
  await server?.stop({ removeDirs: true });
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test('Go Live, then the page runs in a second Chromium page', async () => {
  await clickGoLive(page, port);
  site = await browser.context.newPage();
  await site.goto(`http://127.0.0.1:${port}/console.html`, { waitUntil: 'load', timeout: 15_000 });
  await site.waitForFunction(() => Boolean(window.__portholeReload && window.__portholeReload.id), undefined, { timeout: 15_000 });
});

test('the console.error and the uncaught error are in the "Porthole" Output channel, with the client and the page', async () => {
  const pageUrl = `http://127.0.0.1:${port}/console.html`;
  const text = await e2e.readOutputChannel(page, 'Porthole', { waitFor: new RegExp(`uncaught error .*${MARK} thrown`), timeout: 30_000 });
  await shot(page, 'output-channel');
  const client = '127\\.0\\.0\\.1( \\([^)]*\\))?';
  const escaped = pageUrl.replace(/[.?]/g, '\\$&');
  assert.match(text, new RegExp(`\\[error\\] console\\.error ${client} ${escaped}: ${MARK} from the page \\{answer: 42\\} \\(http://127\\.0\\.0\\.1:${port}/console\\.js:2:11\\)`));
  assert.match(text, new RegExp(`\\[error\\] uncaught error ${client} ${escaped}: Uncaught RangeError: ${MARK} thrown \\(http://127\\.0\\.0\\.1:${port}/console\\.js:4:11\\)`));
});

test('the Requests view shows them under the client, with message, stack and source as details', async () => {
  await e2e.openViewContainer(page, 'Porthole');
  const frame = await e2e.findWebviewFrame(page, { extensionId: EXTENSION_ID, selector: 'li.console', timeout: 30_000 });
  const client = frame.locator('li.client[role="treeitem"]').first();
  assert.equal(await client.locator(':scope > .row .client-ip').textContent(), '127.0.0.1');
  const uncaught = client.locator('li.console', { hasText: `${MARK} thrown` }).first();
  await uncaught.waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await uncaught.locator(':scope > .row .method').textContent(), 'uncaught error');
  assert.equal(await uncaught.locator(':scope > .row .console-where').textContent(), 'console.js:4:11');
  assert.match(await uncaught.getAttribute('class'), /console-error/);
  const logged = client.locator('li.console', { hasText: `${MARK} from the page` }).first();
  assert.equal(await logged.locator(':scope > .row .method').textContent(), 'console.error');
  // Expand: the stack and where it came from arrive from the host.
  await uncaught.locator(':scope > .row .method').click();
  await uncaught.locator('li.section', { hasText: 'Stack' }).waitFor({ timeout: 10_000 });
  assert.match(await uncaught.locator('li.section', { hasText: 'Stack' }).innerText(), /at boom \(http:\/\/127\.0\.0\.1:\d+\/console\.js:4:11\)/);
  assert.match(await uncaught.locator('li.section', { hasText: 'Where' }).innerText(), /console\.html/);
  await shot(page, 'requests-view');
});

test('porthole.console.forward "off" in the workspace applies live: the open page\'s console is its own again', async () => {
  const settings = path.join(workspace, '.vscode', 'settings.json');
  const current = JSON.parse(fs.readFileSync(settings, 'utf8'));
  fs.writeFileSync(settings, JSON.stringify({ ...current, 'porthole.console.forward': 'off' }, null, 2));
  await site.waitForFunction(() => /\[native code\]/.test(Function.prototype.toString.call(console.error)), undefined, { timeout: 20_000 });
  await site.evaluate((m) => console.error(`${m} after off`), MARK);
  // A request after it goes through the same server: once its line is logged, nothing came for the page.
  await site.goto(`http://127.0.0.1:${port}/console.html?after-off`, { waitUntil: 'load', timeout: 15_000 });
  const until = Date.now() + 20_000;
  while (!/GET \/console\.html\?after-off 200/.test(logChannelFile(server, 'Porthole'))) {
    assert.ok(Date.now() < until, 'the request after "off" never reached the Output channel');
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.doesNotMatch(logChannelFile(server, 'Porthole'), new RegExp(`${MARK} after off`));
  // The reloaded page was served with the tag saying off: its console is untouched from the start.
  assert.match(await site.evaluate(() => Function.prototype.toString.call(console.error)), /\[native code\]/);
});
