/**
 * A socket's inactivity timeout, judged by looking rather than restarted on every read and write.
 * Pure Node.
 *
 * `socket.setTimeout(ms)` makes Node restart the socket's timer on every read, every write and
 * every write's completion (`Timeout.refresh`: the timer list's remove and insert and a clock
 * read), several times a request on a busy keep-alive connection; that was about 3% of what a
 * request costs Porthole. This timer is never touched by I/O: it wakes every `ms / CHECKS_PER_TIMEOUT`
 * at most and compares the socket's byte counts with the last look. Any change is activity, and the
 * silence is counted from that look; so it never fires early, and at most one check interval late
 * (⅛ of the timeout: an idle keep-alive connection with a 5 s timeout closes within 5–5.6 s).
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterThisTurnsReads } from './after-reads';

/** How often a timeout of `ms` looks at the socket: every ms / CHECKS_PER_TIMEOUT. */
export const CHECKS_PER_TIMEOUT = 8;

export class InactivityTimer {
  /** The timeout now (ms; 0: none). */
  private ms = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The interval `timer` was made with (its refresh() runs it again as long). */
  private timerMs = 0;
  /** When the silence being timed began (performance.now() ms): the last look that saw activity. */
  private since = 0;
  /** What the socket had read, written (taken or queued) and still queued at the last look. */
  private read = 0;
  private written = 0;
  private queued = 0;
  /** Bumped by every set/restart/clear: a look begun before it judges nothing. */
  private generation = 0;

  /**
   * `onTimeout` runs after the turn's reads (afterThisTurnsReads) once `ms` passed with no byte
   * read, written or taken by the kernel; it is not called again until set() or restart().
   */
  constructor(
    private readonly socket: Socket,
    private readonly onTimeout: () => void,
  ) {}

  /** Times `ms` of silence from now (ms; 0: none), as socket.setTimeout(ms). */
  set(ms: number): void {
    this.ms = ms;
    this.restart();
  }

  /** Times the current timeout again from now (after onTimeout decided to wait on). */
  restart(): void {
    this.generation++;
    if (this.ms === 0) {
      this.clear();
      return;
    }
    this.since = performance.now();
    this.look();
    this.arm(this.interval());
  }

  /** No timeout (the socket is closed, or handed to another protocol). */
  clear(): void {
    this.generation++;
    this.ms = 0;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private interval(): number {
    return Math.max(1, Math.ceil(this.ms / CHECKS_PER_TIMEOUT));
  }

  private arm(ms: number): void {
    if (this.timer !== undefined && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerMs = ms;
    this.timer = setTimeout(() => this.check(), ms);
    // As Node's socket timers: an idle connection alone does not keep the process running.
    this.timer.unref();
  }

  /** Records the socket's counts; true if any changed since the last look. */
  private look(): boolean {
    const socket = this.socket;
    const read = socket.bytesRead;
    // bytesWritten counts what was handed to the socket, queued or not; writableLength what the
    // kernel has not taken yet (a stalled write keeps both still).
    const written = socket.bytesWritten ?? this.written;
    const queued = socket.writableLength;
    const changed = read !== this.read || written !== this.written || queued !== this.queued;
    this.read = read;
    this.written = written;
    this.queued = queued;
    return changed;
  }

  private check(): void {
    const generation = this.generation;
    // The bytes the client sent while the loop was held up are read first (after-reads.ts).
    afterThisTurnsReads(() => {
      if (generation !== this.generation || this.ms === 0) return;
      const now = performance.now();
      if (this.look()) this.since = now;
      const left = this.since + this.ms - now;
      if (left > 0) {
        this.arm(Math.min(this.interval(), Math.ceil(left)));
        return;
      }
      this.generation++;
      this.onTimeout();
    });
  }
}
