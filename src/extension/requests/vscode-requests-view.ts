/**
 * The "Requests" webview view: a snapshot of the RequestStore when the view (re)loads, then
 * batched appends at most every 100 ms (never a full re-render). The webview is untrusted: its
 * messages are narrowed by isViewToHost, files are opened by request key (never by a path the
 * view sends), and it runs under a strict CSP with a nonce.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { CONTEXT_REQUESTS_PAUSED, REQUESTS_VIEW_ID } from '../commands/node-command-ids';
import { Disposable, Emitter } from '../common/node-disposable';
import type { StoredRequest } from './node-request-store';
import { RequestStore, isViewToHost, toDetails, toHostnameMessage, toRow } from './node-request-store';
import type { HostToView, SharingServer, ViewToHost } from './webview-protocol';
import type { ServerManager } from '../server/vscode-server-manager';
import { copyAsCurl, exportHar, type HarExportResult } from './vscode-request-export';

/** At most this many append messages a second reach the view. */
const FLUSH_INTERVAL_MS = 100;

export class RequestsViewProvider extends Disposable implements vscode.WebviewViewProvider {
  static readonly viewId = REQUESTS_VIEW_ID;

  readonly store: RequestStore;
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private pending: StoredRequest[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private sharing: readonly SharingServer[] = [];
  private readonly sharingActionEmitter = this.register(new Emitter<{ action: 'share' | 'stop'; id: string }>());

  /** The view's "Share on Network" / "Stop Sharing" buttons (by SharingServer id: the folder's URI). */
  readonly onSharingAction = this.sharingActionEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly manager: ServerManager,
    maxEntries: number,
    /** Porthole's version, for an exported HAR's `log.creator`. */
    private readonly version: string,
  ) {
    super();
    this.store = new RequestStore(maxEntries);
    this.register(manager.onRequests(({ server, records }) => this.onRecords(server, records)));
    this.register(manager.onConsole(({ server, entries }) => this.queue(this.store.addConsole(server, entries))));
    this.register(manager.onHostname(({ ip, name }) => {
      if (this.store.setHostname(ip, name) > 0 || this.pending.length > 0) this.post(toHostnameMessage(ip, name));
    }));
    this.register({ dispose: () => clearTimeout(this.flushTimer) });
    void this.syncPausedContext();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [media] };
    view.webview.html = this.html(view.webview, media);
    const subscriptions = [
      view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      view.onDidChangeVisibility(() => {
        // A hidden view's page is discarded; it posts 'ready' again when shown.
        if (!view.visible) this.ready = false;
      }),
    ];
    view.onDidDispose(() => {
      for (const s of subscriptions) s.dispose();
      if (this.view === view) {
        this.view = undefined;
        this.ready = false;
      }
    });
  }

  clear(): void {
    this.store.clear();
    this.pending = [];
    this.post({ type: 'cleared' });
  }

  setPaused(paused: boolean): void {
    this.store.setPaused(paused);
    this.post({ type: 'paused', paused });
    void this.syncPausedContext();
  }

  /** Writes the kept requests as HAR 1.2 (see vscode-request-export.ts). */
  exportHar(target: Parameters<typeof exportHar>[2], includeSensitive: boolean): Promise<HarExportResult | undefined> {
    return exportHar(this.store, this.version, target, includeSensitive, this.manager.servedFolders());
  }

  /** Copies the kept request `key` as a curl command line; resolves the command. */
  copyAsCurl(key: number): Promise<string | undefined> {
    return copyAsCurl(this.store.get(key));
  }

  /** The running servers' URLs and QR codes for the sharing panel. */
  setSharing(servers: readonly SharingServer[]): void {
    this.sharing = servers;
    this.post({ type: 'sharing', servers });
  }

  setMaxEntries(maxEntries: number): void {
    if (maxEntries === this.store.capacity) return;
    this.store.setCapacity(maxEntries);
    this.post({ type: 'maxEntries', maxEntries: this.store.capacity, dropped: this.store.dropped });
  }

  private syncPausedContext(): Thenable<unknown> {
    return vscode.commands.executeCommand('setContext', CONTEXT_REQUESTS_PAUSED, this.store.paused);
  }

  private onRecords(server: string, records: Parameters<RequestStore['add']>[1]): void {
    this.queue(this.store.add(server, records));
  }

  /** Rows just stored (requests or console messages) go to the view with the next append. */
  private queue(added: StoredRequest[]): void {
    if (added.length === 0 || !this.ready) return;
    this.pending.push(...added);
    if (this.pending.length > this.store.capacity) this.pending.splice(0, this.pending.length - this.store.capacity);
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (!this.ready || this.pending.length === 0) {
      this.pending = [];
      return;
    }
    const rows = this.pending.map(toRow);
    this.pending = [];
    this.post({ type: 'append', rows, dropped: this.store.dropped, oldest: this.store.oldestKey });
  }

  private onMessage(message: unknown): void {
    if (!isViewToHost(message)) return;
    const m: ViewToHost = message;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.pending = [];
        this.post({
          type: 'snapshot',
          rows: this.store.all().map(toRow),
          dropped: this.store.dropped,
          maxEntries: this.store.capacity,
          paused: this.store.paused,
        });
        this.post({ type: 'sharing', servers: this.sharing });
        break;
      case 'getDetails': {
        const item = this.store.get(m.key);
        this.post({ type: 'details', key: m.key, details: item ? toDetails(item) : undefined });
        break;
      }
      case 'openFile': {
        const file = this.store.get(m.key)?.record?.filePath;
        if (file) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file), { preview: true });
        else void vscode.window.showInformationMessage('Porthole: that request did not serve a file.');
        break;
      }
      case 'copyCurl':
        void this.copyAsCurl(m.key);
        break;
      case 'clear':
        this.clear();
        break;
      case 'setPaused':
        this.setPaused(m.paused);
        break;
      case 'copyUrl': {
        // Only a URL the host itself sent: the view is untrusted.
        const known = this.sharing.some((s) => s.localUrl === m.url || s.urls.some((u) => u.url === m.url));
        if (!known) break;
        void vscode.env.clipboard.writeText(m.url).then(() => vscode.window.setStatusBarMessage(`Porthole: copied ${m.url}`, 3000));
        break;
      }
      case 'shareOnNetwork':
      case 'stopSharing':
        if (this.sharing.some((s) => s.id === m.id)) {
          this.sharingActionEmitter.fire({ action: m.type === 'shareOnNetwork' ? 'share' : 'stop', id: m.id });
        }
        break;
    }
  }

  private post(message: HostToView): void {
    if (this.view && this.ready) void this.view.webview.postMessage(message);
  }

  private html(webview: vscode.Webview, media: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'requests.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'requests.css'));
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `img-src ${webview.cspSource}`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    const chip = (cls: string): string =>
      `<button type="button" class="chip status-${cls}" data-class="${cls}" aria-pressed="true" title="Show ${cls} responses">${cls}</button>`;
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style.toString()}">
<title>Requests</title>
</head>
<body>
<div class="toolbar" role="toolbar" aria-label="Request filters">
  <input id="filter" type="search" placeholder="Filter: path, method, client, status" aria-label="Filter requests" spellcheck="false">
  <span class="chips" role="group" aria-label="Status classes">${['2xx', '3xx', '4xx', '5xx'].map(chip).join('')}</span>
  <span class="toolbar-actions"><button type="button" id="pause" class="action" aria-pressed="false">Pause</button><button type="button" id="clear" class="action">Clear</button></span>
</div>
<section id="sharing" aria-label="Server addresses" hidden></section>
<div id="summary" role="status" aria-live="polite"></div>
<ul id="tree" role="tree" aria-label="Requests by client"></ul>
<p id="empty">No requests yet. Click <strong>Go Live</strong> in the status bar, then open the page.</p>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}
