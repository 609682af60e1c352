/**
 * A socket's inactivity timeout, judged by looking rather than restarted on every read and write.
 * Pure Node.
 *
 * `socket.setTimeout(ms)` makes Node restart the socket's timer on every read, every write and
 * every write's completion (`Timeout.refresh`: the timer list's remove and insert and a clock
 * read), several times a request on a busy keep-alive connection (6% of the requests a second at
 * 50 connections), and costs a timer made and cleared for every connection. Here no I/O touches a
 * timer: every connection with the same timeout shares one interval timer (as the rate check's,
 * joinRateTick), which every `ms / CHECKS_PER_TIMEOUT` looks at each socket's byte counts. Any
 * change since the last look is activity, and the silence is counted from that look; so a timeout
 * never fires early, and at most one interval late (⅛ of the timeout: an idle keep-alive
 * connection with a 5 s timeout closes 5–5.625 s after its last byte, plus the event loop's own delay).
 */
import type { Socket } from 'node:net';
// `performance`: Node's global, loaded on first use (see after-reads.ts).
import { joinGroupTimer } from './after-reads';

/** How often a timeout of `ms` looks at its sockets: every ms / CHECKS_PER_TIMEOUT. */
export const CHECKS_PER_TIMEOUT = 8;

/** The timers of each timeout length (ms), sharing one interval timer (joinGroupTimer). */
const sweeps = new Map<number, Set<InactivityTimer>>();

function join(timer: InactivityTimer, ms: number): Set<InactivityTimer> {
  // Judged as of `due`, when the timer ran, and after the turn's reads: bytes a client sent while
  // the loop was held up are read first, and count; a hold that comes between (a task run in the
  // same turn) makes no silence due that was not due then.
  return joinGroupTimer(sweeps, ms, Math.max(1, Math.ceil(ms / CHECKS_PER_TIMEOUT)), timer, (group, due) => {
    const now = performance.now();
    for (const t of group) t.check(due, now);
  });
}

export class InactivityTimer {
  /** The timeout now (ms; 0: none), and the sweep this timer is in (undefined: none). */
  private ms = 0;
  private sweep: Set<InactivityTimer> | undefined;
  /** When the silence being timed began (performance.now() ms): the last look that saw activity. */
  private since = 0;
  /** onTimeout ran for this silence: not again until activity, set() or restart() ends it. */
  private fired = false;
  /** What the socket had read, written (taken or queued) and still queued at the last look. */
  private read = 0;
  private written = 0;
  private queued = 0;

  /**
   * `onTimeout` runs after a turn's reads (afterThisTurnsReads) once `ms` passed with no byte
   * read, written or taken by the kernel; once for each silence, as Node's socket timeout: the
   * next activity (or set(), restart()) times a new one.
   */
  constructor(
    private readonly socket: Socket,
    private readonly onTimeout: () => void,
  ) {}

  /** Times `ms` of silence from now (ms; 0: none), as socket.setTimeout(ms). */
  set(ms: number): void {
    if (ms !== this.ms || this.sweep === undefined) {
      this.sweep?.delete(this);
      this.sweep = undefined;
      this.ms = ms;
      if (ms === 0) return;
      this.sweep = join(this, ms);
    }
    this.since = performance.now();
    this.fired = false;
    this.look();
  }

  /** Times the current timeout again from now (after onTimeout decided to wait on). */
  restart(): void {
    this.set(this.ms);
  }

  /** No timeout (the socket is closed, or handed to another protocol). */
  clear(): void {
    this.set(0);
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

  /**
   * The sweep's look (performance.now() ms: `due` when its timer ran, `now` after that turn's
   * reads): onTimeout if the socket was silent `ms` by `due` and still is.
   */
  check(due: number, now: number): void {
    if (this.sweep === undefined) return;
    if (this.look()) {
      this.since = now;
      this.fired = false;
      return;
    }
    if (this.fired || due - this.since < this.ms) return;
    this.fired = true;
    this.onTimeout();
  }
}
