/**
 * Live reload, the editor's side. While a folder's server runs with `porthole.reload.enabled`:
 * - a workspace file watcher on the served root (it honours the user's `files.watcherExclude`)
 *   reports created, changed and deleted files with `notifyChanged` — the core's own fs.watch is
 *   off in the extension (`reload.watch: false`); the request log file is skipped;
 * - with `porthole.reload.on` = `type`, the unsaved text of open `file:` documents under the root
 *   is served instead of the file (debounced per document, `reload.debounceMs`); a save, a close,
 *   an undo back to the saved text or switching to `save` drops it again.
 * The server does the rest: ignore globs, the one debounce shared by every page, the event.
 * `reload.on` applies to a running server; the other reload settings restart it (listen options).
 * Per keystroke this does a scheme check and a path comparison per typing-mode server, nothing
 * more: the text is read once the edits pause.
 */
import * as vscode from 'vscode';
import type { ServerState } from '../server/node-server-state';
import { CONFIG_SECTION, resolveLogFile, resolveRoot } from '../config/node-config';
import { Disposable } from '../common/node-disposable';
import { ChangeBatcher, OverlayDebouncer, isInsideRoot } from './node-live-reload';
import type { ReloadTrigger } from './node-reload-config';
import { RELOAD_SETTING_KEYS } from './node-reload-config';
import { readFolderConfig } from '../config/vscode-config';
import type { ManagedServer, ServerManager } from '../server/vscode-server-manager';

type RunningState = Extract<ServerState, { kind: 'running' }>;

/** One running server's watcher and overlays; disposed when that server stops or restarts. */
class ReloadSession {
  readonly root: string;
  private readonly logFile: string;
  private mode: ReloadTrigger;
  private readonly batcher: ChangeBatcher;
  private readonly overlays: OverlayDebouncer;
  private readonly watcher: vscode.FileSystemWatcher;

  constructor(
    readonly managed: ManagedServer,
    readonly since: number,
    state: RunningState,
  ) {
    const { controller } = managed;
    this.root = resolveRoot(state.config, controller.folder);
    this.logFile = resolveLogFile(state.config, controller.folder);
    this.mode = state.config.reloadOn;
    this.batcher = new ChangeBatcher(controller, [this.logFile]);
    this.overlays = new OverlayDebouncer(controller, state.config.reloadDebounceMs);
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(this.root), '**/*'));
    const add = (uri: vscode.Uri) => {
      if (uri.scheme === 'file') this.batcher.add(uri.fsPath);
    };
    this.watcher.onDidCreate(add);
    this.watcher.onDidChange(add);
    this.watcher.onDidDelete(add);
    if (this.mode === 'type') this.overlayDirtyDocuments();
  }

  get typing(): boolean {
    return this.mode === 'type';
  }

  /** True for a document this server serves (the log file is never overlaid). */
  covers(fsPath: string): boolean {
    return fsPath !== this.logFile && isInsideRoot(this.root, fsPath);
  }

  setMode(mode: ReloadTrigger): void {
    if (mode === this.mode) return;
    this.mode = mode;
    if (mode === 'save') this.overlays.dropAll();
    else this.overlayDirtyDocuments();
  }

  edited(document: vscode.TextDocument): void {
    const file = document.uri.fsPath;
    if (document.isDirty) this.overlays.changed(file, () => document.getText());
    else this.overlays.drop(file);
  }

  settled(fsPath: string): void {
    this.overlays.drop(fsPath);
  }

  dispose(): void {
    this.watcher.dispose();
    this.batcher.dispose();
    this.overlays.dispose();
  }

  /** Edits made before the server started or before switching to `type` show at once. */
  private overlayDirtyDocuments(): void {
    for (const document of vscode.workspace.textDocuments) {
      if (document.uri.scheme === 'file' && document.isDirty && this.covers(document.uri.fsPath)) this.edited(document);
    }
  }
}

export class LiveReloadBridge extends Disposable {
  /** By folder URI. */
  private readonly sessions = new Map<string, ReloadSession>();

  constructor(private readonly manager: ServerManager) {
    super();
    this.register(manager.onDidChange(() => this.reconcile()));
    this.register(vscode.workspace.onDidChangeTextDocument((e) => this.onEdited(e)));
    this.register(vscode.workspace.onDidSaveTextDocument((d) => this.onSettled(d)));
    this.register(vscode.workspace.onDidCloseTextDocument((d) => this.onSettled(d)));
    this.register(vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChanged(e)));
    this.register({ dispose: () => this.disposeSessions() });
    this.reconcile();
  }

  /** One session per running server with live reload on; a restarted server gets a fresh one. */
  private reconcile(): void {
    const live = new Set<string>();
    for (const managed of this.manager.all()) {
      const key = managed.folder.uri.toString();
      const state = managed.controller.state;
      if (state.kind !== 'running' || !state.config.reloadEnabled) continue;
      live.add(key);
      const existing = this.sessions.get(key);
      if (existing && existing.since === state.since && existing.managed === managed) continue;
      existing?.dispose();
      const session = new ReloadSession(managed, state.since, state);
      this.sessions.set(key, session);
      // reload.on may have changed while the server was starting.
      session.setMode(readFolderConfig(managed.folder).config.reloadOn);
    }
    for (const [key, session] of this.sessions) {
      if (live.has(key)) continue;
      session.dispose();
      this.sessions.delete(key);
    }
  }

  private onEdited(event: vscode.TextDocumentChangeEvent): void {
    const { document } = event;
    if (this.sessions.size === 0 || document.uri.scheme !== 'file') return;
    for (const session of this.sessions.values()) {
      if (session.typing && session.covers(document.uri.fsPath)) session.edited(document);
    }
  }

  private onSettled(document: vscode.TextDocument): void {
    if (this.sessions.size === 0 || document.uri.scheme !== 'file') return;
    for (const session of this.sessions.values()) session.settled(document.uri.fsPath);
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    for (const session of this.sessions.values()) {
      const { folder } = session.managed;
      if (event.affectsConfiguration(`${CONFIG_SECTION}.${RELOAD_SETTING_KEYS.reloadOn}`, folder.uri)) {
        session.setMode(readFolderConfig(folder).config.reloadOn);
      }
    }
  }

  private disposeSessions(): void {
    for (const session of this.sessions.values()) session.dispose();
    this.sessions.clear();
  }
}
