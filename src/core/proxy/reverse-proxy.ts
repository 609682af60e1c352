/**
 * The reverse proxy: a request whose path falls under a route goes to its back-end, and the
 * back-end's answer comes back through the same Exchange, streamed both ways with backpressure.
 *
 * Outbound side: undici (Node's own HTTP client, the one behind `fetch`), one Agent per server:
 * keep-alive pools per origin, an llhttp response parser, connect/headers timeouts, upgrades.
 * The inbound side stays Porthole's parser and Connection (the body hook, `startBody`, `upgrade`).
 *
 * - Request body: `Exchange.readBody` → a Readable that undici sends (Content-Length kept, chunked
 *   otherwise); `data` returning false pauses the client's socket until undici reads again.
 * - Response body: undici's body stream → `Exchange.startBody` (Content-Length when the back-end
 *   gave one, else chunked); a full socket pauses the back-end's stream. Trailers are dropped.
 *   An answer to HEAD, a 204 or a 304 is its head alone (RFC 9112 §6.3), whatever its fields say.
 * - WebSocket (any `Connection: upgrade`): undici's upgrade, then `101` to the client and the two
 *   sockets piped as bytes both ways; either side closing closes both.
 * - Navigations answered with HTML get the live-reload client, injected by the same function as
 *   for files (`injectClientTag`), when live reload is on; the page's validators go (its bytes
 *   changed) and it is requested whole and unencoded (conditionals and Accept-Encoding dropped).
 * - Failures: nothing listening / reset / bad answer (a status outside 100..599 too) → 502; no
 *   connection or no response head in time → 504 (interim 1xx answers, dropped, do not extend
 *   the wait: InterimOnlyError); a page names the target and the error.
 *   Mid-body failures cut the client's connection (the status was sent already), with a log note
 *   saying what the back-end did (describeBodyError). Nothing here
 *   blocks: a slow back-end holds only the exchanges waiting on it.
 */
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type * as UndiciModule from 'undici';
import { pipeIntoBody, type Exchange, type UpstreamInfo } from '../http/connection';
import { timeoutAfterReads } from '../http/after-reads';
import type { HeaderList, ReadonlyHeaderList } from '../http/request-record';
import { statusHasNoBody } from '../http/response-head';
import { escapeHtml, htmlPage } from '../text/html';
import { escapeForDisplay } from '../text/display-text';
import { isDocumentNavigation, isNavigationRequest } from '../reload/live-reload-inject';
import { MAX_INJECT_BYTES, MAX_INJECT_MIB, PAGE_VARY, isHtmlType, policyDelivery, sentAsAttachment, sentContentType, type ForeignPage, type HeaderPolicy } from '../reload/live-reload-pages';
import { formatSize } from '../text/format-size';
import type { ProxyOptions } from '../options';
import { compileRoutes, isUnspecifiedAddress, matchRoute, rewriteBackendLocation, routeHolding, rewriteBackendRefresh, type CompiledRoute } from './proxy-routes';
import { forwardRequestHeaders, forwardResponseHeaders, isWebSocketUpgrade, maxForwards, newViaPseudonym, PROXIED_ALLOW, responseLength, viaNamesUs } from './proxy-headers';
import { acceptKey } from '../http/websocket';

/**
 * undici, loaded on first use: it is most of the CLI bundle's start-up cost (~150 ms to load on a
 * busy 2-core machine), and only a server with proxy routes needs it.
 */
let undiciModule: typeof UndiciModule | undefined;
function undici(): typeof UndiciModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  undiciModule ??= require('undici') as typeof UndiciModule;
  return undiciModule;
}

/**
 * A back-end's response fields as their bytes. undici decodes each field value as UTF-8, so a
 * back-end's `X-Name: café` in UTF-8 went out re-encoded as one Latin-1 byte, and a Latin-1 byte
 * (obs-text, RFC 9110 §5.5) became U+FFFD and the field `-`. Handed the values already decoded one
 * character per byte (as Porthole's parser keeps request fields and its writer sends them), undici
 * keeps them as given, and they go out as the bytes that came. (Content-Disposition beside a
 * Content-Length is re-encoded by undici once more: forwardResponseHeaders undoes it.)
 */
function latin1Heads(dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] {
  const bytesAsText = (raw: Buffer[] | string[] | null): string[] | null => raw?.map((v: Buffer | string) => (typeof v === 'string' ? v : v.toString('latin1'))) ?? null;
  // Every handler method passed on, called on the handler itself; only the heads are changed.
  return (opts, handler) =>
    dispatch(opts, {
      onConnect: (abort) => handler.onConnect?.(abort),
      onError: (err) => handler.onError?.(err),
      onUpgrade: (statusCode, raw, socket) => handler.onUpgrade?.(statusCode, bytesAsText(raw), socket),
      onResponseStarted: () => handler.onResponseStarted?.(),
      // undici keeps a value it is given as a string (util.parseHeaders); typed Buffer[] there only.
      onHeaders: (statusCode, raw, resume, statusText) => handler.onHeaders?.(statusCode, bytesAsText(raw) as unknown as Buffer[], resume, statusText) ?? true,
      onData: (chunk) => handler.onData?.(chunk) ?? true,
      onComplete: (trailers) => handler.onComplete?.(trailers),
      onBodySent: (chunkSize, total) => handler.onBodySent?.(chunkSize, total),
    });
}

/**
 * A chunked answer whose trailer section names a Content-Length completes, instead of failing as
 * cut short. undici adds a Content-Length in the trailers to the message's framing and then fails
 * the whole answer for not matching it (UND_ERR_RES_CONTENT_LENGTH_MISMATCH), although every chunk
 * had come: RFC 9112 §7.1.2 forbids merging a trailer field into the header section, and framing
 * fields are never trailers (RFC 9110 §6.5.1). In a chunked answer (no Content-Length in its head)
 * that error can only come of such a trailer, which is read after the last chunk, so the content
 * is whole: the answer completes (its trailers dropped, as all are) and the client's connection
 * stays. undici still closes the back-end connection. Upgrades and other answers pass untouched.
 */
function trailerLengths(dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] {
  return (opts, handler) => {
    if (opts.upgrade !== undefined && opts.upgrade !== null) return dispatch(opts, handler);
    let chunkedWithoutLength = false;
    let settled = false;
    return dispatch(opts, {
      onConnect: (abort) => handler.onConnect?.(abort),
      onError: (err) => {
        if (settled) return;
        settled = true;
        if (chunkedWithoutLength && (err as { code?: unknown }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') handler.onComplete?.([]);
        else handler.onError?.(err);
      },
      onUpgrade: (statusCode, raw, socket) => handler.onUpgrade?.(statusCode, raw, socket),
      onResponseStarted: () => handler.onResponseStarted?.(),
      onHeaders: (statusCode, raw, resume, statusText) => {
        if (statusCode >= 200) chunkedWithoutLength = isChunkedWithoutLength(raw);
        return handler.onHeaders?.(statusCode, raw, resume, statusText) ?? true;
      },
      onData: (chunk) => handler.onData?.(chunk) ?? true,
      onComplete: (trailers) => {
        settled = true;
        handler.onComplete?.(trailers);
      },
      onBodySent: (chunkSize, total) => handler.onBodySent?.(chunkSize, total),
    });
  };
}

/** True for a response head (undici's raw name/value list) framed by chunked, with no Content-Length. */
function isChunkedWithoutLength(raw: ReadonlyArray<Buffer | string> | null): boolean {
  if (raw === null) return false;
  let chunked = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = String(raw[i]).trim().toLowerCase();
    if (name === 'content-length') return false;
    if (name === 'transfer-encoding' && /(^|,)\s*chunked\s*$/i.test(String(raw[i + 1]))) chunked = true;
  }
  return chunked;
}

/** A back-end answered a WebSocket upgrade with `statusCode` instead of 101 (upgradeRefusals). */
class UpgradeRefusedError extends Error {
  constructor(readonly statusCode: number) {
    super(`upgrade refused with ${statusCode}`);
  }
}

/**
 * An upgrade's answer other than 101 fails as UpgradeRefusedError, carrying its status. undici's
 * upgrade fails it with 'bad upgrade' and nothing else, so the 502 and the log could only say the
 * back-end did not switch, never what it answered (a 403 from an auth check, a 404 for a wrong
 * path). Thrown from onHeaders, it is what undici rejects the upgrade with (it destroys the
 * connection, as for its own error); every other request is passed on untouched.
 */
function upgradeRefusals(dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] {
  return (opts, handler) => {
    if (opts.upgrade === undefined || opts.upgrade === null) return dispatch(opts, handler);
    return dispatch(opts, {
      onConnect: (abort) => handler.onConnect?.(abort),
      onError: (err) => handler.onError?.(err),
      onUpgrade: (statusCode, raw, socket) => handler.onUpgrade?.(statusCode, raw, socket),
      onResponseStarted: () => handler.onResponseStarted?.(),
      onHeaders: (statusCode) => {
        // An interim answer (103 Early Hints, 102 Processing) may come before the 101 as before
        // any final one (RFC 9110 §15.2): told to the caller as a request's (opts.onInfo, for the
        // response timeout) and skipped; undici reads on to the next answer. (100 Continue
        // never gets here: undici fails it as unasked.)
        if (statusCode > 101 && statusCode < 200) {
          (opts as { onInfo?: (info: { statusCode: number }) => void }).onInfo?.({ statusCode });
          return true;
        }
        throw new UpgradeRefusedError(statusCode);
      },
      onData: (chunk) => handler.onData?.(chunk) ?? true,
      onComplete: (trailers) => handler.onComplete?.(trailers),
      onBodySent: (chunkSize, total) => handler.onBodySent?.(chunkSize, total),
    });
  };
}

/**
 * A field value held one character per byte with each byte above 0x7F percent-encoded, as
 * browsers take a URL's bytes from `Location` (`caf\xC3\xA9` → `caf%C3%A9`, a lone `\xE9` →
 * `%E9`): read as UTF-8 first, a byte that is none became U+FFFD, `%EF%BF%BD` once rewritten, and
 * the browser went to another path (helper-173).
 */
function bytesPercentEncoded(value: string): string {
  return value.replace(/[\x80-\xff]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Request fields dropped when the answer may be rewritten (a page gets the live-reload client). */
const PAGE_REQUEST_DROP: ReadonlySet<string> = new Set(['accept-encoding', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range']);
/**
 * Response fields dropped from a rewritten page: they describe the bytes before injection
 * (validators, digests: RFC 3230's Digest and RFC 9530's Content-Digest and Repr-Digest).
 */
const PAGE_RESPONSE_DROP: ReadonlySet<string> = new Set(['etag', 'last-modified', 'content-md5', 'digest', 'content-digest', 'repr-digest', 'accept-ranges']);
const NO_DROP: ReadonlySet<string> = new Set();

/**
 * The largest response head (status line and fields) taken from a back-end, in bytes; a larger one
 * is a 502 that says so. undici's default (Node's http.maxHeaderSize) made explicit, so the 502
 * can name it; as much as Porthole takes of a request head (MAX_HEAD_BYTES), and twice nginx's
 * `proxy_buffer_size`.
 */
const MAX_BACKEND_HEAD_BYTES = 16 * 1024;

/**
 * How long a back-end may pause in the middle of a page before the page is passed on as it comes,
 * without the live-reload client (ms): 250. A page sent whole arrives in one burst of chunks
 * (loopback or LAN: milliseconds apart, a 4 MiB page in well under 100 ms); one that pauses is
 * streamed on purpose (a server-rendered shell and then its data, a progress or log page), and
 * held whole it showed a blank tab until its end, or for ever.
 */
export const PAGE_PAUSE_MS = 250;

/**
 * How long a page may go on arriving, from its first bytes, before it is passed on as it comes,
 * without the live-reload client (ms): 1,000. A page sent whole is in within milliseconds of its
 * first bytes (loopback or LAN: a 4 MiB page in well under 100 ms); one still arriving a second
 * later is streamed, even with no pause of PAGE_PAUSE_MS in it (a progress or log page that sends
 * a line every 100 ms): held whole, its tab stayed blank until its end, or for ever (helper-168:
 * 20 chunks 100 ms apart, first byte after 1.9 s; 100 chunks, after 10 s). Counted from the first
 * bytes, not the head: a back-end that sends its head and then works for seconds before a page it
 * sends whole (a development server compiling) still gets the client in it.
 */
export const PAGE_HOLD_MS = 1_000;

/** RFC 9110 §15: a status code outside 100..599 is invalid; a back-end that sends one gets 502. */
/**
 * Seconds between the loads of a tab's 502 page while nothing listens at the back-end's address:
 * a development server restarting (nodemon, Flask's reloader) is back within a second or two,
 * and each load is one logged request.
 */
const RETRY_DOWN_S = 2;

const MIN_STATUS = 100;
const MAX_STATUS = 599;

/** A back-end's status line named a code outside MIN_STATUS..MAX_STATUS (undici passes them on). */
class InvalidStatusError extends Error {
  constructor(readonly statusCode: number) {
    super(`invalid status ${statusCode}`);
  }
}

/**
 * A back-end sent interim (1xx) answers, 103 Early Hints or 102 Processing, and no final response
 * within the response timeout. undici starts its wait for the response head again at every 1xx it
 * reads, so without this a back-end that sent one every few seconds held its exchange, the
 * client's connection and a back-end connection for ever, past `--proxy-timeout`.
 */
class InterimOnlyError extends Error {
  constructor(
    readonly interim: number,
    readonly lastStatus: number,
  ) {
    super(`only interim answers (${interim})`);
  }
}

/**
 * undici's connector (`options` as buildConnector's) with the connect timeout `timeoutMs` kept by
 * Porthole's own timer: undici's counts in half-second ticks (its fast timers), so a back-end that
 * accepted no connection got its 504 up to half a second after `proxy.connectTimeoutMs`, as the
 * response timeout did (helper-170, ResponseTimeoutError). Its verdict is given after the turn's
 * reads (timeoutAfterReads): a connection made in time but not yet seen behind a held-up loop is
 * taken. The socket is destroyed with undici's ConnectTimeoutError, which its connector reports
 * as its own timeout's (describeUpstreamError: 504).
 */
function connectWithin(options: UndiciModule.buildConnector.BuildOptions, timeoutMs: number): UndiciModule.buildConnector.connector {
  const connect = undici().buildConnector({ ...options, timeout: 0 });
  return (opts, callback) => {
    let settled = false;
    // Made after the connector is called (it needs the socket), read by its callback: a let, so
    // that a callback made at once finds it undefined rather than in its temporal dead zone.
    // eslint-disable-next-line prefer-const
    let timer: NodeJS.Timeout | undefined;
    // undici's connector returns the socket it made (its type says void).
    const socket = (connect as unknown as (o: typeof opts, cb: typeof callback) => Duplex | undefined)(opts, (...args) => {
      clearTimeout(timer);
      if (settled) {
        // Connected after its timeout was reported (a connector that gave no socket to destroy).
        args[1]?.destroy();
        return;
      }
      settled = true;
      callback(...args);
    });
    if (settled) return;
    timer = timeoutAfterReads(timeoutMs, () => {
      if (settled) return;
      const err = new (undici().errors.ConnectTimeoutError)(`Connect Timeout Error (attempted address: ${opts.hostname}:${opts.port}, timeout: ${timeoutMs}ms)`);
      // Its error comes back through the callback above, as undici's own timeout's does.
      if (socket !== undefined) {
        socket.destroy(err);
        return;
      }
      settled = true;
      callback(err, null);
    });
  };
}

/**
 * A back-end sent no response head within the response timeout (`--proxy-timeout`), counted by
 * Porthole's own timer: undici's headersTimeout counts in half-second ticks, so its 504 came up
 * to half a second late (helper-170: 2.51–2.58 s for `--proxy-timeout 2`). undici's stays on
 * behind it, for what only it sees (a back-end that stops reading a request body).
 */
class ResponseTimeoutError extends Error {
  constructor() {
    super('no response head in time');
  }
}

/** A back-end's answer that cannot be passed on (a 101 for another protocol, a transfer coding): its reason in plain words. */
class UnforwardableAnswerError extends Error {}

/**
 * Why a response's Transfer-Encoding (every line, comma-joined) cannot be passed on, in plain
 * words, or undefined when it is chunked once or absent. undici frames the body by the final
 * chunked and hands on what is under it: bytes still gzip'd (or deflated) for another coding, and
 * bytes still chunked when chunked was applied twice (`chunked, chunked`, or on two lines, which
 * RFC 9112 §6.1 forbids a sender and Porthole's own parser refuses in a request). Passed on without
 * the coding, a client would take those bytes for the content.
 */
function unforwardableTransferCoding(value: string | string[] | undefined): string | undefined {
  let chunked = 0;
  for (const part of (headerText(value) ?? '').split(',')) {
    const coding = part.trim().toLowerCase();
    if (coding === '') continue;
    if (coding !== 'chunked') {
      return `sent its body with the transfer coding ${coding.slice(0, 40)}, which Porthole does not decode (RFC 9112 §6.1: only chunked is passed on; a compressed body belongs in Content-Encoding)`;
    }
    chunked++;
  }
  if (chunked > 1) {
    return `sent its body chunked ${chunked} times over (Transfer-Encoding: chunked more than once, which RFC 9112 §6.1 forbids): Porthole takes off one layer, and the rest would pass for content`;
  }
  return undefined;
}

/**
 * Why a back-end's 101 does not complete the client's WebSocket handshake (RFC 6455 §4.1: Upgrade
 * names websocket, Sec-WebSocket-Accept answers the client's key), or undefined when it does. A
 * 101 for another protocol would leave a raw tunnel in which later requests skip the Host check
 * and the log (h2c smuggling).
 */
function badWebSocketAnswer(headers: Record<string, string | string[] | undefined>, clientKey: string | undefined): string | undefined {
  const upgrade = (headerText(headers.upgrade) ?? '').split(',').map((t) => t.trim().toLowerCase());
  if (!upgrade.includes('websocket')) return `answered a WebSocket upgrade with 101 for another protocol (Upgrade: ${(headerText(headers.upgrade) ?? 'none').slice(0, 100)})`;
  if (clientKey === undefined || headerText(headers['sec-websocket-accept'])?.trim() !== acceptKey(clientKey.trim())) {
    return 'answered a WebSocket upgrade with a 101 whose Sec-WebSocket-Accept does not answer the client\'s key (RFC 6455 §4.1)';
  }
  return undefined;
}

function isValidStatus(status: number): boolean {
  return Number.isInteger(status) && status >= MIN_STATUS && status <= MAX_STATUS;
}

export interface ProxySetup {
  readonly options: ProxyOptions;
  /** The scheme clients use to reach Porthole (X-Forwarded-Proto, Forwarded proto=). */
  readonly scheme: 'http' | 'https';
  /**
   * The server listens on a wildcard address (`0.0.0.0`, `::`): any address of this machine at
   * its port is the server. Otherwise only the address it listens on is (isPortholeItself).
   */
  readonly bindsAll?: boolean;
  /** Injects the live-reload client into a page served now; undefined when live reload is off. */
  readonly pageInjector: () => PageInjector | undefined;
  /**
   * A navigation's page (`pagePath`, the request's path) passed on without the client, and why
   * (LiveReload.notInjected: said once per page). Not called when live reload is off.
   */
  readonly pageNotInjected?: (pagePath: string, reason: string) => void;
}

/**
 * The page with the live-reload client injected and `headerPolicies` (the response's
 * Content-Security-Policy values) given room for it (LiveReload.injectForeignPage; planned off the
 * server's thread, hence a promise that never rejects); `contentType` is the back-end's
 * Content-Type (its charset decides whether the page can take an ASCII tag); `refused` says why a
 * page takes no tag; undefined when live reload closed meanwhile.
 */
export type PageInjector = (
  html: Buffer,
  headerPolicies: readonly HeaderPolicy[],
  host: string,
  pagePath: string,
  contentType: string | undefined,
) => Promise<ForeignPage | { readonly refused: string; readonly optedOut: boolean } | undefined>;

/** Thrown by `ReverseProxy.create` for routes that cannot work; the message says what to change. */
export class ProxyConfigError extends Error {}

export class ReverseProxy {
  private readonly agent: Dispatcher;
  /**
   * For https back-ends on this machine (loopback addresses, `localhost`): their certificate is
   * not checked, as nginx checks no back-end's by default (`proxy_ssl_verify off`). A local dev
   * server's certificate is self-signed or from a local CA nearly always (Porthole's own `--https`
   * is), and on loopback no one is between the two; every 502 said so while it ran (helper-55).
   * Back-ends on other machines are checked (a CA of your own: NODE_EXTRA_CA_CERTS).
   */
  private readonly localTlsAgent: Dispatcher;
  /** This proxy's received-by in Via, by which a request that comes round again is known (newViaPseudonym). */
  private readonly viaPseudonym = newViaPseudonym();

  private constructor(
    private readonly setup: ProxySetup,
    readonly routes: readonly CompiledRoute[],
  ) {
    const o = setup.options;
    const options = {
      // undici counts it in half-second ticks of a loop that runs: a held-up loop makes it late,
      // never early (a head sent in time is read first). The response timeout itself is
      // Porthole's own timer (ResponseTimeoutError), which comes first; this one bounds a
      // back-end that stops reading a request body (it is refreshed by each body write).
      headersTimeout: o.responseTimeoutMs,
      // A streamed response (Server-Sent Events, long polls) may go quiet for as long as the
      // back-end likes; the client ends it by leaving.
      bodyTimeout: 0,
      keepAliveTimeout: 4_000,
      maxHeaderSize: MAX_BACKEND_HEAD_BYTES,
    };
    this.agent = new (undici().Agent)({ ...options, connect: connectWithin({}, o.connectTimeoutMs) }).compose(latin1Heads, upgradeRefusals, trailerLengths);
    this.localTlsAgent = new (undici().Agent)({ ...options, connect: connectWithin({ rejectUnauthorized: false }, o.connectTimeoutMs) }).compose(latin1Heads, upgradeRefusals, trailerLengths);
  }

  /**
   * True when `route`'s origin is this server, known before any connection: the port `ex` arrived
   * on, and the address it arrived at (the one the server listens on), or, for a server listening
   * on a wildcard address, any address or name of this machine's (`route.local`: loopback,
   * `localhost`, the unspecified address). A server on 127.0.0.1 is not at [::1] or 127.0.0.2,
   * where another may listen on the same port (helper-173: such back-ends were refused as "this
   * server itself"). A loop this cannot see (a name, another server passing the request back) is
   * found by Via (viaNamesUs) one round later.
   */
  private isPortholeItself(route: CompiledRoute, ex: Exchange): boolean {
    if (route.port !== ex.localPort) return false;
    if (route.address === ex.localAddress) return true;
    if (this.setup.bindsAll === true) return route.local;
    // The unspecified address is reached as loopback: 0.0.0.0 as 127.0.0.1, :: as ::1.
    return isUnspecifiedAddress(route.address) && ex.localAddress === (route.address.includes(':') ? '::1' : '127.0.0.1');
  }

  /** The agent for `route`'s back-end (see localTlsAgent). */
  private agentFor(route: CompiledRoute): Dispatcher {
    return route.secure && route.local ? this.localTlsAgent : this.agent;
  }

  /** Checks the routes; throws ProxyConfigError naming the first bad one. */
  static create(setup: ProxySetup): ReverseProxy {
    const routes = compileRoutes(setup.options.routes);
    if (typeof routes === 'string') throw new ProxyConfigError(routes);
    return new ReverseProxy(setup, routes);
  }

  /** The route for a request path, longest prefix first. */
  match(path: string): CompiledRoute | undefined {
    return matchRoute(this.routes, path);
  }

  /**
   * The route whose prefix holds the resolved path `segments` (routeHolding), however the request
   * spelt it; names compared by `sameName` (exactly by default).
   */
  holding(segments: readonly string[], sameName?: (prefixSegment: string, segment: string) => boolean): CompiledRoute | undefined {
    return routeHolding(this.routes, segments, sameName);
  }

  /** Closes pooled connections to the back-ends (in-flight requests are aborted). */
  async close(): Promise<void> {
    await Promise.all([this.agent.destroy().catch(() => undefined), this.localTlsAgent.destroy().catch(() => undefined)]);
  }

  /** Answers `ex` from `route`'s back-end. Never throws; every outcome ends the exchange. */
  handle(ex: Exchange, route: CompiledRoute): void {
    // The answer is the back-end's: its validators are its own (no configured representation tag).
    ex.bodyOrigin = 'proxied';
    const started = Date.now();
    const upstream: UpstreamInfo = { target: route.origin, status: 0, ms: 0 };
    ex.upstream = upstream;
    if (this.isPortholeItself(route, ex)) {
      // A route to this very server (`--proxy /api=http://127.0.0.1:<its own port>`): each request
      // came back to it as a new one, hundreds deep, until its head passed 16 KiB (helper-148).
      ex.note = `proxy ${route.origin}: that is this server itself, not a back-end`;
      ex.refuse(
        502,
        `Porthole passes ${escapeForDisplay(route.prefix)} to ${escapeForDisplay(route.origin)}, which is this server itself (it listens there): each request would come back to it. Point the route at the back-end's own port (--proxy, porthole.proxy or proxy.routes in porthole.config.json).\n`,
      );
      return;
    }
    if (viaNamesUs(ex.head.headers, this.viaPseudonym)) {
      // Passed on by this server before and back again: through a route to a wildcard address
      // of its own (`http://0.0.0.0:<port>`) or another server routed back here (helper-171).
      ex.note = `proxy ${route.origin}: a loop, the request came back (Via ${this.viaPseudonym})`;
      ex.refuse(
        502,
        `Porthole passed this request to ${escapeForDisplay(route.origin)} and it came back here (its Via names this server): the route for ${escapeForDisplay(route.prefix)} leads back to Porthole, through that server or directly. Point the route at the back-end's own port (--proxy, porthole.proxy or proxy.routes in porthole.config.json).\n`,
      );
      return;
    }
    if (ex.method === 'CONNECT') {
      ex.note = 'proxy: CONNECT is not forwarded';
      ex.refuse(405, 'CONNECT is not forwarded to the back-end.\n', [['Allow', PROXIED_ALLOW]]);
      return;
    }
    // Only a WebSocket upgrade is tunnelled: any other (h2c, TLS; an HTTP/1.0 one, a POST) goes as
    // a plain request, its Upgrade and Connection fields dropped as hop-by-hop (RFC 9110 §7.8: a
    // server may ignore it). So does one with a body (a Content-Length above 0, chunked): the
    // body is the request's (§7.8: the protocol changes after the whole request), but undici's
    // upgrade sends none, and the bytes Porthole parsed as the body went into the tunnel as the
    // new protocol's, read by the back-end as frames of a request it never saw.
    const upgrade = !ex.bodyPending && isWebSocketUpgrade(ex.method, ex.head.version, ex.head.headers);
    // A HEAD navigation is asked as its GET would be, so its answer can state what the GET's would.
    const tag = !upgrade && (ex.method === 'GET' || ex.method === 'HEAD') && isNavigationRequest(ex.head.headers) ? this.setup.pageInjector() : undefined;
    const headers = forwardRequestHeaders(ex.head.headers, {
      clientIp: ex.clientIp,
      fromOwnAddress: ex.fromOwnAddress,
      scheme: this.setup.scheme,
      version: ex.head.version,
      viaPseudonym: this.viaPseudonym,
      host: ex.head.host,
      rewriteHostTo: this.setup.options.rewriteHost ? route.authority : undefined,
      drop: tag === undefined ? NO_DROP : PAGE_REQUEST_DROP,
      maxForwards: maxForwards(ex.method, ex.head.headers),
    });
    const controller = new AbortController();
    const previousAbort = ex.onAbort;
    ex.onAbort = () => {
      previousAbort?.();
      controller.abort();
    };
    const flat = headers.flat();
    // A code below 100 reaches undici's informational path (onInfo), then fails its parser's
    // assertion: remembered here so the 502 names the status instead of that assertion.
    let invalidStatus: number | undefined;
    // The response timeout counts from when the back-end has the whole request (its body's end)
    // to its final head, whatever interim answers come between (see InterimOnlyError): kept here
    // by this timer, to the millisecond (ResponseTimeoutError: undici's own counts in half-second
    // ticks, and restarts at each 1xx). Its verdict is given after the turn's reads
    // (timeoutAfterReads), and only while no final head came: a head sent in time but waiting in
    // the kernel behind a held-up loop is read first and answered.
    const responseTimeoutMs = this.setup.options.responseTimeoutMs;
    let waitFrom = started;
    let requestSent = !ex.bodyPending;
    let interim = 0;
    let lastInterim = 0;
    let deadline: NodeJS.Timeout | undefined;
    let settled = false;
    const keepDeadline = (): void => {
      if (settled || !requestSent || deadline !== undefined) return;
      const timer: NodeJS.Timeout = timeoutAfterReads(Math.max(0, waitFrom + responseTimeoutMs - Date.now()), () => {
        if (deadline === timer) controller.abort(interim > 0 ? new InterimOnlyError(interim, lastInterim) : new ResponseTimeoutError());
      });
      deadline = timer;
    };
    const clearDeadline = (): void => {
      settled = true;
      if (deadline !== undefined) clearTimeout(deadline);
      deadline = undefined;
    };
    const failed = (err: unknown): void => {
      clearDeadline();
      upstream.ms = Date.now() - started;
      if (invalidStatus !== undefined) upstream.status = invalidStatus;
      if (err instanceof UpgradeRefusedError) upstream.status = err.statusCode;
      // An upgrade answered with no valid status (099, 999) is named as that, as for a request.
      const invalid = invalidStatus ?? (err instanceof UpgradeRefusedError && !isValidStatus(err.statusCode) ? err.statusCode : undefined);
      this.fail(ex, route, invalid === undefined ? err : new InvalidStatusError(invalid), upgrade);
    };
    const onInfo = ({ statusCode }: { statusCode: number }): void => {
      if (!isValidStatus(statusCode)) invalidStatus = statusCode;
      interim++;
      lastInterim = statusCode;
    };
    keepDeadline();
    if (upgrade) {
      ex.suspendTimeout();
      const protocol = ex.header('upgrade') ?? 'websocket';
      this.agentFor(route)
        // The Agent picks its pool by `origin`, and upgradeRefusals tells `onInfo` of interim
        // answers (both missing from undici's UpgradeOptions type).
        .upgrade({ origin: route.origin, path: ex.head.path, method: ex.method, headers: flat, protocol, signal: controller.signal, onInfo } as Dispatcher.UpgradeOptions)
        .then((data) => {
          clearDeadline();
          upstream.status = 101;
          upstream.ms = Date.now() - started;
          this.tunnel(ex, route, data);
        }, failed);
      return;
    }
    let body: Readable | undefined;
    if (!ex.bodyPending) ex.suspendTimeout();
    if (ex.bodyPending) {
      const readable = new Readable({ read: () => ex.resumeBody() });
      body = readable;
      ex.readBody({
        data: (chunk) => readable.push(chunk),
        end: () => {
          readable.push(null);
          // The body is in: from here the wait for the back-end is bounded by the agent's own
          // timeouts, not by the client's socket (until then a stalled body gets 408).
          ex.suspendTimeout();
          waitFrom = Date.now();
          requestSent = true;
          keepDeadline();
        },
        error: (message) => readable.destroy(new Error(message)),
      });
    }
    this.agentFor(route)
      .request({
        origin: route.origin,
        path: ex.head.path,
        method: ex.method as Dispatcher.HttpMethod,
        headers: flat,
        body: body ?? null,
        signal: controller.signal,
        onInfo,
      })
      .then((res) => {
        clearDeadline();
        upstream.status = res.statusCode;
        upstream.ms = Date.now() - started;
        if (!isValidStatus(res.statusCode)) {
          res.body.on('error', () => undefined).destroy();
          this.fail(ex, route, new InvalidStatusError(res.statusCode));
          return;
        }
        const coding = unforwardableTransferCoding(res.headers['transfer-encoding']);
        if (coding !== undefined) {
          res.body.on('error', () => undefined).destroy();
          this.fail(ex, route, new UnforwardableAnswerError(coding));
          return;
        }
        this.answer(ex, route, res, tag);
      }, failed);
  }

  /** Streams the back-end's response to the client (or injects into a page first). */
  private answer(ex: Exchange, route: CompiledRoute, res: Dispatcher.ResponseData, tag: PageInjector | undefined): void {
    const source = res.body;
    if (ex.finished) {
      // undici's body destroyed before its end emits RequestAbortedError: with no listener, that
      // would end the process (as in pipeBody and answerWithoutBody).
      source.on('error', () => undefined).destroy();
      return;
    }
    // A redirect to the back-end's own address comes back as one to the same path on Porthole
    // (Refresh too: browsers follow it, and nginx's proxy_redirect rewrites it with Location).
    for (const name of ['location', 'content-location', 'refresh'] as const) {
      const value = res.headers[name];
      const rewrite = name === 'refresh' ? rewriteBackendRefresh : rewriteBackendLocation;
      const rewritten = typeof value === 'string' ? rewrite(this.routes, bytesPercentEncoded(value)) : undefined;
      if (rewritten !== undefined) res.headers[name] = rewritten;
    }
    const status = res.statusCode;
    const length = responseLength(res.headers);
    const encoding = headerText(res.headers['content-encoding']);
    // What the browser is told: a configured Content-Type replaces the back-end's.
    const type = sentContentType(ex, headerText(res.headers['content-type']));
    // With live reload, a navigation gets such a page with the tag and a fetch() the back-end's
    // bytes: each answer names what chose (PAGE_VARY), or Back showed a fetch's copy without it.
    if ((ex.method === 'GET' || ex.method === 'HEAD') && isHtmlType(type) && this.setup.pageInjector() !== undefined) {
      ex.addVary(PAGE_VARY);
    }
    // A 206 is a part, not the page: its Content-Range names the back-end's bytes, which the
    // client would take the rewritten ones for (Range is not asked for a page; a back-end that
    // sends one anyway gets it passed on as it came).
    // A download (Content-Disposition: attachment, the back-end's or configured) is saved, not
    // shown: the saved file would carry the tag.
    const html = tag !== undefined && !statusHasNoBody(status) && status !== 206 && isHtmlType(type) && !sentAsAttachment(ex, headerText(res.headers['content-disposition']));
    // A configured Content-Encoding labels the back-end's bytes as encoded too (Exchange.configuresCoding).
    const backendEncoded = encoding !== undefined && encoding.trim().toLowerCase() !== 'identity';
    const encoded = backendEncoded || ex.configuresCoding;
    const tooBig = length !== undefined && length > MAX_INJECT_BYTES;
    const page = html && !encoded && !tooBig;
    if (html && !page && ex.method !== 'HEAD') {
      this.setup.pageNotInjected?.(
        ex.head.path,
        encoded
          ? !backendEncoded
            ? 'a configured Content-Encoding (porthole.config.json headers, --header) labels it as stored encoded, so its bytes go as they are; remove that header for this path to get live reload on it'
            : `the back-end sent it compressed (Content-Encoding: ${encoding?.trim() ?? ''}) although Porthole asked for it uncompressed; turn its compression off for requests without Accept-Encoding`
          : `its ${formatSize(length ?? 0)} are over the ${MAX_INJECT_MIB} MiB a page may have to be parsed for the client`,
      );
    }
    if (statusHasNoBody(status) || ex.method === 'HEAD') {
      // The HEAD of a page its GET would inject: the GET's length is not known without the page,
      // so none is stated (RFC 9110 §8.6: a HEAD's Content-Length must be the GET's), nor the
      // back-end's validators, which the GET drops too (helper-49: HEAD said 112, GET sent 300).
      this.answerWithoutBody(ex, res, page ? undefined : length, page ? PAGE_RESPONSE_DROP : NO_DROP);
      return;
    }
    if (page) {
      this.answerPage(ex, route, res, tag);
      return;
    }
    this.pipeBody(ex, route, source, status, forwardResponseHeaders(res.headers, NO_DROP, status), length, []);
  }

  /**
   * An answer that has no body whatever its header fields say (RFC 9112 §6.3: to HEAD, and 1xx,
   * 204, 304): the head goes to the client and the exchange ends at once, never waiting on the
   * back-end's stream. undici waits for the body a 204 or 304 announces with Content-Length or
   * Transfer-Encoding (for ever, from a back-end that sends none), so that stream is destroyed,
   * and the back-end connection with it (its next bytes would be misread as the next answer);
   * any other is drained, so that its connection goes back to the pool, and destroyed should bytes
   * come after all. Content-Length and Transfer-Encoding are not forwarded (RFC 9110 §8.6: none on
   * a 204; RFC 9112 §6.1: no Transfer-Encoding on a 204 or 304); a HEAD keeps the length.
   */
  private answerWithoutBody(ex: Exchange, res: Dispatcher.ResponseData, length: number | undefined, drop: ReadonlySet<string>): void {
    const source = res.body;
    ex.startBody(res.statusCode, forwardResponseHeaders(res.headers, drop, res.statusCode), length).end();
    source.on('error', () => undefined);
    const announced = res.headers['transfer-encoding'] !== undefined || (res.headers['content-length'] !== undefined && length !== 0);
    if (ex.method !== 'HEAD' && announced) {
      source.destroy();
      return;
    }
    source.on('data', () => source.destroy());
    source.resume();
  }

  /**
   * Reads a page whole (bounded), injects the live-reload client, answers with the new length. A
   * page the back-end streams (a shell, then the rest after a pause: streamed server-side
   * rendering, a progress or log page) is passed on as it comes, without the client, once the
   * back-end pauses mid-page for PAGE_PAUSE_MS, or is still sending it PAGE_HOLD_MS after its first
   * bytes: held whole, its tab stayed blank until the last byte (helper-120: 4 s for a "Loading…"
   * shell, nothing for a page that never ends; helper-168: a page trickling without a pause).
   */
  private answerPage(ex: Exchange, route: CompiledRoute, res: Dispatcher.ResponseData, inject: PageInjector): void {
    const source = res.body;
    const chunks: Buffer[] = [];
    let size = 0;
    let pause: NodeJS.Timeout | undefined;
    /** Armed at the first bytes: the page is passed on if it is still arriving PAGE_HOLD_MS later. */
    let hold: NodeJS.Timeout | undefined;
    /** The page is ended, passed on or failed: no pause, and no end of the hold, is looked for any more. */
    let settled = false;
    const stopTimers = (): void => {
      settled = true;
      clearTimeout(pause);
      clearTimeout(hold);
      pause = undefined;
      hold = undefined;
    };
    /** Sends what was read and streams the rest as it is, saying `why` the client is not in it. */
    const passOn = (why: string | undefined): void => {
      stopTimers();
      if (why !== undefined) this.setup.pageNotInjected?.(ex.head.path, why);
      // What was read ahead goes to the socket at once and stays in memory until the kernel
      // takes it, so it stays counted until the exchange ends (helper-50: released here, 150
      // navigations of an 8 MB page queued 4 MiB each outside every bound, 614 MB and rising).
      if (ex.reservation !== undefined) ex.reservation.shrinkTo(size);
      else ex.reserveMemory(size);
      source.off('data', onData);
      source.off('end', ended);
      // From here a failure is mid-body: pipeBody's, which knows how much was passed on.
      source.off('error', failed);
      source.pause();
      this.pipeBody(ex, route, source, res.statusCode, forwardResponseHeaders(res.headers, NO_DROP, res.statusCode), responseLength(res.headers), chunks);
    };
    /** When the last chunk was taken (ms): the pause is the back-end's, not this thread's. */
    let lastChunkAt = 0;
    const paused = (): void => {
      const fired = pause;
      // A chunk that came while this thread was busy (a long callback) waits in the socket: the
      // poll phase after this timer reads it. Only a pause the back-end made passes the page on.
      setImmediate(() => {
        // Ended, passed on, or a chunk read meanwhile armed a new timer (onData).
        if (ex.finished || pause === undefined || pause !== fired) return;
        // The timer runs on the loop's clock, which may trail Date.now() by a millisecond.
        const left = PAGE_PAUSE_MS - (Date.now() - lastChunkAt);
        if (left > 0) {
          pause = setTimeout(paused, left);
          return;
        }
        passOn(`the back-end paused for more than ${PAGE_PAUSE_MS} ms while sending it (a streamed page), so it is passed on as it comes, without the client`);
      });
    };
    const onData = (chunk: Buffer): void => {
      // After the turn's reads, as for a pause: a last chunk or the end that came while this
      // thread was busy is read first, and a page that ended so still gets the client.
      if (!settled) {
        hold ??= timeoutAfterReads(PAGE_HOLD_MS, () => {
          if (ex.finished || settled) return;
          passOn(`it was still arriving ${PAGE_HOLD_MS} ms after its first bytes (a streamed page), so it is passed on as it comes, without the client`);
        });
      }
      chunks.push(chunk);
      size += chunk.length;
      // Held in memory until planned and rewritten: three copies at most (the bytes, the planner's
      // copy, the result), out of the server-wide budget like a file's page. Over it, or too big
      // to rewrite: sent as it is, streamed from here on.
      if (size > MAX_INJECT_BYTES || !ex.reserveMemory(3 * size)) {
        passOn(size > MAX_INJECT_BYTES ? `it is over the ${MAX_INJECT_MIB} MiB a page may have to be parsed for the client` : undefined);
        return;
      }
      lastChunkAt = Date.now();
      clearTimeout(pause);
      pause = setTimeout(paused, PAGE_PAUSE_MS);
    };
    const failed = (err: Error): void => {
      stopTimers();
      this.fail(ex, route, err);
    };
    // Planned off the server's thread (the page planner): answered when the plan is ready.
    const ended = (): void => void onEnd().catch(() => ex.connection.failExchange(ex));
    const onEnd = async (): Promise<void> => {
      stopTimers();
      if (ex.finished) return;
      const html = Buffer.concat(chunks, size);
      // Every policy on the response governs the page (CSP3 §4.1): the back-end's own fields and
      // the user's configured headers (ex.extraHeaders) get room for the client, like a meta one.
      // Report-only ones too (policyDelivery): without room they report the client's requests.
      const isPolicy = ([name]: readonly [string, string]): boolean => policyDelivery(name) !== undefined;
      const headers = forwardResponseHeaders(res.headers, PAGE_RESPONSE_DROP, res.statusCode);
      const extra = ex.extraHeaders ?? [];
      const given = [...headers.filter(isPolicy), ...extra.filter(isPolicy)].map(([name, value]) => ({ policy: value, reportOnly: policyDelivery(name) === 'report-only' }));
      const result = await inject(html, given, ex.header('host') ?? '', ex.documentPath ?? ex.head.path, sentContentType(ex, headerText(res.headers['content-type'])));
      // The client may have left while the page was planned.
      if (ex.finished) return;
      if (result !== undefined && 'body' in result) {
        const made = [...result.policies];
        const withRoom = (list: ReadonlyHeaderList): HeaderList => list.map((field) => (isPolicy(field) ? [field[0], made.shift() ?? field[1]] : [field[0], field[1]]));
        const sent = withRoom(headers);
        if (extra.length > 0) ex.extraHeaders = withRoom(extra);
        ex.respond(res.statusCode, sent, result.body);
      } else {
        if (result !== undefined) {
          ex.note = result.refused;
          if (!result.optedOut) this.setup.pageNotInjected?.(ex.head.path, result.refused.replace(/^live reload: /, ''));
        }
        ex.respond(res.statusCode, forwardResponseHeaders(res.headers, NO_DROP, res.statusCode), html);
      }
    };
    source.on('data', onData);
    source.on('end', ended);
    // Nothing was sent yet while the page is read: a back-end failing now still gets its 502.
    source.on('error', failed);
  }

  /** `first` (already read) and then the rest of `source`, with backpressure both ways. */
  private pipeBody(ex: Exchange, route: CompiledRoute, source: Readable, status: number, headers: HeaderList, length: number | undefined, first: Buffer[]): void {
    const writer = ex.startBody(status, headers, length);
    if (writer.closed) {
      source.on('error', () => undefined).destroy();
      return;
    }
    const previousAbort = ex.onAbort;
    ex.onAbort = () => {
      previousAbort?.();
      source.destroy();
    };
    // The body bytes passed on, for the note of a back-end that breaks off (describeBodyError).
    let sent = 0;
    for (const chunk of first) {
      sent += chunk.length;
      writer.write(chunk);
    }
    source.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    pipeIntoBody(source, writer, (err) => this.cut(ex, route, describeBodyError(err, sent, length)));
  }

  /**
   * A failure after the status was sent: the client's connection ends short, with a reset
   * (Connection.cutAnswer: a FIN made a close-delimited body, an HTTP/1.0 client's, read as
   * whole, helper-160), and the exchange's note says why (`reason`: what the back-end did), so its
   * log line tells a back-end that broke off from a client that left (both are logged as
   * aborted). Nothing is noted when the exchange ended already (the client left first: that is
   * what the line says).
   */
  private cut(ex: Exchange, route: CompiledRoute, reason: string): void {
    if (ex.finished) return;
    ex.note = `proxy ${route.origin}: ${reason}`;
    ex.connection.cutAnswer(ex);
  }

  /** `101` to the client, then bytes both ways until either side closes. */
  private tunnel(ex: Exchange, route: CompiledRoute, data: Dispatcher.UpgradeData): void {
    const back: Duplex = data.socket;
    if (ex.finished) {
      back.destroy();
      return;
    }
    const bad = badWebSocketAnswer(data.headers, ex.header('sec-websocket-key'));
    if (bad !== undefined) {
      back.destroy();
      this.fail(ex, route, new UnforwardableAnswerError(bad));
      return;
    }
    const headers = forwardResponseHeaders(data.headers);
    headers.unshift(['Connection', 'Upgrade'], ['Upgrade', 'websocket']);
    // The connection's one upgrade mechanism (Exchange.upgrade, as live reload's channel uses):
    // the exchange is logged when the tunnel ends; bytes flow both ways with backpressure.
    const front = ex.upgrade(headers);
    if (front.closed) {
      back.destroy();
      return;
    }
    let ended = false;
    const closeBoth = (): void => {
      if (ended) return;
      ended = true;
      front.end();
      back.destroy();
    };
    front.onClose = closeBoth;
    back.on('error', closeBoth);
    back.on('close', closeBoth);
    back.on('end', closeBoth);
    front.onData = (chunk) => {
      if (!back.write(chunk)) front.pause();
    };
    back.on('drain', () => front.resume());
    back.on('data', (chunk: Buffer) => {
      if (!front.write(chunk)) back.pause();
    });
    front.onDrain = () => back.resume();
  }

  /** `upgrade`: the request asked the back-end for a WebSocket (its errors read otherwise). */
  private fail(ex: Exchange, route: CompiledRoute, err: unknown, upgrade = false): void {
    if (ex.finished) return;
    if (ex.answered) {
      this.cut(ex, route, describeBodyError(err));
      return;
    }
    const { status, reason, untrusted, slow, answered, down } = describeUpstreamError(err, this.setup.options, upgrade);
    ex.note = `proxy ${route.origin}: ${reason}`;
    const title = status === 504 ? '504 Gateway Timeout' : '502 Bad Gateway';
    // A tab's page (a navigation): HTML. Anything else (a fetch(), curl) gets the same words as
    // plain text, which a console or a terminal shows as they are (helper-147: `r.json()` of a
    // page said "Unexpected token <").
    const page = isDocumentNavigation(ex.head.headers);
    // Nothing listening (a back-end restarting under nodemon or Flask's reloader while the saved
    // file reloads the tab): the tab's page loads itself again every RETRY_DOWN_S until the
    // back-end answers, instead of waiting for a reload by hand. A GET or HEAD only: a refresh
    // is a GET, and an upload is never sent twice.
    const retry = down === true && page && (ex.method === 'GET' || ex.method === 'HEAD');
    const again = retry ? `this page loads again every ${RETRY_DOWN_S} seconds until it answers` : page ? 'then reload this page' : 'then try again';
    const code = page ? (text: string): string => `<code>${escapeHtml(text)}</code>` : (text: string): string => text;
    // The back-end runs when its certificate is what failed: what to do is to trust it.
    const advice = untrusted
      ? `Trust the certificate authority that signed it: start Porthole (or VS Code, for the extension) with ${code('NODE_EXTRA_CA_CERTS=/path/to/ca.pem')}, or proxy to its ${code('http://')} address; ${again}.`
      : answered
        ? `The back-end is running and answered, but with something Porthole cannot pass on (said above): look at the back-end's own output for that request and fix it there; ${again}.`
        : slow
          ? `It took the request and is still working on it, or is stuck: look at the back-end's own output. If this request needs longer, raise the wait (${code('--proxy-timeout S')}, or ${code('proxy.responseTimeoutMs')} in porthole.config.json); ${again}.`
          : `Start the back-end (or check the address in ${code('--proxy')}, ${code('porthole.proxy')} or ${code('proxy.routes')} in porthole.config.json); ${again}.`;
    if (!page) {
      ex.respond(
        status,
        [['Content-Type', 'text/plain; charset=utf-8'], ['Cache-Control', 'no-store']],
        `${title}: Porthole passes ${escapeForDisplay(route.prefix)} to ${escapeForDisplay(route.origin)}, and that back-end ${escapeForDisplay(reason)}.\n${advice}\n`,
      );
      return;
    }
    const body = htmlPage(
      title,
      `<h1>${escapeHtml(title)}</h1>\n<p>Porthole passes ${code(route.prefix)} to ${code(route.origin)}, ` + `and that back-end ${escapeHtml(reason)}.</p>\n<p>${advice}</p>`,
      retry ? RETRY_DOWN_S : undefined,
    );
    ex.respond(status, [['Content-Type', 'text/html; charset=utf-8'], ['Cache-Control', 'no-store']], body);
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Plain words for a back-end's failure after its status went to the client (the client's
 * connection is cut: RFC 9112 §6.3, an incomplete message), for the exchange's log note. `sent`
 * is the body bytes passed on, `length` the back-end's Content-Length (undefined: chunked or until
 * close); both are left out when unknown.
 */
export function describeBodyError(err: unknown, sent?: number, length?: number): string {
  const e = err as { code?: unknown; message?: string };
  // Not every error's code is a string (a stream's may be a number).
  const code = typeof e.code === 'string' ? e.code : undefined;
  const at = sent === undefined ? '' : length === undefined ? ` after ${sent} bytes of its body` : ` after ${sent} of the ${length} bytes its Content-Length announced`;
  switch (code) {
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return `closed the connection${at} (${code}); the answer was cut short`;
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return `sent a body whose length does not match its Content-Length${at} (${code}); the answer was cut short`;
    default:
      if (code?.startsWith('HPE_')) return `sent a body whose framing is not valid HTTP/1.1${at}${llhttpReason(e.message)} (${code}); the answer was cut short`;
      return `failed${at}: ${(e.message ?? String(err)).slice(0, 300)}${code === undefined ? '' : ` (${code})`}; the answer was cut short`;
  }
}

/**
 * llhttp's reason in undici's message (`Response does not match the HTTP/1.1 protocol (Invalid
 * character in chunk size)`) as `: Invalid character in chunk size`, else ''. llhttp's own words
 * (fixed strings, never the back-end's bytes), cut to 100 characters.
 */
/**
 * A head's lines ended by LF alone (`HTTP/1.1 200 OK\n…`): RFC 9112 §2.2 lets a recipient take
 * them, undici does not, and its words for it are another fault's (a Content-Length that cannot
 * frame the body, an invalid character in a field value). undici keeps the bytes, so which one it
 * was cannot be told here: the 502 names this cause beside them.
 */
const BARE_LF = 'lines ended by LF alone, not CRLF (RFC 9112 §2.2), are refused so too: end each line of the head with \\r\\n';
function llhttpReason(message: string | undefined): string {
  const m = /\(([^()]{1,100})\)$/.exec(message ?? '');
  return m?.[1] === undefined ? '' : `: ${m[1]}`;
}

/** OpenSSL's and Node's codes for a back-end certificate that is not trusted here (not signed by a known CA, expired, another name). */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The status (502 or 504) and plain words for a failure to get an answer from a back-end;
 * `untrusted` when its certificate is what failed (it runs: the advice is to trust it), `slow`
 * when it took the connection but sent no answer in time (it runs too: starting it is no advice),
 * `answered` when it sent an answer that cannot be passed on (a refused upgrade, an unasked 1xx, a
 * bad status, head or framing: it runs, so the advice is to fix what it answered, not to start it),
 * `down` when nothing listens at its address (ECONNREFUSED: not started, or restarting).
 * `upgrade`: the request was a WebSocket upgrade. One undici code covers several failures (its
 * UND_ERR_SOCKET is a close, an unasked 101 or an unasked 100): they are told apart by its message
 * and by what was asked, never given the words of another.
 */
export function describeUpstreamError(
  err: unknown,
  options: Pick<ProxyOptions, 'connectTimeoutMs' | 'responseTimeoutMs'>,
  upgrade = false,
): { status: 502 | 504; reason: string; untrusted?: boolean; slow?: boolean; answered?: boolean; down?: boolean } {
  const e = err as { code?: string; message?: string; errors?: Array<{ code?: string }>; cause?: { code?: string } };
  const code = e.code ?? e.errors?.[0]?.code ?? e.cause?.code;
  const seconds = (ms: number): string => `${ms / 1000} s`;
  // Only a proxy made with undici has errors to describe: its module is loaded by then.
  const undiciErrors = undiciModule?.errors;
  if (err instanceof UnforwardableAnswerError) return { status: 502, reason: err.message, answered: true };
  if (err instanceof UpgradeRefusedError) {
    return { status: 502, reason: `did not accept the upgrade to WebSocket: it answered ${err.statusCode} instead of 101 Switching Protocols`, answered: true };
  }
  if (err instanceof InterimOnlyError) {
    const count = err.interim === 1 ? `one ${err.lastStatus}` : `${err.interim} interim answers (the last ${err.lastStatus})`;
    return { status: 504, reason: `sent ${count} but no response within ${seconds(options.responseTimeoutMs)} (an interim 1xx answer does not extend the wait)`, slow: true };
  }
  if (err instanceof InvalidStatusError) {
    return { status: 502, reason: `answered with status ${err.statusCode}, which is not a valid HTTP status (RFC 9110 §15: ${MIN_STATUS}–${MAX_STATUS})`, answered: true };
  }
  if ((undiciErrors !== undefined && err instanceof undiciErrors.ConnectTimeoutError) || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return { status: 504, reason: `did not accept a connection within ${seconds(options.connectTimeoutMs)}` };
  }
  if (err instanceof ResponseTimeoutError || (undiciErrors !== undefined && err instanceof undiciErrors.HeadersTimeoutError) || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return { status: 504, reason: `did not answer within ${seconds(options.responseTimeoutMs)}`, slow: true };
  }
  if (code !== undefined && UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    return { status: 502, reason: `presented a certificate this machine does not trust (${code})`, untrusted: true };
  }
  switch (code) {
    case 'ECONNREFUSED':
      return { status: 502, reason: 'refused the connection (ECONNREFUSED): nothing is listening there (is it running?)', down: true };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, reason: `has a host name that does not resolve (${code})` };
    case 'UND_ERR_SOCKET':
      // undici's words: 'bad upgrade' is a non-101 answer to an upgrade, or a 101 to a request
      // that asked for none; 'bad response' a 100 Continue it did not ask for (it sends no Expect).
      if (e.message === 'bad upgrade') {
        return upgrade
          ? { status: 502, reason: 'did not accept the upgrade to WebSocket (it answered without 101 Switching Protocols)', answered: true }
          : { status: 502, reason: 'answered 101 Switching Protocols to a request that asked for no upgrade (RFC 9110 §15.2.2)', answered: true };
      }
      if (e.message === 'bad response') {
        return { status: 502, reason: 'answered 100 Continue to a request that did not ask for it (no Expect: 100-continue), which Porthole cannot pass on', answered: true };
      }
      return { status: 502, reason: `closed the connection before answering (${code})` };
    case 'UND_ERR_HEADERS_OVERFLOW':
      return { status: 502, reason: `sent a response head larger than ${MAX_BACKEND_HEAD_BYTES / 1024} KiB, more than Porthole takes (${code})`, answered: true };
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      // Before any answer, this is undici's word for a parse error once a Content-Length was read.
      return {
        status: 502,
        reason: `sent a head whose Content-Length cannot frame its body: a second Content-Length, one beside Transfer-Encoding, or a field after it that is not valid HTTP/1.1 (RFC 9112 §6.3; ${BARE_LF}) (${code})`,
        answered: true,
      };
    case 'ECONNRESET':
    case 'EPIPE':
      return { status: 502, reason: `closed the connection before answering (${code})` };
    default:
      // llhttp's codes (a bad status line, field, Content-Length, line ending…): one meaning.
      if (typeof code === 'string' && code.startsWith('HPE_')) {
        const hint = code === 'HPE_INVALID_HEADER_TOKEN' ? ` (${BARE_LF})` : '';
        return { status: 502, reason: `sent an answer that is not valid HTTP/1.1${llhttpReason(e.message)}${hint} (${code})`, answered: true };
      }
      return { status: 502, reason: `failed: ${(e.message ?? String(err)).slice(0, 300)}${code === undefined ? '' : ` (${code})`}` };
  }
}
