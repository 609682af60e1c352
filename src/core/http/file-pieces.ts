/**
 * The buffers a file range is sent through (Connection.writeStreamedResponse): one fs.read fills a
 * piece, one socket.write hands it on, and the piece is free again once the kernel took its bytes
 * (the write's callback). A transfer has at most two pieces out at once: one being read while the
 * kernel takes the other.
 *
 * Every piece waiting for the kernel counts in the server-wide queued-output budget
 * (`limits.maxQueuedTotalBytes`) until the kernel took it, so clients that ask for large files and
 * never read hold at most that budget in full pieces. Past it, a piece is SMALL_PIECE_BYTES: the
 * transfer goes on (a reader that is merely slow is not refused), but each connection whose client
 * does not read holds at most two small pieces. Before, every file transfer held two full pieces
 * of its own from its first byte, counted nowhere: 1,000 clients asking for a 20 MB file and
 * reading nothing grew the CLI from 51 to 438 MB (165 MB with this).
 *
 * Full pieces are the response's own, two used in turn, not shared between transfers: handed
 * from one transfer to another through a common pool, the kernel's copy into them (pread) cost
 * four times as much (perf, the 100 MiB file at 4 connections: `copy_page_to_iter` 82 against
 * 19 ms of CPU per file; 1.07 against 1.58 GB/s, A/B against the build before), and fresh buffers
 * for every piece made the allocator fault in a page every 24 KiB sent. Small pieces, used only
 * past the budget, are pooled (at most FREE_SMALL_PIECES_KEPT).
 */
import type { MemoryBudget } from './memory-budget';

/** A piece while the queued-output budget has room: one fs.read and one write per 256 KiB. */
export const FULL_PIECE_BYTES = 256 * 1024;
/** A piece once the budget is spent: what a transfer to a client that does not read holds. */
export const SMALL_PIECE_BYTES = 16 * 1024;
const FREE_SMALL_PIECES_KEPT = 64;
const freeSmall: Buffer[] = [];

/** The pieces of one response's file ranges; `budget`: the server's queued-output budget, which sizes them. */
export class FilePieces {
  /** The response's two full pieces, used in turn (made on first use, let go past the budget). */
  private readonly full: Array<Buffer | undefined> = [undefined, undefined];
  private turn = 0;

  constructor(private readonly budget: MemoryBudget) {}

  /**
   * A piece to read the next bytes into: FULL_PIECE_BYTES while the budget has room for one more,
   * else SMALL_PIECE_BYTES (and the response's full pieces are let go: those still being written
   * stay with their writes). The caller counts its length in the budget until `give`.
   *
   * The full pieces are used in turn, as a double buffer: the caller keeps at most two pieces out
   * (being read or waiting for the kernel) and writes complete in order, so the one taken is
   * never still out. (Taking the piece given back last instead, which is the same pair in a
   * different order when both come back in one turn, made the kernel's copy into them slower:
   * 81.8–89.0 against 71.5–87.3 ticks of CPU per GB sent, pinned A/B, three rounds each.)
   */
  take(): Buffer {
    if (this.budget.inUse + FULL_PIECE_BYTES <= this.budget.capacity) {
      const i = this.turn;
      this.turn ^= 1;
      let piece = this.full[i];
      if (piece === undefined) {
        piece = Buffer.allocUnsafeSlow(FULL_PIECE_BYTES);
        this.full[i] = piece;
      }
      return piece;
    }
    this.full[0] = undefined;
    this.full[1] = undefined;
    return freeSmall.pop() ?? Buffer.allocUnsafeSlow(SMALL_PIECE_BYTES);
  }

  /**
   * A piece is free again: nothing refers to its bytes any more (the write's callback ran, or it
   * was never written). Small ones are kept for any response; full ones stay in their slot.
   */
  give(piece: Buffer): void {
    if (piece.length !== FULL_PIECE_BYTES && freeSmall.length < FREE_SMALL_PIECES_KEPT) freeSmall.push(piece);
  }
}
