/**
 * Who may talk to the server, decided before any file is touched:
 * - `HostPolicy` answers DNS rebinding: a page on evil.example that re-points its name at 127.0.0.1
 *   still sends `Host: evil.example`, so only names we know to be ours are served. Loopback names
 *   and literals and the bind address always; the machine's own addresses and host name when bound
 *   beyond loopback; plus the user's `allowedHosts` (tunnels, custom names).
 * - `ClientFilter` answers `allowedClients` (CIDR list); loopback clients are always allowed, since
 *   they are the user at this machine.
 */
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { escapeForDisplay } from '../text/display-text';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** True for 127.0.0.0/8, ::1 and the IPv4-mapped loopback. */
export function isLoopbackAddress(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/**
 * True when the bind address is loopback only: `localhost` (any case, trailing dot) or an address
 * in 127.0.0.0/8 or ::1 however it is spelt (`127.1`, `0:0:0:0:0:0:0:1`, `::ffff:127.0.0.1`).
 */
export function isLoopbackBind(host: string): boolean {
  const name = canonicalHostName(isIP(host) === 6 ? `[${host}]` : host);
  return name === 'localhost' || isLoopbackName(name);
}

/**
 * Request fields a proxy or a tunnel adds: `Via` (RFC 9110 §7.6.3: every proxy must add it, so
 * it is the one field a compliant intermediary never leaves out), `CDN-Loop` (RFC 8586), RFC
 * 7239's `Forwarded`, the de facto `X-Forwarded-For`, `-Host`, `-Proto`, `-Port`, `-Server`,
 * `-Prefix` and `X-Real-IP` (ngrok, cloudflared, VS Code's and code-server's forwarding, nginx's
 * `proxy_set_header` recipes), `X-Original-Forwarded-For` (ingress-nginx), Cloudflare's
 * `CF-Connecting-IP`, `True-Client-IP`, Fastly's `Fastly-Client-IP`, `X-Client-IP`,
 * `X-Cluster-Client-IP` and `Client-IP`. A browser sends none of them.
 */
const FORWARDING_FIELDS: ReadonlySet<string> = new Set([
  'via', 'cdn-loop', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port',
  'x-forwarded-server', 'x-forwarded-prefix', 'x-real-ip', 'x-original-forwarded-for', 'cf-connecting-ip',
  'true-client-ip', 'fastly-client-ip', 'x-client-ip', 'x-cluster-client-ip', 'client-ip',
]);

/**
 * True when a request is this computer's own, for what only this computer may read (the active
 * request log, the configuration file): it came from a loopback address `clientIp`, its `Host`
 * (`hostHeader`; undefined: none, HTTP/1.0) names the server by a loopback name (`localhost`,
 * `*.localhost`, a loopback IP literal), and none of its `headers` (lower-case names) is one a
 * proxy or a tunnel adds (FORWARDING_FIELDS). A tunnel on this computer (ngrok, cloudflared, a
 * development tunnel) connects from loopback for every visitor it carries, who asks by the
 * tunnel's public name or with `X-Forwarded-For`: taken by address alone, anyone with the
 * tunnel's URL read the log and the configuration file.
 */
export function isThisComputersRequest(clientIp: string, headers: ReadonlyArray<readonly [string, string]>, hostHeader: string | undefined): boolean {
  if (!isLoopbackAddress(clientIp)) return false;
  if (hostHeader !== undefined) {
    const name = canonicalHostName(hostHeader);
    if (name !== 'localhost' && !name.endsWith('.localhost') && !isLoopbackName(name)) return false;
  }
  for (const [field] of headers) if (FORWARDING_FIELDS.has(field)) return false;
  return true;
}

/** True for a canonical Host name that is a loopback IP literal (127.0.0.0/8, [::1], [::ffff:7fxx:…]). */
function isLoopbackName(name: string): boolean {
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(name);
}

/**
 * The host part of a Host header value (RFC 9110 §7.2: uri-host [":" port]) in one canonical
 * spelling, so that every way of writing one address compares equal: lower-cased, without port,
 * trailing dot or IPv6 zone id; IP literals as the WHATWG URL host parser writes them (`127.1` and
 * `0x7f.0.0.1` → `127.0.0.1`, `[0:0:0:0:0:0:0:1]` → `[::1]`), which is also what browsers send.
 * '' if malformed.
 */
export function canonicalHostName(hostHeader: string): string {
  let value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return '';
    const rest = value.slice(close + 1);
    // port = *DIGIT (RFC 3986 §3.2.3): `[::1]:` has an empty one, which means the default.
    if (rest.length > 0 && !/^:\d*$/.test(rest)) return '';
    const inner = value.slice(1, close).split('%')[0] ?? '';
    if (isIP(inner) !== 6) return '';
    return whatwgHost(`[${inner}]`) ?? '';
  }
  const colon = value.indexOf(':');
  if (colon >= 0) {
    // port = *DIGIT (RFC 3986 §3.2.3), no bound: nginx takes `localhost:000009401` too, and a
    // 6-digit port was refused as a host name not ours, a 403 about DNS rebinding (helper-150).
    if (!/^\d*$/.test(value.slice(colon + 1))) return '';
    value = value.slice(0, colon);
  }
  if (value.endsWith('.')) value = value.slice(0, -1);
  // Only what the URL parser would read as an IPv4 address (digits, dots, hex) is rewritten.
  if (/^(0x[0-9a-f]*|\d+)(\.(0x[0-9a-f]*|\d+)){0,3}$/.test(value)) {
    const parsed = whatwgHost(value);
    if (parsed !== undefined && isIP(parsed) === 4) return parsed;
  }
  return value;
}

function whatwgHost(host: string): string | undefined {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
}

function bracketed(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

/** Every address of this machine's interfaces (IPv6 bracketed, zone ids dropped, canonical). */
export function localAddressNames(): string[] {
  const names: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) names.push(canonicalHostName(bracketed(info.address.split('%')[0] ?? info.address)));
  }
  return names;
}

/** While shared, unknown Host names re-read the interface addresses at most this often. */
const ADDRESS_REFRESH_MS = 2_000;

/**
 * The Host names (RFC 9110 §7.2) a server answers to. Always: `localhost`, `*.localhost`, every
 * loopback IP literal (127.0.0.0/8, ::1: a literal cannot be re-pointed by DNS, and loopback is
 * this machine), and the bind address itself in any spelling — so every URL the server prints is
 * one it answers. Bound beyond loopback: every interface address and the machine's name too.
 * Plus the user's `allowedHosts`. Names compare in canonicalHostName's spelling.
 */
export class HostPolicy {
  private readonly names: Set<string>;
  private extra = new Set<string>();
  private readonly shared: boolean;
  private refreshedAt = Date.now();
  /**
   * The last Host field value allowed, verbatim: a keep-alive client sends the same one on every
   * request, and the answer for it can only change when setExtra replaces allowedHosts (the
   * server's own names are only ever added to), which forgets it.
   */
  private lastAllowed: string | undefined;

  /** `bindHost` is where the server listens; `extra` are the user's allowedHosts. */
  constructor(bindHost: string, extra: readonly string[]) {
    this.names = new Set(LOOPBACK_NAMES);
    this.setExtra(extra);
    const bound = canonicalHostName(bracketed(bindHost));
    if (bound.length > 0) this.names.add(bound);
    this.shared = bound === '0.0.0.0' || bound === '[::]';
    if (!isLoopbackBind(bindHost)) {
      for (const n of localAddressNames()) this.names.add(n);
      const machine = hostname().toLowerCase();
      this.names.add(machine);
      this.names.add(`${machine}.local`);
    }
  }

  /** Adds a name at run time (e.g. the authority VS Code's asExternalUri returns). */
  add(name: string): void {
    const n = canonicalHostName(name);
    if (n.length > 0) this.names.add(n);
  }

  /** Replaces the user's allowedHosts (the names the server found itself stay). */
  setExtra(extra: readonly string[]): void {
    this.extra = new Set(extra.map(canonicalHostName).filter((n) => n.length > 0));
    this.lastAllowed = undefined;
  }

  /** True when a request with this `Host` field value (undefined: none was sent) may be served. */
  allows(hostHeader: string | undefined): boolean {
    // HTTP/1.0 without Host: nothing to rebind against.
    if (hostHeader === undefined || hostHeader === this.lastAllowed) return true;
    const name = canonicalHostName(hostHeader);
    if (name.length === 0) return false;
    let allowed = this.names.has(name) || this.extra.has(name) || name.endsWith('.localhost') || isLoopbackName(name);
    // An interface that came up after the start (joining Wi-Fi) is this machine's too.
    if (!allowed && this.shared && Date.now() - this.refreshedAt >= ADDRESS_REFRESH_MS) {
      this.refreshedAt = Date.now();
      for (const n of localAddressNames()) this.names.add(n);
      allowed = this.names.has(name);
    }
    if (allowed) this.lastAllowed = hostHeader;
    return allowed;
  }
}

/**
 * For a cross-site load (fetchSiteClass: `cross-site load`): the loading page's origin when it is a loopback name
 * (`localhost`, `*.localhost`, 127.0.0.0/8, `[::1]`) at the port the request's `Host` names, also
 * a loopback name: in all likelihood this very server opened under another name (a page at
 * `http://127.0.0.1:8000` whose stylesheet link says `http://localhost:8000/…`), which the browser
 * takes for another site. Read from `Origin`, else the `Referer`'s origin (what a subresource
 * request carries by default); undefined when neither names such a page. Only for the refusal's
 * words: the load is still refused (`localhost` may reach another program on `[::1]` at that port).
 */
export function loopbackPageOfOtherName(headers: ReadonlyArray<readonly [string, string]>, hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined) return undefined;
  const host = canonicalHostName(hostHeader);
  if (!isLoopbackHostName(host)) return undefined;
  // Origin first, whatever the order of the fields (helper-143: a Referer before an Origin named
  // the Referer's page).
  let origin: string | undefined;
  let referer: string | undefined;
  for (const [name, value] of headers) {
    if (name === 'origin') origin ??= value;
    else if (name === 'referer') referer ??= value;
  }
  // An opaque origin (`null`: a sandboxed frame, a data: page) says the page is none of these.
  const page = origin ?? referer;
  if (page === undefined || page === 'null' || page.length > MAX_PAGE_URL_CHARS) return undefined;
  let url: URL;
  try {
    url = new URL(page);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (!isLoopbackHostName(canonicalHostName(url.host)) || url.origin.length > MAX_ORIGIN_CHARS) return undefined;
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const pagePort = url.port === '' ? defaultPort : url.port;
  const hostPort = /:(\d+)$/.exec(hostHeader.trim())?.[1] ?? defaultPort;
  return Number(pagePort) === Number(hostPort) ? url.origin : undefined;
}

/**
 * The longest Origin or Referer loopbackPageOfOtherName reads: a loopback origin is short, and
 * one longer (a host of 5,000 labels) made a 10 KB refusal and log note (helper-143).
 */
const MAX_PAGE_URL_CHARS = 2048;
/** The longest page origin named: `http://` and a loopback name such as `app.localhost` with its port. */
const MAX_ORIGIN_CHARS = 100;

/** A canonical Host name (canonicalHostName) that is loopback: `localhost`, `*.localhost`, or a loopback IP literal. */
function isLoopbackHostName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackName(name);
}

/**
 * The client address of a connection reset before its address could be read (getpeername(2)
 * failed): Combined Log Format's `-`. No address range holds it and it is not loopback, so it is
 * judged as an unknown client on the network.
 */
export const UNKNOWN_CLIENT = '-';

/**
 * Whether a connection comes from this computer through one of its own network addresses: the
 * kernel makes such a connection's source its destination, so the client's address (`remote`) is
 * the socket's own (`local`). Both normalised (normaliseIp); an unknown client is never this one.
 */
export function isOwnAddress(remote: string, local: string): boolean {
  return remote === local && remote !== UNKNOWN_CLIENT;
}

/** `::ffff:127.0.0.1` → `127.0.0.1` (dual-stack sockets report IPv4 clients mapped). */
export function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

interface Cidr {
  readonly v6: boolean;
  readonly base: bigint;
  readonly mask: bigint;
}

function ipToBigInt(ip: string): { v6: boolean; value: bigint } | undefined {
  const kind = isIP(ip);
  if (kind === 4) {
    let v = 0n;
    for (const p of ip.split('.')) v = (v << 8n) | BigInt(Number(p));
    return { v6: false, value: v };
  }
  if (kind === 6) {
    const [head = '', tail] = ip.split('%')[0]!.split('::') as [string, string | undefined];
    const expand = (s: string): string[] => (s.length === 0 ? [] : s.split(':'));
    let groups = expand(head);
    let tailGroups = tail === undefined ? [] : expand(tail);
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
    const fix = (g: string[]): string[] => {
      const last = g[g.length - 1];
      if (last !== undefined && last.includes('.')) {
        const n = last.split('.').map(Number) as [number, number, number, number];
        return [...g.slice(0, -1), ((n[0] << 8) | n[1]).toString(16), ((n[2] << 8) | n[3]).toString(16)];
      }
      return g;
    };
    groups = fix(groups);
    tailGroups = fix(tailGroups);
    const fill = tail === undefined ? [] : new Array<string>(8 - groups.length - tailGroups.length).fill('0');
    let v = 0n;
    for (const g of [...groups, ...fill, ...tailGroups]) v = (v << 16n) | BigInt(parseInt(g, 16));
    return { v6: true, value: v };
  }
  return undefined;
}

const EXAMPLE_RANGES = 'e.g. 192.168.1.0/24, 192.168.1.7 or fd00::/64';

/** The canonical text of an address value (IPv6 compressed as RFC 5952 says, via the URL parser). */
function addressText(v6: boolean, value: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/**
 * Parses an allowedClients entry: a single address (`192.168.1.7`, `fd00::7`) or a CIDR range
 * (RFC 4632 §3.1: `192.168.1.0/24`, `fd00::/64`), strictly. Refused, with the reason: anything
 * that is not an address; a `/` without a prefix length (`192.168.1.0/` once read as `/0`, every
 * client); a prefix length that is not plain digits from 0 to 32 (IPv4) or 128 (IPv6); bits set
 * after the prefix (`192.168.1.0/2` is a typo, not 192.0.0.0/2: the message suggests the range);
 * an IPv6 zone id; surrounding spaces.
 */
export function parseCidrStrict(text: string): { cidr: Cidr } | { problem: string } {
  if (text !== text.trim()) return { problem: `has spaces around it (${EXAMPLE_RANGES})` };
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bitsText = slash < 0 ? undefined : text.slice(slash + 1);
  if (addr.includes('%')) return { problem: 'has a zone id (%…): give the address or range without it' };
  const parsed = ipToBigInt(addr);
  if (parsed === undefined) return { problem: `is not an IP address or CIDR range (${EXAMPLE_RANGES})` };
  if (parsed.v6 && parsed.value >> 32n === 0xffffn) {
    return { problem: 'is an IPv4-mapped IPv6 address: write the IPv4 address or range instead (IPv4 clients are matched as IPv4)' };
  }
  const width = parsed.v6 ? 128 : 32;
  let bits = width;
  if (bitsText !== undefined) {
    if (bitsText === '') return { problem: `has no prefix length after "/": write e.g. 192.168.1.0/24 for 256 addresses, or the address alone for one client` };
    if (!/^(0|[1-9]\d{0,2})$/.test(bitsText) || Number(bitsText) > width) {
      return { problem: `has an invalid prefix length: give a whole number from 0 to ${width} after "/"` };
    }
    bits = Number(bitsText);
  }
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  const base = parsed.value & mask;
  if (base !== parsed.value) {
    return { problem: `has address bits set after the first ${bits}: did you mean ${addressText(parsed.v6, base)}/${bits}?` };
  }
  return { cidr: { v6: parsed.v6, base, mask } };
}

/** Why `text` is not a valid allowedClients entry, or undefined when it is (parseCidrStrict). */
export function cidrProblem(text: string): string | undefined {
  const r = parseCidrStrict(text);
  return 'problem' in r ? r.problem : undefined;
}

/** Parses an allowedClients entry (see parseCidrStrict); throws `"<text>" <reason>` when invalid. */
export function parseCidr(text: string): Cidr {
  const r = parseCidrStrict(text);
  if ('problem' in r) throw new Error(`"${escapeForDisplay(text)}" ${r.problem}`);
  return r.cidr;
}

export class ClientFilter {
  private readonly ranges: readonly Cidr[];

  constructor(cidrs: readonly string[]) {
    this.ranges = cidrs.map(parseCidr);
  }

  allows(ip: string): boolean {
    if (this.ranges.length === 0 || isLoopbackAddress(ip)) return true;
    const parsed = ipToBigInt(normaliseIp(ip));
    if (parsed === undefined) return false;
    for (const r of this.ranges) {
      if (r.v6 === parsed.v6 && (parsed.value & r.mask) === r.base) return true;
    }
    return false;
  }
}

/**
 * True when a request says nothing of the page that made it: no Referer, and no Origin or the
 * opaque `Origin: null`. A sandboxed frame (the `sandbox` attribute without `allow-same-origin`,
 * or a CSP `sandbox`) has an opaque origin: Chromium sends its loads so, and as `Sec-Fetch-Site:
 * cross-site` even from a page of this server (helper-147). So does a page that hides its address
 * (`referrerpolicy="no-referrer"`): which of the two cannot be told, so this only picks the words.
 */
export function loaderUnnamed(headers: ReadonlyArray<readonly [string, string]>): boolean {
  for (const [name, value] of headers) {
    if (name === 'referer') return false;
    if (name === 'origin' && value.trim() !== 'null') return false;
  }
  return true;
}

/** `Sec-Fetch-Dest` values of a navigation: the request loads a page, not a resource into one. */
const NAVIGATION_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'fencedframe']);

/**
 * `<object>` and `<embed>`: Chromium fetches them with `Sec-Fetch-Mode: navigate`, yet the page
 * that made them sees their load or error event, which tells whether a file exists (helper-50).
 * The Fetch Metadata resource-isolation policy (web.dev) refuses them cross-site for that reason.
 */
const EMBEDDED_DESTINATIONS = new Set(['object', 'embed']);

/**
 * What a request's Fetch Metadata (W3C Fetch Metadata Request Headers §2) says of who loads it,
 * as far as the cross-site rule goes (fetchSiteClass).
 * - `cross-site load`: another site loads this URL as a resource into its own page.
 * - `same-site`: a page of this server's site at another origin (another port of the same host).
 * - `other`: anything else (same origin, a navigation, a user's own request, no metadata).
 */
export type FetchSiteClass = 'cross-site load' | 'same-site' | 'other';

/**
 * Reads `Sec-Fetch-Site`, `-Mode` and `-Dest` (each once at most: the parser refuses a second
 * line or a list) in one pass over `headers` (lower-case names) and classes the request:
 * - `cross-site load`: `Sec-Fetch-Site: cross-site` and not a navigation (`Sec-Fetch-Mode` other
 *   than `navigate`/`nested-navigate`, `Sec-Fetch-Dest` not a document or a frame), or an
 *   `<object>`/`<embed>` whatever its mode. That is how a page elsewhere runs a served script
 *   (`<script src>`) or probes which files exist (`<img>`, fetch).
 * - `same-site`: `Sec-Fetch-Site: same-site`.
 * - `other` otherwise; requests without these headers (old browsers, curl) among them.
 */
export function fetchSiteClass(headers: ReadonlyArray<readonly [string, string]>): FetchSiteClass {
  let site: string | undefined;
  let mode: string | undefined;
  let dest: string | undefined;
  for (const [name, value] of headers) {
    if (name === 'sec-fetch-site') site ??= value.trim().toLowerCase();
    else if (name === 'sec-fetch-mode') mode ??= value.trim().toLowerCase();
    else if (name === 'sec-fetch-dest') dest ??= value.trim().toLowerCase();
  }
  if (site === 'same-site') return 'same-site';
  if (site !== 'cross-site') return 'other';
  if (dest !== undefined && EMBEDDED_DESTINATIONS.has(dest)) return 'cross-site load';
  if (mode === 'navigate' || mode === 'nested-navigate') return 'other';
  return dest === undefined || !NAVIGATION_DESTINATIONS.has(dest) ? 'cross-site load' : 'other';
}
