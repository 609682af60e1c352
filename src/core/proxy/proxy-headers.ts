/**
 * Header rules of a gateway (RFC 9110 §7.6, §7.6.1; RFC 7239): what is removed, kept and added on
 * the way to the back-end and back.
 *
 * Removed both ways: the hop-by-hop fields (Connection and every field it names, Keep-Alive,
 * Proxy-Connection, TE, Transfer-Encoding, Upgrade, Trailer) and the Proxy-* credentials (meant for
 * the first proxy, which is Porthole); toward the back-end a repeated Content-Length goes as one
 * value, toward the client Content-Length is re-derived from the body's framing.
 * Added toward the back-end: X-Forwarded-For and Forwarded (RFC 7239 §4: appended to a loopback
 * client's, which may be a tunnel or an editor's port forwarder on this machine that put the real
 * client there; a client on the network is the first hop, so its own are dropped and Porthole's
 * entry is the only one), X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host; the client's own X-Real-IP and the like
 * are dropped, also when spelt with underscores (`X_Real_IP`, which CGI-style back-ends read as
 * X-Real-IP; so are the hop-by-hop fields, Content-Length and Expect so spelt); a `Proxy` field is dropped (httpoxy: read as HTTP_PROXY there). Via gets
 * Porthole's entry (appended, RFC 9110 §7.6.3). Host is kept or rewritten to the target's
 * authority. Max-Forwards of an OPTIONS or TRACE goes one less (RFC 9110 §7.6.2; at 0 the request
 * is not forwarded at all, see `maxForwards`).
 */
import { nodeCrypto } from '../node-crypto';
import { isIPv6 } from 'node:net';
import type { HeaderList } from '../http/request-record';
import { isToken } from '../http/http-grammar';
import { isLoopbackAddress } from '../access/access-policy';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
]);

/**
 * Response fields Porthole writes itself on every answer (`Date`, `Server`, see response-head.ts):
 * the back-end's are dropped, as nginx's `proxy_hide_header` does by default, so an answer never
 * carries two of either (Date is a singleton field, RFC 9110 §6.6.1; two Dates disagree by a
 * second now and then, and a cache may take either).
 */
const WRITTEN_BY_PORTHOLE = new Set(['date', 'server']);

/**
 * Fields that name the client's address or the front end's port as a proxy would, which a client
 * could forge: dropped toward the back-end (X-Real-IP is set anew from the connection).
 */
const CLIENT_IDENTITY_CLAIMS = new Set(['x-real-ip', 'x-client-ip', 'true-client-ip', 'x-forwarded-port', 'x-forwarded-server', 'x-cluster-client-ip']);

/**
 * True for a (lower-case) name of a field a client could use to claim who it is or how it came,
 * which Porthole sets itself or drops: X-Forwarded-For/-Proto/-Host, Forwarded, X-Real-IP and
 * CLIENT_IDENTITY_CLAIMS.
 */
function isForwardingClaim(name: string): boolean {
  return name === 'x-forwarded-for' || name === 'forwarded' || name === 'x-forwarded-proto' || name === 'x-forwarded-host' || CLIENT_IDENTITY_CLAIMS.has(name);
}

/**
 * True for a (lower-case, hyphenated) name whose field Porthole drops, sets or reads itself
 * toward the back-end: a forwarding claim, a hop-by-hop field (Transfer-Encoding among them),
 * Content-Length and Expect. Its spelling with `_` for `-` is dropped as well.
 */
function isPortholesField(name: string): boolean {
  return isForwardingClaim(name) || HOP_BY_HOP.has(name) || name === 'content-length' || name === 'expect';
}

/** Lower-case names listed in Connection headers (RFC 9110 §7.6.1: those are hop-by-hop too). */
function connectionOptions(headers: readonly (readonly [string, string])[]): Set<string> {
  const names = new Set<string>();
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'connection') continue;
    for (const part of value.split(',')) {
      const token = part.trim().toLowerCase();
      if (token !== '') names.add(token);
    }
  }
  return names;
}

/**
 * True for a WebSocket upgrade (RFC 6455 §4.1): a GET in HTTP/1.1, `Connection: upgrade` (any
 * case, in a list) and Upgrade naming `websocket` and nothing else (every Upgrade line,
 * comma-joined, RFC 9110 §5.3). An HTTP/1.0 request's Upgrade is ignored (RFC 9110 §7.8: a server
 * MUST), and another method's is no WebSocket handshake (RFC 6455 §4.1: "The method of the
 * request MUST be GET"): both go as plain requests, as live reload's own socket refuses them
 * (websocket.ts checkHandshake).
 */
export function isWebSocketUpgrade(method: string, version: '1.0' | '1.1', headers: HeaderList): boolean {
  if (method !== 'GET' || version !== '1.1') return false;
  if (!connectionOptions(headers).has('upgrade')) return false;
  const protocols: string[] = [];
  for (const [name, value] of headers) {
    if (name === 'upgrade') for (const part of value.split(',')) protocols.push(part.trim().toLowerCase());
  }
  return protocols.length === 1 && protocols[0] === 'websocket';
}

export interface ForwardContext {
  /** The client's address (normalised IP). */
  readonly clientIp: string;
  /**
   * The client is this computer through one of its own network addresses (Exchange.fromOwnAddress):
   * this computer as a loopback client is, so the chain it wrote is kept.
   */
  readonly fromOwnAddress?: boolean;
  /** The scheme the client used to reach Porthole. */
  readonly scheme: 'http' | 'https';
  /** The HTTP version the request came in with: Via's received-protocol (RFC 9110 §7.6.3). */
  readonly version: '1.0' | '1.1';
  /** This proxy's received-by in Via (newViaPseudonym). */
  readonly viaPseudonym: string;
  /** The client's Host (undefined when it sent none: HTTP/1.0). */
  readonly host: string | undefined;
  /** The Host to send instead of the client's (rewriteHost), else undefined. */
  readonly rewriteHostTo: string | undefined;
  /** Names to leave out as well (lower case), e.g. conditionals when the page will be rewritten. */
  readonly drop: ReadonlySet<string>;
  /**
   * The request's Max-Forwards as `maxForwards` read it (an OPTIONS or TRACE with a valid one,
   * above 0): the back-end gets this minus one in its place. Undefined: the field, if any, goes
   * as it came.
   */
  readonly maxForwards?: bigint | undefined;
}

/**
 * The Max-Forwards of a request as a gateway must honour it (RFC 9110 §7.6.2: `Max-Forwards =
 * 1*DIGIT`, checked and updated by every intermediary for TRACE and OPTIONS): its value, any
 * number of digits, leading zeros allowed. Undefined for every other method (§7.6.2: a recipient
 * MAY ignore it there), and when the field is absent, not 1*DIGIT, or on several lines that
 * disagree: such a field is passed on as it came. 0n: answer as the final recipient, forward
 * nothing; above: forward with `ForwardContext.maxForwards` set to it.
 */
export function maxForwards(method: string, headers: HeaderList): bigint | undefined {
  if (method !== 'OPTIONS' && method !== 'TRACE') return undefined;
  let value: string | undefined;
  for (const [name, v] of headers) {
    if (name !== 'max-forwards') continue;
    if (value !== undefined && v !== value) return undefined;
    value = v;
  }
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return BigInt(value);
}

/**
 * The methods a proxied route takes, as its Allow says where Porthole answers for the route
 * itself: a CONNECT (never passed on) and an OPTIONS or TRACE with `Max-Forwards: 0` (RFC 9110
 * §7.6.2: answered as the final recipient, §10.2.1: Allow lists what the target takes; the static
 * server's `GET, HEAD, OPTIONS` there denied the DELETE the route passed on, helper-171).
 */
export const PROXIED_ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * A received-by for Via (RFC 9110 §7.6.3: a pseudonym; no host or port is told) naming one proxy
 * instance: `porthole-` and 8 random hex digits, made once per ReverseProxy. A request that comes
 * back with its own in Via went round a loop (viaNamesUs): through a route to a wildcard address
 * of this server, or through another server that sends it back (helper-171: two instances routed
 * at each other made 223 hops before a 431). Its own, not `porthole` alone: one Porthole routed to
 * another is no loop.
 */
export function newViaPseudonym(): string {
  return `porthole-${nodeCrypto().randomBytes(4).toString('hex')}`;
}

/**
 * True when one of the request's Via entries (`headers`: lower-case names) names `pseudonym` as
 * its received-by (`1.1 porthole-1a2b3c4d`, RFC 9110 §7.6.3: received-protocol, then received-by).
 */
export function viaNamesUs(headers: HeaderList, pseudonym: string): boolean {
  for (const [name, value] of headers) {
    if (name !== 'via' || !value.includes(pseudonym)) continue;
    for (const entry of value.split(',')) if (entry.trim().split(/[ \t]+/)[1] === pseudonym) return true;
  }
  return false;
}

/** A `for=` / `host=` value of RFC 7239 §4: a token, else a quoted-string (an IPv6 node in brackets, §6). */
function forwardedValue(value: string, node = false): string {
  if (/^[A-Za-z0-9.\-_]+$/.test(value)) return value;
  const v = node && isIPv6(value) ? `[${value}]` : value;
  return `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The request fields for the back-end: hop-by-hop and `drop` removed, Expect removed (Porthole
 * answered `100 Continue` itself), Host kept or rewritten, Max-Forwards one less when
 * `ctx.maxForwards` is set, the forwarding fields and Via (the client's entries, then Porthole's)
 * added. Names are
 * lower case, in the client's order, duplicates kept.
 */
export function forwardRequestHeaders(headers: HeaderList, ctx: ForwardContext): HeaderList {
  const named = connectionOptions(headers);
  // Who came before Porthole is told only by something on this machine (a tunnel, code-server's
  // port forwarding): a device on the network could write any address there, and frameworks take
  // the first entry as the client (Express's trust proxy, Spring's and Quarkus's link building).
  const chainBefore = isLoopbackAddress(ctx.clientIp) || ctx.fromOwnAddress === true;
  const out: HeaderList = [];
  let xff: string | undefined;
  let forwarded: string | undefined;
  let via: string | undefined;
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || named.has(name) || ctx.drop.has(name)) continue;
    if (name === 'host' || name === 'expect') continue;
    // A field Porthole drops, sets or frames the message by, spelt with `_` for `-` (`X_Real_IP`,
    // `Transfer_Encoding`): CGI-style back-ends (WSGI, Rack, PHP) read both spellings as one
    // variable (HTTP_TRANSFER_ENCODING: a body framed by its Content-Length announced chunked
    // there), so it goes too.
    if (name.includes('_') && isPortholesField(name.replace(/_/g, '-'))) continue;
    // httpoxy (CVE-2016-5385): no standard field is named Proxy, and a CGI-style back-end reads
    // this one as HTTP_PROXY, the outbound proxy its HTTP libraries then use.
    if (name === 'proxy') continue;
    if (name === 'max-forwards' && ctx.maxForwards !== undefined) continue;
    if (name === 'x-forwarded-for') {
      if (chainBefore) xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (name === 'forwarded') {
      if (chainBefore) forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
      continue;
    }
    if (name === 'via') {
      via = via === undefined ? value : `${via}, ${value}`;
      continue;
    }
    // The client's own claims of who it is or how it came are not passed as if Porthole's: those
    // Porthole knows are set below, the others dropped (helper-48: X-Real-IP went through).
    if (name === 'x-forwarded-proto' || name === 'x-forwarded-host' || CLIENT_IDENTITY_CLAIMS.has(name)) continue;
    if (name === 'content-length') {
      // The parser accepted repeats only when they all name one length (RFC 9112 §6.3, `3` twice
      // or `3, 3`): the back-end gets that length once, never a list it may take as smuggling.
      if (!out.some(([n]) => n === 'content-length')) out.push([name, value.split(',')[0]?.trim() ?? value]);
      continue;
    }
    out.push([name, value]);
  }
  // RFC 9110 §7.6.2: "MUST check and update its value prior to forwarding": one less.
  if (ctx.maxForwards !== undefined && ctx.maxForwards > 0n) out.push(['max-forwards', String(ctx.maxForwards - 1n)]);
  const host = ctx.rewriteHostTo ?? ctx.host;
  if (host !== undefined) out.unshift(['host', host]);
  out.push(['x-forwarded-for', xff === undefined ? ctx.clientIp : `${xff}, ${ctx.clientIp}`]);
  out.push(['x-real-ip', ctx.clientIp]);
  out.push(['x-forwarded-proto', ctx.scheme]);
  if (ctx.host !== undefined) out.push(['x-forwarded-host', ctx.host]);
  let element = `for=${forwardedValue(ctx.clientIp, true)};proto=${ctx.scheme}`;
  if (ctx.host !== undefined) element += `;host=${forwardedValue(ctx.host)}`;
  out.push(['forwarded', forwarded === undefined ? element : `${forwarded}, ${element}`]);
  // RFC 9110 §7.6.3: "An HTTP-to-HTTP gateway MUST send an appropriate Via header field in each
  // inbound request message"; received-protocol without its name for HTTP, after the client's own.
  const ours = `${ctx.version} ${ctx.viaPseudonym}`;
  out.push(['via', via === undefined ? ours : `${via}, ${ours}`]);
  return out;
}

/**
 * The response fields for the client: hop-by-hop, Content-Length and `drop` removed (the framing
 * is Porthole's), and Date and Server (Porthole writes its own). `raw` is undici's header object
 * (lower-case names; repeated fields as arrays). A name is passed on without the spaces or tabs a
 * back-end left before its colon (RFC 9112 §5.1: a proxy must remove them; undici keeps them in the
 * name, and `x-a : 1` reached the client as a field no browser takes), and a field whose name is
 * still no token (`x y`) is dropped: it cannot be written as a header line (helper-59).
 */
export function forwardResponseHeaders(raw: Record<string, string | string[] | undefined>, drop: ReadonlySet<string> = new Set(), status?: number): HeaderList {
  const pairs: Array<[string, string]> = [];
  for (const [rawName, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const name = rawName.replace(/[ \t]+$/, '');
    if (!isToken(name)) continue;
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else pairs.push([name, value]);
  }
  // undici re-encodes a Content-Disposition that comes with a Content-Length (its "latin1" fix,
  // nodejs/node#46528), which doubles the UTF-8 of a value already held one character per byte
  // (reverse-proxy's latin1Heads): undone here, so its bytes go out as they came.
  if (typeof raw['content-length'] === 'string') {
    for (const pair of pairs) if (pair[0] === 'content-disposition') pair[1] = Buffer.from(pair[1], 'latin1').toString('utf8');
  }
  const named = connectionOptions(pairs);
  const kept = pairs.filter(([name]) => !HOP_BY_HOP.has(name) && !named.has(name) && !WRITTEN_BY_PORTHOLE.has(name) && name !== 'content-length' && !drop.has(name));
  // A 426 must name the protocols to upgrade to (RFC 9110 §15.5.22), a hop-by-hop field as any
  // Upgrade (§7.8): the back-end's named the hop between it and Porthole, and was dropped with
  // the others (helper-165). Said anew for this hop, of the protocols Porthole carries through
  // (WebSocket, isWebSocketUpgrade), with the `upgrade` option it requires.
  if (status === 426 && pairs.some(([name, value]) => name === 'upgrade' && value.split(',').some((p) => p.trim().toLowerCase() === 'websocket'))) {
    kept.push(['Upgrade', 'websocket'], ['Connection', 'Upgrade']);
  }
  return kept;
}

/** The Content-Length of a response, when it is one valid number. */
export function responseLength(raw: Record<string, string | string[] | undefined>): number | undefined {
  const value = raw['content-length'];
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}
