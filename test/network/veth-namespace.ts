/**
 * A real second host for a test: a network namespace of the test's own, joined to this one by a
 * veth pair with an address at each end (10.x.y.1 here, 10.x.y.2 in the namespace). Traffic goes
 * only to those two addresses. The caller removes it in after(), also when a test fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';

/** iproute2's `ip`, or undefined when it is not installed. */
export const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].find((p) => spawnSync(p, ['-V']).status === 0);

/** Runs `ip` with `args`; throws with its output when it fails. */
export function ip(...args: string[]): void {
  execFileSync(IP as string, args, { stdio: 'pipe' });
}

/** Why no namespace can be made here (not root, no iproute2), or undefined when one can. */
export function namespaceUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  if (IP === undefined) return 'iproute2 (ip) is not installed';
  return undefined;
}

export interface VethNamespace {
  /** The namespace's name (for `ip netns exec`). */
  readonly ns: string;
  /** The veth end in this namespace. */
  readonly hostDevice: string;
  /** This host's address on the pair (10.`second`.`subnet`.1) and the namespace's (….2). */
  readonly hostIp: string;
  readonly clientIp: string;
  /** The /24 both addresses are in, e.g. 10.231.210 (for CIDR lists and extra addresses). */
  readonly prefix: string;
}

/**
 * Names for a namespace and its veth pair, unique to this process (`tag`: a letter or two kept in
 * every name, so two suites running at once never share one): 10.`second`.(`subnetBase` + pid %
 * 50).0/24. Nothing is made until createVethNamespace.
 */
export function vethNamespaceNames(tag: string, second: number, subnetBase: number): VethNamespace {
  const suffix = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const prefix = `10.${second}.${subnetBase + (process.pid % 50)}`;
  return {
    ns: `porthole-${tag}${suffix}`,
    hostDevice: `p${tag}h${suffix}`.slice(0, 15),
    hostIp: `${prefix}.1`,
    clientIp: `${prefix}.2`,
    prefix,
  };
}

/** Makes the namespace and its veth pair, both ends up with their addresses, and the namespace's loopback up. */
export function createVethNamespace(n: VethNamespace): void {
  const peer = `${n.hostDevice.slice(0, 14)}n`;
  ip('netns', 'add', n.ns);
  ip('link', 'add', n.hostDevice, 'type', 'veth', 'peer', 'name', peer);
  ip('link', 'set', peer, 'netns', n.ns);
  ip('addr', 'add', `${n.hostIp}/24`, 'dev', n.hostDevice);
  ip('link', 'set', n.hostDevice, 'up');
  ip('netns', 'exec', n.ns, IP as string, 'addr', 'add', `${n.clientIp}/24`, 'dev', peer);
  ip('netns', 'exec', n.ns, IP as string, 'link', 'set', peer, 'up');
  ip('netns', 'exec', n.ns, IP as string, 'link', 'set', 'lo', 'up');
}

/** Removes the namespace and the veth pair (either may be gone already). */
export function removeVethNamespace(n: VethNamespace): void {
  spawnSync(IP as string, ['netns', 'del', n.ns]);
  spawnSync(IP as string, ['link', 'del', n.hostDevice]);
}
