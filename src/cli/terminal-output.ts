/**
 * The CLI's request and console lines on stdout, with bounded memory when whoever reads stdout is
 * slower than the lines come (a pager, `| grep` on a busy server, a terminal over a slow link, or
 * a flood of pages' console messages): Node queues every write of a pipe or TTY in the process, so
 * without a bound the queue grows until memory runs out. While more than MAX_PENDING_OUTPUT_BYTES
 * are queued, lines are counted and dropped; once the queue has drained, one line says how many
 * were not shown. The request log file (--log) is written elsewhere and never loses a line.
 */

/**
 * Bytes queued for stdout beyond which lines are dropped: 1 MiB is several seconds of a fast
 * terminal's output (a few thousand request lines), so only a reader that has stopped or fallen
 * far behind loses lines, and the CLI stays within a few MiB of its normal memory however long it
 * does.
 */
export const MAX_PENDING_OUTPUT_BYTES = 1024 * 1024;

/** What BoundedOutput writes to: process.stdout, or any stream.Writable. */
export interface OutputStream {
  readonly writableLength: number;
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export class BoundedOutput {
  private dropped = 0;
  private waiting = false;

  /**
   * @param stream where lines go (process.stdout).
   * @param note the line (with its `\n`) that reports `n` lines not shown.
   * @param maxPending bytes queued in `stream` beyond which lines are dropped.
   */
  constructor(
    private readonly stream: OutputStream,
    private readonly note: (n: number) => string,
    private readonly maxPending = MAX_PENDING_OUTPUT_BYTES,
  ) {}

  /** Lines not shown and not yet reported. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Writes `text` (whole lines, each ending in `\n`), or counts its lines as dropped while the queue is full. */
  write(text: string): void {
    if (this.stream.writableLength >= this.maxPending) {
      this.dropped += countLines(text);
      this.waitForDrain();
      return;
    }
    this.report();
    if (!this.stream.write(text) && this.dropped > 0) this.waitForDrain();
  }

  private waitForDrain(): void {
    if (this.waiting) return;
    this.waiting = true;
    this.stream.once('drain', () => {
      this.waiting = false;
      this.report();
    });
  }

  private report(): void {
    if (this.dropped === 0) return;
    const n = this.dropped;
    this.dropped = 0;
    this.stream.write(this.note(n));
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return Math.max(1, n);
}
