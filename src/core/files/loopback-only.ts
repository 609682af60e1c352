/**
 * Files only this computer may read over HTTP: the active request log, which records every
 * client's address, the URLs asked for (query tokens included) and referers. A sample site writes
 * its log inside the folder it serves; shared on a network, every device could read it.
 *
 * Files are named by identity (device and inode of the open file), not by path, so a hard link,
 * a symlink or a renamed log is the same file. A client is "this computer" when its address is
 * loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): the exchange's client IP, which the kernel
 * reported for the TCP connection. Other hosts get a 404, as for a file that does not exist.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isLoopbackAddress } from '../access/access-policy';

/** Device and inode: what a Stats (or a cached entry) says a file is. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/** A set of file identities, shared by every StaticOptions of one server (reconfigure keeps it). */
export class LoopbackOnlyFiles {
  /** A handful at most (the log files), asked on every response: compared as numbers, no key built. */
  private readonly ids: FileIdentity[] = [];

  /** Adds a file (its Stats or identity). */
  add(id: FileIdentity): void {
    if (!this.has(id)) this.ids.push({ dev: id.dev, ino: id.ino });
  }

  has(id: FileIdentity): boolean {
    for (const known of this.ids) if (known.ino === id.ino && known.dev === id.dev) return true;
    return false;
  }

  get size(): number {
    return this.ids.length;
  }
}

/**
 * Why `file` may not be sent to `clientIp` (the log note), or undefined when it may: undefined for
 * every file not in `files`, and for every loopback client.
 */
export function loopbackOnlyRefusal(file: FileIdentity, clientIp: string, files: LoopbackOnlyFiles | undefined): string | undefined {
  if (files === undefined || !files.has(file) || isLoopbackAddress(clientIp)) return undefined;
  return 'The active request log is served only to this computer (loopback clients).';
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
