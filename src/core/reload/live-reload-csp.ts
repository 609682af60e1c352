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
 * potentially trustworthy and never upgraded), a directive that needs our exact URL on a host no
 * CSP host-source can name (an IPv6 literal: CSP3 §2.3.1 host-part has no brackets) and does not
 * already allow it by `'self'`, `*` or a scheme-source (alreadyAllows: the client's URLs are the
 * page's own origin, whatever the Host), or a header policy's `sandbox` (CSP3 §6.3.2; ignored in
 * a meta) that runs no script (no `allow-scripts`) or gives the page an opaque origin (no
 * `allow-same-origin`: the browser then refuses our script, sent with
 * `Cross-Origin-Resource-Policy: same-site`, and the socket's `Origin: null` is not the server's
 * own). Making room there would change what the page may do.
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

/**
 * A CSP host-source can spell `hostWithPort` (the request's Host): CSP3 §2.3.1 host-part is
 * dot-separated labels of ALPHA / DIGIT / "-" (Chromium takes a trailing dot too, and needs it to
 * match a page opened at `localhost.`), with an optional port of digits. An IPv6 literal
 * (brackets, colons, a zone) or any other form is not one.
 */
function nameableHost(hostWithPort: string): boolean {
  return /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?(?::\d+)?$/.test(hostWithPort);
}

/**
 * `source` is a host-source whose host-part is `*` that matches `url` (CSP3 §6.7.2.8, whatever the
 * host, an IPv6 literal included): an explicit scheme of the URL's (or its insecure form: `http`
 * for https, `ws` for wss), a port of `*` or the URL's own (the scheme's default when none is
 * written), a path, if any, that names the URL's or a folder above it. With no scheme it counts
 * for the script only (the page's own scheme); for the socket Chromium refuses it (`*:*`).
 */
function wildcardHostAllows(source: string, url: ClientUrl, what: 'script' | 'socket'): boolean {
  // Scheme and port in any case; the path as written (CSP3 §6.7.2.12 path-part matching is exact
  // after percent-decoding both; Chromium drops a query or fragment the source carries).
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?\*(?::(\*|\d+))?(\/[^?#]*)?(?:[?#].*)?$/.exec(source);
  if (m === null) return false;
  const [, schemeWritten, port, pathWritten] = m;
  const scheme = schemeWritten?.toLowerCase();
  const path = pathWritten === undefined ? undefined : percentDecoded(pathWritten);
  const urlPath = percentDecoded(url.path);
  const urlScheme = url.scheme;
  if (scheme === undefined) {
    if (what === 'socket') return false;
  } else if (scheme !== urlScheme && !(scheme === 'http' && urlScheme === 'https') && !(scheme === 'ws' && urlScheme === 'wss')) {
    return false;
  }
  const defaultPort = urlScheme === 'https' || urlScheme === 'wss' ? '443' : '80';
  if (port !== '*' && Number(port ?? defaultPort) !== Number(url.port ?? defaultPort)) return false;
  return path === undefined || (path.endsWith('/') ? urlPath.startsWith(path) : urlPath === path);
}

/** `text` with its percent-escapes decoded (UTF-8), or as it is when they are not valid. */
function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** One of the client's URLs in parts (lower-case scheme, port as written in the Host, if any). */
interface ClientUrl {
  readonly scheme: string;
  readonly port: string | undefined;
  readonly path: string;
}

/**
 * `url` (`scheme://host/path`, host as the request's Host gave it) in parts, by hand: WHATWG's URL
 * parser throws on a Host a browser never sends (an IPv6 zone), and this module never throws.
 */
function clientUrl(url: string): ClientUrl {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/.exec(url);
  const host = m?.[2] ?? '';
  const port = /^(?:\[[^\]]*\]|[^:]*):(\d+)$/.exec(host)?.[1];
  return { scheme: (m?.[1] ?? '').toLowerCase(), port, path: m?.[3] ?? '' };
}

/**
 * `values` (a directive's source list) already allows the client's `what` at `url`, whatever the
 * Host. Both of the client's URLs are the page's own origin (the script's src is relative to the
 * page, the socket's URL is made from the script's, ws: for http: and wss: for https:), so
 * `'self'` covers them (CSP3 §6.7.2.8 "Does url match expression in origin with redirect count":
 * the same origin, or the same host and port with ws/wss for a socket), and so do `*`, a
 * scheme-source of their scheme (`http:` also allows https:, `ws:` also wss:) and a host-source
 * of host `*` (wildcardHostAllows). Conservative, as Chromium is: `'strict-dynamic'` makes a script
 * list ignore all of these (CSP3 §8.2), and `http:`/`https:` does not allow a socket; no other
 * host-source counts (the caller adds our own source where it can name the host).
 */
function alreadyAllows(values: readonly string[], what: 'script' | 'socket', url: string): boolean {
  const lower = values.map((v) => v.toLowerCase());
  if (what === 'script' && lower.includes("'strict-dynamic'")) return false;
  const parsed = clientUrl(url);
  const scheme = `${parsed.scheme}:`;
  const schemes = scheme === 'https:' ? ['http:', 'https:'] : scheme === 'wss:' ? ['ws:', 'wss:'] : [scheme];
  return values.some((v, i) => lower[i] === "'self'" || v === '*' || schemes.includes(lower[i] ?? '') || wildcardHostAllows(v, parsed, what));
}

/**
 * The sentence for `directive` (the one that governs `kind`, e.g. `default-src` for `connect-src`)
 * that does not allow our exact `url`, on a `host` no CSP source can name.
 */
function unnameable(directive: string, kind: string, url: string, host: string): string {
  const which = directive === kind ? directive : `${directive} (no ${kind})`;
  return `its ${which} does not allow ${url}, and a CSP source cannot name the host ${host} to allow it (add 'self' to ${directive}, or open the page at 127.0.0.1 or localhost)`;
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
  // A host no CSP source can name gets no URL of ours: there, a directive that needs one and does
  // not already allow the client (by 'self', *, a scheme-source) keeps the client out.
  const named = nameableHost(room.host);
  const added: Directive[] = [];
  if (script !== undefined) {
    const lower = script.values.map((v) => v.toLowerCase());
    const nonceOrHash = lower.some((v) => /^'(?:nonce|sha256|sha384|sha512)-/.test(v));
    const inlineAllowed = lower.includes("'unsafe-inline'") && !nonceOrHash && !lower.includes("'strict-dynamic'");
    let source: string | undefined = `'nonce-${room.nonce}'`;
    if (inlineAllowed) {
      if (named) source = room.scriptUrl;
      else if (alreadyAllows(script.values, 'script', room.scriptUrl)) source = undefined;
      else return { policy, blocked: unnameable(script.name, script.name === 'default-src' ? 'script-src' : script.name, room.scriptUrl, room.host) };
    }
    if (source !== undefined) {
      const values = withSource(script.values, source);
      if (script.name === 'default-src') added.push({ name: 'script-src', text: ['script-src', ...values].join(' '), values });
      else script.text = [script.name, ...values].join(' ');
    }
  }
  if (connect !== undefined && (named || !alreadyAllows(connect.values, 'socket', room.socketUrl))) {
    if (!named) return { policy, blocked: unnameable(connect.name, 'connect-src', room.socketUrl, room.host) };
    const values = withSource(connect.values, room.socketUrl);
    if (connect.name === 'default-src') added.push({ name: 'connect-src', text: ['connect-src', ...values].join(' '), values });
    else connect.text = [connect.name, ...values].join(' ');
  }
  return { policy: [...directives, ...added].map((d) => d.text).join('; '), blocked: undefined };
}
