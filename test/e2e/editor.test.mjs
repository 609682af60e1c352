// Pages from the editor in a real VS Code (code-server + Chromium), issue 13 items 1–5:
// - API level in the real extension host (test/e2e/api/editor.js): Go Live opens the active HTML
//   file in porthole.browser, one tab per server, follow the editor, the preview, Debug in Browser;
// - API level with no folder open (test/e2e/api/loose.js): Go Live on a loose HTML file;
// - UI level: the preview pane beside the editor shows the page and reloads on an edit; with
//   porthole.followEditor a Chromium page of the server follows the editor's tabs.
// Needs `npm run build && npm run package` first (the UI part installs the .vsix).
/* global document, window */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUTPUT_DIR, REPO, e2e, freePorts, logChannelFile, sampleWorkspace, tcpGet, tempDir, vsixPath } from './lib.mjs';

let manifest;
const dirs = [];

/** The sample site plus a page whose script has a line to break on. */
function editorWorkspace(dir, settings) {
  const ws = sampleWorkspace(dir, settings);
  fs.writeFileSync(path.join(ws, 'debug-me.js'), 'function compute() {\n  const value = 6 * 7; // BREAK HERE\n  return value;\n}\nwindow.portholeDebugValue = compute();\n');
  fs.writeFileSync(path.join(ws, 'debug.html'), '<!DOCTYPE html>\n<html><head><title>debug</title></head><body><p>debug page</p><script src="debug-me.js"></script></body></html>\n');
  return ws;
}

before(() => {
  manifest = e2e.ensureSetup({ quiet: true });
  assert.ok(fs.existsSync(path.join(REPO, 'dist', 'extension.js')), 'run npm run build first');
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
});

after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function runSuite(name, options) {
  const lines = [];
  const res = await e2e.runExtensionTests({
    manifest,
    extensionDevelopmentPath: REPO,
    extensionTestsPath: path.join(REPO, 'test', 'e2e', 'api', `${name}.js`),
    portRange: { from: 19000, to: 19999 },
    screenshot: path.join(OUTPUT_DIR, `editor-api-${name}.png`),
    onLog: (_type, args) => lines.push(args.map(String).join(' ')),
    ...options,
  });
  const log = lines.filter((l) => /^(ok|not ok|porthole|\d+ passed)/.test(l)).join('\n');
  console.log(log);
  assert.equal(res.code, 0, lines.join('\n'));
  return log;
}

test('API: Go Live opens the active file, one tab, follow the editor, the preview, Debug in Browser', { timeout: 400_000 }, async () => {
  const root = tempDir('porthole-editor-api-');
  dirs.push(root);
  const [port] = await freePorts(1);
  const workspace = editorWorkspace(path.join(root, 'htdocs-sample'), { 'porthole.port': port, 'porthole.openBrowser': true, 'files.autoSave': 'off' });
  const log = await runSuite('editor', { workspace, timeout: 360_000 });
  assert.match(log, /9 passed, 0 failed/);
});

test('API, no folder open: Go Live on a loose HTML file serves its folder; Stop forgets it', { timeout: 300_000 }, async () => {
  const root = tempDir('porthole-editor-loose-');
  dirs.push(root);
  const dir = path.join(root, 'loose site');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'page.html'), '<!DOCTYPE html><title>loose</title><p>loose page</p>\n');
  fs.writeFileSync(path.join(dir, 'other.html'), '<!DOCTYPE html><title>other</title><p>the other page</p>\n');
  process.env.PORTHOLE_E2E_LOOSE_DIR = dir;
  try {
    const log = await runSuite('loose', { emptyWindow: true });
    assert.match(log, /6 passed, 0 failed/);
  } finally {
    delete process.env.PORTHOLE_E2E_LOOSE_DIR;
  }
});

test('UI: the preview beside the editor shows the page and reloads on an edit; a page follows the editor', { timeout: 300_000 }, async (t) => {
  const root = tempDir('porthole-editor-ui-');
  dirs.push(root);
  const [port] = await freePorts(1);
  const workspace = editorWorkspace(path.join(root, 'htdocs-sample'), { 'porthole.port': port, 'porthole.openBrowser': false, 'porthole.followEditor': true, 'files.autoSave': 'off' });
  const server = await e2e.startCodeServer({ manifest, vsix: [vsixPath()], workspace, portRange: { from: 19000, to: 19999 } });
  let browser;
  let site;
  try {
    // porthole.browser is a user setting (application scope): a browser that does not exist.
    const userSettings = path.join(server.dirs.userData, 'User', 'settings.json');
    fs.writeFileSync(userSettings, JSON.stringify({ ...JSON.parse(fs.readFileSync(userSettings, 'utf8')), 'porthole.browser': 'porthole-no-such-browser' }, null, 2));
    browser = await e2e.launchBrowser({ manifest });
    const { page } = browser;
    const shot = (name) => page.screenshot({ path: path.join(OUTPUT_DIR, `editor-ui-${name}.png`) });
    await e2e.openWorkbench(page, server);
    await e2e.statusBarItem(page, 'Go Live').waitFor({ state: 'visible', timeout: 60_000 });

    await t.test('a browser that cannot start says so and offers the default, which opens the page', async () => {
      await e2e.runCommand(page, 'Porthole: Open in Browser');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'could not start the browser "porthole-no-such-browser"' }).first();
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await toast.innerText(), /not found/);
      await shot('browser-failed');
      const popup = browser.context.waitForEvent('page', { timeout: 20_000 });
      await toast.getByRole('button', { name: 'Open in Default Browser' }).click();
      const opened = await popup;
      await opened.waitForLoadState('domcontentloaded', { timeout: 20_000 }).catch(() => {});
      assert.match(opened.url(), new RegExp(`(:${port}|/proxy/${port})/$`));
      await opened.close();
    });

    await t.test('helloworld.html in the editor; the editor-title button opens the preview beside it', async () => {
      await quickOpen(page, 'helloworld.html');
      await page.locator('.tabs-container .tab', { hasText: 'helloworld.html' }).first().waitFor({ state: 'visible', timeout: 15_000 });
      await page.locator('.editor-actions [aria-label^="Open Preview to the Side"]').first().click({ timeout: 15_000 });
      const frame = await previewFrame(page, port, 'Hello, world');
      // The live-reload client runs in the preview and its stream connected (hello received).
      await frame.waitForFunction(() => Boolean(window.__portholeReload && window.__portholeReload.id), undefined, { timeout: 15_000 });
      // Beside: two editor groups, the preview in the second.
      assert.equal(await page.locator('.editor-group-container').count(), 2);
      await e2e.statusBarItem(page, `Port : ${port}`).waitFor({ state: 'visible', timeout: 20_000 });
      await shot('preview');
    });

    await t.test('an edit saved to disk reloads the preview', async () => {
      const file = path.join(workspace, 'helloworld.html');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('<h1>Hello, world</h1>', '<h1>Hello, preview</h1>'));
      await previewFrame(page, port, 'Hello, preview');
      await shot('preview-reloaded');
    });

    await t.test('a link followed in the preview leads to a page that live-reloads too', async () => {
      const frame = await previewFrame(page, port, 'Hello, preview');
      await frame.locator('#link-menu').click();
      const menu = await previewFrame(page, port, 'Welcome to');
      assert.match(menu.url(), /\/index\.html\?__porthole_preview=1$/);
      await menu.waitForFunction(() => Boolean(window.__portholeReload && window.__portholeReload.id), undefined, { timeout: 15_000 });
      const file = path.join(workspace, 'index.html');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('Welcome to', 'Welcome again to'));
      await previewFrame(page, port, 'Welcome again to');
    });

    await t.test('porthole.followEditor: a Chromium page of the server follows the editor to index.html, not to style.css', async () => {
      site = await browser.context.newPage();
      await site.goto(`http://127.0.0.1:${port}/helloworld.html`, { timeout: 15_000 });
      await site.waitForFunction(() => Boolean(window.__portholeReload && window.__portholeReload.id), undefined, { timeout: 15_000 });
      await page.bringToFront();
      for (const name of ['style.css', 'index.html']) {
        await quickOpen(page, name);
        await page.locator('.tabs-container .tab.active', { hasText: name }).first().waitFor({ state: 'visible', timeout: 15_000 });
        if (name === 'style.css') {
          // Nothing happens for a stylesheet: the page is still the same document after a round trip.
          assert.equal((await tcpGet(port, '/style.css')).status, 200);
          assert.equal(new URL(site.url()).pathname, '/helloworld.html');
        }
      }
      await site.waitForURL(`http://127.0.0.1:${port}/index.html`, { timeout: 15_000 });
      await site.waitForFunction(() => document.title.includes('Porthole sample site'), undefined, { timeout: 15_000 });
      const followed = /Following the editor: took (the page|\d+ pages) to \/index\.html/;
      for (let i = 0; i < 50 && !followed.test(logChannelFile(server, 'Porthole')); i++) await new Promise((r) => setTimeout(r, 200));
      assert.match(logChannelFile(server, 'Porthole'), followed);
      await site.screenshot({ path: path.join(OUTPUT_DIR, 'editor-ui-followed.png') });
    });

    await t.test('one tab: Open in Browser takes the open page there instead of opening another, and says so', async () => {
      const pagesBefore = browser.context.pages().length;
      await e2e.runCommand(page, 'Porthole: Open in Browser');
      await site.waitForURL(`http://127.0.0.1:${port}/`, { timeout: 15_000 });
      const said = /A page of this server is already open: took (it|all \d+) to \/ instead of opening another tab\./;
      for (let i = 0; i < 50 && !said.test(logChannelFile(server, 'Porthole')); i++) await new Promise((r) => setTimeout(r, 200));
      assert.match(logChannelFile(server, 'Porthole'), said);
      assert.equal(browser.context.pages().length, pagesBefore, 'no new tab');
    });
  } finally {
    await site?.close().catch(() => {});
    await browser?.close();
    await server.stop({ removeDirs: true });
  }
});

/** Opens `name` with Quick Open (Ctrl+P), first taking the focus out of a webview's iframe. */
async function quickOpen(page, name) {
  const input = page.locator('.quick-input-widget input').first();
  for (let attempt = 1; ; attempt++) {
    await page.evaluate(() => {
      const active = globalThis.document.activeElement;
      if (active?.tagName === 'IFRAME') active.blur();
    });
    await page.keyboard.press('Control+P');
    try {
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  await input.fill(name);
  await e2e.pickQuickInputRow(page, name);
}

/** The Simple Browser's page frame (an iframe inside its webview) once its body shows `text`. */
async function previewFrame(page, port, text, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (!frame.url().includes(`:${port}/`) && !frame.url().includes(`/proxy/${port}/`)) continue;
      const ok = await frame.evaluate((t) => Boolean(document.body && document.body.innerText.includes(t)), text).catch(() => false);
      if (ok) return frame;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no preview frame of port ${port} showing ${JSON.stringify(text)} within ${timeout} ms (frames: ${page.frames().map((f) => f.url()).join(', ')})`);
}
