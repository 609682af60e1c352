// Shared pieces of Porthole's end-to-end tests: the harness that drives a real VS Code
// (test/harness/vscode.mjs), where the .vsix is, a throw-away copy of htdocs-sample with workspace
// settings, and an API-test runner for multi-root workspaces.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import * as e2e from '../harness/vscode.mjs';

export { e2e };
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUTPUT_DIR = path.join(REPO, 'test-output', 'e2e');
export const EXTENSION_ID = 'porthole.porthole';

/** The .vsix `npm run package` made (porthole-<version>.vsix at the repo root). */
export function vsixPath() {
  const { name, version } = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
  const file = path.join(REPO, `${name}-${version}.vsix`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run build && npm run package first`);
  return file;
}

/** A fresh temp dir (removed by the caller). */
export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Copies htdocs-sample into `dir` and writes .vscode/settings.json with `settings`. */
export function sampleWorkspace(dir, settings) {
  fs.cpSync(path.join(REPO, 'htdocs-sample'), dir, { recursive: true, filter: (src) => path.basename(src) !== 'textlog.txt' });
  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
  return dir;
}

/** Two free loopback ports for the servers under test (outside code-server's 19000-19999). */
export async function freePorts(n) {
  const ports = [];
  for (let i = 0; i < n; i++) ports.push(await e2e.findFreePort({ from: 18000, to: 18999, exclude: ports }));
  return ports;
}

/**
 * The harness's runExtensionTests() on a `.code-workspace` file (multi-root): resolves
 * { code, lines } with the extension host's console lines.
 */
export async function runExtensionTestsInWorkspace({ manifest, workspaceFile, extensionDevelopmentPath, extensionTestsPath, timeout = 300_000, screenshot }) {
  const lines = [];
  const { code } = await e2e.runExtensionTests({
    manifest,
    workspaceFile,
    extensionDevelopmentPath,
    extensionTestsPath,
    timeout,
    screenshot,
    onLog: (_type, args) => lines.push(format(...args)),
  });
  return { code, lines };
}

/** Raw HTTP/1.1 GET over TCP (Connection: close), bounded; resolves { status, body }. */
export async function tcpGet(port, target) {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks = [];
    socket.setTimeout(5000, () => socket.destroy(new Error(`GET ${target} timed out`)));
    socket.on('connect', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: porthole-e2e\r\nConnection: close\r\n\r\n`));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** Resolves true when nothing accepts connections on `port`. */
export async function portClosed(port) {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setTimeout(3000, () => { socket.destroy(); resolve(false); });
    socket.on('connect', () => { socket.destroy(); resolve(false); });
    socket.on('error', () => resolve(true));
  });
}

/**
 * Text of a LogOutputChannel as written to disk. Log channels (createOutputChannel(name, {log:true}))
 * are files named `<name>.log` under the extension host's log folder, not output_logging_* files. Newest first; '' when none.
 */
export function logChannelFile(server, name) {
  const found = [];
  const walk = (dir, depth) => {
    if (depth > 8) return;
    let entries = [];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name === `${name}.log` || e.name.replace(/^\d+-/, '') === `${name}.log`) found.push(p);
    }
  };
  walk(path.join(server.dirs.userData, 'logs'), 0);
  found.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return found.length ? fs.readFileSync(found[0], 'utf8') : '';
}

/** Clicks Go Live in the status bar (once it shows) and waits until the status bar names `port`. */
export async function clickGoLive(page, port) {
  const goLive = e2e.statusBarItem(page, 'Go Live');
  await goLive.waitFor({ state: 'visible', timeout: 60_000 });
  await goLive.click();
  await e2e.statusBarItem(page, `Port : ${port}`).waitFor({ state: 'visible', timeout: 20_000 });
}
