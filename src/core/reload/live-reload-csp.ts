/**
 * Room for the live-reload client in a page's Content-Security-Policy (CSP Level 3), and nothing
 * more. Porthole rewrites served pages anyway; a page whose policy blocks our script or our
 * WebSocket would otherwise never reload, silently.
 *
 * For each policy (a `<meta http-equiv="Content-Security-Policy">` of the page's head, or each
 * policy of a header value: a comma-separated list — Porthole sends none of its own):
 * - script: the directive that governs script elements (`script-src-elem`, else `script-src`,
 *   else `default-src`, CSP3 §6.8.4) gets our tag's nonce — or, when it allows inline scripts by
 *   `'unsafe-inline'` with no nonce or hash (a nonce would switch that off, CSP3 §6.7.2.8), the
 *   exact URL of our script instead. When `default-src` governs, a `script-src` holding a copy of
 *   its sources plus ours is added, so every other kind of resource stays as restricted as before;
 * - connection: the directive that governs the WebSocket (`connect-src`, else `default-src`) gets
 *   the exact URL of our endpoint (`ws://host:port/__porthole/socket`, `wss://` over TLS), by the
 *   same rule;
 * - a `'none'` left beside a new source is dropped (it only means something alone).
 * Where that cannot work, the policy is left as it is and `blocked` says why: a policy with
 * `upgrade-insecure-requests` on a plain-HTTP server opened at a name other than loopback (the
 * browser sends our requests to https://, which this server does not answer; loopback origins are
 * potentially trustworthy and never upgraded), a host that a CSP source cannot name (an IPv6
 * literal), or a header policy's `sandbox` (CSP3 §6.3.2; ignored in a meta) that runs no script
 * (no `allow-scripts`) or gives the page an opaque origin (no `allow-same-origin`: the browser then
 * refuses our script, sent with `Cross-Origin-Resource-Policy: same-site`, and the socket's
 * `Origin: null` is not the server's own). Making room there would change what the page may do.
 */

/** What the client needs to be allowed. */
export interface ClientRoom {
  /** The nonce of our script tag (base64, CSP's base64-value). */
  readonly nonce: string;
  /** The absolute URL of the client script, e.g. `http://127.0.0.1:8000/__porthole/client.js`. */
  readonly scriptUrl: string;
  /** The absolute URL of the WebSocket endpoint, e.g. `ws://127.0.0.1:8000/__porthole/socket`. */
  readonly socketUrl: string;
  /** The server speaks TLS (the page is https). */
  readonly secure: boolean;
  /** The Host the page was requested with (what the URLs above name). */
  readonly host: string;
}

export interface RoomResult {
  /** The policy to send: with room for the client, or unchanged when `blocked`. */
  readonly policy: string;
  /** Why live reload stays blocked by this policy; undefined when it is not. */
  readonly blocked: string | undefined;
}

const SCRIPT_CHAIN = ['script-src-elem', 'script-src', 'default-src'] as const;
const CONNECT_CHAIN = ['connect-src', 'default-src'] as const;

interface Directive {
  readonly name: string;
  text: string;
  readonly values: readonly string[];
}

/** Splits a serialized policy (CSP3 §2.2.1): `;`-separated directives, ASCII-whitespace tokens. */
function parsePolicy(policy: string): Directive[] {
  const out: Directive[] = [];
  for (const part of policy.split(';')) {
    const tokens = part.trim().split(/[\t\n\f\r ]+/).filter((t) => t.length > 0);
    const first = tokens[0];
    if (first === undefined) continue;
    out.push({ name: first.toLowerCase(), text: tokens.join(' '), values: tokens.slice(1) });
  }
  return out;
}

/** The first directive of each name counts; later duplicates are ignored by browsers. */
function governing(directives: readonly Directive[], chain: readonly string[]): Directive | undefined {
  for (const name of chain) {
    const found = directives.find((d) => d.name === name);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * A potentially trustworthy host (Secure Contexts §3.1): `localhost`, `*.localhost`, 127.0.0.0/8,
 * `[::1]`; browsers never upgrade requests to it.
 */
function trustworthyHost(hostWithPort: string): boolean {
  const host = hostWithPort.startsWith('[') ? hostWithPort.slice(0, hostWithPort.indexOf(']') + 1) : hostWithPort.replace(/:\d+$/, '');
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) || name === '[::1]';
}

function withSource(values: readonly string[], source: string): string[] {
  return [...values.filter((v) => v.toLowerCase() !== "'none'"), source];
}

/**
 * How a policy reached the page: a `Content-Security-Policy` response field, or a
 * `<meta http-equiv>` (which cannot carry `sandbox`, CSP3 §6.3.2: browsers ignore it there).
 */
export type PolicyDelivery = 'header' | 'meta';

/**
 * Why a `sandbox` directive (CSP3 §6.3.2, WHATWG HTML §7.1.5 "parse a sandboxing directive":
 * ASCII-whitespace tokens, ASCII case-insensitive) keeps the client from working, else undefined.
 */
function sandboxBlocks(sandbox: Directive | undefined): string | undefined {
  if (sandbox === undefined) return undefined;
  const flags = sandbox.values.map((v) => v.toLowerCase());
  if (!flags.includes('allow-scripts')) {
    return 'its sandbox directive lets no script run (no allow-scripts), the reload script included (leave sandbox out while previewing, or reload the page by hand)';
  }
  if (!flags.includes('allow-same-origin')) {
    return "its sandbox directive without allow-same-origin gives the page an opaque origin, which may not load this server's reload script nor open its socket (add allow-same-origin while previewing, or reload the page by hand)";
  }
  return undefined;
}

/**
 * `policy` with room for the client described by `room` (see the module comment), delivered as
 * `delivery` (default `meta`). A meta's `content` is one serialized policy (CSP3 §2.2.1, HTML
 * §4.2.5.3); a response field's value is a serialized policy list (CSP3 §2.2.2: policies separated
 * by commas, each one enforced, as a proxy or a framework joins two policies), so each of its
 * policies gets room of its own and they go back in their order, joined by `, `. Pure; the result
 * is ASCII when `policy` and `room` are. Never throws: a policy where no room can be made comes
 * back unchanged with `blocked` set to a sentence for the user (what blocks it, what to do; the
 * first such sentence of a list).
 */
export function makeRoomForClient(policy: string, room: ClientRoom, delivery: PolicyDelivery = 'meta'): RoomResult {
  if (delivery === 'meta' || !policy.includes(',')) return roomInPolicy(policy, room, delivery);
  const parts = policy.split(',');
  const made = parts.map((part) => roomInPolicy(part, room, delivery));
  if (made.every((m, i) => m.policy === parts[i])) return { policy, blocked: made.find((m) => m.blocked !== undefined)?.blocked };
  return {
    policy: made
      .map((m) => m.policy.trim())
      .filter((p) => p.length > 0)
      .join(', '),
    blocked: made.find((m) => m.blocked !== undefined)?.blocked,
  };
}

/** One serialized policy (CSP3 §2.2.1) with room for the client (makeRoomForClient). */
function roomInPolicy(policy: string, room: ClientRoom, delivery: PolicyDelivery): RoomResult {
  const directives = parsePolicy(policy);
  if (delivery === 'header') {
    const blocked = sandboxBlocks(governing(directives, ['sandbox']));
    if (blocked !== undefined) return { policy, blocked };
  }
  const script = governing(directives, SCRIPT_CHAIN);
  const connect = governing(directives, CONNECT_CHAIN);
  if (script === undefined && connect === undefined && !directives.some((d) => d.name === 'upgrade-insecure-requests')) {
    return { policy, blocked: undefined };
  }
  if (!room.secure && !trustworthyHost(room.host) && directives.some((d) => d.name === 'upgrade-insecure-requests')) {
    return {
      policy,
      blocked:
        "its upgrade-insecure-requests sends the reload script's requests to https://, which this server does not answer (serve it over HTTPS, or leave the directive out while previewing)",
    };
  }
  if (script === undefined && connect === undefined) return { policy, blocked: undefined };
  if (!/^[A-Za-z0-9.-]+(?::\d+)?$/.test(room.host)) {
    return { policy, blocked: `a CSP source cannot name the host ${room.host} (open the page at 127.0.0.1 or localhost)` };
  }
  const added: Directive[] = [];
  if (script !== undefined) {
    const lower = script.values.map((v) => v.toLowerCase());
    const nonceOrHash = lower.some((v) => /^'(?:nonce|sha256|sha384|sha512)-/.test(v));
    const inlineAllowed = lower.includes("'unsafe-inline'") && !nonceOrHash && !lower.includes("'strict-dynamic'");
    const source = inlineAllowed ? room.scriptUrl : `'nonce-${room.nonce}'`;
    const values = withSource(script.values, source);
    if (script.name === 'default-src') added.push({ name: 'script-src', text: ['script-src', ...values].join(' '), values });
    else script.text = [script.name, ...values].join(' ');
  }
  if (connect !== undefined) {
    const values = withSource(connect.values, room.socketUrl);
    if (connect.name === 'default-src') added.push({ name: 'connect-src', text: ['connect-src', ...values].join(' '), values });
    else connect.text = [connect.name, ...values].join(' ');
  }
  return { policy: [...directives, ...added].map((d) => d.text).join('; '), blocked: undefined };
}
