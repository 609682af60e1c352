/**
 * Which names are hidden, for request paths and for real paths on disk alike. A name is hidden
 * when it starts with `.` (dotfiles off; a leading `.well-known` excepted, RFC 8615) or is `.git`
 * (never served). The rule applies to every segment of the path asked for AND of the real path
 * the open descriptor has inside the root, so a symlink `docs/x -> ../.git/config` is as hidden
 * as `/.git/config` itself.
 *
 * Windows has names that alias a hidden one without looking like it: trailing dots and spaces are
 * dropped by the Win32 layer (`.git.` is `.git`), `name::$DATA` or `name:stream` open a stream of
 * `name`, and 8.3 short names (`GIT~1` for `.git`) name the long one. On Windows such segments are
 * refused outright. Everything here is a pure function of its arguments, the path module included,
 * so the Windows rules are tested with `path.win32` on any machine.
 */
import * as nodePath from 'node:path';

/** The `node:path` flavour the rules use (`path.posix` or `path.win32`). */
export type PathApi = typeof nodePath.posix;

/** True for the path module of Windows (path.win32, or path on Windows). */
export function isWindowsPath(p: PathApi): boolean {
  return p.sep === '\\';
}

/** The name Win32 opens for `name`: its trailing dots and spaces dropped (`.git. ` opens `.git`). */
function win32Name(name: string): string {
  return name.replace(/[. ]+$/, '');
}

/**
 * How a file system compares names: `case` folds case (macOS's, by default), `windows` folds case
 * and drops trailing dots and spaces too (Win32 opens `api.` and `api ` as `api`), `exact`
 * compares them as they are (Linux).
 */
export type NameFolding = 'exact' | 'case' | 'windows';

/** This platform's (its file systems' default): for rules judged by name that the folder is read by. */
export const PLATFORM_NAME_FOLDING: NameFolding = process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'case' : 'exact';

/** True when `a` and `b` name the same file in one folder, compared as `folding` says. */
export function sameFileName(a: string, b: string, folding: NameFolding): boolean {
  if (a === b || folding === 'exact') return a === b;
  if (folding === 'windows') return win32Name(a).toLowerCase() === win32Name(b).toLowerCase();
  return a.toLowerCase() === b.toLowerCase();
}

/** A path segment that is hidden even with dotfiles on (and left out of listings). */
export function isNeverServed(segment: string): boolean {
  return segment.toLowerCase() === '.git';
}

/**
 * An 8.3 short name as Windows makes them: up to 6 (fewer for long tails) characters, `~`, digits,
 * an optional extension of up to 3 characters (`GIT~1`, `ENV~1`, `PROGRA~1.TXT`).
 */
const SHORT_NAME = /^[^.~]{0,7}~[0-9]{1,7}(\.[^.]{0,3})?$/;

/**
 * Why one segment is hidden, or undefined when it may be served.
 * - `index`: the segment's place under the root (0 = directly in the root), for `.well-known`;
 *   -1 for a segment that is not under the root (a real path outside it).
 * - `windows`: apply the Windows alias rules (trailing dots/spaces, `:` streams, 8.3 names).
 */
export function hiddenSegmentReason(segment: string, index: number, allowDotfiles: boolean, windows: boolean): string | undefined {
  let name = segment;
  if (windows) {
    if (name.includes(':')) return `A Windows stream or drive name is never served: ${segment}`;
    if (SHORT_NAME.test(name)) return `A Windows short (8.3) name is never served; ask for the long name: ${segment}`;
    name = win32Name(name);
    if (name === '' && segment !== '') return `A name of only dots and spaces is never served: ${segment}`;
  }
  if (isNeverServed(name)) return `Never served: ${segment}`;
  if (!allowDotfiles && name.startsWith('.') && !(index === 0 && name === '.well-known')) {
    return `Dotfiles are not served: ${segment}`;
  }
  return undefined;
}

/**
 * Why one of the segments (relative to the root, in order) is hidden, or undefined. `first`: the
 * place under the site's top of the first segment (0 for the served root; 1 or more below a
 * mount's prefix, where `.well-known` is not at the top).
 */
export function hiddenSegmentsReason(segments: readonly string[], allowDotfiles: boolean, windows: boolean, first = 0): string | undefined {
  for (let i = 0; i < segments.length; i++) {
    const reason = hiddenSegmentReason(segments[i] as string, first + i, allowDotfiles, windows);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/** What the real path of an opened file says about serving it. */
export type RealPathVerdict =
  | { readonly kind: 'inside'; readonly segments: readonly string[] }
  | { readonly kind: 'outside' }
  | { readonly kind: 'hidden'; readonly reason: string };

/**
 * The segments of `real` below `rootReal` (both absolute real paths, as `p` spells them), or
 * undefined when `real` is not inside the root. Compared as `p.relative` does (case-insensitively
 * on Windows), so a sibling `root2` is not inside `root`.
 */
export function segmentsInside(real: string, rootReal: string, p: PathApi = nodePath): string[] | undefined {
  const rel = p.relative(rootReal, real);
  if (rel === '') return [];
  if (p.isAbsolute(rel)) return undefined; // another drive (Windows)
  const segments = rel.split(p.sep);
  if (segments[0] === '..') return undefined;
  return segments;
}

/**
 * Judges the real path of something opened for a request: inside the root with no hidden segment
 * below the root; or outside the root (the caller refuses it unless followSymlinks is on, and then
 * every segment of the whole real path must pass: a link to `~/.ssh/id_rsa` stays hidden); or
 * hidden, with the reason. `opts.underPrefix`: `rootReal` is a mount's folder, served under a URL
 * prefix, so a `.well-known` at its top is not at the site's top (RFC 8615) and is as hidden as any
 * dot name there, as `/vendor/.well-known/…` asked for by name is.
 */
export function judgeRealPath(
  real: string,
  rootReal: string,
  opts: { readonly dotfiles: boolean; readonly followSymlinks: boolean; readonly underPrefix?: boolean },
  p: PathApi = nodePath,
): RealPathVerdict {
  const windows = isWindowsPath(p);
  const segments = segmentsInside(real, rootReal, p);
  if (segments !== undefined) {
    const reason = hiddenSegmentsReason(segments, opts.dotfiles, windows, opts.underPrefix === true ? 1 : 0);
    return reason === undefined ? { kind: 'inside', segments } : { kind: 'hidden', reason: `${reason} (the real path of what was asked for)` };
  }
  if (!opts.followSymlinks) return { kind: 'outside' };
  const whole = real.slice(p.parse(real).root.length).split(p.sep).filter((s) => s !== '');
  for (const s of whole) {
    const reason = hiddenSegmentReason(s, -1, opts.dotfiles, windows);
    if (reason !== undefined) return { kind: 'hidden', reason: `${reason} (in the real path a symlink leads to)` };
  }
  return { kind: 'outside' };
}
