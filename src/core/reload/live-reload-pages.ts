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
import { createHash } from 'node:crypto';
import { extname, join, relative } from 'node:path';
import type { Exchange } from '../http/connection';
import { CLIENT_VERSION } from './live-reload-client';
import { injectClientTag, isNavigationRequest } from './live-reload-inject';
import { evaluatePreconditions } from '../files/preconditions';
import type { HeaderList } from '../http/request-record';
import { resolveRequestPath } from '../files/resolve-path';
import { INDEX_NAMES, answerLookup, contentTypeFor, etagFor, lookupPath, readWhole, type StaticOptions } from '../files/static-files';

/**
 * The tag injected into pages: ASCII, valid in HTML whatever the parsing mode. `instance` (a UUID)
 * and `generation` (a count of events sent) say which state of the site the page was served at.
 * `src` is the client's URL as the page should ask for it (clientSrc).
 */
export function clientTag(instance: string, generation: number, src = '/__porthole/client.js'): string {
  return `<script src="${src}" data-porthole-client data-porthole-instance="${instance}" data-porthole-generation="${generation}"></script>`;
}

/** A `<base href>` element: relative URLs in the page no longer resolve against its own URL. */
const BASE_HREF = /<base\s[^>]*href/i;

/**
 * The client's URL relative to the page (`./__porthole/client.js`, `../__porthole/client.js`, …
 * one `../` per directory level of `requestPath`, the origin-form path of RFC 9112 §3.2.1), so it
 * also loads behind a proxy that serves the site under a path prefix (code-server's
 * `/proxy/<port>/`, which asExternalUri gives for the preview and the browser). A page with a
 * `<base href>` gets the root-absolute `/__porthole/client.js` (a relative one would follow the base).
 */
export function clientSrc(requestPath: string, page: Buffer): string {
  const q = requestPath.indexOf('?');
  const pathOnly = q < 0 ? requestPath : requestPath.slice(0, q);
  const depth = Math.max(0, pathOnly.split('/').length - 2);
  if (BASE_HREF.test(page.toString('latin1'))) return '/__porthole/client.js';
  return `${depth === 0 ? './' : '../'.repeat(depth)}__porthole/client.js`;
}
/** HTML files above this are served as they are (never read whole into memory to inject). */
export const MAX_INJECT_BYTES = 16 * 1024 * 1024;
const PAGE_EXTENSIONS = new Set(['', '.html', '.htm']);

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
}

/** True when the request is taken over (and will be answered asynchronously). */
export function filterPage(ex: Exchange, ctx: PageContext): boolean {
  const navigation = isNavigationRequest(ex.head.headers, ex.head.target);
  if (!navigation && ctx.overlayCount === 0) return false;
  const resolved = resolveRequestPath(ex.head.path, ctx.files.dotfiles);
  if (resolved.kind !== 'ok') return false;
  const segments = resolved.segments;
  const last = segments[segments.length - 1];
  let take = navigation && (resolved.trailingSlash || last === undefined || PAGE_EXTENSIONS.has(extname(last).toLowerCase()));
  if (!take && ctx.overlayCount > 0) {
    const names = resolved.trailingSlash ? INDEX_NAMES.map((n) => [...segments, n]) : [segments];
    take = names.some((s) => overlayOf(ctx, [join(ctx.files.rootReal, ...s), join(ctx.rootGiven, ...s)]) !== undefined);
  }
  if (!take) return false;
  servePage(ex, segments, resolved.trailingSlash, navigation, ctx).catch(() => ex.connection.failExchange(ex));
  return true;
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
  const found = await lookupPath(segments, trailingSlash, ctx.files);
  if (found.kind !== 'file') {
    await answerLookup(ex, ex.head.path, found, ctx.files);
    return;
  }
  const { file, stat, real } = found;
  let handed = false;
  try {
    const rel = relative(ctx.files.rootReal, real);
    const overlay = overlayOf(ctx, [real, join(ctx.rootGiven, rel)]);
    const type = contentTypeFor(real);
    const html = type.startsWith('text/html');
    const inject = navigation && html;
    if (overlay === undefined && (!inject || stat.size > MAX_INJECT_BYTES)) {
      handed = true;
      await answerLookup(ex, ex.head.path, found, ctx.files);
      return;
    }
    const bytes = overlay !== undefined ? Buffer.from(overlay, 'utf8') : await readWhole(file, stat.size);
    const base = overlay !== undefined ? `o-${hashOf(bytes)}` : etagFor(stat).slice(1, -1);
    let body = bytes;
    let etag = `W/"${base}"`;
    if (inject) {
      // Read once: the tag and the ETag must name the same generation.
      const { instanceId, generation } = ctx;
      const result = injectClientTag(bytes, clientTag(instanceId, generation, clientSrc(ex.head.path, bytes)));
      if (result.kind === 'injected') {
        body = result.body;
        etag = `W/"${base}-${CLIENT_VERSION}-${instanceId.slice(0, 8)}.${generation}"`;
      } else {
        ex.note = result.kind === 'opted-out' ? 'live reload: page opted out' : `live reload: ${result.reason}`;
        if (overlay === undefined) {
          handed = true;
          await answerLookup(ex, ex.head.path, found, ctx.files);
          return;
        }
      }
    }
    ex.filePath = real;
    sendBytes(ex, body, etag, type);
  } finally {
    if (!handed) await file.close().catch(() => undefined);
  }
}

/** A rewritten body: its own weak validator, If-Match / If-None-Match only, no ranges. */
function sendBytes(ex: Exchange, body: Buffer, etag: string, type: string): void {
  const validators: HeaderList = [
    ['ETag', etag],
    ['Cache-Control', 'no-cache'],
  ];
  const pre = evaluatePreconditions(
    ex.method,
    { ifMatch: ex.header('if-match'), ifNoneMatch: ex.header('if-none-match'), ifModifiedSince: undefined, ifUnmodifiedSince: undefined },
    { etag, lastModifiedSec: 0 },
  );
  if (pre === 'not-modified') {
    ex.respond(304, validators);
    return;
  }
  if (pre === 'failed') {
    ex.respond(412, [['Content-Type', 'text/plain; charset=utf-8']], 'Precondition failed: the page has changed.\n');
    return;
  }
  ex.respond(200, [['Content-Type', type], ...validators, ['X-Content-Type-Options', 'nosniff']], body);
}

function hashOf(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}
