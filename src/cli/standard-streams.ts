/**
 * stdout and stderr that may go away while the server runs: the reader of a pipe exits
 * (`porthole … | head -1`, a log viewer closed: EPIPE), the terminal is closed (EIO), the disk
 * under a redirect is full (ENOSPC). Node reports such a write's failure as an 'error' event on
 * the stream, which with no listener ends the process at once, taking with it the request being
 * answered and the log lines not yet written; and every later write to that stream fails again.
 *
 * Here each stream gets its listener once, before anything is written: a stream that failed is
 * written no more (what would have gone there is lost, as a closed terminal's lines are), the
 * server keeps serving (as nginx does when its terminal goes away), and the other stream says
 * once what happened. The request log file (--log) is written elsewhere and loses nothing.
 */

/** What GuardedStream writes to: process.stdout or process.stderr (any stream.Writable). */
export interface StandardStream {
  /** False once the stream has failed or ended (Node's Writable.writable). */
  readonly writable: boolean;
  readonly writableLength: number;
  write(chunk: string): boolean;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/** What a failed write's code means, in a few words (EPIPE → "its reader has gone"). */
export function describeStreamFailure(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EPIPE':
      return 'EPIPE: its reader has gone';
    case 'EIO':
      return 'EIO: the terminal has gone';
    case 'ENOSPC':
      return 'ENOSPC: the disk is full';
    default:
      return code ?? err.message;
  }
}

/**
 * One of the process's standard streams, written only while it works: write() never throws and
 * never makes the stream emit an unhandled 'error'; after the stream's first failure it writes
 * nothing and returns false. Implements terminal-output's OutputStream, so BoundedOutput can
 * write through it.
 */
export class GuardedStream {
  private failure: Error | undefined;

  /**
   * Takes `stream`'s 'error' events from now on (at most one call per stream).
   * @param onFailure called once, with the error, when the stream first fails.
   */
  constructor(
    private readonly stream: StandardStream,
    onFailure: (err: Error) => void,
  ) {
    stream.on('error', (err) => {
      if (this.failure !== undefined) return;
      this.failure = err;
      onFailure(err);
    });
  }

  /** The stream's first failure, or undefined while it works. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Bytes queued in the stream (0 once it has failed: nothing more will be queued). */
  get writableLength(): number {
    return this.usable() ? this.stream.writableLength : 0;
  }

  /** Writes `text`; false when the stream asks to wait for 'drain', or has failed (then nothing is written). */
  write(text: string): boolean {
    if (!this.usable()) return false;
    try {
      return this.stream.write(text);
    } catch (err) {
      // A synchronous failure (a stream of another kind): the same as an 'error' event.
      if (this.failure === undefined) this.failure = err as Error;
      return false;
    }
  }

  once(event: 'drain', listener: () => void): unknown {
    return this.stream.once(event, listener);
  }

  private usable(): boolean {
    return this.failure === undefined && this.stream.writable;
  }
}

/** The process's stdout and stderr, each guarded, each saying on the other when it fails. */
export interface StandardStreams {
  readonly out: GuardedStream;
  readonly err: GuardedStream;
  /**
   * What to add when stdout fails, after "the server keeps serving" (e.g. where the request log
   * is); set once the options are known. Text ending without a line break.
   */
  stdoutNote: () => string;
}

/**
 * Guards `stdout` and `stderr` (process.stdout, process.stderr): call once, before the first
 * write. When stdout fails, stderr gets one line saying so, that the server keeps serving, and
 * `stdoutNote()`; when stderr fails, stdout gets one line. `pid` names the process to stop.
 */
export function guardStandardStreams(stdout: StandardStream, stderr: StandardStream, pid: number): StandardStreams {
  const streams: StandardStreams = {
    out: new GuardedStream(stdout, (e) => {
      const more = streams.stdoutNote();
      streams.err.write(
        `porthole: stdout failed (${describeStreamFailure(e)}): request and console lines are no longer printed; the server keeps serving${more === '' ? '' : `; ${more}`}. Ctrl-C or \`kill ${pid}\` stops it.\n`,
      );
    }),
    err: new GuardedStream(stderr, (e) => {
      streams.out.write(`porthole: stderr failed (${describeStreamFailure(e)}): warnings are no longer printed; the server keeps serving.\n`);
    }),
    stdoutNote: () => '',
  };
  return streams;
}
