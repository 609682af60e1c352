/**
 * What the server does with a parsed request, in order: client filter (allowedClients), Host check
 * (DNS rebinding), response policy (configured headers, CORS preflights; proxied routes too),
 * cross-site loads (Fetch Metadata, unless `crossSiteLoads` or CORS allows the request's origin;
 * proxied routes too: a back-end behind Porthole gets the same guard), then GET and HEAD outside
 * the reserved prefix wait while live reload's changed files settle (`hold`: a page reloaded at
 * once is answered with the whole save), proxied routes (any method; never Porthole's own
 * live-reload endpoints; no SPA fallback: the back-end answers its own paths; an OPTIONS or TRACE
 * with `Max-Forwards: 0` stays here, RFC 9110 §7.6.2), method (RFC 9110
 * §9), reserved `/__porthole/` endpoints, the single-page-app fallback, then static files (the
 * root and the mounts, with clean URLs when on).
 * Refusals are plain-text answers whose reason also goes into the log record's note.
 */
import { escapeForDisplay } from '../text/display-text';
import type { Exchange } from '../http/connection';
import { fetchSiteClass, loaderUnnamed, loopbackPageOfOtherName, type ClientFilter, type HostPolicy } from '../access/access-policy';
import type { HeaderList } from '../http/request-record';
import { lstatSync, statSync } from 'node:fs';
import { answeringNode, existsForRequest, placeSegments, refuseBadPath, sendNotFound, serveCachedHit, serveStatic, type StaticOptions } from '../files/static-files';
import { guardAt, guardedRefusalAt, type RequestOrigin } from '../files/loopback-only';
import { nodeKind } from '../text/fs-problem';
import { encodePathSegments, resolveRequestPath } from '../files/resolve-path';
import { PLATFORM_NAME_FOLDING, sameFileName } from '../files/hidden-names';
import { typeFromName } from '../files/content-type';
import { RESERVED_PREFIX } from '../options';
import { spaFileSegments } from '../config/config-file';
import { ENDPOINT_PATHS, type PageHooks } from '../reload/live-reload';
import { isDocumentNavigation } from '../reload/live-reload-inject';
import { isPreflight, type ResponsePolicy } from './response-policy';
import type { ReverseProxy } from '../proxy/reverse-proxy';
import type { CompiledRoute } from '../proxy/proxy-routes';
import { maxForwards, PROXIED_ALLOW } from '../proxy/proxy-headers';

export const ALLOW = 'GET, HEAD, OPTIONS';
const KNOWN_NOT_ALLOWED = new Set(['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT']);

/** True for a method this server answers 405 or 501 whatever the request says (no body needed). */
export function refusesMethod(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

export interface HandlerContext extends PageHooks {
  readonly hosts: HostPolicy;
  /** Replaced as a whole by PreviewServer.reconfigure. */
  clients: ClientFilter;
  /** Replaced as a whole by PreviewServer.reconfigure. */
  files: StaticOptions;
  /** Configured headers and CORS; replaced as a whole by PreviewServer.reconfigure. */
  policy: ResponsePolicy;
  /** The SPA fallback file (root-relative, `/` separators) or undefined when off. */
  spa: string | undefined;
  /** Answer cross-site subresource loads (ServerOptions.crossSiteLoads); reconfigurable. */
  crossSiteLoads: boolean;
  /** Proxied routes (`--proxy`), undefined when there are none. */
  readonly proxy: ReverseProxy | undefined;
}

/**
 * The proxied route for a path, if any. Live reload's own endpoints stay Porthole's even under a
 * `/` route. The connection asks this too (before reading a body) so that the two agree.
 */
export function proxyRouteFor(ctx: HandlerContext, path: string): CompiledRoute | undefined {
  if (ctx.proxy === undefined) return undefined;
  if (ctx.reserved !== undefined && path.startsWith(RESERVED_PREFIX)) return undefined;
  return ctx.proxy.match(path);
}

/** A plain-text refusal (Exchange.refuse); `message` may quote the client (its Host, its path), so it is shown escaped. */
function refuse(ex: Exchange, status: number, message: string, extra: HeaderList = []): void {
  ex.refuse(status, `${escapeForDisplay(message)}\n`, extra);
}

/**
 * True when a GET for `path` (origin-form, query allowed) is answered before the files are looked
 * at: by a proxied route, or by live reload's own endpoints while it is on (`/__porthole/client.js`
 * is Porthole's client then, whatever file of that name the folder holds).
 */
export function answeredBeforeFiles(ctx: HandlerContext, path: string): boolean {
  if (proxyRouteFor(ctx, path) !== undefined) return true;
  const q = path.indexOf('?');
  return ctx.reserved !== undefined && ENDPOINT_PATHS.has(q >= 0 ? path.slice(0, q) : path);
}

/** The Vary of a same-site load's answer (Exchange.sameSiteLoad). */
const SAME_SITE_VARY = 'Sec-Fetch-Site';

/**
 * A malformed target (climbing above the root, NUL, a backslash, bad percent-encoding:
 * resolveRequestPath's `bad-request`) is the same 400 whatever the method, as nginx refuses it
 * when it parses the request line: OPTIONS (a CORS preflight too) answered 204 and POST 405 to
 * `/../x` (helper-150). GET and HEAD are judged by the file stage (static-files), after the file
 * cache, so a cached file costs no second look; a proxied path by the proxy's own rules; `*`
 * (OPTIONS's asterisk-form) and CONNECT's authority-form name no path. True when refused.
 */
function refusedMalformedTarget(ex: Exchange, ctx: HandlerContext): boolean {
  const method = ex.method;
  if (method === 'GET' || method === 'HEAD' || !ex.head.path.startsWith('/') || proxyRouteFor(ctx, ex.head.path) !== undefined) return false;
  const resolved = resolveRequestPath(ex.head.path, ctx.files.dotfiles);
  if (resolved.kind !== 'bad-request') return false;
  refuseBadPath(ex, resolved.reason);
  return true;
}

export function handleRequest(ex: Exchange, ctx: HandlerContext): void {
  if (!ctx.clients.allows(ex.clientIp) && !ex.fromOwnAddress) {
    ex.note = `client ${ex.clientIp} is not in allowedClients`;
    refuse(ex, 403, 'Forbidden: this device is not allowed to use this server.');
    return;
  }
  if (!ctx.hosts.allows(ex.head.host)) {
    ex.note = `Host not allowed: ${ex.head.host ?? ''}`;
    // Names what adds a host for real: `allowedHosts` in porthole.config.json is refused (a cloned
    // folder must not widen this guard), so the bare key sent users to the one place that fails.
    refuse(
      ex,
      403,
      'Forbidden: this server does not answer to that host name (a guard against DNS rebinding). If the name is yours, add it with --allowed-host NAME (CLI) or the porthole.allowedHosts setting (VS Code); porthole.config.json cannot add one.',
    );
    return;
  }
  if (refusedMalformedTarget(ex, ctx)) return;
  // The policy first: a CORS preflight is answered there (it reads no file, so the cross-site rule
  // has nothing to guard), and every refusal below carries the configured headers too.
  // A preflight under a proxied route is allowed the methods the back-end answers, not just GET/HEAD.
  if (ctx.policy.prepare(ex, isPreflight(ex) && proxyRouteFor(ctx, ex.head.path) !== undefined)) return;
  // A CORS request (Sec-Fetch-Mode: cors) from an origin --cors allows is what CORS is for: the
  // user chose to let that origin read these answers, so the cross-site rule does not refuse it.
  // One pass over the fields for both rules below (two cost a second scan on every request).
  const fetchSite = ctx.crossSiteLoads ? 'other' : fetchSiteClass(ex.head.headers);
  if (fetchSite === 'cross-site load' && !ctx.policy.allowsCorsRequest(ex)) {
    // Decided on the headers alone, before any path is looked at: the answer is the same whether
    // the file exists or not, so it cannot be used to probe the folder either.
    // This server under another loopback name (a page at 127.0.0.1 linking to localhost) is
    // said as such: "another site" alone left the user looking for one (helper-139).
    const ownPage = loopbackPageOfOtherName(ex.head.headers, ex.head.host);
    // A load that names no page (no Referer, no Origin or `Origin: null`) is what a sandboxed
    // frame of this very server sends: said as such, or its page's CSS and scripts failed with
    // words about another site (helper-147).
    const unnamed = ownPage === undefined && loaderUnnamed(ex.head.headers);
    ex.note =
      ownPage !== undefined
        ? `cross-site load refused (crossSiteLoads is off): the page at ${ownPage}, on this computer at this port, may be this server under another name; use one name or relative URLs in the page, or --allow-cross-site`
        : unnamed
          ? 'cross-site load refused (crossSiteLoads is off): the loading page sent no address of its own (no Referer; no Origin or Origin: null), as a sandboxed frame does; allow-same-origin in its sandbox, or --allow-cross-site'
          : 'cross-site load refused (crossSiteLoads is off: --allow-cross-site, porthole.crossSiteLoads in VS Code)';
    refuse(
      ex,
      403,
      ownPage !== undefined
        ? `Forbidden: the page at ${ownPage} loads this from ${ex.head.host ?? ''}. If that page is this server under another name, the browser still takes the two for different sites: use one name (a relative URL in the page, such as /style.css, or open the page at ${ex.head.host ?? ''}); or turn on crossSiteLoads (--allow-cross-site).`
        : unnamed
          ? 'Forbidden: another site may not load files from this server, and the page that loads this sent no address of its own (no Referer; no Origin, or Origin: null). A sandboxed frame has no address the browser will tell, even one of this server (a sandbox attribute without allow-same-origin, or a Content-Security-Policy sandbox): if this is yours, add allow-same-origin to its sandbox, or turn on crossSiteLoads (--allow-cross-site).'
          : 'Forbidden: another site may not load files from this server. Open the page from this server itself, or turn on crossSiteLoads (--allow-cross-site) to allow it.',
      [['Vary', 'Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest, Origin, Referer']],
    );
    return;
  }
  // A same-site load the rule above let through: CORP cross-origin, varying on Sec-Fetch-Site
  // (Exchange.sameSiteLoad).
  if (fetchSite === 'same-site') {
    ex.sameSiteLoad = true;
    ex.addVary(SAME_SITE_VARY);
  }
  const method = ex.method;
  // Asked first (cheap, every request): the continuation is made only for a request that waits.
  if (ctx.holding?.() === true && ctx.hold !== undefined && (method === 'GET' || method === 'HEAD') && !ex.head.path.startsWith(RESERVED_PREFIX)) {
    const held = ctx.hold(() => {
      // The client may have left while its request waited.
      if (ex.finished) return;
      try {
        answer(ex, ctx);
      } catch {
        ex.connection.failExchange(ex);
      }
    });
    if (held) return;
  }
  answer(ex, ctx);
}

/** The request once it passed the checks (and any wait): proxy, method, reserved, SPA, files. */
function answer(ex: Exchange, ctx: HandlerContext): void {
  const route = proxyRouteFor(ctx, ex.head.path);
  if (refusedProxiedSpelling(ex, ctx, route)) return;
  // RFC 9110 §7.6.2: an OPTIONS or TRACE whose Max-Forwards is 0 is not forwarded; the gateway
  // answers it as the final recipient (below: 204 with Allow, or 405 for TRACE).
  if (route !== undefined && ctx.proxy !== undefined && maxForwards(ex.method, ex.head.headers) !== 0n) {
    ctx.proxy.handle(ex, route);
    return;
  }
  const method = ex.method;
  if (method !== 'GET' && method !== 'HEAD') {
    // Under a proxied route (an OPTIONS or TRACE with Max-Forwards: 0), what the route takes.
    const proxied = route !== undefined && ctx.proxy !== undefined;
    const allow = proxied ? PROXIED_ALLOW : ALLOW;
    if (method === 'OPTIONS') {
      // Porthole's own answer: no configured representation field describes it (withExtraHeaders).
      ex.bodyOrigin = 'porthole';
      ex.respond(204, [['Allow', allow]]);
    } else if (KNOWN_NOT_ALLOWED.has(method)) {
      // TRACE never echoes the request (RFC 9110 §9.3.8 leaves it optional; it leaks headers).
      ex.note = `method ${method} not allowed`;
      refuse(ex, 405, proxied ? `Method ${method} reached its last hop here (it is not passed on) and Porthole does not echo requests.` : `Method ${method} is not allowed here: this is a static file server.`, [['Allow', allow]]);
    } else {
      ex.note = `method ${method} not implemented`;
      refuse(ex, 501, `Method ${method} is not implemented.`);
    }
    return;
  }
  const path = ex.head.path;
  if (path.startsWith(RESERVED_PREFIX) && ctx.reserved !== undefined && ctx.reserved(ex, path)) return;
  if (ctx.spa !== undefined && spaFallback(ex, ctx.spa, ctx.files)) return;
  if (ctx.htmlFilter !== undefined && ctx.htmlFilter(ex)) return;
  // A cached file is answered here without the async path's promise.
  if (serveCachedHit(ex, ex.head.path, ctx.files)) return;
  serveStatic(ex, ex.head.path, ctx.files).catch(() => ex.connection.failExchange(ex));
}

/** Whether two names are one file's in a folder of this platform's file systems (sameFileName). */
const sameNameOnDisk = (a: string, b: string): boolean => sameFileName(a, b, PLATFORM_NAME_FOLDING);

/** A path that resolves to another spelling than it was sent in: an escape, a dot segment, `//`, a backslash. */
const RESPELT = /%|\/\/|\/\.|\\/;

/**
 * True when it refused (400) a request whose path lies under a proxied prefix once decoded and
 * resolved (routeHolding: `/%61pi/x`, `/api/./x`, `//api/x`, `/x/../api/x`; `/API/x` where names
 * fold case, `/api./x` on Windows) while matchRoute, reading it as sent, gave it another route
 * (`matched`, a shorter prefix: `/` takes `/%61pi/x`) or none: the back-end's part of the URL
 * space, never answered from the folder (helper-160: every such spelling read the folder's
 * `api/secret.json`, which `/api/secret.json` forwards) nor by another back-end (helper-162: the
 * `/` route's got `/%61pi/x`, which it decodes to `/api/x`). Not forwarded either: a dot segment
 * never is (mayClimb), and the answer names the plain spelling, which is. Only while routes are
 * configured; a path resolveRequestPath refuses is left to the static side's own 400 or 404.
 */
function refusedProxiedSpelling(ex: Exchange, ctx: HandlerContext, matched: CompiledRoute | undefined): boolean {
  const path = ex.head.path;
  if (ctx.proxy === undefined || !path.startsWith('/') || (ctx.reserved !== undefined && path.startsWith(RESERVED_PREFIX))) return false;
  const q = path.indexOf('?');
  // Spelt as it resolves (the common case: no escape, dot segment or doubled slash): matchRoute
  // has judged it already, unless the folder would be read and its file system folds names
  // (case; Windows' trailing dots). A back-end gets the path as sent: its names keep their case.
  if (!RESPELT.test(q >= 0 ? path.slice(0, q) : path) && (matched !== undefined || PLATFORM_NAME_FOLDING === 'exact')) return false;
  const resolved = resolveRequestPath(path, true);
  if (resolved.kind !== 'ok') return false;
  const route = ctx.proxy.holding(resolved.segments, matched === undefined ? sameNameOnDisk : undefined);
  if (route === undefined || route === matched) return false;
  const plain = encodePathSegments(resolved.segments, resolved.trailingSlash);
  ex.note = `a path under the proxied prefix ${route.prefix}, spelt otherwise (${plain} once resolved): neither forwarded nor read from the folder`;
  refuse(
    ex,
    400,
    `Bad Request: this path is ${plain} once decoded and its dot segments resolved, which lies under ${route.prefix}, proxied to ${route.origin}. A path under a proxied prefix is forwarded only as written plainly (no dot segments, doubled slashes or percent-encoded letters), and the folder's files there are never served. Ask for ${plain}.`,
  );
  return true;
}

/** The SPA fallback file as a request path (percent-encoded, for the request and the log). */
function spaTarget(segments: readonly string[]): string {
  return encodePathSegments(segments, false);
}

/**
 * The SPA fallback file as the user named it, for messages: `/` and its segments as given (never
 * percent-encoded: `my app.html` is `/my app.html`, `my%20app.html` is `/my%20app.html`), dot
 * segments resolved, escaped for display.
 */
function spaShown(segments: readonly string[]): string {
  return escapeForDisplay(`/${segments.join('/')}`);
}

/** Why the link at `fsPath` (lstat found it; nothing servable there) names no file, or undefined when it is a link out or to a hidden file. */
function brokenLink(fsPath: string): string | undefined {
  try {
    statSync(fsPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return 'is a link that leads round in a loop (ELOOP), so it names no file; point the fallback at a page in the folder';
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'is a link to something that does not exist; make its target, or point the fallback at a page in the folder';
  }
  return undefined;
}

/**
 * Why the SPA fallback file `fallback` cannot answer now (it does not exist; it is a folder, a
 * FIFO, a socket or a device, not a file; it is hidden and
 * dotfiles are off; it is a link that leads out of the root or to a hidden file, so it is refused
 * as any such path; with `asker` (RequestOrigin: the exchange), it is a file that client may not have: the HTTPS key, the
 * active log for another host), or undefined when it can. A stat or two. The server says it at
 * start (no client), and every navigation it would have answered says it in its log note.
 */
export function spaFallbackProblem(fallback: string, files: StaticOptions, asker?: RequestOrigin): string | undefined {
  const segments = spaFileSegments(fallback);
  if (segments === undefined) return `the single-page app fallback ${escapeForDisplay(fallback)} leaves the served folder; name a file inside it (e.g. index.html)`;
  const target = spaTarget(segments);
  const named = spaShown(segments);
  const own = resolveRequestPath(target, files.dotfiles);
  const node = own.kind === 'ok' ? answeringNode(own.segments, false, files, asker) : undefined;
  const fsPath = own.kind === 'ok' ? placeSegments(own.segments, files).fsPath : undefined;
  // A folder or a FIFO of that name is no page: served, every deep link was moved (301) to the
  // folder, its listing or index in place of the app, or refused (403) as not a regular file.
  const st = node?.stats;
  if (st !== undefined && !st.isFile()) {
    const shown = node?.cleanUrl === true ? `${named} (its clean URL's page ${named}.html)` : named;
    const todo = st.isDirectory() ? `name a page in it (e.g. ${named.replace(/\/+$/, '')}/index.html)` : 'point the fallback at an HTML file in the folder';
    return `the single-page app fallback ${shown} is ${nodeKind(st)}, not a file; ${todo}`;
  }
  if (node !== undefined) {
    // Before any client asks (the start, a change of the option): a guarded file is answered to
    // no one (the HTTPS key) or to this computer only (the request log), so it is no page either.
    if (asker !== undefined || fsPath === undefined) return undefined;
    const guard = guardAt(node.cleanUrl ? `${fsPath}.html` : fsPath, files);
    if (guard === 'never') return `the single-page app fallback ${named} is a file the HTTPS private key or its passphrase was read from, never served; point the fallback at a page in the folder`;
    if (guard === 'loopback') return `the single-page app fallback ${named} is the request log, never a page (other devices get 404 for it); point the fallback at a page in the folder`;
    return undefined;
  }
  if (own.kind === 'hidden') return `the single-page app fallback ${named} is a hidden file, never served (turn on dotfiles to serve it)`;
  let there = false;
  try {
    there = fsPath !== undefined && lstatSync(fsPath, { throwIfNoEntry: false }) !== undefined;
  } catch (err) {
    // A loop among the folders above it; ENOTDIR, EACCES: nothing usable there, said as missing.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return `the single-page app fallback ${named} lies behind a link that leads round in a loop (ELOOP), so it names no file; point the fallback at a page in the folder`;
  }
  if (there && fsPath !== undefined && asker !== undefined && guardedRefusalAt(fsPath, asker, files) !== undefined) {
    return `the single-page app fallback ${named} is a file this client may not have (the HTTPS key or the request log); point the fallback at a page in the folder`;
  }
  const broken = there && fsPath !== undefined ? brokenLink(fsPath) : undefined;
  if (broken !== undefined) return `the single-page app fallback ${named} ${broken}`;
  return there
    ? `the single-page app fallback ${named} leads out of the served folder or to a hidden file, so it is never served; point the fallback at a file in the folder`
    : `the single-page app fallback ${named} does not exist`;
}

/**
 * The media types a page loads as parts of itself (besides image, audio, video and font types, all
 * of which are): scripts, styles, data (JSON, a source map, a web manifest), WebAssembly, and the
 * text and PDF files a page links or embeds. Not every type a name may have: routes that end
 * like a domain or a file of another world (`/sites/example.com`, `/about.me`, `/index.php`:
 * types of an executable, troff and PHP) stay the app's (helper-153's choice, narrowed).
 */
const ASSET_TYPES: ReadonlySet<string> = new Set(['text/javascript', 'text/css', 'application/json', 'application/wasm', 'application/pdf', 'text/plain', 'text/csv', 'application/vnd.ms-fontobject']);

/** True for a media type a page loads as a part of itself (ASSET_TYPES, `+json`, image, audio, video, font). */
function isAssetType(type: string): boolean {
  return ASSET_TYPES.has(type) || type.endsWith('+json') || /^(image|audio|video|font)\//.test(type);
}

/**
 * Whether a request path (its resolved segments) names an asset rather than a page or a route:
 * its last segment's extension names a media type (typeFromName, the type the file would be
 * served as; letter case aside, percent-decoded) that a page loads as a part of itself
 * (isAssetType). An extension no type knows (`/users/john.doe`, `/v1.2`), or one of a page or of
 * another world (`.html`, `.com`, `.php`), names a route; a path with a trailing slash names a
 * folder (`/app.js/`), never an asset.
 */
function namesAsset(segments: readonly string[], trailingSlash: boolean): boolean {
  const last = segments.at(-1);
  if (trailingSlash || last === undefined) return false;
  const type = typeFromName(last);
  return type !== undefined && isAssetType(type);
}

/**
 * Single-page apps: a navigation (`Sec-Fetch-Dest: document`, `iframe` or `frame`, or `Accept:
 * text/html` outside fetch/XHR: isDocumentNavigation) to a path where nothing exists is answered with the fallback
 * file instead, by rewriting the request's path before the page and file stages (so live reload
 * and validators apply to it as to any page). Anything else that is missing — a script, an image,
 * a fetch() — stays 404, and so do hidden and malformed paths. So does a navigation to a path that
 * names an asset (namesAsset: `/assets/app-3f2a.js`, `/users/42.json`, not `/users/john.doe` or
 * `/page.html`): a stale or mistyped asset URL opened in the address bar is the 404 it would be
 * without the fallback, not the app under the asset's URL (connect-history-api-fallback's dot rule
 * leaves every dotted path alone; a route with a dot no type knows keeps the fallback here). A
 * fallback file that is missing or hidden answers nothing: the path asked for is the 404
 * (answered here; true), its log note saying why the fallback did not answer.
 */
function spaFallback(ex: Exchange, fallback: string, files: StaticOptions): boolean {
  // A frame's navigation counts too (an app embedded in an iframe, the editor's preview).
  if (!isDocumentNavigation(ex.head.headers)) return false;
  const resolved = resolveRequestPath(ex.head.path, files.dotfiles);
  if (resolved.kind === 'ok') {
    // Answered as without the fallback (the file, or its 404), before any look at the disk.
    if (namesAsset(resolved.segments, resolved.trailingSlash)) return false;
    // In the root or a mount; a clean URL's page counts as existing (clean URL first, then SPA).
    if (existsForRequest(resolved.segments, resolved.trailingSlash, files, ex)) return false;
  } else if (resolved.kind !== 'no-such-file') {
    return false;
  }
  // A fallback that is missing (or hidden) is no answer: the path asked for is the 404, and the
  // note says why the fallback did not answer (the 404 page then names the path asked for).
  const problem = spaFallbackProblem(fallback, files, ex);
  if (problem !== undefined) {
    ex.note = `No such file; ${problem}.`;
    sendNotFound(ex, ex.head.path, files).catch(() => ex.connection.failExchange(ex));
    return true;
  }
  // spaFallbackProblem found no problem, so the path stays in the root.
  const target = spaTarget(spaFileSegments(fallback) ?? []);
  // Recorded apart from the note (which compression or live reload may add to): every log shows
  // that the answer is the fallback's, not a file at the path asked for.
  ex.spaFallback = target;
  // The browser's URL stays the deep link: relative URLs Porthole writes into the page (the
  // live-reload client's) are made from it, not from the fallback file's path.
  ex.documentPath = ex.head.path;
  ex.head.path = target;
  return false;
}
