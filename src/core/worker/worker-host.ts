/**
 * WorkerServer: the PreviewServer API, run in a worker thread so that heavy traffic never stalls
 * the thread that hosts it (the VS Code extension host is shared by every extension).
 * `listen` rejects with an Error carrying the worker's `code`; `close` resolves once the worker
 * reported every socket gone and the log flushed, and the thread has exited.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { RequestRecord } from '../http/request-record';
import type { ConsoleEntry } from '../reload/console-forward';
import type { HostToWorker, WorkerToHost } from './worker-protocol';
import type { BoundAddress, ConfigFileChange, DiagnosticLevel, ReconfigurableOptions, ServerOptionsInput } from '../options';

export interface WorkerServerEvents {
  /** `dropped`: requests beyond the per-batch cap, counted but not sent (see MAX_RECORDS_PER_BATCH). */
  requests: [records: RequestRecord[], dropped: number];
  hostname: [ip: string, name: string];
  diagnostic: [level: DiagnosticLevel, message: string];
  /** The configuration file changed (PreviewServer `config`). */
  config: [change: ConfigFileChange];
  exit: [error: Error | undefined];
  /** Live reload: pages connected to the event stream (sent whenever the number changes). */
  pages: [connected: number];
  /** Pages' console messages (batched); `dropped`: entries beyond the per-batch cap. */
  console: [entries: ConsoleEntry[], dropped: number];
}

/** How long close() waits for the worker's own graceful stop before terminating it. */
const CLOSE_TIMEOUT_MS = 10_000;

export class WorkerServer extends EventEmitter<WorkerServerEvents> {
  private worker: Worker | undefined;
  private pendingListen: { resolve: (a: BoundAddress) => void; reject: (e: Error) => void } | undefined;
  private closing: Promise<void> | undefined;
  private exited = false;
  private pages = 0;

  constructor(private readonly workerScript: string) {
    super();
  }

  listen(options: ServerOptionsInput): Promise<BoundAddress> {
    if (this.worker !== undefined) return Promise.reject(new Error('WorkerServer.listen: already started'));
    const worker = new Worker(this.workerScript);
    this.worker = worker;
    worker.on('message', (m: WorkerToHost) => this.onMessage(m));
    worker.on('error', (err) => this.onExit(err));
    worker.on('exit', (code) => this.onExit(code === 0 ? undefined : new Error(`server worker exited with code ${code}`)));
    return new Promise((resolve, reject) => {
      this.pendingListen = { resolve, reject };
      this.send({ type: 'listen', options });
    });
  }

  /** Applies listing/dotfiles/symlink/access-list changes without a restart. */
  reconfigure(changes: ReconfigurableOptions): void {
    this.send({ type: 'reconfigure', changes });
  }

  /** Adds a Host name the server answers to (e.g. the authority asExternalUri returned). */
  allowHost(name: string): void {
    this.send({ type: 'allow-host', name });
  }

  setOverlay(path: string, text: string | undefined): void {
    this.send({ type: 'overlay', path, text });
  }

  notifyChanged(paths: readonly string[]): void {
    this.send({ type: 'changed', paths });
  }

  /** Live reload: every connected page goes to `path` (origin-form, e.g. `/about.html`). */
  navigate(path: string): void {
    this.send({ type: 'navigate', path });
  }

  /** Live reload: pages connected to the event stream, as the worker last reported (0 when stopped). */
  get connectedPages(): number {
    return this.exited ? 0 : this.pages;
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const worker = this.worker;
    if (worker === undefined || this.exited) return Promise.resolve();
    this.closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.send({ type: 'close' });
    });
    return this.closing;
  }

  private send(message: HostToWorker): void {
    if (!this.exited) this.worker?.postMessage(message);
  }

  private onMessage(m: WorkerToHost): void {
    switch (m.type) {
      case 'listening':
        this.pendingListen?.resolve(m.address);
        this.pendingListen = undefined;
        return;
      case 'listen-failed': {
        const err = Object.assign(new Error(m.message), { code: m.code });
        this.pendingListen?.reject(err);
        this.pendingListen = undefined;
        void this.worker?.terminate();
        return;
      }
      case 'requests':
        this.emit('requests', [...m.records], m.dropped);
        return;
      case 'hostname':
        this.emit('hostname', m.ip, m.name);
        return;
      case 'config':
        this.emit('config', m.change);
        return;
      case 'diagnostic':
        this.emit('diagnostic', m.level, m.message);
        return;
      case 'console':
        this.emit('console', [...m.entries], m.dropped);
        return;
      case 'pages':
        this.pages = m.connected;
        this.emit('pages', m.connected);
        return;
    }
  }

  private onExit(error: Error | undefined): void {
    if (this.exited) return;
    this.exited = true;
    if (this.pendingListen !== undefined) {
      this.pendingListen.reject(error ?? new Error('server worker exited before listening'));
      this.pendingListen = undefined;
    }
    // An exit we did not ask for is news for the host; a requested close is not.
    this.emit('exit', this.closing === undefined ? (error ?? new Error('server worker exited')) : undefined);
  }
}
