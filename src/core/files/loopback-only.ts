/**
 * Files the server guards wherever they lie, the root included:
 * - only this computer may read the active request log over HTTP: it records every client's
 *   address, the URLs asked for (query tokens included) and referers. A sample site writes its
 *   log inside the folder it serves; shared on a network, every device could read it.
 * - only this computer may read the root's porthole.config.json, the server's own settings (which
 *   devices may connect, where proxied routes lead, the headers): configuration, not a page
 *   (helper-158: every device on the network got it).
 * - nobody may read the files the HTTPS private key and its passphrase were read from (`mkcert`
 *   writes `localhost-key.pem` into the folder it runs in, the project folder served): a key
 *   served is every visitor's TLS undone. They are a 404, to this computer too.
 *
 * Files are named by identity (device and inode of the open file), not by path, so a hard link,
 * a symlink or a renamed log is the same file. A client is "this computer" when its address is
 * loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): the exchange's client IP, which the kernel
 * reported for the TCP connection. Other hosts get a 404, as for a file that does not exist.
 */
import { realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Device and inode: what a Stats (or a cached entry) says a file is; and its birth time (ms, as
 * Stats#birthtimeMs) where the file system tells it (0 or absent: unknown). An inode number is
 * given again to the next file made once its file is gone (ext4 reuses it at once): the key
 * replaced by a new one (a rename over it) left its number to whatever file came next, a new
 * page, which was then a 404 for every client. A link or a rename keeps the birth time; a new
 * file under a reused number has its own.
 */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly birthtimeMs?: number;
}

/** True when `a` and `b` are the same file: device and inode, and birth time when both know it. */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  if (a.ino !== b.ino || a.dev !== b.dev) return false;
  const born = a.birthtimeMs ?? 0;
  const other = b.birthtimeMs ?? 0;
  return born === 0 || other === 0 || born === other;
}

/**
 * A set of guarded files (the log files only this computer may read; the key files nobody may),
 * shared by every StaticOptions of one server (reconfigure keeps it): by identity (a hard link or
 * a rename is the same file) and by real path (the log removed while the server writes it is made
 * again there, a new inode: request-log.ts).
 */
export class FileSet {
  /**
   * A handful at most (log, key and configuration files), asked on every response: compared as
   * numbers, no key built; `reason`: the words for a refusal, when not the set's usual ones.
   */
  private readonly ids: Array<FileIdentity & { readonly reason?: string }> = [];
  /**
   * Real paths (absolute, symlinks resolved) guarded: those of the files added (add, `pathOnly`
   * false: kept when their file is forgotten by identity) and files guarded by their path alone
   * (addPath, `pathOnly` true), each with the words of its refusal when not the set's usual ones.
   */
  private readonly paths: Array<{ readonly path: string; readonly reason?: string; readonly pathOnly: boolean }> = [];

  /**
   * Guards what `realPath` (absolute, symlinks resolved) names, whichever file is there now or
   * later, with `reason` for the log: a file the server reads by its path and that an editor may
   * replace (an atomic save gives it a new inode), so not by identity.
   */
  addPath(realPath: string, reason: string): void {
    if (!this.paths.some((known) => known.pathOnly && known.path === realPath)) this.paths.push({ path: realPath, reason, pathOnly: true });
  }

  /** Forgets `realPath` as added by addPath (a path that add gave stays). */
  removePath(realPath: string): void {
    const at = this.paths.findIndex((known) => known.pathOnly && known.path === realPath);
    if (at >= 0) this.paths.splice(at, 1);
  }

  /**
   * The words given for the file `id` at `realPath` when it was added with its own (add's
   * `reason`, addPath), or undefined: not in the set, or in it with the set's usual words.
   */
  reasonFor(id: FileIdentity, realPath: string): string | undefined {
    for (const known of this.ids) if (known.reason !== undefined && sameFile(known, id)) return known.reason;
    for (const known of this.paths) if (known.reason !== undefined && known.path === realPath) return known.reason;
    return undefined;
  }

  /** Adds a file: its Stats or identity, its real path when known, and the words of its refusal when not the usual ones. */
  add(id: FileIdentity, realPath?: string, reason?: string): void {
    if (!this.ids.some((known) => sameFile(known, id))) this.ids.push({ dev: id.dev, ino: id.ino, birthtimeMs: id.birthtimeMs, reason });
    if (realPath !== undefined && !this.paths.some((known) => !known.pathOnly && known.path === realPath)) this.paths.push({ path: realPath, reason, pathOnly: false });
  }

  /**
   * Forgets the file `id` by its identity (real paths stay): the active log removed and made again
   * (request-log.ts), whose old file no name reaches any more and whose inode number, once freed,
   * goes to the next file made. Keeps the set at a handful however often the log is removed.
   */
  remove(id: FileIdentity): void {
    const at = this.ids.findIndex((known) => sameFile(known, id));
    if (at >= 0) this.ids.splice(at, 1);
  }

  /** True for a file added, by its identity `id` or its real path `realPath` (absolute, symlinks resolved). */
  has(id: FileIdentity, realPath: string): boolean {
    // Loops, not `some` with an arrow: this runs for every file answered, and the arrow was a
    // closure made per call.
    for (const known of this.ids) if (sameFile(known, id)) return true;
    for (const known of this.paths) if (known.path === realPath) return true;
    return false;
  }

  /** How many files are guarded by identity (add). */
  get size(): number {
    return this.ids.length;
  }

  /** True when any file is guarded: by identity, or by path alone (addPath). */
  get guardsAnything(): boolean {
    return this.ids.length > 0 || this.paths.length > 0;
  }
}

/**
 * Who asks for a file, as the guards see it: whether the request is this computer's own
 * (Exchange.fromThisComputer, which a tunnel's visitors are not). Read only when a guarded file is
 * at stake: working it out reads the request's Host and fields.
 */
export interface RequestOrigin {
  readonly fromThisComputer: boolean;
}

/**
 * Why the file `file` at real path `realPath` may not be sent to `asker` (the log note), or
 * undefined when it may: undefined for every file not in `files`, and for every request from this
 * computer.
 */
export function loopbackOnlyRefusal(file: FileIdentity, realPath: string, asker: RequestOrigin, files: FileSet | undefined): string | undefined {
  if (files === undefined || !files.has(file, realPath) || asker.fromThisComputer) return undefined;
  return files.reasonFor(file, realPath) ?? 'The active request log is served only to this computer (loopback clients asking for it by a loopback name, not through a tunnel or proxy).';
}

/** The guarded files of a server (StaticOptions carries them). */
export interface GuardedFiles {
  /** Served to loopback clients only: the active request log. */
  readonly loopbackOnly?: FileSet;
  /** Never served: the files the HTTPS private key and its passphrase were read from. */
  readonly neverServed?: FileSet;
}

/**
 * Why the file `file` at real path `realPath` may not be sent to `asker` (the log note; the
 * answer is the 404 of a missing file), or undefined when it may: a never-served file to every
 * client, the active log to every client but this computer (loopbackOnlyRefusal).
 */
export function guardedRefusal(file: FileIdentity, realPath: string, asker: RequestOrigin, guarded: GuardedFiles): string | undefined {
  if (guarded.neverServed?.has(file, realPath) === true) return 'A file the HTTPS private key or its passphrase was read from is never served.';
  return loopbackOnlyRefusal(file, realPath, asker, guarded.loopbackOnly);
}

/**
 * True when the file `file` at real path `realPath` is kept from some client (guardedRefusal
 * refuses it to at least one): for what goes to every client alike, such as the site's own 404
 * page, which must then be none of them.
 */
export function guardedFromAnyone(file: FileIdentity, realPath: string, guarded: GuardedFiles): boolean {
  return guarded.neverServed?.has(file, realPath) === true || guarded.loopbackOnly?.has(file, realPath) === true;
}

/** True when `guarded` names any file (most servers have no log in the root and no HTTPS key). */
export function guardsAny(guarded: GuardedFiles): boolean {
  return guarded.neverServed?.guardsAnything === true || guarded.loopbackOnly?.guardsAnything === true;
}

/**
 * guardedRefusal for what the path `fsPath` (absolute; a last symlink followed) names now, or
 * undefined when it may be sent to `asker`, is no file of `guarded`, or is not there: one stat
 * and one realpath, only when `guarded` names any file. For the answers that tell whether a
 * path names something without sending it (the SPA fallback's existence check, clean URLs): a
 * guarded file counts there as missing, as its own request answers it (404), so no status tells
 * that the key or the log is there.
 */
export function guardedRefusalAt(fsPath: string, asker: RequestOrigin, guarded: GuardedFiles): string | undefined {
  if (!guardsAny(guarded)) return undefined;
  // Nothing is kept from this computer but the HTTPS key's files: no stat for it otherwise (the
  // configuration file is guarded on every server that reads one).
  if (guarded.neverServed?.guardsAnything !== true && asker.fromThisComputer) return undefined;
  const file = regularFileAt(fsPath);
  return file === undefined ? undefined : guardedRefusal(file.st, file.real, asker, guarded);
}

/** The stat and real path of the regular file `fsPath` names now (a last symlink followed), or undefined when it names none. */
function regularFileAt(fsPath: string): { st: Stats; real: string } | undefined {
  let st;
  try {
    st = statSync(fsPath, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (st === undefined || !st.isFile()) return undefined;
  let real = fsPath;
  try {
    real = realpathSync.native(fsPath);
  } catch {
    // Gone since the stat: judged by its identity alone.
  }
  return { st, real };
}

/**
 * Which guard keeps what `fsPath` names (a last symlink followed) from some client: `never` for
 * a file the HTTPS key or its passphrase was read from (no client gets it), `loopback` for the
 * active request log (only this computer), undefined for any other file or none. For what is
 * judged before any client asks (the SPA fallback said at start).
 */
export function guardAt(fsPath: string, guarded: GuardedFiles): 'never' | 'loopback' | undefined {
  if (!guardsAny(guarded)) return undefined;
  const file = regularFileAt(fsPath);
  if (file === undefined) return undefined;
  if (guarded.neverServed?.has(file.st, file.real) === true) return 'never';
  return guarded.loopbackOnly?.has(file.st, file.real) === true ? 'loopback' : undefined;
}

/**
 * True when `file` lies inside `folder` (absolute paths, symlinks resolved where they exist; a file
 * that does not exist yet is judged by its folder): whether a log file would be served from a
 * shared root, for the warning the CLI and the extension give when sharing starts.
 */
export function liesInsideFolder(folder: string, file: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync.native(p);
    } catch {
      return resolve(p);
    }
  };
  const rel = relative(real(folder), join(real(dirname(file)), basename(file)));
  return rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel);
}
