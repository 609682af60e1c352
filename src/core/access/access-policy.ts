/**
 * Who may talk to the server, decided before any file is touched:
 * - `HostPolicy` answers DNS rebinding: a page on evil.example that re-points its name at 127.0.0.1
 *   still sends `Host: evil.example`, so only names we know to be ours are served. Loopback names
 *   always; the machine's own addresses and host name when bound beyond loopback; plus the user's
 *   `allowedHosts` (tunnels, custom names).
 * - `ClientFilter` answers `allowedClients` (CIDR list); loopback clients are always allowed, since
 *   they are the user at this machine.
 */
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** True for 127.0.0.0/8, ::1 and the IPv4-mapped loopback. */
export function isLoopbackAddress(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/** True when the bind address is loopback only. */
export function isLoopbackBind(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}

/** The host part of a Host header value, lower-cased, without port or trailing dot ('' if malformed). */
export function hostNameOf(hostHeader: string): string {
  let value = hostHeader.trim().toLowerCase();
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return '';
    const rest = value.slice(close + 1);
    if (rest.length > 0 && !/^:\d{1,5}$/.test(rest)) return '';
    return value.slice(0, close + 1);
  }
  const colon = value.indexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(value.slice(colon + 1))) return '';
    value = value.slice(0, colon);
  }
  if (value.endsWith('.')) value = value.slice(0, -1);
  return value;
}

function bracketed(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

/** Every address of this machine's interfaces (IPv6 bracketed, zone ids dropped). */
export function localAddressNames(): string[] {
  const names: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) names.push(bracketed(info.address.split('%')[0] ?? info.address));
  }
  return names;
}

/** While shared, unknown Host names re-read the interface addresses at most this often. */
const ADDRESS_REFRESH_MS = 2_000;

export class HostPolicy {
  private readonly names: Set<string>;
  private extra = new Set<string>();
  private readonly shared: boolean;
  private refreshedAt = Date.now();

  /** `bindHost` is where the server listens; `extra` are the user's allowedHosts. */
  constructor(bindHost: string, extra: readonly string[]) {
    this.names = new Set(LOOPBACK_NAMES);
    this.setExtra(extra);
    this.shared = bindHost === '0.0.0.0' || bindHost === '::';
    if (!isLoopbackBind(bindHost)) {
      for (const n of localAddressNames()) this.names.add(n);
      const machine = hostname().toLowerCase();
      this.names.add(machine);
      this.names.add(`${machine}.local`);
      if (bindHost !== '0.0.0.0' && bindHost !== '::') this.names.add(bracketed(bindHost));
    }
  }

  /** Adds a name at run time (e.g. the authority VS Code's asExternalUri returns). */
  add(name: string): void {
    const n = hostNameOf(name);
    if (n.length > 0) this.names.add(n);
  }

  /** Replaces the user's allowedHosts (the names the server found itself stay). */
  setExtra(extra: readonly string[]): void {
    this.extra = new Set(extra.map(hostNameOf).filter((n) => n.length > 0));
  }

  allows(hostHeader: string | undefined): boolean {
    // HTTP/1.0 without Host: nothing to rebind against.
    if (hostHeader === undefined) return true;
    const name = hostNameOf(hostHeader);
    if (name.length === 0) return false;
    if (this.names.has(name) || this.extra.has(name) || name.endsWith('.localhost')) return true;
    // An interface that came up after the start (joining Wi-Fi) is this machine's too.
    if (this.shared && Date.now() - this.refreshedAt >= ADDRESS_REFRESH_MS) {
      this.refreshedAt = Date.now();
      for (const n of localAddressNames()) this.names.add(n);
      return this.names.has(name);
    }
    return false;
  }
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

/** Parses `a.b.c.d/n`, `x::/n` or a single address; throws with a plain message when invalid. */
export function parseCidr(text: string): Cidr {
  const [addr = '', bitsText] = text.trim().split('/');
  const parsed = ipToBigInt(addr);
  if (parsed === undefined) throw new Error(`"${text}" is not an IP address or CIDR range`);
  const width = parsed.v6 ? 128 : 32;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) throw new Error(`"${text}" has an invalid prefix length`);
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { v6: parsed.v6, base: parsed.value & mask, mask };
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

/** `Sec-Fetch-Dest` values of a navigation: the request loads a page, not a resource into one. */
const NAVIGATION_DESTINATIONS = new Set(['document', 'iframe', 'frame', 'fencedframe', 'embed', 'object']);

/**
 * True when Fetch Metadata (W3C Fetch Metadata Request Headers §2) says another site is loading
 * this URL as a resource into its own page: `Sec-Fetch-Site: cross-site` and not a navigation
 * (`Sec-Fetch-Mode` other than `navigate`/`nested-navigate`, `Sec-Fetch-Dest` not a document or a
 * frame). That is how a page elsewhere runs a served script (`<script src>`) or probes which files
 * exist (`<img>`, fetch). Requests without these headers (old browsers, curl) are not cross-site
 * loads by this test. `headers`: lower-case names, first value wins.
 */
export function isCrossSiteLoad(headers: ReadonlyArray<readonly [string, string]>): boolean {
  let site: string | undefined;
  let mode: string | undefined;
  let dest: string | undefined;
  for (const [name, value] of headers) {
    if (name === 'sec-fetch-site') site ??= value.trim().toLowerCase();
    else if (name === 'sec-fetch-mode') mode ??= value.trim().toLowerCase();
    else if (name === 'sec-fetch-dest') dest ??= value.trim().toLowerCase();
  }
  if (site !== 'cross-site') return false;
  if (mode === 'navigate' || mode === 'nested-navigate') return false;
  return dest === undefined || !NAVIGATION_DESTINATIONS.has(dest);
}
