/**
 * One workspace folder's server: drives the `ServerState` machine around a `WorkerServer` (the
 * core, in a worker thread). Operations are queued, so start/stop/restart never interleave; every
 * wait is bounded. No `vscode` import: the server factory and the log are injected, so node tests
 * drive it with a fake server.
 */
import type { BoundAddress, ConfigFileChange, ConsoleEntry, DiagnosticLevel, ReconfigurableOptions, RequestRecord, ServerOptionsInput } from '../../core';
import { timeoutAfterReads } from '../../core';
import { Disposable, Emitter } from '../common/node-disposable';
import type { FolderContext, PortholeConfig } from '../config/node-config';
import { EXTENSION_ONLY_KEYS, changedKeys, describeConfigProblems, liveChanges, needsRestart, toServerOptions } from '../config/node-config';
import { describeFailure, describeListening } from '../output/node-format';
import type { ServerEvent, ServerFailure, ServerState } from './node-server-state';
import { INITIAL_STATE, toFailure, transition } from './node-server-state';

/** Bound on listen(): a worker that never answers is a failure, not a spinner forever. */
export const LISTEN_TIMEOUT_MS = 20_000;
/** Bound on close(): the core's own grace is 2 s; past this we give up waiting. */
export const CLOSE_TIMEOUT_MS = 10_000;

/** What the controller needs of the core's `WorkerServer`. */
export interface ServerHandle {
  listen(options: ServerOptionsInput): Promise<BoundAddress>;
  close(): Promise<void>;
  reconfigure(changes: ReconfigurableOptions): void;
  allowHost(name: string): void;
  setOverlay(path: string, text: string | undefined): void;
  notifyChanged(paths: readonly string[]): void;
  /** Live reload: every connected page goes to this origin-form path. */
  navigate(path: string): void;
  /** Live reload: pages connected (WebSockets and event streams), as last reported. */
  readonly connectedPages: number;
  on(event: 'requests', listener: (records: RequestRecord[], dropped: number) => void): unknown;
  on(event: 'hostname', listener: (ip: string, name: string) => void): unknown;
  on(event: 'diagnostic', listener: (level: DiagnosticLevel, message: string) => void): unknown;
  on(event: 'exit', listener: (error: Error | undefined) => void): unknown;
  on(event: 'config', listener: (change: ConfigFileChange) => void): unknown;
  /** Pages' console messages (porthole.console.forward), batched by the worker. */
  on(event: 'console', listener: (entries: ConsoleEntry[], dropped: number) => void): unknown;
  removeAllListeners(): unknown;
}

export type ServerFactory = () => ServerHandle;

/**
 * Completes the options before listening (e.g. HTTPS: reads the PEM files or the self-signed
 * certificate, may ask for a key's passphrase; not bounded by LISTEN_TIMEOUT_MS, since the user
 * may be typing). Throws (or rejects) with a plain message (path and reason) to fail the start loudly.
 */
export type OptionsPreparer = (config: PortholeConfig, options: ServerOptionsInput) => ServerOptionsInput | Promise<ServerOptionsInput>;

/** Where the controller reports; the extension maps it onto the LogOutputChannel. */
export interface ControllerLog {
  log(level: DiagnosticLevel, message: string): void;
  /** A failure the user should see: the full error in the log, one line in a notification. */
  failure(summary: string, error: unknown): void;
}

export class ServerController extends Disposable {
  private current: ServerState = INITIAL_STATE;
  private server: ServerHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private count = 0;

  private readonly stateEmitter = this.register(new Emitter<ServerState>());
  private readonly requestsEmitter = this.register(new Emitter<readonly RequestRecord[]>());
  private readonly hostnameEmitter = this.register(new Emitter<{ ip: string; name: string }>());
  private readonly consoleEmitter = this.register(new Emitter<readonly ConsoleEntry[]>());

  readonly onDidChangeState = this.stateEmitter.event;
  /** Pages' console messages, as the worker batched them. */
  readonly onConsole = this.consoleEmitter.event;
  readonly onRequests = this.requestsEmitter.event;
  readonly onHostname = this.hostnameEmitter.event;

  constructor(
    readonly folder: FolderContext,
    private readonly createServer: ServerFactory,
    private readonly out: ControllerLog,
    private readonly prepare: OptionsPreparer = (_config, options) => options,
  ) {
    super();
  }

  get state(): ServerState {
    return this.current;
  }

  /** Requests answered since the server started. */
  get requestCount(): number {
    return this.count;
  }

  /**
   * Starts the server with `config` (no-op unless stopped); resolves with the resulting state.
   * With `problems` (readConfig's invalid settings) nothing starts: the state is stopped with an
   * EINVALIDCONFIG failure and the user gets an error naming each value and its reason.
   */
  start(config: PortholeConfig, problems: readonly string[] = []): Promise<ServerState> {
    return this.enqueue(() => this.doStart(config, problems));
  }

  /** Stops the server (no-op unless running); resolves once it is stopped. */
  stop(): Promise<ServerState> {
    return this.enqueue(() => this.doStop());
  }

  /** Stop then start with `config` (nothing starts when there are `problems`, as in start()). */
  restart(config: PortholeConfig, problems: readonly string[] = []): Promise<ServerState> {
    return this.enqueue(async () => {
      await this.doStop();
      return this.doStart(config, problems);
    });
  }

  /**
   * The settings changed (`config`, with readConfig's `problems`): applied in turn with start, stop
   * and restart, to the state the operations queued before leave. A running server restarts when
   * the binding, the root or HTTPS changed (stops, saying why, when a value is invalid), else takes
   * the live settings (reconfigure) and the log names those that wait for a restart. A change made
   * while the server starts or restarts (a passphrase being typed, Stop Sharing during a port
   * change's restart) is applied once it runs, never lost to the settings it started with; a
   * stopped server reads the settings when it next starts.
   */
  applySettings(config: PortholeConfig, problems: readonly string[] = []): Promise<ServerState> {
    return this.enqueue(async () => {
      const state = this.current;
      if (state.kind !== 'running') return state;
      const where = `[${this.folder.folderName}]`;
      if (problems.length > 0 || needsRestart(state.config, config)) {
        // An invalid value is never applied, and the old settings no longer say what the user
        // wants: stop, and say which value and why (fails closed).
        this.out.log(problems.length > 0 ? 'warn' : 'info', problems.length > 0 ? `${where} A setting is invalid: stopping.` : `${where} The binding, the root or the live-reload options changed: restarting.`);
        await this.doStop();
        return this.doStart(config, problems);
      }
      const live = liveChanges(state.config, config);
      if (this.reconfigure(config) && live) this.out.log('info', `${where} Applied ${Object.keys(live).map((k) => `porthole.${k}`).join(', ')} to the running server.`);
      const keys = changedKeys(state.config, config).filter((k) => !EXTENSION_ONLY_KEYS.has(k.slice('porthole.'.length)) && !(live && (k.slice('porthole.'.length).split('.')[0] ?? '') in live));
      if (keys.length > 0) this.out.log('info', `${where} ${keys.join(', ')} changed; this applies when the server restarts (Porthole: Restart).`);
      return this.current;
    });
  }

  /**
   * Applies the settings a running server takes live (listing, dotfiles, symlinks, access lists);
   * returns true when something was sent. Binding/root/HTTPS changes need restart() instead.
   */
  reconfigure(config: PortholeConfig): boolean {
    const state = this.current;
    if (state.kind !== 'running' || !this.server) return false;
    if (changedKeys(state.config, config).length === 0) return false;
    const changes = liveChanges(state.config, config);
    this.apply({ type: 'reconfigured', config });
    if (!changes) return false;
    this.server.reconfigure(changes);
    return true;
  }

  /** Adds a Host name the running server answers to (the authority asExternalUri returned). */
  allowHost(name: string): void {
    this.server?.allowHost(name);
  }

  /** Live reload: the editor's unsaved text for an absolute path (undefined drops it); only while running. */
  setOverlay(path: string, text: string | undefined): void {
    if (this.current.kind === 'running') this.server?.setOverlay(path, text);
  }

  /** Live reload: files changed on disk (absolute paths), as the editor's watcher saw them; only while running. */
  notifyChanged(paths: readonly string[]): void {
    if (this.current.kind === 'running' && paths.length > 0) this.server?.notifyChanged(paths);
  }

  /** Live reload: pages of this server open now (browser tabs, the preview, other devices); 0 unless running. */
  get connectedPages(): number {
    return this.current.kind === 'running' ? (this.server?.connectedPages ?? 0) : 0;
  }

  /**
   * Live reload: takes every connected page to `path` (origin-form, e.g. `/about.html`); returns
   * how many pages were open (0: nothing was sent).
   */
  navigate(path: string): number {
    const pages = this.connectedPages;
    if (pages > 0) this.server?.navigate(path);
    return pages;
  }

  /** Stops the server, then releases everything. */
  async shutdown(): Promise<void> {
    await this.stop();
    this.dispose();
  }

  private enqueue(op: () => Promise<ServerState>): Promise<ServerState> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private apply(event: ServerEvent): boolean {
    const next = transition(this.current, event);
    if (!next) return false;
    this.current = next;
    this.stateEmitter.fire(next);
    return true;
  }

  private async doStart(config: PortholeConfig, problems: readonly string[]): Promise<ServerState> {
    if (!this.apply({ type: 'start', config })) return this.current;
    if (problems.length > 0) {
      const summary = describeConfigProblems(this.folder.folderName, problems);
      if (this.apply({ type: 'failed', failure: { code: 'EINVALIDCONFIG', message: summary } })) this.out.failure(summary, summary);
      return this.current;
    }
    this.count = 0;
    const server = this.createServer();
    this.server = server;
    server.on('requests', (records, dropped) => {
      if (this.server !== server) return;
      this.count += records.length + dropped;
      this.requestsEmitter.fire(records);
    });
    server.on('hostname', (ip, name) => {
      if (this.server === server) this.hostnameEmitter.fire({ ip, name });
    });
    server.on('console', (entries, dropped) => {
      if (this.server !== server) return;
      if (entries.length > 0) this.consoleEmitter.fire(entries);
      if (dropped > 0) this.out.log('warn', `[${this.folder.folderName}] ${dropped} console message${dropped === 1 ? '' : 's'} of pages not shown (more than the worker passes in 100 ms)`);
    });
    server.on('diagnostic', (level, message) => this.out.log(level, `[${this.folder.folderName}] ${message}`));
    server.on('exit', (error) => this.onExit(server, error));
    server.on('config', (change) => this.onConfigFileChange(server, change));

    const options = toServerOptions(config, this.folder);
    const where = config.port === null ? `${config.host} (the folder's own port)` : `${config.host}:${config.port}`;
    this.out.log('info', `[${this.folder.folderName}] Starting on ${where}, serving ${options.root}`);
    try {
      const prepared = await this.prepare(config, options);
      const address = await withTimeout(server.listen(prepared), LISTEN_TIMEOUT_MS, 'ETIMEDOUT', 'The server did not start in time.');
      if (!this.apply({ type: 'listening', address, at: Date.now() })) {
        // The worker died while starting; onExit already reported it.
        return this.current;
      }
      this.out.log('info', `[${this.folder.folderName}] ${describeListening(this.folder.folderName, address)}`);
      if (address.requestedPort !== undefined && address.requestedPort !== address.port) {
        this.out.log('warn', `[${this.folder.folderName}] Port ${address.requestedPort} is busy; using ${address.port}. The setting is unchanged.`);
      }
    } catch (error) {
      const failure = toFailure(error);
      const summary = `Porthole could not serve ${this.folder.folderName}: ${describeFailure(failure.code, failure.message)}`;
      this.release(server);
      await settle(server.close(), CLOSE_TIMEOUT_MS);
      if (this.apply({ type: 'failed', failure: { ...failure, message: summary } })) this.out.failure(summary, error);
    }
    return this.current;
  }

  private async doStop(): Promise<ServerState> {
    const server = this.server;
    if (!this.apply({ type: 'stop' })) return this.current;
    if (server) {
      try {
        await withTimeout(server.close(), CLOSE_TIMEOUT_MS, 'ETIMEDOUT', 'The server did not close in time.');
      } catch (error) {
        this.out.log('warn', `[${this.folder.folderName}] Closing: ${toFailure(error).message}`);
      }
      this.release(server);
    }
    this.out.log('info', `[${this.folder.folderName}] Stopped after ${this.count} request${this.count === 1 ? '' : 's'}`);
    this.apply({ type: 'closed' });
    return this.current;
  }

  /**
   * porthole.config.json changed under the running server: it applied the change itself, or kept
   * its settings (invalid file: the user sees why), or needs a restart with the same settings.
   */
  private onConfigFileChange(server: ServerHandle, change: ConfigFileChange): void {
    const state = this.current;
    if (this.server !== server || state.kind !== 'running') return;
    const where = `[${this.folder.folderName}]`;
    if (change.kind === 'invalid') {
      this.out.failure(`Porthole: ${change.message}`, change.message);
      return;
    }
    if (change.kind === 'restart') {
      this.out.log('info', `${where} ${change.message}: restarting.`);
      void this.restart(state.config);
      return;
    }
    this.out.log('info', `${where} ${change.message}`);
  }

  private onExit(server: ServerHandle, error: Error | undefined): void {
    if (this.server !== server) return;
    this.release(server);
    const failure: ServerFailure = {
      code: 'ERR_WORKER_EXIT',
      message: `The ${this.folder.folderName} server stopped unexpectedly${error ? `: ${toFailure(error).message}` : '.'}`,
    };
    const wasActive = this.current.kind === 'running' || this.current.kind === 'starting';
    if (this.apply({ type: 'exited', failure }) && wasActive) this.out.failure(`Porthole: ${failure.message}`, error ?? failure.message);
  }

  private release(server: ServerHandle): void {
    server.removeAllListeners();
    if (this.server === server) this.server = undefined;
  }

  override dispose(): void {
    // Last resort (deactivate awaits shutdown() first): never leave a worker behind.
    const server = this.server;
    if (server) {
      this.release(server);
      void settle(server.close(), CLOSE_TIMEOUT_MS);
    }
    super.dispose();
  }
}

/**
 * Rejects with an Error carrying `code` when `promise` takes longer than `ms`. The verdict is
 * given after that turn's reads (timeoutAfterReads): the worker's answer, sent in time but
 * waiting in its port behind a held-up extension host, is read first and wins.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, code: string, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = timeoutAfterReads(ms, () => reject(Object.assign(new Error(message), { code })));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits for `promise` (at most `ms`), ignoring its outcome. */
async function settle(promise: Promise<unknown>, ms: number): Promise<void> {
  try {
    await withTimeout(promise, ms, 'ETIMEDOUT', 'timed out');
  } catch {
    // Best effort: the caller has already reported what matters.
  }
}
