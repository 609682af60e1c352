/**
 * Proxy routes: parsing (`/api=http://127.0.0.1:3000`, the CLI flag and the settings share it),
 * validation, and the longest-prefix match.
 *
 * A prefix is a URL path: `/api` matches `/api`, `/api/…` and `/api?…`, never `/apix`; `/` matches
 * every path. Paths are compared as sent (percent-encoded), and the request target is passed to the
 * back-end unchanged: the target is an origin only (no path), so what the browser asked for is
 * what the back-end sees.
 */
import { RESERVED_PREFIX, type ProxyRoute } from '../options';

/** A validated route, ready to match. */
export interface CompiledRoute {
  /** Without a trailing `/` (except `/` itself). */
  readonly prefix: string;
  /** `http://host:port` (scheme, host and port only). */
  readonly origin: string;
  /** The target's `host[:port]`, sent as Host when rewriting it. */
  readonly authority: string;
  readonly secure: boolean;
}

/**
 * Splits `PREFIX=URL` (the first `=`). Returns the route or a message naming what is wrong; the
 * route is not validated yet (see compileRoutes).
 */
export function parseProxySpec(spec: string): ProxyRoute | string {
  const eq = spec.indexOf('=');
  if (eq <= 0) return `a proxy route is PREFIX=URL (e.g. /api=http://127.0.0.1:3000), not "${spec}"`;
  return { prefix: spec.slice(0, eq).trim(), target: spec.slice(eq + 1).trim() };
}

/** One route checked; a message saying what to change when it is not usable. */
export function compileRoute(route: ProxyRoute): CompiledRoute | string {
  const { prefix, target } = route;
  // Paths are matched as sent: a request target holds visible ASCII only (RFC 9112 §3.2), so a
  // prefix with anything else could never match (and must not reach a terminal raw).
  if (!prefix.startsWith('/') || /[^\x21-\x7e]|[?#]/.test(prefix)) {
    return `proxy prefix "${prefix}" must be a URL path starting with / (visible ASCII, percent-encode the rest; no spaces, ? or #)`;
  }
  const reserved = RESERVED_PREFIX.slice(0, -1);
  if (prefix === reserved || prefix.startsWith(RESERVED_PREFIX)) {
    return `proxy prefix "${prefix}" is Porthole's own (${RESERVED_PREFIX}); choose another`;
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return `proxy target "${target}" is not a URL; write it like http://127.0.0.1:3000`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `proxy target "${target}" must be http:// or https://`;
  }
  if (url.username !== '' || url.password !== '') return `proxy target "${target}" must not carry a user name or password`;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return `proxy target "${target}" must be an origin only (scheme, host, port): the request path is sent to it unchanged`;
  }
  const trimmed = prefix.length > 1 ? prefix.replace(/\/+$/, '') || '/' : prefix;
  return { prefix: trimmed, origin: url.origin, authority: url.host, secure: url.protocol === 'https:' };
}

/** Every route checked, longest prefix first; the first problem as a message. */
export function compileRoutes(routes: readonly ProxyRoute[]): CompiledRoute[] | string {
  const out: CompiledRoute[] = [];
  const seen = new Set<string>();
  for (const route of routes) {
    const compiled = compileRoute(route);
    if (typeof compiled === 'string') return compiled;
    if (seen.has(compiled.prefix)) return `proxy prefix "${compiled.prefix}" is given twice`;
    seen.add(compiled.prefix);
    out.push(compiled);
  }
  return out.sort((a, b) => b.prefix.length - a.prefix.length);
}

/**
 * True when the path (before `?`) could name something other than what its prefix says once a
 * back-end resolves it: a dot segment (`.`, `..`, percent-encoded or not — RFC 3986 §5.2.4
 * removes them, §6.2.2.2 decodes `%2E`), also behind a separator hidden in a segment (`..%2F`,
 * `..\`, `..%5C`: some back-ends decode or take `\` as `/` before resolving). Browsers never send
 * such a path (the URL standard removes dot segments first), so it is not forwarded at all: the
 * static side resolves or refuses it.
 */
export function mayClimb(path: string): boolean {
  for (const raw of path.split('/')) {
    if (raw.length === 0 || (!raw.includes('.') && !raw.includes('%') && !raw.includes('\\'))) continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      segment = raw.replace(/%2e/gi, '.');
    }
    // `%2F` alone is an ordinary byte of a name (`@scope%2Fname`); only a dot piece climbs.
    for (const piece of segment.split(/[/\\]/)) if (piece === '.' || piece === '..') return true;
  }
  return false;
}

/**
 * The route for a request path (query allowed), longest prefix first (`routes` sorted so); never
 * one for a path that may climb out of its prefix at the back-end (mayClimb).
 */
export function matchRoute(routes: readonly CompiledRoute[], path: string): CompiledRoute | undefined {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  if (mayClimb(p)) return undefined;
  for (const route of routes) {
    if (route.prefix === '/') return route;
    if (p === route.prefix || (p.startsWith(route.prefix) && p.charCodeAt(route.prefix.length) === 0x2f)) return route;
  }
  return undefined;
}
