/**
 * Proxy routes: parsing (`/api=http://127.0.0.1:3000`, the CLI flag and the settings share it),
 * validation, and the longest-prefix match.
 *
 * A prefix is a URL path: `/api` matches `/api`, `/api/…` and `/api?…`, never `/apix`; `/` matches
 * every path. Paths are compared as sent (percent-encoded), and the request target is passed to the
 * back-end unchanged: the target is an origin only (no path), so what the browser asked for is
 * what the back-end sees.
 */
import { isUtf8 } from 'node:buffer';
import { canonicalHostName, isLoopbackBind, normaliseIp } from '../access/access-policy';
import { RESERVED_PREFIX, type ProxyRoute } from '../options';

/** A validated route, ready to match. */
export interface CompiledRoute {
  /** Without a trailing `/` (except `/` itself). */
  readonly prefix: string;
  /** The prefix's segments, each percent-decoded as the static side decodes a path's (`[]` for `/`); for routeHolding. */
  readonly segments: readonly string[];
  /** `http://host:port` (scheme, host and port only). */
  readonly origin: string;
  /** The target's `host[:port]`, sent as Host when rewriting it. */
  readonly authority: string;
  readonly secure: boolean;
  /** The back-end's TCP port (the scheme's default when the URL names none). */
  readonly port: number;
  /** The target's host without IPv6 brackets, an IPv4-mapped address as plain IPv4 (normaliseIp). */
  readonly address: string;
  /**
   * The host names this machine: a loopback address, `localhost` or `*.localhost` (RFC 6761 §6.3),
   * or the unspecified address (`0.0.0.0`, `0`, `[::]`), which a connection reaches as loopback.
   */
  readonly local: boolean;
}

/**
 * True for the unspecified address (`0.0.0.0`, which the URL parser makes of `0` and `0x0` too;
 * `::` however written): a connection to it reaches this machine (Linux: loopback), so a route
 * there is a route to this machine (helper-171: `http://0.0.0.0:<own port>` looped 223 times).
 */
export function isUnspecifiedAddress(address: string): boolean {
  return address === '0.0.0.0' || (address.includes(':') && /^[0:]+$/.test(address));
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
  const secure = url.protocol === 'https:';
  const address = normaliseIp(url.hostname.replace(/^\[|\]$/g, ''));
  return {
    prefix: trimmed,
    segments: trimmed
      .split('/')
      .filter((segment) => segment.length > 0)
      .map((segment) => {
        try {
          return decodeURIComponent(segment);
        } catch {
          return segment;
        }
      }),
    origin: url.origin,
    authority: url.host,
    secure,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    address,
    local: isLoopbackBind(url.hostname) || canonicalHostName(url.hostname).endsWith('.localhost') || isUnspecifiedAddress(address),
  };
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
 * Rounds of percent-decoding a segment is checked through. Each round undoes one layer that a chain
 * of decoders at the back-end may undo (a gateway, the app server, a framework filter: RFC 3986
 * §2.4 forbids decoding a string twice, and the second decode is the classic `%252e` bypass).
 * Decoding goes on while it changes something (each round that does shortens the segment, so the
 * work is bounded by its length); this cap only stops a pathological 8-deep encoding early, and
 * such a segment is refused (see mayClimb).
 */
const MAX_DECODE_ROUNDS = 8;

/** One run of `%XX` escapes (a UTF-8 sequence is always one run: request targets are ASCII). */
const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/**
 * One round of percent-decoding (RFC 3986 §2.1). Unlike decodeURIComponent, a `%` that starts no
 * escape stays as it is (`100%25` decoded once is `100%`, whose next round changes nothing), so
 * only the escapes are judged. Undefined when the escapes are not valid UTF-8 (RFC 3629 §3: an
 * overlong form such as `%c0%af` for `/`, a lone `%ff`): a lenient decoder takes `%c0%af` for `/`.
 */
function decodeEscapes(text: string): string | undefined {
  let invalid = false;
  const out = text.replace(ESCAPE_RUN, (run) => {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    if (!isUtf8(bytes)) invalid = true;
    return bytes.toString('utf8');
  });
  return invalid ? undefined : out;
}

/**
 * True when a decoded segment holds a dot segment: `.` or `..` once split on `/` and `\` (a back-end
 * may decode `%2F` or take `\` as `/` before resolving) and once a `;` path parameter is dropped
 * (RFC 3986 §3.3 leaves `;` to the scheme; Tomcat, Jetty and Spring remove `;…` from each segment
 * and then resolve `..;` as `..`). Judged as sent and, when it holds any non-ASCII character, once
 * more as a back-end that folds characters may read it: NFKC (full-width `．`, `／`, `＼`, `；`,
 * the small `﹨`, the two-dot leader `‥`) with the slashes a best-fit code-page mapping or a
 * look-alike check takes for separators (SLASH_LIKE): `..／admin` is `../admin` there (helper-140:
 * the compatibility dots were caught, a compatibility slash after real dots was not).
 */
function holdsDotSegment(segment: string): boolean {
  if (piecesHoldDots(segment)) return true;
  return hasNonAscii(segment) && piecesHoldDots(foldSeparators(segment));
}

/** `segment` as a back-end that folds characters may read it: NFKC, then SLASH_LIKE as `/`. */
function foldSeparators(segment: string): string {
  return segment.normalize('NFKC').replace(SLASH_LIKE, '/');
}

/**
 * Characters no NFKC folds to `/` or `\` that a back-end may still take for one: Windows'
 * best-fit mapping to a code page (the division and fraction slashes, set minus; the yen and won
 * signs, which are `\` in Japanese and Korean code pages) and the big solidi.
 */
const SLASH_LIKE = /[\u2215\u2044\u29f8\u29f9\u2216\u00a5\u20a9]/g;

/** True when a piece of `segment` between `/` and `\` is `.` or `..` up to where a back-end may end it. */
function piecesHoldDots(segment: string): boolean {
  for (const piece of segment.split(/[/\\]/)) {
    // What a back-end may take for the end of the segment: a `;` parameter, a `#` or `?` (a raw
    // `#` is no part of an origin-form target, RFC 9112 §3.2.1, but a WHATWG URL parser cuts the
    // path there), a NUL (C strings), trailing whitespace (Windows trims it).
    const name = piece.split(/[;#?\0]/, 1)[0]?.replace(/[\s]+$/, '') ?? '';
    if (isDots(name)) return true;
  }
  return false;
}

function hasNonAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return true;
  return false;
}

function isDots(name: string): boolean {
  return name === '.' || name === '..';
}

/**
 * True when the path (before `?`) could name something other than what its prefix says once a
 * back-end resolves it: a dot segment (`.`, `..` — RFC 3986 §5.2.4 removes them, §6.2.2.2 decodes
 * `%2E`), also behind a separator hidden in a segment (`..%2F`, `..\`, `..%5C`), behind a `;`
 * parameter (`..;`, `%2e%2e;x`) or a `#`, `?`, NUL or trailing whitespace, as compatibility dots
 * (`%EF%BC%8E`, `‥`), or encoded more than once (`%252e%252e`: every decode is checked, up to
 * MAX_DECODE_ROUNDS). Percent-escapes that are not valid UTF-8 (`%c0%af`,
 * `%ff`), at any round, count as climbing too: the static side then answers 400 as for any such
 * path (resolve-path.ts) or 404 for a name it takes literally. Browsers never send such a path
 * (the URL standard removes dot segments first), so it is not forwarded at all: the static side
 * resolves or refuses it, and one that lies under a prefix once resolved is a 400 (routeHolding).
 */
export function mayClimb(path: string): boolean {
  for (const raw of path.split('/')) {
    if (raw.length === 0 || (!raw.includes('.') && !raw.includes('%') && !raw.includes('\\') && !hasNonAscii(raw))) continue;
    // `%2F` alone is an ordinary byte of a name (`@scope%2Fname`); only a dot piece climbs.
    if (segmentMayClimb(raw)) return true;
  }
  return false;
}

/** The most readings of one segment looked at (segmentMayClimb); a segment with more is refused. */
const MAX_READINGS = 64;

/**
 * True when some reading of `raw` a chain of back-end decoders may make holds a dot segment
 * (holdsDotSegment). A reading is the segment after any sequence, up to MAX_DECODE_ROUNDS long, of:
 * a percent-decode (decodeEscapes; escapes that are not UTF-8 climb), a decode of IIS's and
 * JavaScript unescape()'s `%uXXXX` (decodeUnicodeEscapes: `%u002e%u002e` is `..` there), and a fold
 * (NFKC, best-fit slashes: foldSeparators), each in any order: a full-width `％` folds to `%`, and a
 * second decode then reads what follows (helper-143: `%EF%BC%852e%EF%BC%852e` is `..` to a
 * back-end that decodes, folds and decodes). A segment still changing after MAX_DECODE_ROUNDS, or
 * with more than MAX_READINGS readings, is refused: no real name is encoded that deep.
 */
function segmentMayClimb(raw: string): boolean {
  const seen = new Set<string>([raw]);
  let readings = [raw];
  for (let round = 0; readings.length > 0; round++) {
    const next: string[] = [];
    for (const reading of readings) {
      if (holdsDotSegment(reading)) return true;
      const decoded = reading.includes('%') ? decodeEscapes(reading) : reading;
      if (decoded === undefined) return true;
      for (const other of [decoded, decodeUnicodeEscapes(reading), hasNonAscii(reading) ? foldSeparators(reading) : reading]) {
        if (seen.has(other)) continue;
        seen.add(other);
        next.push(other);
      }
    }
    if (next.length > 0 && (round === MAX_DECODE_ROUNDS || seen.size > MAX_READINGS)) return true;
    readings = next;
  }
  return false;
}

/** `%uXXXX` escapes (IIS, JavaScript's unescape()) decoded to their UTF-16 code unit; the rest as it is. */
function decodeUnicodeEscapes(text: string): string {
  return text.includes('%u') || text.includes('%U') ? text.replace(/%[uU]([0-9A-Fa-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : text;
}

/**
 * The route for a request path (query allowed), longest prefix first (`routes` sorted so); never
 * one for a path that may climb out of its prefix at the back-end (mayClimb), nor for a target
 * that is no path (`*`, CONNECT's authority).
 */
export function matchRoute(routes: readonly CompiledRoute[], path: string): CompiledRoute | undefined {
  const q = path.indexOf('?');
  const p = q >= 0 ? path.slice(0, q) : path;
  // Only an origin-form path names a resource under a prefix: `*` (OPTIONS about the server
  // itself) and CONNECT's authority are Porthole's to answer, even under a route for `/`
  // (undici takes no such path: `*` got a 502 blaming a back-end it never asked).
  if (p.charCodeAt(0) !== 0x2f) return undefined;
  if (mayClimb(p)) return undefined;
  for (const route of routes) {
    if (route.prefix === '/') return route;
    if (p === route.prefix || (p.startsWith(route.prefix) && p.charCodeAt(route.prefix.length) === 0x2f)) return route;
  }
  return undefined;
}

/**
 * The route whose prefix holds the resolved request path `segments` (resolveRequestPath's:
 * each percent-decoded once, dot segments resolved, empty ones dropped), longest prefix first, or
 * undefined. That part of the URL space is the back-end's: the static side must not answer it
 * from the folder when the path was spelt so that matchRoute did not take it (`/%61pi/x`,
 * `/api/./x`, `//api/x`, `/x/../api/x`, helper-160), or the files a route shadows (the back-end's
 * sources under `/`) were read through a second spelling. `sameName`: whether a prefix's segment
 * and the path's name the same thing (as the file system compares names when the folder would
 * be read: `API/x` opens `api/x` on macOS and Windows; exactly, as a back-end reads them, by default).
 */
export function routeHolding(
  routes: readonly CompiledRoute[],
  segments: readonly string[],
  sameName: (prefixSegment: string, segment: string) => boolean = (a, b) => a === b,
): CompiledRoute | undefined {
  for (const route of routes) {
    const prefix = route.segments;
    if (prefix.length > segments.length) continue;
    let i = 0;
    while (i < prefix.length && sameName(prefix[i] as string, segments[i] as string)) i++;
    if (i === prefix.length) return route;
  }
  return undefined;
}

/**
 * A back-end's `Location` (or `Content-Location`) that points at a back-end's own origin, as a
 * path on Porthole (`http://127.0.0.1:3000/api/next?x` → `/api/next?x`), when that path is routed
 * to that very back-end: the browser then stays on Porthole's origin (live reload, cookies, CORS),
 * as nginx's `proxy_redirect default` keeps it on the proxy's. Undefined (leave it as it is) for
 * a relative reference, another origin, a path Porthole would not send to that back-end, or one
 * that would read as another host once relative (`//host/…`).
 */
export function rewriteBackendLocation(routes: readonly CompiledRoute[], value: string): string | undefined {
  const trimmed = value.trim();
  if (!/^https?:\/\//i.test(trimmed)) return undefined;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  // A path that starts with `//` (`http://127.0.0.1:3000//evil.example/`, or `/\evil.example/`,
  // which the URL parser makes one) is a network-path reference once written alone (RFC 3986
  // §4.2): the browser would go to evil.example. It stays absolute, at the back-end's own address.
  if (path.startsWith('//')) return undefined;
  const route = matchRoute(routes, path);
  if (route === undefined || route.origin !== url.origin || url.username !== '' || url.password !== '') return undefined;
  return path;
}

/**
 * The delay and separator of a Refresh value (`5; url=`, `0;URL='`, `0, `, `0 `), the URL, and the
 * quote around it, as the HTML Standard's shared declarative refresh steps read them (§7.11.1):
 * digits and dots, then `;` or `,` with ASCII whitespace around it, or ASCII whitespace alone
 * (`0 http://…` is a redirect in the browser too; it went on naming the back-end's address), an
 * optional `url=`, an optional quote. ASCII whitespace is TAB, LF, FF, CR and SP (Infra §4.6):
 * not `\s`, which takes U+00A0 too, where the browser does not.
 */
const REFRESH = /^([\t\n\f\r ]*[\d.]+(?:[\t\n\f\r ]*[;,][\t\n\f\r ]*|[\t\n\f\r ]+)(?:url[\t\n\f\r ]*=[\t\n\f\r ]*)?)(['"]?)(.*?)(\2[\t\n\f\r ]*)$/is;

/**
 * A back-end's `Refresh` (`0; url=http://127.0.0.1:3000/api/next`) with its URL rewritten as
 * rewriteBackendLocation rewrites a Location (`0; url=/api/next`): browsers follow it as a
 * redirect, and nginx's `proxy_redirect` rewrites both fields. Undefined (leave it as it is) for a
 * value without a URL (`30`), or whose URL rewriteBackendLocation leaves.
 */
export function rewriteBackendRefresh(routes: readonly CompiledRoute[], value: string): string | undefined {
  const m = REFRESH.exec(value);
  if (m === null) return undefined;
  const [, lead = '', quote = '', url = '', tail = ''] = m;
  const rewritten = rewriteBackendLocation(routes, url);
  return rewritten === undefined ? undefined : `${lead}${quote}${rewritten}${tail}`;
}
