// Drives a real VS Code for Porthole's editor tests: code-server (VS Code's server, web workbench
// and Node extension host, run by the private Node 24 that test/harness/install.mjs puts in the
// test cache) on 127.0.0.1, and Debian's Chromium through playwright-core. Only what test/e2e uses.
//
//   const manifest = ensureSetup();                        // installs on first use, then only checks
//   const server = await startCodeServer({ manifest, vsix: [file], workspace });
//   const { page, close } = await launchBrowser({ manifest });
//   await openWorkbench(page, server);
//   await statusBarItem(page, 'Go Live').click();
//   ...; await close(); await server.stop({ removeDirs: true });
//
// Traps each helper avoids (met with code-server 4.139 / VS Code 1.139):
// - code-server writes ~/.config/code-server and ~/.local/share/code-server, VS Code its IPC sockets
//   in TMPDIR: every server gets its own HOME, XDG_*, TMPDIR, --config, --user-data-dir and
//   --extensions-dir under one throw-away folder.
// - A page load starts an extension host; the previous one lingers for --reconnection-grace-time
//   (3 hours by default) and keeps its ports: grace time 5 s, one page per server.
// - Killing code-server's pid leaves children: it runs in its own process group, and stop() signals
//   the group.
// - EXTENSIONS_GALLERY='{}' turns the Marketplace off; --disable-workspace-trust, else a folder opens
//   in Restricted Mode and Porthole (untrustedWorkspaces: false) is never activated.
// - Tests inside the extension host need `--vscode-option enable-smoke-test-driver`: without it the
//   workbench ignores the URL's `payload` (extensionDevelopmentPath, extensionTestsPath).
// - Playwright refuses --user-data-dir in args: a persistent context picks the profile folder.
/* global AbortSignal */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { chromium } from 'playwright-core';
import { cacheDir, installedManifest } from './install.mjs';

const INSTALLER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'install.mjs');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @typedef {import('./install.mjs').Manifest} Manifest */

/** Flags for a quiet, offline, headless Chromium running as root in a container. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** User settings of every fresh user-data-dir: nothing phones home, nothing opens on its own. */
const SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  // The Output view honours only [Log] overrides; unwrapped lines are what readOutputChannel reads.
  '[Log]': { 'editor.wordWrap': 'off' },
};

/** Workbench housekeeping the extension host's console forwards along with the tests' own lines. */
const HOST_NOISE = /^(Ignoring fetching additional builtin|Updating additional builtin|Creating a socket|\[Service Worker\]|\[AgentHost|\[AccountPolicyGate\]|Resolv(ing|ed) connection token|\[reconnection-grace-time\]|Canceled: Canceled)/;

// ---------------------------------------------------------------------------------------- setup --

/**
 * The installed pieces, installing them first when the test cache lacks them (runs
 * test/harness/install.mjs: minutes cold; without it a few file reads). Synchronous.
 * @param {{ quiet?: boolean }} [options] quiet: no progress lines.
 * @returns {Manifest}
 */
export function ensureSetup({ quiet = false } = {}) {
  const ready = installedManifest();
  if (ready) return ready;
  execFileSync(process.execPath, [INSTALLER, ...(quiet ? ['--quiet'] : [])], { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] });
  const manifest = installedManifest();
  if (!manifest) throw new Error(`the editor-test install in ${cacheDir()} is incomplete: run npm run test:deps and read its message`);
  return manifest;
}

// ---------------------------------------------------------------------------------------- ports --

function canListen(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port in [from, to] that 127.0.0.1 can listen on now (tried from a random offset, each once).
 * Rejects when none is free. The port may be taken again before the caller binds it.
 * @param {{ from?: number, to?: number, exclude?: number[] }} [range]
 * @returns {Promise<number>}
 */
export async function findFreePort({ from = 19000, to = 19999, exclude = [] } = {}) {
  const span = to - from + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = from + ((start + i) % span);
    if (!exclude.includes(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free loopback port in ${from}-${to}`);
}

// ---------------------------------------------------------------------------------- code-server --

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * @typedef {object} CodeServer
 * @property {number} port
 * @property {string} url `http://127.0.0.1:PORT/`
 * @property {string} workbenchUrl The workbench with the workspace folder open.
 * @property {{ root: string, userData: string, extensions: string, home: string, tmp: string, workspace: string }} dirs
 * @property {() => string} log code-server's stdout and stderr so far.
 * @property {(options?: { removeDirs?: boolean }) => Promise<void>} stop SIGTERM to the process
 *   group, SIGKILL after 5 s; removeDirs deletes the throw-away folder (never `workspace` given by the caller).
 */

/**
 * Starts code-server on 127.0.0.1 with throw-away state, after installing each `.vsix`.
 * Rejects with the end of code-server's log when it exits or does not answer /healthz in time.
 * @param {{ manifest?: Manifest, vsix?: string[], workspace?: string, portRange?: { from?: number, to?: number, exclude?: number[] },
 *   args?: string[], startTimeoutMs?: number }} [options]
 * @returns {Promise<CodeServer>}
 */
export async function startCodeServer({ manifest = ensureSetup(), vsix = [], workspace, portRange, args = [], startTimeoutMs = 90_000 } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-code-server-'));
  const dirs = {
    root,
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    home: path.join(root, 'home'),
    tmp: path.join(root, 'tmp'),
    workspace: workspace ?? path.join(root, 'workspace'),
  };
  try {
    for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
    fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
    const config = path.join(root, 'config.yaml');
    fs.writeFileSync(config, 'auth: none\ncert: false\n');
    const env = {
      ...process.env,
      HOME: dirs.home,
      TMPDIR: dirs.tmp,
      XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
      XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
      EXTENSIONS_GALLERY: '{}',
    };
    // A surrounding VS Code, Node or code-server must not leak into this one.
    for (const name of ['VSCODE_IPC_HOOK_CLI', 'VSCODE_PID', 'ELECTRON_RUN_AS_NODE', 'NODE_OPTIONS', 'PORT', 'PASSWORD']) delete env[name];
    const state = ['--config', config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
    for (const file of vsix) {
      const out = execFileSync(manifest.node, [manifest.codeServer, ...state, '--force', '--install-extension', path.resolve(file)], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
      });
      if (!/successfully installed/i.test(out)) throw new Error(`code-server could not install ${file}:\n${out}`);
    }
    // A port found free can be taken before code-server binds it: then try another.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(manifest, { env, state, dirs, args, startTimeoutMs, port: await findFreePort(portRange) });
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

async function launch(manifest, { env, state, dirs, args, startTimeoutMs, port }) {
  const logFile = path.join(dirs.root, 'code-server.log');
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(
    manifest.node,
    [
      manifest.codeServer,
      ...state,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--disable-workspace-trust',
      '--reconnection-grace-time', '5',
      ...args,
      dirs.workspace,
    ],
    { env, cwd: dirs.root, detached: true, stdio: ['ignore', logFd, logFd] },
  );
  fs.closeSync(logFd);
  const pid = child.pid;
  // If the test process dies, the server goes with it.
  const killOnExit = () => signalGroup(pid, 'SIGKILL');
  process.on('exit', killOnExit);
  const url = `http://127.0.0.1:${port}/`;
  let stopped = false;
  const handle = {
    port,
    url,
    workbenchUrl: `${url}?folder=${encodeURIComponent(dirs.workspace)}`,
    dirs,
    log: () => fs.readFileSync(logFile, 'utf8'),
    async stop({ removeDirs = false } = {}) {
      if (!stopped) {
        stopped = true;
        process.off('exit', killOnExit);
        if (signalGroup(pid, 'SIGTERM')) {
          // The group outlives its leader: wait for every member, then SIGKILL what is left.
          const deadline = Date.now() + 5000;
          while (Date.now() < deadline && signalGroup(pid, 0)) await sleep(100);
          signalGroup(pid, 'SIGKILL');
        }
      }
      // The root holds everything made here (a workspace given by the caller lies elsewhere).
      if (removeDirs) fs.rmSync(dirs.root, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.off('exit', killOnExit);
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}):\n${handle.log().slice(-3000)}`);
    }
    try {
      const res = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return handle;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`code-server did not answer ${url}healthz within ${startTimeoutMs} ms:\n${handle.log().slice(-3000)}`);
    }
    await sleep(100);
  }
}

// -------------------------------------------------------------------------------------- browser --

/**
 * Debian's Chromium through playwright-core, with a fresh profile and its own HOME (Chromium writes
 * ~/.config/chromium and ~/.cache whatever --user-data-dir says).
 * @param {{ manifest?: Manifest, viewport?: { width: number, height: number } }} [options]
 * @returns {Promise<{ context: import('playwright-core').BrowserContext, page: import('playwright-core').Page, close: () => Promise<void> }>}
 */
export async function launchBrowser({ manifest = ensureSetup(), viewport = { width: 1400, height: 900 } } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-chromium-'));
  const home = path.join(profile, 'home');
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'), XDG_DATA_HOME: path.join(home, '.local', 'share') };
  let context;
  try {
    context = await chromium.launchPersistentContext(path.join(profile, 'profile'), {
      executablePath: manifest.chromium,
      headless: true,
      viewport,
      args: CHROMIUM_ARGS,
      env,
      timeout: 60_000,
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------ workbench --

/** Loads the workbench of `server`'s folder and waits for its status bar and activity bar. */
export async function openWorkbench(page, server, { timeout = 90_000 } = {}) {
  await page.goto(server.workbenchUrl, { timeout });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout });
  await page.locator('.monaco-workbench .part.activitybar, .monaco-workbench .activitybar').first().waitFor({ state: 'visible', timeout });
}

/** Runs a Command Palette command by its label, e.g. 'File: Revert File'. */
export async function runCommand(page, label, { timeout = 15_000 } = {}) {
  // Keys typed while a webview's iframe has focus go to the webview.
  await page.evaluate(() => {
    const active = globalThis.document.activeElement;
    if (active?.tagName === 'IFRAME') active.blur();
  });
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input').first();
  await input.waitFor({ state: 'visible', timeout });
  await input.fill(`>${label}`);
  await pickQuickInputRow(page, label, { timeout });
}

/** Clicks the row of the open quick pick labelled `label` (exact match first, else a prefix). */
export async function pickQuickInputRow(page, label, { timeout = 15_000 } = {}) {
  const rows = page.locator('.quick-input-widget .monaco-list-row');
  await rows.first().waitFor({ state: 'visible', timeout });
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const labels = await rows.evaluateAll((els) => els.map((e) => (e.querySelector('.label-name')?.textContent ?? e.textContent ?? '').replace(/\u00a0/g, ' ').trim()));
    let i = labels.indexOf(label);
    if (i < 0) i = labels.findIndex((l) => l.startsWith(label));
    if (i >= 0) {
      // The list may re-render between reading the labels and the click (Quick Open refines its
      // results as the file index fills), so the row is clicked by its label, found again by
      // Playwright at each attempt, not by an index that may name another row or none.
      const text = labels[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '[\\s\\u00a0]');
      const byLabel = rows.filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${text}\\s*$`) }) });
      const target = (await byLabel.count()) > 0 ? byLabel.first() : rows.nth(i);
      await target.click({ timeout: Math.max(30_000, deadline - Date.now()) });
      return;
    }
    await sleep(100);
  }
  throw new Error(`the quick pick has no row "${label}"`);
}

/** Locator of the status bar item showing `text` (a `$(icon)` renders as an icon, not as text). */
export function statusBarItem(page, text) {
  return page.locator('.part.statusbar .statusbar-item', { hasText: text }).first();
}

/**
 * Shows Output channel `name` and resolves its visible text (Monaco renders only the rows in view),
 * once it contains `waitFor` when given; rejects with the last text after `timeout` ms.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 * @param {{ timeout?: number, waitFor?: string | RegExp }} [options]
 */
export async function readOutputChannel(page, name, { timeout = 15_000, waitFor } = {}) {
  await runCommand(page, 'Output: Show Output Channels...', { timeout });
  // The channel picker replaces the palette: its input no longer starts with '>'.
  const input = page.locator('.quick-input-widget input').first();
  const until = Date.now() + timeout;
  while (Date.now() < until && (!(await input.isVisible()) || (await input.inputValue()).startsWith('>'))) await sleep(100);
  await input.fill(name);
  await pickQuickInputRow(page, name, { timeout });
  const editor = page.locator('.part.panel .monaco-editor').first();
  await editor.waitFor({ state: 'visible', timeout });
  const deadline = Date.now() + timeout;
  let text = '';
  do {
    text = await editor.locator('.view-lines').first().evaluate((el) =>
      [...el.querySelectorAll('.view-line')]
        .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
        .map((line) => line.textContent.replace(/\u00a0/g, ' '))
        .join('\n'),
    );
    if (!waitFor || (typeof waitFor === 'string' ? text.includes(waitFor) : waitFor.test(text))) return text;
    await sleep(200);
  } while (Date.now() < deadline);
  throw new Error(`Output channel "${name}" never showed ${waitFor} within ${timeout} ms; last text:\n${text}`);
}

/** Opens (never toggles closed) the activity-bar view container titled `title`. */
export async function openViewContainer(page, title, { timeout = 15_000 } = {}) {
  const item = page
    .locator('.activitybar .action-item')
    .filter({ has: page.locator(`.action-label[aria-label="${title}"], .action-label[aria-label^="${title} ("]`) })
    .first();
  await item.waitFor({ state: 'visible', timeout });
  // Clicking the container that is open closes it.
  if (!(await item.evaluate((e) => e.classList.contains('checked')))) await item.locator('.action-label').click();
  await page.locator('.part.sidebar .composite.title', { hasText: title }).first().waitFor({ state: 'visible', timeout }).catch(() => {});
}

/**
 * Sets the primary side bar to `width` CSS pixels by dragging its sash as a user would (the
 * workbench has no setting for it; the width lives in its storage). The drag is measured and
 * corrected up to 5 times, since the grid may snap or clamp; rejects when the side bar is not
 * `width` wide (±1 px) afterwards, with the width it has. The side bar must be open. Resolves the
 * width reached.
 * @param {import('playwright-core').Page} page
 * @param {number} width
 */
export async function setSidebarWidth(page, width, { timeout = 15_000 } = {}) {
  const sidebar = page.locator('.part.sidebar').first();
  const sash = page.locator('.monaco-sash.vertical.primary-sidebar-sash').first();
  await sidebar.waitFor({ state: 'visible', timeout });
  await sash.waitFor({ state: 'attached', timeout });
  const measure = async () => (await sidebar.boundingBox())?.width ?? 0;
  let now = await measure();
  for (let attempt = 0; attempt < 5 && Math.abs(now - width) > 1; attempt++) {
    const box = await sash.boundingBox();
    if (!box) throw new Error('the side bar has no sash to drag');
    const x = box.x + box.width / 2;
    const y = box.y + Math.min(box.height / 2, 200);
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + (width - now) / 2, y, { steps: 4 });
    await page.mouse.move(x + (width - now), y, { steps: 4 });
    await page.mouse.up();
    // The grid lays out on the next frame: wait until the width stops changing (bounded).
    const until = Date.now() + timeout;
    let last = -1;
    now = await measure();
    while (now !== last && Date.now() < until) {
      last = now;
      await sleep(100);
      now = await measure();
    }
  }
  if (Math.abs(now - width) > 1) throw new Error(`the side bar is ${now} px wide, not ${width}`);
  return now;
}

/**
 * The Frame holding a webview's own HTML. A webview is two nested iframes: VS Code's host page
 * (`iframe.webview.ready`, src `.../webview/browser/pre/index.html?...&extensionId=<publisher.name>`)
 * and inside it `#active-frame` with the extension's document. Resolves the first inner frame of
 * `extensionId` that has `selector` and contains `text` (each optional); rejects after `timeout` ms.
 * @param {import('playwright-core').Page} page
 * @param {{ extensionId?: string, selector?: string, text?: string, timeout?: number }} [options]
 * @returns {Promise<import('playwright-core').Frame>}
 */
export async function findWebviewFrame(page, { extensionId, selector, text, timeout = 20_000 } = {}) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const outer of page.frames()) {
      if (!/\/webview\/browser\/pre\/index\.html/.test(outer.url())) continue;
      if (extensionId && new URL(outer.url()).searchParams.get('extensionId')?.toLowerCase() !== extensionId.toLowerCase()) continue;
      for (const inner of outer.childFrames()) {
        const ok = await inner
          .evaluate(
            ({ selector, text }) => {
              const doc = globalThis.document;
              return Boolean(doc.body) && (!selector || doc.querySelector(selector) !== null) && (!text || doc.body.innerText.includes(text));
            },
            { selector, text },
          )
          .catch(() => false); // the frame is navigating
        if (ok) return inner;
      }
    }
    await sleep(200);
  }
  throw new Error(`no webview frame ${JSON.stringify({ extensionId, selector, text })} within ${timeout} ms`);
}

/** Screenshot taker for `page`: each call writes DIR/NN-name.png (NN counting up) and resolves its path. */
export function screenshotter(page, dir) {
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (name) => {
    const file = path.join(dir, `${String(++n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    return file;
  };
}

// ---------------------------------------------------------------------- tests in the extension host --

/**
 * Runs an extension's tests INSIDE code-server's extension host, as @vscode/test-electron does for
 * desktop VS Code: the extension is loaded from its folder (no .vsix), the module at
 * `extensionTestsPath` is required and its `run()` awaited; a rejection is a failure. The
 * workbench reports the end through window.codeAutomationExit(code) and the host's console
 * through window.codeAutomationLog(type, args) (printf-style args, given to `onLog` unformatted;
 * the default prints them formatted). Opens `workspace` (a folder) or `workspaceFile` (a
 * .code-workspace, multi-root), or with `emptyWindow` no folder at all (a window of loose files).
 * Resolves { code (0 = passed), timedOut, durationMs } after at most `timeout` ms (then code 1).
 * @param {{ manifest?: Manifest, extensionDevelopmentPath: string, extensionTestsPath: string, workspace?: string,
 *   workspaceFile?: string, emptyWindow?: boolean, portRange?: { from?: number, to?: number }, timeout?: number, screenshot?: string,
 *   onLog?: (type: string, args: unknown[]) => void }} options
 * @returns {Promise<{ code: number, timedOut: boolean, durationMs: number }>}
 */
export async function runExtensionTests({ manifest = ensureSetup(), extensionDevelopmentPath, extensionTestsPath, workspace, workspaceFile, emptyWindow = false, portRange, timeout = 300_000, screenshot, onLog }) {
  const t0 = Date.now();
  const log = (type, args) => {
    if (HOST_NOISE.test(format(...args))) return;
    if (onLog) onLog(type, args);
    else (type === 'error' ? console.error : console.log)(format(...args));
  };
  const server = await startCodeServer({
    manifest,
    workspace: workspaceFile ? path.dirname(workspaceFile) : workspace,
    portRange,
    args: ['--vscode-option', 'enable-smoke-test-driver'],
  });
  let browser;
  try {
    browser = await launchBrowser({ manifest });
    const { page } = browser;
    let onExit;
    const exited = new Promise((resolve) => {
      onExit = resolve;
    });
    await page.exposeFunction('codeAutomationExit', (code) => onExit(code));
    await page.exposeFunction('codeAutomationLog', (type, args) => log(type, Array.isArray(args) ? args : [args]));
    const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${path.resolve(p).split(path.sep).join('/')}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extensionDevelopmentPath)],
      ['extensionTestsPath', remote(extensionTestsPath)],
    ];
    // `ew=true`: code-server's empty window (no folder, whatever it opened last).
    const target = emptyWindow ? `${server.url}?ew=true` : workspaceFile ? `${server.url}?workspace=${encodeURIComponent(workspaceFile)}` : server.workbenchUrl;
    await page.goto(`${target}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    let timer;
    const code = await Promise.race([
      exited,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (screenshot) await page.screenshot({ path: screenshot }).catch(() => {});
    const timedOut = code === 'timeout';
    if (timedOut) log('error', [`the extension tests did not finish within ${timeout} ms`]);
    return { code: timedOut ? 1 : Number(code), timedOut, durationMs: Date.now() - t0 };
  } finally {
    await browser?.close();
    await server.stop({ removeDirs: true });
  }
}
