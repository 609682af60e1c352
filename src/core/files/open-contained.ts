/**
 * Opening what a request names, safely: the one place static files, index files, the custom
 * 404.html and live-reload pages get a descriptor from.
 *
 * - Only regular files and folders are ever opened. A FIFO, socket or device is refused after a
 *   stat and before `open` (opening a FIFO for reading blocks a thread of libuv's pool until a
 *   writer comes; four such requests used to jam every file operation and SIGTERM). The open itself
 *   uses O_NONBLOCK and O_NOCTTY and is followed by fstat, so a node swapped for a FIFO between the
 *   stat and the open is still refused without blocking.
 * - Containment and the hidden-name rule are judged on what was actually opened: the descriptor's
 *   own real path (Linux: `/proc/self/fd/N`; elsewhere the real path after the open, accepted only
 *   when its dev/ino are those of the open descriptor). A folder swapped for a symlink between a
 *   check and the open can no longer hand out a file outside the root.
 * - Errors map to answers: ENOENT/ENOTDIR → missing (404), EACCES/EPERM → forbidden (403, saying
 *   what could not be read: the file, the folder, or a folder on the way; see Refused) when the
 *   real path of the node, or of the nearest folder above it whose real path can be read, is
 *   servable; when that real path is hidden or out of the root, the same 404 as any such path
 *   (deniedOrRefused: a 403 told that `/link-to-slash/root/x` is a locked folder of the machine),
 *   EMFILE/ENFILE (out of descriptors) → unavailable (503 with Retry-After), never "404".
 * - A node replaced between its open and the reading of its real path (an atomic save renames
 *   the new version over the path) is opened again; still replaced after OPEN_ATTEMPTS opens →
 *   unavailable (503 with Retry-After), never a 404 for a path that names a file throughout.
 */
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { constants, realpathSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { judgeRealPath } from './hidden-names';

/** The reason a lookup gives when nothing on disk answers the path (ENOENT, ENOTDIR). */
export const NO_SUCH_FILE = 'No such file.';

/** The static options openContained needs. */
export interface ContainmentOptions {
  /** The root, already resolved with realpath. */
  readonly rootReal: string;
  readonly dotfiles: boolean;
  readonly followSymlinks: boolean;
  /**
   * The root is a mount's folder, served under a URL prefix (hidden-names' judgeRealPath: a
   * `.well-known` at its top is hidden there). Absent or false: the served root.
   */
  readonly underPrefix?: boolean;
}

/**
 * What a 403 could not read: 'file' (the file itself), 'folder' (the folder itself: opened or
 * listed), 'path' (a folder on the way to it cannot be opened, so not even its kind is known),
 * 'special' (a FIFO, socket or device: never opened).
 */
export type Refused = 'file' | 'folder' | 'path' | 'special';

export type Opened =
  | { readonly kind: 'file'; readonly file: FileHandle; readonly stat: Stats; readonly real: string }
  /**
   * A folder, its Stats from the descriptor (or from stat where folders cannot be opened) and the
   * open descriptor (undefined where folders cannot be opened: Windows, or a folder that may be
   * traversed but not read, mode 711). The caller closes it.
   */
  | { readonly kind: 'dir'; readonly real: string; readonly stat: Stats; readonly handle: FileHandle | undefined }
  | { readonly kind: 'missing'; readonly reason: string }
  | { readonly kind: 'forbidden'; readonly reason: string; readonly refused: Refused }
  /** Out of descriptors (EMFILE/ENFILE): a passing condition, 503 with Retry-After. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Read-only, never blocking on a FIFO, never becoming the controlling terminal. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** What a stat says about a node that is neither a regular file nor a folder. */
export function notRegularReason(st: Stats): string {
  const what = st.isFIFO()
    ? 'a FIFO (named pipe)'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : 'not a regular file';
  return `Not served: ${what}; only regular files and folders are ever opened.`;
}

/** The log's note for each kind of refusal by permissions. */
const DENIED: Record<Exclude<Refused, 'special'>, string> = {
  file: 'Permission denied: the file cannot be read by the user running the server.',
  folder: 'Permission denied: the folder cannot be opened or listed by the user running the server.',
  path: 'Permission denied: a folder on the way cannot be opened by the user running the server.',
};

/**
 * The Opened for an error of stat/open/readdir; `refused`: what was being read, for a permission
 * error (default 'path': a stat that failed could not tell).
 */
export function failure(err: unknown, refused: Exclude<Refused, 'special'> = 'path'): Opened & { kind: 'missing' | 'forbidden' | 'unavailable' } {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return { kind: 'forbidden', reason: DENIED[refused], refused };
  if (code === 'EMFILE' || code === 'ENFILE') {
    return { kind: 'unavailable', reason: `Out of file descriptors (${code}): the server has too many open files right now.` };
  }
  return { kind: 'missing', reason: code === 'ENOENT' || code === 'ENOTDIR' ? NO_SUCH_FILE : (MISSING_BECAUSE[code ?? ''] ?? `No such file: it cannot be opened (${code ?? 'an unknown error'}).`) };
}

/** The log's note for a path that cannot name a file for a reason of the file system's (a 404, as nginx answers them). */
const MISSING_BECAUSE: Readonly<Record<string, string>> = {
  ENAMETOOLONG: 'No such file: a name in the path is longer than the file system allows (ENAMETOOLONG).',
  ELOOP: 'No such file: the path goes round a loop of symbolic links (ELOOP).',
  EINVAL: 'No such file: the file system takes no such name (EINVAL).',
};

/**
 * The real path of an open descriptor, or undefined when it cannot be told (the file was deleted,
 * or what the path names now is not what was opened: a swap raced the open).
 * Linux: the kernel's own record, `/proc/self/fd/N`. Elsewhere (and when /proc is unavailable):
 * realpath of the path opened, accepted only when a stat of it has the descriptor's dev and ino.
 */
export async function descriptorRealPath(handle: FileHandle, fsPath: string, st: Stats): Promise<string | undefined> {
  if (process.platform === 'linux') {
    const link = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    if (link !== undefined && link.startsWith('/') && !link.endsWith(' (deleted)')) return link;
  }
  try {
    const real = await realpath(fsPath);
    const again = await stat(real);
    return again.dev === st.dev && again.ino === st.ino ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens `fsPath` if it is a regular file or a folder whose real path (the descriptor's) is inside
 * the root and not hidden, or outside it with followSymlinks on. `known`: a stat of `fsPath` the
 * caller already made (saves one). A 'file' or 'dir' result holds a descriptor the caller closes.
 */
export async function openContained(fsPath: string, opts: ContainmentOptions, known?: Stats): Promise<Opened> {
  for (let attempt = 1; ; attempt++) {
    const opened = await openOnce(fsPath, opts, attempt === 1 ? known : undefined);
    if (opened !== REPLACED) return opened;
    // The node opened was replaced or deleted before its real path could be read: an atomic save
    // renames the new version over the path. The path names the new one now (or nothing: 404).
    if (attempt === OPEN_ATTEMPTS) return { kind: 'unavailable', reason: 'The file was being replaced while it was opened (a save?).' };
  }
}

/**
 * Opens tried per request when what was opened keeps being replaced before its real path is
 * read (a save renaming over the path each time): then 503 with Retry-After, never a false 404.
 */
export const OPEN_ATTEMPTS = 3;
/** openOnce's word for a node replaced or deleted between its open and the reading of its real path. */
const REPLACED = Symbol('replaced');

async function openOnce(fsPath: string, opts: ContainmentOptions, known: Stats | undefined): Promise<Opened | typeof REPLACED> {
  let before = known;
  if (before === undefined) {
    try {
      before = await stat(fsPath);
    } catch (err) {
      return deniedOrRefused(err, fsPath, opts, 'path');
    }
  }
  if (!before.isFile() && !before.isDirectory()) return refuseSpecial(fsPath, before, opts);
  const what = before.isDirectory() ? 'folder' : 'file';
  let handle: FileHandle;
  try {
    handle = await open(fsPath, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') return openFolderWithoutDescriptor(fsPath, opts);
    // A folder that may be traversed but not read (mode 711, as ~/public_html often is): its files
    // are still opened by name (its index), only its listing is refused (nginx and Apache alike).
    if ((code === 'EACCES' || code === 'EPERM') && what === 'folder') return openFolderWithoutDescriptor(fsPath, opts);
    return deniedOrRefused(err, fsPath, opts, what);
  }
  let keep = false;
  try {
    const st = await handle.stat();
    if (!st.isFile() && !st.isDirectory()) return { kind: 'forbidden', reason: notRegularReason(st), refused: 'special' };
    const real = await descriptorRealPath(handle, fsPath, st);
    if (real === undefined) return REPLACED;
    const refused = refusal(real, opts);
    if (refused !== undefined) return refused;
    keep = true;
    return st.isDirectory() ? { kind: 'dir', real, stat: st, handle } : { kind: 'file', file: handle, stat: st, real };
  } catch (err) {
    return failure(err, what);
  } finally {
    if (!keep) await handle.close().catch(() => undefined);
  }
}

/**
 * A node that is not a regular file or folder, never opened: 403, unless its real path is hidden
 * or outside the root (then the same 404 as any such path, so the answer tells nothing about it).
 */
async function refuseSpecial(fsPath: string, st: Stats, opts: ContainmentOptions): Promise<Opened> {
  const real = await realpath(fsPath).catch(() => undefined);
  if (real === undefined) return { kind: 'missing', reason: NO_SUCH_FILE };
  return refusal(real, opts) ?? { kind: 'forbidden', reason: notRegularReason(st), refused: 'special' };
}

function refusal(real: string, opts: ContainmentOptions): (Opened & { kind: 'missing' }) | undefined {
  const verdict = judgeRealPath(real, opts.rootReal, opts);
  if (verdict.kind === 'hidden') return { kind: 'missing', reason: verdict.reason };
  if (verdict.kind === 'outside' && !opts.followSymlinks) {
    return { kind: 'missing', reason: 'A symlink leads outside the root (followSymlinks is off: --follow-symlinks, porthole.followSymlinks in VS Code).' };
  }
  return undefined;
}

/**
 * Where a folder cannot be opened (Windows: EISDIR; a folder that may be traversed but not read:
 * EACCES): realpath, then a stat that must agree.
 */
async function openFolderWithoutDescriptor(fsPath: string, opts: ContainmentOptions): Promise<Opened> {
  try {
    const real = await realpath(fsPath);
    const st = await stat(real);
    if (!st.isDirectory()) return { kind: 'missing', reason: 'The file changed while it was opened.' };
    return refusal(real, opts) ?? { kind: 'dir', real, stat: st, handle: undefined };
  } catch (err) {
    return deniedOrRefused(err, fsPath, opts, 'folder');
  }
}

/**
 * failure(err, refused), except that a permission error (EACCES/EPERM) on a path whose real path
 * is hidden or out of the root is that path's 404 (refusal), never a 403: the 403 against the 404
 * of a missing path told what exists, and what is locked, where nothing may be served (nginx with
 * disable_symlinks answers such a path 404 too). The real path judged is `fsPath`'s, or, when it
 * cannot be read (a folder on the way may not be traversed), that of the nearest folder above it
 * whose real path can be: everything below it was named by the request's own segments, already
 * judged. Never rejects.
 */
function deniedOrRefused(err: unknown, fsPath: string, opts: ContainmentOptions, refused: Exclude<Refused, 'special'>): Opened {
  const denied = failure(err, refused);
  if (denied.kind !== 'forbidden') return denied;
  return nearestRefusal(fsPath, opts) ?? denied;
}

/**
 * The refusal (404) that the real path of `fsPath`, or of its nearest ancestor whose real path can
 * be read, earns (refusal: hidden, or out of the root with followSymlinks off); undefined when it
 * passes or no real path can be read. Synchronous realpaths, one per level climbed (only for a
 * path the server may not read: rare). Exported for the SPA fallback's existence check, which must
 * count such a path as missing as the lookup answers it.
 */
export function nearestRefusal(fsPath: string, opts: ContainmentOptions): (Opened & { kind: 'missing' }) | undefined {
  for (let p = fsPath; ; p = dirname(p)) {
    let real: string | undefined;
    try {
      real = realpathSync.native(p);
    } catch {
      real = undefined;
    }
    if (real !== undefined) return refusal(real, opts);
    if (dirname(p) === p) return undefined;
  }
}
