// Go Live on a loose file, run INSIDE code-server's extension host with NO folder open
// (test/e2e/editor.test.mjs, emptyWindow): the HTML file's folder is served, its URL opened;
// Stop forgets the folder. The folder is PORTHOLE_E2E_LOOSE_DIR (the runner made it; the
// extension host inherits code-server's environment). Every wait is bounded; loopback only.
/* global require, exports */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'porthole.porthole';
const { get, runTests, waitFor } = require('./support');

const DIR = process.env.PORTHOLE_E2E_LOOSE_DIR;
const OPENED = () => path.join(DIR, '..', 'opened-loose.txt');
const opened = () => (fs.existsSync(OPENED()) ? fs.readFileSync(OPENED(), 'utf8').split('\n').filter(Boolean) : []);
const states = () => vscode.commands.executeCommand('porthole._state');

function portClosed(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('connect', () => { socket.destroy(); resolve(false); });
    socket.on('error', () => resolve(true));
  });
}

let port;

const tests = [
  ['no folder is open; the extension is active', async () => {
    assert.ok(DIR && fs.existsSync(path.join(DIR, 'page.html')), `PORTHOLE_E2E_LOOSE_DIR=${DIR}`);
    assert.equal((vscode.workspace.workspaceFolders || []).length, 0);
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    await waitFor('activation', () => ext && ext.isActive, 20000);
    await vscode.workspace.getConfiguration('porthole').update('browser', `sh -c 'printf "%s\\n" "$0" >> "$1"' %URL% ${OPENED()}`, vscode.ConfigurationTarget.Global);
    await vscode.workspace.getConfiguration('porthole').update('port', 0, vscode.ConfigurationTarget.Global);
  }],
  ['Go Live on the open HTML file serves its folder and opens the file', async () => {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(DIR, 'page.html'))));
    const state = await vscode.commands.executeCommand('porthole.start');
    assert.equal(state && state.kind, 'running', JSON.stringify(state));
    port = state.address.port;
    const all = await states();
    assert.deepEqual(all.map((s) => s.path), [DIR]);
    const page = await get(port, '/page.html');
    assert.equal(page.status, 200);
    assert.match(page.body, /loose page/);
    assert.match((await get(port, '/other.html')).body, /the other page/);
    const [url] = await waitFor('the browser to be started', () => (opened().length > 0 ? opened() : undefined));
    assert.equal(url, (await vscode.env.asExternalUri(vscode.Uri.parse(`http://127.0.0.1:${port}/page.html`))).toString());
  }],
  ['Open Current File in Browser on a file of that folder uses the same server', async () => {
    const url = await vscode.commands.executeCommand('porthole.openFileInBrowser', vscode.Uri.file(path.join(DIR, 'other.html')));
    assert.equal(url, `http://127.0.0.1:${port}/other.html`);
    assert.equal((await states()).length, 1);
  }],
  ['Stop closes the port and forgets the folder', async () => {
    await vscode.commands.executeCommand('porthole.stop');
    assert.equal(await portClosed(port), true);
    assert.deepEqual(await states(), []);
  }],
  ['Go Live on the file (the editor-title button, no editor active) serves its folder again and opens that file', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const before = opened().length;
    const state = await vscode.commands.executeCommand('porthole.start', vscode.Uri.file(path.join(DIR, 'other.html')));
    assert.equal(state && state.kind, 'running', JSON.stringify(state));
    assert.deepEqual((await states()).map((s) => s.path), [DIR]);
    await waitFor('the browser', () => opened().length > before);
    assert.equal(opened().at(-1), (await vscode.env.asExternalUri(vscode.Uri.parse(`http://127.0.0.1:${state.address.port}/other.html`))).toString());
    await vscode.commands.executeCommand('porthole.stop');
    assert.deepEqual(await states(), []);
  }],
  ['with no HTML file active, Go Live has nothing to serve (it says so)', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const state = await vscode.commands.executeCommand('porthole.start');
    assert.equal(state, undefined);
    assert.deepEqual(await states(), []);
  }],
];

exports.run = async function run() {
  await runTests('porthole loose-file API tests', tests);
};
