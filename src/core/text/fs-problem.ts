import { statSync, type Stats } from 'node:fs';
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
  const above: string[] = [];
  for (let p = resolve(path), depth = 0; depth < MAX_PATH_DEPTH; depth++) {
    above.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  // The last is `path` itself: a file there is what a folder was wanted as, too.
  for (const p of above) {
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
