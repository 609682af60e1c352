/**
 * Where pages open: every command that shows a page goes through here.
 * - `open`: one tab per server — when a page of that server is already open and connected (the
 *   live-reload stream says so), it is taken to the URL instead (said in the Output); otherwise
 *   the browser of `porthole.browser` opens it (node-browser.ts), the default one through
 *   asExternalUri + openExternal. A browser that cannot start says so and offers the default.
 * - `preview`: beside the editor, in the integrated browser where this VS Code has one
 *   (`workbench.action.browser.open`), else the Simple Browser (`simpleBrowser.api.open`, beside,
 *   keeping the focus in the editor). The URL carries PREVIEW_QUERY_PARAMETER so live reload
 *   injects the preview's document (an iframe of a webview there).
 * - `debug`: VS Code's JavaScript debugger (js-debug) launches a browser on the page, webRoot the
 *   served folder, so breakpoints in the workspace's files bind.
 * - the page follows the editor (`porthole.followEditor`): switching to another HTML file of a
 *   served folder takes that server's connected pages to it.
 */
import * as vscode from 'vscode';
import { PREVIEW_QUERY_PARAMETER, timeoutAfterReads } from '../../core';
import { Disposable } from '../common/node-disposable';
import { CONFIG_SECTION, SETTING_KEYS, resolveRoot } from '../config/node-config';
import { folderContext, readFolderConfig } from '../config/vscode-config';
import type { PortholeOutput } from '../output/vscode-output';
import { MESSAGE_MAX, messageText } from '../output/node-format';
import { fileUrl } from '../reload/node-urls';
import type { ManagedServer, ServerManager } from '../server/vscode-server-manager';
import { isHtmlPath } from '../server/vscode-server-manager';
import { browserChoice, startBrowser } from './node-browser';

/** The integrated browser's command (desktop VS Code 1.109+); absent in code-server and the web. */
export const INTEGRATED_BROWSER_COMMAND = 'workbench.action.browser.open';
export const SIMPLE_BROWSER_COMMAND = 'simpleBrowser.api.open';
/** How long a page told to navigate has to ask for the page before a tab opens instead. */
export const NAVIGATE_CONFIRM_MS = 3_000;
/** js-debug, built into VS Code (and code-server); the nightly build replaces it when installed. */
const JS_DEBUG_IDS = ['ms-vscode.js-debug-nightly', 'ms-vscode.js-debug'];

export type OpenOutcome =
  | { readonly kind: 'navigated'; readonly url: string; readonly pages: number }
  | { readonly kind: 'opened'; readonly url: string; readonly with: string }
  | { readonly kind: 'failed'; readonly url: string; readonly reason: string };

/** The origin-form path (path and query) of an absolute URL. */
function originForm(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

export class PageOpener extends Disposable {
  constructor(
    private readonly manager: ServerManager,
    private readonly output: PortholeOutput,
    private readonly logUri: vscode.Uri,
  ) {
    super();
    manager.openPage = (server, url) => this.open(server, url);
    this.register(vscode.window.onDidChangeActiveTextEditor((editor) => this.followEditor(editor)));
  }

  /**
   * Shows `url` (a page of `server`): an open page of that server goes there, else a browser opens
   * it. A navigation counts once a page asks for the path (within NAVIGATE_CONFIRM_MS): a stream
   * can outlive its page (a proxy that keeps it open, a phone asleep), and then a tab opens after all.
   */
  async open(server: ManagedServer, url: string): Promise<OpenOutcome> {
    const path = originForm(url);
    const arrived = this.requestFor(server, new URL(url).pathname, NAVIGATE_CONFIRM_MS);
    const pages = server.controller.navigate(path);
    if (pages > 0 && (await arrived.promise)) {
      this.output.log('info', `[${server.folder.name}] A page of this server is already open: took ${pages === 1 ? 'it' : `all ${pages}`} to ${path} instead of opening another tab.`);
      return { kind: 'navigated', url, pages };
    }
    arrived.cancel();
    if (pages > 0) this.output.log('info', `[${server.folder.name}] ${pages} page${pages === 1 ? '' : 's'} of this server seemed open, but none came to ${path} within ${NAVIGATE_CONFIRM_MS / 1000} s: opening it.`);
    return this.openInBrowser(url);
  }

  /** Resolves true when `server` answers a GET for `pathname` (any query) within `ms`, else false. */
  private requestFor(server: ManagedServer, pathname: string, ms: number): { promise: Promise<boolean>; cancel: () => void } {
    let done: (arrived: boolean) => void = () => undefined;
    const promise = new Promise<boolean>((resolve) => {
      done = resolve;
    });
    // Judged after that turn's reads: the records of a request that came in time may wait in the
    // worker's port behind a held-up extension host (a second tab opened for a page that came).
    const timer = timeoutAfterReads(ms, () => finish(false));
    const sub = server.controller.onRequests((records) => {
      if (records.some((r) => r.method === 'GET' && r.target.split('?', 1)[0] === pathname)) finish(true);
    });
    let finished = false;
    const finish = (arrived: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sub.dispose();
      done(arrived);
    };
    return { promise, cancel: () => finish(false) };
  }

  /** Opens `url` in the browser of `porthole.browser` (never reuses a page). */
  async openInBrowser(url: string): Promise<OpenOutcome> {
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(url));
    const setting = readFolderConfig(undefined).config.browser;
    const choice = browserChoice(setting, external.toString());
    if (choice.kind === 'default') return this.openDefault(url, external);
    const reason = choice.kind === 'invalid' ? choice.reason : await startBrowser(choice.candidates).then((r) => (r.ok ? undefined : r.reason));
    if (reason === undefined) {
      this.output.log('info', `Opened ${url} with ${choice.kind === 'program' ? choice.label : setting}.`);
      return { kind: 'opened', url, with: setting };
    }
    const summary = `Porthole could not start the browser "${setting}" (${reason}).`;
    this.output.log('warn', `${summary} Page: ${url}`);
    const DEFAULT = 'Open in Default Browser';
    const SETTINGS = 'Open Settings';
    void vscode.window.showWarningMessage(messageText(`${summary} Open the page in the default browser instead, or change porthole.browser.`, MESSAGE_MAX), DEFAULT, SETTINGS).then((picked) => {
      if (picked === DEFAULT) void this.openDefault(url, external);
      else if (picked === SETTINGS) void vscode.commands.executeCommand('workbench.action.openSettings', `${CONFIG_SECTION}.${SETTING_KEYS.browser}`);
    });
    return { kind: 'failed', url, reason };
  }

  private async openDefault(url: string, external: vscode.Uri): Promise<OpenOutcome> {
    const ok = await vscode.env.openExternal(external);
    return ok ? { kind: 'opened', url, with: 'default' } : { kind: 'failed', url, reason: 'VS Code did not open it' };
  }

  /**
   * Shows `url` beside the editor: the integrated browser when this VS Code has it, else the
   * Simple Browser. Resolves with the URL shown (marker included) and where, or undefined when
   * neither is available (said in a message).
   */
  async preview(url: string): Promise<{ url: string; in: 'integrated browser' | 'Simple Browser' } | undefined> {
    const marked = new URL(url);
    marked.searchParams.set(PREVIEW_QUERY_PARAMETER, '1');
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(marked.href));
    const shown = external.toString(true);
    const commands = await vscode.commands.getCommands(true);
    if (commands.includes(INTEGRATED_BROWSER_COMMAND)) {
      await vscode.commands.executeCommand(INTEGRATED_BROWSER_COMMAND, shown);
      return { url: shown, in: 'integrated browser' };
    }
    try {
      await vscode.commands.executeCommand(SIMPLE_BROWSER_COMMAND, external, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
      return { url: shown, in: 'Simple Browser' };
    } catch (err) {
      this.output.log('warn', `Preview: ${(err as Error).message}`);
      const OPEN = 'Open in Browser';
      void vscode.window
        .showWarningMessage('Porthole: this VS Code has no browser to show the preview in (the Simple Browser extension is disabled). Enable "Simple Browser" in the Extensions view, or open the page in a browser.', OPEN)
        .then((picked) => (picked === OPEN ? this.openInBrowser(url) : undefined));
      return undefined;
    }
  }

  /**
   * Starts VS Code's JavaScript debugger on `url`: a `pwa-chrome` launch (`pwa-msedge` when
   * porthole.browser is `edge`) with the served folder as webRoot, on top of the user's
   * `debug.javascript.debugByLinkOptions` (runtimeExecutable, runtimeArgs, …). Resolves true when a
   * session started; without js-debug says so and resolves false.
   */
  async debug(server: ManagedServer, url: string): Promise<boolean> {
    if (!JS_DEBUG_IDS.some((id) => vscode.extensions.getExtension(id) !== undefined)) {
      void vscode.window.showErrorMessage(
        'Porthole: debugging needs VS Code\'s JavaScript Debugger (js-debug), which is missing or disabled here. Enable "JavaScript Debugger" in the Extensions view (it is built in), then try again.',
      );
      return false;
    }
    const state = server.controller.state;
    if (state.kind !== 'running') return false;
    const root = resolveRoot(state.config, folderContext(server.folder, this.logUri));
    const byLink = vscode.workspace.getConfiguration('debug.javascript').get<unknown>('debugByLinkOptions');
    const base = typeof byLink === 'object' && byLink !== null ? (byLink as Record<string, unknown>) : {};
    // In a remote window js-debug launches the browser on the UI side (its companion) unless told
    // `browserLaunchLocation: "workspace"`: that browser reaches the page by the external URL,
    // whose path may carry a proxy's prefix (code-server's /proxy/<port>/), mapped to the root.
    let target = url;
    const extra: Record<string, unknown> = {};
    if (vscode.env.remoteName !== undefined && base.browserLaunchLocation !== 'workspace') {
      const external = await vscode.env.asExternalUri(vscode.Uri.parse(url));
      target = external.toString();
      const prefix = new URL(target).pathname.slice(0, new URL(target).pathname.length - new URL(url).pathname.length + 1);
      if (prefix !== '/' && prefix.endsWith('/')) extra.pathMapping = { [prefix]: root };
    }
    const config: vscode.DebugConfiguration = {
      ...base,
      ...extra,
      type: state.config.browser.toLowerCase() === 'edge' ? 'pwa-msedge' : 'pwa-chrome',
      request: 'launch',
      name: `Porthole: ${url}`,
      url: target,
      webRoot: root,
    };
    const folder = this.manager.isLoose(server.folder) ? undefined : server.folder;
    const started = await vscode.debug.startDebugging(folder, config);
    if (started) {
      this.output.log('info', `[${server.folder.name}] Debugging ${target} (${config.type}, webRoot ${root}).`);
    } else {
      const hint = vscode.env.remoteName !== undefined
        ? ' In a remote window or code-server the browser starts on your side; to start it on the remote machine, set "browserLaunchLocation": "workspace" in debug.javascript.debugByLinkOptions.'
        : ' Is Chrome (or Edge) installed? debug.javascript.debugByLinkOptions can name it ("runtimeExecutable").';
      this.output.log('warn', `[${server.folder.name}] The debugger did not start a browser on ${target}.${hint}`);
      // The page's URL holds a file's name (`/[x](command:…).html`): no markup in the warning.
      void vscode.window.showWarningMessage(messageText(`Porthole: the JavaScript debugger could not start a browser on ${target}.${hint}`, MESSAGE_MAX));
    }
    return started;
  }

  /** porthole.followEditor: the active editor went to `editor`; take the servers' pages to its HTML file. */
  private followEditor(editor: vscode.TextEditor | undefined): void {
    const uri = editor?.document.uri;
    if (!uri || uri.scheme !== 'file' || !isHtmlPath(uri.fsPath)) return;
    for (const server of this.manager.active()) {
      const state = server.controller.state;
      if (state.kind !== 'running' || !state.config.followEditor) continue;
      const url = fileUrl(state.address.url, resolveRoot(state.config, folderContext(server.folder, this.logUri)), uri.fsPath);
      if (!url) continue;
      const path = originForm(url);
      const pages = server.controller.navigate(path);
      if (pages > 0) this.output.log('info', `[${server.folder.name}] Following the editor: took ${pages === 1 ? 'the page' : `${pages} pages`} to ${path}.`);
    }
  }
}
