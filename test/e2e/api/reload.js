// Live reload through the real extension, run INSIDE code-server's extension host by the test
// harness (runExtensionTests from test/e2e/reload.test.mjs). The workspace settings give
// `porthole.reload.on: "type"` and a request log inside the served folder. Checked over raw TCP:
// the editor's unsaved text is served (and dropped on switching to `save`, on revert), the
// workspace watcher reports disk changes to the server (its own fs.watch is off), the log file
// never triggers an event, and the reload listen options restart the server.
// Every wait is bounded (waitFor); traffic is loopback only.
/* global require, exports */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'porthole.porthole';
const { openEvents, runTests, sleep, waitFor, get: getWith } = require('./support');

/** A GET as a browser navigation (so HTML gets the reload client). */
const get = (port, target) => getWith(port, target, ['Accept: text/html']);

const folder = () => vscode.workspace.workspaceFolders[0];
const stateOf = async () => (await vscode.commands.executeCommand('porthole._state')).find((s) => s.folder === folder().name).state;
const setSetting = (key, value) => vscode.workspace.getConfiguration('porthole', folder().uri).update(key, value, vscode.ConfigurationTarget.Workspace);
const token = `typed-${Date.now().toString(36)}`;

let port;
let stream;
let document;

const tests = [
  ['the extension is active; Go Live serves the page with the reload client', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    await waitFor('activation', () => ext && ext.isActive, 20000);
    assert.equal(vscode.workspace.getConfiguration('porthole', folder().uri).get('reload.on'), 'type');
    const state = await vscode.commands.executeCommand('porthole.start');
    assert.equal(state.kind, 'running', JSON.stringify(state));
    port = state.address.port;
    const res = await get(port, '/helloworld.html');
    assert.equal(res.status, 200);
    assert.match(res.body, /\/__porthole\/client\.js/);
    stream = openEvents(port);
    await waitFor('the hello event', () => stream.events().some((e) => e.event === 'hello'));
  }],
  ['reload.on = type: the unsaved text is served, the file on disk is untouched', async () => {
    const file = path.join(folder().uri.fsPath, 'helloworld.html');
    document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    const editor = await vscode.window.showTextDocument(document);
    await editor.edit((b) => b.insert(document.positionAt(document.getText().length), `<p id="typed">${token}</p>\n`));
    assert.equal(document.isDirty, true);
    await waitFor('the unsaved text over HTTP', async () => (await get(port, '/helloworld.html')).body.includes(token));
    assert.equal(fs.readFileSync(file, 'utf8').includes(token), false, 'not saved');
    await waitFor('a reload event for the page', () =>
      stream.events().some((e) => e.event === 'reload' && JSON.parse(e.data).paths.includes('/helloworld.html')));
  }],
  ['switching to save drops the overlay without a restart; back to type serves it again', async () => {
    const since = (await stateOf()).since;
    await setSetting('reload.on', 'save');
    await waitFor('the disk text again', async () => !(await get(port, '/helloworld.html')).body.includes(token));
    await setSetting('reload.on', 'type');
    await waitFor('the unsaved text again', async () => (await get(port, '/helloworld.html')).body.includes(token));
    const after = await stateOf();
    assert.equal(after.kind, 'running');
    assert.equal(after.since, since, 'same server (not restarted)');
  }],
  ['revert: the document is clean again and the disk is served', async () => {
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await waitFor('a clean document', () => !document.isDirty);
    await waitFor('the disk text again', async () => !(await get(port, '/helloworld.html')).body.includes(token));
  }],
  ['the workspace watcher reports disk changes (the core\'s fs.watch is off); the log file never counts', async () => {
    const before = stream.events().length;
    const style = path.join(folder().uri.fsPath, 'style.css');
    // VS Code's recursive watcher starts asynchronously after the folder opens, and a change made
    // before it is ready is never reported: write again every 2 s (at most 15 s) until one is.
    let writes = 0;
    let lastWrite = 0;
    const css = await waitFor('a css event for style.css', () => {
      if (Date.now() >= lastWrite + 2000) {
        fs.appendFileSync(style, `\n/* ${token} ${writes++} */\n`);
        lastWrite = Date.now();
      }
      return stream.events().slice(before).find((e) => e.event === 'css' && JSON.parse(e.data).paths.includes('/style.css'));
    });
    assert.ok(css);
    // Requests append to textlog.txt inside the served folder: never an event.
    for (let i = 0; i < 3; i++) await get(port, '/alice.txt');
    await sleep(1500);
    assert.ok(fs.statSync(path.join(folder().uri.fsPath, 'textlog.txt')).size > 0, 'the log is written');
    for (const e of stream.events()) assert.ok(!e.data.includes('textlog'), JSON.stringify(e));
  }],
  ['a save is served from disk', async () => {
    const editor = await vscode.window.showTextDocument(document);
    await editor.edit((b) => b.insert(document.positionAt(document.getText().length), `<p>saved-${token}</p>\n`));
    await document.save();
    assert.equal(document.isDirty, false);
    assert.ok(fs.readFileSync(document.uri.fsPath, 'utf8').includes(`saved-${token}`));
    await waitFor('the saved text', async () => (await get(port, '/helloworld.html')).body.includes(`saved-${token}`));
  }],
  ['reload.enabled off restarts the server without the reload client; on again restores it', async () => {
    stream.close();
    const since = (await stateOf()).since;
    await setSetting('reload.enabled', false);
    const off = await waitFor('the restart', async () => {
      const s = await stateOf();
      return s.kind === 'running' && s.since !== since ? s : undefined;
    });
    assert.doesNotMatch((await get(off.address.port, '/helloworld.html')).body, /__porthole/);
    await setSetting('reload.enabled', undefined);
    const on = await waitFor('the restart', async () => {
      const s = await stateOf();
      return s.kind === 'running' && s.since !== off.since ? s : undefined;
    });
    assert.match((await get(on.address.port, '/helloworld.html')).body, /\/__porthole\/client\.js/);
    await vscode.commands.executeCommand('porthole.stop');
  }],
];

exports.run = async function run() {
  try {
    await runTests('porthole live-reload API tests', tests);
  } finally {
    stream?.close();
  }
};
