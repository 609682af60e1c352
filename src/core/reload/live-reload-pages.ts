/**
 * Pages as live reload serves them: the HTML filter hooked into the request handler.
 *
 * Decided synchronously (`filterPage`): a top-level navigation to something that may be an HTML
 * page, or any request for a file the editor holds unsaved text for (an overlay), is taken over;
 * everything else goes to serveStatic untouched. A taken-over request is then answered:
 * - HTML navigation → the page (overlay text or file bytes) with the client tag injected, a weak
 *   ETag of its own (`W/"<file etag>-<client version>-<stamp>"`, `W/"o-<hash>-…"` for an overlay),
 *   the byte-exact Content-Length, no Accept-Ranges, Range ignored. The tag carries the server
 *   instance and the change generation the page was served at (the client reloads when the stream
 *   says a change came after), so the stamp is in the ETag: a 304 never revives an older tag;
 * - an overlay otherwise → the overlay text as is, weak ETag `W/"o-<hash>"`, Range ignored;
 * - anything else (opted-out page, not HTML, too big) → sent exactly as serveStatic would.
 * The file is looked up once (static-files' `lookupPath`): whatever is not rewritten here (a file
 * sent as it is, a redirect, a listing, 403, 404) goes to static-files' own answer step.
 * Containment is checked on the real path as static-files does: a file we serve ourselves is a
 * regular file inside the real root (or followSymlinks is on); anything else falls back.
 */
import { nodeCrypto } from '../node-crypto';
import { extname, join, relative, sep } from 'node:path';
import type { Exchange } from '../http/connection';
import { liveReloadClient } from './live-reload-client';
import type { ConsoleForward } from '../options';
import { makeRoomForClient, type ClientRoom } from './live-reload-csp';
import { applyPlan, isNavigationRequest, type CspMeta, type PagePlan, type PlacementWish } from './live-reload-inject';
import { MAX_WAITING_PLANS, planPageOffThread, waitingPlans } from './page-planner';
import { BoundedPathMap } from '../files/bounded-map';
import { openContained } from '../files/open-contained';
import { resolveRequestPath, type ResolvedPath } from '../files/resolve-path';
import { INDEX_NAMES, answerLookup, isActiveLog, lookupPath, placeSegments, readWhole, sendBuiltBody, type StaticOptions } from '../files/static-files';
import { statEtag } from '../files/validators';
import { contentTypeOf, typeFromName } from '../files/content-type';
import { CODING_SUFFIX, encodedAssetOf } from '../files/content-coding';
import { charsetParameter, declaredCharsets, isAsciiCompatibleCharset } from '../files/charset';
import { formatSize } from '../text/format-size';

/**
 * The tag injected into pages: ASCII, valid in HTML whatever the parsing mode. `instance` (a UUID)
 * and `generation` (a count of events sent) say which state of the site the page was served at.
 * `src` is the client's URL as the page should ask for it (clientSrc). `consoleForward` tells the
 * client what to hook of the page's console before its WebSocket says more (`off`: nothing).
 */
export function clientTag(instance: string, generation: number, src = '/__porthole/client.js', nonce?: string, consoleForward: ConsoleForward = 'off'): string {
  const nonceAttribute = nonce === undefined ? '' : ` nonce="${nonce}"`;
  return `<script src="${src}"${nonceAttribute} data-porthole-client data-porthole-instance="${instance}" data-porthole-generation="${generation}" data-porthole-console="${consoleForward}"></script>`;
}

/**
 * The client's URL relative to the page (`./__porthole/client.js`, `../__porthole/client.js`, …
 * one `../` per directory level of `requestPath`, the origin-form path of RFC 9112 §3.2.1), so it
 * also loads behind a proxy that serves the site under a path prefix (code-server's
 * `/proxy/<port>/`, which asExternalUri gives for the preview and the browser). A page's
 * `<base href>` never changes what it resolves against: the tag goes before the base element
 * (planPage).
 */
export function clientSrc(requestPath: string): string {
  const q = requestPath.indexOf('?');
  const pathOnly = q < 0 ? requestPath : requestPath.slice(0, q);
  const depth = Math.max(0, pathOnly.split('/').length - 2);
  return `${depth === 0 ? './' : '../'.repeat(depth)}__porthole/client.js`;
}

/**
 * HTML files above this are served as they are, without the reload script: a page is read whole
 * and parsed to place the tag (about 0.5 s per MiB, on the page planner's thread: page-planner.ts),
 * once per version of the page.
 */
export const MAX_INJECT_BYTES = 4 * 1024 * 1024;
/** MAX_INJECT_BYTES in MiB, as messages say it. */
export const MAX_INJECT_MIB = MAX_INJECT_BYTES / (1024 * 1024);
/**
 * Plans (where the tag goes, the page's CSP metas) kept by page version: parsing is the costly
 * step, and a page is served many times per version (every reload of every tab).
 */
export const MAX_CACHED_PLANS = 64;
const plans = new Map<string, PagePlan>();

/** How many plans are kept (tests of MAX_CACHED_PLANS). */
export function cachedPlanCount(): number {
  return plans.size;
}

/**
 * Where the tag goes: in the head when console forwarding is on (it must hook the console before
 * the page's own scripts run, or their errors while the page loads are never seen), else before
 * `</body>` (live reload alone needs nothing earlier, and the page renders before the client loads).
 */
export function placementWish(consoleForward: ConsoleForward): PlacementWish {
  return consoleForward === 'off' ? 'end' : 'head';
}

/**
 * The plan of one version of a page (`key` names it: contentKey) for one
 * placement wish (part of the cache key: the mode can change while the server runs), planned on
 * the planner thread. A page asked for again while its plan is being made waits for that plan.
 */
async function planFor(pageKey: string, bytes: Buffer, tag: string, wish: PlacementWish, charset: string | undefined): Promise<PagePlan> {
  const key = `${pageKey}\0${wish}`;
  const cached = plans.get(key);
  if (cached !== undefined) {
    plans.delete(key);
    plans.set(key, cached);
    return cached;
  }
  let pending = planning.get(key);
  if (pending === undefined) {
    pending = planPageOffThread(bytes, tag, wish, charset);
    planning.set(key, pending);
  }
  const plan = await pending;
  planning.delete(key);
  if (plan.kind === 'unsupported' && plan.transient === true) return plan;
  plans.set(key, plan);
  if (plans.size > MAX_CACHED_PLANS) {
    const oldest = plans.keys().next();
    if (oldest.done !== true) plans.delete(oldest.value);
  }
  return plan;
}
/**
 * The Content-Type an answer goes out with: a configured one (porthole.headers, `--header`: in
 * `ex.extraHeaders`, which replace the response's own field of that name; the last one wins) over
 * `own` (what the file, the built page or the back-end says). Injection follows what the browser
 * will be told, not the name: a `.html` configured as `application/xhtml+xml` is parsed as XML,
 * where our tag is not well-formed (the page became an XML error), and one configured as
 * `text/plain` showed the tag as text. Undefined when neither gives one.
 */
export function sentContentType(ex: Exchange, own: string | undefined): string | undefined {
  return ex.configuredHeader('content-type') ?? own;
}

/**
 * True when the answer goes out as a download: its Content-Disposition, a configured one
 * (ex.extraHeaders, the last one wins) over `own` (a back-end's), has the disposition type
 * `attachment` (RFC 6266 §4.2, case-insensitive). The browser saves such an answer instead of
 * showing it, so a tag spliced in ran in no tab and was left in the saved file.
 */
export function sentAsAttachment(ex: Exchange, own: string | undefined): boolean {
  const value = ex.configuredHeader('content-disposition') ?? own;
  return value !== undefined && /^\s*attachment\s*(;|$)/i.test(value);
}

/** True when `type` (a Content-Type field value) is `text/html` (RFC 9110 §8.3.1: case-insensitive). */
export function isHtmlType(type: string | undefined): boolean {
  return type !== undefined && /^\s*text\/html\s*(;|$)/i.test(type);
}

/**
 * The plan of a page read from a file or an overlay, `bytes` labelled `type` (as static-files
 * labels it: the charset it is read in), for the placement `consoleForward` asks.
 */
function filePagePlan(bytes: Buffer, type: string, tag: string, consoleForward: ConsoleForward): Promise<PagePlan> {
  const charset = charsetParameter(type);
  return planFor(contentKey(bytes, charset), bytes, tag, placementWish(consoleForward), charset);
}
/** Plans being made, by planFor's key (each page version is parsed once however many ask). */
const planning = new Map<string, Promise<PagePlan>>();
/**
 * Pages served with the client lately (real paths, oldest first; at most MAX_CACHED_PLANS): a
 * new version of one is planned as soon as it has settled (preparePages), not when the reload
 * the change set off asks for it.
 */
const servedPages = new Set<string>();
/**
 * Pages of one batch of changes planned ahead at most: a save touches one page or a few; a branch
 * switch that rewrites hundreds is planned as each is asked for, and never fills the planner's
 * queue ahead of the requests (MAX_WAITING_PLANS).
 */
export const MAX_PLANS_AHEAD = 4;

/** Notes that the page at `real` was served with the client (servedPages, bounded). */
function rememberServedPage(real: string): void {
  servedPages.delete(real);
  servedPages.add(real);
  if (servedPages.size > MAX_CACHED_PLANS) {
    const oldest = servedPages.values().next();
    if (oldest.done !== true) servedPages.delete(oldest.value);
  }
}

/**
 * Plans the new versions of the pages among `changed` (absolute paths under the real root, as
 * the watcher gives them) that were served with the client lately, so that the reloads their
 * change sets off find the plan made (planFor's cache, keyed by the bytes as servePage
 * keys it: contentKey). Call it once the files have settled: a version whose length or stat
 * moved while read is not planned (readWhole tells); one caught in a stalled write is planned
 * under its own bytes, which no whole version's request looks up. Overlays are not planned here (their text comes with the
 * editor's notice). At most MAX_PLANS_AHEAD pages (their bytes, up to MAX_INJECT_BYTES each, held
 * while planned), the ones served last. Never rejects: a page that cannot be read or planned now
 * is planned when asked for, as before.
 */
export async function preparePages(changed: Iterable<string>, ctx: PageContext): Promise<void> {
  const wanted = new Set(changed);
  const pages = [...servedPages].filter((real) => wanted.has(real) && ctx.overlayFor(real) === undefined);
  // The pages served last, and never more than leaves the planner's queue half free for requests.
  const count = Math.min(pages.length, MAX_PLANS_AHEAD, Math.max(0, MAX_WAITING_PLANS / 2 - waitingPlans()));
  await Promise.all(pages.slice(pages.length - count).map((real) => preparePage(real, ctx).catch(() => undefined)));
}

async function preparePage(path: string, ctx: PageContext): Promise<void> {
  // Opened as a request's file is (never a FIFO, contained, not hidden): what is there now.
  const opened = await openContained(path, ctx.files);
  if (opened.kind !== 'file') {
    if (opened.kind === 'dir') await opened.handle?.close().catch(() => undefined);
    return;
  }
  const { file, stat, real } = opened;
  try {
    if (stat.size > MAX_INJECT_BYTES) return;
    // Not settled again: the plan is keyed by these bytes, so a version caught mid-write gets a
    // plan no whole version's request looks up, and the plan is ready sooner after a save.
    const bytes = await readWhole(file, stat, false);
    if (bytes === undefined) return;
    const type = contentTypeOf(real, bytes);
    if (!type.startsWith('text/html')) return;
    // The plan does not depend on the tag's attribute values: any tag of clientTag's form.
    await filePagePlan(bytes, type, clientTag(ctx.instanceId, ctx.generation, undefined, undefined, ctx.consoleForward), ctx.consoleForward);
  } finally {
    await file.close().catch(() => undefined);
  }
}
/**
 * Names that may be a page (the type then decides): no extension, `.html`, `.htm`, and `.shtml`
 * (text/html too; helper-49: it was served without the client). XHTML (`.xhtml`, `.xht`:
 * application/xhtml+xml) and SVG are XML documents: a tag spliced into them must be well-formed
 * XML in their namespace or the whole document fails to render, so they are sent as they are.
 */
const PAGE_EXTENSIONS = new Set(['', '.html', '.htm', '.shtml']);
/**
 * Room reserved for the injected tag beside a page's own bytes (clientTag is under 250 bytes, plus
 * its relative src: at most 1.5 bytes per byte of the request path, see clientSrc).
 */
const TAG_ALLOWANCE = 512;

export interface PageContext {
  readonly files: StaticOptions;
  /** The root as configured (before realpath): editors name overlays by this path. */
  readonly rootGiven: string;
  /** Number of overlays held (0 → non-navigation requests are never looked at). */
  readonly overlayCount: number;
  /** The overlay text for an absolute path, if the editor holds one. */
  overlayFor(absolutePath: string): string | undefined;
  /** The server instance (changes with each start). */
  readonly instanceId: string;
  /** Events sent so far by this instance. */
  readonly generation: number;
  /** What the client forwards of the page's console (the tag says it; part of the ETag). */
  readonly consoleForward: ConsoleForward;
  /** The server speaks TLS: the page is https, the client's socket wss. */
  readonly secure: boolean;
  /** Live reload cannot work on this page because of its CSP (`reason`); said once per page. */
  reportCspBlocked(pagePath: string, reason: string): void;
  /** A navigation's page went out without the client (LiveReload.notInjected): said once per page. */
  reportNotInjected(pagePath: string, reason: string): void;
}

/** What chooses between a page with the tag and its bytes as they are (isNavigationRequest): a Vary value. */
export const PAGE_VARY = 'Sec-Fetch-Dest, Sec-Fetch-Mode, Accept';

/** True when the request is taken over (and will be answered asynchronously). */
export function filterPage(ex: Exchange, ctx: PageContext): boolean {
  // A style sheet, a script, an image: most of a page's requests, told by the name alone, without
  // resolving the path or finding its shape (a Map lookup of a new string on every request: 1.4%
  // of the CPU at one of 1,000 files, `perf record`). Nothing below would take it or add the Vary.
  if (ctx.overlayCount === 0 && ctx.files.cleanUrls !== true && surelyNoPage(ex.head.path) && !isHtmlType(sentContentType(ex, undefined))) return false;
  // A page configured as an attachment is saved, not shown: sent as it is (sentAsAttachment).
  const navigation = isNavigationRequest(ex.head.headers, ex.head.target) && !sentAsAttachment(ex, undefined);
  const known = pathShapeOf(ex.head.path, ctx.files);
  const resolved = known.resolved;
  if (resolved.kind !== 'ok') return false;
  const segments = resolved.segments;
  const last = segments[segments.length - 1];
  // A Content-Type configured as text/html (porthole.headers, `--header`) makes any file a page,
  // as the browser is told (`page.php`, a template without `.html`): the lookup then decides.
  const mayBePage = known.mayBePage || isHtmlType(sentContentType(ex, undefined));
  // A navigation gets the page with the tag, a fetch() the bytes on disk: every answer for such a
  // URL names what chose (RFC 9110 §12.5.5), or the browser's one copy per URL is whichever came
  // last, and Back, which takes it without asking, showed a fetch's copy without the client.
  // (Exchange.addedVary, not a configured header: a cached page keeps its prepared answer.)
  if (mayBePage) ex.addVary(PAGE_VARY);
  // A page configured with a Content-Encoding is stored encoded: its bytes go as they are, as
  // every other request's (a tag spliced into gzip bytes made them undecodable). The Vary stays:
  // a folder's listing or 404 page at this URL still takes the tag (helper-178).
  if (ex.configuresCoding) return false;
  if (!navigation && ctx.overlayCount === 0) return false;
  let take = navigation && mayBePage;
  if (!take && ctx.overlayCount > 0) {
    const names = resolved.trailingSlash ? INDEX_NAMES.map((n) => [...segments, n]) : [segments];
    // With clean URLs, `/about` may be about.html (the lookup decides which; either may be held).
    if (!resolved.trailingSlash && last !== undefined && ctx.files.cleanUrls === true) names.push([...segments.slice(0, -1), `${last}.html`]);
    // In the root or a mount: the overlay is held by the file's path on disk.
    take = names.some((s) => overlayOf(ctx, [placeSegments(s, ctx.files).fsPath, join(ctx.rootGiven, ...s)]) !== undefined);
  }
  if (!take) return false;
  servePage(ex, segments, resolved.trailingSlash, navigation, ctx).catch(() => ex.connection.failExchange(ex));
  return true;
}

/** Lower-case extensions after which a name may be a page's (PAGE_EXTENSIONS), or one stored encoded (storedPage). */
const MAYBE_PAGE_EXTENSIONS = [...PAGE_EXTENSIONS, ...Object.values(CODING_SUFFIX)].filter((ext) => ext !== '');

/**
 * True when the name at the end of `rawPath` (origin-form, query allowed) is surely not a page's
 * whatever pathShapeOf would find, without clean URLs (the caller's to check): its last segment,
 * as sent, is a plain name (no `%`, whose decoding could change it, nor `\\`; not starting with
 * a dot, so that its extension is what follows its last dot), and that extension is none of
 * MAYBE_PAGE_EXTENSIONS. False whenever it cannot be told so simply: the full path is taken.
 * No string is made (a scan of the name's characters).
 */
function surelyNoPage(rawPath: string): boolean {
  const q = rawPath.indexOf('?');
  const end = q >= 0 ? q : rawPath.length;
  let dot = -1;
  let i = end - 1;
  for (; i >= 0; i--) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x2f) break; // '/'
    if (c === 0x25 || c === 0x5c) return false; // '%', '\\'
    if (c === 0x2e && dot < 0) dot = i; // '.'
  }
  // No slash (not origin-form: resolving refuses it), no dot, or a name that starts with one.
  if (i < 0 || dot <= i + 1) return false;
  for (const ext of MAYBE_PAGE_EXTENSIONS) if (endsWithFolded(rawPath, dot, end, ext)) return false;
  return true;
}

/** True when `text`[from, end) is `lower` (lower-case ASCII), ASCII letters compared case-insensitively. */
function endsWithFolded(text: string, from: number, end: number, lower: string): boolean {
  if (end - from !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = text.charCodeAt(from + k);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** What a request path says of itself, whatever the request: see pathShapeOf. */
interface PathShape {
  readonly dotfiles: boolean;
  readonly cleanUrls: boolean;
  readonly resolved: ResolvedPath;
  /** Its name may be a page's (before a configured Content-Type is looked at). */
  readonly mayBePage: boolean;
}

/**
 * Paths seen lately and their shape: every answer consults it (the page Vary), and resolving a
 * path again for each request of the same URL was a tenth of a cached file's CPU at 50
 * keep-alive connections (`perf record`: filterPage 1.0 µs of 21.6). Bounded as BoundedPathMap
 * says (1,024 paths of up to 256 characters; longer ones are resolved each time).
 */
const pathShapes = new BoundedPathMap<PathShape>();

/**
 * `rawPath` (origin-form, query allowed) resolved (resolveRequestPath) under `files`' dotfiles
 * rule, and whether its name may be a page's: a folder (trailing slash, the root), any name with
 * clean URLs (`/release.v2` is release.v2.html, whatever extension the segment seems to have: the
 * lookup decides, and a file that is not a page is answered as it is), a page's extension, or a
 * page stored encoded (`index.html.gz`). A function of the path and those two settings only, so
 * kept by path (pathShapes) and made again when either setting differs.
 */
function pathShapeOf(rawPath: string, files: StaticOptions): PathShape {
  const dotfiles = files.dotfiles;
  const cleanUrls = files.cleanUrls === true;
  const known = pathShapes.get(rawPath);
  if (known !== undefined && known.dotfiles === dotfiles && known.cleanUrls === cleanUrls) return known;
  const resolved = resolveRequestPath(rawPath, dotfiles);
  let mayBePage = false;
  if (resolved.kind === 'ok') {
    const last = resolved.segments[resolved.segments.length - 1];
    mayBePage =
      resolved.trailingSlash ||
      last === undefined ||
      cleanUrls ||
      PAGE_EXTENSIONS.has(extname(last).toLowerCase()) ||
      storedPage(last) !== undefined;
  }
  const shape: PathShape = { dotfiles, cleanUrls, resolved, mayBePage };
  pathShapes.set(rawPath, shape);
  return shape;
}

/**
 * The coding of a page stored encoded under its own name (`index.html.gz`, `about.htm.br`: what
 * static-files serves as `text/html` with `Content-Encoding`, encodedAssetOf), else undefined.
 */
function storedPage(name: string): 'gzip' | 'br' | undefined {
  const asset = encodedAssetOf(name);
  return asset !== undefined && PAGE_EXTENSIONS.has(extname(asset.inner).toLowerCase()) && extname(asset.inner) !== '' ? asset.coding : undefined;
}

function overlayOf(ctx: PageContext, candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    const text = ctx.overlayFor(c);
    if (text !== undefined) return text;
  }
  return undefined;
}

async function servePage(
  ex: Exchange,
  segments: readonly string[],
  trailingSlash: boolean,
  navigation: boolean,
  ctx: PageContext,
): Promise<void> {
  // The SPA fallback's file (documentPath set) is served as it is, never redirected (clean URLs).
  const found = await lookupPath(segments, trailingSlash, ctx.files, ex, ex.documentPath === undefined);
  if (found.kind !== 'file') {
    await answerLookup(ex, ex.head.path, found, ctx.files);
    return;
  }
  const { file, stat, real } = found;
  let handed = false;
  try {
    const rel = relative(ctx.files.rootReal, real);
    const overlay = overlayOf(ctx, [real, join(ctx.rootGiven, rel)]);
    // A page stored compressed goes out as it is stored (static-files): no tag can be spliced
    // into its encoded bytes, so the tab would never reload, without a word (helper-55).
    // The active request log is text whatever its name (log.html): the static files send it so.
    if (overlay === undefined && isActiveLog(stat, real, ctx.files)) {
      handed = true;
      await answerLookup(ex, ex.head.path, found, ctx.files);
      return;
    }
    const stored = overlay === undefined && navigation ? storedPage(real) : undefined;
    if (stored !== undefined) {
      ctx.reportNotInjected(
        sitePath(ctx, real),
        `it is stored ${stored}-compressed and sent as it is, so the reload script cannot be put in it (serve the uncompressed page: Porthole compresses pages itself, and sends a .br/.gz beside one when it is newer)`,
      );
      handed = true;
      await answerLookup(ex, ex.head.path, found, ctx.files);
      return;
    }
    // A name without a type may still be a page: its bytes decide (content-type.ts). A configured
    // Content-Type is what the browser reads, whatever the name: text/html there is a page.
    const nameType = typeFromName(real);
    const mayInject = navigation && (nameType === undefined || nameType === 'text/html' || isHtmlType(sentContentType(ex, undefined)));
    if (overlay === undefined && (!mayInject || stat.size > MAX_INJECT_BYTES)) {
      if (mayInject) ctx.reportNotInjected(sitePath(ctx, real), `${formatSize(stat.size)} is over the ${MAX_INJECT_MIB} MiB a page may have to be parsed for the client`);
      handed = true;
      await answerLookup(ex, ex.head.path, found, ctx.files);
      return;
    }
    // Built in memory: its bytes come out of the server-wide budget first. The build holds three
    // copies at once (the bytes, the latin1 view the tag is searched in, the spliced result);
    // what the response keeps until the kernel took it is the result alone.
    const size = overlay !== undefined ? Buffer.byteLength(overlay, 'utf8') : stat.size;
    // The client's relative URL is made from the document's URL (a deep link the SPA fallback answered).
    const documentPath = ex.documentPath ?? ex.head.path;
    if (!ex.reserveMemory(3 * size + TAG_ALLOWANCE + 2 * documentPath.length)) {
      ex.respondBusy();
      return;
    }
    const bytes = overlay !== undefined ? Buffer.from(overlay, 'utf8') : await readWhole(file, stat);
    // Written to while read: not one version of the page (its ETag would name the stat's).
    if (bytes === undefined) {
      ex.connection.fileChangedWhileRead(ex);
      return;
    }
    // Labelled as static-files labels the file; an overlay is our own UTF-8 encoding of the
    // editor's text, so it says utf-8 whatever the page declares.
    const own = contentTypeOf(real, bytes, overlay !== undefined ? 'utf-8' : undefined);
    // A configured Content-Type is what the browser reads the page as (its charset included).
    const type = sentContentType(ex, own) ?? own;
    // The editor's unsaved text is injected under the same size limit as a file (parse cost).
    const inject = navigation && isHtmlType(type) && bytes.length <= MAX_INJECT_BYTES;
    if (overlay === undefined && !inject) {
      handed = true;
      await answerLookup(ex, ex.head.path, found, ctx.files);
      return;
    }
    const base = overlay !== undefined ? `o-${hashOf(bytes)}` : statEtag(stat).slice(1, -1);
    let body = bytes;
    let etag = `W/"${base}"`;
    if (inject) {
      const made = await withClient(ex, bytes, type, base, documentPath, `/${rel.split(sep).join('/')}`, ctx);
      if (overlay === undefined) rememberServedPage(real);
      if ('note' in made) {
        ex.note = made.note;
        if (made.refused !== undefined) ctx.reportNotInjected(`/${rel.split(sep).join('/')}`, made.refused);
        if (overlay === undefined) {
          handed = true;
          await answerLookup(ex, ex.head.path, found, ctx.files);
          return;
        }
      } else {
        body = made.body;
        etag = made.etag;
      }
    }
    if (!inject || body === bytes) etag = `W/"${base}"`;
    ex.filePath = real;
    ex.reservation?.shrinkTo(body.length);
    // Its own weak validator (If-None-Match only: a weak tag never passes If-Match), no ranges;
    // compressed (when the client accepts it) after the client was injected.
    sendBuiltBody(ex, type, body, { etag, lastModifiedSec: undefined, lastModified: undefined }, ctx.files);
  } finally {
    if (!handed) await file.close().catch(() => undefined);
  }
}

/** `real` (a file under the root or a mount) as a path of the site, for messages. */
function sitePath(ctx: PageContext, real: string): string {
  const rel = relative(ctx.files.rootReal, real);
  return rel.startsWith('..') ? real : `/${rel.split(sep).join('/')}`;
}

/**
 * `bytes`, a page of the site (`type`, served for `pagePath`: where CSP warnings point), with the
 * client tag for the document at `documentPath` (its src is relative to it): where the page's plan
 * puts it, each CSP meta of the page and each Content-Security-Policy the response is configured
 * with (ex.extraHeaders, rewritten here) given room for it. `base` names this version of the bytes
 * (the weak ETag's base; the nonce is derived from it). A page that takes no tag (opted out, no
 * place, not parseable) gives the log note instead.
 */
async function withClient(
  ex: Exchange,
  bytes: Buffer,
  type: string,
  base: string,
  documentPath: string,
  pagePath: string,
  ctx: PageContext,
): Promise<{ readonly body: Buffer; readonly etag: string } | { readonly note: string; readonly refused: string | undefined }> {
  // Read once: the tag and the ETag must name the same generation.
  const { instanceId, generation, consoleForward } = ctx;
  const etag = `W/"${base}-${liveReloadClient().version}-${instanceId.slice(0, 8)}.${generation}.${consoleForward}"`;
  const src = clientSrc(documentPath);
  const plainTag = clientTag(instanceId, generation, src, undefined, consoleForward);
  const result = await filePagePlan(bytes, type, plainTag, consoleForward);
  if (result.kind === 'opted-out') return { note: 'live reload: page opted out', refused: undefined };
  if (result.kind !== 'inject') return { note: `live reload: ${result.reason}`, refused: result.reason };
  // A Content-Security-Policy header the user configured (porthole.headers) governs the page
  // like a meta one: both get room for the client.
  const headerPolicies = (ex.extraHeaders ?? []).filter(([name]) => policyDelivery(name) !== undefined);
  if (result.csp.length === 0 && headerPolicies.length === 0) return { body: applyPlan(bytes, result.offset, plainTag), etag };
  // The nonce is derived, not drawn: the same response bytes for the same validator.
  const host = ex.header('host') ?? '';
  const nonce = nodeCrypto().createHmac('sha256', instanceId).update(`${etag}\0${host}`).digest('base64');
  const tag = clientTag(instanceId, generation, src, nonce, consoleForward);
  const room = roomFor(ctx, host, nonce);
  const body = withRoomInPolicies(bytes, result.offset, tag, result.csp, room, pagePath, ctx);
  roomInConfiguredPolicies(ex, room, pagePath, ctx);
  return { body, etag };
}

/**
 * How a response field named `name` delivers a policy (CSP3 §3.1, §3.2): `enforced`
 * (Content-Security-Policy), `report-only` (Content-Security-Policy-Report-Only: violations are
 * reported, nothing is blocked), or undefined for any other field. Both get room for the client:
 * a report-only policy without it reported the client's script and socket to the page's report
 * endpoint and listeners (helper-120: a team's Sentry got Porthole's client as violations).
 */
export function policyDelivery(name: string): 'enforced' | 'report-only' | undefined {
  const lower = name.toLowerCase();
  return lower === 'content-security-policy' ? 'enforced' : lower === 'content-security-policy-report-only' ? 'report-only' : undefined;
}

/**
 * Room for the client (makeRoomForClient) in one policy a response field delivers; where none can
 * be made, an enforced policy is reported for `pagePath` (the client is blocked), a report-only
 * one is not (nothing is blocked by it).
 */
function roomInHeaderPolicy(policy: string, reportOnly: boolean, room: ClientRoom, pagePath: string, ctx: PageContext): string {
  const made = makeRoomForClient(policy, room, 'header');
  if (made.blocked !== undefined && !reportOnly) ctx.reportCspBlocked(pagePath, made.blocked);
  return made.policy;
}

/**
 * Gives each Content-Security-Policy (and -Report-Only) the response is configured with
 * (ex.extraHeaders, rewritten here; CSP3 §4.1: each is enforced, or reported) room for the client
 * described by `room`; an enforced policy where none can be made is left as it is and reported
 * for `pagePath`. Returns false when there is none.
 */
function roomInConfiguredPolicies(ex: Exchange, room: ClientRoom, pagePath: string, ctx: PageContext): boolean {
  const configured = ex.extraHeaders ?? [];
  if (!configured.some(([name]) => policyDelivery(name) !== undefined)) return false;
  ex.extraHeaders = configured.map(([name, value]) => {
    const delivery = policyDelivery(name);
    return delivery === undefined ? [name, value] : [name, roomInHeaderPolicy(value, delivery === 'report-only', room, pagePath, ctx)];
  });
  return true;
}

/**
 * The client tag for a page Porthole makes itself (the built-in 404 page, a folder listing) at
 * `ex`'s path, for `ctx`'s instance and generation: with a nonce, and room made for it in each
 * Content-Security-Policy the response is configured with (`--header`, porthole.headers), when
 * there is one (helper-89: a configured `default-src 'none'` blocked the client there, silently,
 * while file pages got room). The nonce is derived from the instance, the generation, the Host
 * and the path, as a file page's from its ETag: the same bytes for the same request.
 */
export function generatedClientTag(ex: Exchange, ctx: PageContext): string {
  const { instanceId, generation, consoleForward } = ctx;
  const src = clientSrc(ex.head.path);
  const host = ex.header('host') ?? '';
  const nonce = nodeCrypto().createHmac('sha256', instanceId).update(`generated\0${generation}\0${host}\0${ex.head.path}`).digest('base64');
  if (!roomInConfiguredPolicies(ex, roomFor(ctx, host, nonce), ex.head.path, ctx)) return clientTag(instanceId, generation, src, undefined, consoleForward);
  return clientTag(instanceId, generation, src, nonce, consoleForward);
}

/**
 * The site's own 404 page (`body`, of `type`; the root's 404.html) with the client in it, for a
 * top-level navigation to a path with nothing there: the tab then shows that page once it is made,
 * as with the built-in 404 page (helper-55: a custom 404.html went out without it, and such a tab
 * never followed the save). Undefined: sent as it is (not a navigation, not HTML, too big to parse,
 * no room in the memory budget, or a page that takes no tag: its note is set).
 */
export async function notFoundPageWithClient(ex: Exchange, body: Buffer, type: string, ctx: PageContext): Promise<Buffer | undefined> {
  // A 404 takes no configured Content-Type or Content-Disposition (withExtraHeaders): its own type decides.
  const sent = type;
  if (!isNavigationRequest(ex.head.headers, ex.head.target) || !isHtmlType(sent) || body.length > MAX_INJECT_BYTES) return undefined;
  const documentPath = ex.documentPath ?? ex.head.path;
  if (!ex.reserveMemory(3 * body.length + TAG_ALLOWANCE + 2 * documentPath.length)) return undefined;
  const made = await withClient(ex, body, sent, `nf-${hashOf(body)}`, documentPath, '/404.html', ctx);
  if ('note' in made) {
    ex.note = ex.note === undefined ? made.note : `${ex.note}; ${made.note}`;
    return undefined;
  }
  ex.reservation?.shrinkTo(made.body.length);
  return made.body;
}

/** A page from elsewhere (a proxied back-end's HTML) with the live-reload client in it. */
export interface ForeignPage {
  /** The page with the tag injected, its CSP metas given room for the client. */
  readonly body: Buffer;
  /** The response's Content-Security-Policy field values, each given room for the client, in order. */
  readonly policies: readonly string[];
}

/** A policy a response field delivers (policyDelivery): its value, and whether it only reports. */
export interface HeaderPolicy {
  readonly policy: string;
  readonly reportOnly: boolean;
}

/**
 * Injects the client into `html` answered by something other than the files (a proxied
 * back-end), giving every policy that governs the page room for it: the page's CSP metas and
 * `headerPolicies`, the values of the response's Content-Security-Policy fields (the back-end's
 * own and the user's configured headers; CSP3 §4.1 enforces each one). With any policy present the
 * tag carries a fresh nonce (such pages are never cached by their ETag, PAGE_RESPONSE_DROP); a
 * policy that cannot make room is left as it is and reported, as for files. `contentType` is the
 * response's Content-Type: a charset that is not ASCII-compatible refuses the page (planPage).
 * Returns the plan's reason (`opted-out`, `no-place`…) when the page takes no tag.
 */
export async function injectForeignPage(
  html: Buffer,
  headerPolicies: readonly HeaderPolicy[],
  host: string,
  pagePath: string,
  contentType: string | undefined,
  ctx: PageContext,
): Promise<ForeignPage | { readonly refused: string; readonly optedOut: boolean }> {
  const plainTag = clientTag(ctx.instanceId, ctx.generation, undefined, undefined, ctx.consoleForward);
  // Every charset any Content-Type value names (the browser takes the last valid one): the first
  // that is not ASCII-compatible, if any, refuses the page; else the last.
  const labels = contentType === undefined ? [] : declaredCharsets(contentType);
  const charset = labels.find((label) => !isAsciiCompatibleCharset(label)) ?? labels.at(-1);
  // Kept by content like an overlay's plan: every tab of the same page is planned once.
  const plan = await planFor(contentKey(html, charset), html, plainTag, placementWish(ctx.consoleForward), charset);
  if (plan.kind !== 'inject') return plan.kind === 'opted-out' ? { refused: 'live reload: page opted out', optedOut: true } : { refused: `live reload: ${plan.reason}`, optedOut: false };
  if (plan.csp.length === 0 && headerPolicies.length === 0) return { body: applyPlan(html, plan.offset, plainTag), policies: [] };
  const nonce = nodeCrypto().randomBytes(16).toString('base64');
  const room = roomFor(ctx, host, nonce);
  const body = withRoomInPolicies(html, plan.offset, clientTag(ctx.instanceId, ctx.generation, undefined, nonce, ctx.consoleForward), plan.csp, room, pagePath, ctx);
  const policies = headerPolicies.map(({ policy, reportOnly }) => roomInHeaderPolicy(policy, reportOnly, room, pagePath, ctx));
  return { body, policies };
}

/** What the client needs from a page's policy: its nonce, its script and socket URLs on `host`. */
function roomFor(ctx: PageContext, host: string, nonce: string): ClientRoom {
  const http = ctx.secure ? 'https' : 'http';
  const ws = ctx.secure ? 'wss' : 'ws';
  return {
    nonce,
    host,
    secure: ctx.secure,
    scriptUrl: `${http}://${host}/__porthole/client.js`,
    socketUrl: `${ws}://${host}/__porthole/socket`,
  };
}

/**
 * The page with `tag` at `offset` and each CSP meta's `content` rewritten to make room for the
 * client (live-reload-csp); a policy that cannot make room is left as it is and reported.
 */
function withRoomInPolicies(
  bytes: Buffer,
  offset: number,
  tag: string,
  metas: readonly CspMeta[],
  room: ClientRoom,
  pagePath: string,
  ctx: PageContext,
): Buffer {
  const edits: Array<{ start: number; end: number; text: Buffer }> = [{ start: offset, end: offset, text: Buffer.from(tag, 'latin1') }];
  for (const meta of metas) {
    const result = makeRoomForClient(meta.policy, room);
    if (result.blocked !== undefined) {
      ctx.reportCspBlocked(pagePath, result.blocked);
      continue;
    }
    if (result.policy !== meta.policy) {
      edits.push({ start: meta.start, end: meta.end, text: Buffer.from(`content="${escapeAttribute(result.policy)}"`, 'latin1') });
    }
  }
  edits.sort((a, b) => a.start - b.start);
  const parts: Buffer[] = [];
  let at = 0;
  for (const edit of edits) {
    parts.push(bytes.subarray(at, edit.start), edit.text);
    at = edit.end;
  }
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts);
}

/**
 * An attribute value in double quotes. Characters up to U+00FF go back as the bytes they were read
 * from (the page is parsed as latin1); anything above came from a character reference and goes
 * back as one, so the page's own encoding is never assumed.
 */
function escapeAttribute(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '&') out += '&amp;';
    else if (ch === '"') out += '&quot;';
    else if (code > 0xff) out += `&#x${code.toString(16)};`;
    else out += ch;
  }
  return out;
}

/**
 * A page version's key in the plan cache: its bytes (a hash) and the charset it is read in, what
 * a plan is made from. Not its path and stat: a file rewritten with the same size within one tick
 * of the file system's clock keeps its stat, and a plan of the other bytes put the tag inside a
 * tag (`</b<script …>ody>`). Every copy of the same page (tabs, paths, proxied answers) shares it.
 */
function contentKey(bytes: Buffer, charset: string | undefined): string {
  return `c-${hashOf(bytes)}\0${charset ?? ''}`;
}

function hashOf(bytes: Buffer): string {
  return nodeCrypto().createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}
