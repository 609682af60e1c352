// API-level tests, run INSIDE code-server's extension host by the test harness
// (test/harness/vscode.mjs runExtensionTests): the host requires this module and awaits run(); a rejection = failure.
// A single-folder workspace runs the single suite; a multi-root workspace the multi-root suite.
// Every wait is bounded (waitFor); traffic is loopback only.
/* global require, exports, __dirname */
'use strict';
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'porthole.porthole';

const { get, runTests, sleep, waitFor } = require('./support');

function portClosed(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('connect', () => { socket.destroy(); resolve(false); });
    socket.on('error', () => resolve(true));
  });
}

/** The port the workspace settings gave (restored after the tests that change it). */
let initialPort;

const states = () => vscode.commands.executeCommand('porthole._state');
const stateOf = async (folderName) => (await states()).find((s) => s.folder === folderName);

async function setSetting(key, value, target = vscode.ConfigurationTarget.Workspace, scope) {
  await vscode.workspace.getConfiguration('porthole', scope).update(key, value, target);
}

// ------------------------------------------------------------------ single folder

const single = [
  ['the extension is installed and active (onStartupFinished)', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} not found`);
    await waitFor('activation', () => ext.isActive, 20000);
  }],
  ['every contributed command is registered', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    const all = await vscode.commands.getCommands(true);
    for (const { command } of ext.packageJSON.contributes.commands) assert.ok(all.includes(command), command);
  }],
  ['Go Live serves the folder; the request is counted', async () => {
    const port = vscode.workspace.getConfiguration('porthole').get('port');
    initialPort = port;
    const state = await vscode.commands.executeCommand('porthole.start');
    assert.equal(state.kind, 'running', JSON.stringify(state));
    assert.equal(state.address.port, port);
    assert.equal(state.address.url, `http://127.0.0.1:${port}/`);
    const res = await get(port, '/index.html');
    assert.equal(res.status, 200);
    assert.match(res.body, /Porthole sample site/);
    await waitFor('the request count', async () => (await stateOf(folderName())).requestCount >= 1);
  }],
  ['Copy URL puts the URL on the clipboard', async () => {
    const url = await vscode.commands.executeCommand('porthole.copyUrl');
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const text = await Promise.race([vscode.env.clipboard.readText(), sleep(3000).then(() => undefined)]);
    if (text !== undefined && text !== '') assert.equal(text, url);
  }],
  ['Export Requests as HAR to a path argument (automation) and Copy as curl by request key', async () => {
    const port = vscode.workspace.getConfiguration('porthole').get('port');
    assert.equal((await get(port, '/index.html?via=api')).status, 200);
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'porthole-api-har-'));
    try {
      const file = path.join(dir, 'api.har');
      const entry = () => {
        const har = JSON.parse(fs.readFileSync(file, 'utf8'));
        assert.equal(har.log.version, '1.2');
        return har.log.entries.find((e) => e.request.url === `http://127.0.0.1:${port}/index.html?via=api`);
      };
      // The view gets records in batches: wait until the request is kept.
      const result = await waitFor('the request in the export', async () => {
        const r = await vscode.commands.executeCommand('porthole.exportHar', file);
        return r && entry() ? r : undefined;
      });
      assert.equal(result.path, file);
      assert.ok(result.entries >= 1);
      assert.equal(entry().response.status, 200);
      const uriResult = await vscode.commands.executeCommand('porthole.exportHarWithCredentials', vscode.Uri.file(path.join(dir, 'with.har')));
      assert.equal(uriResult.entries, result.entries);
      const command = await vscode.commands.executeCommand('porthole.copyAsCurl', { webviewSection: 'request', requestKey: 1 });
      assert.match(command, new RegExp(`^curl .*'http://127\\.0\\.0\\.1:${port}/`));
      assert.equal(await vscode.commands.executeCommand('porthole.copyAsCurl', { requestKey: 'x' }), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }],
  ['Export Requests as HAR refuses a relative path and a file inside the served folder (it would be served): nothing written', async () => {
    const port = vscode.workspace.getConfiguration('porthole').get('port');
    assert.equal((await get(port, '/index.html?via=export-refused')).status, 200);
    const served = vscode.workspace.workspaceFolders[0].uri.fsPath;
    // Uri.file('name.har') is /name.har: the relative path was written at the file system's root.
    const relative = `porthole-relative-${process.pid}.har`;
    try {
      assert.equal(await vscode.commands.executeCommand('porthole.exportHar', relative), undefined);
      assert.ok(!fs.existsSync(path.join('/', relative)), `a relative path was written as /${relative}`);
      assert.ok(!fs.existsSync(path.join(served, relative)));
      for (const [command, file] of [['porthole.exportHarWithCredentials', path.join(served, 'requests.har')], ['porthole.exportHar', path.join(served, 'exports', 'requests.har')]]) {
        assert.equal(await vscode.commands.executeCommand(command, file), undefined, `${command} wrote ${file}`);
        assert.ok(!fs.existsSync(file), `${file} was written in the served folder`);
        assert.notEqual((await get(port, `/${path.relative(served, file).split(path.sep).join('/')}`)).status, 200);
      }
      assert.equal(await vscode.commands.executeCommand('porthole.exportHar', vscode.Uri.file(path.join(served, 'via-uri.har'))), undefined);
      assert.ok(!fs.existsSync(path.join(served, 'via-uri.har')));
    } finally {
      fs.rmSync(path.join('/', relative), { force: true });
      for (const f of ['requests.har', 'exports', 'requests.har', 'via-uri.har']) fs.rmSync(path.join(served, f), { recursive: true, force: true });
    }
  }],
  ['a non-binding setting change does not restart the server', async () => {
    const before = (await stateOf(folderName())).state;
    await setSetting('listing', false);
    await sleep(500);
    const after = (await stateOf(folderName())).state;
    assert.equal(after.kind, 'running');
    assert.equal(after.since, before.since, 'same server (not restarted)');
    await setSetting('listing', undefined);
  }],
  ['a busy port: the next free one, never written into the settings', async () => {
    const busy = net.createServer();
    await new Promise((resolve, reject) => { busy.once('error', reject); busy.listen(0, '127.0.0.1', resolve); });
    const busyPort = busy.address().port;
    try {
      await setSetting('port', busyPort);
      const s = await waitFor('the restart on the busy port', async () => {
        const st = (await stateOf(folderName())).state;
        return st.kind === 'running' && st.address.requestedPort === busyPort ? st : undefined;
      });
      assert.notEqual(s.address.port, busyPort);
      assert.equal((await get(s.address.port, '/')).status, 200);
      assert.equal(vscode.workspace.getConfiguration('porthole').inspect('port').workspaceValue, busyPort);
    } finally {
      busy.close();
    }
  }],
  ['a root change restarts the server on the new root', async () => {
    const sub = path.join(folderPath(), 'sub-site');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, 'index.html'), '<!DOCTYPE html><title>sub</title><p>from the sub folder</p>');
    const before = (await stateOf(folderName())).state;
    await setSetting('root', 'sub-site');
    const s = await waitFor('the restart on the new root', async () => {
      const st = (await stateOf(folderName())).state;
      return st.kind === 'running' && st.since !== before.since && st.config.root === 'sub-site' ? st : undefined;
    });
    assert.match((await get(s.address.port, '/')).body, /from the sub folder/);
  }],
  ['a setting changed while a restart for another runs is applied once it runs, not lost', async () => {
    const spare = net.createServer();
    await new Promise((resolve, reject) => { spare.once('error', reject); spare.listen(0, '127.0.0.1', resolve); });
    const other = spare.address().port;
    await new Promise((resolve) => spare.close(resolve));
    // The port change restarts the server; the root change arrives while it stops or starts.
    await Promise.all([setSetting('port', other), setSetting('root', undefined)]);
    const s = await waitFor('the server on the new port with the folder as its root', async () => {
      const st = (await stateOf(folderName())).state;
      return st.kind === 'running' && st.address.port === other && st.config.root === '' ? st : undefined;
    });
    assert.match((await get(s.address.port, '/')).body, /Porthole sample site/);
  }],
  ['Stop closes the port', async () => {
    const s = (await stateOf(folderName())).state;
    await vscode.commands.executeCommand('porthole.stop');
    assert.equal((await stateOf(folderName())).state.kind, 'stopped');
    assert.equal(await portClosed(s.address.port), true);
  }],
  ['a missing root: stopped with ENOENT and a plain reason', async () => {
    await setSetting('root', 'no-such-folder');
    const state = await vscode.commands.executeCommand('porthole.start');
    assert.equal(state.kind, 'stopped');
    assert.equal(state.failure.code, 'ENOENT', JSON.stringify(state));
    await setSetting('root', undefined);
    await setSetting('port', initialPort);
  }],
  ['Open Current File in Browser resolves the file URL (browser opening off in tests)', async () => {
    // openExternal is replaced for this test so that nothing launches a browser.
    const opened = [];
    const original = vscode.env.openExternal;
    try {
      Object.defineProperty(vscode.env, 'openExternal', { value: async (uri) => { opened.push(uri.toString()); return true; }, configurable: true });
    } catch { /* the API object may be frozen: then only the returned URL is checked */ }
    try {
      const url = await vscode.commands.executeCommand('porthole.openFileInBrowser', vscode.Uri.file(path.join(folderPath(), 'helloworld.html')));
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/helloworld\.html$/);
      assert.equal((await get(Number(new URL(url).port), '/helloworld.html')).status, 200);
    } finally {
      try { Object.defineProperty(vscode.env, 'openExternal', { value: original, configurable: true }); } catch { /* see above */ }
      await vscode.commands.executeCommand('porthole.stop');
    }
  }],
  ['event-loop delay of the extension host while the server takes 10 s of load', async () => {
    const state = await vscode.commands.executeCommand('porthole.start');
    assert.equal(state.kind, 'running');
    const baseline = await vscode.commands.executeCommand('porthole._measureEventLoop', 3000);
    const seconds = Number(process.env.PORTHOLE_LOAD_SECONDS || 10);
    const connections = 16;
    const child = spawn(process.execPath, [path.join(__dirname, 'load.js'), String(state.address.port), String(seconds * 1000), String(connections)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const done = new Promise((resolve) => child.on('exit', resolve));
    const loaded = await vscode.commands.executeCommand('porthole._measureEventLoop', seconds * 1000);
    await Promise.race([done, sleep(20000)]);
    child.kill();
    const load = JSON.parse(out.trim() || '{"requests":0,"errors":0}');
    const count = (await stateOf(folderName())).requestCount;
    const report = { baseline, loaded, load: { ...load, seconds, perSecond: Math.round(load.requests / seconds) }, countedByExtension: count };
    console.log(`EVENT-LOOP ${JSON.stringify(report)}`);
    fs.writeFileSync(path.join(folderPath(), '..', 'event-loop.json'), JSON.stringify(report, null, 2));
    assert.ok(load.requests > 1000, `the load reached the server (${load.requests} requests)`);
    assert.ok(loaded.p99Ms < 250, `extension host event-loop p99 ${loaded.p99Ms} ms`);
    await waitFor('every request counted', async () => (await stateOf(folderName())).requestCount >= load.requests, 10000);
    await vscode.commands.executeCommand('porthole.stop');
  }],
];

const folderName = () => vscode.workspace.workspaceFolders[0].name;
const folderPath = () => vscode.workspace.workspaceFolders[0].uri.fsPath;

// ------------------------------------------------------------------ multi-root

const multi = [
  ['the extension is active with two folders', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    await waitFor('activation', () => ext && ext.isActive, 20000);
    assert.equal(vscode.workspace.workspaceFolders.length, 2);
  }],
  ['one server per folder, each with its folder setting (resource scope)', async () => {
    const [a, b] = vscode.workspace.workspaceFolders;
    const sa = await vscode.commands.executeCommand('porthole.start', a.uri);
    const sb = await vscode.commands.executeCommand('porthole.start', b.uri);
    assert.equal(sa.kind, 'running');
    assert.equal(sb.kind, 'running');
    assert.equal(sa.address.port, vscode.workspace.getConfiguration('porthole', a.uri).get('port'));
    assert.equal(sb.address.port, vscode.workspace.getConfiguration('porthole', b.uri).get('port'));
    assert.match((await get(sa.address.port, '/')).body, /folder A/);
    assert.match((await get(sb.address.port, '/')).body, /folder B/);
    const all = await states();
    assert.deepEqual(all.filter((s) => s.state.kind === 'running').map((s) => s.folder).sort(), [a.name, b.name].sort());
  }],
  ['a file opens on its own folder\'s server', async () => {
    const b = vscode.workspace.workspaceFolders[1];
    const url = await vscode.commands.executeCommand('porthole.openFileInBrowser', vscode.Uri.joinPath(b.uri, 'page.html')).catch((e) => e);
    const sb = (await stateOf(b.name)).state;
    assert.equal(typeof url === 'string' ? url : '', `${sb.address.url}page.html`);
  }],
  ['Stop with a folder stops only that folder', async () => {
    const [a, b] = vscode.workspace.workspaceFolders;
    const pa = (await stateOf(a.name)).state.address.port;
    await vscode.commands.executeCommand('porthole.stop', a.uri);
    assert.equal((await stateOf(a.name)).state.kind, 'stopped');
    assert.equal((await stateOf(b.name)).state.kind, 'running');
    assert.equal(await portClosed(pa), true);
    await vscode.commands.executeCommand('porthole.stop', b.uri);
    assert.equal((await stateOf(b.name)).state.kind, 'stopped');
  }],
];

exports.run = async function run() {
  const isMulti = (vscode.workspace.workspaceFolders || []).length > 1;
  await runTests(`porthole API tests (${isMulti ? 'multi-root' : 'single folder'})`, isMulti ? multi : single);
};
