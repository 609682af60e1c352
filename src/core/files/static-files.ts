/**
 * Static files under one root: path → file, folder (index or listing) or 404, with validators,
 * preconditions and ranges. Files are opened by open-contained.ts, which judges containment and
 * hidden names on the open descriptor's real path (a symlink out of the root is a 404 unless
 * `followSymlinks` is on) and opens only regular files and folders. Everything (validators, bytes)
 * comes from that descriptor, so a file swapped between stat and read can't mix two versions in
 * one answer. Listings are built by listing.ts; the active request log is loopback-only.
 */
import type { FileHandle } from 'node:fs/promises';
import { statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Exchange } from '../http/connection';
import { escapeHtml, htmlPage } from '../text/html';
import { CACHE_MAX_FILE_BYTES, cacheKeyOf, fileCacheFor, makeCachedFile, type CachedFile, type FileCache } from './file-cache';
import type { HeaderList } from '../http/request-record';
import { encodePathSegments, resolveRequestPath } from './resolve-path';
import { contentValidators, statValidators } from './validators';
import { inMemory, sendRepresentation, type Representation } from './representation';
import { contentTypeOf, contentTypeOfFile, typeFromName, typeNeedsBytes } from './content-type';
import { openContained } from './open-contained';
import { listFolder, type ListedFolder } from './listing';
import { loopbackOnlyRefusal, type LoopbackOnlyFiles } from './loopback-only';

export { openContained, type Opened } from './open-contained';

export interface StaticOptions {
  /** The root, already resolved with realpath. */
  readonly rootReal: string;
  readonly listing: boolean;
  readonly dotfiles: boolean;
  readonly followSymlinks: boolean;
  /** Files only loopback clients may read (the active request log); other hosts get 404. */
  readonly loopbackOnly?: LoopbackOnlyFiles;
}

/** Files up to this size are read in one call and sent in one write. */
const SMALL_FILE_BYTES = 64 * 1024;
/** Tried in order for a folder request. */
export const INDEX_NAMES = ['index.html', 'index.htm'] as const;
const TEXT_PLAIN = 'text/plain; charset=utf-8';
const TEXT_HTML = 'text/html; charset=utf-8';

/** The file cache's key for the root's own 404.html (no request path starts with NUL). */
const CUSTOM_404_KEY = '\u0000/404.html';

/**
 * One synchronous stat (microseconds, no thread-pool round trip) before anything is opened:
 * 'missing' for ENOENT/ENOTDIR (a missing path is told early), the Stats when it exists (handed to
 * openContained, which refuses FIFOs, sockets and devices before `open`), undefined for any other
 * error (judged the full way).
 */
function statFirst(fsPath: string): Stats | 'missing' | undefined {
  try {
    return statSync(fsPath, { throwIfNoEntry: false }) ?? 'missing';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'missing' : undefined;
  }
}

function plain(ex: Exchange, status: number, text: string, extra: HeaderList = []): void {
  ex.respond(status, [['Content-Type', TEXT_PLAIN], ['X-Content-Type-Options', 'nosniff'], ...extra], `${text}\n`);
}

/** Serves GET/HEAD for `rawPath` (origin-form path with optional query). Never rejects. */
export async function serveStatic(ex: Exchange, rawPath: string, opts: StaticOptions): Promise<void> {
  const hit = fileCacheFor(opts).lookup(cacheKeyOf(rawPath));
  if (hit !== undefined) {
    const refused = loopbackOnlyRefusal(hit, ex.clientIp, opts.loopbackOnly);
    if (refused === undefined) {
      sendCached(ex, hit);
      return;
    }
    ex.note = refused;
    await sendNotFound(ex, rawPath, opts);
    return;
  }
  const resolved = resolveRequestPath(rawPath, opts.dotfiles);
  if (resolved.kind === 'bad-request') {
    ex.note = resolved.reason;
    plain(ex, 400, `Bad request: ${resolved.reason}`);
    return;
  }
  if (resolved.kind === 'hidden' || resolved.kind === 'no-such-file') {
    ex.note = resolved.reason;
    await sendNotFound(ex, rawPath, opts);
    return;
  }
  await answerLookup(ex, rawPath, await lookupPath(resolved.segments, resolved.trailingSlash, opts, ex.clientIp), opts);
}

/** A file found for a request, or why there is none to send as it is. */
export type Lookup =
  | {
      readonly kind: 'file';
      readonly file: FileHandle;
      readonly stat: Stats;
      readonly real: string;
      /** Where the file may be cached (its path on disk, its folder for an index); undefined: nowhere. */
      readonly place: Pick<CachePlacement, 'fsPath' | 'dir'> | undefined;
    }
  | { readonly kind: 'missing'; readonly reason: string }
  | { readonly kind: 'forbidden'; readonly reason: string }
  /** Out of descriptors: 503 with Retry-After. */
  | { readonly kind: 'unavailable'; readonly reason: string }
  /** A folder asked for without its trailing slash. */
  | { readonly kind: 'moved'; readonly segments: readonly string[] }
  /**
   * A folder without an index file: its real path, Stats and open descriptor (undefined where
   * folders cannot be opened), which answerLookup closes.
   */
  | {
      readonly kind: 'folder';
      readonly real: string;
      readonly stat: Stats;
      readonly handle: FileHandle | undefined;
      readonly segments: readonly string[];
    };

/**
 * The file-system half of serveStatic, for a resolved request path: opens the file, or the
 * folder's index file, and answers nothing (a found file or folder is open: hand it to
 * answerLookup or sendFile, or close it). `clientIp` decides whether a loopback-only file (the
 * active request log) may be served to the client (a 404 for other hosts).
 */
export async function lookupPath(segments: readonly string[], trailingSlash: boolean, opts: StaticOptions, clientIp: string): Promise<Lookup> {
  const fsPath = join(opts.rootReal, ...segments);
  const known = statFirst(fsPath);
  if (known === 'missing') return { kind: 'missing', reason: 'No such file.' };
  const target = await openContained(fsPath, opts, known);
  switch (target.kind) {
    case 'missing':
    case 'forbidden':
    case 'unavailable':
      return target;
    case 'file':
      return privateRefusal(target, opts, clientIp) ?? { ...target, place: { fsPath, dir: undefined } };
    case 'dir':
      break;
  }
  if (!trailingSlash) {
    await target.handle?.close().catch(() => undefined);
    return { kind: 'moved', segments };
  }
  for (const name of INDEX_NAMES) {
    const indexPath = join(target.real, name);
    const indexKnown = statFirst(indexPath);
    if (indexKnown === 'missing') continue;
    const index = await openContained(indexPath, opts, indexKnown);
    if (index.kind === 'dir') await index.handle?.close().catch(() => undefined);
    if (index.kind === 'unavailable') {
      await target.handle?.close().catch(() => undefined);
      return index;
    }
    if (index.kind === 'file') {
      await target.handle?.close().catch(() => undefined);
      const dir = { path: fsPath, mtimeMs: target.stat.mtimeMs };
      return privateRefusal(index, opts, clientIp) ?? { ...index, place: { fsPath: join(fsPath, name), dir } };
    }
  }
  return { kind: 'folder', real: target.real, stat: target.stat, handle: target.handle, segments };
}

/** A file that only loopback clients may read, asked for by another host: closed, and a 404. */
function privateRefusal(found: { readonly file: FileHandle; readonly stat: Stats }, opts: StaticOptions, clientIp: string): Lookup | undefined {
  const reason = loopbackOnlyRefusal(found.stat, clientIp, opts.loopbackOnly);
  if (reason === undefined) return undefined;
  void found.file.close().catch(() => undefined);
  return { kind: 'missing', reason };
}

/**
 * The answering half of serveStatic: sends a found file (cached where `place` allows), or answers
 * 404 (the root's 404.html when there is one), 403, 503 (out of descriptors), 301 to the folder
 * with its slash, or the folder's listing (404 when listing is off).
 */
export async function answerLookup(ex: Exchange, rawPath: string, found: Lookup, opts: StaticOptions): Promise<void> {
  switch (found.kind) {
    case 'file': {
      const { place } = found;
      const placement = place === undefined ? undefined : { cache: fileCacheFor(opts), key: cacheKeyOf(rawPath), ...place };
      sendFile(ex, found.file, found.stat, found.real, placement);
      return;
    }
    case 'missing':
      ex.note = found.reason;
      await sendNotFound(ex, rawPath, opts);
      return;
    case 'forbidden':
      ex.note = found.reason;
      plain(ex, 403, 'Forbidden: the server may not read this file.');
      return;
    case 'unavailable':
      ex.note = found.reason;
      sendUnavailable(ex);
      return;
    case 'moved': {
      const q = rawPath.indexOf('?');
      const location = encodePathSegments(found.segments, true) + (q >= 0 ? rawPath.slice(q) : '');
      ex.respond(301, [['Location', location], ['Content-Type', TEXT_PLAIN]], `Moved to ${location}\n`);
      return;
    }
    case 'folder':
      if (!opts.listing) {
        await found.handle?.close().catch(() => undefined);
        ex.note = 'Folder without index.html, and listing is off.';
        await sendNotFound(ex, rawPath, opts);
        return;
      }
      await sendListing(ex, found, opts);
  }
}

/** Seconds a client is asked to wait when the server is out of descriptors. */
export const RETRY_AFTER_SECONDS = 2;

/** 503 with Retry-After: out of file descriptors for now (EMFILE/ENFILE), or too busy (`text` says). */
export function sendUnavailable(ex: Exchange, text = 'Service unavailable: the server has too many open files right now; try again shortly.'): void {
  plain(ex, 503, text, [
    ['Retry-After', String(RETRY_AFTER_SECONDS)],
  ]);
}

/** Where a file sent by sendFile may be cached: the request's key and path on disk. */
export interface CachePlacement {
  readonly cache: FileCache;
  readonly key: string;
  readonly fsPath: string;
  readonly dir: { readonly path: string; readonly mtimeMs: number } | undefined;
}

/** A cached file as a representation: its bytes in memory and its serialised heads. */
function cachedRepresentation(entry: CachedFile): Representation {
  const body = entry.body;
  return {
    type: entry.type,
    size: entry.size,
    validators: entry.validators,
    rangeable: true,
    partFor: (start, end) => body.subarray(start, end + 1),
    whole: body,
    readWhole: undefined,
    prepared: entry,
  };
}

/** Answers from a cached file (the common 200 and 304 use its pre-serialised heads). */
export function sendCached(ex: Exchange, entry: CachedFile): void {
  ex.filePath = entry.real;
  sendRepresentation(ex, cachedRepresentation(entry));
}

/**
 * Sends an open file (GET/HEAD), closing it when the exchange ends. With a cache placement, a
 * small file is read whole, cached, and answered from the cache.
 */
export function sendFile(ex: Exchange, file: FileHandle, st: Stats, real: string, placement?: CachePlacement): void {
  ex.filePath = real;
  ex.cleanup = () => void file.close().catch(() => undefined);
  const size = st.size;
  if (placement !== undefined && size > 0 && size <= CACHE_MAX_FILE_BYTES) {
    readWhole(file, size).then(
      (body) => {
        // A file that changed size under us would make Content-Length a lie: the socket ends.
        if (body.length !== size) return ex.connection.failExchange(ex);
        const type = contentTypeOf(real, body);
        const entry = makeCachedFile(placement.fsPath, real, st, body, type, contentValidators(st, body), placement.dir);
        placement.cache.set(placement.key, entry);
        sendCached(ex, entry);
      },
      () => ex.connection.failExchange(ex),
    );
    return;
  }
  // Streamed: the type is decided from the first bytes once per file version (content-type.ts).
  if (!typeNeedsBytes(real)) {
    sendRepresentation(ex, streamedRepresentation(file, st, typeFromName(real) ?? 'application/octet-stream'));
    return;
  }
  contentTypeOfFile(real, file, st).then(
    (type) => sendRepresentation(ex, streamedRepresentation(file, st, type)),
    () => ex.connection.failExchange(ex),
  );
}

/** A file read from its descriptor: ranges of the file, small ones read whole for one write. */
function streamedRepresentation(file: FileHandle, st: Stats, type: string): Representation {
  const size = st.size;
  return {
    type,
    size,
    validators: statValidators(st),
    rangeable: true,
    partFor: (start, end) => ({ file, start, end }),
    whole: undefined,
    readWhole: size <= SMALL_FILE_BYTES ? () => readWhole(file, size) : undefined,
    prepared: undefined,
  };
}

/** Reads a file of `size` bytes whole; a file that shrank while read comes back shorter. */
export async function readWhole(file: FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await file.read(buf, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset === size ? buf : buf.subarray(0, offset);
}

/** 404: the root's own 404.html when there is one (still a 404), else a small page. */
export async function sendNotFound(ex: Exchange, rawPath: string, opts: StaticOptions): Promise<void> {
  const custom = await customNotFound(opts);
  const page = custom ?? inMemory(TEXT_HTML, builtInNotFound(rawPath));
  sendRepresentation(ex, page, 404);
}

/** The last built-in 404 page, by the path it names (a broken link is asked for again and again). */
let lastNotFound: { readonly shown: string; readonly bytes: Buffer } | undefined;

function builtInNotFound(rawPath: string): Buffer {
  const shown = cacheKeyOf(rawPath);
  if (lastNotFound?.shown !== shown) lastNotFound = { shown, bytes: Buffer.from(notFoundPage(shown), 'utf8') };
  return lastNotFound.bytes;
}

/**
 * The root's 404.html, bytes and Content-Type (cached like a file); undefined when there is none,
 * or too big.
 */
async function customNotFound(opts: StaticOptions): Promise<Representation | undefined> {
  const cache = fileCacheFor(opts);
  const cached = cache.lookup(CUSTOM_404_KEY);
  if (cached !== undefined) return inMemory(cached.type, cached.body);
  // Most roots have none: one stat per turn of the event loop tells, not one per 404.
  if (cache.absentNow(CUSTOM_404_KEY)) return undefined;
  const customPath = join(opts.rootReal, '404.html');
  const known = statFirst(customPath);
  if (known === 'missing') cache.markAbsent(CUSTOM_404_KEY);
  const custom = known === 'missing' ? undefined : await openContained(customPath, opts, known);
  if (custom?.kind === 'dir') await custom.handle?.close().catch(() => undefined);
  if (custom?.kind !== 'file') return undefined;
  try {
    const st = custom.stat;
    if (st.size > CACHE_MAX_FILE_BYTES) return undefined;
    const body = await readWhole(custom.file, st.size);
    const type = contentTypeOf(customPath, body);
    cache.set(CUSTOM_404_KEY, makeCachedFile(customPath, custom.real, st, body, type, contentValidators(st, body), undefined));
    return inMemory(type, body);
  } finally {
    await custom.file.close().catch(() => undefined);
  }
}

/** The built-in 404 page, naming the path asked for (`shown`: without its query; decoded when it can be). */
function notFoundPage(shown: string): string {
  let display = shown;
  try {
    display = decodeURIComponent(shown);
  } catch {
    // keep the raw form
  }
  return htmlPage(
    '404 Not Found',
    `<h1>404 Not Found</h1>\n<p>There is no file at <code>${escapeHtml(display)}</code>.</p>\n<p><a href="/">Back to the start page</a></p>`,
  );
}

/** A folder's listing (built or reused, bounded: listing.ts), or why there is none; closes the folder. */
async function sendListing(ex: Exchange, folder: ListedFolder, opts: StaticOptions): Promise<void> {
  let result;
  try {
    result = await listFolder(folder, opts);
  } finally {
    await folder.handle?.close().catch(() => undefined);
  }
  switch (result.kind) {
    case 'page':
      if (result.shown < result.total) ex.note = `listing shows ${result.shown} of ${result.total} entries`;
      {
        const bytes = typeof result.body === 'string' ? Buffer.from(result.body, 'utf8') : result.body;
        // Held until the kernel took it: counted in the server-wide budget of bodies built in memory.
        if (!ex.reserveMemory(bytes.length)) {
          ex.respondBusy();
          return;
        }
        sendRepresentation(ex, inMemory(TEXT_HTML, bytes));
      }
      return;
    case 'forbidden':
      ex.note = result.reason;
      plain(ex, 403, 'Forbidden: the server may not read this folder.');
      return;
    case 'unavailable':
      ex.note = result.reason;
      sendUnavailable(ex);
      return;
    case 'busy':
      ex.note = result.reason;
      sendUnavailable(ex, 'Service unavailable: too many folder listings are being built right now; try again shortly.');
      return;
    case 'missing':
      ex.note = result.reason;
      await sendNotFound(ex, encodePathSegments(folder.segments, true), opts);
  }
}
