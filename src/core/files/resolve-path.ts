/**
 * URI safety, as its own function (nginx keeps it apart from serving): from a request path to the
 * segments of a file path under the root, or a refusal. The query is stripped; the path is split
 * on its literal `/` first and each segment is then percent-decoded exactly once (so `%252e` stays
 * the literal `%2e`): an encoded slash `%2F` is data inside its segment (RFC 3986 §2.2), never a
 * separator, and since no file name can hold a `/` such a path names no file (404). NUL and
 * backslash, raw or encoded, are refused (400); dot segments (`.`, `..`, `%2e%2e`: RFC 3986 §6.2.2.2
 * and the WHATWG URL parser treat them alike) are resolved, and a path that climbs above the root
 * is refused. Containment on the real path (symlinks) is checked later, by the caller, against the
 * file system.
 */
import { hiddenSegmentsReason } from './hidden-names';

export { isNeverServed } from './hidden-names';

export type ResolvedPath =
  | { readonly kind: 'ok'; readonly segments: readonly string[]; readonly trailingSlash: boolean }
  | { readonly kind: 'bad-request'; readonly reason: string }
  /** A well-formed path that can name no file (a segment holding an encoded `/`): answer 404. */
  | { readonly kind: 'no-such-file'; readonly reason: string }
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
  const parts = path.split('/');
  const segments: string[] = [];
  let part = '';
  for (const raw of parts) {
    try {
      part = raw.includes('%') ? decodeURIComponent(raw) : raw;
    } catch {
      return { kind: 'bad-request', reason: percentDecodingFault(raw) };
    }
    if (part.includes('\0')) return { kind: 'bad-request', reason: 'The path contains a NUL byte.' };
    if (part.includes('\\')) return { kind: 'bad-request', reason: 'The path contains a backslash.' };
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (segments.length === 0) return { kind: 'bad-request', reason: 'The path climbs above the root.' };
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  // Judged on the segments kept, after the whole path is read: `/a%2Fb/..` is `/`, and
  // `/a%2Fb/../..` still climbs above the root (400).
  if (segments.some((s) => s.includes('/'))) {
    return { kind: 'no-such-file', reason: 'An encoded slash (%2F) is part of a name, and no file name holds a "/".' };
  }
  // `.git` is never served, dotfiles on or not (the documented promise of the `dotfiles`
  // setting); compared case-insensitively for case-insensitive file systems. On Windows, names
  // that alias a hidden one (`.git.`, `GIT~1`, `x::$DATA`) are refused too (hidden-names.ts).
  const hidden = hiddenSegmentsReason(segments, allowDotfiles, windows);
  if (hidden !== undefined) return { kind: 'hidden', reason: hidden };
  const trailingSlash = part === '' || part === '.' || part === '..';
  return { kind: 'ok', segments, trailingSlash };
}

/** True when a `%` in `text` is not followed by two hex digits (RFC 3986 §2.1: pct-encoded). */
export function hasMalformedEscape(text: string): boolean {
  return /%(?![0-9A-Fa-f]{2})/.test(text);
}

/**
 * Why decodeURIComponent refused `text` (a path, a segment of one), as a sentence: a `%` not
 * followed by two hex digits is a malformed percent-encoding (RFC 3986 §2.1); well-formed escapes
 * whose bytes are not UTF-8 (`%FF`, the overlong `%C0%AE`, the cut-off `%E2%82`) are not a name
 * (RFC 3986 §2.5, RFC 3629), and saying "malformed" of them sent people looking for a typo.
 */
export function percentDecodingFault(text: string): string {
  return hasMalformedEscape(text)
    ? 'The path has a malformed percent-encoding: each "%" must be followed by two hex digits (write a literal "%" as %25).'
    : 'The path has percent-escapes that are not UTF-8 (such as %FF or %C0%AE): no file name is spelled that way here; names in URLs are percent-encoded UTF-8.';
}

/** The canonical URL path for segments: each segment percent-encoded, never starting with `//`. */
export function encodePathSegments(segments: readonly string[], trailingSlash: boolean): string {
  const body = segments.map((s) => encodeURIComponent(s)).join('/');
  if (body.length === 0) return '/';
  return `/${body}${trailingSlash ? '/' : ''}`;
}
