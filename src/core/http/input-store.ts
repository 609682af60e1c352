/**
 * Joining bytes that arrive while earlier ones wait: a connection's input (a request head or body
 * cut into pieces) and a WebSocket's frames. Joining the waiting bytes and each chunk into a new
 * buffer copies every waiting byte again per chunk: a client trickling one byte per packet made
 * the server copy gigabytes (a pipelined request held up to MAX_PIPELINE_BUFFER: 2 GB, about a
 * second of CPU; a 64 KiB frame: 1.3 s). Here a chunk is copied after the waiting bytes in place
 * when they end the store's filled part and it has room, else both go into a store grown by
 * doubling: each byte is copied O(1) times on average.
 */

const EMPTY = Buffer.alloc(0);

export class InputStore {
  /** `bytes[0, filled)` is written; bytes before `filled` are never written again (views of them may be kept). */
  private bytes: Buffer = EMPTY;
  private filled = 0;

  /**
   * @param minBytes the smallest store made (bytes).
   * @param counted told of each copy's size in bytes (the callers' counters for tests and diagnostics).
   */
  constructor(
    private readonly minBytes: number,
    private readonly counted: (copiedBytes: number) => void,
  ) {}

  /**
   * `waiting` followed by `chunk`, as one view into this store (both non-empty in practice;
   * `waiting` may be a view this store returned, or any other buffer).
   */
  join(waiting: Buffer, chunk: Buffer): Buffer {
    const store = this.bytes;
    // `waiting` ends the filled part (told by the ArrayBuffer: the store has memory of its own).
    const tail = waiting.buffer === store.buffer && waiting.byteOffset + waiting.length === store.byteOffset + this.filled;
    if (tail && this.filled + chunk.length <= store.length) {
      chunk.copy(store, this.filled);
      this.filled += chunk.length;
      this.counted(chunk.length);
      return store.subarray(waiting.byteOffset - store.byteOffset, this.filled);
    }
    const need = waiting.length + chunk.length;
    const grown = Buffer.allocUnsafeSlow(Math.max(need, 2 * waiting.length, this.minBytes));
    waiting.copy(grown, 0);
    chunk.copy(grown, waiting.length);
    this.counted(need);
    this.bytes = grown;
    this.filled = need;
    return grown.subarray(0, need);
  }

  /** True while the store holds memory. */
  get holding(): boolean {
    return this.filled !== 0;
  }

  /** Lets the store's memory go (call once nothing waits: no view of it is used any more). */
  release(): void {
    this.bytes = EMPTY;
    this.filled = 0;
  }
}
