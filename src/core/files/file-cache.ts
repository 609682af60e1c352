/**
 * A cache of small files for the hot path: the bytes, the validators and the response heads
 * pre-serialised, keyed by the request path. Every hit is revalidated with one lstat of the
 * request's file-system path (a symlink there followed as the request would): device, inode, size,
 * mtime and ctime must all match, so an edit, a replacement, a rename or a symlink re-pointed
 * elsewhere is a miss and goes the full way (realpath containment included). The real path must
 * also still be the one served: a folder on the way moved out of the root and replaced by a symlink
 * to it keeps the file's dev/ino/mtime/ctime, and its entry is dropped all the same (the entry was
 * only ever made from a descriptor whose real path was checked, see open-contained.ts).
 *
 * How the real path is told without realpath(3) on the hot path: an entry whose real path was its
 * path on disk (no symlink anywhere below the root when it was opened) is still at that real path
 * when the file is not a symlink and every folder between the containment root and it is a folder,
 * not a symlink (one lstat each, shared per epoch by every file in them): a path made only of real
 * folders under the root is its own real path below the root. realpath(3) would instead readlink
 * every component from `/` down, the root's own ancestors included (five failed syscalls for a root
 * five levels deep, per request on `Connection: close`). The root was resolved with realpath at
 * start; a move of the root or its ancestors (outside the served tree: the root folder replaced by
 * a symlink to where it went) is not looked at by a hit, which still needs the same inode, size and
 * times, so it serves the same bytes already served from that very folder. Any
 * other entry (reached through a symlinked folder, with followSymlinks) takes the realpath(3) walk
 * of its folder, once per epoch (below) for all the files in it. An entry reached through an index
 * file also checks its folder's ctime, so a new index.html takes over at once (ctime, not mtime: a
 * build that sets its folders' times back, `touch -d`, `tar x` or SOURCE_DATE_EPOCH, restores the
 * mtime, never the ctime).
 *
 * One stat (and one lstat per folder) serves every request read in the same turn of the event loop (an "epoch", ended by
 * setImmediate): those requests had all arrived before the stat was made, so answering them with
 * the state it saw is as if each was answered at that instant.
 *
 * The cache belongs to one StaticOptions object: reconfiguring the server (dotfiles, listing…)
 * replaces that object and so starts an empty cache.
 */
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import type { Validators } from './preconditions';
import { serializeStatusAndHeaders } from '../http/response-head';
import { detachedString } from '../http/http-parser';
import { WireSlot } from '../http/connection';
import { BoundedBodyMap, perOwner } from './bounded-map';
import { representationHeaders, validatorHeaders, type Coding, type PreparedHeads, type Representation } from './representation';
import type { ContentCoding } from './content-coding';

/** Files up to this size are cached whole. */
export const CACHE_MAX_FILE_BYTES = 1024 * 1024;
const CACHE_MAX_TOTAL_BYTES = 64 * 1024 * 1024;
const CACHE_MAX_ENTRIES = 4096;

/** A cached file: its identity and bytes, and its prepared heads (PreparedHeads: the 200 and 304 heads without Date/Server/Connection, and where their wire bytes are kept). */
export interface CachedFile extends PreparedHeads {
  /** The request's path on disk (before realpath): what a hit stats. */
  readonly fsPath: string;
  /** The real path served (the log's filePath). */
  readonly real: string;
  /** The containment root it was found under (the served folder's or a mount's real path). */
  readonly root: string;
  /** For index files: the folder whose ctime must not change (a name added or removed there, or its times set, changes it). */
  readonly dirPath: string | undefined;
  readonly dirCtimeMs: number;
  readonly dev: number;
  readonly ino: number;
  /** The file's birth time (Stats#birthtimeMs; 0 where unknown): with dev and ino, which file it is (loopback-only.ts). */
  readonly birthtimeMs: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly body: Buffer;
  readonly type: string;
  readonly validators: Validators;
  /** The file's own coding (`game.wasm.br`, a `.br` sibling): `Content-Encoding`. */
  readonly contentEncoding: ContentCoding | undefined;
  /** Every answer carries `Vary: Accept-Encoding` (a sibling chosen by Accept-Encoding). */
  readonly varyAcceptEncoding: boolean;
  /** The same heads with `Vary: Accept-Encoding`, made on first need (the file has encodings). */
  varied: PreparedHeads | undefined;
  /**
   * The folders between the containment root and the file (the root excluded), when the file's
   * real path was its path on disk (`real === fsPath`): a hit checks that each is still a folder
   * (foldersStillReal). `folder` is the file's own folder (undefined for a file in the root), and
   * `folderCount` how many records to walk from it through FolderRecord.parent; -1 otherwise
   * (reached through a symlink: a hit takes its folder's real path instead). A record and a
   * count, not an array: a hit loads no array of its own (two more cold cache lines per file at
   * one of 1,000 files, `perf annotate`).
   */
  readonly folder: FolderRecord | undefined;
  readonly folderCount: number;
  /** The epoch in which the file was last checked against the disk. */
  validatedEpoch: number;
  /** Whether its bytes may be compressed on the fly, told on first need (static-files.ts). */
  compressible: boolean | undefined;
  /**
   * The entry as a Representation without `Vary: Accept-Encoding`, made on first use
   * (static-files.ts, cachedRepresentation): one object per entry, not one per request.
   */
  representation: Representation | undefined;
  /** The same with `Vary: Accept-Encoding` (two fields, not a pair in an array: one object fewer to load per hit). */
  variedRepresentation: Representation | undefined;
  /** The last probe for its `.br`/`.gz` siblings (static-files.ts, siblingsOf), kept here so a hit finds it without a lookup by path. */
  siblings: SiblingProbe | undefined;
}

/** What a probe for the `.br` and `.gz` files beside a file found (static-files.ts, siblingsOf). */
export interface SiblingProbe {
  readonly br: Stats | undefined;
  readonly gzip: Stats | undefined;
  /** The epoch the probe was made in. */
  readonly epoch: number;
  /**
   * Neither sibling was there, and the folder's ctime (ms) then, when it was already older than
   * SETTLED_FOLDER_MS (static-files.ts): while the folder keeps that ctime, no name was added to it, so still none.
   * Its ctime, not its mtime: a build that sets its folders' times back (`touch -d`, `tar x`,
   * SOURCE_DATE_EPOCH) after writing `app.js.br` restores the mtime, and the new sibling was never
   * looked for; no call sets a ctime, and a recent ctime is never mistaken for a settled one.
   */
  readonly noneWhileFolderCtimeMs?: number;
  /** The record of the file's folder, kept so a later probe of the same path finds it without a lookup. */
  readonly folder?: FolderRecord;
}

/**
 * The serialised 200 and 304 heads of a body of `size` bytes (status line and headers; no
 * Date/Server/Connection, no blank line).
 */
export function prepareHeads(type: string, validators: Validators, size: number, rangeable: boolean, coding: Coding | undefined): PreparedHeads {
  const log200 = representationHeaders(type, validators, rangeable, coding);
  log200.push(['Content-Length', String(size)]);
  const log304 = validatorHeaders(validators, coding?.varyAcceptEncoding === true);
  return {
    head200: serializeStatusAndHeaders(200, log200),
    log200,
    head304: serializeStatusAndHeaders(304, log304),
    log304,
    wire200: new WireSlot(),
    wireHead200: new WireSlot(),
    wire304: new WireSlot(),
  };
}

let epoch = 0;
let epochEnding = false;

function endEpoch(): void {
  epoch++;
  epochEnding = false;
}

/** The current turn of the event loop; it ends at the next check phase. */
export function currentEpoch(): number {
  if (!epochEnding) {
    epochEnding = true;
    setImmediate(endEpoch);
  }
  return epoch;
}

/**
 * A map whose entries hold for one epoch only: emptied the first time it is used in a new turn of
 * the event loop (so it never holds more than one turn's keys). Undefined values are kept
 * ("nothing there" is an answer too).
 */
export class TurnMap<K, V> {
  private readonly map = new Map<K, V>();
  private epoch = -1;

  /** The value for `key` in this epoch, made by `make` on first ask. */
  remember(key: K, make: (key: K) => V): V {
    this.fresh();
    if (this.map.has(key)) return this.map.get(key) as V;
    const value = make(key);
    this.map.set(key, value);
    return value;
  }

  /** True when `key` was set in this epoch. */
  has(key: K): boolean {
    return this.epoch === currentEpoch() && this.map.has(key);
  }

  set(key: K, value: V): void {
    this.fresh();
    this.map.set(key, value);
  }

  private fresh(): void {
    const now = currentEpoch();
    if (this.epoch !== now) {
      this.map.clear();
      this.epoch = now;
    }
  }
}

/** Builds an entry from a file read whole (its Stats from the open descriptor). */
export function makeCachedFile(
  fsPath: string,
  real: string,
  root: string,
  st: Stats,
  body: Buffer,
  type: string,
  validators: Validators,
  dir: { path: string; ctimeMs: number } | undefined,
  coding?: Coding,
): CachedFile {
  const heads = prepareHeads(type, validators, body.length, true, coding);
  const folders = real === fsPath ? foldersBetween(root, fsPath) : undefined;
  return {
    fsPath,
    real,
    root,
    dirPath: dir?.path,
    dirCtimeMs: dir?.ctimeMs ?? 0,
    dev: st.dev,
    ino: st.ino,
    birthtimeMs: st.birthtimeMs,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
    body,
    type,
    validators,
    // Each field named, not `...heads`: a literal's fields after a spread are kept out of the
    // object (in a properties array of their own), one more cache line to load on every hit.
    head200: heads.head200,
    log200: heads.log200,
    head304: heads.head304,
    log304: heads.log304,
    wire200: heads.wire200,
    wireHead200: heads.wireHead200,
    wire304: heads.wire304,
    contentEncoding: coding?.contentEncoding,
    varyAcceptEncoding: coding?.varyAcceptEncoding === true,
    varied: coding?.varyAcceptEncoding === true ? heads : undefined,
    folder: folders?.innermost,
    folderCount: folders === undefined ? -1 : folders.count,
    // Not "checked in this epoch": the bytes were read through a descriptor opened in an earlier
    // turn (the thread pool answers later), and a request read in this turn may have been sent
    // after a save or a delete in between. The first lookup stats it, like any entry.
    validatedEpoch: -1,
    compressible: undefined,
    representation: undefined,
    variedRepresentation: undefined,
    siblings: undefined,
  };
}

export class FileCache {
  private readonly entries = new BoundedBodyMap<CachedFile>(CACHE_MAX_ENTRIES, CACHE_MAX_TOTAL_BYTES);

  /** The entry for a request path if the file on disk is still the one cached. */
  lookup(key: string): CachedFile | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const now = currentEpoch();
    if (entry.validatedEpoch === now) return entry;
    if (!stillServed(entry)) {
      this.entries.delete(key);
      return undefined;
    }
    entry.validatedEpoch = now;
    return entry;
  }

  /** Keys found missing on disk in this epoch (the root's 404.html, a broken link). */
  private readonly absent = new TurnMap<string, true>();

  /**
   * True when `key` was found missing in this epoch: asked again in the same turn of the event
   * loop, the answer is the same (the stat's argument above), without another stat.
   */
  absentNow(key: string): boolean {
    return this.absent.has(key);
  }

  /** Records that `key` is missing on disk now (until this epoch ends). */
  markAbsent(key: string): void {
    this.absent.set(key, true);
  }

  set(key: string, entry: CachedFile): void {
    if (entry.body.length <= CACHE_MAX_FILE_BYTES) this.entries.set(key, entry);
  }
}

/**
 * True when `entry.fsPath` still leads to the file cached, at the real path it was served from.
 * The path's last component is lstat'ed. A plain file (not a symlink) whose path was its real path
 * is still there when the folders below the root are still folders (foldersStillReal); one reached
 * through a symlinked folder is at its folder's real path plus its name (realpath(3) of the
 * folder, once per epoch for every file in it). A last component that is a symlink is followed
 * and its whole real path taken, as a request would.
 */
function stillServed(entry: CachedFile): boolean {
  const { fsPath } = entry;
  const link = lstatOrNone(fsPath);
  if (link === undefined) return false;
  const st = link.isSymbolicLink() ? statOrNone(fsPath) : link;
  if (
    st === undefined ||
    st.ino !== entry.ino ||
    st.dev !== entry.dev ||
    st.size !== entry.size ||
    st.mtimeMs !== entry.mtimeMs ||
    st.ctimeMs !== entry.ctimeMs ||
    (entry.dirPath !== undefined && statOrNone(entry.dirPath)?.ctimeMs !== entry.dirCtimeMs)
  ) {
    return false;
  }
  if (st !== link) return realPathOf(fsPath) === entry.real;
  if (entry.folderCount >= 0 && foldersStillReal(entry.folder, entry.folderCount)) return true;
  const folder = realFolders.remember(dirname(fsPath), realPathOf);
  return folder !== undefined && join(folder, basename(fsPath)) === entry.real;
}

/** The real path of `fsPath` now (one realpath(3) call), or undefined when it cannot be told (it leads nowhere, or cannot be read). */
export function realPathOf(fsPath: string): string | undefined {
  try {
    return realpathSync.native(fsPath);
  } catch {
    return undefined;
  }
}

/**
 * One folder's lstat, asked of the disk at most once per epoch (statNow) and shared by every
 * request of it: the containment walk of cache hits (CachedFile.folder) and the `.br`/`.gz`
 * sibling probe (static-files.ts) read the same answer. Entries hold their folders' records, so
 * a hit finds them without a lookup by path.
 */
export interface FolderRecord {
  /** The folder's path (a copy of its own: detachedString). */
  readonly path: string;
  /** The record of the folder it lies in (undefined for the file system's root). */
  readonly parent: FolderRecord | undefined;
  /** The epoch `stat` was taken in (-1: never). */
  epoch: number;
  /** Its lstat then; undefined when nothing was there. */
  stat: Stats | undefined;
}

/**
 * Folder records by path, so that the entries of one folder share one record and one lstat per
 * epoch. At most MAX_FOLDER_RECORDS; when full it starts over (entries keep the records they
 * hold: a folder may then have two records, each stat'ed once per epoch).
 */
const folderRecords = new Map<string, FolderRecord>();
/** As many folders as the cache holds entries: a cache full of files each in a folder of its own. */
export const MAX_FOLDER_RECORDS = CACHE_MAX_ENTRIES;

/**
 * The record of `folder` (an absolute path), made on first ask with those of the folders above
 * it (`parent`, up to the file system's root: which of them a file's check walks depends on its
 * containment root, see foldersBetween). Its path is a flat copy of `folder` (detachedString:
 * `folder` is cut from a file's path), which every lookup of the map compares.
 */
export function folderRecord(folder: string): FolderRecord {
  let record = folderRecords.get(folder);
  if (record === undefined) {
    const above = dirname(folder);
    const parent = above === folder ? undefined : folderRecord(above);
    if (folderRecords.size >= MAX_FOLDER_RECORDS) folderRecords.clear();
    record = { path: detachedString(folder), parent, epoch: -1, stat: undefined };
    folderRecords.set(record.path, record);
  }
  return record;
}

/** The lstat of `record`'s folder now (undefined when nothing is there), asked of the disk once per epoch. */
export function statNow(record: FolderRecord): Stats | undefined {
  const now = currentEpoch();
  if (record.epoch !== now) {
    record.stat = lstatOrNone(record.path);
    record.epoch = now;
  }
  return record.stat;
}

/**
 * The lstat of `path`, or undefined when there is none to be had: not only ENOENT, but a folder
 * on the way that is a file now (ENOTDIR), a symlink loop (ELOOP), no access (EACCES), a name too
 * long. These threw out of a cache hit's check, and every later request for the path got 500
 * (helper-45); each means the cached file is not served at that path now.
 */
export function lstatOrNone(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** As lstatOrNone, following a last component that is a symlink. */
export function statOrNone(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * The folders between `root` and the file at `fsPath` (the root excluded): the record of the
 * file's own folder (undefined when the file lies in the root) and how many folders there are;
 * undefined when `fsPath` does not lie under `root` as spelled (a root of `/` or `C:\\` ends with
 * the separator itself).
 */
function foldersBetween(root: string, fsPath: string): { innermost: FolderRecord | undefined; count: number } | undefined {
  const rootEndsWithSep = root.endsWith(sep);
  const under = fsPath.startsWith(root) && (rootEndsWithSep || fsPath[root.length] === sep);
  if (!under) return undefined;
  let count = 0;
  let last = -1;
  for (let end = fsPath.indexOf(sep, rootEndsWithSep ? root.length : root.length + 1); end >= 0; end = fsPath.indexOf(sep, end + 1)) {
    count++;
    last = end;
  }
  return { innermost: count === 0 ? undefined : folderRecord(fsPath.slice(0, last)), count };
}

/**
 * True when `innermost` and the `count - 1` folders above it (CachedFile.folder, folderCount) are
 * each a folder and not a symlink now: one lstat per folder, once per epoch. The root itself is
 * not among them (see the header: like its ancestors, it was resolved with realpath at start, and
 * a hit still needs the very inode, size and times it cached), so a file in the root costs no
 * lstat here.
 */
function foldersStillReal(innermost: FolderRecord | undefined, count: number): boolean {
  let folder = innermost;
  for (let i = 0; i < count; i++) {
    // lstat: a symlink is not a folder here (isDirectory() is false for the link itself).
    if (folder === undefined || statNow(folder)?.isDirectory() !== true) return false;
    folder = folder.parent;
  }
  return true;
}

/** Folders' real paths found in the current epoch (folder path → real path; undefined: none). */
const realFolders = new TurnMap<string, string | undefined>();

/** The cache that belongs to one options object. */
export const fileCacheFor: (owner: object) => FileCache = perOwner(() => new FileCache());

/** The cache key of a request path: the path without its query. */
export function cacheKeyOf(rawPath: string): string {
  const q = rawPath.indexOf('?');
  return q >= 0 ? rawPath.slice(0, q) : rawPath;
}
