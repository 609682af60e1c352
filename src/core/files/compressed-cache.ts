/**
 * On-the-fly compression and the memory that keeps its result: a body is compressed once per
 * version (the key names the file and its ETag, so an edit is a new key and the old copy ages out),
 * on libuv's thread pool (zlib's async calls), and every later request for that version is a map
 * lookup. Requests that arrive while a body is being compressed wait for that same compression.
 *
 * Bounded like the file cache (bounded-map.ts): COMPRESSED_MAX_ENTRIES copies, COMPRESSED_MAX_TOTAL_BYTES
 * in all, oldest out first. Only bodies of at most COMPRESS_MAX_BYTES are compressed (see there).
 */
import { BoundedBodyMap, perOwner } from './bounded-map';
import { zlib, type ContentCoding } from './content-coding';
import type { PreparedHeads } from './representation';

/** A compressed copy, and its response heads once they were serialised (by the first request). */
export interface CompressedCopy {
  readonly body: Buffer;
  heads: PreparedHeads | undefined;
}

/**
 * Bodies above this are sent unencoded: the same bound as the file cache (file-cache.ts), since a
 * compressed copy is only worth making when it is kept, and a body of that size is compressed in
 * a few milliseconds at the qualities below. A bigger text (a log, a data dump) is streamed from
 * its descriptor as it is: compressing it would cost its size in CPU on every request, or a copy
 * of it in memory; on loopback and a LAN the bytes saved do not pay that back.
 */
export const COMPRESS_MAX_BYTES = 1024 * 1024;
/** Compressed copies kept, in bytes (they are a fraction of the file cache's 64 MiB). */
export const COMPRESSED_MAX_TOTAL_BYTES = 32 * 1024 * 1024;
const COMPRESSED_MAX_ENTRIES = 4096;
/**
 * Brotli quality 5 and gzip level 6: a 148 KB script compresses in ~3 ms (brotli) and ~2 ms
 * (gzip) once per version, within a few percent of the best ratio; brotli's 11 would take ~300 ms.
 */
const BROTLI_QUALITY = 5;
const GZIP_LEVEL = 6;

/** Compresses `body` with `coding` on the thread pool. */
export function compressBody(body: Buffer, coding: ContentCoding): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer): void => (err === null ? resolve(out) : reject(err));
    const { brotliCompress, constants, gzip } = zlib();
    if (coding === 'br') {
      brotliCompress(
        body,
        {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
            [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
            [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          },
        },
        done,
      );
    } else {
      gzip(body, { level: GZIP_LEVEL }, done);
    }
  });
}

/** Compressed copies of bodies, keyed by the caller (a file version and a coding). */
export class CompressedCache {
  private readonly entries = new BoundedBodyMap<CompressedCopy>(COMPRESSED_MAX_ENTRIES, COMPRESSED_MAX_TOTAL_BYTES);
  private readonly pending = new Map<string, Promise<CompressedCopy>>();

  /** The copy kept under `key`, if any. */
  get(key: string): CompressedCopy | undefined {
    return this.entries.get(key);
  }

  /**
   * The copy under `key`, compressing `body` with `coding` when there is none yet (once, however
   * many requests ask meanwhile). Rejects when zlib fails.
   */
  compress(key: string, body: Buffer, coding: ContentCoding): Promise<CompressedCopy> {
    const kept = this.get(key);
    if (kept !== undefined) return Promise.resolve(kept);
    let running = this.pending.get(key);
    if (running === undefined) {
      running = compressBody(body, coding).then(
        (out) => {
          this.pending.delete(key);
          const copy: CompressedCopy = { body: out, heads: undefined };
          this.entries.set(key, copy);
          return copy;
        },
        (err: unknown) => {
          this.pending.delete(key);
          throw err;
        },
      );
      this.pending.set(key, running);
    }
    return running;
  }
}

/** The compressed copies that belong to one options object (as fileCacheFor). */
export const compressedCacheFor: (owner: object) => CompressedCache = perOwner(() => new CompressedCache());
