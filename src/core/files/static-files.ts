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
import { basename, dirname, join } from 'node:path';
import { WireSlot, pipeIntoBody, type Exchange } from '../http/connection';
import { serializeStatusAndHeaders } from '../http/response-head';
import { escapeHtml, htmlPage } from '../text/html';
import { nodeCrypto } from '../node-crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import {
  CACHE_MAX_FILE_BYTES,
  cacheKeyOf,
  currentEpoch,
  fileCacheFor,
  folderRecord,
  makeCachedFile,
  prepareHeads,
  statNow,
  type CachedFile,
  type FileCache,
  type SiblingProbe,
} from './file-cache';
import type { HeaderList } from '../http/request-record';
import { encodePathSegments, resolveRequestPath } from './resolve-path';
import { contentValidators, datedVersions, statValidators, urlDates } from './validators';
import { answerFromValidators, inMemory, representationHeaders, sendRepresentation, type Coding, type PreparedHeads, type Representation } from './representation';
import { contentTypeOf, contentTypeOfFile, isTextType, typeFromName, typeNeedsBytes } from './content-type';
import {
  CODING_SUFFIX,
  COMPRESS_MIN_BYTES,
  chooseCoding,
  encodedAssetOf,
  isCompressibleType,
  parseAcceptEncoding,
  zlib,
  type ContentCoding,
} from './content-coding';
import { COMPRESS_MAX_BYTES, compressedCacheFor, type CompressedCopy } from './compressed-cache';
import { ifRangeIsDate, type Validators } from './preconditions';
import { formatSize } from '../text/format-size';
import { NO_SUCH_FILE, failure, nearestRefusal, openContained, type ContainmentOptions, type Refused } from './open-contained';
import { mountFor, type MountedFolder } from './mounts';
import { listFolder, type ListedFolder, type ListingGuard, type MountHere } from './listing';
import { guardedFromAnyone, guardedRefusal, guardedRefusalAt, guardsAny, type FileSet, type RequestOrigin } from './loopback-only';

export { openContained, type Opened } from './open-contained';

export interface StaticOptions {
  /** The root, already resolved with realpath. */
  readonly rootReal: string;
  readonly listing: boolean;
  readonly dotfiles: boolean;
  readonly followSymlinks: boolean;
  /** Files only loopback clients may read (the active request log); other hosts get 404. */
  readonly loopbackOnly?: FileSet;
  /** Files no client may read (the HTTPS key and passphrase files): 404 to every client. */
  readonly neverServed?: FileSet;
  /** Folders served under URL prefixes (mounts.ts); each is its own containment root. */
  readonly mounts?: readonly MountedFolder[];
  /** `/about` finds `about.html`; `/about.html` is redirected to `/about` (see lookupPath). */
  readonly cleanUrls?: boolean;
  /**
   * True when a request for `path` (an origin-form path, percent-encoded) is answered before the
   * files are looked at (a proxied route, live reload's endpoints): a clean URL's redirect never
   * sends a page there, and a listing does not link an entry there.
   * Undefined: no such path. Set by the server, which knows the routes.
   */
  readonly answeredElsewhere?: (path: string) => boolean;
  /**
   * Choose an encoding by Accept-Encoding: a `.br`/`.gz` file beside the one asked for, else
   * text compressed on the fly (content-coding.ts, compressed-cache.ts). Off: every file is sent
   * as its bytes on disk. A file stored encoded (`game.wasm.br`) is answered the same either way:
   * as stored with `Content-Encoding: br`, or decoded for a client that does not accept br.
   */
  readonly compression: boolean;
  /**
   * The live-reload client tag for a page the server makes itself (the built-in 404 page, a
   * listing) answering `ex`, or undefined (not a navigation, or live reload off). Set by the
   * server from live reload, which this room does not know.
   */
  readonly generatedPageTag?: (ex: Exchange) => string | undefined;
  /**
   * The site's own 404 page (`body`, of Content-Type `type`) with the live-reload client in it
   * for `ex`, or undefined to send it as it is (not a navigation, live reload off, …). Set by the
   * server from live reload, as generatedPageTag.
   */
  readonly notFoundPageWithClient?: (ex: Exchange, body: Buffer, type: string) => Promise<Buffer | undefined>;
}

/** Where a request's resolved segments lie on disk: the containment root and the path below it. */
export interface Placed {
  /** The root's or the mount's options for openContained (its real path is the containment root). */
  readonly within: ContainmentOptions;
  /** The file-system path the segments name (not yet opened, not yet judged). */
  readonly fsPath: string;
  /** The segments below the root or the mount (empty for its top folder). */
  readonly rest: readonly string[];
}

/**
 * The folder `segments` lie in (the longest mount prefix, else the root) and the path they name
 * there. Pure: nothing is touched on disk.
 */
export function placeSegments(segments: readonly string[], opts: StaticOptions): Placed {
  const found = mountFor(segments, opts.mounts);
  if (found === undefined) return { within: opts, fsPath: join(opts.rootReal, ...segments), rest: segments };
  return { within: containedUnder(found.mount.real, opts, true), fsPath: join(found.mount.real, ...found.rest), rest: found.rest };
}

/**
 * The served folder's containment rules (dotfiles, symlinks) under another root: a mount's real
 * path (`mount`: it is one, served under its URL prefix; by default, any root but the served one).
 */
function containedUnder(rootReal: string, opts: StaticOptions, mount = rootReal !== opts.rootReal): ContainmentOptions {
  return !mount ? opts : { rootReal, dotfiles: opts.dotfiles, followSymlinks: opts.followSymlinks, underPrefix: true };
}

/**
 * True when something exists at what the resolved `segments` name, counting the clean URL's
 * `.html` file when clean URLs are on (the SPA fallback asks this): one synchronous stat or two,
 * and for a node that is there, one realpath. A node whose real path is hidden, or outside the
 * root (or the mount) with followSymlinks off, counts as missing, as the lookup answers it (404):
 * otherwise the fallback's 200 for a missing path against the 404 for an existing one told
 * whether `/link-to-slash/etc/passwd` or `/link-to-dotenv` exists (nginx's try_files with
 * disable_symlinks on likewise passes over a refused file). So does a path that cannot be
 * stat'ed (EACCES: a locked folder on the way) below a refused real path (nearestRefusal); any
 * other error counts as existing (the full lookup then says what it is), but for those the lookup
 * answers as a missing file (statExisting: a name too long, a loop of links). A file the client may not
 * have (guardedRefusalAt: the HTTPS key, the active log for other hosts) counts as missing too, as
 * its request answers it: the fallback's 200 against its 404 told that `/localhost-key.pem` is there.
 * `asker`: who asks (RequestOrigin: the exchange); undefined: no client (the start's check of the fallback file), guarded files not judged.
 */
export function existsForRequest(segments: readonly string[], trailingSlash: boolean, opts: StaticOptions, asker?: RequestOrigin): boolean {
  return answeringNode(segments, trailingSlash, opts, asker) !== undefined;
}

/**
 * What would answer the resolved `segments`, as existsForRequest judges it (the same stats): the
 * Stats (symlinks followed) of the node there, or of the clean URL's `.html` page (`cleanUrl`
 * true) when that is what answers; `stats` undefined for a node that is there but whose stat
 * failed otherwise than as missing (EACCES: the lookup says what it is). undefined when nothing
 * may answer (missing or refused). The SPA fallback asks it to tell a fallback file from a folder
 * or a FIFO of that name.
 */
export function answeringNode(
  segments: readonly string[],
  trailingSlash: boolean,
  opts: StaticOptions,
  asker?: RequestOrigin,
): { readonly stats: Stats | undefined; readonly cleanUrl: boolean } | undefined {
  const placed = placeSegments(segments, opts);
  const known = statExisting(placed.fsPath);
  // A path ending in `/` names a folder: a file there is missing (the OS says ENOTDIR). A
  // refused one is missing too, and its clean URL's page may answer it (lookupPath).
  if (known !== 'missing' && !(trailingSlash && known !== undefined && !known.isDirectory()) && servable(placed.fsPath, placed.within, opts, asker)) {
    return { stats: known, cleanUrl: false };
  }
  const html = cleanUrlCandidate(placed, trailingSlash, opts);
  if (html === undefined) return undefined;
  const page = statExisting(html);
  return page !== 'missing' && servable(html, placed.within, opts, asker) ? { stats: page, cleanUrl: true } : undefined;
}

/**
 * True when what `fsPath` names (it is there) may be served to `asker` (RequestOrigin: the exchange): its real path is not
 * refused (nearestRefusal: hidden, or out of `within` without followSymlinks) and it is no file
 * guarded from that client (guardedRefusalAt; not judged when `asker` is undefined).
 */
function servable(fsPath: string, within: ContainmentOptions, opts: StaticOptions, asker: RequestOrigin | undefined): boolean {
  return nearestRefusal(fsPath, within) === undefined && (asker === undefined || guardedRefusalAt(fsPath, asker, opts) === undefined);
}

/** The clean URL's `.html` path for a missing path, when clean URLs apply to it. */
function cleanUrlCandidate(placed: Placed, trailingSlash: boolean, opts: StaticOptions): string | undefined {
  if (opts.cleanUrls !== true || trailingSlash || placed.rest.length === 0) return undefined;
  return `${placed.fsPath}.html`;
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

/**
 * As statFirst, for a check of whether anything is there (the SPA fallback, the clean-URL
 * redirect) that must agree with the lookup's answer: 'missing' also for every error the lookup
 * answers with a missing file's 404 (failure(): ENAMETOOLONG, ELOOP, EINVAL, …). Such a path
 * counted as existing: a navigation to a name too long or a link loop got that 404 instead of the
 * fallback, and `/loop.html` answered 200 beside `/loop` serving the same page. undefined for the
 * errors the lookup answers otherwise (EACCES: 403 or a refusal's 404; EMFILE: 503).
 */
function statExisting(fsPath: string): Stats | 'missing' | undefined {
  try {
    return statSync(fsPath, { throwIfNoEntry: false }) ?? 'missing';
  } catch (err) {
    return failure(err).kind === 'missing' ? 'missing' : undefined;
  }
}

function plain(ex: Exchange, status: number, text: string, extra: HeaderList = []): void {
  ex.refuse(status, `${text}\n`, [['X-Content-Type-Options', 'nosniff'], ...extra]);
}

/** 400 for a request path resolveRequestPath refused (`reason`: its `bad-request` reason), whatever the method. */
export function refuseBadPath(ex: Exchange, reason: string): void {
  ex.note = reason;
  plain(ex, 400, `Bad request: ${reason}`);
}

/** The file cache's entry for `key`, still as on disk (with clean URLs never an `x.html`: whether `x` exists decides its redirect, and that is not in the entry). */
function cachedEntry(key: string, opts: StaticOptions): CachedFile | undefined {
  return opts.cleanUrls === true && key.endsWith('.html') ? undefined : fileCacheFor(opts).lookup(key);
}

/**
 * The synchronous half of serveStatic: answers `rawPath` from the file cache when it holds the
 * file, still as on disk, and this client may have it, or with the built-in 404 when the path was
 * found missing in this same turn; true when answered. No promise is made, so these answers cost
 * no turn of the microtask queue.
 */
export function serveCachedHit(ex: Exchange, rawPath: string, opts: StaticOptions): boolean {
  const key = cacheKeyOf(rawPath);
  const hit = cachedEntry(key, opts);
  if (hit === undefined) return sendKnownMissing(ex, rawPath, key, opts);
  if (guardedRefusal(hit, hit.real, ex, opts) !== undefined) return false;
  sendCachedFile(ex, hit, key, opts);
  return true;
}

/**
 * Serves GET/HEAD for `rawPath` (origin-form path with optional query): the asynchronous half,
 * for a request serveCachedHit did not answer (call that first). Never rejects.
 */
export async function serveStatic(ex: Exchange, rawPath: string, opts: StaticOptions): Promise<void> {
  const key = cacheKeyOf(rawPath);
  const hit = cachedEntry(key, opts);
  if (hit !== undefined) {
    // Cached, yet serveCachedHit left it: not for this client (the active log file to another host).
    ex.note = guardedRefusal(hit, hit.real, ex, opts);
    await sendNotFound(ex, rawPath, opts);
    return;
  }
  // Found missing by a stat in this same turn of the event loop (a broken link asked for by many
  // clients at once): the same 404, without resolving and stating the path again.
  if (fileCacheFor(opts).absentNow(key)) {
    ex.note = NO_SUCH_FILE;
    await sendNotFound(ex, rawPath, opts);
    return;
  }
  const resolved = resolveRequestPath(rawPath, opts.dotfiles);
  if (resolved.kind === 'bad-request') {
    refuseBadPath(ex, resolved.reason);
    return;
  }
  if (resolved.kind === 'hidden' || resolved.kind === 'no-such-file') {
    ex.note = resolved.reason;
    await sendNotFound(ex, rawPath, opts);
    return;
  }
  // A path the SPA fallback rewrote (documentPath set) is never redirected: the browser asked for another.
  const askedIn = currentEpoch();
  const found = await lookupPath(resolved.segments, resolved.trailingSlash, opts, ex, ex.documentPath === undefined);
  // Nothing on disk answers this path (whoever asks: a refusal for one client has its own reason),
  // as of this same turn: an answer that came from the thread pool in a later turn is older than
  // the requests read in that turn, so it is not remembered for them.
  if (found.kind === 'missing' && found.reason === NO_SUCH_FILE && currentEpoch() === askedIn) fileCacheFor(opts).markAbsent(key);
  await answerLookup(ex, rawPath, found, opts);
}

/** A file found for a request, or why there is none to send as it is. */
export type Lookup =
  | {
      readonly kind: 'file';
      readonly file: FileHandle;
      readonly stat: Stats;
      readonly real: string;
      /** Where the file may be cached (its path on disk, its folder for an index); undefined: nowhere. */
      readonly place: Pick<CachePlacement, 'fsPath' | 'root' | 'dir'> | undefined;
    }
  | { readonly kind: 'missing'; readonly reason: string }
  /** 403; `refused`: what could not be read (the answer says which); `index`: the folder's index is one the server never serves. */
  | { readonly kind: 'forbidden'; readonly reason: string; readonly refused: Refused | 'index' }
  /** Out of descriptors: 503 with Retry-After. */
  | { readonly kind: 'unavailable'; readonly reason: string }
  /**
   * Redirect (301) to these segments: a folder asked for without its trailing slash, or, with
   * clean URLs, `x.html` to `x` (`index.html` and `index` to their folder).
   */
  | { readonly kind: 'moved'; readonly segments: readonly string[]; readonly trailingSlash: boolean }
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
      /** The root's or the mount's containment options (the listing judges entries by them). */
      readonly within: ContainmentOptions;
    };

/**
 * The file-system half of serveStatic, for a resolved request path: opens the file, or the
 * folder's index file, and answers nothing (a found file or folder is open: hand it to
 * answerLookup or sendFile, or close it). `asker` (RequestOrigin: the exchange) decides whether a loopback-only file (the
 * active request log) may be served to the client (a 404 for other hosts). `redirects` false: a
 * clean-URL redirect of `x.html` is not made (the SPA fallback's own file is served as it is).
 */
export async function lookupPath(
  segments: readonly string[],
  trailingSlash: boolean,
  opts: StaticOptions,
  asker: RequestOrigin,
  redirects = true,
): Promise<Lookup> {
  const placed = placeSegments(segments, opts);
  const { fsPath, within } = placed;
  const known = statFirst(fsPath);
  if (known === 'missing') return cleanUrlLookup(segments, placed, trailingSlash, opts, asker, redirects);
  // A path ending in `/` names a folder (RFC 3986 §3.3 hierarchy; nginx and Apache answer 404,
  // the OS gives ENOTDIR): `/app.js/` is not `/app.js`, and `/about.html/` is not redirected.
  if (trailingSlash && known !== undefined && !known.isDirectory()) return NOT_A_FOLDER;
  const target = await openContained(fsPath, within, known);
  switch (target.kind) {
    case 'missing': {
      // Refused (hidden, or a link out of the root) or gone since the stat: nothing servable is
      // named so, and the clean URL's page answers as it does for a missing name (nginx's
      // try_files, disable_symlinks on, passes over a refused file the same way). Otherwise
      // `/page` was a 404 beside a served page.html, and whether `page` led to an existing file
      // out of the root showed in /page.html's 200 against its 301.
      const page = await cleanUrlLookup(segments, placed, trailingSlash, opts, asker, redirects);
      return page.kind === 'missing' ? target : page;
    }
    case 'forbidden':
    case 'unavailable':
      return target;
    case 'file': {
      // Swapped from a folder to a file since the stat: still not a folder.
      if (trailingSlash) {
        await target.file.close().catch(() => undefined);
        return NOT_A_FOLDER;
      }
      // A file this client may not have is as missing, as a refused one is above: the clean URL's
      // page answers, or `/key` was a 404 beside a served key.html only while the key was there.
      // Judged before the clean-URL redirect: a guarded `x.html` (`/keys/index.html` linked to the
      // key) moved with a 301 where a missing one is a 404, which told that it is there.
      const guarded = privateRefusal(target, opts, asker);
      if (guarded !== undefined) {
        const page = await cleanUrlLookup(segments, placed, trailingSlash, opts, asker, redirects);
        return page.kind === 'missing' ? guarded : page;
      }
      const moved = redirects ? cleanUrlRedirect(segments, placed, opts, asker) : undefined;
      if (moved !== undefined) {
        await target.file.close().catch(() => undefined);
        return moved;
      }
      return { ...target, place: { fsPath, root: within.rootReal, dir: undefined } };
    }
    case 'dir':
      break;
  }
  if (!trailingSlash) {
    await target.handle?.close().catch(() => undefined);
    return { kind: 'moved', segments, trailingSlash: true };
  }
  for (const name of INDEX_NAMES) {
    const indexPath = join(target.real, name);
    const indexKnown = statFirst(indexPath);
    if (indexKnown === 'missing') continue;
    const index = await openContained(indexPath, within, indexKnown);
    if (index.kind === 'dir') await index.handle?.close().catch(() => undefined);
    if (index.kind === 'unavailable') {
      await target.handle?.close().catch(() => undefined);
      return index;
    }
    // An index that is there but may not be read is a 403 naming it (nginx's answer), never the
    // folder's listing in its place; one that cannot even be looked for (the folder may not be
    // traversed) is the folder's own refusal.
    if (index.kind === 'forbidden' && index.refused !== 'special') {
      await target.handle?.close().catch(() => undefined);
      return index.refused === 'path' ? { kind: 'forbidden', reason: 'Permission denied: the folder cannot be traversed by the user running the server.', refused: 'folder' } : index;
    }
    // So is one the server never serves: a link out of the root (followSymlinks off) or to a
    // hidden file, a FIFO, socket or device (never opened): the folder's author meant a page
    // there, and the listing in its place showed the folder's other names (helper-150). The
    // listing would name it anyway, so the 403 tells nothing more. A link to nothing is no index.
    if ((index.kind === 'missing' && index.reason !== NO_SUCH_FILE) || (index.kind === 'forbidden' && index.refused === 'special')) {
      await target.handle?.close().catch(() => undefined);
      return { kind: 'forbidden', reason: `The folder's ${name} is not served: ${index.reason}`, refused: 'index' };
    }
    if (index.kind === 'file') {
      // An index this client may not have (the HTTPS key, the active log for other hosts) is as
      // missing, as a refused one is: the next index name or the listing (which leaves it out)
      // answers. Its 404 against the listing's 200 told that the folder's index is a guarded file.
      if (privateRefusal(index, opts, asker) !== undefined) continue;
      await target.handle?.close().catch(() => undefined);
      // The folder's ctime: a name added there (a new index.html) changes it, and no utimes() sets it back.
      const dir = { path: fsPath, ctimeMs: target.stat.ctimeMs };
      return { ...index, place: { fsPath: join(fsPath, name), root: within.rootReal, dir } };
    }
  }
  return { kind: 'folder', real: target.real, stat: target.stat, handle: target.handle, segments, within };
}

/** A path ending in `/` whose last segment is a file (or anything but a folder): 404. */
const NOT_A_FOLDER: Lookup = { kind: 'missing', reason: 'Not a folder: the path ends in "/" but names a file.' };

/**
 * Clean URLs, the missing half: `/about` (nothing named `about` there) is answered by `about.html`
 * beside it, opened and judged like any file (hidden names were refused on the request's own
 * segments already, so `/.secret` never reaches `.secret.html`). Not cached under the clean path:
 * an `about` created later must take over at once. `/index` and `/docs/index` (an `index.html`
 * found so) move (301) to their folder, `/` and `/docs/`, as `/index.html` does: one URL per page
 * (not when `redirects` is false: the SPA fallback's own file).
 */
async function cleanUrlLookup(
  segments: readonly string[],
  placed: Placed,
  trailingSlash: boolean,
  opts: StaticOptions,
  asker: RequestOrigin,
  redirects: boolean,
): Promise<Lookup> {
  const htmlPath = cleanUrlCandidate(placed, trailingSlash, opts);
  const htmlKnown = htmlPath === undefined ? 'missing' : statFirst(htmlPath);
  if (htmlPath === undefined || htmlKnown === 'missing') return { kind: 'missing', reason: NO_SUCH_FILE };
  const page = await openContained(htmlPath, placed.within, htmlKnown);
  if (page.kind === 'dir') {
    await page.handle?.close().catch(() => undefined);
    return { kind: 'missing', reason: NO_SUCH_FILE };
  }
  if (page.kind !== 'file') return page;
  const refused = privateRefusal(page, opts, asker);
  if (refused !== undefined) return refused;
  if (redirects && segments[segments.length - 1] === 'index') {
    await page.file.close().catch(() => undefined);
    return { kind: 'moved', segments: segments.slice(0, -1), trailingSlash: true };
  }
  return { ...page, place: undefined };
}

/**
 * Clean URLs, the redirect half: a file `x.html` asked for by that name while nothing servable
 * named `x` exists beside it (a refused `x`, hidden, a link out of the root or a file guarded from
 * the client, counts as none) moves to `x` (and `index.html` to its folder, `…/`), so each page has one URL.
 * Only GET and HEAD reach the files, so 301 and 308 would act alike; 301, as for a folder's slash.
 */
function cleanUrlRedirect(segments: readonly string[], placed: Placed, opts: StaticOptions, asker: RequestOrigin): Lookup | undefined {
  const last = segments[segments.length - 1];
  if (opts.cleanUrls !== true || last === undefined || placed.rest.length === 0 || !last.endsWith('.html')) return undefined;
  const stem = last.slice(0, -'.html'.length);
  if (stem === '') return undefined;
  const parent = segments.slice(0, -1);
  if (stem === 'index') return { kind: 'moved', segments: parent, trailingSlash: true };
  // Moved only where `/x` answers with this very x.html: not when `/x` is placed elsewhere (a
  // mount's prefix: vendor.html beside a mount at /vendor moved into the mount and could not be
  // reached at all).
  // Nor when something before the files answers `/x` (a proxied route at /api for api.html).
  const stemSegments = [...parent, stem];
  const stemPlaced = placeSegments(stemSegments, opts);
  if (cleanUrlCandidate(stemPlaced, false, opts) !== placed.fsPath) return undefined;
  if (opts.answeredElsewhere?.(encodePathSegments(stemSegments, false)) === true) return undefined;
  // `x` takes the URL only when it may be served: a refused one (hidden, a link out of the root)
  // is as missing (lookupPath answers `/x` with x.html then).
  const stemPath = stemPlaced.fsPath;
  if (statExisting(stemPath) !== 'missing' && servable(stemPath, placed.within, opts, asker)) return undefined;
  return { kind: 'moved', segments: stemSegments, trailingSlash: false };
}

/**
 * True when the file of Stats `st` at real path `real` is the active request log (loopbackOnly):
 * sent as plain text whatever its name, never as a page (its lines hold what clients sent), so
 * neither injected with live reload nor typed by its extension.
 */
export function isActiveLog(st: Stats, real: string, opts: StaticOptions): boolean {
  return opts.loopbackOnly?.has(st, real) === true;
}

/** A file that only loopback clients may read, asked for by another host: closed, and a 404. */
function privateRefusal(found: { readonly file: FileHandle; readonly stat: Stats; readonly real: string }, opts: StaticOptions, asker: RequestOrigin): Lookup | undefined {
  const reason = guardedRefusal(found.stat, found.real, asker, opts);
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
      // Without a placement (a clean URL's page, never cached), its URL still for UrlDates.
      sendFile(ex, found.file, found.stat, found.real, opts, placement, undefined, cacheKeyOf(rawPath));
      return;
    }
    case 'missing':
      ex.note = found.reason;
      await sendNotFound(ex, rawPath, opts);
      return;
    case 'forbidden':
      ex.note = found.reason;
      plain(ex, 403, FORBIDDEN_TEXT[found.refused]);
      return;
    case 'unavailable':
      answerUnavailable(ex, found.reason);
      return;
    case 'moved': {
      const q = rawPath.indexOf('?');
      const location = encodePathSegments(found.segments, found.trailingSlash) + (q >= 0 ? rawPath.slice(q) : '');
      // A 301 is cacheable by default (RFC 9111 §4.2.2), and browsers keep one for good: a folder
      // later replaced by a page (`docs/` → `docs.html` with clean URLs), or clean URLs turned off,
      // would leave the browser redirecting to the old place. It says where things are on disk now,
      // so, like every answer of the files, it is revalidated.
      ex.respond(301, [['Location', location], ['Content-Type', TEXT_PLAIN], ['Cache-Control', 'no-cache']], `Moved to ${location}\n`);
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

/** The 403's text for each kind of refusal (open-contained's Refused, and a listing refused): what happened, what to do. */
const FORBIDDEN_TEXT: Record<Refused | 'index' | 'listing', string> = {
  file: 'Forbidden: the server may not read this file: the user running it has no permission to. Give that user read permission on the file (e.g. chmod a+r).',
  folder: 'Forbidden: the server may not open this folder: the user running it has no permission to. Give that user permission to open it (e.g. chmod a+rx).',
  path: 'Forbidden: the server may not open a folder on the way to this path: the user running it has no permission to. Give that user permission to open each folder on the way (e.g. chmod a+x).',
  special: 'Forbidden: this is not a regular file or folder (a FIFO, socket or device), and only those are served.',
  index: "Forbidden: this folder's index page is one the server does not serve (a link out of the served folder or to a hidden file, or not a regular file), and the folder is not listed in its place. Make index.html a regular file in the folder, or start the server with --follow-symlinks if it links out on purpose.",
  listing: 'Forbidden: the server may not list this folder: the user running it has no permission to read it. Add an index.html to it, or give that user read permission on the folder (e.g. chmod a+r).',
};

/** Seconds a client is asked to wait when the server is out of descriptors. */
export const RETRY_AFTER_SECONDS = 2;

/** 503 with Retry-After: a passing condition (out of descriptors, too busy) that `text` says. */
export function sendUnavailable(ex: Exchange, text: string): void {
  ex.respondUnavailable(RETRY_AFTER_SECONDS, `${text}\n`, [['X-Content-Type-Options', 'nosniff']]);
}

/**
 * 503 for an open or a listing that met a passing condition: `reason` (openContained's: out of
 * descriptors, a file being replaced) is the log's note and the answer's text.
 */
function answerUnavailable(ex: Exchange, reason: string): void {
  ex.note = reason;
  sendUnavailable(ex, `Service unavailable: ${reason} Try again shortly.`);
}

/** Where a file sent by sendFile may be cached: the request's key and path on disk. */
export interface CachePlacement {
  readonly cache: FileCache;
  readonly key: string;
  readonly fsPath: string;
  /** The containment root the file was found under (the served folder's or a mount's real path). */
  readonly root: string;
  readonly dir: { readonly path: string; readonly ctimeMs: number } | undefined;
}

/**
 * A cached file as a representation: its bytes in memory and its serialised heads. Made once per
 * entry and `vary` (kept in the entry: nothing in it changes, and sendRepresentation never
 * changes a representation), not once per request.
 */
function cachedRepresentation(entry: CachedFile, vary = entry.varyAcceptEncoding): Representation {
  return vary ? (entry.variedRepresentation ??= makeCachedRepresentation(entry, true)) : (entry.representation ??= makeCachedRepresentation(entry, false));
}

function makeCachedRepresentation(entry: CachedFile, vary: boolean): Representation {
  const body = entry.body;
  let prepared: PreparedHeads = entry;
  if (vary && !entry.varyAcceptEncoding) {
    entry.varied ??= prepareHeads(entry.type, entry.validators, entry.size, true, { contentEncoding: entry.contentEncoding, varyAcceptEncoding: true });
    prepared = entry.varied;
  }
  return {
    type: entry.type,
    size: entry.size,
    validators: entry.validators,
    rangeable: true,
    partFor: (start, end) => body.subarray(start, end + 1),
    whole: body,
    readWhole: undefined,
    prepared,
    contentEncoding: entry.contentEncoding,
    varyAcceptEncoding: vary,
  };
}

/** Answers from a cached entry as it is (the common 200 and 304 use its pre-serialised heads). */
export function sendCached(ex: Exchange, entry: CachedFile, vary = entry.varyAcceptEncoding): void {
  ex.filePath = entry.real;
  sendRepresentation(ex, cachedRepresentation(entry, vary));
}

/** Answers a request for a cached file: in the encoding the client prefers (see sendNegotiated). */
function sendCachedFile(ex: Exchange, entry: CachedFile, key: string, opts: StaticOptions): void {
  ex.filePath = entry.real;
  // The common case without building an Identity: a client that accepts no coding gets the
  // unencoded bytes (what sendNegotiated answers it), with Vary when other clients may get an
  // encoding: the file is compressed on the fly, or a .br/.gz lies beside it.
  if (entry.contentEncoding === undefined && opts.compression && ex.listHeader('accept-encoding') === undefined && !ex.configuresCoding) {
    entry.compressible ??= compressedOnTheFly(entry.body, entry.size, entry.type);
    sendCached(ex, entry, identityVaries(entry.compressible, entry.fsPath, entry, containedUnder(entry.root, opts), entry));
    return;
  }
  const identity: Identity = {
    fsPath: entry.fsPath,
    root: entry.root,
    key,
    real: entry.real,
    type: entry.type,
    size: entry.size,
    validators: entry.validators,
    body: entry.body,
    file: undefined,
    version: undefined,
    ownCoding: entry.contentEncoding,
    mtimeMs: entry.mtimeMs,
    ctimeMs: entry.ctimeMs,
    entry,
  };
  sendNegotiated(ex, identity, opts, (vary) => sendCached(ex, entry, vary));
}

/**
 * Sends an open file (GET/HEAD), closing it when the exchange ends. With a cache placement, a
 * small file is read whole, cached, and answered from the cache. `as`: the file is another one's
 * encoding (a `.br` sibling): its type and coding are given, and no other encoding is chosen.
 * `urlPath`: the request path (cacheKeyOf) the file answers when it has no cache placement (a
 * clean URL's page), so that UrlDates knows that URL's dates too.
 */
export function sendFile(
  ex: Exchange,
  file: FileHandle,
  st: Stats,
  real: string,
  opts: StaticOptions,
  placement?: CachePlacement,
  as?: { readonly type: string; readonly coding: Coding },
  urlPath?: string,
): void {
  ex.filePath = real;
  ex.addCleanup(() => void file.close().catch(() => undefined));
  // The client left while the file was being found and opened: it is closed now, nothing to send.
  if (ex.finished) return;
  // The active request log grows while it is read (this very server appends a line per request):
  // its first st.size bytes are that version, whatever is appended after. Not cached (each line
  // would make the entry stale), never judged a rewrite under way (that was a 503 for this
  // computer's reader as often as another request's line landed during the read).
  const appendedTo = isActiveLog(st, real, opts);
  const place = appendedTo ? undefined : placement;
  const size = st.size;
  const asset = as === undefined ? encodedAssetOf(real) : undefined;
  // An empty file is no brotli or gzip stream (a build caught between truncating and writing
  // it): it goes as the empty file it is, without a Content-Encoding no client could decode.
  // (An empty sibling is never chosen: sendSibling.)
  const coding: Coding | undefined = size === 0 ? undefined : (as?.coding ?? (asset === undefined ? undefined : { contentEncoding: asset.coding }));
  if (place !== undefined && size > 0 && size <= CACHE_MAX_FILE_BYTES) {
    readWhole(file, st).then(
      (body) => {
        // A file that changed under us has no one version to send (its length, its validators): 503, ask again.
        if (body === undefined) return ex.connection.fileChangedWhileRead(ex);
        const type = as?.type ?? (asset !== undefined ? encodedAssetType(asset.inner, asset.coding, body) : contentTypeOf(real, body));
        const validators = urlDates.note(urlKey(opts, place.key), datedVersions.note(real, contentValidators(st, body)));
        const entry = makeCachedFile(place.fsPath, real, place.root, st, body, type, validators, place.dir, coding);
        place.cache.set(place.key, entry);
        if (as !== undefined) sendCached(ex, entry);
        else sendCachedFile(ex, entry, place.key, opts);
      },
      () => ex.connection.failExchange(ex),
    );
    return;
  }
  const send = (type: string): void => {
    const rep = appendedTo
      ? appendedRepresentation(file, st, real, type)
      : streamedRepresentation(file, st, real, type, coding, ex.startTime, urlKey(opts, placement?.key ?? urlPath));
    if (as !== undefined) {
      sendRepresentation(ex, rep);
      return;
    }
    const identity: Identity = {
      fsPath: placement?.fsPath,
      root: placement?.root,
      key: placement?.key,
      real,
      type,
      size,
      validators: rep.validators ?? statValidators(st),
      body: undefined,
      file,
      version: st,
      ownCoding: coding?.contentEncoding,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      entry: undefined,
    };
    sendNegotiated(ex, identity, opts, (vary) => sendRepresentation(ex, vary ? { ...rep, varyAcceptEncoding: true } : rep));
  };
  if (as !== undefined) {
    send(as.type);
    return;
  }
  // What clients sent (targets, Referer, User-Agent) is in its lines, escaped for a log, not for
  // a page: text whatever its name (`--log log.html`, a log named 404.html), never HTML.
  if (appendedTo) {
    send(TEXT_PLAIN);
    return;
  }
  if (asset !== undefined) {
    send(encodedAssetType(asset.inner, asset.coding, undefined));
    return;
  }
  // Streamed: the type is decided from the first bytes once per file version (content-type.ts).
  if (!typeNeedsBytes(real)) {
    send(typeFromName(real) ?? 'application/octet-stream');
    return;
  }
  contentTypeOfFile(real, file, st).then(send, () => ex.connection.failExchange(ex));
}

/**
 * What UrlDates (validators.ts) remembers a URL by: the served folder's real path and the file
 * cache's key (the request path without its query), so two servers of one process (two folders
 * in the extension) never share a URL's dates.
 */
function urlKey(opts: StaticOptions, key: string): string;
function urlKey(opts: StaticOptions, key: string | undefined): string | undefined;
function urlKey(opts: StaticOptions, key: string | undefined): string | undefined {
  return key === undefined ? undefined : `${opts.rootReal}\u0000${key}`;
}

/**
 * A file read from its descriptor: ranges of the file, small ones read whole for one write.
 * `since` (wall-clock ms): no later than when `st` was taken (the request's start), so a stat
 * taken moments after a change counts as such however late this runs. `url` (urlKey): what the
 * URL answered before is known (UrlDates), undefined when it is not a URL's answer.
 */
function streamedRepresentation(file: FileHandle, st: Stats, real: string, type: string, coding: Coding | undefined, since: number, url: string | undefined): Representation {
  const size = st.size;
  const dated = datedVersions.note(real, statValidators(st));
  return {
    settled: changedWithinSettle(st, since) ? () => stillVersion(file, st, since) : undefined,
    type,
    size,
    validators: url === undefined ? dated : urlDates.note(url, dated),
    rangeable: true,
    partFor: (start, end) => ({ file, start, end, confirm: () => stillVersion(file, st, since) }),
    whole: undefined,
    readWhole: size <= SMALL_FILE_BYTES ? () => readWhole(file, st) : undefined,
    prepared: undefined,
    contentEncoding: coding?.contentEncoding,
    varyAcceptEncoding: coding?.varyAcceptEncoding === true,
  };
}

/**
 * A file only ever appended to while it is served (the active request log), as of `st`: its
 * first `st.size` bytes, which later appends do not change. A read that finds fewer (the file was
 * truncated: rotated by copying) fails the exchange, as a streamed file that shrank does.
 */
function appendedRepresentation(file: FileHandle, st: Stats, real: string, type: string): Representation {
  const size = st.size;
  const stillPrefix = async (): Promise<boolean> => (await file.stat()).size >= size;
  return {
    settled: undefined,
    type,
    size,
    // Versions a second apart share Last-Modified: marked, so If-Modified-Since never 304s a newer one.
    validators: datedVersions.note(real, statValidators(st)),
    rangeable: true,
    partFor: (start, end) => ({ file, start, end, confirm: stillPrefix }),
    whole: undefined,
    readWhole: size <= SMALL_FILE_BYTES ? () => readPrefix(file, size) : undefined,
    prepared: undefined,
    contentEncoding: undefined,
    varyAcceptEncoding: false,
  };
}

/**
 * Reads `file` from its first byte into `buf` until `buf` is full or the file ends; the number
 * of bytes read. Rejects when a read fails.
 */
async function readFromStart(file: FileHandle, buf: Buffer): Promise<number> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesRead } = await file.read(buf, offset, buf.length - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset;
}

/** The first `size` bytes of `file`, or undefined when it holds fewer. Rejects when a read fails. */
async function readPrefix(file: FileHandle, size: number): Promise<Buffer | undefined> {
  const buf = Buffer.allocUnsafe(size);
  return (await readFromStart(file, buf)) === size ? buf : undefined;
}

// ---- encodings (RFC 9110 §8.4, §12.5.3) ------------------------------------------------------

/** Decoded text of an encoded asset is read at most this far to decide its charset. */
const ASSET_DECODE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The Content-Type of an encoded web asset (`game.wasm.br`): its inner name's type; for text, the
 * charset of the decoded bytes when they are at hand (`body`, at most ASSET_DECODE_MAX_BYTES
 * decoded), else none stated.
 */
function encodedAssetType(inner: string, coding: ContentCoding, body: Buffer | undefined): string {
  const essence = typeFromName(inner) ?? 'application/octet-stream';
  if (body === undefined || !isTextType(essence)) return essence;
  try {
    const options = { maxOutputLength: ASSET_DECODE_MAX_BYTES };
    const decoded = coding === 'br' ? zlib().brotliDecompressSync(body, options) : zlib().gunzipSync(body, options);
    return contentTypeOf(inner, decoded);
  } catch {
    return essence;
  }
}

/** What is known of a file about to be answered, to choose its encoding. */
interface Identity {
  /** Its path on disk, where `.br`/`.gz` siblings are looked for; undefined: none are. */
  readonly fsPath: string | undefined;
  /**
   * The containment root it was found under (the served folder's or a mount's real path): its
   * siblings are judged against the same root, so a mounted file's `.br`/`.gz` is found as the
   * file itself was. Undefined when `fsPath` is.
   */
  readonly root: string | undefined;
  /** Its file-cache key (a sibling's key adds the coding). */
  readonly key: string | undefined;
  readonly real: string;
  readonly type: string;
  readonly size: number;
  readonly validators: Validators;
  /** Its bytes when they are in memory: only those are compressed on the fly. */
  readonly body: Buffer | undefined;
  /** Its open descriptor when its bytes are not in memory. */
  readonly file: FileHandle | undefined;
  /** The descriptor's stat `size` and `validators` came from, when `file` is given. */
  readonly version: Stats | undefined;
  /** The file is itself stored encoded (`game.wasm.br`). */
  readonly ownCoding: ContentCoding | undefined;
  /** Its modification time (ms): a sibling older than this is stale. */
  readonly mtimeMs: number;
  /** Its change time (ms): a sibling whose own change time is older is stale too (freshSiblings). */
  readonly ctimeMs: number;
  /** Its cache entry, which keeps its sibling probe (CachedFile.siblings); undefined: siblingProbes does, by path. */
  readonly entry: CachedFile | undefined;
}

/** When a file was last modified and last changed (ms, as Stats give them). */
interface FileTimes {
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

const NO_SIBLINGS: SiblingProbe = { br: undefined, gzip: undefined, epoch: -1 };
/** Probes remembered; the map is emptied past this many paths. */
const MAX_SIBLING_PROBES = 4096;
/**
 * How old a folder's ctime must be before "no sibling" is trusted while it stays the same: a
 * name added within the same timestamp granule would not change it (FAT keeps 2 s, HFS+ 1 s;
 * the same argument as git's racy-index rule).
 */
const SETTLED_FOLDER_MS = 2000;
const siblingProbes = new Map<string, SiblingProbe>();

/**
 * The Stats of the regular file at `fsPath`; 'missing' when nothing is there; 'refused' when its
 * real path is hidden or out of `within`'s root (a `.br` linked out of the root is no encoding of
 * anything: counting it told, through `Vary`, whether its target exists); undefined otherwise.
 */
function regularFileStat(fsPath: string, within: ContainmentOptions): Stats | 'missing' | 'refused' | undefined {
  const st = statFirst(fsPath);
  if (st === 'missing') return 'missing';
  if (typeof st !== 'object' || !st.isFile()) return undefined;
  return nearestRefusal(fsPath, within) === undefined ? st : 'refused';
}

/**
 * The `.br` and `.gz` files beside `fsPath`: two stats, shared by every request of the same turn
 * of the event loop, like the file cache's (a sibling written by a build is seen by the next
 * request after it). When neither was there, later requests ask only the folder's lstat (already
 * made for the cache's containment walk in the same epoch): a new `x.br` is a new name in the
 * folder and changes its ctime; an unchanged, settled ctime means still none. (A sibling that
 * exists is stat'ed every epoch: its own mtime decides whether it is fresh.) A sibling whose real
 * path is hidden or out of `within`'s root (the file's root or mount) counts as none.
 */
function siblingsOf(fsPath: string, within: ContainmentOptions, entry: CachedFile | undefined): SiblingProbe {
  const epoch = currentEpoch();
  // A cached file keeps its own probe: a hit finds it without a lookup by path.
  const known = entry !== undefined ? entry.siblings : siblingProbes.get(fsPath);
  if (known !== undefined && known.epoch === epoch) return known;
  const folderOf = known?.folder ?? folderRecord(dirname(fsPath));
  const folder = statNow(folderOf);
  if (known?.noneWhileFolderCtimeMs !== undefined && folder !== undefined && folder.ctimeMs === known.noneWhileFolderCtimeMs) return known;
  const brFound = regularFileStat(fsPath + CODING_SUFFIX.br, within);
  const gzipFound = regularFileStat(fsPath + CODING_SUFFIX.gzip, within);
  const br = typeof brFound === 'object' ? brFound : undefined;
  const gzip = typeof gzipFound === 'object' ? gzipFound : undefined;
  // Remembered as none only when neither name is there (a refused one may be served after a
  // reconfiguration turns dotfiles or followSymlinks on).
  const settled = brFound === 'missing' && gzipFound === 'missing' && folder !== undefined && Date.now() - folder.ctimeMs > SETTLED_FOLDER_MS;
  const probe: SiblingProbe = settled ? { br, gzip, epoch, noneWhileFolderCtimeMs: folder.ctimeMs, folder: folderOf } : { br, gzip, epoch, folder: folderOf };
  if (entry !== undefined) {
    entry.siblings = probe;
    return probe;
  }
  if (siblingProbes.size >= MAX_SIBLING_PROBES) siblingProbes.clear();
  siblingProbes.set(fsPath, probe);
  return probe;
}

/**
 * The siblings written after the file was last modified: one older than the file is left over
 * from a build before an edit (a hand-fixed `dist/app.js` beside its old `app.js.br`, a log beside
 * last week's `.gz`) and would serve stale bytes, so it is not an encoding of this file. An empty
 * one is no encoding of anything (no brotli or gzip stream is empty: a build truncated it and has
 * not written it yet). Older by either time: its mtime older than the file's mtime, or its ctime
 * older than the file's ctime. An mtime is the writer's to set (`cp -p`, `rsync -t`, unzip put an
 * old one on new bytes: the fixed file copied in with its own older time kept the stale `.br`
 * fresh, and a client accepting br got the build's code, every other client the fix); a ctime is
 * the kernel's, set by every write, rename and utimes. (A build that sets its files' times back
 * afterwards, SOURCE_DATE_EPOCH, and touches `app.js.br` before `app.js` leaves the sibling
 * unused: the file is compressed on the fly or sent as it is, its own bytes either way.)
 */
function freshSiblings(siblings: SiblingProbe, file: FileTimes): SiblingProbe {
  const fresh = (st: Stats | undefined): Stats | undefined =>
    st !== undefined && st.size > 0 && st.mtimeMs >= file.mtimeMs && st.ctimeMs >= file.ctimeMs ? st : undefined;
  const br = fresh(siblings.br);
  const gzip = fresh(siblings.gzip);
  return br === siblings.br && gzip === siblings.gzip ? siblings : { br, gzip, epoch: siblings.epoch };
}

/** True when these bytes are compressed on the fly for a client that accepts a coding: text in memory of COMPRESS_MIN_BYTES..COMPRESS_MAX_BYTES. */
function compressedOnTheFly(body: Buffer | undefined, size: number, type: string): boolean {
  return body !== undefined && size >= COMPRESS_MIN_BYTES && size <= COMPRESS_MAX_BYTES && isCompressibleType(type);
}

/**
 * Whether the unencoded answer must say `Vary: Accept-Encoding`: another client may get an
 * encoding, made on the fly or a fresh `.br`/`.gz` beside the file (`fsPath`; undefined: none;
 * `entry`: its cache entry, which keeps the probe).
 */
function identityVaries(onTheFly: boolean, fsPath: string | undefined, file: FileTimes, within: ContainmentOptions, entry: CachedFile | undefined): boolean {
  if (onTheFly) return true;
  if (fsPath === undefined) return false;
  const siblings = freshSiblings(siblingsOf(fsPath, within, entry), file);
  return siblings.br !== undefined || siblings.gzip !== undefined;
}

/**
 * Sends a file in the encoding its client prefers (RFC 9110 §12.5.3), or as it is through
 * `sendIdentity(vary)`. A file stored encoded (`game.wasm.br`) goes as it is to a client that
 * accepts its coding, decoded to any other (sendDecoded), whatever `compression` says. Any other
 * file has encodings when compression is on and a `.br`/`.gz` file lies
 * beside it, or its bytes are text in memory of COMPRESS_MIN_BYTES..COMPRESS_MAX_BYTES; then every
 * answer, the unencoded one included, says `Vary: Accept-Encoding`. A sibling file is served like
 * any file (same hidden-name and containment rules, its own validators, ranges over its bytes); a
 * compressed copy is made once per version and never answers a Range request (the unencoded file
 * does, so ranges keep working).
 */
function sendNegotiated(ex: Exchange, id: Identity, opts: StaticOptions, sendIdentity: (vary: boolean) => void): void {
  if (id.ownCoding !== undefined) {
    // Stored encoded: as it is to a client that accepts its coding, decoded for any other.
    if (parseAcceptEncoding(ex.listHeader('accept-encoding'))[id.ownCoding] > 0) sendIdentity(true);
    else sendDecoded(ex, id, id.ownCoding);
    return;
  }
  // A configured Content-Encoding labels the file's bytes as stored encoded (`*.gz` named `.js`, a
  // Unity build): they go as they are, never compressed once more under one label (helper-173:
  // gzip bytes brotli-compressed again, labelled `br`, reached the page as gzip).
  if (!opts.compression || ex.configuresCoding) {
    sendIdentity(false);
    return;
  }
  const onTheFly = compressedOnTheFly(id.body, id.size, id.type);
  const accepted = parseAcceptEncoding(ex.listHeader('accept-encoding'));
  if (accepted.br === 0 && accepted.gzip === 0) {
    // This client takes the unencoded bytes; another one may get an encoding.
    sendIdentity(identityVaries(onTheFly, id.fsPath, id, containedUnder(id.root ?? opts.rootReal, opts), id.entry));
    return;
  }
  const siblings = id.fsPath !== undefined ? freshSiblings(siblingsOf(id.fsPath, containedUnder(id.root ?? opts.rootReal, opts), id.entry), id) : NO_SIBLINGS;
  if (!onTheFly && siblings.br === undefined && siblings.gzip === undefined) {
    sendIdentity(false);
    return;
  }
  // A Range with an If-Range date is not taken to the unencoded bytes while a compressed copy
  // would answer the plain request: the copy's ETag is weak (If-Range cannot use it), so a client
  // resuming a gzip download sends the Last-Modified the unencoded bytes share, and a 206 of those
  // spliced onto its gzip bytes is neither (RFC 9110 §13.1.5: a validator that does not name the
  // client's representation means the whole one). It gets the compressed 200, as from nginx.
  const ranged = ex.method === 'GET' && ex.singleHeader('range') !== undefined && !(onTheFly && ifRangeIsDate(ex.header('if-range')));
  const available: ContentCoding[] = [];
  for (const coding of ['br', 'gzip'] as const) {
    if (siblings[coding] !== undefined || (onTheFly && !ranged)) available.push(coding);
  }
  const coding = chooseCoding(accepted, available);
  if (coding === 'identity') {
    sendIdentity(true);
    return;
  }
  const sibling = siblings[coding];
  const compressOrIdentity = (): void => {
    if (onTheFly && !ranged && id.body !== undefined) sendCompressed(ex, id.body, id, coding, opts, () => sendIdentity(true));
    else sendIdentity(true);
  };
  if (sibling !== undefined && id.fsPath !== undefined && id.key !== undefined && id.root !== undefined) {
    sendSibling(ex, id, coding, sibling, opts, compressOrIdentity);
    return;
  }
  compressOrIdentity();
}

/**
 * Sends the `.br`/`.gz` file beside `id` (cached under the identity's key plus the coding), with
 * the identity's type. `fallback` answers when the sibling cannot be served after all (hidden,
 * outside the root, gone).
 */
function sendSibling(ex: Exchange, id: Identity, coding: ContentCoding, st: Stats, opts: StaticOptions, fallback: () => void): void {
  const fsPath = `${id.fsPath ?? ''}${CODING_SUFFIX[coding]}`;
  const key = `${id.key ?? ''}\u0000${coding}`;
  const cache = fileCacheFor(opts);
  const hit = cache.lookup(key);
  if (hit !== undefined && hit.type === id.type) {
    sendCached(ex, hit);
    return;
  }
  const as = { type: id.type, coding: { contentEncoding: coding, varyAcceptEncoding: true } };
  // Under the file's own containment root: a mount's sibling is judged as the mounted file was
  // (against the mount's folder), never against the served root, which it lies outside of.
  const root = id.root ?? opts.rootReal;
  openContained(fsPath, containedUnder(root, opts), st).then(
    async (opened) => {
      if (opened.kind === 'dir') await opened.handle?.close().catch(() => undefined);
      if (opened.kind !== 'file') {
        fallback();
        return;
      }
      // Emptied since it was chosen (a build truncating it): no encoding of the file now.
      if (guardedRefusal(opened.stat, opened.real, ex, opts) !== undefined || opened.stat.size === 0) {
        await opened.file.close().catch(() => undefined);
        fallback();
        return;
      }
      sendFile(ex, opened.file, opened.stat, opened.real, opts, { cache, key, fsPath, root, dir: undefined }, as);
    },
    () => fallback(),
  );
}

/**
 * Sends `body` compressed with `coding` (a copy made once per version and kept, compressed-cache.ts):
 * a weak ETag of its own (`W/"<identity's tag>-br"`: the bytes depend on the zlib build), no
 * ranges, `Vary: Accept-Encoding`. A 304 or 412 is answered before anything is compressed.
 * `fallback` answers when zlib fails.
 */
function sendCompressed(ex: Exchange, body: Buffer, id: Pick<Identity, 'type' | 'validators' | 'real'>, coding: ContentCoding, opts: StaticOptions, fallback: () => void): void {
  const validators: Validators = { ...id.validators, etag: encodedEtag(id.validators.etag, coding) };
  const codingInfo: Coding = { contentEncoding: coding, varyAcceptEncoding: true };
  if (answerFromValidators(ex, validators, codingInfo)) return;
  const cache = compressedCacheFor(opts);
  // Validators name the version (a content hash for files in memory); the type and date go in
  // too, since the copy keeps its serialised heads.
  const key = `${id.real}\u0000${id.validators.etag}\u0000${id.validators.lastModified ?? ''}\u0000${id.type}\u0000${coding}`;
  const send = (copy: CompressedCopy): void => {
    copy.heads ??= prepareHeads(id.type, validators, copy.body.length, false, codingInfo);
    const out = copy.body;
    sendRepresentation(ex, {
      type: id.type,
      size: out.length,
      validators,
      rangeable: false,
      partFor: (start, end) => out.subarray(start, end + 1),
      whole: out,
      readWhole: undefined,
      prepared: copy.heads,
      ...codingInfo,
    });
  };
  const kept = cache.get(key);
  if (kept !== undefined) {
    send(kept);
    return;
  }
  cache.compress(key, body, coding).then(
    (copy) => {
      ex.note = `compressed with ${coding}: ${formatSize(body.length)} → ${formatSize(copy.body.length)}, kept for the next requests`;
      send(copy);
    },
    () => fallback(),
  );
}

/**
 * Sends a file stored encoded (`game.wasm.br`) decoded, to a client whose Accept-Encoding does not
 * list its coding (Chromium lists no `br` for plain-HTTP origins other than loopback, so a phone
 * on the LAN could not use a Unity build otherwise): decoded through zlib from memory or streamed
 * from the descriptor (chunked: its length is not known before), with a weak ETag of its own
 * (`W/"<tag>-identity"`), `Vary: Accept-Encoding`, no ranges. A file in memory is decoded whole
 * first (sendDecodedInMemory: one that does not decode is a 500 saying why, with a
 * Content-Length otherwise); a streamed one that does not decode ends the response early (the
 * socket closes, so the client sees a truncated body, never a complete wrong one).
 */
/**
 * Decodes of stored `.br`/`.gz` files running at once (for clients that do not take the coding;
 * a phone on plain HTTP gets no br). Each holds its decoder's window (brotli: up to 16 MiB) and
 * buffers: past the limit, 503 with Retry-After (helper-50: 150 unread decodes reached 701 MB).
 */
const DECODES_MAX_AT_ONCE = 8;
let decodesRunning = 0;
/**
 * A decoded body may be at most this many times its stored file, or DECODE_FLOOR_BYTES, whichever
 * is more: text and wasm compress up to ~100× (gzip's own ceiling is ~1,030×); past it the
 * connection is cut (a 3 KiB brotli bomb decodes to 2 GiB and cost 15 s of CPU to one reader).
 */
const DECODE_MAX_RATIO = 256;
const DECODE_FLOOR_BYTES = 16 * 1024 * 1024;

function sendDecoded(ex: Exchange, id: Identity, coding: ContentCoding): void {
  // Decoded here: a configured coding (the file's as stored) does not label it.
  ex.bodyOrigin = 'decoded';
  const validators: Validators = { ...id.validators, etag: encodedEtag(id.validators.etag, 'identity') };
  const codingInfo: Coding = { varyAcceptEncoding: true };
  if (answerFromValidators(ex, validators, codingInfo)) return;
  // A HEAD of a file in memory is decoded too: its status and Content-Length are a GET's (RFC 9110 §9.3.2).
  if ((ex.method !== 'HEAD' || id.body !== undefined) && decodesRunning >= DECODES_MAX_AT_ONCE) {
    ex.note = `${DECODES_MAX_AT_ONCE} decodes of stored ${coding} files already running`;
    sendUnavailable(ex, 'Service unavailable: too many compressed files are being decoded right now; try again shortly.');
    return;
  }
  const maxDecoded = Math.max(DECODE_FLOOR_BYTES, DECODE_MAX_RATIO * id.size);
  if (id.body !== undefined) {
    sendDecodedInMemory(ex, id, id.body, coding, validators, codingInfo, maxDecoded);
    return;
  }
  // Changed moments ago: nothing is read before the change has settled (a write(2) under way
  // moves no stat field when it ends, so the check at the stream's end cannot see bytes read
  // before it ended), as for every streamed file (sendRepresentation); moved meanwhile: 503.
  // A HEAD waits as its GET does: its validators would be those of a write under way, and its
  // status a 200 the GET never gives (RFC 9110 §9.3.2).
  const { file, version } = id;
  if (file !== undefined && version !== undefined && version.size > 0 && changedWithinSettle(version, ex.startTime)) {
    stillVersion(file, version, ex.startTime).then(
      (same) => {
        if (ex.finished) return;
        if (same) streamDecoded(ex, id, coding, validators, codingInfo, maxDecoded);
        else ex.connection.fileChangedWhileRead(ex);
      },
      () => ex.connection.failExchange(ex),
    );
    return;
  }
  streamDecoded(ex, id, coding, validators, codingInfo, maxDecoded);
}

/** sendDecoded's streamed half: the decoder's output goes out chunked as it comes. */
function streamDecoded(ex: Exchange, id: Identity, coding: ContentCoding, validators: Validators, codingInfo: Coding, maxDecoded: number): void {
  ex.note = `decoded from ${coding}: the client's Accept-Encoding does not list it`;
  const writer = ex.startBody(200, representationHeaders(id.type, validators, false, codingInfo), undefined);
  if (ex.method === 'HEAD' || writer.closed) {
    writer.end();
    return;
  }
  decodesRunning++;
  ex.addCleanup(() => decodesRunning--);
  const input =
    id.body !== undefined
      ? Readable.from([id.body])
      : id.file !== undefined && id.size > 0
        ? createReadStream('', { fd: id.file, start: 0, end: id.size - 1, autoClose: false, highWaterMark: 256 * 1024 })
        : Readable.from([]);
  const decoder = coding === 'br' ? zlib().createBrotliDecompress() : zlib().createGunzip();
  const fail = (): void => {
    input.destroy();
    decoder.destroy();
    ex.connection.failExchange(ex);
  };
  ex.onAbort = chainAbort(ex.onAbort, () => {
    input.destroy();
    decoder.destroy();
  });
  input.on('error', fail);
  let decoded = 0;
  decoder.on('data', (chunk: Buffer) => {
    decoded += chunk.length;
    if (decoded <= maxDecoded) return;
    // A bomb (3 KiB of brotli that decodes to 2 GiB: helper-50) costs CPU for every byte sent.
    ex.note = `decoding stopped: more than ${DECODE_MAX_RATIO} times the stored ${coding} file (${id.size} bytes)`;
    fail();
  });
  pipeIntoBody(decoder, writer, fail);
  // Read from the descriptor: a file written to while it was read is no one version, so the
  // decoder's last bytes (and the body's end) go out only while its stat still says `version`.
  const { file, version } = id;
  if (file === undefined || version === undefined) {
    input.pipe(decoder);
    return;
  }
  input.pipe(decoder, { end: false });
  input.once('end', () => {
    // From the request's start, no later than the stat `version` is (as streamedRepresentation's).
    stillVersion(file, version, ex.startTime).then((same) => {
      if (same) decoder.end();
      else {
        ex.note = 'the file changed while it was sent';
        fail();
      }
    }, fail);
  });
}

/** A decoded body is held whole (sendDecodedInMemory) up to this many bytes. */
const IN_MEMORY_DECODE_MAX_BYTES = 16 * 1024 * 1024;

/** True for zlib's refusal to produce more than its maxOutputLength. */
function isTooLarge(err: Error): boolean {
  return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
}

/**
 * sendDecoded for a stored `.br`/`.gz` file whose bytes are in memory (at most
 * CACHE_MAX_FILE_BYTES): decoded whole (zlib on the thread pool, at most `maxDecoded` bytes out)
 * before anything is sent, so a file that is not in its coding (`x.html.gz` holding plain text, a
 * build output cut short) or decodes past the bound is a 500 that names the file and says what
 * to do, not a 200 whose body breaks off. Decoded, it goes with its Content-Length.
 */
function sendDecodedInMemory(ex: Exchange, id: Identity, body: Buffer, coding: ContentCoding, validators: Validators, codingInfo: Coding, maxDecoded: number): void {
  decodesRunning++;
  let counted = true;
  const release = (): void => {
    if (counted) decodesRunning--;
    counted = false;
  };
  ex.addCleanup(release);
  const done = (err: Error | null, decoded: Buffer): void => {
    release();
    if (ex.finished) return;
    if (err !== null && isTooLarge(err) && maxDecoded > IN_MEMORY_DECODE_MAX_BYTES) {
      streamDecoded(ex, id, coding, validators, codingInfo, maxDecoded);
      return;
    }
    if (err !== null) {
      const name = basename(id.real);
      const why = isTooLarge(err)
        ? `it decodes to more than ${formatSize(maxDecoded)} (over ${DECODE_MAX_RATIO} times its ${formatSize(id.size)})`
        : `its bytes are not ${coding} data (${err.message})`;
      ex.note = `not decoded from ${coding}: ${why}`;
      ex.closeAfter = true;
      ex.refuse(
        500,
        `The file ${name} cannot be sent: its name says it is stored ${coding}-encoded and this client does not accept ${coding}, but ${why}. ` +
          `Rebuild it, or rename it without "${coding === 'br' ? '.br' : '.gz'}" if it is not compressed.\n`,
        [['X-Content-Type-Options', 'nosniff']],
      );
      return;
    }
    ex.note = `decoded from ${coding}: the client's Accept-Encoding does not list it`;
    sendRepresentation(ex, {
      type: id.type,
      size: decoded.length,
      validators,
      rangeable: false,
      partFor: (start, end) => decoded.subarray(start, end + 1),
      whole: decoded,
      readWhole: undefined,
      prepared: undefined,
      ...codingInfo,
    });
  };
  // Held whole at most IN_MEMORY_DECODE_MAX_BYTES (DECODES_MAX_AT_ONCE of them at once); a body
  // that decodes to more, within maxDecoded, is streamed as before.
  const options = { maxOutputLength: Math.min(maxDecoded, IN_MEMORY_DECODE_MAX_BYTES) };
  if (coding === 'br') zlib().brotliDecompress(body, options, done);
  else zlib().gunzip(body, options, done);
}

function chainAbort(first: (() => void) | undefined, second: () => void): () => void {
  return () => {
    first?.();
    second();
  };
}

/** The weak entity tag of an encoding made from a representation tagged `etag`. */
function encodedEtag(etag: string, coding: ContentCoding | 'identity'): string {
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  return `W/${opaque.slice(0, -1)}-${coding}"`;
}

/**
 * Sends a body built in memory (a page live reload rewrote) with `validators`, compressed when
 * compression is on, the client accepts it and the type is text of at least COMPRESS_MIN_BYTES
 * (compressed once per distinct body, keyed by its hash); never ranged.
 */
export function sendBuiltBody(ex: Exchange, type: string, body: Buffer, validators: Validators, opts: StaticOptions): void {
  const plainRep = inMemory(type, body, validators);
  if (!opts.compression || body.length < COMPRESS_MIN_BYTES || body.length > COMPRESS_MAX_BYTES || !isCompressibleType(type)) {
    sendRepresentation(ex, plainRep);
    return;
  }
  const coding = chooseCoding(parseAcceptEncoding(ex.listHeader('accept-encoding')), ['br', 'gzip']);
  const varied: Representation = { ...plainRep, varyAcceptEncoding: true };
  if (coding === 'identity') {
    sendRepresentation(ex, varied);
    return;
  }
  const real = `built:${nodeCrypto().createHash('sha1').update(body).digest('hex')}`;
  sendCompressed(ex, body, { type, validators, real }, coding, opts, () => sendRepresentation(ex, varied));
}

/**
 * A file changed less than this long ago (ms, by its ctime) may still be being written: a
 * write(2) the scheduler preempted midway, or a save's second write not made yet, shows the bytes
 * so far, under a size and an mtime no stat can tell from a whole file's (the mtime is the
 * write's start; the size grows page by page; a same-size overwrite moves neither when it ends).
 * Only time tells: a file whose read began within this long of its change is read again once the
 * wall clock is this far past the change, and sent only if the two reads agree; a streamed one
 * has its last piece held as long, then its stat checked. A write stalled longer than this (less
 * the lag of the kernel's timestamp clock, 4–8 ms on the machines measured) is not seen. Measured: a preempted writer on this 2-core
 * VM under CI load showed 8,192 of 9,000 bytes for at least the server's read and fstat;
 * helper-44's saves in two writes 1–8 ms apart, finished within 16 ms. Costs a wait of at most
 * this long, and a second read, for a file read whole within this long of a change (a cache
 * fill, a page): never for a cached one. Live reload's own settle (SETTLE_MS) comes first, so a
 * reloaded page rarely meets it.
 */
export const WRITE_SETTLE_MS = 20;

/**
 * Reads the whole file `st` (its stat, from the open descriptor) describes: its bytes, or
 * undefined when they are not that version's. Read up to `st.size + 1` bytes, a file that shrank
 * or grew while read has another length; a descriptor stat after the read that disagrees with
 * `st` (size, mtime: sameVersion) tells a rewrite of the same size between the stat and the read
 * (an editor saving in place), whose bytes would otherwise go out under `st`'s validators; a file
 * changed within WRITE_SETTLE_MS is read again once it is that old, and different bytes tell a
 * write that was under way (`settle` false: not read again, for bytes that are never sent as
 * the file, such as a plan made ahead and keyed by the bytes). Either way the caller has no one
 * version to send. Costs one more read(2) and one fstat per file read whole (a cache fill, a
 * page), not per request. Rejects when a read fails.
 */
export async function readWhole(file: FileHandle, st: Stats, settle = true): Promise<Buffer | undefined> {
  // Judged by when the read began, not when it ended: the event loop may resume late.
  const readFrom = Date.now();
  const body = await readStatVersion(file, st);
  if (body === undefined || !settle || !changedWithinSettle(st, readFrom)) return body;
  await settleAfterChange(st);
  const again = await readStatVersion(file, st);
  return again !== undefined && again.equals(body) ? body : undefined;
}

/**
 * True when a read that began at `readFrom` (wall-clock ms) may have met a write still under way:
 * it began less than WRITE_SETTLE_MS after the file's last change. ctime, not mtime: a client
 * sets mtime at will (touch -d); the kernel sets ctime at each change, from its coarse clock
 * (behind the wall clock by a tick or more: up to 3.8 ms on one machine, 7.7 ms on another, so
 * the window is at least 12 ms of real time there).
 */
function changedWithinSettle(st: Stats, readFrom: number): boolean {
  return readFrom < st.ctimeMs + WRITE_SETTLE_MS;
}

/**
 * Resolves once the wall clock has passed `st`'s ctime + WRITE_SETTLE_MS (a timer may fire early
 * against the wall clock: Node counts from the loop's cached time, so it is checked again), or
 * after 2 × WRITE_SETTLE_MS of monotonic time whatever the wall clock says (a clock set back).
 */
async function settleAfterChange(st: Stats): Promise<void> {
  const settledAt = st.ctimeMs + WRITE_SETTLE_MS;
  const giveUp = performance.now() + 2 * WRITE_SETTLE_MS;
  for (let left = settledAt - Date.now(); left > 0 && performance.now() < giveUp; left = settledAt - Date.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.ceil(left), WRITE_SETTLE_MS)));
  }
}

/**
 * For a file streamed from its descriptor since `readFrom` (wall-clock ms) under `st`'s length
 * and validators: true when it is still that version, by the descriptor's stat (its size and
 * mtime, sameVersion: a rename, unlink or chmod of the open file is no new version), after waiting
 * out WRITE_SETTLE_MS from its last change when the read began within it (a write under way then
 * has ended, and moved the stat, by now). A write stalled longer, or one write(2) of the same
 * length stalled midway (it moves no stat field when it ends), is not seen. Rejects when the
 * stat fails.
 */
async function stillVersion(file: FileHandle, st: Stats, readFrom: number): Promise<boolean> {
  if (changedWithinSettle(st, readFrom)) await settleAfterChange(st);
  return sameVersion(await file.stat(), st);
}

/**
 * True when the descriptor's stat `now` says the same version of the open file as `st`: the same
 * size and mtime. Not its ctime: the kernel moves that for every change to the inode, and most
 * leave the bytes the descriptor reads as they were: a rename (`mv`), an unlink (`rm`), a
 * `chmod`/`chown`, a link added or removed, a new file renamed over the path (the old inode's
 * link count drops). nginx sends on from its descriptor through each; judged by ctime, a download
 * was cut off near its end (`mv` of a 50 MB file while it was sent: 48 MB, curl exit 56). Only a
 * write to this inode changes its bytes, and every write moves its mtime (and, for most, its
 * size). Not told apart from a write: `touch` (a new mtime, same bytes); not seen: a same-length
 * rewrite in place whose old mtime is then put back exactly (utimes), within one response.
 */
function sameVersion(now: Stats, st: Stats): boolean {
  return now.size === st.size && now.mtimeMs === st.mtimeMs;
}

/** The file's bytes if they are `st`'s version by their length and the descriptor's stat after the read, else undefined. */
async function readStatVersion(file: FileHandle, st: Stats): Promise<Buffer | undefined> {
  const size = st.size;
  // One byte more than the stat says: a file grown since is told by a read that fills it.
  const buf = Buffer.allocUnsafe(size + 1);
  if ((await readFromStart(file, buf)) !== size) return undefined;
  if (!sameVersion(await file.stat(), st)) return undefined;
  return buf.subarray(0, size);
}

/** 404: the root's own 404.html when there is one (still a 404), else a small page. */
export async function sendNotFound(ex: Exchange, rawPath: string, opts: StaticOptions): Promise<void> {
  const custom = await customNotFound(opts);
  if (custom === undefined) {
    sendBuiltInNotFound(ex, rawPath, opts);
    return;
  }
  // For a navigation, with the live-reload client, as the built-in page: the tab shows the page
  // asked for once it is made.
  const withClient = custom.whole === undefined ? undefined : await opts.notFoundPageWithClient?.(ex, custom.whole, custom.type);
  if (withClient !== undefined) ex.respond(404, representationHeaders(custom.type, undefined, false), withClient);
  else sendRepresentation(ex, custom, 404);
}

/**
 * The built-in 404 page for `rawPath`, its head prepared (as a cached file's); for a navigation
 * with live reload on, with the client, so the tab shows the page once it is made.
 */
function sendBuiltInNotFound(ex: Exchange, rawPath: string, opts: StaticOptions): void {
  const page = builtInNotFound(rawPath);
  const tag = opts.generatedPageTag?.(ex);
  if (tag !== undefined) {
    ex.respond(404, representationHeaders(TEXT_HTML, undefined, false), withPageTag(page.bytes, tag));
    return;
  }
  if (ex.method === 'HEAD') ex.respondPrepared(404, page.head, page.log, undefined, page.wireHead);
  else ex.respondPrepared(404, page.head, page.log, page.bytes, page.wire);
}

/** A page this server made (htmlPage: one `</body>`, at its end) with `tag` before its `</body>`. */
function withPageTag(page: Buffer, tag: string): Buffer {
  const at = page.lastIndexOf('</body>');
  if (at < 0) return page;
  return Buffer.concat([page.subarray(0, at), Buffer.from(`${tag}\n`, 'utf8'), page.subarray(at)]);
}

/** A built-in 404 page for the path it names (`shown`), its head prepared and its wire bytes kept (WireSlot: GET, HEAD). */
interface NotFoundPage {
  readonly shown: string;
  readonly bytes: Buffer;
  readonly head: string;
  readonly log: HeaderList;
  readonly wire: WireSlot;
  readonly wireHead: WireSlot;
}

/** The last built-in 404 page, by the path it names (a broken link is asked for again and again). */
let lastNotFound: NotFoundPage | undefined;

function builtInNotFound(rawPath: string): NotFoundPage {
  const shown = cacheKeyOf(rawPath);
  if (lastNotFound?.shown !== shown) {
    const bytes = Buffer.from(notFoundPage(shown), 'utf8');
    const log = representationHeaders(TEXT_HTML, undefined, false);
    log.push(['Content-Length', String(bytes.length)]);
    lastNotFound = { shown, bytes, head: serializeStatusAndHeaders(404, log), log, wire: new WireSlot(), wireHead: new WireSlot() };
  }
  return lastNotFound;
}

/**
 * The 404 for a path found missing in this same turn, answered at once when the root has no
 * 404.html (also known in this turn): the same answer sendNotFound gives, without its promise.
 */
function sendKnownMissing(ex: Exchange, rawPath: string, key: string, opts: StaticOptions): boolean {
  const cache = fileCacheFor(opts);
  if (!cache.absentNow(key) || !cache.absentNow(CUSTOM_404_KEY)) return false;
  ex.note = NO_SUCH_FILE;
  sendBuiltInNotFound(ex, rawPath, opts);
  return true;
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
  // A 404.html that is a guarded file (the active request log, the HTTPS key: by identity, so a
  // link or the log itself named 404.html) is no page: it would go to every client on every 404.
  if (guardedFromAnyone(custom.stat, custom.real, opts)) {
    await custom.file.close().catch(() => undefined);
    return undefined;
  }
  try {
    const st = custom.stat;
    if (st.size > CACHE_MAX_FILE_BYTES) return undefined;
    const body = await readWhole(custom.file, st);
    // Being written while read: not one version of it; the built-in page answers meanwhile.
    if (body === undefined) return undefined;
    const type = contentTypeOf(customPath, body);
    cache.set(CUSTOM_404_KEY, makeCachedFile(customPath, custom.real, opts.rootReal, st, body, type, contentValidators(st, body), undefined));
    return inMemory(type, body);
  } finally {
    await custom.file.close().catch(() => undefined);
  }
}

/** The built-in 404 page, naming the path asked for (`shown`: without its query; decoded when it can be). */
function notFoundPage(shown: string): string {
  // Decoded for reading, but an encoded slash stays `%2F`: it is part of a name, and shown as `/`
  // the page named a path that may well exist (helper-50: /vendor%2Fx.js "is not /vendor/x.js").
  let display = shown;
  try {
    display = shown
      .split(/(%2F)/i)
      .map((part) => (/^%2F$/i.test(part) ? '%2F' : decodeURIComponent(part)))
      .join('');
  } catch {
    // keep the raw form
  }
  return htmlPage(
    '404 Not Found',
    `<h1>404 Not Found</h1>\n<p>There is no file at <code>${escapeHtml(display)}</code>.</p>\n<p><a href="/">Back to the start page</a></p>`,
  );
}

/**
 * What a listing for `asker` (RequestOrigin: the exchange) leaves out: the files guardedRefusal refuses it (the HTTPS key and
 * passphrase files always, the active log to other hosts), or undefined when there are none. A
 * listing that showed `localhost-key.pem` with its size, date and link told every visitor what
 * its request's 404 hides. Loopback clients and others get their own pages (the log).
 */
function listingGuard(asker: RequestOrigin, opts: StaticOptions): ListingGuard | undefined {
  if (!guardsAny(opts)) return undefined;
  return {
    key: opts.loopbackOnly?.guardsAnything === true && asker.fromThisComputer ? 'loopback' : 'other',
    hides: (id, realPath) => guardedRefusal(id, realPath, asker, opts) !== undefined,
  };
}

/**
 * Why the URL of the entry `name` of the folder at `segments` is answered by something else than
 * that entry: a mount whose prefix it is (a root folder `vendor/` under a mount at /vendor: its
 * link opened the mount), or a proxied route. Undefined when nothing can be (no mounts, no routes).
 */
function answeredElsewhere(segments: readonly string[], opts: StaticOptions): ((name: string) => string | undefined) | undefined {
  if ((opts.mounts ?? []).length === 0 && opts.answeredElsewhere === undefined) return undefined;
  const here = placeSegments(segments, opts).fsPath;
  return (name) => {
    const entry = [...segments, name];
    const placed = placeSegments(entry, opts);
    const found = mountFor(entry, opts.mounts);
    if (placed.fsPath !== join(here, name) && found !== undefined) return `not served here: ${found.mount.prefix} is a mount of another folder`;
    if (opts.answeredElsewhere?.(encodePathSegments(entry, false)) === true) return 'not served here: its URL is answered by a proxied route or by Porthole itself';
    return undefined;
  };
}

/** The mounts whose prefix lies directly under the folder at `segments` (listed as its folders). */
function mountsHere(segments: readonly string[], opts: StaticOptions): MountHere[] {
  const here: MountHere[] = [];
  for (const m of opts.mounts ?? []) {
    const name = m.segments[segments.length];
    if (m.segments.length === segments.length + 1 && name !== undefined && segments.every((s, i) => s === m.segments[i])) here.push({ name, real: m.real });
  }
  return here;
}

/** A folder's listing (built or reused, bounded: listing.ts), or why there is none; closes the folder. */
async function sendListing(ex: Exchange, folder: ListedFolder & { readonly within: ContainmentOptions }, opts: StaticOptions): Promise<void> {
  let result;
  try {
    result = await listFolder(folder, folder.within, opts, listingGuard(ex, opts), answeredElsewhere(folder.segments, opts), mountsHere(folder.segments, opts));
  } finally {
    await folder.handle?.close().catch(() => undefined);
  }
  switch (result.kind) {
    case 'page':
      if (result.shown < result.total) ex.note = `listing shows ${result.shown} of ${result.total} entries`;
      {
        const built = typeof result.body === 'string' ? Buffer.from(result.body, 'utf8') : result.body;
        ex.bodyOrigin = 'porthole';
        // A navigation with live reload on gets the client: the tab shows files added later.
        const tag = opts.generatedPageTag?.(ex);
        const bytes = tag === undefined ? built : withPageTag(built, tag);
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
      plain(ex, 403, FORBIDDEN_TEXT.listing);
      return;
    case 'unavailable':
      answerUnavailable(ex, result.reason);
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
