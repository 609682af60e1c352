/**
 * Mounts: more folders served under URL prefixes (`--mount /vendor=./node_modules/x`), beside the
 * root. Parsing (`PREFIX=FOLDER`: the CLI flag, the setting and the config file share it),
 * validation of a prefix, and the longest-prefix match on a request's resolved segments.
 *
 * A prefix is matched on the request path's segments after resolve-path decoded them once and
 * resolved dot segments (so `/vendor/../x` is the root's `/x`, and `%2e%2e` or `%2f` can never
 * climb out of a mount: the segments below the prefix are joined to the mount folder and judged
 * by open-contained against the mount folder's real path, as the root's are against the root).
 * `/vendor` matches `/vendor`, `/vendor/…`, never `/vendorx`. Every rule of the root applies
 * inside a mount: hidden names, symlinks that leave the mount (refused unless followSymlinks),
 * index files, listings, validators, ranges, live reload.
 */
import { resolve } from 'node:path';
import { RESERVED_PREFIX, type Mount } from '../options';
import { hasMalformedEscape } from './resolve-path';

/** A mount ready to match: its prefix as decoded segments and its folder's real path. */
export interface MountedFolder {
  /** The prefix as written, without a trailing `/` (`/vendor`). */
  readonly prefix: string;
  /** The prefix's segments, percent-decoded once (`['vendor']`). */
  readonly segments: readonly string[];
  /** The folder, resolved with realpath. */
  readonly real: string;
}

/**
 * Splits `PREFIX=FOLDER` at the first `=`. Returns the mount (the folder as written: the caller
 * resolves it against its own base) or a message saying what is wrong; the prefix is checked by
 * mountPrefixProblem.
 */
export function parseMountSpec(spec: string): Mount | string {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) return `a mount is PREFIX=FOLDER (e.g. /vendor=./node_modules/x), not "${spec}"`;
  return { prefix: spec.slice(0, eq).trim(), folder: spec.slice(eq + 1).trim() };
}

/**
 * The segments of a mount prefix (percent-decoded once), or a message saying what to write
 * instead. A prefix is a URL path below `/` (not `/` itself: that is the root), visible ASCII
 * (percent-encode the rest), without `?`, `#`, `=` (it ends the prefix of `PREFIX=FOLDER`), backslashes, empty, dot or hidden (`.name`)
 * segments (a hidden path is never served, so such a mount could never answer), and not under
 * Porthole's own prefix (RESERVED_PREFIX).
 */
export function mountPrefixSegments(prefix: string): string[] | string {
  const shown = `mount prefix "${prefix}"`;
  if (!prefix.startsWith('/') || /[^\x21-\x7e]|[?#=\\]/.test(prefix)) {
    return `${shown} must be a URL path starting with / (visible ASCII, percent-encode the rest; no spaces, ?, #, = or \\)`;
  }
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') return `${shown} is the root itself; mount a folder under a path such as /vendor`;
  const segments: string[] = [];
  for (const raw of trimmed.slice(1).split('/')) {
    let part: string;
    try {
      part = decodeURIComponent(raw);
    } catch {
      return hasMalformedEscape(raw)
        ? `${shown} has a malformed percent-encoding: each "%" must be followed by two hex digits (a literal "%" is %25)`
        : `${shown} has percent-escapes that are not UTF-8 (such as %FF): percent-encode the prefix's UTF-8 bytes`;
    }
    if (part === '') return `${shown} has an empty segment (//)`;
    if (part === '.' || part === '..') return `${shown} has a dot segment (. or ..)`;
    if (segments.length === 0 && part === '.well-known') {
      return `${shown} is the site's /.well-known (RFC 8615), which the root's own .well-known folder answers: put the files there, or link them in, instead of a mount`;
    }
    if (part.startsWith('.')) return `${shown} has a hidden segment ("${part}" starts with a dot; such paths are never served)`;
    if (/[/\\\0]/.test(part)) return `${shown} encodes a separator or NUL in a segment`;
    segments.push(part);
  }
  if (`/${segments.join('/')}/`.toLowerCase().startsWith(RESERVED_PREFIX.toLowerCase())) {
    return `${shown} is Porthole's own (${RESERVED_PREFIX}: live reload); choose another`;
  }
  return segments;
}

/** The prefix without its trailing `/`s (what matching and messages use). */
export function normalMountPrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '') || '/';
}

/**
 * Why a mount's prefix clashes with a proxied route (the proxy takes every request under its
 * prefix, so a mount at or below it could never answer), or undefined. A route below a mount is
 * allowed: the longer prefix (the route) wins for its own paths. Proxy prefixes are compared
 * percent-decoded, as mounts are matched.
 */
export function mountProxyClash(mountSegments: readonly string[], proxyPrefixes: readonly string[]): string | undefined {
  for (const proxy of proxyPrefixes) {
    const trimmed = proxy.replace(/\/+$/, '');
    let proxySegments: string[];
    try {
      proxySegments = trimmed === '' ? [] : trimmed.slice(1).split('/').map((s) => decodeURIComponent(s));
    } catch {
      continue;
    }
    if (proxySegments.length <= mountSegments.length && proxySegments.every((s, i) => s === mountSegments[i])) {
      return `lies under the proxy route "${proxy === '' ? '/' : proxy}", which would take every request for it; choose another prefix`;
    }
  }
  return undefined;
}

/**
 * Which folder a request's resolved segments lie in: the mount with the longest prefix that the
 * segments start with (`mounts` in any order), and the segments below it; undefined = the root.
 */
export function mountFor(
  segments: readonly string[],
  mounts: readonly MountedFolder[] | undefined,
): { readonly mount: MountedFolder; readonly rest: readonly string[] } | undefined {
  if (mounts === undefined) return undefined;
  let best: MountedFolder | undefined;
  for (const m of mounts) {
    if (m.segments.length > segments.length || (best !== undefined && best.segments.length >= m.segments.length)) continue;
    if (m.segments.every((s, i) => s === segments[i])) best = m;
  }
  return best === undefined ? undefined : { mount: best, rest: segments.slice(best.segments.length) };
}

/**
 * Mounts from an object of prefix → folder (`{ "/vendor": "node_modules/x" }`: the config file's
 * `mounts` and the `porthole.mounts` setting), or a list of `PREFIX=FOLDER` strings (parseMountSpec),
 * each folder resolved against `base` (the served folder for the file, the workspace folder for the
 * setting; an absolute folder stays as it is). A message for an entry that is not a mount.
 */
export function mountsFrom(value: unknown, base: string): Mount[] | string {
  const out: Mount[] = [];
  if (Array.isArray(value)) {
    for (const entry of value as unknown[]) {
      if (typeof entry !== 'string') return 'each mount is a "PREFIX=FOLDER" string';
      const m = parseMountSpec(entry);
      if (typeof m === 'string') return m;
      out.push({ prefix: m.prefix, folder: resolve(base, m.folder) });
    }
    return out;
  }
  if (typeof value !== 'object' || value === null) return 'must be an object of prefix → folder, e.g. { "/vendor": "node_modules/x" }';
  for (const [prefix, folder] of Object.entries(value as Record<string, unknown>)) {
    if (typeof folder !== 'string' || folder.trim() === '') return `mount "${prefix}" needs a folder (a non-empty string)`;
    out.push({ prefix, folder: resolve(base, folder) });
  }
  return out;
}
