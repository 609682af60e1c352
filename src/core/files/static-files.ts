/**
 * Static files under one root: path → file, folder (index or listing) or 404, with validators,
 * preconditions and ranges. The real path of every file served is checked to lie inside the real
 * root, so a symlink out of the root is a 404 unless `followSymlinks` is on. Files are opened once
 * and everything (validators, bytes) comes from that descriptor, so a file swapped between stat
 * and read can't mix two versions in one answer.
 */
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { statSync, type Stats } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { contentType as mimeContentType } from 'mime-types';
import type { BodyPart, Exchange } from '../http/connection';
import { escapeHtml, htmlPage } from '../text/html';
import { formatSize } from '../text/format-size';
import { formatHttpDate } from '../http/http-date';
import { evaluatePreconditions, ifRangeAllows, type ConditionalHeaders, type Validators } from './preconditions';
import {
  CACHE_MAX_FILE_BYTES,
  cacheKeyOf,
  fileCacheFor,
  fileHeaders,
  fileValidatorHeaders,
  makeCachedFile,
  type CachedFile,
  type FileCache,
} from './file-cache';
import { parseRange, type ByteRange } from './range';
import type { HeaderList } from '../http/request-record';
import { encodePathSegments, isNeverServed, resolveRequestPath } from './resolve-path';

export interface StaticOptions {
  /** The root, already resolved with realpath. */
  readonly rootReal: string;
  readonly listing: boolean;
  readonly dotfiles: boolean;
  readonly followSymlinks: boolean;
}

/** Files up to this size are read in one call and sent in one write. */
const SMALL_FILE_BYTES = 64 * 1024;
/** Tried in order for a folder request. */
export const INDEX_NAMES = ['index.html', 'index.htm'] as const;
const TEXT_PLAIN = 'text/plain; charset=utf-8';
const TEXT_HTML = 'text/html; charset=utf-8';

const typeCache = new Map<string, string>();

/** Content-Type for a file name: mime-types, charset=utf-8 for text, octet-stream when unknown. */
export function contentTypeFor(name: string): string {
  const ext = extname(name).toLowerCase();
  let type = typeCache.get(ext);
  if (type === undefined) {
    type = (ext.length > 0 && mimeContentType(ext)) || 'application/octet-stream';
    if (typeCache.size < 1000) typeCache.set(ext, type);
  }
  return type;
}

/** Strong ETag from size and mtime (nginx's recipe, with sub-second mtime). */
export function etagFor(st: Stats): string {
  return `"${Math.floor(st.mtimeMs * 1000).toString(16)}-${st.size.toString(16)}"`;
}

export function validatorsFor(st: Stats): Validators {
  return { etag: etagFor(st), lastModifiedSec: Math.floor(st.mtimeMs / 1000) };
}

export type Opened =
  | { readonly kind: 'file'; readonly file: FileHandle; readonly stat: Stats; readonly real: string }
  /** `mtimeMs` from the descriptor; undefined when the folder could not be opened (EISDIR). */
  | { readonly kind: 'dir'; readonly real: string; readonly mtimeMs: number | undefined }
  | { readonly kind: 'missing'; readonly reason: string }
  | { readonly kind: 'forbidden'; readonly reason: string };

function isInside(real: string, rootReal: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
}

/** Opens a path if its real path is inside the root (or symlinks may leave it). */
export async function openContained(fsPath: string, opts: StaticOptions): Promise<Opened> {
  let real: string;
  try {
    real = await realpath(fsPath);
  } catch (err) {
    return failure(err);
  }
  if (!opts.followSymlinks && !isInside(real, opts.rootReal)) {
    return { kind: 'missing', reason: 'A symlink leads outside the root (followSymlinks is off).' };
  }
  let file: FileHandle;
  try {
    file = await open(real, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return { kind: 'dir', real, mtimeMs: undefined };
    return failure(err);
  }
  try {
    const st = await file.stat();
    if (st.isDirectory()) {
      await file.close();
      return { kind: 'dir', real, mtimeMs: st.mtimeMs };
    }
    if (!st.isFile()) {
      await file.close();
      return { kind: 'forbidden', reason: 'Not a regular file.' };
    }
    return { kind: 'file', file, stat: st, real };
  } catch (err) {
    await file.close().catch(() => undefined);
    return failure(err);
  }
}

/** The file cache's key for the root's own 404.html (no request path starts with NUL). */
const CUSTOM_404_KEY = '\u0000/404.html';

/**
 * One synchronous stat (microseconds, no thread-pool round trip) to tell a missing path early:
 * true only for ENOENT/ENOTDIR; anything else goes the full way and is judged there.
 */
function isSurelyMissing(fsPath: string): boolean {
  try {
    return statSync(fsPath, { throwIfNoEntry: false }) === undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

function failure(err: unknown): Opened {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return { kind: 'forbidden', reason: 'Permission denied.' };
  return { kind: 'missing', reason: code === 'ENOENT' || code === 'ENOTDIR' ? 'No such file.' : `Cannot open: ${code}` };
}

function plain(ex: Exchange, status: number, text: string, extra: HeaderList = []): void {
  ex.respond(status, [['Content-Type', TEXT_PLAIN], ['X-Content-Type-Options', 'nosniff'], ...extra], `${text}\n`);
}

/** Serves GET/HEAD for `rawPath` (origin-form path with optional query). Never rejects. */
export async function serveStatic(ex: Exchange, rawPath: string, opts: StaticOptions): Promise<void> {
  const hit = fileCacheFor(opts).lookup(cacheKeyOf(rawPath));
  if (hit !== undefined) {
    sendCached(ex, hit);
    return;
  }
  const resolved = resolveRequestPath(rawPath, opts.dotfiles);
  if (resolved.kind === 'bad-request') {
    ex.note = resolved.reason;
    plain(ex, 400, `Bad request: ${resolved.reason}`);
    return;
  }
  if (resolved.kind === 'hidden') {
    ex.note = resolved.reason;
    await sendNotFound(ex, rawPath, opts);
    return;
  }
  await answerLookup(ex, rawPath, await lookupPath(resolved.segments, resolved.trailingSlash, opts), opts);
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
  /** A folder asked for without its trailing slash. */
  | { readonly kind: 'moved'; readonly segments: readonly string[] }
  /** A folder without an index file. */
  | { readonly kind: 'folder'; readonly real: string; readonly segments: readonly string[] };

/**
 * The file-system half of serveStatic, for a resolved request path: opens the file, or the
 * folder's index file, and answers nothing (a found file is open: hand it to answerLookup or
 * sendFile, or close it).
 */
export async function lookupPath(segments: readonly string[], trailingSlash: boolean, opts: StaticOptions): Promise<Lookup> {
  const fsPath = join(opts.rootReal, ...segments);
  if (isSurelyMissing(fsPath)) return { kind: 'missing', reason: 'No such file.' };
  const target = await openContained(fsPath, opts);
  switch (target.kind) {
    case 'missing':
    case 'forbidden':
      return target;
    case 'file':
      return { ...target, place: { fsPath, dir: undefined } };
    case 'dir':
      break;
  }
  if (!trailingSlash) return { kind: 'moved', segments };
  for (const name of INDEX_NAMES) {
    const index = await openContained(join(target.real, name), opts);
    if (index.kind === 'file') {
      const dirMtimeMs = target.mtimeMs ?? (await stat(fsPath).catch(() => undefined))?.mtimeMs;
      const dir = dirMtimeMs === undefined ? undefined : { path: fsPath, mtimeMs: dirMtimeMs };
      return { ...index, place: dir === undefined ? undefined : { fsPath: join(fsPath, name), dir } };
    }
  }
  return { kind: 'folder', real: target.real, segments };
}

/**
 * The answering half of serveStatic: sends a found file (cached where `place` allows), or answers
 * 404 (the root's 404.html when there is one), 403, 301 to the folder with its slash, or the
 * folder's listing (404 when listing is off).
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
    case 'moved': {
      const q = rawPath.indexOf('?');
      const location = encodePathSegments(found.segments, true) + (q >= 0 ? rawPath.slice(q) : '');
      ex.respond(301, [['Location', location], ['Content-Type', TEXT_PLAIN]], `Moved to ${location}\n`);
      return;
    }
    case 'folder':
      if (!opts.listing) {
        ex.note = 'Folder without index.html, and listing is off.';
        await sendNotFound(ex, rawPath, opts);
        return;
      }
      await sendListing(ex, found.real, found.segments, opts);
  }
}

/** Where a file sent by sendFile may be cached: the request's key and path on disk. */
export interface CachePlacement {
  readonly cache: FileCache;
  readonly key: string;
  readonly fsPath: string;
  readonly dir: { readonly path: string; readonly mtimeMs: number } | undefined;
}

/**
 * What a response is made of: validators, type, size, and how to get bytes of a range (a slice of
 * a cached buffer or a range of the open file).
 */
interface Representation {
  readonly validators: Validators;
  readonly lastModified: string;
  readonly type: string;
  readonly size: number;
  partFor(start: number, end: number): BodyPart;
}

function conditionalHeaders(ex: Exchange): ConditionalHeaders {
  return {
    ifMatch: ex.header('if-match'),
    ifNoneMatch: ex.header('if-none-match'),
    ifModifiedSince: ex.header('if-modified-since'),
    ifUnmodifiedSince: ex.header('if-unmodified-since'),
  };
}

/**
 * The part every file answer shares: 412 and 304 from the preconditions, then Range (206, 416 or
 * multipart). Returns true when it answered; false leaves the full 200 to the caller. `send304`
 * answers Not Modified (a cached file has its 304 head serialised already).
 */
function answerConditionally(
  ex: Exchange,
  rep: Representation,
  headers: HeaderList,
  send304 = (): void => ex.respond(304, fileValidatorHeaders(rep.validators, rep.lastModified)),
): boolean {
  const pre = evaluatePreconditions(ex.method, conditionalHeaders(ex), rep.validators);
  if (pre === 'not-modified') {
    send304();
    return true;
  }
  if (pre === 'failed') {
    ex.respond(412, [['Content-Type', TEXT_PLAIN]], 'Precondition failed: the file has changed.\n');
    return true;
  }
  const rangeHeader = ex.method === 'GET' ? ex.header('range') : undefined;
  if (rangeHeader === undefined || !ifRangeAllows(ex.header('if-range'), rep.validators)) return false;
  const range = parseRange(rangeHeader, rep.size);
  if (range.kind === 'none') return false;
  if (range.kind === 'unsatisfiable') {
    ex.respond(416, [['Content-Range', `bytes */${rep.size}`], ['Content-Type', TEXT_PLAIN]], 'Range not satisfiable.\n');
    return true;
  }
  const only = range.ranges.length === 1 ? range.ranges[0] : undefined;
  if (only !== undefined) {
    headers.push(['Content-Range', `bytes ${only.start}-${only.end}/${rep.size}`]);
    ex.respondParts(206, headers, only.end - only.start + 1, [rep.partFor(only.start, only.end)]);
    return true;
  }
  sendMultipart(ex, rep, headers, range.ranges);
  return true;
}

/** Request headers that can make a file answer anything but the plain 200. */
const CONDITIONAL_HEADERS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'range']);

function hasConditionalHeaders(ex: Exchange): boolean {
  for (const [name] of ex.head.headers) if (CONDITIONAL_HEADERS.has(name)) return true;
  return false;
}

/** Answers from a cached file: the common 200 and 304 use the pre-serialised heads. */
export function sendCached(ex: Exchange, entry: CachedFile): void {
  ex.filePath = entry.real;
  if (hasConditionalHeaders(ex)) {
    const body = entry.body;
    const rep: Representation = {
      validators: entry.validators,
      lastModified: entry.lastModified,
      type: entry.type,
      size: entry.size,
      partFor: (start, end) => body.subarray(start, end + 1),
    };
    const send304 = (): void => ex.respondPrepared(304, entry.head304, entry.log304, undefined);
    if (answerConditionally(ex, rep, fileHeaders(rep.type, rep.validators, rep.lastModified), send304)) return;
  }
  ex.respondPrepared(200, entry.head200, entry.log200, ex.method === 'HEAD' ? undefined : entry.body);
}

/**
 * Sends an open file (GET/HEAD), closing it when the exchange ends. With a cache placement, a
 * small file is read whole, cached, and answered from the cache.
 */
export function sendFile(ex: Exchange, file: FileHandle, st: Stats, real: string, placement?: CachePlacement): void {
  ex.filePath = real;
  ex.cleanup = () => void file.close().catch(() => undefined);
  const validators = validatorsFor(st);
  const lastModified = formatHttpDate(st.mtimeMs);
  const type = contentTypeFor(real);
  const size = st.size;
  if (placement !== undefined && size > 0 && size <= CACHE_MAX_FILE_BYTES) {
    withWholeFile(ex, file, size, (body) => {
      const entry = makeCachedFile(placement.fsPath, real, st, body, type, validators, lastModified, placement.dir);
      placement.cache.set(placement.key, entry);
      sendCached(ex, entry);
    });
    return;
  }
  const rep: Representation = {
    validators,
    lastModified,
    type,
    size,
    partFor: (start, end) => ({ file, start, end }),
  };
  const headers = fileHeaders(type, validators, lastModified);
  if (answerConditionally(ex, rep, headers)) return;
  if (size === 0) {
    ex.respond(200, headers);
    return;
  }
  if (size <= SMALL_FILE_BYTES && ex.method === 'GET') {
    withWholeFile(ex, file, size, (body) => ex.respond(200, headers, body));
    return;
  }
  ex.respondParts(200, headers, size, [{ file, start: 0, end: size - 1 }]);
}

/**
 * Reads a file whole and hands it to `send`; a file that changed size under us would make
 * Content-Length a lie, so it (or a read error) fails the exchange instead.
 */
function withWholeFile(ex: Exchange, file: FileHandle, size: number, send: (body: Buffer) => void): void {
  readWhole(file, size).then(
    (body) => (body.length === size ? send(body) : ex.connection.failExchange(ex)),
    () => ex.connection.failExchange(ex),
  );
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

/** RFC 9110 §14.6: multipart/byteranges, each part with its own Content-Type and Content-Range. */
function sendMultipart(ex: Exchange, rep: Representation, headers: HeaderList, ranges: readonly ByteRange[]): void {
  const boundary = `porthole-${ex.id.toString(36)}-${Date.now().toString(36)}`;
  const parts: BodyPart[] = [];
  let length = 0;
  for (const r of ranges) {
    const partHead = Buffer.from(
      `\r\n--${boundary}\r\nContent-Type: ${rep.type}\r\nContent-Range: bytes ${r.start}-${r.end}/${rep.size}\r\n\r\n`,
      'latin1',
    );
    parts.push(partHead, rep.partFor(r.start, r.end));
    length += partHead.length + (r.end - r.start + 1);
  }
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  parts.push(tail);
  length += tail.length;
  const typeIndex = headers.findIndex(([n]) => n === 'Content-Type');
  headers[typeIndex] = ['Content-Type', `multipart/byteranges; boundary=${boundary}`];
  ex.respondParts(206, headers, length, parts);
}

/** 404: the root's own 404.html when there is one (still a 404), else a small page. */
export async function sendNotFound(ex: Exchange, rawPath: string, opts: StaticOptions): Promise<void> {
  const body = (await customNotFound(opts)) ?? notFoundPage(rawPath);
  ex.respond(404, [['Content-Type', TEXT_HTML], ['Cache-Control', 'no-cache']], body);
}

/** The bytes of the root's 404.html (cached like a file); undefined when there is none, or too big. */
async function customNotFound(opts: StaticOptions): Promise<Buffer | undefined> {
  const cache = fileCacheFor(opts);
  const cached = cache.lookup(CUSTOM_404_KEY);
  if (cached !== undefined) return cached.body;
  const customPath = join(opts.rootReal, '404.html');
  const custom = isSurelyMissing(customPath) ? undefined : await openContained(customPath, opts);
  if (custom?.kind !== 'file') return undefined;
  try {
    const st = custom.stat;
    if (st.size > CACHE_MAX_FILE_BYTES) return undefined;
    const body = await readWhole(custom.file, st.size);
    const v = validatorsFor(st);
    cache.set(CUSTOM_404_KEY, makeCachedFile(customPath, custom.real, st, body, TEXT_HTML, v, formatHttpDate(st.mtimeMs), undefined));
    return body;
  } finally {
    await custom.file.close().catch(() => undefined);
  }
}

/** The built-in 404 page, naming the path asked for (decoded when it can be). */
function notFoundPage(rawPath: string): string {
  const shown = cacheKeyOf(rawPath);
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

interface Entry {
  readonly name: string;
  readonly dir: boolean;
  readonly size: number | undefined;
  readonly mtimeMs: number | undefined;
}

async function sendListing(ex: Exchange, dirReal: string, segments: readonly string[], opts: StaticOptions): Promise<void> {
  let dirents;
  try {
    dirents = await readdir(dirReal, { withFileTypes: true });
  } catch (err) {
    const f = failure(err);
    ex.note = f.kind === 'forbidden' || f.kind === 'missing' ? f.reason : undefined;
    if (f.kind === 'forbidden') plain(ex, 403, 'Forbidden: the server may not read this folder.');
    else await sendNotFound(ex, encodePathSegments(segments, true), opts);
    return;
  }
  // Hidden names are listed only when they could be served (never `.git`).
  const visible = dirents.filter((d) => (opts.dotfiles || !d.name.startsWith('.')) && !isNeverServed(d.name));
  const entries: Entry[] = await Promise.all(
    visible.map(async (d): Promise<Entry> => {
      try {
        const st = await stat(join(dirReal, d.name));
        return { name: d.name, dir: st.isDirectory(), size: st.isDirectory() ? undefined : st.size, mtimeMs: st.mtimeMs };
      } catch {
        return { name: d.name, dir: d.isDirectory(), size: undefined, mtimeMs: undefined };
      }
    }),
  );
  entries.sort((a, b) => (a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1));
  const here = encodePathSegments(segments, true);
  let displayHere = '/' + segments.join('/') + (segments.length > 0 ? '/' : '');
  displayHere = escapeHtml(displayHere);
  const rows: string[] = [];
  if (segments.length > 0) rows.push('<tr><td><a href="../">../</a></td><td></td><td></td></tr>');
  for (const e of entries) {
    const href = encodeURIComponent(e.name) + (e.dir ? '/' : '');
    const label = escapeHtml(e.name) + (e.dir ? '/' : '');
    const size = e.size === undefined ? (e.dir ? '—' : '?') : formatSize(e.size);
    const when = e.mtimeMs === undefined ? '' : new Date(e.mtimeMs).toISOString().replace('T', ' ').slice(0, 19);
    rows.push(`<tr><td><a href="${href}">${label}</a></td><td class="n">${size}</td><td>${when}</td></tr>`);
  }
  const body = htmlPage(
    `Index of ${here}`,
    `<h1>Index of ${displayHere}</h1>\n<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`,
  );
  // Held until the kernel took it: counted in the server-wide budget of bodies built in memory.
  const bytes = Buffer.from(body, 'utf8');
  if (!ex.reserveMemory(bytes.length)) {
    ex.respondBusy();
    return;
  }
  ex.respond(200, [['Content-Type', TEXT_HTML], ['Cache-Control', 'no-cache'], ['X-Content-Type-Options', 'nosniff']], bytes);
}
