/**
 * The Requests view's kept requests as an HTTP Archive: HAR 1.2
 * (http://www.softwareishard.com/blog/har-12-spec/), the format Chrome's and Firefox's DevTools
 * import. Pure (no vscode), so it is tested against records from a real server.
 *
 * What a HAR from Porthole is: the server's side of each exchange. Timings are measured at the
 * server (`send`: the request arriving, `wait`: Porthole or the back-end preparing the answer,
 * `receive`: the response being written), `blocked`/`dns`/`connect`/`ssl` are -1 (unknown), and
 * bodies are never kept (neither request nor response): no `postData`, no `content.text`, and a
 * comment says so. The `Date` and `Server` response headers Porthole writes on every response are
 * not kept either. Custom fields (HAR §"Custom fields": names start with `_`): `_upstream` for a
 * proxied request's back-end, `_aborted`, `_note`, `_spaFallback` (the file the SPA fallback sent).
 */
import type { Cookie, Entry, Har, Header, QueryString } from 'har-format';
import type { HeaderList, RequestRecord } from '../../core';
import { reasonPhrase, wireText } from '../../core';

/**
 * Request and response headers whose values are credentials. Left out of a HAR unless the export
 * asks for sensitive data (as Chrome's "Export HAR (sanitized)" leaves out Cookie, Set-Cookie and
 * Authorization): a HAR file is something handed to someone else.
 */
export const SENSITIVE_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export interface HarOptions {
  /** Keep Authorization, Proxy-Authorization, Cookie and Set-Cookie (and their cookies). Default false. */
  readonly includeSensitive?: boolean;
  /** `log.creator.version`: Porthole's version. */
  readonly creatorVersion: string;
}

/** One kept request: the record and the name of the workspace folder whose server answered. */
export interface HarSource {
  readonly server: string;
  readonly record: RequestRecord;
}

const BODY_COMMENT = 'Porthole does not keep bodies: the content is not in this file.';

/** `host` or `[v6]` for a URL's authority. */
function hostForUrl(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

function firstHeader(headers: HeaderList, name: string): string | undefined {
  for (const [n, v] of headers) if (n.toLowerCase() === name) return v;
  return undefined;
}

/**
 * The absolute URL the client asked for: the scheme of the connection (`https` over TLS), the
 * authority from the request's Host field (what the client used; RFC 9112 §3.3), else the
 * server's address and port, then the target. An absolute-form target is taken as it is.
 * The path and query are the target's own, never normalised: a WHATWG URL parser removes dot
 * segments (`/x/../a`, `/x/%2e%2e/a` become `/a`, RFC 3986 §5.2.4), but the server answered the
 * target as sent (`GET /../a.txt` is a 400, `/a.txt` a 200), so a replay or a HAR must carry it.
 * Returns undefined when the request line could not be parsed (method or target `-`) or the
 * authority is not a URL's (a Host value no URL parser takes).
 */
export function requestUrl(record: RequestRecord): string | undefined {
  if (record.method === '-' || record.target === '-') return undefined;
  const scheme = record.secure ? 'https' : 'http';
  // The target is kept one char per byte (latin1): a raw byte above 0x7F (a 400, but logged) is
  // percent-encoded as that byte, not as the UTF-8 of its latin1 char (`%E2%80%AE`, not `%C3%A2…`).
  const target = record.target.replace(/[\u0080-\u00ff]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const absolute = /^(https?:\/\/[^/?#]*)(.*)$/is.exec(target);
  if (absolute) {
    try {
      const origin = new URL(absolute[1] ?? '').origin;
      return origin === 'null' ? undefined : `${origin}${pathOf(absolute[2] ?? '')}`;
    } catch {
      return undefined;
    }
  }
  // Origin-form or '*' only: anything else (authority-form, a line that only looked like a request) has no URL.
  if (!target.startsWith('/') && target !== '*') return undefined;
  const fallback = `${hostForUrl(record.serverIp)}:${record.serverPort}`;
  const host = firstHeader(record.requestHeaders, 'host');
  // '*' (OPTIONS *, RFC 9112 §3.2.4) asks about the server: its URL is the origin.
  const path = target === '*' ? '/' : pathOf(target);
  for (const authority of host !== undefined && host !== '' ? [host, fallback] : [fallback]) {
    // Only an authority: a Host value holding '/', '?', '#', '@' or '\' would move the target.
    if (/[/?#@\\\s]/.test(authority)) continue;
    try {
      const origin = new URL(`${scheme}://${authority}/`).origin;
      if (origin !== 'null') return `${origin}${path}`;
    } catch {
      // try the next authority
    }
  }
  return undefined;
}

/**
 * True for a CONNECT whose target is authority-form (`host:port`, `[v6]:port`; RFC 9112 §3.2.3):
 * a request line that parsed, but names a tunnel's end, not a URL (requestUrl is undefined).
 */
export function isConnectAuthority(record: RequestRecord): boolean {
  return record.method === 'CONNECT' && /^(?:\[[0-9A-Fa-f:.]+\]|[^/?#@\s[\]:]+):\d+$/.test(record.target);
}

/**
 * The URL of the server that answered `record` (its address and port, in the connection's
 * scheme), for a request whose target is no URL (a CONNECT's `host:port`): where a replay goes.
 */
export function serverUrl(record: RequestRecord): string {
  return `${record.secure ? 'https' : 'http'}://${hostForUrl(record.serverIp)}:${record.serverPort}/`;
}

/** A target's path and query as sent ('/' for an empty path), without a fragment. */
function pathOf(target: string): string {
  const path = target.split('#', 1)[0] ?? '';
  return path.startsWith('/') ? path : `/${path}`;
}

/**
 * `url` (a WHATWG URL's href) as an RFC 3986 URI, which HAR 1.2's `url` is (har-schema: format
 * "uri"): after the authority, every character RFC 3986 §3.3–3.5 does not allow there is
 * percent-encoded. A WHATWG serialiser leaves `[`, `]`, `|`, `^` in a path, `{`, `}`, `` ` ``, `\`
 * in a query, a `%` not followed by two hex digits, and a second `#`; one request holding any of
 * them made the whole export fail a HAR validator. The bytes meant stay the same.
 */
export function harUrl(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return url;
  const hash = url.indexOf('#', start);
  // Characters are ASCII here (the serialiser percent-encoded the rest): one byte each.
  const encode = (part: string): string =>
    part.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  const head = url.slice(0, start);
  return hash < 0 ? head + encode(url.slice(start)) : `${head}${encode(url.slice(start, hash))}#${encode(url.slice(hash + 1))}`;
}

function harHeaders(list: HeaderList, includeSensitive: boolean): Header[] {
  return list.filter(([name]) => includeSensitive || !SENSITIVE_HEADERS.has(name.toLowerCase())).map(([name, value]) => ({ name, value }));
}

/** `name=value` pairs of Cookie fields (RFC 6265 §5.4); values as sent. */
function requestCookies(list: HeaderList): Cookie[] {
  const cookies: Cookie[] = [];
  for (const [name, value] of list) {
    if (name.toLowerCase() !== 'cookie') continue;
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      cookies.push({ name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() });
    }
  }
  return cookies;
}

/** Set-Cookie fields (RFC 6265 §4.1): the name, value and the attributes HAR has fields for. */
function responseCookies(list: HeaderList): Cookie[] {
  const cookies: Cookie[] = [];
  for (const [name, value] of list) {
    if (name.toLowerCase() !== 'set-cookie') continue;
    const [first = '', ...attributes] = value.split(';');
    const eq = first.indexOf('=');
    if (eq <= 0) continue;
    const cookie: Cookie = { name: first.slice(0, eq).trim(), value: first.slice(eq + 1).trim() };
    for (const attribute of attributes) {
      const [key = '', ...rest] = attribute.split('=');
      const v = rest.join('=').trim();
      switch (key.trim().toLowerCase()) {
        case 'path':
          cookie.path = v;
          break;
        case 'domain':
          cookie.domain = v;
          break;
        case 'expires': {
          const t = Date.parse(v);
          if (!Number.isNaN(t)) cookie.expires = new Date(t).toISOString();
          break;
        }
        case 'httponly':
          cookie.httpOnly = true;
          break;
        case 'secure':
          cookie.secure = true;
          break;
      }
    }
    cookies.push(cookie);
  }
  return cookies;
}

function queryString(url: string): QueryString[] {
  const params = new URL(url).searchParams;
  return [...params].map(([name, value]) => ({ name, value }));
}

/** A request's body size as announced: Content-Length, 0 without one, -1 for a chunked body. */
function requestBodySize(headers: HeaderList): number {
  const te = firstHeader(headers, 'transfer-encoding');
  if (te !== undefined && /chunked/i.test(te)) return -1;
  const length = Number(firstHeader(headers, 'content-length') ?? '0');
  return Number.isSafeInteger(length) && length >= 0 ? length : -1;
}

/**
 * The HAR timings (ms) of a record, from the server's view: send + wait + receive = durationMs.
 * `send` is the request arriving (first byte of its head to the handler getting it), `wait` up to
 * the response head, `receive` the response being written. A request that was never handed on
 * (refused while its head or body was arriving) spends its time in `send`.
 */
export function harTimings(record: RequestRecord): Entry['timings'] & { send: number; wait: number; receive: number } {
  const total = Math.max(0, record.durationMs);
  const clamp = (ms: number): number => Math.min(total, Math.max(0, ms));
  const headAt = record.responseStartMs >= 0 ? clamp(record.responseStartMs) : total;
  const handed = record.requestMs >= 0 ? Math.min(clamp(record.requestMs), headAt) : headAt;
  return { blocked: -1, dns: -1, connect: -1, ssl: -1, send: handed, wait: headAt - handed, receive: total - headAt };
}

/**
 * One HAR entry for a record, or undefined for a request whose request line could not be parsed
 * (it has no URL). Sensitive headers (SENSITIVE_HEADERS) are left out unless
 * `options.includeSensitive`; the entry's comment says which were.
 */
export function toHarEntry(source: HarSource, options: Pick<HarOptions, 'includeSensitive'> = {}): Entry | undefined {
  // Field values are kept one char per byte (latin1); a HAR is JSON text, written and read as UTF-8.
  const text = (list: HeaderList): HeaderList => list.map(([name, value]) => [name, wireText(value)] as const);
  const r = { ...source.record, requestHeaders: text(source.record.requestHeaders), responseHeaders: text(source.record.responseHeaders) };
  const asked = requestUrl(r);
  if (asked === undefined) return undefined;
  const url = harUrl(asked);
  const sensitive = options.includeSensitive === true;
  const contentType = firstHeader(r.responseHeaders, 'content-type');
  const location = firstHeader(r.responseHeaders, 'location');
  const coding = firstHeader(r.responseHeaders, 'content-encoding');
  const left = [...r.requestHeaders, ...r.responseHeaders]
    .map(([name]) => name)
    .filter((name, i, all) => SENSITIVE_HEADERS.has(name.toLowerCase()) && all.findIndex((n) => n.toLowerCase() === name.toLowerCase()) === i);
  const timings = harTimings(r);
  const entry: Entry = {
    startedDateTime: new Date(r.time).toISOString(),
    time: timings.send + timings.wait + timings.receive,
    request: {
      method: r.method,
      url,
      httpVersion: r.protocol,
      cookies: sensitive ? requestCookies(r.requestHeaders) : [],
      headers: harHeaders(r.requestHeaders, sensitive),
      queryString: queryString(url),
      headersSize: -1,
      bodySize: requestBodySize(r.requestHeaders),
      ...(requestBodySize(r.requestHeaders) !== 0 ? { comment: BODY_COMMENT } : {}),
    },
    response: {
      status: r.status,
      statusText: r.status >= 100 && r.status <= 999 && r.responseHeaders.length > 0 ? reasonPhrase(r.status) : '',
      httpVersion: 'HTTP/1.1',
      cookies: sensitive ? responseCookies(r.responseHeaders) : [],
      headers: harHeaders(r.responseHeaders, sensitive),
      content: {
        size: r.bytes,
        mimeType: contentType ?? 'x-unknown',
        comment: coding === undefined ? BODY_COMMENT : `${BODY_COMMENT} Sent with Content-Encoding: ${coding}; size is the encoded byte count (the decoded size is not kept).`,
      },
      redirectURL: location ?? '',
      headersSize: -1,
      bodySize: r.bytes,
    },
    cache: {},
    timings,
    serverIPAddress: r.serverIp,
    connection: String(r.connectionId),
  };
  if (!sensitive && left.length > 0) entry.comment = `Left out (sensitive): ${left.join(', ')}.`;
  if (r.upstream !== undefined) {
    entry._upstream = { url: r.upstream.target, status: r.upstream.status, time: r.upstream.ms };
  }
  if (r.aborted) entry._aborted = true;
  if (r.note !== undefined) entry._note = r.note;
  if (r.spaFallback !== undefined) entry._spaFallback = r.spaFallback;
  entry._server = source.server;
  return entry;
}

/**
 * The HAR 1.2 document for `sources` (oldest first, as the store keeps them): `log.creator` is
 * Porthole, no `pages` (a server does not see pages), one entry per request with a URL
 * (toHarEntry); `log.comment` counts the requests left out, each kind by its own reason (a request
 * line that did not parse; a CONNECT, whose `host:port` target is no URL).
 */
export function buildHar(sources: readonly HarSource[], options: HarOptions): Har {
  const entries: Entry[] = [];
  let unparsable = 0;
  let tunnels = 0;
  for (const source of sources) {
    const entry = toHarEntry(source, options);
    if (entry !== undefined) entries.push(entry);
    else if (isConnectAuthority(source.record)) tunnels++;
    else unparsable++;
  }
  const notes = [
    "Exported from Porthole's Requests view: the server's side of each exchange.",
    'Bodies are not kept. Timings are measured at the server.',
    options.includeSensitive === true
      ? 'Includes credentials (Authorization, Cookie, Set-Cookie): share with care.'
      : 'Authorization, Proxy-Authorization, Cookie and Set-Cookie are left out.',
  ];
  if (unparsable > 0) notes.push(`${unparsable} request(s) whose request line could not be parsed are left out.`);
  // A CONNECT parsed: its host:port target is no URL, which a HAR entry needs (Copy as curl repeats it).
  if (tunnels > 0) notes.push(`${tunnels} CONNECT request(s) are left out: their target is a host and port, not a URL.`);
  return {
    log: {
      version: '1.2',
      creator: { name: 'Porthole', version: options.creatorVersion },
      entries,
      comment: notes.join(' '),
    },
  };
}

/** The default file name: `porthole-YYYY-MM-DDTHH-MM-SS.har` in local time (no ':' for Windows). */
export function defaultHarFileName(now: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `porthole-${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}T${two(now.getHours())}-${two(now.getMinutes())}-${two(now.getSeconds())}.har`;
}
