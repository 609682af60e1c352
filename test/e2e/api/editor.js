// Pages from the editor, run INSIDE code-server's extension host (test/e2e/editor.test.mjs):
// Go Live opens the active HTML file in porthole.browser (a command line that records the URL it
// was given), one tab per server (an open page is navigated instead), the page follows the editor,
// the preview beside the editor (the Simple Browser: its page connects to live reload), and
// Debug in Browser (js-debug launches Chromium on the page; a breakpoint in the workspace binds).
// Every wait is bounded (waitFor); traffic is loopback only.
/* global require, exports */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'porthole.porthole';
const { get, openEvents, runTests, waitFor } = require('./support');

const folder = () => vscode.workspace.workspaceFolders[0];
const file = (name) => vscode.Uri.joinPath(folder().uri, name);
const stateOf = async () => (await vscode.commands.executeCommand('porthole._state')).find((s) => s.folder === folder().name);
const setWorkspace = (key, value) => vscode.workspace.getConfiguration('porthole', folder().uri).update(key, value, vscode.ConfigurationTarget.Workspace);
/** URLs the recording "browser" was started with, one a line. */
const OPENED = () => path.join(folder().uri.fsPath, '..', 'opened.txt');
const opened = () => (fs.existsSync(OPENED()) ? fs.readFileSync(OPENED(), 'utf8').split('\n').filter(Boolean) : []);
const show = async (name) => vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file(name)), { preview: false });
const navigations = (stream) => stream.events().filter((e) => e.event === 'navigate').map((e) => JSON.parse(e.data).path);

let port;
const streams = [];
const stream = () => {
  const s = openEvents(port);
  streams.push(s);
  return s;
};
/** Waits until the server counts exactly `n` connected pages. */
const pagesAre = (n) => waitFor(`${n} connected page(s)`, async () => ((await stateOf()).connectedPages === n ? true : undefined));

const tests = [
  ['the extension is active; porthole.browser is a command line that records the URL', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    await waitFor('activation', () => ext && ext.isActive, 20000);
    // porthole.browser is application-scoped: user settings only.
    await vscode.workspace.getConfiguration('porthole').update('browser', `sh -c 'printf "%s\\n" "$0" >> "$1"' %URL% ${OPENED()}`, vscode.ConfigurationTarget.Global);
    assert.equal(vscode.workspace.getConfiguration('porthole').get('openBrowser'), true);
  }],
  ['Go Live with an HTML file open opens that file\'s URL in porthole.browser', async () => {
    await show('helloworld.html');
    const state = await vscode.commands.executeCommand('porthole.start');
    assert.equal(state.kind, 'running', JSON.stringify(state));
    port = state.address.port;
    const [url] = await waitFor('the browser to be started', () => (opened().length > 0 ? opened() : undefined));
    console.log(`porthole opened ${url}`);
    const external = (await vscode.env.asExternalUri(vscode.Uri.parse(`http://127.0.0.1:${port}/helloworld.html`))).toString();
    assert.equal(url, external);
    assert.equal((await get(port, '/helloworld.html')).status, 200);
  }],
  ['a page of the server is open: opening another file takes it there, no second tab', async () => {
    // A raw stream that behaves like a page: told to navigate, it asks for the page.
    const s = stream();
    await pagesAre(1);
    const before = opened().length;
    const command = vscode.commands.executeCommand('porthole.openFileInBrowser', file('image.html'));
    await waitFor('the navigate event', () => navigations(s).includes('/image.html'));
    assert.equal((await get(port, '/image.html', ['Accept: text/html'])).status, 200);
    assert.match(await command, /\/image\.html$/);
    assert.equal(opened().length, before, opened().join('\n'));
  }],
  ['a stream whose page never comes (a stale connection): the browser opens after all', async () => {
    const [s] = streams.slice(-1);
    const before = opened().length;
    await vscode.commands.executeCommand('porthole.openInBrowser');
    assert.ok(navigations(s).includes('/'), 'the open page was told first');
    await waitFor('the browser', () => opened().length > before);
    assert.equal(opened().length, before + 1, opened().join('\n'));
    assert.equal(opened().at(-1), (await vscode.env.asExternalUri(vscode.Uri.parse(`http://127.0.0.1:${port}/`))).toString());
    s.close();
    await pagesAre(0);
  }],
  ['porthole.followEditor: another served HTML file navigates the pages; CSS does nothing; off does nothing', async () => {
    const s = stream();
    await pagesAre(1);
    await setWorkspace('followEditor', true);
    await waitFor('the setting reaches the running server', async () => (await stateOf()).state.config.followEditor);
    await show('index.html');
    await waitFor('navigate to index.html', () => navigations(s).includes('/index.html'));
    await show('style.css');
    await show('image.html');
    await waitFor('navigate to image.html', () => navigations(s).includes('/image.html'));
    assert.deepEqual(navigations(s), ['/index.html', '/image.html'], 'the stylesheet sent nothing');
    await setWorkspace('followEditor', false);
    await waitFor('the setting reaches the running server', async () => !(await stateOf()).state.config.followEditor);
    await show('helloworld.html');
    await setWorkspace('followEditor', true);
    await waitFor('the setting reaches the running server', async () => (await stateOf()).state.config.followEditor);
    await show('index.html');
    await waitFor('navigate to index.html again', () => navigations(s).length === 3);
    assert.deepEqual(navigations(s), ['/index.html', '/image.html', '/index.html'], 'helloworld.html (followEditor off) sent nothing');
    await setWorkspace('followEditor', undefined);
    s.close();
    await pagesAre(0);
  }],
  ['Open Preview to the Side: the Simple Browser beside the editor; its page connects to live reload', async () => {
    const all = await vscode.commands.getCommands(true);
    const result = await vscode.commands.executeCommand('porthole.openPreview', file('helloworld.html'));
    assert.ok(result, 'a preview was shown');
    assert.equal(result.in, all.includes('workbench.action.browser.open') ? 'integrated browser' : 'Simple Browser');
    assert.match(result.url, /\/helloworld\.html\?__porthole_preview=1$/);
    console.log(`porthole preview ${result.url} in the ${result.in}`);
    // The preview's iframe loaded the page with the client injected, and the client connected.
    await pagesAre(1);
    // (Closing it ends the page; code-server's proxy may hold its stream open until the next heartbeat.)
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  }],
  ['Debug in Browser: js-debug launches the browser on the page; a breakpoint in the workspace binds', async () => {
    await vscode.workspace.getConfiguration('debug.javascript').update('debugByLinkOptions', {
      runtimeExecutable: '/usr/bin/chromium',
      runtimeArgs: ['--headless=new', '--no-sandbox', '--disable-gpu'],
      // code-server is a remote: without this js-debug asks its companion in the web page, which cannot launch.
      browserLaunchLocation: 'workspace',
    }, vscode.ConfigurationTarget.Global);
    const started = [];
    const sub = vscode.debug.onDidStartDebugSession((s) => started.push(s));
    // What the debug adapters said (failed responses, output): the failure message names the reason.
    const said = [];
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('*', {
      createDebugAdapterTracker: () => ({
        onDidSendMessage: (m) => {
          if ((m.type === 'response' && !m.success) || (m.type === 'event' && m.event === 'output')) said.push(JSON.stringify(m).slice(0, 500));
        },
        onError: (e) => said.push(`error: ${e && e.message}`),
      }),
    });
    const pagesBefore = (await stateOf()).connectedPages;
    const script = file('debug-me.js');
    const line = fs.readFileSync(script.fsPath, 'utf8').split('\n').findIndex((l) => l.includes('BREAK HERE'));
    assert.ok(line >= 0);
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(script, new vscode.Position(line, 0)))]);
    try {
      const result = await vscode.commands.executeCommand('porthole.debugInBrowser', file('debug.html'));
      assert.equal(result.started, true, `${JSON.stringify(result)}\n${said.join('\n')}`);
      assert.match(result.url, /\/debug\.html$/);
      const session = await waitFor('a debug session', () => started.find((s) => s.type === 'pwa-chrome'), 30000);
      assert.equal(session.configuration.webRoot, folder().uri.fsPath);
      // The page ran in the launched browser: it stops at the breakpoint in debug-me.js.
      const frame = await waitFor('the breakpoint to be hit', () => {
        const item = vscode.debug.activeStackItem;
        return item && item.frameId !== undefined ? item : undefined;
      }, 60000);
      const trace = await frame.session.customRequest('stackTrace', { threadId: frame.threadId, startFrame: 0, levels: 1 });
      const top = trace.stackFrames[0];
      console.log(`porthole debug stopped at ${top.source && top.source.path}:${top.line}`);
      assert.equal(path.basename(top.source.path), 'debug-me.js');
      assert.equal(top.line, line + 1);
      await frame.session.customRequest('continue', { threadId: frame.threadId });
      // The page's live-reload client connected from the debugged browser.
      await waitFor('the debugged page to connect', async () => (await stateOf()).connectedPages > pagesBefore, 30000);
    } finally {
      sub.dispose();
      tracker.dispose();
      vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
      await vscode.debug.stopDebugging();
    }
  }],
  ['Stop', async () => {
    await vscode.commands.executeCommand('porthole.stop');
    assert.equal((await stateOf()).state.kind, 'stopped');
  }],
  ['Go Live twice in a row (a double click): one server, one browser tab', async () => {
    const before = opened().length;
    const states = await Promise.all([vscode.commands.executeCommand('porthole.start'), vscode.commands.executeCommand('porthole.start')]);
    assert.deepEqual(states.map((s) => s.kind), ['running', 'running']);
    await waitFor('the browser', () => opened().length > before);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(opened().length, before + 1, opened().slice(before).join('\n'));
    await vscode.commands.executeCommand('porthole.stop');
    assert.equal((await stateOf()).state.kind, 'stopped');
  }],
];

exports.run = async function run() {
  try {
    await runTests('porthole editor API tests', tests);
  } finally {
    for (const s of streams) s.close();
  }
};
