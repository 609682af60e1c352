/**
 * URI safety, as its own function (nginx keeps it apart from serving): from a request path to the
 * segments of a file path under the root, or a refusal. The query is stripped; the path is
 * percent-decoded exactly once (so `%252e` stays the literal `%2e`); NUL and backslash are refused;
 * dot segments are resolved, and a path that climbs above the root is refused. Containment on the
 * real path (symlinks) is checked later, by the caller, against the file system.
 */
import { hiddenSegmentsReason } from './hidden-names';

export { isNeverServed } from './hidden-names';

export type ResolvedPath =
  | { readonly kind: 'ok'; readonly segments: readonly string[]; readonly trailingSlash: boolean }
  | { readonly kind: 'bad-request'; readonly reason: string }
  | { readonly kind: 'hidden'; readonly reason: string };

/**
 * Resolves a request path (origin-form path, query allowed). `allowDotfiles` off hides every
 * segment starting with `.`, except a leading `.well-known` (RFC 8615). `windows` adds the rules
 * for names that alias a hidden one on Windows (the platform's by default).
 */
export function resolveRequestPath(rawPath: string, allowDotfiles: boolean, windows = process.platform === 'win32'): ResolvedPath {
  const q = rawPath.indexOf('?');
  const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
  if (!path.startsWith('/')) return { kind: 'bad-request', reason: 'The path must start with "/".' };
  let decoded: string;
  try {
    decoded = path.includes('%') ? decodeURIComponent(path) : path;
  } catch {
    return { kind: 'bad-request', reason: 'The path has a malformed percent-encoding.' };
  }
  if (decoded.includes('\0')) return { kind: 'bad-request', reason: 'The path contains a NUL byte.' };
  if (decoded.includes('\\')) return { kind: 'bad-request', reason: 'The path contains a backslash.' };
  const segments: string[] = [];
  const parts = decoded.split('/');
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) return { kind: 'bad-request', reason: 'The path climbs above the root.' };
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  // `.git` is never served, dotfiles on or not (the documented promise of the `dotfiles`
  // setting); compared case-insensitively for case-insensitive file systems. On Windows, names
  // that alias a hidden one (`.git.`, `GIT~1`, `x::$DATA`) are refused too (hidden-names.ts).
  const hidden = hiddenSegmentsReason(segments, allowDotfiles, windows);
  if (hidden !== undefined) return { kind: 'hidden', reason: hidden };
  const last = parts[parts.length - 1];
  const trailingSlash = last === '' || last === '.' || last === '..';
  return { kind: 'ok', segments, trailingSlash };
}

/** The canonical URL path for segments: each segment percent-encoded, never starting with `//`. */
export function encodePathSegments(segments: readonly string[], trailingSlash: boolean): string {
  const body = segments.map((s) => encodeURIComponent(s)).join('/');
  if (body.length === 0) return '/';
  return `/${body}${trailingSlash ? '/' : ''}`;
}
