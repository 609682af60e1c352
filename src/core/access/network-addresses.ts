/**
 * The addresses other devices can reach this machine on, for the `Network:` URLs, the QR code and
 * the certificate's names. Internal (loopback) addresses are skipped, and IPv6 link-local ones too
 * unless nothing else is there (they need a zone id most browsers cannot take).
 */
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { isLoopbackBind } from './access-policy';

export interface LanAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly interfaceName: string;
  readonly linkLocal: boolean;
}

/** IPv4 first, then IPv6; link-local only when there is nothing else. */
export function lanAddresses(): LanAddress[] {
  const all: LanAddress[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.internal) continue;
      const family = info.family === 'IPv4' ? 'IPv4' : 'IPv6';
      const linkLocal = family === 'IPv4' ? info.address.startsWith('169.254.') : /^fe[89ab]/i.test(info.address);
      all.push({ address: info.address, family, interfaceName: name, linkLocal });
    }
  }
  const usable = all.filter((a) => !a.linkLocal);
  const chosen = usable.length > 0 ? usable : all;
  return [...chosen.filter((a) => a.family === 'IPv4'), ...chosen.filter((a) => a.family === 'IPv6')];
}

/**
 * The URL of a server on `port` at one address: IPv6 in brackets, a zone id written `%25` as
 * RFC 6874 says (`fe80::1%eth0` → `http://[fe80::1%25eth0]:8000/`).
 */
export function urlFor(scheme: 'http' | 'https', address: string, port: number): string {
  return `${scheme}://${address.includes(':') ? `[${address.replace('%', '%25')}]` : address}:${port}/`;
}

/**
 * The wildcard address a bind address is, however it is written: `'0.0.0.0'` (every IPv4
 * interface) or `'::'` (every interface; `0:0:0:0:0:0:0:0`, `::0` and `0::` alike, RFC 4291
 * §2.5.2's unspecified address), else undefined (one address, or a name). A wildcard is where the
 * server listens, never an address to print or to put in a QR code: a client that opens it opens
 * its own machine.
 */
export function wildcardBind(bindHost: string): '0.0.0.0' | '::' | undefined {
  if (bindHost === '0.0.0.0') return '0.0.0.0';
  if (isIP(bindHost) !== 6 || bindHost.includes('%')) return undefined;
  try {
    return new URL(`http://[${bindHost}]/`).hostname === '[::]' ? '::' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * URLs other devices would use, each with what it is (e.g. "wlan0 · IPv4"): every LAN address when
 * bound to all interfaces, else the bound one; none for loopback. A `0.0.0.0` bind takes IPv4
 * only (Node's 0.0.0.0 socket never accepts IPv6), so only `::` lists IPv6 addresses too. `lan`:
 * the machine's addresses (default: lanAddresses(), read only for an all-interfaces bind, in
 * any spelling: wildcardBind).
 */
export function networkUrls(
  bindHost: string,
  port: number,
  scheme: 'http' | 'https',
  lan?: readonly LanAddress[],
): Array<{ url: string; label: string }> {
  const wildcard = wildcardBind(bindHost);
  if (wildcard !== undefined) {
    // The interfaces are read only here (getifaddrs: a netlink dump), not for every banner.
    const all = lan ?? lanAddresses();
    const reachable = wildcard === '0.0.0.0' ? all.filter((a) => a.family === 'IPv4') : all;
    return reachable.map((a) => ({
      url: urlFor(scheme, a.address, port),
      label: `${a.interfaceName} · ${a.family}${a.linkLocal ? ' · link-local' : ''}`,
    }));
  }
  if (isLoopbackBind(bindHost)) return [];
  return [{ url: urlFor(scheme, bindHost, port), label: 'bound address' }];
}

/**
 * Names a self-signed certificate covers (DNS names and IP addresses, no brackets): loopback
 * (`localhost`, 127.0.0.1, ::1), the machine's name (`machine`, lower-cased: the Host policy
 * answers to it while shared), every LAN address (`lan`: the ones the Network URLs name, link-local
 * ones only when there is nothing else), and the bind
 * address (`bindHost`, zone id dropped, unless it is every interface: wildcardBind) since the
 * Local URL names it. One list for the CLI's `--https` and the extension's self-signed option.
 */
export function certificateNames(lan: readonly LanAddress[] = lanAddresses(), machine = hostname(), bindHost = '0.0.0.0'): string[] {
  const bound = wildcardBind(bindHost) !== undefined ? [] : [bindHost.replace(/%.*$/, '')];
  const names = ['localhost', '127.0.0.1', '::1', machine.toLowerCase(), ...lan.map((a) => a.address), ...bound];
  return [...new Set(names)];
}
