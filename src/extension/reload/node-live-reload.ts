/**
 * Live reload, the editor's half, without `vscode`: what to tell a running server, and when.
 * - ChangeBatcher: file-watcher events → one `notifyChanged(paths)` per tick (at most
 *   MAX_BATCH_PATHS paths a message); the request log file never counts.
 * - OverlayDebouncer: "as you type" — per document, the text is read once its edits pause for
 *   `debounceMs` (at most MAX_OVERLAY_WAIT_MS after the first edit) and sent as an overlay;
 *   a save, a close or switching to `save` drops it, so the file on disk is served again.
 * The server keeps the one debounce shared by every page; these only keep the messages few.
 * Timers exist only while something waits and are unref'ed; `dispose` clears them and sends nothing.
 */
import * as path from 'node:path';

/** What these need of a server (ServerController forwards to the running WorkerServer). */
export interface ReloadTarget {
  setOverlay(path: string, text: string | undefined): void;
  notifyChanged(paths: readonly string[]): void;
}

/** Paths per `notifyChanged` message; more in one tick go out in several messages. */
export const MAX_BATCH_PATHS = 1_000;
/** Continuous typing still updates the page this long after the first edit, however short the gaps. */
export const MAX_OVERLAY_WAIT_MS = 1_000;

/** True when `file` is `root` or lies inside it (both absolute). */
export function isInsideRoot(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** Collects changed paths and reports them once per tick. */
export class ChangeBatcher {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly skip: ReadonlySet<string>;

  /** `skip`: absolute paths whose changes never count (the request log file). */
  constructor(
    private readonly target: Pick<ReloadTarget, 'notifyChanged'>,
    skip: readonly string[],
  ) {
    this.skip = new Set(skip.map((p) => path.resolve(p)));
  }

  add(file: string): void {
    const abs = path.resolve(file);
    if (this.skip.has(abs)) return;
    this.pending.add(abs);
    if (this.pending.size >= MAX_BATCH_PATHS) {
      this.flush();
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), 0);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const paths = [...this.pending];
    this.pending.clear();
    this.target.notifyChanged(paths);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}

interface PendingEdit {
  timer: NodeJS.Timeout;
  readonly firstAt: number;
}

/** Per-document debounce of the editor's unsaved text, and the set of overlays the server holds. */
export class OverlayDebouncer {
  private readonly pending = new Map<string, PendingEdit>();
  private readonly sent = new Set<string>();

  constructor(
    private readonly target: Pick<ReloadTarget, 'setOverlay'>,
    private readonly debounceMs: number,
  ) {}

  /** Documents whose overlay the server holds or will soon (tests, diagnostics). */
  get size(): number {
    return new Set([...this.sent, ...this.pending.keys()]).size;
  }

  /**
   * `file` was edited. `read` is called once, when the edits pause (never per keystroke), and its
   * text becomes the file's overlay.
   */
  changed(file: string, read: () => string): void {
    const now = Date.now();
    const before = this.pending.get(file);
    if (before !== undefined) clearTimeout(before.timer);
    const firstAt = before?.firstAt ?? now;
    const wait = Math.max(0, Math.min(this.debounceMs, firstAt + MAX_OVERLAY_WAIT_MS - now));
    const timer = setTimeout(() => {
      this.pending.delete(file);
      this.sent.add(file);
      this.target.setOverlay(file, read());
    }, wait);
    timer.unref();
    this.pending.set(file, { timer, firstAt });
  }

  /** Saved, closed or clean again: cancel what waits and drop the overlay (the disk is served). */
  drop(file: string): void {
    const before = this.pending.get(file);
    if (before !== undefined) clearTimeout(before.timer);
    this.pending.delete(file);
    if (this.sent.delete(file)) this.target.setOverlay(file, undefined);
  }

  /** Drops every overlay (switching `reload.on` to `save`). */
  dropAll(): void {
    for (const file of new Set([...this.pending.keys(), ...this.sent])) this.drop(file);
  }

  /** Clears the timers and forgets; sends nothing (the server is going away). */
  dispose(): void {
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.sent.clear();
  }
}
