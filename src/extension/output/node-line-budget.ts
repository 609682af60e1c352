/**
 * Caps how many request lines reach the Output channel per time window, so 1,000 requests a second
 * cannot flood it: lines beyond the budget are counted and summarised in one line. Pure (the
 * clock is passed in).
 */

export const OUTPUT_LINES_PER_SECOND = 200;
/**
 * Pages' console entries written to the Output channel per second, all servers together: one
 * server's own cap (MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL), so several workspace folders' servers
 * cannot multiply it.
 */
export const OUTPUT_CONSOLE_ENTRIES_PER_SECOND = 200;

export interface BudgetDecision {
  /** Write this many of the offered lines (the first ones). */
  readonly write: number;
  /** Summarise this many as skipped. */
  readonly skip: number;
}

export class LineBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    private readonly maxLines = OUTPUT_LINES_PER_SECOND,
    private readonly windowMs = 1000,
  ) {}

  /** Offer `count` lines at time `now` (ms). */
  take(count: number, now: number): BudgetDecision {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    const write = Math.max(0, Math.min(count, this.maxLines - this.used));
    this.used += write;
    return { write, skip: count - write };
  }
}
