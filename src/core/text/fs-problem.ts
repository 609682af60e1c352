import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { lstat, readlink, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** How many folders danglingLinkOnPath climbs at most (a bound; paths are far shorter). */
const MAX_PATH_DEPTH = 256;

/**
 * The symbolic link on `path` (itself, or a folder above it) whose target does not exist, with
 * that target (resolved against the link's folder), when that is why `path` does not exist;
 * undefined when `path` is missing for another reason (a folder not made yet). `mkdir -p PATH`,
 * the usual advice for a missing folder, fails through such a link ("File exists"). Never rejects.
 */
export async function danglingLinkOnPath(path: string): Promise<{ readonly link: string; readonly target: string } | undefined> {
  let p = resolve(path);
  for (let depth = 0; depth < MAX_PATH_DEPTH; depth++) {
    const st = await lstat(p).catch(() => undefined);
    if (st !== undefined) {
      if (!st.isSymbolicLink()) return undefined;
      const missing = await stat(p).then(
        () => false,
        (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
      );
      if (!missing) return undefined;
      const target = await readlink(p).catch(() => undefined);
      return target === undefined ? undefined : { link: p, target: resolve(dirname(p), target) };
    }
    const parent = dirname(p);
    if (parent === p) return undefined;
    p = parent;
  }
  return undefined;
}

/**
 * The first thing on `path` (itself, or a folder above it), from the top down, that exists but is
 * no folder, with what it is ("/x/porthole is a regular file"): why ENOTDIR (or EEXIST from mkdir)
 * came, said by name where "a part of its path is a file" left the user to find which. Undefined
 * when there is none (the error had another cause). Synchronous (start-up messages); never throws.
 */
export function notAFolderOnPath(path: string): string | undefined {
  // The last is `path` itself: a file there is what a folder was wanted as, too.
  for (const p of foldersFromTop(resolve(path))) {
    let st: Stats | undefined;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (st === undefined) return undefined;
    if (!st.isDirectory()) return `${p} is ${nodeKind(st)}, not a folder`;
  }
  return undefined;
}

/**
 * `path` (absolute) and every folder above it, from the root down: `/a/b` → `/`, `/a`, `/a/b`.
 * At most MAX_PATH_DEPTH entries (the deepest kept).
 */
function foldersFromTop(path: string): string[] {
  const above: string[] = [];
  for (let p = path, depth = 0; depth < MAX_PATH_DEPTH; depth++) {
    above.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  return above;
}

/** The folder at the top of `path`'s way that this process may not open (search), or undefined. */
function closedFolderOnPath(path: string): string | undefined {
  for (const dir of foldersFromTop(dirname(resolve(path)))) {
    try {
      accessSync(dir, constants.X_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') return dir;
      return undefined;
    }
  }
  return undefined;
}

/**
 * Why a file a person named at `path` may not be read (open or stat said EACCES or EPERM, `code`),
 * with what to do that fits: `chmod u+r` only where this process's user owns the file (another
 * user's file can be chmod'ed by its owner alone: to read it, run as that user, or copy it); a
 * folder on the way that may not be opened is named. One clause, after "cannot read … PATH: ".
 */
export function noReadPermission(path: string, code: string): string {
  const uid = process.getuid?.();
  const owned = (what: string, at: string): string | undefined => {
    try {
      const owner = statSync(at).uid;
      return uid !== undefined && owner !== uid ? `${what} belongs to another user (uid ${owner}), and Porthole runs as uid ${uid}` : undefined;
    } catch {
      return undefined;
    }
  };
  const folder = closedFolderOnPath(path);
  if (folder !== undefined) {
    const other = owned('it', folder);
    return other === undefined
      ? `no permission (${code}): the folder ${folder} on its way may not be opened; give yourself permission to open it (chmod u+x ${folder})`
      : `no permission (${code}): the folder ${folder} on its way may not be opened: ${other}; run Porthole as that user, or copy the file (as that user, or with sudo) to a folder of yours`;
  }
  const other = owned('it', path);
  if (other !== undefined) return `no permission (${code}): ${other}; run Porthole as that user, or copy the file (as that user, or with sudo) to one of yours`;
  return `no permission (${code}); give yourself read permission on it (chmod u+r ${path})`;
}

/**
 * What to say of a folder `danglingLinkOnPath` found a link to nothing on: "LINK is a symbolic
 * link to TARGET, which does not exist; create TARGET, or point the link at a folder that exists".
 */
export function danglingLinkClause(found: { readonly link: string; readonly target: string }): string {
  return `${found.link} is a symbolic link to ${found.target}, which does not exist; create ${found.target}, or point the link at a folder that exists`;
}

/**
 * What a file-system error on a path a person named (the root, a mount's folder, the log file,
 * porthole.config.json) means, in plain words, with what to do: `a symbolic link on its path
 * leads round in a loop (ELOOP); fix or remove the link`. For the codes the callers do not word
 * themselves (they say ENOENT, ENOTDIR, EISDIR and EACCES in their own terms, naming the folder
 * or the flag); Node's own text (`ELOOP: too many symbolic links encountered, open '/x/y'`) told
 * neither what to do nor, for ENXIO, what was wrong.
 *
 * `err`: what fs rejected with (its `code`, POSIX errno names as Node gives them). Returns one
 * clause, no leading capital and no final full stop, to follow "cannot use X: ". An unknown code
 * gives Node's description without its syscall and path (`resource busy or locked (EBUSY)`).
 */
export function describeFsProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ELOOP':
      return 'a symbolic link on its path leads round in a loop (ELOOP); fix or remove the link';
    case 'ENAMETOOLONG':
      return 'its path, or a name in it, is longer than the system allows (ENAMETOOLONG); choose a shorter path';
    case 'EROFS':
      return 'it is on a read-only file system (EROFS); choose a place on a disk that can be written';
    case 'ENOSPC':
      return 'the disk is full (ENOSPC); free some space, or choose a place on another disk';
    case 'EDQUOT':
      return 'the disk quota is used up (EDQUOT); free some space, or choose a place on another disk';
    case 'ENXIO':
      return 'it is a socket or a device with nothing behind it, not a file (ENXIO); name a regular file';
    case 'ENODEV':
      return 'it is a device that cannot be opened, not a file (ENODEV); name a regular file';
    case 'EMFILE':
    case 'ENFILE':
      return `too many files are open (${code}); close some programs, or raise the limit (ulimit -n)`;
    case 'EIO':
      return 'the disk failed to read or write (EIO); check the disk, or choose a place on another one';
    case 'EBUSY':
      return 'it is busy or locked (EBUSY); try again once the program holding it lets go';
    case 'ETXTBSY':
      return 'it is a program that is running (ETXTBSY); name another file';
    default:
      return nodeDescription(err, code);
  }
}

/** Node's message without its code prefix and `, syscall 'path'` suffix, then the code. */
function nodeDescription(err: unknown, code: string | undefined): string {
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined) return message;
  const bare = message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
  const described = bare.replace(/, [a-z_]+ '.*'$/s, '');
  return `${described} (${code})`;
}

/**
 * What a stat says a node is, in words for a message ("… is a character device, not a file"):
 * 'a regular file', 'a folder', 'a named pipe (FIFO)', 'a socket', 'a character device', 'a
 * block device', or 'not a regular file' for anything else.
 */
export function nodeKind(st: Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}
