/**
 * URI safety, as its own function (nginx keeps it apart from serving): from a request path to the
 * segments of a file path under the root, or a refusal. The query is stripped; the path is
 * percent-decoded exactly once (so `%252e` stays the literal `%2e`); NUL and backslash are refused;
 * dot segments are resolved, and a path that climbs above the root is refused. Containment on the
 * real path (symlinks) is checked later, by the caller, against the file system.
 */

export type ResolvedPath =
  | { readonly kind: 'ok'; readonly segments: readonly string[]; readonly trailingSlash: boolean }
  | { readonly kind: 'bad-request'; readonly reason: string }
  | { readonly kind: 'hidden'; readonly reason: string };

/**
 * Resolves a request path (origin-form path, query allowed). `allowDotfiles` off hides every
 * segment starting with `.`, except a leading `.well-known` (RFC 8615).
 */
export function resolveRequestPath(rawPath: string, allowDotfiles: boolean): ResolvedPath {
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
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    // `.git` is never served, dotfiles on or not (the documented promise of the `dotfiles`
    // setting); compared case-insensitively for case-insensitive file systems.
    if (isNeverServed(s)) return { kind: 'hidden', reason: `Never served: ${s}` };
    if (!allowDotfiles && s.startsWith('.') && !(i === 0 && s === '.well-known')) {
      return { kind: 'hidden', reason: `Dotfiles are not served: ${s}` };
    }
  }
  const last = parts[parts.length - 1];
  const trailingSlash = last === '' || last === '.' || last === '..';
  return { kind: 'ok', segments, trailingSlash };
}

/** A path segment that is hidden even with dotfiles on (and left out of listings). */
export function isNeverServed(segment: string): boolean {
  return segment.toLowerCase() === '.git';
}

/** The canonical URL path for segments: each segment percent-encoded, never starting with `//`. */
export function encodePathSegments(segments: readonly string[], trailingSlash: boolean): string {
  const body = segments.map((s) => encodeURIComponent(s)).join('/');
  if (body.length === 0) return '/';
  return `/${body}${trailingSlash ? '/' : ''}`;
}
