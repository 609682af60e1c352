// API-level tests inside code-server's real extension host (test/e2e/api/index.js): commands,
// settings (busy port, restart rules, missing root), the event-loop figure under load, and a
// multi-root workspace. Needs `npm run build` (the extension is loaded from the repo folder).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUTPUT_DIR, REPO, e2e, freePorts, runExtensionTestsInWorkspace, sampleWorkspace, tempDir } from './lib.mjs';

const TESTS = path.join(REPO, 'test', 'e2e', 'api', 'index.js');
let manifest;
const dirs = [];

before(() => {
  manifest = e2e.ensureSetup({ quiet: true });
  assert.ok(fs.existsSync(path.join(REPO, 'dist', 'extension.js')), 'run npm run build first');
  fs.mkdirSync(OUTPUT_DIR, { recursive: true });
});

after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('single folder: commands, settings, busy port, event loop under load', { timeout: 300_000 }, async () => {
  const root = tempDir('porthole-api-');
  dirs.push(root);
  const [port] = await freePorts(1);
  const workspace = sampleWorkspace(path.join(root, 'htdocs-sample'), { 'porthole.port': port, 'porthole.openBrowser': false });
  const lines = [];
  const res = await e2e.runExtensionTests({
    manifest,
    extensionDevelopmentPath: REPO,
    extensionTestsPath: TESTS,
    workspace,
    portRange: { from: 19000, to: 19999 },
    screenshot: path.join(OUTPUT_DIR, 'api-single.png'),
    onLog: (_type, args) => lines.push(args.map(String).join(' ')),
  });
  const log = lines.filter((l) => /^(ok|not ok|porthole|EVENT-LOOP|\d+ passed)/.test(l)).join('\n');
  console.log(log);
  const figure = path.join(root, 'event-loop.json');
  if (fs.existsSync(figure)) fs.copyFileSync(figure, path.join(OUTPUT_DIR, 'event-loop.json'));
  assert.equal(res.code, 0, lines.join('\n'));
  assert.match(log, /14 passed, 0 failed/);
});

test('multi-root: one server per folder, each with its own settings', { timeout: 300_000 }, async () => {
  const root = tempDir('porthole-api-multi-');
  dirs.push(root);
  const [pa, pb] = await freePorts(2);
  for (const [name, port, label] of [['site-a', pa, 'A'], ['site-b', pb, 'B']]) {
    const dir = path.join(root, name);
    fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.html'), `<!DOCTYPE html><title>${label}</title><p>folder ${label}</p>`);
    fs.writeFileSync(path.join(dir, 'page.html'), `<!DOCTYPE html><title>${label} page</title>`);
    fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'porthole.port': port }));
  }
  const workspaceFile = path.join(root, 'multi.code-workspace');
  fs.writeFileSync(workspaceFile, JSON.stringify({ folders: [{ path: 'site-a' }, { path: 'site-b' }], settings: { 'porthole.openBrowser': false } }, null, 2));
  const res = await runExtensionTestsInWorkspace({
    manifest,
    workspaceFile,
    extensionDevelopmentPath: REPO,
    extensionTestsPath: TESTS,
    screenshot: path.join(OUTPUT_DIR, 'api-multi-root.png'),
  });
  const log = res.lines.filter((l) => /^(ok|not ok|porthole|\d+ passed)/.test(l)).join('\n');
  console.log(log);
  assert.equal(res.code, 0, res.lines.join('\n'));
  assert.match(log, /4 passed, 0 failed/);
});
