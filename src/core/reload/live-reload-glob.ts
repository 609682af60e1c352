/**
 * The ignore globs of live reload, matched against paths relative to the root with `/` separators.
 * Grammar (a small, predictable subset of gitignore/minimatch):
 * - `**` as a whole segment: any number of segments (zero included); `dir/**` matches `dir` too;
 * - `*`: any run of characters within one segment; `?`: one character other than `/`;
 * - a pattern without `/` matches a name at any depth (`*.map`, `dist`), and everything below it;
 * - a leading `/` or `./` anchors at the root; everything else is literal.
 */

export type PathMatcher = (relativePath: string) => boolean;

function escapeRegExp(ch: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(ch) ? `\\${ch}` : ch;
}

function segmentSource(segment: string): string {
  let out = '';
  for (const ch of segment) {
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else out += escapeRegExp(ch);
  }
  return out;
}

/** One glob as a RegExp over a root-relative path (no leading slash); `foldCase`: letters match either case. */
function globToRegExp(glob: string, foldCase = false): RegExp {
  let pattern = glob.trim().replace(/\\/g, '/');
  while (pattern.startsWith('./')) pattern = pattern.slice(2);
  const anchored = pattern.startsWith('/') || pattern.slice(0, -1).includes('/');
  pattern = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  const segments = pattern.split('/').filter((s) => s.length > 0);
  let source = '';
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    if (s === '**') {
      // Zero or more whole segments: `a/**` → `a(?:/.*)?`, `a/**/b` → `a/(?:[^/]+/)*b`.
      if (segments.length === 1) source += '.*';
      else if (i === segments.length - 1) source += '(?:/.*)?';
      else source += (i > 0 ? '/' : '') + '(?:[^/]+/)*';
      continue;
    }
    if (i > 0 && segments[i - 1] !== '**') source += '/';
    source += segmentSource(s);
  }
  // A match also covers everything below it (an ignored folder ignores its contents).
  const prefix = anchored ? '^' : '^(?:.*/)?';
  return new RegExp(`${prefix}${source}(?:/.*)?$`, foldCase ? 'i' : '');
}

/**
 * Why `glob` is not a pattern of the grammar above, or undefined when it is. Refused rather than
 * read literally, since each would silently match nothing the user meant: an empty pattern,
 * control characters, a `..` segment (patterns are relative to the root), negation (`!`), and
 * character classes or braces (`[abc]`, `{a,b}`: not supported).
 */
export function globProblem(glob: string): string | undefined {
  if (glob.trim() === '') return 'is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(glob)) return 'contains a control character';
  if (glob.startsWith('!')) return 'negation (!) is not supported: list only what to ignore';
  if (/[[\]{}]/.test(glob)) return 'character classes and braces ([…], {…}) are not supported: use *, ** and ?';
  if (glob.replace(/\\/g, '/').split('/').includes('..')) return 'climbs out of the served folder (..): patterns are relative to it';
  return undefined;
}

/**
 * A matcher that is true when any of `globs` matches; empty patterns are skipped. `foldCase`:
 * letters match either case (for paths on a file system that folds case).
 */
export function compileGlobs(globs: readonly string[], foldCase = false): PathMatcher {
  const regexps = globs.filter((g) => g.trim().length > 0).map((g) => globToRegExp(g, foldCase));
  return (relativePath) => {
    const path = relativePath.replace(/\\/g, '/').replace(/^\/+/, '');
    return regexps.some((r) => r.test(path));
  };
}
