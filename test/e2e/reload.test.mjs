// Live reload "as you type" in a real VS Code (code-server + Chromium): with the workspace setting
// `porthole.reload.on: "type"`, click Go Live, open index.html in the editor, open the served page
// in a second Chromium page, type into the editor WITHOUT saving and see the page show the new
// text; revert the file and see the page follow the disk again. A screenshot of each step goes to
// test-output/e2e/reload-*.png. Then the API-level suite (test/e2e/api/reload.js) in the real
// extension host. Needs `npm run build && npm run package` first.
/* global document, window */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUTPUT_DIR, REPO, e2e, freePorts, sampleWorkspace, tcpGet, tempDir, vsixPath, clickGoLive } from './lib.mjs';

const TYPE_SETTINGS = { 'porthole.openBrowser': false, 'porthole.reload.on': 'type', 'files.autoSave': 'off' };
const TOKEN = `typed live ${Date.now().toString(36)}`;
let manifest; let root; let server; let browser; let page; let site; let port; let workspace;
let step = 0;

/** Screenshot of `p` to test-output/e2e/reload-NN-name.png. */
const shot = (p, name) => p.screenshot({ path: path.join(OUTPUT_DIR, `reload-${String(++step).padStart(2, '0')}-${name}.png`) });

before(async () => {
  manifest = e2e.ensureSetup({ quiet: true });
  const vsix = vsixPath();
  root = tempDir('porthole-reload-');
  [port] = await freePorts(1);
  workspace = sampleWorkspace(path.join(root, 'htdocs-sample'), { ...TYPE_SETTINGS, 'porthole.port': port });
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
  for (const f of fs.readdirSync(OUTPUT_DIR)) if (/^reload-.*\.png$/.test(f)) fs.rmSync(path.join(OUTPUT_DIR, f));
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

test('Go Live starts the server', async () => {
  await clickGoLive(page, port);
  assert.equal((await tcpGet(port, '/')).status, 200);
  await shot(page, 'go-live');
});

test('index.html opens in the editor (quick open)', async () => {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input').first();
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill('index.html');
  await e2e.pickQuickInputRow(page, 'index.html');
  await page.locator('.tabs-container .tab', { hasText: 'index.html' }).first().waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 15_000 });
  await shot(page, 'editor-open');
});

/**
 * Opens the served page in a new Chromium page (`site`) and waits for its live-reload stream.
 * Notes in `siteCrashed` when its renderer crashes (a fault of the browser's process, seen once in
 * CI: "Target crashed" in the middle of a reload, not reproduced in 6 runs of this file since).
 */
async function openSite() {
  site = await browser.context.newPage();
  siteCrashed = false;
  site.on('crash', () => {
    siteCrashed = true;
  });
  await site.goto(`http://127.0.0.1:${port}/`, { timeout: 15_000 });
  assert.match(await site.title(), /Porthole sample site/);
  await site.waitForFunction(() => Boolean(window.__portholeReload && window.__portholeReload.id), undefined, { timeout: 15_000 });
}
let siteCrashed = false;

/**
 * Runs `step(attempt)`; when it fails because the served page's renderer crashed, and only then,
 * opens the page again and runs the step once more (`attempt` 2), which must then pass whole: a
 * step types text of its own on each attempt, so the new page still has to be reloaded live.
 */
async function unlessRendererCrashed(name, step) {
  try {
    await step(1);
  } catch (error) {
    if (!siteCrashed) throw error;
    console.log(`the served page's renderer crashed during "${name}" (${error.message.split('\n')[0]}); opened again, the step runs once more`);
    await site.close().catch(() => {});
    await openSite();
    await step(2);
  }
}

/** Types `text` at the end of index.html in the editor, unsaved, and waits for the server, then the page, to show it. */
async function typeAndSee(text) {
  await page.bringToFront();
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text, { delay: 15 });
  await page.keyboard.press('Escape');
  await page.locator('.tabs-container .tab.dirty', { hasText: 'index.html' }).first().waitFor({ state: 'visible', timeout: 10_000 });
  await shot(page, 'typed-unsaved');
  // First the server (the editor's text reached it), then the page (the reload reached the tab):
  // a failure says which half broke.
  const until = Date.now() + 15_000;
  while (!(await tcpGet(port, '/index.html')).body.includes(text)) {
    assert.ok(Date.now() < until, 'the server never served the unsaved text');
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    await site.waitForFunction((t) => document.body.innerText.includes(t), text, { timeout: 15_000 });
  } catch (error) {
    if (siteCrashed) throw error;
    await site.bringToFront();
    await shot(site, 'browser-missed-typed-text');
    const seen = await site.evaluate(() => document.body.innerText.slice(-120));
    throw new Error(`the page never showed the typed text; it ends with ${JSON.stringify(seen)}`, { cause: error });
  }
}

test('the served page opens in a second page and connects to the live-reload stream', async () => {
  await openSite();
  await shot(site, 'browser-before');
});

test('typing without saving: the browser page shows the new text', async () => {
  // A second attempt types more: the text of the first is already in the page the new tab loads.
  await unlessRendererCrashed('typing', (attempt) => typeAndSee(attempt === 1 ? TOKEN : `${TOKEN} again`));
  await site.bringToFront();
  await shot(site, 'browser-shows-typed-text');
  assert.equal(fs.readFileSync(path.join(workspace, 'index.html'), 'utf8').includes(TOKEN), false, 'the file was not saved');
  assert.ok((await tcpGet(port, '/index.html')).body.includes(TOKEN));
});

test('reverting the file: the page follows the disk again', async () => {
  await unlessRendererCrashed('reverting', async (attempt) => {
    // Again: the page opened anew shows unsaved text only when there is some to revert.
    if (attempt === 2) await typeAndSee(`${TOKEN} once more`);
    await page.bringToFront();
    await e2e.runCommand(page, 'File: Revert File');
    await page.locator('.tabs-container .tab.dirty', { hasText: 'index.html' }).first().waitFor({ state: 'detached', timeout: 10_000 });
    await site.waitForFunction((t) => !document.body.innerText.includes(t), TOKEN, { timeout: 15_000 });
  });
  await site.bringToFront();
  await shot(site, 'browser-after-revert');
});

test('API level in the real extension host: overlays, the watcher, settings', { timeout: 300_000 }, async () => {
  const dir = tempDir('porthole-reload-api-');
  try {
    const [apiPort] = await freePorts(1);
    const ws = sampleWorkspace(path.join(dir, 'htdocs-sample'), { ...TYPE_SETTINGS, 'porthole.port': apiPort, 'porthole.log.file': 'textlog.txt' });
    const lines = [];
    const res = await e2e.runExtensionTests({
      manifest,
      extensionDevelopmentPath: REPO,
      extensionTestsPath: path.join(REPO, 'test', 'e2e', 'api', 'reload.js'),
      workspace: ws,
      portRange: { from: 19000, to: 19999 },
      screenshot: path.join(OUTPUT_DIR, 'reload-api.png'),
      onLog: (_type, args) => lines.push(args.map(String).join(' ')),
    });
    const log = lines.filter((l) => /^(ok|not ok|porthole|\d+ passed)/.test(l)).join('\n');
    console.log(log);
    assert.equal(res.code, 0, lines.join('\n'));
    assert.match(log, /7 passed, 0 failed/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
