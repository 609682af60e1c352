/**
 * A byte budget shared by every connection of a server: response bodies built in memory (rewritten
 * pages, overlays, listings) take their size from it before they are built or sent, and give it
 * back once the kernel took their bytes (or the connection ended). A body that does not fit is not
 * built: the caller answers 503 with Retry-After. This bounds what clients that ask and never
 * read can make the process hold, however many connections they open.
 *
 * Invariants: `inUse` is never negative and never above `capacity` (one body larger than the whole
 * capacity is refused); every `Reservation` gives back its bytes at most once.
 */
export class MemoryBudget {
  private used = 0;

  /** `capacity`: bytes (positive). */
  constructor(readonly capacity: number) {}

  /** Bytes currently taken. */
  get inUse(): number {
    return this.used;
  }

  /** True while more than the capacity is taken (only `takeAlways` can make it so). */
  get over(): boolean {
    return this.used > this.capacity;
  }

  /** Takes `bytes` even past the capacity: for what is already in memory (queued output). */
  takeAlways(bytes: number): Reservation {
    const n = Math.max(0, Math.ceil(bytes));
    this.used += n;
    return new Reservation(this, n);
  }

  /**
   * `takeAlways` without a Reservation object, for a caller that keeps its own count (one per
   * response on the hot path): returns the bytes taken, to hand back with `giveBack`.
   */
  takeAlwaysCounted(bytes: number): number {
    const n = Math.max(0, Math.ceil(bytes));
    this.used += n;
    return n;
  }

  /** Takes `bytes`, or returns undefined (nothing taken) when they would pass the capacity. */
  take(bytes: number): Reservation | undefined {
    const n = Math.max(0, Math.ceil(bytes));
    if (this.used + n > this.capacity) return undefined;
    this.used += n;
    return new Reservation(this, n);
  }

  /** Gives back bytes taken with takeAlwaysCounted (Reservation.release uses it too). */
  giveBack(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** Bytes taken from a MemoryBudget; `release()` is idempotent. */
export class Reservation {
  private released = false;

  constructor(
    private readonly budget: MemoryBudget,
    private held: number,
  ) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.released ? 0 : this.held;
  }

  /** Gives back what is above `bytes` (a build that needed more room than its result keeps). */
  shrinkTo(bytes: number): void {
    const keep = Math.max(0, Math.ceil(bytes));
    if (this.released || keep >= this.held) return;
    this.budget.giveBack(this.held - keep);
    this.held = keep;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.giveBack(this.held);
  }
}
