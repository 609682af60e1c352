/**
 * Strict validation of the server options: the one place the CLI, the extension and
 * PreviewServer.listen/reconfigure check every option, so no invalid value is ever read as
 * something else (`192.168.1.0/` once meant `/0`: every client allowed). An invalid value never
 * falls back to a default; the start stops with the option, the value and the reason.
 *
 * The rules take `unknown` (a setting's JSON value, a flag's text, an API caller's value): whole
 * numbers may be given as numbers or as plain decimal digits ("8000"), nothing looser (no sign,
 * space, exponent, hex or fraction).
 */
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { cidrProblem, canonicalHostName } from '../access/access-policy';
import { globProblem } from '../reload/live-reload-glob';
import { cutAtCharacter, escapeForDisplay, jsonForDisplay } from '../text/display-text';
import { compileRoute } from '../proxy/proxy-routes';
import { mountPrefixSegments, mountProxyClash, normalMountPrefix } from '../files/mounts';
import { CONSOLE_FORWARD_MODES, type ServerOptionsInput } from '../options';
import { headerFieldProblem, spaFileProblem } from './config-file';

/** Dotted names of the options (`timeouts.idleMs`, `reload.ignore`, …). */
export type OptionName =
  | 'root'
  | 'port'
  | 'host'
  | 'portAttempts'
  | 'listing'
  | 'dotfiles'
  | 'followSymlinks'
  | 'logFile'
  | 'resolveHostNames'
  | 'timeouts.headersMs'
  | 'timeouts.idleMs'
  | 'timeouts.writeStallMs'
  | 'timeouts.closeGraceMs'
  | 'timeouts.bodyMs'
  | 'crossSiteLoads'
  | `limits.${string}`
  | 'limits'
  | 'maxConnections'
  | 'maxBodyBytes'
  | 'allowedHosts'
  | 'allowedClients'
  | 'tls'
  | 'reload.enabled'
  | 'reload.ignore'
  | 'reload.debounceMs'
  | 'reload.watch'
  | 'reload.watchPaths'
  | 'proxy'
  | 'proxy.routes'
  | 'proxy.rewriteHost'
  | 'proxy.connectTimeoutMs'
  | 'proxy.responseTimeoutMs'
  | 'proxy.maxBodyBytes'
  | 'headers'
  | 'crossOriginIsolation'
  | 'compression'
  | 'cors.enabled'
  | 'cors.origins'
  | 'spa'
  | 'mounts'
  | 'cleanUrls'
  | 'configFile'
  | 'consoleForward'
  | 'fallback';

/** Inclusive bounds of the numeric options (the defaults are in options.ts). */
export const OPTION_BOUNDS = {
  port: { min: 0, max: 65_535 },
  portAttempts: { min: 1, max: 100 },
  /** Milliseconds: above 0, at most an hour. */
  timeout: { min: 1, max: 3_600_000 },
  closeGraceMs: { min: 0, max: 60_000 },
  maxConnections: { min: 1, max: 1_000_000 },
  /** 1 GiB: request bodies are read and discarded, never kept. */
  maxBodyBytes: { min: 0, max: 1024 * 1024 * 1024 },
  debounceMs: { min: 0, max: 10_000 },
  /** Bytes streamed to a back-end (never kept): at most 16 GiB. */
  proxyMaxBodyBytes: { min: 0, max: 16 * 1024 * 1024 * 1024 },
} as const;

/** One refused value. */
export interface OptionProblem {
  readonly option: OptionName;
  /** The value as given, quoted and escaped for display (escapeForDisplay), at most ~200 characters. */
  readonly value: string;
  /** Why, in plain words, with what to write instead when that helps. */
  readonly reason: string;
}

/** Thrown by validateServerOptions; `code` is `EINVALIDOPTION`. The message lists every problem. */
export class InvalidOptionsError extends Error {
  readonly code = 'EINVALIDOPTION';
  constructor(readonly problems: readonly OptionProblem[]) {
    super(problems.map((p) => `${p.option} ${p.value}: ${p.reason}`).join('; '));
    this.name = 'InvalidOptionsError';
  }
}

/**
 * A value for a message: strings quoted, everything escaped (escapeForDisplay) and bounded. A
 * number JSON cannot write (a file's or settings.json's `1e400`, which JSON.parse reads as
 * Infinity; NaN) is shown as itself, never as JSON.stringify's `null`, which named a value the
 * user never wrote ("port: must be at most 65535 (it is null)").
 */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `"${value}"`;
  else if (Buffer.isBuffer(value)) text = `<${value.length} bytes>`;
  else if (value === undefined) text = 'undefined';
  else if (typeof value === 'bigint') text = `${value}n`;
  else {
    try {
      // undefined for functions and symbols: their type is enough.
      text = jsonForDisplay(value) ?? `<${typeof value}>`;
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  const shown = escapeForDisplay(text);
  return shown.length > 200 ? `${cutAtCharacter(shown, 197)}...` : shown;
}

// ---- single-value rules: a reason, or undefined when the value is valid ---------------------

/** A whole number within [min, max], as a number or as plain decimal digits. */
export function wholeNumberProblem(value: unknown, min: number, max: number): string | undefined {
  const range = `a whole number from ${min} to ${max}`;
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= min && value <= max ? undefined : `must be ${range}`;
  }
  if (typeof value === 'string') {
    if (!/^\d{1,16}$/.test(value)) return `is not ${range} (digits only)`;
    const n = Number(value);
    return n >= min && n <= max ? undefined : `must be ${range}`;
  }
  return `must be ${range}`;
}

/** The number a valid whole-number value stands for (call after wholeNumberProblem said yes). */
export function toWholeNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export function booleanProblem(value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : 'must be true or false';
}

/** An absolute file-system path (the root, the log file). */
export function absolutePathProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a path';
  if (value === '') return 'is empty: give a path';
  if (value.includes('\0')) return 'contains a NUL character';
  if (!isAbsolute(value)) return 'must be an absolute path';
  return undefined;
}

/** A DNS name (RFC 1123 §2.1; `_` tolerated, as in many local names), at most 253 characters. */
function dnsNameProblem(name: string): string | undefined {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return 'is not a host name';
  if (/^[\d.]+$/.test(bare)) return 'is not a valid IPv4 address (four numbers from 0 to 255)';
  for (const label of bare.split('.')) {
    if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label)) {
      return 'is not a host name (letters, digits and "-" between dots, e.g. mysite.test)';
    }
  }
  return undefined;
}

/** The address to bind: an IPv4 or IPv6 address (no brackets), `localhost` or a host name. */
export function bindHostProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be an address such as 127.0.0.1 or 0.0.0.0';
  if (value === '') return 'is empty: give an address such as 127.0.0.1 or 0.0.0.0';
  if (/^\[.*\]$/.test(value)) return 'write an IPv6 address without brackets (e.g. ::1)';
  if (isIP(value) !== 0) return undefined;
  if (/[\s/:@]/.test(value)) return 'is not an address (e.g. 127.0.0.1, 0.0.0.0, ::1 or one interface address)';
  // dnsNameProblem's example (mysite.test) is a name for the Host allow-list: as an address to bind
  // it only fails later (ENOTFOUND). Point at what --host takes instead.
  const problem = dnsNameProblem(value);
  if (problem?.startsWith('is not a host name (')) return 'is not a host name or an address (e.g. 127.0.0.1, 0.0.0.0, ::1 or one interface address)';
  return problem;
}

/**
 * A name for the `Host` allow-list: a host name, an IPv4 address or a bracketed IPv6 address, with
 * an optional `:port` (RFC 9110 §7.2); no scheme, path, user info or wildcard.
 */
export function allowedHostProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a host name';
  if (value === '') return 'is empty: give a host name such as mysite.test';
  if (/\s/.test(value)) return 'contains a space';
  if (value.includes('/')) return 'give the host name only, without scheme or path (e.g. mysite.test)';
  if (value.includes('@')) return 'give the host name only, without user info';
  if (value.includes('*')) return 'wildcards are not supported: list each name';
  const name = canonicalHostName(value);
  const port = /:(\d+)$/.exec(value)?.[1];
  if (name === '') return 'is not a host name, an IPv4 address or a bracketed IPv6 address (with an optional :port)';
  if (port !== undefined && !value.endsWith(']') && Number(port) > 65_535) return 'has a port above 65535';
  if (name.startsWith('[')) return isIP(name.slice(1, -1)) === 6 ? undefined : 'is not a valid IPv6 address';
  if (isIP(name) === 4) return undefined;
  return dnsNameProblem(name);
}

/** A list of strings whose entries `entry` checks: one problem per bad entry (value = the entry). */
function listProblems(option: OptionName, value: unknown, entry: (e: string) => string | undefined): OptionProblem[] {
  if (!Array.isArray(value)) return [{ option, value: showValue(value), reason: 'must be a list of strings' }];
  const problems: OptionProblem[] = [];
  for (const e of value as unknown[]) {
    const reason = typeof e === 'string' ? entry(e) : 'is not a string';
    if (reason !== undefined) problems.push({ option, value: showValue(e), reason });
  }
  return problems;
}

/** Why `value` is not a ConsoleForward (`off`, `errors`, `all`), or undefined. */
export function consoleForwardProblem(value: unknown): string | undefined {
  return typeof value === 'string' && (CONSOLE_FORWARD_MODES as readonly string[]).includes(value) ? undefined : 'must be "off", "errors" or "all"';
}

// ---- the whole input --------------------------------------------------------------------------

/** ServerOptionsInput with every value not yet checked (numbers may still be decimal text). */
export type RawServerOptions = { readonly [K in keyof ServerOptionsInput]?: unknown };

const KNOWN = new Set<string>([
  'root', 'port', 'host', 'portAttempts', 'listing', 'dotfiles', 'followSymlinks', 'logFile', 'resolveHostNames',
  'timeouts', 'maxConnections', 'maxBodyBytes', 'allowedHosts', 'allowedClients', 'tls', 'reload', 'crossSiteLoads', 'limits', 'proxy',
  'headers', 'crossOriginIsolation', 'compression', 'cors', 'spa', 'configFile', 'consoleForward', 'fallback', 'mounts', 'cleanUrls',
]);
const CORS_KEYS = ['enabled', 'origins'] as const;
const TIMEOUT_KEYS = ['headersMs', 'idleMs', 'writeStallMs', 'closeGraceMs', 'bodyMs'] as const;
/** The transfer limits (options.ts TransferLimits): each a whole number of at least 1. */
const LIMIT_KEYS = [
  'maxQueuedBytes', 'maxQueuedTotalBytes', 'maxBuiltBytes', 'minSendBytesPerSec', 'minReceiveBytesPerSec', 'rateWindowMs', 'maxEventStreamsPerClient',
] as const;
const RELOAD_KEYS = ['enabled', 'ignore', 'debounceMs', 'watch', 'watchPaths'] as const;
const PROXY_KEYS = ['routes', 'rewriteHost', 'connectTimeoutMs', 'responseTimeoutMs', 'maxBodyBytes'] as const;

/**
 * The proxy routes (options.ts ProxyRoute, proxy-routes.ts compileRoute): a list of
 * `{prefix, target}`, each a usable route, no prefix twice. One problem per bad route.
 */
function proxyRouteProblems(value: unknown): OptionProblem[] {
  if (!Array.isArray(value)) return [{ option: 'proxy.routes', value: showValue(value), reason: 'must be a list of {prefix, target} routes' }];
  const problems: OptionProblem[] = [];
  const seen = new Set<string>();
  for (const e of value as unknown[]) {
    const r = e as { prefix?: unknown; target?: unknown } | null;
    if (typeof r !== 'object' || r === null || typeof r.prefix !== 'string' || typeof r.target !== 'string') {
      problems.push({ option: 'proxy.routes', value: showValue(e), reason: 'is not a route: give {prefix, target} strings, e.g. {"prefix": "/api", "target": "http://127.0.0.1:3000"}' });
      continue;
    }
    const compiled = compileRoute({ prefix: r.prefix, target: r.target });
    if (typeof compiled === 'string') problems.push({ option: 'proxy.routes', value: showValue(`${r.prefix}=${r.target}`), reason: escapeForDisplay(compiled) });
    else if (seen.has(compiled.prefix)) problems.push({ option: 'proxy.routes', value: showValue(`${r.prefix}=${r.target}`), reason: `prefix "${escapeForDisplay(compiled.prefix)}" is given twice` });
    else seen.add(compiled.prefix);
  }
  return problems;
}

/**
 * The mounts (options.ts Mount, files/mounts.ts): a list of `{prefix, folder}`, each prefix a
 * usable URL path (mountPrefixSegments) given once and not under a proxied route, each folder an
 * absolute path. One problem per bad mount. Whether the folder exists is the start's to say.
 */
function mountProblems(value: unknown, proxy: unknown): OptionProblem[] {
  if (!Array.isArray(value)) return [{ option: 'mounts', value: showValue(value), reason: 'must be a list of {prefix, folder} mounts' }];
  const routes = (proxy as { routes?: unknown } | null | undefined)?.routes;
  const proxyPrefixes = Array.isArray(routes)
    ? (routes as unknown[]).flatMap((r) => (typeof r === 'object' && r !== null && typeof (r as { prefix?: unknown }).prefix === 'string' ? [(r as { prefix: string }).prefix] : []))
    : [];
  const problems: OptionProblem[] = [];
  const seen = new Set<string>();
  for (const e of value as unknown[]) {
    const m = e as { prefix?: unknown; folder?: unknown } | null;
    if (typeof m !== 'object' || m === null || typeof m.prefix !== 'string' || typeof m.folder !== 'string') {
      problems.push({ option: 'mounts', value: showValue(e), reason: 'is not a mount: give {prefix, folder} strings, e.g. {"prefix": "/vendor", "folder": "/abs/node_modules/x"}' });
      continue;
    }
    const shown = showValue(`${m.prefix}=${m.folder}`);
    const segments = mountPrefixSegments(m.prefix);
    if (typeof segments === 'string') {
      problems.push({ option: 'mounts', value: shown, reason: escapeForDisplay(segments) });
      continue;
    }
    const prefix = normalMountPrefix(m.prefix);
    const clash = mountProxyClash(segments, proxyPrefixes);
    if (clash !== undefined) problems.push({ option: 'mounts', value: shown, reason: `prefix "${escapeForDisplay(prefix)}" ${escapeForDisplay(clash)}` });
    else if (seen.has(segments.join('/'))) problems.push({ option: 'mounts', value: shown, reason: `prefix "${escapeForDisplay(prefix)}" is given twice` });
    seen.add(segments.join('/'));
    const folder = absolutePathProblem(m.folder);
    if (folder !== undefined) problems.push({ option: 'mounts', value: shown, reason: `folder ${folder}` });
  }
  return problems;
}

/**
 * Every problem of `raw` (empty when valid). Absent (undefined) options take their defaults later;
 * `root` is required. Unknown option names are problems too (a misspelt option is not ignored).
 */
export function checkServerOptions(raw: RawServerOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const add = (option: OptionName, value: unknown, reason: string | undefined): void => {
    if (reason !== undefined) problems.push({ option, value: showValue(value), reason });
  };
  const given = (value: unknown): boolean => value !== undefined;
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) problems.push({ option: key as OptionName, value: showValue((raw as Record<string, unknown>)[key]), reason: 'is not an option' });
  }
  add('root', raw.root, absolutePathProblem(raw.root));
  // null (DERIVED_PORT): the root's own port, derived from its path.
  if (given(raw.port) && raw.port !== null) add('port', raw.port, wholeNumberProblem(raw.port, OPTION_BOUNDS.port.min, OPTION_BOUNDS.port.max));
  if (given(raw.host)) add('host', raw.host, bindHostProblem(raw.host));
  if (given(raw.portAttempts)) add('portAttempts', raw.portAttempts, wholeNumberProblem(raw.portAttempts, OPTION_BOUNDS.portAttempts.min, OPTION_BOUNDS.portAttempts.max));
  if (given(raw.limits)) {
    const l = raw.limits as Record<string, unknown> | null;
    if (typeof l !== 'object' || l === null) add('limits', l, 'limits must be an object of whole numbers');
    else {
      for (const key of Object.keys(l)) {
        if (!(LIMIT_KEYS as readonly string[]).includes(key)) add(`limits.${key}`, l[key], 'is not an option');
        else if (key === 'rateWindowMs' && given(l[key])) {
          // A timer's interval: bounded as the timeouts are (past 2^31 - 1 ms Node fires it every millisecond).
          const { min, max } = OPTION_BOUNDS.timeout;
          add(`limits.${key}`, l[key], wholeNumberProblem(l[key], min, max) === undefined ? undefined : `must be whole milliseconds from ${min} to ${max} (${max / 1000} s)`);
        } else if (given(l[key])) add(`limits.${key}`, l[key], wholeNumberProblem(l[key], 1, Number.MAX_SAFE_INTEGER));
      }
    }
  }
  for (const key of ['listing', 'dotfiles', 'followSymlinks', 'resolveHostNames', 'crossSiteLoads', 'crossOriginIsolation', 'compression', 'configFile', 'cleanUrls'] as const) {
    if (given(raw[key])) add(key, raw[key], booleanProblem(raw[key]));
  }
  if (given(raw.logFile)) add('logFile', raw.logFile, absolutePathProblem(raw.logFile));
  if (given(raw.maxConnections)) add('maxConnections', raw.maxConnections, wholeNumberProblem(raw.maxConnections, OPTION_BOUNDS.maxConnections.min, OPTION_BOUNDS.maxConnections.max));
  if (given(raw.maxBodyBytes)) add('maxBodyBytes', raw.maxBodyBytes, wholeNumberProblem(raw.maxBodyBytes, OPTION_BOUNDS.maxBodyBytes.min, OPTION_BOUNDS.maxBodyBytes.max));
  if (given(raw.allowedHosts)) problems.push(...listProblems('allowedHosts', raw.allowedHosts, allowedHostProblem));
  if (given(raw.allowedClients)) problems.push(...listProblems('allowedClients', raw.allowedClients, cidrProblem));
  if (given(raw.tls)) {
    const tls = raw.tls as { cert?: unknown; key?: unknown; privateFiles?: unknown } | null;
    const pem = (v: unknown): boolean => (typeof v === 'string' || Buffer.isBuffer(v)) && v.length > 0;
    if (typeof tls !== 'object' || tls === null || !pem(tls.cert) || !pem(tls.key)) {
      problems.push({ option: 'tls', value: showValue(typeof tls === 'object' && tls !== null ? '{cert, key}' : tls), reason: 'needs a PEM certificate and its PEM private key' });
    } else if (tls.privateFiles !== undefined && !(Array.isArray(tls.privateFiles) && tls.privateFiles.every((p) => absolutePathProblem(p) === undefined))) {
      problems.push({ option: 'tls', value: showValue('{privateFiles}'), reason: 'privateFiles must be a list of absolute paths' });
    }
  }
  if (given(raw.timeouts)) {
    const t = raw.timeouts as Record<string, unknown> | null;
    if (typeof t !== 'object' || t === null) add('timeouts.idleMs', t, 'timeouts must be an object of milliseconds');
    else {
      for (const key of Object.keys(t)) if (!(TIMEOUT_KEYS as readonly string[]).includes(key)) add(`timeouts.${key}` as OptionName, t[key], 'is not an option');
      for (const key of TIMEOUT_KEYS) {
        if (!given(t[key])) continue;
        const bounds = key === 'closeGraceMs' ? OPTION_BOUNDS.closeGraceMs : OPTION_BOUNDS.timeout;
        const reason = wholeNumberProblem(t[key], bounds.min, bounds.max);
        add(`timeouts.${key}`, t[key], reason === undefined ? undefined : `must be whole milliseconds from ${bounds.min} to ${bounds.max} (${bounds.max / 1000} s)`);
      }
    }
  }
  if (given(raw.reload)) {
    const r = raw.reload as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null) add('reload.enabled', r, 'reload must be an object');
    else {
      for (const key of Object.keys(r)) if (!(RELOAD_KEYS as readonly string[]).includes(key)) add(`reload.${key}` as OptionName, r[key], 'is not an option');
      if (given(r.enabled)) add('reload.enabled', r.enabled, booleanProblem(r.enabled));
      if (given(r.watch)) add('reload.watch', r.watch, booleanProblem(r.watch));
      if (given(r.ignore)) problems.push(...listProblems('reload.ignore', r.ignore, globProblem));
      if (given(r.debounceMs)) add('reload.debounceMs', r.debounceMs, wholeNumberProblem(r.debounceMs, OPTION_BOUNDS.debounceMs.min, OPTION_BOUNDS.debounceMs.max));
      if (given(r.watchPaths)) problems.push(...listProblems('reload.watchPaths', r.watchPaths, (e) => absolutePathProblem(e)));
    }
  }
  if (given(raw.proxy)) {
    const p = raw.proxy as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null) add('proxy', p, 'proxy must be an object');
    else {
      for (const key of Object.keys(p)) if (!(PROXY_KEYS as readonly string[]).includes(key)) add(`proxy.${key}` as OptionName, p[key], 'is not an option');
      if (given(p.routes)) problems.push(...proxyRouteProblems(p.routes));
      if (given(p.rewriteHost)) add('proxy.rewriteHost', p.rewriteHost, booleanProblem(p.rewriteHost));
      for (const key of ['connectTimeoutMs', 'responseTimeoutMs'] as const) {
        if (!given(p[key])) continue;
        const { min, max } = OPTION_BOUNDS.timeout;
        add(`proxy.${key}`, p[key], wholeNumberProblem(p[key], min, max) === undefined ? undefined : `must be whole milliseconds from ${min} to ${max} (${max / 1000} s)`);
      }
      if (given(p.maxBodyBytes)) add('proxy.maxBodyBytes', p.maxBodyBytes, wholeNumberProblem(p.maxBodyBytes, OPTION_BOUNDS.proxyMaxBodyBytes.min, OPTION_BOUNDS.proxyMaxBodyBytes.max));
    }
  }
  if (given(raw.headers)) problems.push(...headerRuleProblems(raw.headers));
  if (given(raw.cors)) {
    const c = raw.cors as Record<string, unknown> | null;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) add('cors.enabled', c, 'cors must be an object ({ enabled, origins })');
    else {
      for (const key of Object.keys(c)) if (!(CORS_KEYS as readonly string[]).includes(key)) add(`cors.${key}` as OptionName, c[key], 'is not an option');
      if (given(c.enabled)) add('cors.enabled', c.enabled, booleanProblem(c.enabled));
      if (given(c.origins)) problems.push(...listProblems('cors.origins', c.origins, originProblem));
    }
  }
  if (given(raw.spa)) add('spa', raw.spa, typeof raw.spa === 'string' ? spaFileProblem(raw.spa) : 'must be a root-relative file such as index.html');
  if (given(raw.mounts)) problems.push(...mountProblems(raw.mounts, raw.proxy));
  if (given(raw.consoleForward)) add('consoleForward', raw.consoleForward, consoleForwardProblem(raw.consoleForward));
  if (given(raw.fallback)) {
    const f = raw.fallback as Record<string, unknown> | null;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) add('fallback', f, 'must be an object of options');
    // The fallback layer is checked by the same rules (its root, when given, too).
    else problems.push(...checkServerOptions({ root: raw.root, ...f, fallback: undefined }).filter((p) => p.option !== 'root' || f.root !== undefined));
  }
  return problems;
}

/**
 * A CORS origin (WHATWG URL origin, RFC 6454 §6.1): `scheme://host[:port]` with http or https,
 * nothing after the authority, e.g. `https://app.example:8443`. A user name or password is refused:
 * an origin has none, and a browser's `Origin` never carries one. Spellings a browser writes
 * otherwise (`http://localhost:80`, `http://127.1:5173`, `http://café.test`) are taken: the policy
 * compares their serialization (serializedOrigin).
 */
export function originProblem(value: string): string | undefined {
  const reason = 'is not an origin: write scheme://host[:port], e.g. https://app.example:8443';
  if (!/^https?:\/\/[^/?#\s]+$/i.test(value)) return reason;
  if (!URL.canParse(value)) return reason;
  const url = new URL(value);
  if (url.username !== '' || url.password !== '') return 'is not an origin: it has a user name (before @), which an origin never has; write scheme://host[:port]';
  return undefined;
}

/**
 * The ASCII serialization of the origin `value` (originProblem passed), as a browser writes it in
 * `Origin` (WHATWG HTML §7.1.1, "serialization of an origin"; RFC 6454 §6.2): scheme and host lower
 * case, the host IDNA-encoded and IP literals in their one spelling (`127.1` → `127.0.0.1`,
 * `[0:0::1]` → `[::1]`), the scheme's default port left out (`http://localhost:80` →
 * `http://localhost`). A configured origin is compared by it: as typed, `http://localhost:80`
 * never matched the `http://localhost` every browser sends.
 */
export function serializedOrigin(value: string): string {
  return URL.canParse(value) ? new URL(value).origin : value.toLowerCase();
}

/** `headers`: a list of `{ source: glob, headers: { name: value } }`, each field by RFC 9110's grammar. */
function headerRuleProblems(value: unknown): OptionProblem[] {
  if (!Array.isArray(value)) return [{ option: 'headers', value: showValue(value), reason: 'must be a list of { source, headers } rules' }];
  const problems: OptionProblem[] = [];
  for (const rule of value as unknown[]) {
    const r = rule as { source?: unknown; headers?: unknown } | null;
    if (typeof r !== 'object' || r === null || typeof r.source !== 'string' || typeof r.headers !== 'object' || r.headers === null || Array.isArray(r.headers)) {
      problems.push({ option: 'headers', value: showValue(rule), reason: 'each rule must be { source: "<glob>", headers: { "Name": "value" } }' });
      continue;
    }
    const glob = globProblem(r.source);
    if (glob !== undefined) problems.push({ option: 'headers', value: showValue(r.source), reason: `source ${glob}` });
    for (const [name, v] of Object.entries(r.headers as Record<string, unknown>)) {
      const reason = typeof v === 'string' ? headerFieldProblem(name, v) : 'header value must be a string';
      if (reason !== undefined) problems.push({ option: 'headers', value: showValue(`${name}: ${String(v)}`), reason });
    }
  }
  return problems;
}

/**
 * `raw` checked and typed: numbers given as decimal text become numbers. Throws an
 * InvalidOptionsError naming every invalid option, its value and the reason.
 */
export function validateServerOptions(raw: RawServerOptions): ServerOptionsInput {
  const problems = checkServerOptions(raw);
  if (problems.length > 0) throw new InvalidOptionsError(problems);
  const num = (v: unknown): number | undefined => (v === undefined ? undefined : toWholeNumber(v));
  const t = raw.timeouts as Record<string, unknown> | undefined;
  const r = raw.reload as Record<string, unknown> | undefined;
  const p = raw.proxy as Record<string, unknown> | undefined;
  // Absent options are left out (not set to undefined), so resolveServerOptions fills their defaults.
  const input: Record<string, unknown> = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  if (raw.port === null) input.port = null;
  for (const key of ['port', 'portAttempts', 'maxConnections', 'maxBodyBytes'] as const) if (raw[key] !== undefined && raw[key] !== null) input[key] = num(raw[key]);
  if (t !== undefined) input.timeouts = Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined).map(([k, v]) => [k, num(v)]));
  if (r !== undefined) input.reload = { ...r, ...(r.debounceMs !== undefined ? { debounceMs: num(r.debounceMs) } : {}) };
  if (p !== undefined) {
    input.proxy = Object.fromEntries(
      Object.entries(p)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, k === 'routes' || k === 'rewriteHost' ? v : num(v)]),
    );
  }
  return input as ServerOptionsInput;
}
