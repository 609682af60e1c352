/**
 * What the server does with a parsed request, in order: client filter (allowedClients), Host check
 * (DNS rebinding), cross-site loads (Fetch Metadata, unless `crossSiteLoads`), method (RFC 9110
 * §9), reserved `/__porthole/` endpoints, then static files.
 * Refusals are plain-text answers whose reason also goes into the log record's note.
 */
import type { Exchange } from '../http/connection';
import { isCrossSiteLoad, type ClientFilter, type HostPolicy } from '../access/access-policy';
import type { HeaderList } from '../http/request-record';
import { serveStatic, type StaticOptions } from '../files/static-files';
import { RESERVED_PREFIX } from '../options';
import type { PageHooks } from '../reload/live-reload';

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
  /** Answer cross-site subresource loads (ServerOptions.crossSiteLoads); reconfigurable. */
  crossSiteLoads: boolean;
}

function refuse(ex: Exchange, status: number, message: string, extra: HeaderList = []): void {
  ex.respond(status, [['Content-Type', 'text/plain; charset=utf-8'], ...extra], `${message}\n`);
}

export function handleRequest(ex: Exchange, ctx: HandlerContext): void {
  if (!ctx.clients.allows(ex.clientIp)) {
    ex.note = `client ${ex.clientIp} is not in allowedClients`;
    refuse(ex, 403, 'Forbidden: this device is not allowed to use this server.');
    return;
  }
  if (!ctx.hosts.allows(ex.head.host)) {
    ex.note = `Host not allowed: ${ex.head.host ?? ''}`;
    refuse(
      ex,
      403,
      'Forbidden: this server does not answer to that host name (a guard against DNS rebinding). Add it to allowedHosts if it is yours.',
    );
    return;
  }
  if (!ctx.crossSiteLoads && isCrossSiteLoad(ex.head.headers)) {
    // Decided on the headers alone, before any path is looked at: the answer is the same whether
    // the file exists or not, so it cannot be used to probe the folder either.
    ex.note = 'cross-site load refused (crossSiteLoads is off)';
    refuse(
      ex,
      403,
      'Forbidden: another site may not load files from this server. Open the page from this server itself, or turn on crossSiteLoads (--allow-cross-site) to allow it.',
      [['Vary', 'Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest']],
    );
    return;
  }
  const method = ex.method;
  if (method !== 'GET' && method !== 'HEAD') {
    if (method === 'OPTIONS') {
      ex.respond(204, [['Allow', ALLOW]]);
    } else if (KNOWN_NOT_ALLOWED.has(method)) {
      // TRACE never echoes the request (RFC 9110 §9.3.8 leaves it optional; it leaks headers).
      ex.note = `method ${method} not allowed`;
      refuse(ex, 405, `Method ${method} is not allowed here: this is a static file server.`, [['Allow', ALLOW]]);
    } else {
      ex.note = `method ${method} not implemented`;
      refuse(ex, 501, `Method ${method} is not implemented.`);
    }
    return;
  }
  const path = ex.head.path;
  if (path.startsWith(RESERVED_PREFIX) && ctx.reserved !== undefined && ctx.reserved(ex, path)) return;
  if (ctx.htmlFilter !== undefined && ctx.htmlFilter(ex)) return;
  serveStatic(ex, path, ctx.files).catch(() => ex.connection.failExchange(ex));
}
