/**
 * What the server adds to its answers beyond the files: configured headers per path glob, the
 * cross-origin isolation pair, and CORS (Fetch standard §3.2). Built once per configuration
 * (PreviewServer.listen / reconfigure); `prepare` runs per request and sets `ex.extraHeaders`,
 * which the connection adds to whatever response the exchange sends (files, pages, 404s).
 *
 * CORS is off unless configured. On: a request with an allowed `Origin` gets
 * `Access-Control-Allow-Origin` (`*` when any origin is allowed, else the origin itself with
 * `Vary: Origin`); credentials are never allowed. A preflight (OPTIONS with `Origin` and
 * `Access-Control-Request-Method`, §3.2.2) is answered 204 when the origin and method are allowed,
 * 403 otherwise (and always 403 while CORS is off), so a refusal is visible in the log. The methods
 * allowed are those the path is answered with: GET and HEAD for files, every method the proxy
 * passes on (all but CONNECT) under a proxied route.
 */
import type { Exchange } from '../http/connection';
import type { HeaderList, ReadonlyHeaderList } from '../http/request-record';
import { isToken } from '../http/http-grammar';
import { detachedString } from '../http/http-parser';
import { BoundedPathMap } from '../files/bounded-map';
import { compileGlobs, type PathMatcher } from '../reload/live-reload-glob';
import { resolveRequestPath } from '../files/resolve-path';
import { PLATFORM_NAME_FOLDING } from '../files/hidden-names';
import type { CorsOptions, HeaderRule } from '../options';
import { serializedOrigin } from '../config/validate-options';

/** The methods a preflight may ask for on files: the server answers no others (request-handler's ALLOW). */
const CORS_METHODS = ['GET', 'HEAD'];
/** The one method a proxied route does not pass to its back-end (reverse-proxy.ts answers it 405). */
const NOT_PROXIED = 'CONNECT';
/** How long a browser may cache a preflight's answer (seconds): short, since settings change. */
export const PREFLIGHT_MAX_AGE_S = 600;
/** Request header names a preflight may list before it is refused as abuse. */
const MAX_PREFLIGHT_HEADERS = 64;

const ISOLATION_HEADERS: HeaderList = [
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Embedder-Policy', 'require-corp'],
];

export interface ResponsePolicyOptions {
  readonly headers: readonly HeaderRule[];
  readonly crossOriginIsolation: boolean;
  readonly cors: CorsOptions;
}

/**
 * The root-relative path of a request target as the static side reads it (`/a/b.wasm?x` →
 * `a/b.wasm`): each segment percent-decoded once, dot segments and empty ones resolved
 * (resolveRequestPath), a trailing `/` kept. A rule's glob is then matched against the file the
 * answer is made from, whatever the spelling: `/sub/../admin/x.html`, `//admin/x.html` and
 * `/%61dmin/x.html` read `admin/x.html`, and got none of `admin/**`'s headers (an
 * `X-Frame-Options: DENY` left off). A target the static side refuses (400, 404 for an encoded
 * `/`) is matched decoded as a whole, as it is sent.
 */
function relativePathOf(rawPath: string): string {
  const resolved = resolveRequestPath(rawPath, true);
  if (resolved.kind === 'ok') return resolved.segments.join('/') + (resolved.trailingSlash && resolved.segments.length > 0 ? '/' : '');
  const q = rawPath.indexOf('?');
  const path = (q >= 0 ? rawPath.slice(0, q) : rawPath).replace(/^\/+/, '');
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

export class ResponsePolicy {
  private readonly rules: ReadonlyArray<{ readonly match: PathMatcher; readonly headers: HeaderList }>;
  private readonly always: HeaderList;
  private readonly origins: ReadonlySet<string> | 'any' | undefined;
  /**
   * headersFor's lists by path and allowed origin, bounded as BoundedPathMap says; each key a
   * string of its own (the path is the parser's copy; the origin is copied: detachedString).
   */
  private readonly headerLists = new BoundedPathMap<ReadonlyHeaderList>();

  constructor(options: ResponsePolicyOptions) {
    this.always = options.crossOriginIsolation ? ISOLATION_HEADERS : [];
    this.rules = options.headers.map((rule) => ({
      // Names compared as the file system compares them: `ADMIN/x.html` opens `admin/x.html` on macOS and Windows.
      match: compileGlobs([rule.source], PLATFORM_NAME_FOLDING !== 'exact'),
      headers: Object.entries(rule.headers),
    }));
    this.origins = !options.cors.enabled ? undefined : options.cors.origins.length === 0 ? 'any' : new Set(options.cors.origins.map(serializedOrigin));
  }

  /** True when nothing is ever added (the common case costs one check per request). */
  get inactive(): boolean {
    return this.always.length === 0 && this.rules.length === 0 && this.origins === undefined;
  }

  /**
   * Sets the exchange's extra headers. Returns true when it answered the request itself (a CORS
   * preflight, allowed or refused). `proxied`: the path is under a proxied route, whose back-end
   * answers every method but CONNECT (a preflight for POST to an API is allowed there).
   */
  prepare(ex: Exchange, proxied = false): boolean {
    if (this.inactive && !isPreflight(ex)) return false;
    const origin = ex.header('origin');
    const allowed = origin !== undefined && this.allowsOrigin(origin);
    ex.extraHeaders = this.headersFor(ex.head.path, this.origins !== undefined && allowed ? (this.origins === 'any' ? '*' : origin) : undefined);
    if (!isPreflight(ex)) return false;
    this.answerPreflight(ex, origin ?? '', allowed, proxied);
    return true;
  }

  /**
   * The headers added to an answer for `rawPath` (origin-form, query allowed) with
   * `Access-Control-Allow-Origin: allowOrigin` when CORS allows the request's origin: the
   * configured ones whose glob matches, in order, the last of a name winning, and `Vary: Origin`
   * when the allowed origins are a list. Frozen, and the same list for the same path and origin
   * while it is kept (headerLists): the connection merges a cached file's prepared head with a
   * list once and keeps the result by the list's identity (mergedHead), where a new list per
   * request made it serialise the whole head again.
   */
  private headersFor(rawPath: string, allowOrigin: string | undefined): ReadonlyHeaderList {
    // An Origin is a header value (no CR or LF, http-parser), so the key cannot be forged to match another.
    const key = allowOrigin === undefined ? rawPath : `${allowOrigin}\n${rawPath}`;
    const kept = this.headerLists.get(key);
    if (kept !== undefined) return kept;
    // Kept beyond the request: the origin's value is copied out of its head (detachedString).
    if (allowOrigin !== undefined) allowOrigin = detachedString(allowOrigin);
    const extra: HeaderList = [...this.always];
    if (this.rules.length > 0) {
      const path = relativePathOf(rawPath);
      for (const rule of this.rules) if (rule.match(path)) extra.push(...rule.headers);
    }
    if (allowOrigin !== undefined) extra.push(['Access-Control-Allow-Origin', allowOrigin]);
    const headers = dedupe(extra);
    // Vary is a list (RFC 9110 §12.5.5): the answer varies by Origin as well as by what a
    // configured Vary names (`Vary: Cookie`), so Origin is added beside it, never in its place.
    if (this.origins !== undefined && this.origins !== 'any') headers.push(['Vary', 'Origin']);
    for (const field of headers) Object.freeze(field);
    Object.freeze(headers);
    this.headerLists.set(detachedString(key), headers);
    return headers;
  }

  /**
   * True for a CORS-mode request (`Sec-Fetch-Mode: cors`, Fetch §3.2) whose `Origin` CORS allows:
   * its answer is meant to be read by that origin, so the cross-site rule lets it through.
   * A no-cors load (`<script src>`, `<img>`) from the same origin is not a CORS request.
   */
  allowsCorsRequest(ex: Exchange): boolean {
    if (this.origins === undefined) return false;
    const origin = ex.header('origin');
    return origin !== undefined && ex.header('sec-fetch-mode')?.trim().toLowerCase() === 'cors' && this.allowsOrigin(origin);
  }

  private allowsOrigin(origin: string): boolean {
    if (this.origins === undefined) return false;
    return this.origins === 'any' || this.origins.has(origin.toLowerCase());
  }

  private answerPreflight(ex: Exchange, origin: string, allowed: boolean, proxied: boolean): void {
    // The preflight's decision is its Access-Control-Allow-Methods and -Headers: a configured one
    // in their place told the browser other than what was decided (helper-176: an allowed request
    // header refused by `--header 'Access-Control-Allow-Headers: X-Token'`, methods the files
    // answer with 405 advertised). Configured ones still go on every other answer.
    if (ex.extraHeaders !== undefined) ex.extraHeaders = ex.extraHeaders.filter(([name]) => !PREFLIGHT_FIELDS.has(name.toLowerCase()));
    ex.bodyOrigin = 'porthole';
    const refuse = (note: string, message: string): void => {
      ex.note = note;
      ex.refuse(403, `${message}\n`, [['Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers']]);
    };
    if (this.origins === undefined) {
      refuse(`CORS preflight from ${origin} refused: CORS is off`, 'Forbidden: cross-origin requests are off on this server (start it with --cors, or set "cors" in porthole.config.json).');
      return;
    }
    if (!allowed) {
      refuse(`CORS preflight from ${origin} refused: origin not in cors.origins`, 'Forbidden: this origin is not in the allowed CORS origins.');
      return;
    }
    const method = ex.header('access-control-request-method') ?? '';
    if (proxied ? !isToken(method) || method.toUpperCase() === NOT_PROXIED : !CORS_METHODS.includes(method)) {
      const only = proxied ? `every method but ${NOT_PROXIED} is passed to the back-end` : `only ${CORS_METHODS.join(', ')}`;
      refuse(`CORS preflight for ${method} refused`, `Forbidden: ${method} is not answered here (${only}).`);
      return;
    }
    const asked = (ex.header('access-control-request-headers') ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h.length > 0);
    if (asked.length > MAX_PREFLIGHT_HEADERS || !asked.every(isToken)) {
      refuse('CORS preflight with malformed Access-Control-Request-Headers', 'Forbidden: Access-Control-Request-Headers is not a list of header names.');
      return;
    }
    const headers: HeaderList = [
      // Under a proxied route, the method asked (the back-end answers it): the browser checks only that one.
      ['Access-Control-Allow-Methods', proxied && !CORS_METHODS.includes(method) ? `${CORS_METHODS.join(', ')}, ${method}` : CORS_METHODS.join(', ')],
      ['Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S)],
      ['Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'],
    ];
    if (asked.length > 0) headers.push(['Access-Control-Allow-Headers', asked.join(', ')]);
    ex.respond(204, headers);
  }
}

/** The fields a preflight's answer decides (Fetch §3.2.3): never a configured one in their place. */
const PREFLIGHT_FIELDS: ReadonlySet<string> = new Set(['access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age', 'access-control-allow-credentials']);

/** A CORS preflight (Fetch §3.2.2): OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(ex: Exchange): boolean {
  return ex.method === 'OPTIONS' && ex.header('origin') !== undefined && ex.header('access-control-request-method') !== undefined;
}

/**
 * Later entries win over earlier ones of the same name (a rule for `*.wasm` over one for `**`),
 * but for `Vary`, whose values are joined (a list), and `Set-Cookie`, each of which is a field of
 * its own (RFC 9110 §5.3: never combined; each rule's cookie is set).
 */
function dedupe(headers: HeaderList): HeaderList {
  const seen = new Map<string, number>();
  const out: HeaderList = [];
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const at = seen.get(key);
    if (at === undefined || key === 'set-cookie') {
      seen.set(key, out.length);
      out.push([name, value]);
    } else if (key === 'vary') {
      // A list (RFC 9110 §12.5.5): what an earlier rule names still selects the answer (helper-176:
      // a `**/*.txt` rule's `Vary: Accept-Language` dropped a `**` rule's `Vary: Cookie`).
      out[at] = [name, `${out[at]?.[1] ?? ''}, ${value}`];
    } else {
      out[at] = [name, value];
    }
  }
  return out;
}
