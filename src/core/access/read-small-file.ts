/**
 * Small files a user names — a PEM certificate or key, a passphrase file — read so that no such
 * name can hold the start for ever: opened non-blocking (O_NONBLOCK: a named pipe nobody writes
 * to never blocks the open, and no read waits in a thread of libuv's pool), a device (`/dev/zero`,
 * a terminal) or a socket refused before it is opened, and at most MAX_SMALL_FILE_BYTES read.
 * readFileSync did each: a FIFO with no writer blocked the thread for ever (Ctrl-C could not stop
 * the CLI, the extension host froze), and /dev/zero was read until memory ran out.
 *
 * A pipe is accepted where it can be read as a file (`--passphrase-file <(pass show key)`, a named
 * pipe a password manager writes), when its writer has written and closed it within
 * PIPE_CLOSE_WAIT_MS.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { nodeKind } from '../text/fs-problem';
import { formatSize } from '../text/format-size';

/**
 * The most bytes a certificate, key or passphrase file may hold: 1 MiB. A certificate chain is a
 * few KiB (mkcert's pair is under 3 KiB; a chain of four 4096-bit certificates about 8 KiB); a
 * file far larger is not one, and it is held whole in memory and parsed.
 */
export const MAX_SMALL_FILE_BYTES = 1024 * 1024;

/**
 * How long a pipe's writer has to write it and close it (ms): 5 s. `<(command)` and a password
 * manager write at once; a pipe that nothing writes would otherwise hold the start for ever.
 */
export const PIPE_CLOSE_WAIT_MS = 5_000;

/** How often a pipe with nothing to read yet is read again (ms). */
const PIPE_POLL_MS = 20;

/** Read-only, never blocking on a FIFO, never becoming the controlling terminal. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/**
 * Why a small file was not read. `code`: EISDIR (a folder), ENOTFILE (a device, a socket; a pipe
 * where only regular files are read), EFBIG (more than the limit), ETIMEDOUT (a pipe not written
 * and closed in time). `reason` is what follows the path in a message ("is a character device,
 * not a file"); `message` is the path and the reason.
 */
export class SmallFileError extends Error {
  constructor(
    readonly path: string,
    readonly code: 'EISDIR' | 'ENOTFILE' | 'EFBIG' | 'ETIMEDOUT',
    readonly reason: string,
  ) {
    super(`${path} ${reason}`);
    this.name = 'SmallFileError';
  }
}

/** Limits of readSmallFile; absent, the documented defaults. */
export interface SmallFileLimits {
  /** Bytes at most (default MAX_SMALL_FILE_BYTES). */
  readonly maxBytes?: number;
  /** A pipe's writer must have closed it within this many ms (default PIPE_CLOSE_WAIT_MS). */
  readonly pipeWaitMs?: number;
}

/** A node that is no file, or a pipe where `pipes` is false: the SmallFileError for it, else undefined. */
function refusal(path: string, st: Stats, pipes: boolean): SmallFileError | undefined {
  if (st.isFile() || (pipes && st.isFIFO())) return undefined;
  if (st.isDirectory()) return new SmallFileError(path, 'EISDIR', 'is a folder, not a file');
  return new SmallFileError(path, 'ENOTFILE', `is ${nodeKind(st)}, not a file`);
}

function tooLarge(path: string, size: number | undefined, max: number): SmallFileError {
  const limit = `the ${formatSize(max)} (${max} bytes) such a file may hold`;
  return new SmallFileError(path, 'EFBIG', size === undefined ? `sent more than ${limit}` : `is ${formatSize(size)} (${size} bytes), more than ${limit}`);
}

/**
 * The bytes of the file a user named at `path` (symlinks followed): a regular file of at most
 * `maxBytes`, or a pipe whose writer writes at most that and closes it within `pipeWaitMs`.
 * Never blocks the event loop or a pool thread for longer than one read. Throws a SmallFileError
 * (EISDIR, ENOTFILE for a device or a socket, EFBIG, ETIMEDOUT), else stat's, open's or read's own
 * error (ENOENT, ENOTDIR, EACCES…).
 */
export async function readSmallFile(path: string, limits: SmallFileLimits = {}): Promise<Buffer> {
  const max = limits.maxBytes ?? MAX_SMALL_FILE_BYTES;
  // Judged before open: opening a device can have effects of its own (a tape rewinds).
  const before = refusal(path, await stat(path), true);
  if (before !== undefined) throw before;
  const handle = await open(path, OPEN_FLAGS);
  try {
    const st = await handle.stat();
    // Replaced between the stat and the open: judged again on what was opened.
    const opened = refusal(path, st, true);
    if (opened !== undefined) throw opened;
    if (st.isFile() && st.size > max) throw tooLarge(path, st.size, max);
    // One byte more than allowed tells a file that grew since its stat from one that did not.
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    const deadline = Date.now() + (limits.pipeWaitMs ?? PIPE_CLOSE_WAIT_MS);
    for (;;) {
      let bytesRead: number;
      try {
        // A pipe has no positions: read where it is (null); a file from where the last read ended.
        ({ bytesRead } = await handle.read(buffer, length, buffer.length - length, st.isFile() ? length : null));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        bytesRead = -1; // a pipe whose writer has written nothing more yet
      }
      if (bytesRead > 0) {
        length += bytesRead;
        if (length > max) throw tooLarge(path, st.isFile() ? length : undefined, max);
        continue;
      }
      // The end of a file; of a pipe, once it has had bytes and every writer closed it. A pipe
      // that has had none may have no writer yet (a read then ends at once too): wait for one.
      if (bytesRead === 0 && (st.isFile() || length > 0)) break;
      if (Date.now() >= deadline) {
        const waitS = (limits.pipeWaitMs ?? PIPE_CLOSE_WAIT_MS) / 1000;
        throw new SmallFileError(path, 'ETIMEDOUT', length === 0 ? `is ${nodeKind(st)} that nothing wrote to and closed within ${waitS} s` : `is ${nodeKind(st)} whose writer did not close it within ${waitS} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, PIPE_POLL_MS));
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * readSmallFile for callers that cannot wait: the bytes of the regular file at `path` (symlinks
 * followed), at most `maxBytes` (default MAX_SMALL_FILE_BYTES). A pipe is refused too (ENOTFILE):
 * reading one may take a writer's time. Throws as readSmallFile does.
 */
export function readSmallRegularFileSync(path: string, maxBytes = MAX_SMALL_FILE_BYTES): Buffer {
  const before = refusal(path, statSync(path), false);
  if (before !== undefined) throw before;
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const st = fstatSync(fd);
    const refused = refusal(path, st, false);
    if (refused !== undefined) throw refused;
    if (st.size > maxBytes) throw tooLarge(path, st.size, maxBytes);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw tooLarge(path, length, maxBytes);
    }
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

