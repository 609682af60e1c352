/**
 * One ServerController per workspace folder, created on demand. Owns the folder choice in
 * multi-root workspaces (remembered per workspace), applies settings changes (restart only when
 * the binding or the root changed), follows folders being removed, and stops everything on
 * shutdown. Emits one change event for the status bar and forwards request batches.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConsoleEntry, RequestRecord, ServerOptionsInput } from '../../core';
import { WorkerServer, mountsFrom } from '../../core';
import { MESSAGE_MAX, messageText, sanitizeOneLine } from '../output/node-format';
import { Disposable, Emitter } from '../common/node-disposable';
import { resolveRoot } from '../config/node-config';
import type { PortholeConfig } from '../config/node-config';
import { ServerController } from './node-server-controller';
import { SharedUrlCache, sharingModeOf } from '../sharing/node-sharing';
import type { ServerState } from './node-server-state';
import { fileUrl } from '../reload/node-urls';
import { isInsideRoot } from '../reload/node-live-reload';
import { affectsPorthole, folderContext, readFolderConfig } from '../config/vscode-config';
import type { PortholeOutput } from '../output/vscode-output';

const LAST_FOLDER_KEY = 'porthole.lastFolder';

export interface ManagedServer {
  readonly folder: vscode.WorkspaceFolder;
  readonly controller: ServerController;
}

export interface RequestBatch {
  readonly server: string;
  readonly records: readonly RequestRecord[];
}

export interface ConsoleBatch {
  readonly server: string;
  readonly entries: readonly ConsoleEntry[];
}

export class ServerManager extends Disposable {
  private readonly servers = new Map<string, ManagedServer>();
  /** Completes a folder's options before each start (HTTPS: vscode-sharing.ts); throws to fail it. */
  prepareOptions:
    | ((folder: vscode.WorkspaceFolder, config: PortholeConfig, options: ServerOptionsInput) => ServerOptionsInput | Promise<ServerOptionsInput>)
    | undefined;
  private readonly changeEmitter = this.register(new Emitter<void>());
  private readonly requestsEmitter = this.register(new Emitter<RequestBatch>());
  private readonly hostnameEmitter = this.register(new Emitter<{ ip: string; name: string }>());
  private readonly consoleEmitter = this.register(new Emitter<ConsoleBatch>());
  /** Network URLs per running server: refreshed on every state change, read on every render. */
  private readonly networkUrls = new SharedUrlCache();

  /** Any server's state changed (request counts change through onRequests). */
  readonly onDidChange = this.changeEmitter.event;
  readonly onRequests = this.requestsEmitter.event;
  readonly onHostname = this.hostnameEmitter.event;
  /** Pages' console messages (porthole.console.forward), per server. */
  readonly onConsole = this.consoleEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: PortholeOutput,
  ) {
    super();
    this.register(vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChanged(e)));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders((e) => this.onFoldersChanged(e)));
  }

  all(): ManagedServer[] {
    return [...this.servers.values()];
  }

  /** Servers that are running (or starting), in folder order. */
  active(): ManagedServer[] {
    return this.all()
      .filter((s) => s.controller.state.kind === 'running' || s.controller.state.kind === 'starting')
      .sort((a, b) => a.folder.index - b.folder.index);
  }

  /**
   * The folders running (or starting) servers serve: each document root and each mount's folder,
   * with the server's URL. A file written in one can be fetched by every client that may connect.
   */
  servedFolders(): Array<{ folder: string; url: string | undefined }> {
    const out: Array<{ folder: string; url: string | undefined }> = [];
    for (const { folder, controller } of this.active()) {
      const state = controller.state;
      if (state.kind !== 'running' && state.kind !== 'starting') continue;
      const url = state.kind === 'running' ? state.address.url : undefined;
      out.push({ folder: resolveRoot(state.config, folderContext(folder, this.context.logUri)), url });
      const mounts = mountsFrom(state.config.mounts, folder.uri.fsPath);
      if (typeof mounts !== 'string') for (const m of mounts) out.push({ folder: m.folder, url: url && new URL(m.prefix, url).href });
    }
    return out;
  }

  get(folder: vscode.WorkspaceFolder): ManagedServer | undefined {
    return this.servers.get(folder.uri.toString());
  }

  /** The URLs other devices use for a running shared server (undefined unless running and shared). */
  sharedUrlsOf({ folder, controller }: ManagedServer): ReadonlyArray<{ url: string; label: string }> | undefined {
    const state = controller.state;
    if (state.kind !== 'running' || sharingModeOf(state.config.host) !== 'shared') return undefined;
    return this.networkUrls.get(folder.uri.toString(), state.since, state.config.host, state.address);
  }

  /** A server's state changed: the URL lists follow the interfaces again, then listeners hear it. */
  private fireChange(): void {
    this.networkUrls.refresh();
    this.changeEmitter.fire();
  }

  private ensure(folder: vscode.WorkspaceFolder): ManagedServer {
    const existing = this.get(folder);
    if (existing) return existing;
    const workerScript = path.join(this.context.extensionPath, 'dist', 'server-worker.js');
    const controller = new ServerController(
      folderContext(folder, this.context.logUri),
      () => new WorkerServer(workerScript),
      this.output,
      (config, options) => this.prepareOptions?.(folder, config, options) ?? options,
    );
    controller.onDidChangeState(() => this.fireChange());
    controller.onRequests((records) => this.requestsEmitter.fire({ server: folder.name, records }));
    controller.onHostname((h) => this.hostnameEmitter.fire(h));
    controller.onConsole((entries) => this.consoleEmitter.fire({ server: folder.name, entries }));
    const managed = { folder, controller };
    this.servers.set(folder.uri.toString(), managed);
    return managed;
  }

  /**
   * Starts `folder`'s server (no-op when it runs). `openBrowser`: the caller opens the page when
   * the result says `opened` is wanted (Go Live and `porthole.openBrowser`), see `shouldOpen`.
   */
  start(folder: vscode.WorkspaceFolder, options: { openBrowser: boolean; file?: vscode.Uri }): Promise<ServerState> {
    // Go Live again while this folder's start is under way (a double click): the same start, whose
    // caller opens the page; never a second tab for one start.
    const key = folder.uri.toString();
    const pending = this.starts.get(key);
    if (pending) return pending;
    const started = this.startOnce(folder, options).finally(() => this.starts.delete(key));
    this.starts.set(key, started);
    return started;
  }

  /** Starts under way, per folder URI (start). */
  private readonly starts = new Map<string, Promise<ServerState>>();

  private async startOnce(folder: vscode.WorkspaceFolder, { openBrowser, file }: { openBrowser: boolean; file?: vscode.Uri }): Promise<ServerState> {
    const { config, problems } = readFolderConfig(folder);
    const { controller } = this.ensure(folder);
    const wasRunning = controller.state.kind === 'running';
    // The default request log lies in the extension's log folder, which VS Code does not make, and
    // the core makes no folder for a log (as nginx): the extension makes its own folder.
    await vscode.workspace.fs.createDirectory(this.context.logUri).then(undefined, () => undefined);
    // Invalid settings: the controller refuses to start and says why (never a default instead).
    const state = await controller.start(config, problems);
    if (state.kind === 'running' && !wasRunning && openBrowser && config.openBrowser) await this.openPage?.(this.ensure(folder), this.pageUrl(folder, state, file));
    if (state.kind !== 'running' && this.isLoose(folder)) this.forget(folder);
    return state;
  }

  /** Opens a page of a server (vscode-browser.ts fills it in: porthole.browser, one tab). */
  openPage: ((server: ManagedServer, url: string) => Promise<unknown>) | undefined;

  /**
   * The page Go Live opens: `file` (the editor title's HTML file), else the active editor's HTML
   * file, when it lies in the served folder; else the server's root URL.
   */
  pageUrl(folder: vscode.WorkspaceFolder, state: Extract<ServerState, { kind: 'running' }>, file?: vscode.Uri): string {
    const root = resolveRoot(state.config, folderContext(folder, this.context.logUri));
    for (const uri of [file, vscode.window.activeTextEditor?.document.uri]) {
      if (!uri || uri.scheme !== 'file' || !isHtmlPath(uri.fsPath)) continue;
      const url = fileUrl(state.address.url, root, uri.fsPath);
      if (url) return url;
    }
    return state.address.url;
  }

  /**
   * Stops `folder`'s server; a loose folder (a file's folder served without a workspace folder)
   * is forgotten then.
   */
  async stop(folder: vscode.WorkspaceFolder): Promise<ServerState | undefined> {
    const state = await this.get(folder)?.controller.stop();
    if (this.isLoose(folder)) this.forget(folder);
    return state;
  }

  /**
   * The folder whose server serves `uri`: its workspace folder, else a loose folder already
   * served that holds it (the innermost), else undefined.
   */
  folderFor(uri: vscode.Uri): vscode.WorkspaceFolder | undefined {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder) return folder;
    if (uri.scheme !== 'file') return undefined;
    let best: vscode.WorkspaceFolder | undefined;
    for (const { folder: f } of this.all()) {
      if (this.isLoose(f) && isInsideRoot(f.uri.fsPath, uri.fsPath) && (!best || f.uri.fsPath.length > best.uri.fsPath.length)) best = f;
    }
    return best;
  }

  /**
   * Go Live on a file outside every workspace folder (a window with no folder open): its folder,
   * served as a "loose" folder (index -1) until stopped. Undefined for anything but a `file:` URI.
   */
  looseFolderFor(file: vscode.Uri): vscode.WorkspaceFolder | undefined {
    if (file.scheme !== 'file') return undefined;
    const existing = this.folderFor(file);
    if (existing) return existing;
    const dir = path.dirname(file.fsPath);
    return { uri: vscode.Uri.file(dir), name: path.basename(dir) || dir, index: -1 };
  }

  isLoose(folder: vscode.WorkspaceFolder): boolean {
    return folder.index < 0;
  }

  private forget(folder: vscode.WorkspaceFolder): void {
    const managed = this.get(folder);
    if (!managed || managed.controller.state.kind !== 'stopped') return;
    this.servers.delete(folder.uri.toString());
    managed.controller.dispose();
    this.fireChange();
  }

  async restart(folder: vscode.WorkspaceFolder): Promise<ServerState> {
    const { config, problems } = readFolderConfig(folder);
    return this.ensure(folder).controller.restart(config, problems);
  }

  /** Stops every server (bounded by the controllers' own timeouts). */
  async stopAll(): Promise<void> {
    await Promise.all(this.all().map((s) => s.controller.stop()));
  }

  /**
   * Folder for "Go Live": the only one, or a quick pick that offers the remembered one first. With
   * no folder open: the folder of the active editor's file (a loose folder).
   */
  async pickFolderToStart(): Promise<vscode.WorkspaceFolder | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      const active = vscode.window.activeTextEditor?.document.uri;
      const loose = active ? this.looseFolderFor(active) : undefined;
      if (loose) return loose;
      void vscode.window.showInformationMessage('Porthole: open a folder, or an HTML file, to go live.');
      return undefined;
    }
    if (folders.length === 1) return folders[0];
    const last = this.context.workspaceState.get<string>(LAST_FOLDER_KEY);
    const ordered = [...folders].sort((a, b) => Number(b.uri.toString() === last) - Number(a.uri.toString() === last));
    const picked = await vscode.window.showQuickPick(
      ordered.map((folder) => {
        const state = this.get(folder)?.controller.state;
        return {
          // Outside text (a directory's name): no `$(icon)` and no bidi override in a quick pick.
          label: messageText(folder.name),
          description: state?.kind === 'running' ? `running at ${state.address.url}` : folder.uri.toString() === last ? 'last used' : '',
          detail: sanitizeOneLine(folder.uri.fsPath),
          folder,
        };
      }),
      { title: 'Porthole: Go Live', placeHolder: 'Which folder should Porthole serve?' },
    );
    if (!picked) return undefined;
    await this.context.workspaceState.update(LAST_FOLDER_KEY, picked.folder.uri.toString());
    return picked.folder;
  }

  /** A running server to act on: the only one, or a quick pick. */
  async pickRunning(title: string): Promise<ManagedServer | undefined> {
    const running = this.active().filter((s) => s.controller.state.kind === 'running');
    if (running.length <= 1) return running[0];
    const picked = await vscode.window.showQuickPick(
      running.map((s) => ({ label: messageText(s.folder.name), description: urlOf(s.controller.state), server: s })),
      { title },
    );
    return picked?.server;
  }

  /** The URL of `file` on its folder's server, starting that server first when needed. */
  async urlForFile(file: vscode.Uri): Promise<string | undefined> {
    return (await this.serverForFile(file))?.url;
  }

  /**
   * The server of `file` (its workspace folder's, or with no folder open its own folder's as a
   * loose folder), started first when needed, and the file's URL on it.
   */
  async serverForFile(file: vscode.Uri): Promise<{ server: ManagedServer; url: string } | undefined> {
    const folder = this.folderFor(file) ?? ((vscode.workspace.workspaceFolders ?? []).length === 0 ? this.looseFolderFor(file) : undefined);
    if (!folder) {
      void vscode.window.showWarningMessage('Porthole: that file is not inside a workspace folder.');
      return undefined;
    }
    const state = await this.start(folder, { openBrowser: false });
    const server = this.get(folder);
    if (state.kind !== 'running' || !server) return undefined;
    const root = resolveRoot(state.config, folderContext(folder, this.context.logUri));
    const url = fileUrl(state.address.url, root, file.fsPath);
    // File and folder names are the repository's: no markup in the warning (messageText).
    if (!url) void vscode.window.showWarningMessage(messageText(`Porthole: ${path.basename(file.fsPath)} is outside the served folder ${root}.`, MESSAGE_MAX));
    return url ? { server, url } : undefined;
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    for (const { folder, controller } of this.all()) {
      if (!affectsPorthole(event, folder)) continue;
      // Queued behind a start or restart in progress: applied to the state it leaves (applySettings).
      const { config, problems } = readFolderConfig(folder);
      void controller.applySettings(config, problems);
    }
  }

  private onFoldersChanged(event: vscode.WorkspaceFoldersChangeEvent): void {
    for (const folder of event.removed) {
      const managed = this.get(folder);
      if (!managed) continue;
      this.servers.delete(folder.uri.toString());
      void managed.controller.shutdown().then(() => this.fireChange());
    }
  }

  /** Stops everything and releases the controllers (deactivate awaits this). */
  async shutdown(): Promise<void> {
    const all = this.all();
    this.servers.clear();
    await Promise.all(all.map((s) => s.controller.shutdown()));
  }

  override dispose(): void {
    for (const s of this.all()) s.controller.dispose();
    this.servers.clear();
    super.dispose();
  }
}

export function urlOf(state: ServerState): string {
  return state.kind === 'running' ? state.address.url : '';
}

/** True for a path VS Code shows as an HTML page (`.html`, `.htm`). */
export function isHtmlPath(fsPath: string): boolean {
  return /\.html?$/i.test(fsPath);
}
