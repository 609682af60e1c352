/**
 * Folder listings at a bounded cost. A folder of 100,000 files used to cost ~2 s of CPU, ~450 MB
 * and 10.6 MB of HTML per request, four at once 2 GB. Now:
 * - names are read as a stream (opendir), never all held: only the first LISTING_MAX_ENTRIES in
 *   listing order (folders first, then by name) are kept, the rest counted and shown as "N more";
 *   at most LISTING_MAX_SCAN names are read at all ("more than N");
 * - only the entries shown are described, each with `lstat`: a symlink is described through its
 *   target only when that target would be served (inside the root and not hidden, or
 *   followSymlinks on); a FIFO, socket or device is shown by name and kind, never opened or linked;
 * - a page is built once per state of the folder (its device, inode, mtime and ctime, from the
 *   open descriptor) and kept for at most LISTING_CACHE_MAX_AGE_MS (sizes and dates of files edited
 *   in place do not change the folder's mtime); requests for the same folder share one build;
 * - at most LISTING_MAX_BUILDS builds run at once per process, LISTING_MAX_WAITING more wait;
 *   beyond that the answer is 503 with Retry-After.
 * The folder is read through its open descriptor (Linux: `/proc/self/fd/N`), so a folder swapped
 * for a symlink after it was checked cannot list somewhere else; elsewhere the folder's real path
 * is re-checked (dev/ino) after reading.
 */
import { lstat, opendir, realpath, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { isUtf8 } from 'node:buffer';
import { escapeForDisplay, nameBytesForDisplay } from '../text/display-text';
import { escapeHtml, htmlPage } from '../text/html';
import { formatSize } from '../text/format-size';
import { hiddenSegmentReason, judgeRealPath } from './hidden-names';
import { failure, type ContainmentOptions } from './open-contained';
import { BoundedBodyMap, perOwner } from './bounded-map';
import type { FileIdentity } from './loopback-only';

/** Entries shown on one listing page; the rest are counted ("N more"). */
export const LISTING_MAX_ENTRIES = 1_000;
/** Names read from one folder at most; a bigger folder says "more than N". */
export const LISTING_MAX_SCAN = 200_000;
/** Listings built at the same time (per process); others wait. */
export const LISTING_MAX_BUILDS = 2;
/** Listing requests waiting for a build slot; beyond this, 503 with Retry-After. */
export const LISTING_MAX_WAITING = 32;
/** A built listing is reused while its folder is unchanged, for at most this long. */
export const LISTING_CACHE_MAX_AGE_MS = 5_000;
const LISTING_CACHE_MAX_PAGES = 32;
const LISTING_CACHE_MAX_BYTES = 16 * 1024 * 1024;

/** A folder opened for a request (see static-files' Lookup 'folder'). */
export interface ListedFolder {
  readonly real: string;
  readonly stat: Stats;
  /** The open folder; undefined where folders cannot be opened (Windows). Not closed here. */
  readonly handle: FileHandle | undefined;
  readonly segments: readonly string[];
}

/** The outcome of building a listing. */
export type ListingResult =
  | { readonly kind: 'page'; readonly body: Buffer; readonly shown: number; readonly total: number }
  | { readonly kind: 'missing' | 'forbidden' | 'unavailable'; readonly reason: string }
  /** Too many listings are being built: 503 with Retry-After. */
  | { readonly kind: 'busy'; readonly reason: string };

interface Kept {
  /** The name as UTF-8 text (a name that is no UTF-8: with U+FFFD where its bytes are not). */
  readonly name: string;
  readonly dir: boolean;
  /** The name's own bytes when they are no UTF-8 (no URL names it; lstat'ed by these), else undefined. */
  readonly bytes?: Buffer;
  /** A mount directly under the folder: its folder's real path. */
  readonly mount?: string;
  /** That mount's prefix is the name of an entry of the folder, which it answers in place of. */
  readonly shadows?: boolean;
}

interface Described {
  readonly name: string;
  /** The name is UTF-8 (a URL can name it). */
  readonly utf8: boolean;
  /** 'file' and 'dir' are linked; the others are shown without a link. */
  readonly kind: 'file' | 'dir' | 'link' | 'special';
  readonly size: number | undefined;
  readonly mtimeMs: number | undefined;
  /** For 'link' (not served) and 'special' (fifo, socket, device): what to show as size. */
  readonly label: string | undefined;
  /** A mount's folder listed under its prefix's last segment (its URL is the mount's own). */
  readonly mounted?: boolean;
  /** That mount answers in place of the folder's own entry of that name (not served). */
  readonly shadows?: boolean;
  /** A name that is no UTF-8, as shown: its bytes that are no UTF-8 as `\xNN` (nameBytesForDisplay). */
  readonly shown?: string;
}

/**
 * A mount whose prefix lies directly under the listed folder (`/newtop` under `/`, `/sub/deep`
 * under `/sub/`): `name`, its prefix's last segment (decoded), and `real`, its folder's real path.
 */
export interface MountHere {
  readonly name: string;
  readonly real: string;
}

/**
 * Made by the first listing, not at start-up: building an ICU collator was 3–4 ms of every start
 * of the CLI (`node --cpu-prof`), for a server that may never list a folder.
 */
let collator: Intl.Collator | undefined;

function listingOrder(a: Kept, b: Kept): number {
  if (a.dir !== b.dir) return a.dir ? -1 : 1;
  collator ??= new Intl.Collator(undefined, { sensitivity: 'variant' });
  return collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

interface CachedPage {
  readonly body: Buffer;
  readonly shown: number;
  readonly total: number;
  readonly builtAt: number;
}

class ListingCache {
  readonly pages = new BoundedBodyMap<CachedPage>(LISTING_CACHE_MAX_PAGES, LISTING_CACHE_MAX_BYTES);
  readonly building = new Map<string, Promise<ListingResult>>();

  get(key: string, now: number): CachedPage | undefined {
    const page = this.pages.get(key);
    if (page === undefined) return undefined;
    if (now - page.builtAt > LISTING_CACHE_MAX_AGE_MS) {
      this.pages.delete(key);
      return undefined;
    }
    return page;
  }

  set(key: string, page: CachedPage): void {
    this.pages.set(key, page);
  }
}

/** The listing cache that belongs to one options object (as fileCacheFor). */
const cacheFor: (owner: object) => ListingCache = perOwner(() => new ListingCache());

let running = 0;
const waiting: Array<() => void> = [];

/** Runs `build` within the process's build slots; 'busy' when even the waiting line is full. */
async function inBuildSlot<T>(build: () => Promise<T>): Promise<T | 'busy'> {
  if (running >= LISTING_MAX_BUILDS) {
    if (waiting.length >= LISTING_MAX_WAITING) return 'busy';
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running++;
  }
  try {
    return await build();
  } finally {
    const next = waiting.shift();
    if (next !== undefined) next();
    else running--;
  }
}

/**
 * Files a listing leaves out for the client it answers (the HTTPS key never, the active log to
 * other hosts: loopback-only.ts), judged by identity and real path as their own requests are.
 * `key` tells apart the clients that get different pages (the cache keeps one page per key).
 */
export interface ListingGuard {
  readonly key: string;
  hides(id: FileIdentity, realPath: string): boolean;
}

/**
 * Why the URL of an entry named `name` of the listed folder is answered by something else than
 * that entry (a mount's prefix, a proxied route), as the listing says it; undefined when it is the
 * entry's own.
 */
export type AnsweredElsewhere = (name: string) => string | undefined;

/** Counts for tests and diagnostics: builds done since start (cache hits are not builds). */
export const listingStats = { builds: 0 };

/**
 * The listing page of an open folder (HTML, UTF-8), built or reused. `options` judge its entries
 * (the root's or a mount's containment root); `cacheOwner` (default `options`) owns the cache
 * (reconfiguring the server starts a new one); `guard`: files left out for this client, neither
 * named, sized nor linked (a file no request may have, such as the HTTPS key beside the pages,
 * is not shown to exist either); `elsewhere`: entries whose URL something else answers (a mount
 * over a folder of the root) are listed without a link, saying so. Never rejects.
 */
export async function listFolder(
  folder: ListedFolder,
  options: ContainmentOptions,
  cacheOwner: object = options,
  guard?: ListingGuard,
  elsewhere?: AnsweredElsewhere,
  mounts: readonly MountHere[] = [],
): Promise<ListingResult> {
  const st = folder.stat;
  const key = `${st.dev}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}:${guard?.key ?? ''}:${folder.segments.join('/')}`;
  const cache = cacheFor(cacheOwner);
  const cached = cache.get(key, Date.now());
  if (cached !== undefined) return { kind: 'page', body: cached.body, shown: cached.shown, total: cached.total };
  let pending = cache.building.get(key);
  if (pending === undefined) {
    pending = inBuildSlot(() => buildListing(folder, options, guard, elsewhere, mounts)).then(
      (r) => (r === 'busy' ? { kind: 'busy', reason: 'Too many folder listings are being built at once.' } : r),
      (err: unknown) => failure(err, 'folder'),
    );
    cache.building.set(key, pending);
    void pending.then((r) => {
      cache.building.delete(key);
      if (r.kind === 'page') cache.set(key, { body: r.body, shown: r.shown, total: r.total, builtAt: Date.now() });
    });
  }
  return pending;
}

async function buildListing(
  folder: ListedFolder,
  opts: ContainmentOptions,
  guard: ListingGuard | undefined,
  elsewhere: AnsweredElsewhere | undefined,
  mounts: readonly MountHere[],
): Promise<ListingResult> {
  listingStats.builds++;
  const fd = process.platform === 'linux' ? folder.handle?.fd : undefined;
  const viaDescriptor = fd !== undefined;
  const dirPath = viaDescriptor ? `/proc/self/fd/${fd}` : folder.real;
  const windows = process.platform === 'win32';
  let kept: Kept[] = [];
  let total = 0;
  /** Every name read, hidden ones too: LISTING_MAX_SCAN bounds the reading, not what is listed. */
  let read = 0;
  let complete = true;
  /** Mounts directly under the folder: listed as folders, in place of an entry of their name. */
  const mountsLeft = new Map(mounts.map((m) => [m.name, m]));
  /** The names of those that an entry of the folder has. */
  const shadowing = new Set<string>();
  try {
    // Names read as latin1 (one character per byte), so their bytes are at hand: whether a name is
    // UTF-8 is told by its bytes, never by a U+FFFD in its decoded text (a valid name may hold one).
    const dir = await opendir(dirPath, { bufferSize: 256, encoding: 'latin1' });
    for await (const d of dir) {
      if (read >= LISTING_MAX_SCAN) {
        complete = false;
        break;
      }
      read++;
      const bytes = Buffer.from(d.name, 'latin1');
      const name = bytes.toString('utf8');
      // An entry named as a mount is not what its URL serves: the mount's row stands for it (dated
      // and linked as the mount), saying that the folder's own entry is not served (helper-117:
      // an unlinked row alone left the mount at /vendor, which answers, with no link at all).
      if (mountsLeft.size > 0 && isUtf8(bytes) && mountsLeft.has(name)) {
        shadowing.add(name);
        continue;
      }
      // Hidden names are listed only when they could be served, by the rule a request's path
      // meets (never `.git`): its place under the site's top counts, so the root's `.well-known`
      // (served, RFC 8615) is listed with dotfiles off, and a subfolder's or a mount's is not.
      if (hiddenSegmentReason(name, folder.segments.length, opts.dotfiles, windows) !== undefined) continue;
      total++;
      kept.push(isUtf8(bytes) ? { name, dir: d.isDirectory() } : { name, dir: d.isDirectory(), bytes });
      if (kept.length >= 2 * LISTING_MAX_ENTRIES) kept = kept.sort(listingOrder).slice(0, LISTING_MAX_ENTRIES);
    }
  } catch (err) {
    return failure(err, 'folder');
  }
  // A mount at /newtop answered 200 but was in no listing of /: it is listed as the folder it is
  // served as, by the hidden-name rule every entry meets.
  for (const m of mountsLeft.values()) {
    if (hiddenSegmentReason(m.name, folder.segments.length, opts.dotfiles, windows) !== undefined) continue;
    total++;
    kept.push({ name: m.name, dir: true, mount: m.real, shadows: shadowing.has(m.name) });
  }
  kept = kept.sort(listingOrder).slice(0, LISTING_MAX_ENTRIES);
  const described = await Promise.all(
    kept.map((k) =>
      k.mount !== undefined
        ? describeMount(k.name, k.mount, k.shadows === true)
        : describe(k.bytes === undefined ? join(dirPath, k.name) : Buffer.concat([Buffer.from(`${dirPath}${sep}`), k.bytes]), join(folder.real, k.name), k, opts, guard).then((d) =>
            // Decoded, such names all read `bad\uFFFDname` (helper-116: bad\xfe and bad\xff were two
            // identical rows); shown by their own bytes, each row names its file.
            d !== undefined && k.bytes !== undefined ? { ...d, shown: nameBytesForDisplay(k.bytes) } : d,
          ),
    ),
  );
  const entries = described.filter((e): e is Described => e !== undefined);
  total -= described.length - entries.length;
  if (!viaDescriptor) {
    // The folder read by path must still be the folder that was opened and checked.
    const again = await stat(folder.real).catch(() => undefined);
    if (again === undefined || again.dev !== folder.stat.dev || again.ino !== folder.stat.ino) {
      return { kind: 'missing', reason: 'The folder changed while it was listed.' };
    }
  }
  entries.sort((a, b) => listingOrder({ name: a.name, dir: a.kind === 'dir' }, { name: b.name, dir: b.kind === 'dir' }));
  const body = Buffer.from(renderListing(folder.segments, entries, total - entries.length, complete, elsewhere), 'utf8');
  return { kind: 'page', body, shown: entries.length, total };
}

/**
 * One entry, described with lstat; through a symlink only when its target would be served.
 * `path`: where it is read (through the folder's descriptor; the name's own bytes for a name that
 * is no UTF-8), `realPath`: where it is (the folder's real path and its name). Undefined for a
 * file `guard` hides (by its identity, or the real path a symlink leads to).
 */
async function describe(path: string | Buffer, realPath: string, entry: Kept, opts: ContainmentOptions, guard: ListingGuard | undefined): Promise<Described | undefined> {
  const name = entry.name;
  const utf8 = entry.bytes === undefined;
  const unknown: Described = { name, utf8, kind: 'file', size: undefined, mtimeMs: undefined, label: undefined };
  let st: Stats;
  try {
    st = await lstat(path);
  } catch {
    return unknown;
  }
  if (st.isSymbolicLink()) {
    const real = await realpath(path).catch(() => undefined);
    const verdict = real === undefined ? undefined : judgeRealPath(real, opts.rootReal, opts);
    if (real === undefined || verdict === undefined || verdict.kind === 'hidden' || (verdict.kind === 'outside' && !opts.followSymlinks)) {
      return { name, utf8, kind: 'link', size: undefined, mtimeMs: undefined, label: 'link' };
    }
    try {
      st = await stat(real);
    } catch {
      return { name, utf8, kind: 'link', size: undefined, mtimeMs: undefined, label: 'link' };
    }
    realPath = real;
  }
  if (st.isFile() && guard?.hides(st, realPath) === true) return undefined;
  if (st.isDirectory()) return { name, utf8, kind: 'dir', size: undefined, mtimeMs: st.mtimeMs, label: undefined };
  if (st.isFile()) return { name, utf8, kind: 'file', size: st.size, mtimeMs: st.mtimeMs, label: undefined };
  const label = st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : 'device';
  return { name, utf8, kind: 'special', size: undefined, mtimeMs: undefined, label };
}

/** A mount's folder as a listed folder (its date when it can be read). */
async function describeMount(name: string, real: string, shadows: boolean): Promise<Described> {
  const st = await stat(real).catch(() => undefined);
  return { name, utf8: true, kind: 'dir', size: undefined, mtimeMs: st?.mtimeMs, label: undefined, mounted: true, shadows };
}

/**
 * Why no URL reaches an entry of this name, or undefined when one does: a listing links only to
 * what the server would then serve (helper-48: `<b>x<\\b>.txt` was linked as …%5C…, a 400; a
 * name that is no UTF-8 was linked by its U+FFFD replacement, a 404).
 */
function unreachableNameReason(entry: Described): string | undefined {
  if (entry.name.includes('\\')) return 'not served: a backslash in a name is refused, as on Windows it separates folders';
  if (!entry.utf8) return 'not served: the name is not UTF-8, so no URL names it';
  return undefined;
}

function renderListing(segments: readonly string[], entries: readonly Described[], more: number, complete: boolean, elsewhere: AnsweredElsewhere | undefined): string {
  // Names are shown through escapeForDisplay (the link keeps the real name): a control or bidi
  // character in a file name would otherwise reorder what the page shows ("txt.exe" shown for
  // "exe.txt" with U+202E) or hide part of it. The title too (the tab, history and bookmarks show
  // it): it was the percent-encoded path (`Index of /my%20files/`, helper-158), as nginx's is not.
  const shownHere = escapeForDisplay('/' + segments.join('/') + (segments.length > 0 ? '/' : ''));
  const displayHere = escapeHtml(shownHere);
  const rows: string[] = [];
  if (segments.length > 0) rows.push('<tr><td><a href="../">../</a></td><td></td><td></td></tr>');
  for (const e of entries) {
    const dir = e.kind === 'dir';
    const label = escapeHtml(escapeForDisplay(e.shown ?? e.name)) + (dir ? '/' : '');
    const unreachable = e.mounted === true ? undefined : (unreachableNameReason(e) ?? elsewhere?.(e.name));
    const cell =
      unreachable !== undefined
        ? `${label} <small>(${escapeHtml(unreachable)})</small>`
        : e.kind === 'file' || dir
          ? `<a href="${encodeURIComponent(e.name)}${dir ? '/' : ''}">${label}</a>${e.shadows === true ? ` <small>(a mount of another folder: this folder's own entry ${escapeHtml(escapeForDisplay(e.name))} is not served)</small>` : ''}`
          : label;
    const size = e.label ?? (e.size === undefined ? (dir ? '—' : '?') : formatSize(e.size));
    const when = e.mtimeMs === undefined ? '' : new Date(e.mtimeMs).toISOString().replace('T', ' ').slice(0, 19);
    rows.push(`<tr><td>${cell}</td><td class="n">${size}</td><td>${when}</td></tr>`);
  }
  if (more > 0 || !complete) {
    const n = (x: number): string => x.toLocaleString('en-US');
    // Incomplete: names past the first LISTING_MAX_SCAN were not read (hidden ones count too, so
    // fewer than LISTING_MAX_ENTRIES may be shown).
    const shows = `a listing shows the first ${n(LISTING_MAX_ENTRIES)}`;
    const reads = `only ${n(LISTING_MAX_SCAN)} names were read (a listing reads no more, hidden ones included)`;
    const text = complete
      ? `${n(more)} more entries not shown: ${shows}.`
      : more > 0
        ? `More than ${n(more)} more entries not shown: ${shows}, and ${reads}.`
        : `Perhaps more entries not shown: ${reads}.`;
    rows.push(`<tr><td colspan="3">${text} Open a file by its URL.</td></tr>`);
  }
  return htmlPage(
    `Index of ${shownHere}`,
    `<h1>Index of ${displayHere}</h1>\n<table>\n<thead><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`,
  );
}
