/**
 * Server options and their defaults: the single place the defaults live. The CLI flags, the
 * extension's settings (package.json `contributes.configuration`) and the tests all read these;
 * a test checks that package.json agrees.
 * It also holds the few shapes every room of the core shares (a bound address, the options a running
 * server takes without rebinding, a diagnostic's level, the reserved URL prefix); it imports nothing.
 */

/** URL paths under this prefix are Porthole's own endpoints (live reload), never files. */
export const RESERVED_PREFIX = '/__porthole/';
/**
 * The query parameter that marks a page opened in the editor's preview (Simple Browser or the
 * integrated browser): the page lives in an iframe of a webview there, and this parameter lets
 * live reload inject that one document (`Sec-Fetch-Dest: iframe`) without injecting into the
 * page's own iframes. Its value does not matter (`?__porthole_preview=1`).
 */
export const PREVIEW_QUERY_PARAMETER = '__porthole_preview';

export interface Timeouts {
  /** A request head must arrive completely within this (408 and close). */
  readonly headersMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly idleMs: number;
  /** A write that makes no progress for this long destroys the socket. */
  readonly writeStallMs: number;
  /** On close(), sockets still busy after this are destroyed. */
  readonly closeGraceMs: number;
  /** A whole request body must arrive within this, counted from the end of its head (408 and close). */
  readonly bodyMs: number;
}

/**
 * What one client may cost the server, beyond the protocol limits of http/limits.ts. Every value is
 * a positive number; tests pass small ones. README's "Limits" table lists each with its answer.
 */
export interface TransferLimits {
  /**
   * Response bytes a connection may have queued in memory (socket.writableLength, above what the
   * kernel took): the next pipelined request is not read or parsed until the queue drains below it.
   */
  readonly maxQueuedBytes: number;
  /**
   * Response bytes queued in memory summed over every connection: past it, a connection whose
   * own queue is not empty reads and parses nothing more until it drains (many connections that
   * each stay under maxQueuedBytes cannot add up without bound). Fast readers are not held back.
   */
  readonly maxQueuedTotalBytes: number;
  /**
   * Response bodies built in memory (rewritten pages, overlays, listings), summed over every
   * connection until the kernel took them: beyond it a new one is answered 503 with Retry-After.
   */
  readonly maxBuiltBytes: number;
  /**
   * Slowest reader, in bytes per second over the last two `rateWindowMs`: a connection whose
   * queued response drains slower than this is closed (RFC 9112 §9.5 lets a server close idle or slow
   * connections).
   */
  readonly minSendBytesPerSec: number;
  /** Slowest request body, in bytes per second over each `rateWindowMs`: slower → 408 and close. */
  readonly minReceiveBytesPerSec: number;
  /** The window both minimum rates are measured over, in ms. */
  readonly rateWindowMs: number;
  /** Live-reload event streams one client address may hold open at once; beyond → 503. */
  readonly maxEventStreamsPerClient: number;
}

export interface TlsOptions {
  /** PEM certificate chain. */
  readonly cert: string | Buffer;
  /** PEM private key. */
  readonly key: string | Buffer;
  /**
   * Absolute paths of the files the key and its passphrase were read from (`--key`,
   * `--passphrase-file`, porthole.https.key, a self-signed key.pem): never served to any client
   * (404, by identity and real path, links included), wherever they lie. `mkcert` writes its key
   * into the folder it runs in, often the one served.
   */
  readonly privateFiles?: readonly string[];
}

export interface ReloadOptions {
  /** Inject the live-reload client into HTML pages and watch the root. */
  readonly enabled: boolean;
  /** Glob patterns (relative to the root) whose changes never trigger a reload. */
  readonly ignore: readonly string[];
  /** Changes within this many ms after a reload was sent are coalesced into one more (shared by every client). */
  readonly debounceMs: number;
  /** Watch the root with fs.watch; off when the host reports changes itself (the extension). */
  readonly watch: boolean;
  /**
   * Absolute folders (or single files) outside the root whose changes reload pages too (a
   * back-end's templates, `--watch`); watched whenever reload is enabled, also in the extension.
   * A file is followed across atomic saves and a delete and re-create (live-reload-watcher).
   */
  readonly watchPaths: readonly string[];
}

/** One proxied route: requests whose path is `prefix` or under it go to `target`. */
export interface ProxyRoute {
  /** A URL path starting with `/` (`/` alone proxies everything but Porthole's own endpoints). */
  readonly prefix: string;
  /** The back-end's origin, `http://host:port` or `https://…` (the path is sent unchanged). */
  readonly target: string;
}

export interface ProxyOptions {
  /** Longest prefix wins. Empty: no proxy. */
  readonly routes: readonly ProxyRoute[];
  /** Send the target's authority as `Host` (true) or keep the client's (false). */
  readonly rewriteHost: boolean;
  /** No TCP connection to the back-end within this → 504. */
  readonly connectTimeoutMs: number;
  /** No response head from the back-end within this after the request → 504. */
  readonly responseTimeoutMs: number;
  /** Request bodies streamed to the back-end beyond this get 413 (static routes: maxBodyBytes). */
  readonly maxBodyBytes: number;
}

/** A folder served under a URL prefix besides the root (`--mount /vendor=./node_modules/x`). */
export interface Mount {
  /** A URL path below `/` (`/vendor`); the longest matching prefix wins. */
  readonly prefix: string;
  /** The folder: absolute in ServerOptions (callers resolve relative ones against their base). */
  readonly folder: string;
}

export interface ServerOptions {
  /** Absolute path of the document root. */
  readonly root: string;
  /**
   * The TCP port. DERIVED_PORT (null): a port of the root's own, derived from its real path
   * (derivePort: stable across restarts, distinct per folder, so folders never share an origin);
   * 0 = any free port.
   */
  readonly port: number | typeof DERIVED_PORT;
  readonly host: string;
  /** When the port is busy, try the next ones (this many ports in all, the requested one included). */
  readonly portAttempts: number;
  /** HTML listing for folders without index.html/index.htm; 404 when off. */
  readonly listing: boolean;
  /** Serve path segments starting with `.`, `.env` included (`.git` never; a warning when shared on the network). */
  readonly dotfiles: boolean;
  /** Serve symlinks whose target is outside the root. */
  readonly followSymlinks: boolean;
  /** Combined Log Format file (plus duration and host name); undefined = no file. */
  readonly logFile: string | undefined;
  /** Reverse-DNS the client IP for the log (cached, bounded, never delays a response). */
  readonly resolveHostNames: boolean;
  readonly timeouts: Timeouts;
  /**
   * Connections (HTTPS ones still in their handshake included) beyond this are closed at once;
   * undefined = derived from the process's descriptor limit (see `connectionCapFor`).
   */
  readonly maxConnections: number | undefined;
  /** Queued output, in-memory bodies, minimum transfer rates, event streams per client. */
  readonly limits: TransferLimits;
  /**
   * Answer cross-site subresource loads (`Sec-Fetch-Site: cross-site` on a script, image, fetch…)
   * instead of refusing them with 403. Off by default: any web site could otherwise run or probe
   * the served files. Navigations (pages, iframes) are always answered.
   */
  readonly crossSiteLoads: boolean;
  /** Request bodies (always discarded) beyond this get 413. */
  readonly maxBodyBytes: number;
  /** Extra `Host` names accepted besides loopback names (and LAN addresses when shared). */
  readonly allowedHosts: readonly string[];
  /** CIDR list; empty = every client. Others get 403 before any file is touched. */
  readonly allowedClients: readonly string[];
  readonly tls: TlsOptions | undefined;
  readonly reload: ReloadOptions;
  /** Response headers added per path glob (`--header`: every path); names and values are checked. */
  readonly headers: readonly HeaderRule[];
  /**
   * Sends `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`
   * with every answer, so pages are cross-origin isolated (`crossOriginIsolated`, SharedArrayBuffer).
   */
  readonly crossOriginIsolation: boolean;
  /**
   * Content codings chosen by Accept-Encoding (files/content-coding.ts): a `.br`/`.gz` file beside
   * the one asked for, else text of 1 KiB–1 MiB compressed on the fly (brotli or gzip, kept per
   * version). Off: files go out as their bytes on disk.
   */
  readonly compression: boolean;
  readonly cors: CorsOptions;
  /**
   * Single-page app fallback: the root-relative file (e.g. `index.html`) a navigation to a missing
   * path is answered with (200); undefined = off (404 as for any missing file).
   */
  readonly spa: string | undefined;
  /** Read `porthole.config.json` from the root (and follow its changes); false: ignore the file. */
  readonly configFile: boolean;
  readonly proxy: ProxyOptions;
  /**
   * More folders served under URL prefixes, every rule of the root applying inside each (hidden
   * names, containment per mount folder, listings, index files, live reload). Empty: none.
   */
  readonly mounts: readonly Mount[];
  /**
   * Clean URLs: `/about` serves `about.html` when nothing named `about` exists, and a GET/HEAD
   * for `/about.html` is redirected (301) to `/about`.
   */
  readonly cleanUrls: boolean;
  /**
   * What live-reloaded pages send back of their console (see ConsoleForward): their messages
   * appear in the Output channel, the Requests view and the CLI's output. Taken live.
   */
  readonly consoleForward: ConsoleForward;
}

/**
 * Console forwarding: `off` (the client does not touch `console` at all), `errors`
 * (`console.error`, uncaught errors and unhandled promise rejections — what DevTools' "Errors"
 * level shows) or `all` (also `console.warn`, `console.info`, `console.log` and `console.debug`).
 */
export type ConsoleForward = 'off' | 'errors' | 'all';
/** Every ConsoleForward value, in the order the help text lists them. */
export const CONSOLE_FORWARD_MODES: readonly ConsoleForward[] = ['off', 'errors', 'all'];

/** Headers sent with every answer for a path matching `source` (a glob relative to the root). */
export interface HeaderRule {
  /** Glob (`**\/*.wasm`, `assets/**`); `**` = every path. */
  readonly source: string;
  /** Field name → value, both checked against RFC 9110's grammar before the server starts. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Cross-Origin Resource Sharing (Fetch standard §3.2). Off by default: a preview server that lets
 * every origin read its answers lets any web page the user visits read the served folder.
 */
export interface CorsOptions {
  readonly enabled: boolean;
  /** Origins allowed (`https://app.example:8443`); empty = any origin (`*`, never with credentials). */
  readonly origins: readonly string[];
}

/** The configuration file looked for at the root of the served folder. */
export const CONFIG_FILE_NAME = 'porthole.config.json';

/** `port: DERIVED_PORT` asks for the root's own port (derivePort). */
export const DERIVED_PORT = null;

/**
 * Derived ports lie in [first, first + count): above the privileged ports, in the range people
 * expect a preview on, and clear of the ephemeral ports the OS hands out (32768 and up).
 */
export const DERIVED_PORT_RANGE = { first: 8000, count: 1000 } as const;

/** Each folder its own port by default (two folders never share an origin's storage). */
export const DEFAULT_PORT: number | typeof DERIVED_PORT = DERIVED_PORT;
export const DEFAULT_HOST = '127.0.0.1';

export const DEFAULT_TIMEOUTS: Timeouts = {
  headersMs: 10_000,
  idleMs: 5_000,
  writeStallMs: 30_000,
  closeGraceMs: 2_000,
  bodyMs: 30_000,
};

export const DEFAULT_LIMITS: TransferLimits = {
  maxQueuedBytes: 1024 * 1024,
  maxQueuedTotalBytes: 64 * 1024 * 1024,
  maxBuiltBytes: 64 * 1024 * 1024,
  minSendBytesPerSec: 1024,
  minReceiveBytesPerSec: 1024,
  rateWindowMs: 20_000,
  maxEventStreamsPerClient: 32,
};

/** The connection cap never goes above this, however many descriptors the process may open. */
export const MAX_CONNECTIONS_CEILING = 20_000;
/** Descriptors kept back for everything that is not a client socket (log, watcher, Node itself). */
export const RESERVED_DESCRIPTORS = 64;
/** The descriptor limit assumed where it cannot be read (no /proc). */
export const FALLBACK_DESCRIPTOR_LIMIT = 1024;

/**
 * The default connection cap for a process allowed `descriptorLimit` open descriptors (the soft
 * RLIMIT_NOFILE): each connection may hold its socket and one open file, after RESERVED_DESCRIPTORS
 * for the rest; at least 16, at most MAX_CONNECTIONS_CEILING. E.g. 1024 → 480, 300 → 118.
 */
export function connectionCapFor(descriptorLimit: number): number {
  const limit = Number.isFinite(descriptorLimit) && descriptorLimit > 0 ? descriptorLimit : FALLBACK_DESCRIPTOR_LIMIT;
  return Math.min(MAX_CONNECTIONS_CEILING, connectionsHeldBy(limit));
}

/**
 * Connections kept for this machine's own clients (loopback) out of a cap of `cap`: clients on
 * the network may together hold at most `cap` minus these, so a device on the LAN opening
 * connections until the cap is reached cannot lock the user out of their own preview. An eighth.
 */
export function loopbackReserveFor(cap: number): number {
  return Math.floor(cap / 8);
}

/**
 * Connections devices not in allowedClients may hold together out of a cap of `cap` (each is
 * answered 403 and closed): an eighth, at least 1. They come out of the network's share, so a
 * device refused by the list, however many addresses it uses, leaves the allowed devices the
 * rest of it (helper-148: 550 refused connections from five IPv6 addresses held every place).
 */
export function refusedConnectionsFor(cap: number): number {
  return Math.max(1, Math.floor(cap / 8));
}

/**
 * Connections one client address on the network may hold at once, out of a cap of `cap`: a
 * quarter, and at least 16 (a browser's six per host, its live-reload sockets and a second tab)
 * when the cap leaves that much beside the loopback reserve. Loopback clients are not counted
 * per address: they are the user at this machine.
 */
export function perClientConnectionsFor(cap: number): number {
  const network = cap - loopbackReserveFor(cap);
  return Math.max(Math.min(network, 16), Math.floor(cap / 4));
}

/**
 * The most connections `descriptorLimit` descriptors can hold, each with its socket and one open
 * file, after RESERVED_DESCRIPTORS; at least 16. A cap given above it is lowered to it.
 */
export function connectionsHeldBy(descriptorLimit: number): number {
  return Math.max(16, Math.floor((descriptorLimit - RESERVED_DESCRIPTORS) / 2));
}

export const DEFAULT_RELOAD: ReloadOptions = {
  enabled: true,
  // At any depth: a monorepo's packages/app/node_modules, a clone's vendor/x/.git.
  ignore: ['**/.git/**', '**/node_modules/**', '.vscode/**'],
  debounceMs: 100,
  watch: true,
  watchPaths: [],
};

export const DEFAULT_PROXY: ProxyOptions = {
  routes: [],
  rewriteHost: false,
  connectTimeoutMs: 5_000,
  responseTimeoutMs: 30_000,
  // Uploads to a back-end are the point of proxying them; still bounded (a runaway client).
  maxBodyBytes: 100 * 1024 * 1024,
};

export const DEFAULT_CORS: CorsOptions = { enabled: false, origins: [] };

/** The defaults, minus the root (which has none). */
export const DEFAULT_OPTIONS: Omit<ServerOptions, 'root'> = {
  port: DEFAULT_PORT,
  host: DEFAULT_HOST,
  portAttempts: 10,
  listing: true,
  dotfiles: false,
  followSymlinks: false,
  logFile: undefined,
  resolveHostNames: true,
  timeouts: DEFAULT_TIMEOUTS,
  maxConnections: undefined,
  limits: DEFAULT_LIMITS,
  crossSiteLoads: false,
  maxBodyBytes: 1024 * 1024,
  allowedHosts: [],
  allowedClients: [],
  tls: undefined,
  reload: DEFAULT_RELOAD,
  headers: [],
  crossOriginIsolation: false,
  compression: true,
  cors: DEFAULT_CORS,
  spa: undefined,
  configFile: true,
  proxy: DEFAULT_PROXY,
  mounts: [],
  cleanUrls: false,
  consoleForward: 'errors',
};

/** The SPA fallback file when `--spa` / `spa: true` names none. */
export const DEFAULT_SPA_FILE = 'index.html';

/** Options without a root: what a configuration file or a caller's overrides hold. */
export type OptionLayer = Partial<Omit<ServerOptions, 'root' | 'timeouts' | 'reload' | 'cors' | 'limits' | 'proxy'>> & {
  readonly root?: string;
  readonly timeouts?: Partial<Timeouts>;
  readonly limits?: Partial<TransferLimits>;
  readonly reload?: Partial<ReloadOptions>;
  readonly cors?: Partial<CorsOptions>;
  readonly proxy?: Partial<ProxyOptions>;
};

/**
 * What a caller gives the server: the root, its own options (they override the configuration
 * file), and `fallback`, options of its own that the file may override (the extension's log file).
 */
export type ServerOptionsInput = OptionLayer & {
  readonly root: string;
  readonly fallback?: OptionLayer;
};

/** `layer` without its `undefined` members (an absent key and `key: undefined` mean the same). */
function defined<T extends object>(layer: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (layer === undefined) return out;
  for (const [k, v] of Object.entries(layer)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * Lays option layers over each other, later ones winning key by key (nested `timeouts`, `limits`,
 * `reload`, `cors` and `proxy` key by key too; lists are replaced, except `headers`, whose rules add up, a later
 * layer's winning for the same header name). A key whose value is `undefined` does not override.
 * Used as: configuration file, then CLI flags or editor settings.
 */
export function layerOptions(...layers: readonly (OptionLayer | undefined)[]): OptionLayer {
  let out: OptionLayer = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    out = {
      ...out,
      ...defined(layer),
      timeouts: { ...out.timeouts, ...defined(layer.timeouts) },
      limits: { ...out.limits, ...defined(layer.limits) },
      reload: { ...out.reload, ...defined(layer.reload) },
      cors: { ...out.cors, ...defined(layer.cors) },
      proxy: { ...out.proxy, ...defined(layer.proxy) },
      headers: layer.headers === undefined ? out.headers : [...(out.headers ?? []), ...layer.headers],
    };
  }
  return out;
}

/** Fills in every default. */
export function resolveServerOptions(input: ServerOptionsInput): ServerOptions {
  const given = defined(input);
  return {
    ...DEFAULT_OPTIONS,
    ...given,
    root: input.root,
    timeouts: { ...DEFAULT_TIMEOUTS, ...defined(input.timeouts) },
    limits: { ...DEFAULT_LIMITS, ...defined(input.limits) },
    reload: { ...DEFAULT_RELOAD, ...defined(input.reload) },
    cors: { ...DEFAULT_CORS, ...defined(input.cors) },
    proxy: { ...DEFAULT_PROXY, ...defined(input.proxy) },
  };
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:8000/ (https when TLS is on) */
  readonly url: string;
  /** The port asked for (or derived), when a busy port made us take another one. */
  readonly requestedPort: number | undefined;
}

/** Options a running server takes without rebinding (see PreviewServer.reconfigure). */
export type ReconfigurableOptions = Partial<
  Pick<
    ServerOptions,
    | 'listing'
    | 'dotfiles'
    | 'followSymlinks'
    | 'allowedHosts'
    | 'allowedClients'
    | 'crossSiteLoads'
    | 'headers'
    | 'crossOriginIsolation'
    | 'compression'
    | 'cors'
    | 'spa'
    | 'cleanUrls'
    | 'consoleForward'
  >
>;

/** The options a running server takes live (PreviewServer.reconfigure); any other change rebinds. */
export const RECONFIGURABLE_KEYS = [
  'listing',
  'dotfiles',
  'followSymlinks',
  'allowedHosts',
  'allowedClients',
  'crossSiteLoads',
  'headers',
  'crossOriginIsolation',
  'compression',
  'cors',
  'spa',
  'cleanUrls',
  'consoleForward',
] as const satisfies readonly (keyof ReconfigurableOptions)[];

export type DiagnosticLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * What a running server did after its configuration file changed: applied the change live,
 * needs a restart (its binding, root, TLS, log or live-reload setup changed: the host restarts
 * it), or kept its settings because the file is now invalid (`message` names file, key, reason).
 */
export interface ConfigFileChange {
  readonly kind: 'applied' | 'restart' | 'invalid';
  readonly message: string;
}
