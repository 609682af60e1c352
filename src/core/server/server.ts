/**
 * PreviewServer: a static preview server on raw `net` (or `tls`) sockets.
 *
 * Lifecycle (a `kind`-tagged state, never booleans): idle → listening → closing → closed.
 * - `listen()` resolves with the bound address once listening; a busy port is followed by the next
 *   ones (portAttempts in all), and the address says which port was asked for. With no port given
 *   (DERIVED_PORT) the root gets its own, derived from its real path (derived-port.ts).
 * - `close()` stops accepting, lets in-flight responses finish (with `Connection: close`), ends idle
 *   keep-alive sockets at once, destroys what is left after the grace period, flushes the log, and
 *   resolves only when every socket is gone.
 * Events: `request` (RequestRecord, at once), `hostname` (ip, name), `diagnostic` (level, message),
 * `console` (a page's console message, ConsoleEntry), `config` (ConfigFileChange).
 *
 * Accepting: one `net` server for HTTP and HTTPS. `allowedClients` is applied to the raw TCP socket
 * as it is accepted (HTTP: a fixed 403, HTTPS: closed before any handshake). An HTTPS socket is
 * wrapped in a server-side TLSSocket here and tracked until its handshake completes: one that
 * closes, errors or has not finished within `timeouts.headersMs` is destroyed (a port scan or a
 * client that connects and leaves must not keep a descriptor). The connection cap counts sockets
 * in their handshake too and, unless given, derives from the descriptor limit. A client on the
 * network may hold a quarter of it, and all of them together the cap less an eighth kept for
 * loopback (countNetworkSocket).
 */
import { EventEmitter } from 'node:events';
import { access, stat, realpath } from 'node:fs/promises';
import { nodeCrypto } from '../node-crypto';
import { dirname, join } from 'node:path';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { constants as fsConstants, realpathSync } from 'node:fs';
import type * as TlsModule from 'node:tls';
import type { SecureContext, TLSSocket } from 'node:tls';
import { ClientFilter, HostPolicy, UNKNOWN_CLIENT, isLoopbackAddress, isOwnAddress, normaliseIp } from '../access/access-policy';
import { Connection, type ConnectionContext, type Exchange, type Peer } from '../http/connection';
import { timeoutAfterReads } from '../http/after-reads';
import { DEFAULT_PARSER_LIMITS, type ParserLimits } from '../http/limits';
import { TOKEN_CHARS } from '../http/http-grammar';
import {
  CONFIG_FILE_NAME,
  DERIVED_PORT,
  RECONFIGURABLE_KEYS,
  connectionCapFor,
  connectionsHeldBy,
  loopbackReserveFor,
  perClientConnectionsFor,
  refusedConnectionsFor,
  layerOptions,
  resolveServerOptions,
  type BoundAddress,
  type ConfigFileChange,
  type DiagnosticLevel,
  type OptionLayer,
  type ReconfigurableOptions,
  type ServerOptions,
  type ServerOptionsInput,
  type TransferLimits,
} from '../options';
import { ConfigFileError, checkHeaderRules, logOpenedOutside, logPlaceOutside, readConfigFile, spaFileProblem, watchConfigFile } from '../config/config-file';
import { ResponsePolicy } from './response-policy';
import { MemoryBudget } from '../http/memory-budget';
import { checkServerOptions, validateServerOptions, InvalidOptionsError } from '../config/validate-options';
import { LiveReload } from '../reload/live-reload';
import { urlFor, wildcardBind } from '../access/network-addresses';
import type { StaticOptions } from '../files/static-files';
import { answeredBeforeFiles, handleRequest, proxyRouteFor, refusesMethod, spaFallbackProblem, type HandlerContext } from './request-handler';
import { readDescriptorLimit } from './descriptor-limit';
import type { RequestHead } from '../http/http-parser';
import { ProxyConfigError, ReverseProxy } from '../proxy/reverse-proxy';
import { derivePort, derivedPortCandidates } from './derived-port';
import { FileSet, type FileIdentity } from '../files/loopback-only';
import { statOrNone } from '../files/file-cache';
import { mountPrefixSegments, mountProxyClash, normalMountPrefix, type MountedFolder } from '../files/mounts';
import { RequestLog, type LogPlaceRule } from '../log/request-log';
import type { RequestRecord } from '../http/request-record';
import type { ConsoleEntry } from '../reload/console-forward';
import { danglingLinkClause, danglingLinkOnPath, describeFsProblem, notAFolderOnPath } from '../text/fs-problem';

export interface PreviewServerEvents {
  request: [record: RequestRecord];
  hostname: [ip: string, name: string];
  diagnostic: [level: DiagnosticLevel, message: string];
  /** The configuration file changed (see ConfigFileChange). */
  config: [change: ConfigFileChange];
  /** A page's console message (consoleForward; sanitised and bounded by reload/console-forward). */
  console: [entry: ConsoleEntry];
}

type State =
  | { readonly kind: 'idle' }
  /**
   * listen() is under way (`started` settles with it); `stop`: a close() asked meanwhile, which
   * runs once the start has settled (a socket bound by then is closed, never left serving).
   */
  | { readonly kind: 'starting'; readonly started: Promise<BoundAddress>; stop?: Promise<void> }
  | { readonly kind: 'listening'; readonly server: Server; readonly address: BoundAddress }
  | { readonly kind: 'closing'; readonly done: Promise<void> }
  | { readonly kind: 'closed' };

/** An Error with a stable code and a message a user can act on. */
export class ServerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServerError';
  }
}

/** Plain words for the OS errors users meet when starting a server. */
export function describeListenError(code: string | undefined, host: string, port: number): string {
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} is in use on ${host}; stop the other server or choose another port`;
    case 'EACCES':
      return `no permission to listen on port ${port} (ports below 1024 need privileges); choose a port of 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its interface addresses`;
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return `the host name ${host} does not resolve to an address (${code}: no such name); use 127.0.0.1, 0.0.0.0 or one of this machine's interface addresses`;
    case 'EAI_AGAIN':
      return `the host name ${host} could not be looked up (EAI_AGAIN: no name server answered); use 127.0.0.1, 0.0.0.0 or one of this machine's interface addresses`;
    case 'EINVAL':
      return `cannot listen on ${host} (EINVAL: the system refuses that address for listening${host.toLowerCase().startsWith('fe80:') && !host.includes('%') ? '; an IPv6 link-local address needs its interface, e.g. fe80::1%eth0' : ''}); use 127.0.0.1, 0.0.0.0 or one of this machine's interface addresses`;
    default:
      return `cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port} (${code ?? 'unknown error'}); use 127.0.0.1, 0.0.0.0 or one of this machine's interface addresses, or choose another port`;
  }
}

/**
 * Why listening on `host` at `ports` (tried in order) failed, `code` being the last port's error:
 * describeListenError's words for the first port, and the range tried when every one was busy
 * (only a busy port moves on to the next: any other failure is the first port's).
 */
function listenFailure(code: string | undefined, host: string, ports: readonly number[]): ServerError {
  const first = ports[0] ?? 0;
  const tried = code === 'EADDRINUSE' && ports.length > 1 ? ` (tried ports ${first}–${ports[ports.length - 1] ?? first})` : '';
  return new ServerError(code ?? 'ELISTEN', describeListenError(code, host, first) + tried);
}

/**
 * node:tls, loaded by the first server with TLS options: a plain HTTP server (most starts) is
 * spared loading it, about 1 ms of the CLI's start-up.
 */
function loadTls(): typeof TlsModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('node:tls') as typeof TlsModule;
}

/** Connections closed at the cap are said at most once per this many ms (counted between). */
export const CAP_DROP_REPORT_MS = 10_000;
/** The caps a connection may be closed at once by (see PreviewServer.connectionDropped). */
type CapKind = 'cap' | 'client' | 'network' | 'refused';

/**
 * The answer to plain HTTP on an HTTPS port (nginx: "The plain HTTP request was sent to HTTPS
 * port"): a 400 in plain HTTP, since the client speaks no TLS.
 */
const PLAIN_HTTP_ON_TLS_PORT = 'This port speaks HTTPS: the request came as plain HTTP. Open the same address with https:// instead of http://.';

/** What several processes serving one site share (the CLI's --workers). */
export interface SharedInstance {
  /**
   * The live-reload instance id every process gives its pages and their connections (any
   * string; default: a new random UUID per server). Pages reload when the id they were served
   * with differs from their connection's, so processes behind one port must agree on it.
   */
  readonly instanceId?: string;
  /**
   * The port to listen on (0: any free one), given by a cluster's primary to every process after
   * the first: the one the first took, shared through node:cluster. The options' `port` still says
   * what the caller and the configuration file say, so an edit of the file's `port` needs a
   * restart here as in the first process; pinned in the options, it did not, and one edit of
   * `port` and `listing` together left the first process on the old listing and the others on
   * the new (helper-121). Undefined: the options' port, with its attempts.
   */
  readonly bindPort?: number;
  /**
   * The configuration file's settings as the cluster's first process read them at its start
   * (`layer`: undefined for no file), given by the primary to every process after the first. A
   * process forked later read the file as it was then: an edit saved between the two reads (while
   * the others were starting) was the first process's settings in no process, and an edit of the
   * port and the listing together left the first on the old listing and a later one on the new
   * (seen in CI). Started with these, a process then reads the file as every server does once it
   * watches it, and an edit made since is an edit to it too: applied live, or said to need a
   * restart, as in the first. null: there was no file (or configFile off). Undefined: the file is
   * read at the start.
   */
  readonly fileLayer?: OptionLayer | null;
}

export class PreviewServer extends EventEmitter<PreviewServerEvents> implements ConnectionContext {
  constructor(private readonly shared: SharedInstance = {}) {
    super();
  }

  private state: State = { kind: 'idle' };
  private readonly connections = new Set<Connection>();
  private requestIds = 0;
  private log: RequestLog | undefined;
  private handlerContext: HandlerContext | undefined;
  private opts: ServerOptions | undefined;
  private allGone: (() => void) | undefined;
  /** What listen() was given (updated by reconfigure): the configuration file lies under it. */
  private input: ServerOptionsInput | undefined;
  /** Host names given to allowHost() before the host policy exists (while listen() is under way). */
  private readonly earlyHosts: string[] = [];
  /** Changes given to reconfigure() while listen() is under way (already checked), applied in order once it has started. */
  private readonly earlyChanges: ReconfigurableOptions[] = [];
  /** The configuration file's options as last read (undefined: no file, or configFile off). */
  private fileLayer: OptionLayer | undefined;
  /** The served folder was found gone at the last read of the configuration (configFileChanged). */
  private rootGone = false;
  /** The last read of porthole.config.json was refused (invalid, or a restart it asked for could not be made). */
  private configRefused = false;
  private configWatcher: { close(): void } | undefined;
  private proxy: ReverseProxy | undefined;
  /** HTTPS sockets accepted whose handshake has not completed (before their first bytes: the TCP socket); destroyed on close. */
  private readonly handshakes = new Set<TLSSocket | Socket>();
  private secureContext: SecureContext | undefined;
  private memoryBudget: MemoryBudget | undefined;
  private queuedOutput: MemoryBudget | undefined;
  /** The connection cap in force (the option, or derived from the descriptor limit). */
  private cap = 0;
  /**
   * Sockets open per client address on the network (loopback clients are not counted), from
   * accept to the raw socket's close, TLS handshakes included; with those of clients refused by
   * allowedClients (refusedSockets) their sum is `networkSockets`. Per address, not per IPv6 /64:
   * every SLAAC device on a LAN shares one /64 (and link-local clients fe80::/64), so grouping
   * made one device's share everyone's (helper-149). One address may hold perClientConnectionsFor(cap), all of them together the
   * cap less loopbackReserveFor(cap): a device on the LAN cannot take the places of the others nor
   * of the user at this machine.
   */
  private readonly socketsPerClient = new Map<string, number>();
  private networkSockets = 0;
  /** Of networkSockets, those of devices not in allowedClients (refusedConnectionsFor(cap) at most). */
  private refusedSockets = 0;
  /** Live reload while listening with `reload.enabled` (notifyChanged, setOverlay). */
  liveReload: LiveReload | undefined;
  readonly limits: ParserLimits = DEFAULT_PARSER_LIMITS;

  get timeouts(): ServerOptions['timeouts'] {
    return this.options.timeouts;
  }

  get maxBodyBytes(): number {
    return this.options.maxBodyBytes;
  }

  get transfer(): TransferLimits {
    return this.options.limits;
  }

  get budget(): MemoryBudget {
    this.memoryBudget ??= new MemoryBudget(this.options.limits.maxBuiltBytes);
    return this.memoryBudget;
  }

  get queued(): MemoryBudget {
    this.queuedOutput ??= new MemoryBudget(this.options.limits.maxQueuedTotalBytes);
    return this.queuedOutput;
  }

  get crossSiteLoads(): boolean {
    return this.handlerContext?.crossSiteLoads ?? this.options.crossSiteLoads;
  }

  /** The connection cap in force: `maxConnections`, or derived from the descriptor limit. */
  get maxConnections(): number {
    return this.cap;
  }

  refusesMethod(method: string): boolean {
    return refusesMethod(method);
  }

  get closing(): boolean {
    return this.state.kind === 'closing' || this.state.kind === 'closed';
  }

  get options(): ServerOptions {
    if (this.opts === undefined) throw new Error('PreviewServer: not started');
    return this.opts;
  }

  /**
   * The configuration file's options this server runs with, as read from the file (null: no file,
   * or configFile off; a JSON message keeps null): what a cluster's primary hands the processes
   * after the first (SharedInstance.fileLayer). Throws before listen().
   */
  get fileLayerInUse(): OptionLayer | null {
    if (this.opts === undefined) throw new Error('PreviewServer: not started');
    return this.fileLayer ?? null;
  }

  /** The bound address while listening. */
  get address(): BoundAddress | undefined {
    return this.state.kind === 'listening' ? this.state.address : undefined;
  }

  /** Open connections, HTTPS sockets still in their handshake included. */
  get connectionCount(): number {
    return this.connections.size + this.handshakes.size;
  }

  /** The handler hooks (reserved endpoints, HTML filter) for features layered on the core. */
  get hooks(): HandlerContext {
    if (this.handlerContext === undefined) throw new Error('PreviewServer: not started');
    return this.handlerContext;
  }

  /**
   * Starts listening. Rejects with a ServerError (code ENOENT, ENOTDIR, EADDRINUSE, EACCES, …), or
   * with code EINVALIDOPTION naming every invalid option, its value and the reason
   * (validateServerOptions: nothing invalid is ever read as something else). A second listen()
   * rejects ('already started'), also while the first is under way (it was a second socket,
   * bound and never closed). close() while it is under way stops the server once it has started.
   */
  listen(input: ServerOptionsInput): Promise<BoundAddress> {
    if (this.state.kind !== 'idle') return Promise.reject(new Error('PreviewServer.listen: already started'));
    const started = this.start(input).then(
      (address) => {
        for (const changes of this.earlyChanges.splice(0)) {
          try {
            this.reconfigure(changes);
          } catch (err) {
            this.emit('diagnostic', 'error', `settings not applied: ${(err as Error).message}`);
          }
        }
        return address;
      },
      (err: unknown) => {
        // A start that failed leaves the server as new (a later listen() may try again).
        this.earlyChanges.length = 0;
        if (this.state.kind === 'starting') this.state = { kind: 'idle' };
        throw err;
      },
    );
    this.state = { kind: 'starting', started };
    return started;
  }

  private async start(input: ServerOptionsInput): Promise<BoundAddress> {
    // The caller's own options first, so a mistake of theirs is not blamed on the file.
    throwIfInvalid(checkServerOptions(input));
    this.input = input;
    const given = this.shared.fileLayer;
    this.fileLayer = given === undefined ? await readFileLayer(input) : (given ?? undefined);
    const opts = layeredOptions(input, this.fileLayer);
    this.opts = opts;
    const rootReal = await checkRoot(opts.root);
    const mounts = await checkMounts(opts.mounts, opts.proxy);
    const clients = new ClientFilter(opts.allowedClients);
    if (opts.proxy.routes.length > 0) {
      try {
        this.proxy = ReverseProxy.create({
          options: opts.proxy,
          scheme: opts.tls === undefined ? 'http' : 'https',
          bindsAll: wildcardBind(opts.host) !== undefined,
          pageInjector: () => {
            const live = this.liveReload;
            return live === undefined ? undefined : (html, policies, host, pagePath, contentType) => live.injectForeignPage(html, policies, host, pagePath, contentType);
          },
          pageNotInjected: (pagePath, reason) => this.liveReload?.notInjected(pagePath, reason),
        });
      } catch (err) {
        if (err instanceof ProxyConfigError) throw new ServerError('EPROXY', err.message);
        throw err;
      }
    }
    const loopbackOnly = new FileSet();
    const neverServed = new FileSet();
    if (opts.configFile) this.guardConfigFile(loopbackOnly, rootReal);
    this.handlerContext = {
      proxy: this.proxy,
      hosts: new HostPolicy(opts.host, opts.allowedHosts),
      clients,
      files: {
        rootReal,
        listing: opts.listing,
        dotfiles: opts.dotfiles,
        followSymlinks: opts.followSymlinks,
        loopbackOnly,
        neverServed,
        compression: opts.compression,
        mounts,
        cleanUrls: opts.cleanUrls,
        answeredElsewhere: (path) => this.handlerContext !== undefined && answeredBeforeFiles(this.handlerContext, path),
        generatedPageTag: (ex) => this.liveReload?.generatedPageTag(ex),
        notFoundPageWithClient: (ex, body, type) => this.liveReload?.notFoundPage(ex, body, type) ?? Promise.resolve(undefined),
      },
      policy: new ResponsePolicy(opts),
      spa: opts.spa,
      reserved: undefined,
      htmlFilter: undefined,
      hold: undefined,
      holding: undefined,
      crossSiteLoads: opts.crossSiteLoads,
    };
    for (const name of this.earlyHosts.splice(0)) this.handlerContext.hosts.add(name);
    this.memoryBudget = new MemoryBudget(opts.limits.maxBuiltBytes);
    this.queuedOutput = new MemoryBudget(opts.limits.maxQueuedTotalBytes);
    const descriptorLimit = readDescriptorLimit();
    this.cap = opts.maxConnections ?? connectionCapFor(descriptorLimit ?? Number.NaN);
    // A cap the descriptor limit cannot hold (each connection may need its socket and a file)
    // brings EMFILE back: files and new clients fail once the sockets took every descriptor
    // (helper-50: {"maxConnections": 100000} under ulimit -n 300). It is lowered, and said so.
    const heldByDescriptors = descriptorLimit === undefined ? undefined : connectionsHeldBy(descriptorLimit);
    if (opts.maxConnections !== undefined && heldByDescriptors !== undefined && opts.maxConnections > heldByDescriptors) {
      this.cap = heldByDescriptors;
      this.emit(
        'diagnostic',
        'warn',
        `maxConnections ${opts.maxConnections} is more than this process's descriptor limit can hold (ulimit -n ${descriptorLimit}): at most ${heldByDescriptors} connections are taken; raise the limit (ulimit -n) to allow more`,
      );
    }
    // No renegotiation (TLS 1.2; 1.3 has none): each is a full handshake, a signature on this
    // thread, and Node's own limit does not hold for sockets wrapped here: one connection went
    // through 200 in 0.3 s, as many as it asked (THC-SSL-DOS, CVE-2011-1473).
    this.secureContext =
      opts.tls === undefined
        ? undefined
        : loadTls().createSecureContext({ cert: opts.tls.cert, key: opts.tls.key, secureOptions: nodeCrypto().constants.SSL_OP_NO_RENEGOTIATION });
    const log = new RequestLog(opts.resolveHostNames);
    log.on('hostname', (ip, name) => this.emit('hostname', ip, name));
    log.on('problem', (message) => this.emit('diagnostic', 'warn', message));
    if (opts.logFile !== undefined) {
      try {
        await log.openFile(opts.logFile, logPlaceRule(input, this.fileLayer, opts));
      } catch (err) {
        throw new ServerError('ELOGFILE', (err as Error).message);
      }
      // The active log records every client's address and URLs: only this computer may read it
      // over HTTP, wherever it lies: by identity (a link or a rename is the same file) and by
      // real path (removed while written, it is made again there: a new inode).
      // Any error (its folder replaced by a file or a link loop since the open: a race) is taken as
      // ENOENT was: a raw ENOTDIR out of the start said nothing of what to do.
      const logStat = statOrNone(opts.logFile);
      if (logStat !== undefined) loopbackOnly.add(logStat, realPathOf(opts.logFile));
      // Removed while written, the log is made again at its path: a new file, which a rename
      // (`mv access.log old.log`) takes out of reach of the path; it is guarded by its identity
      // too, and live reload knows it as the log. The removed file is forgotten: its inode number,
      // freed, goes to the next file made (ext4), a page that must not be taken for the log.
      let logNow: FileIdentity | undefined = logStat;
      const logFile = opts.logFile;
      log.on('file', (st) => {
        // birthtimeMs as Node computes it for a Stats (seconds × 1e3 + nanoseconds / 1e6), so that
        // it equals the number an opened file's Stats carries.
        const born = st.birthtimeNs;
        const id: FileIdentity = { dev: Number(st.dev), ino: Number(st.ino), birthtimeMs: Number(born / 1_000_000_000n) * 1e3 + Number(born % 1_000_000_000n) / 1e6 };
        if (logNow !== undefined) loopbackOnly.remove(logNow);
        loopbackOnly.add(id, realPathOf(logFile));
        logNow = id;
        this.liveReload?.logFileIs(st);
      });
    }
    this.log = log;
    // The key's own files are never served (TlsOptions.privateFiles); one missing now is skipped,
    // as is one no longer reachable: the key is in memory, and a restart (an edit of the config
    // file) after its folder became a file or a link loop stopped the CLI with a raw ENOTDIR/ELOOP.
    for (const file of opts.tls?.privateFiles ?? []) {
      const st = statOrNone(file);
      if (st !== undefined) neverServed.add(st, realPathOf(file));
    }
    if (opts.reload.enabled) {
      const ctx = this.handlerContext;
      const running = (): ServerOptions => this.options;
      this.liveReload = new LiveReload({
        root: opts.root,
        instanceId: this.shared.instanceId,
        get files() {
          return ctx.files;
        },
        hosts: this.handlerContext.hosts,
        // Mounted folders are watched like --watch folders (a change reloads the pages), with
        // the same ignore globs relative to each.
        reload: { ...opts.reload, watchPaths: [...opts.reload.watchPaths, ...mounts.map((m) => m.real)] },
        logFile: opts.logFile,
        configFile: opts.configFile,
        maxStreamsPerClient: opts.limits.maxEventStreamsPerClient,
        secure: opts.tls !== undefined,
        proxied: opts.proxy.routes.length > 0,
        diagnostic: (level, message) => this.emit('diagnostic', level, message),
        // A getter: reconfigure changes it while pages are connected.
        get consoleForward() {
          return running().consoleForward;
        },
        onConsole: (entry) => this.emit('console', entry),
        hostFor: (ip) => log.peek(ip),
      });
      this.liveReload.attach(this.handlerContext);
    }
    const bindPort = this.shared.bindPort;
    const { wanted, candidates } = bindPort !== undefined ? { wanted: bindPort, candidates: [bindPort] } : portCandidates(opts, rootReal);
    const { server, port } = await this.bind(opts, candidates);
    await this.liveReload?.start();
    const scheme = opts.tls === undefined ? 'http' : 'https';
    const shownHost = wildcardBind(opts.host) !== undefined ? '127.0.0.1' : opts.host;
    const address: BoundAddress = {
      host: opts.host,
      port,
      url: urlFor(scheme, shownHost, port),
      requestedPort: wanted !== 0 && port !== wanted ? wanted : undefined,
    };
    if (address.requestedPort !== undefined) {
      this.emit('diagnostic', 'warn', `port ${address.requestedPort} is in use; using ${port}`);
    }
    // A fallback that is not there (yet: a build may make it) is said now, not first in a 404.
    if (opts.spa !== undefined) this.warnSpaProblem(opts.spa, this.handlerContext.files);
    this.state = { kind: 'listening', server, address };
    if (opts.configFile) {
      this.configWatcher = watchConfigFile(
        opts.root,
        // Also once after the watch begins: an edit saved while this server started, after the
        // file was read (here, or by the cluster's first process: fileLayer), reached no watcher.
        // Read as at a change: nothing is said when the file is as read.
        () => void this.configFileChanged(),
        (message) => this.emit('diagnostic', 'warn', message),
      );
    }
    return address;
  }

  /** What guardConfigFile last guarded beside the file's own path: where it led, and the file there. */
  private configGuarded: { real: string; id: FileIdentity | undefined } | undefined;

  /**
   * The root's configuration file says which devices may connect, where proxied routes lead and
   * which headers go out: only this computer reads it over HTTP (helper-158: every device on the
   * network did). Guarded in `files` by its path (an editor's atomic save gives it a new inode), by
   * where it leads when it is a link, and by the file there (a hard link to it); at start and at
   * each change of the file, so a link pointed elsewhere later is followed (helper-159). What it
   * led to before is forgotten: the set stays a handful of entries.
   */
  private guardConfigFile(files: FileSet, rootReal: string): void {
    const reason = `The server's configuration file (${CONFIG_FILE_NAME}) is served only to this computer (loopback clients asking for it by a loopback name, not through a tunnel or proxy).`;
    const configPath = join(rootReal, CONFIG_FILE_NAME);
    files.addPath(configPath, reason);
    const before = this.configGuarded;
    if (before !== undefined) {
      if (before.real !== configPath) files.removePath(before.real);
      if (before.id !== undefined) files.remove(before.id);
    }
    const real = realPathOf(configPath);
    const st = statOrNone(configPath);
    const id = st !== undefined && st.isFile() ? { dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs } : undefined;
    files.addPath(real, reason);
    if (id !== undefined) files.add(id, undefined, reason);
    this.configGuarded = { real, id };
  }

  /**
   * The configuration file changed: read it again and apply what can be applied live; a change of
   * anything else is reported as `restart` (the host restarts the server), an invalid file as
   * `invalid` (the running settings stay). Never throws.
   */
  private async configFileChanged(): Promise<void> {
    const input = this.input;
    if (input === undefined || this.state.kind !== 'listening') return;
    const files = this.handlerContext?.files;
    if (files?.loopbackOnly !== undefined) this.guardConfigFile(files.loopbackOnly, files.rootReal);
    let layer: OptionLayer | undefined;
    let next: ServerOptions;
    try {
      layer = await readFileLayer(input);
      next = layeredOptions(this.input ?? input, layer);
    } catch (err) {
      // The served folder itself is gone (`rm -rf dist` while a build makes it again): no setting
      // is wrong, and "check the path, or create the folder" sent the user to fix what needed no
      // fixing (helper-138). Its files are served again once it is back, the file read again.
      // checkRoot's own verdict, not a second look at the disk.
      const gone = err instanceof ServerError && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
      const message = gone
        ? `the root folder ${input.root} is gone for now (deleted, or a build is making it again); it is served again once it is back; keeping the settings in use`
        : `${(err as Error).message}; keeping the settings in use`;
      if (gone) this.rootGone = true;
      else this.configRefused = true;
      this.emit('diagnostic', gone ? 'warn' : 'error', message);
      this.emit('config', { kind: 'invalid', message });
      return;
    }
    // Back after it was gone: said as such, not as an edit of a file no one edited (helper-139).
    const back = this.rootGone ? `the root folder ${input.root} is back: its files are served again` : undefined;
    this.rootGone = false;
    // Read after a refused edit: the user fixed it, and the last thing said was the error.
    const refusedBefore = this.configRefused;
    this.configRefused = false;
    if (this.state.kind !== 'listening') return;
    if (fixedPart(this.options) !== fixedPart(next)) {
      // What the new start would refuse is refused now, while this server still serves: the host
      // closes it before starting the next, so a failing start left nothing running (a mount of a
      // folder not made yet, a log file in no folder: the CLI exited).
      try {
        await checkMounts(next.mounts, next.proxy);
        if (next.logFile !== undefined && next.logFile !== this.options.logFile) await RequestLog.checkFile(next.logFile, logPlaceRule(input, layer, next));
        await this.checkBindable(next);
      } catch (err) {
        const message = `${join(input.root, CONFIG_FILE_NAME)}: ${(err as Error).message}; keeping the settings in use`;
        this.configRefused = true;
        this.emit('diagnostic', 'error', message);
        this.emit('config', { kind: 'invalid', message });
        return;
      }
      if (this.state.kind !== 'listening') return;
      const message = `${CONFIG_FILE_NAME} changed an option that needs a restart (${fixedKeysChanged(this.options, next).join(', ')})`;
      this.emit('diagnostic', 'info', message);
      this.emit('config', { kind: 'restart', message });
      return;
    }
    // What the edit changed that the caller's own options give: it does nothing, and is said so
    // by name (helper-139: a port edited beside a header, under --port, met "applied headers").
    const overridden = overriddenKeys(input, this.fileLayer, layer);
    const unused = overridden.length === 0 ? undefined : `${overridden.join(', ')} ${overridden.length === 1 ? 'is' : 'are'} given by a flag or setting, which overrides the file`;
    // The file says what it said (or there is none, before and now): the folder changed (a build's
    // `rm -rf dist && mkdir dist`, too quick to be seen gone, writing the same file again), no one
    // edited a configuration (helper-144, helper-145: "changed" said twice per build).
    if (back === undefined && JSON.stringify(this.fileLayer) === JSON.stringify(layer)) {
      // ...but a typo fixed back to the file in use is said: silence left the error as the last word.
      if (!refusedBefore) return;
      // An invalid file then removed is no file again, not a file made valid (helper-149).
      const message =
        layer === undefined
          ? `${CONFIG_FILE_NAME} removed; nothing to apply (the settings in use came from no file)`
          : `${CONFIG_FILE_NAME} is valid again; nothing to apply (it is as in use)`;
      this.emit('diagnostic', 'info', message);
      this.emit('config', { kind: 'applied', message });
      return;
    }
    const changed = layer === undefined ? `${CONFIG_FILE_NAME} removed` : `${CONFIG_FILE_NAME} changed`;
    this.fileLayer = layer;
    const keys = this.apply(next);
    // Pages reload under the settings now in use (live reload leaves the file's own change alone).
    if (keys.length > 0) this.liveReload?.configApplied();
    const edit =
      keys.length === 0
        ? unused !== undefined
          ? `${changed}; nothing to apply: ${unused}`
          : back === undefined
            ? `${changed}; nothing to apply (what was edited is as in use)`
            : undefined
        : layer === undefined
          ? // Not "applied cleanUrls", which read as turned on (helper-158): what the file set is gone.
            `${changed}: what it set (${keys.join(', ')}) is back to the flags, settings and defaults`
          : `${changed}: applied ${keys.join(', ')}${unused === undefined ? '' : `; ${unused}`}`;
    const message = [back, edit].filter((m) => m !== undefined).join('; ');
    this.emit('diagnostic', 'info', message);
    this.emit('config', { kind: 'applied', message });
  }

  /**
   * Applies options that need no new socket: listing, dotfiles, symlinks, the access lists,
   * cross-site loads, headers, CORS, cross-origin isolation and the SPA fallback. They replace the caller's own;
   * the configuration file still lies under them (its header rules stay). Requests already being
   * answered finish under the old options. Throws, changing nothing, on an invalid CIDR, header
   * field or SPA file: a ServerError (EINVALIDOPTION) naming every invalid value. Called while
   * listen() is under way: checked now (throwing as above), applied once the server has started
   * (it threw 'not started', and the worker thread's host lost the change).
   */
  reconfigure(changes: ReconfigurableOptions): void {
    const input = this.input;
    if (this.state.kind === 'starting' && input !== undefined) {
      throwIfInvalid(checkServerOptions({ ...changes, root: input.root }));
      this.earlyChanges.push(changes);
      return;
    }
    if (input === undefined || this.handlerContext === undefined) throw new Error('PreviewServer: not started');
    throwIfInvalid(checkServerOptions({ ...changes, root: input.root }));
    // A change given as undefined leaves that option as it was.
    const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const nextInput: ServerOptionsInput = { ...input, ...given };
    const next = layeredOptions(nextInput, this.fileLayer);
    const clients = new ClientFilter(next.allowedClients);
    this.input = nextInput;
    this.apply(next, clients);
  }

  /**
   * Rejects with a ServerError (describeListenError's words) when `next` could listen on none of
   * its ports: each is tried with a socket closed at once, in the order start tries them (a port
   * taken by another program, a privileged port, an address not on this machine). The port this
   * server holds counts as free, on any address: the restart frees it first (a probe there would
   * meet this server itself). A port taken between this check and the restart still fails it.
   */
  private async checkBindable(next: ServerOptions): Promise<void> {
    if (this.state.kind !== 'listening') return;
    const held = this.state.address;
    const { candidates } = portCandidates(next, this.hooks.files.rootReal);
    let lastCode: string | undefined;
    for (const port of candidates) {
      if (port === 0 || port === held.port) return;
      const probe = createNetServer();
      const code = await new Promise<string | undefined>((resolve) => {
        probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ELISTEN'));
        probe.listen({ port, host: next.host, exclusive: true }, () => probe.close(() => resolve(undefined)));
      });
      if (code === undefined) return;
      lastCode = code;
      if (code !== 'EADDRINUSE') break;
    }
    throw listenFailure(lastCode, next.host, candidates);
  }

  /**
   * True when the single-page app fallback (the `spa` option) answered navigations when it was
   * last judged, at the start or when the option changed, for no client in particular
   * (spaFallbackProblem: a file in the root, not hidden, not a guarded file, not a link out);
   * false when it is off or could not answer (a warning was given then). No disk is read here:
   * the banner asks right after the start's own look.
   */
  spaFallbackReady(): boolean {
    return this.opts?.spa !== undefined && this.spaReady;
  }

  /** The last verdict of warnSpaProblem: the fallback could answer. */
  private spaReady = false;

  /** Warns when the SPA fallback file `spa` cannot answer now (spaFallbackProblem, judged for no client in particular). */
  private warnSpaProblem(spa: string, files: StaticOptions): void {
    const problem = spaFallbackProblem(spa, files);
    this.spaReady = problem === undefined;
    if (problem !== undefined) this.emit('diagnostic', 'warn', `${problem}; navigations to missing paths get 404 meanwhile`);
  }

  /** Makes `next`'s live options the running ones; returns the keys that changed. */
  private apply(next: ServerOptions, clients = new ClientFilter(next.allowedClients)): string[] {
    const ctx = this.hooks;
    const current = this.options;
    const changed = RECONFIGURABLE_KEYS.filter((k) => JSON.stringify(current[k]) !== JSON.stringify(next[k]));
    ctx.clients = clients;
    if (changed.includes('allowedHosts')) ctx.hosts.setExtra(next.allowedHosts);
    // Narrowed access lists apply to what is open too: a live-reload channel or a tunnel was
    // checked once, when its request came.
    if (changed.includes('allowedClients') || changed.includes('allowedHosts')) {
      const hosts = ctx.hosts;
      for (const conn of [...this.connections]) conn.revokeUnless((ip) => clients.allows(ip), (host) => hosts.allows(host));
    }
    ctx.files = {
      rootReal: ctx.files.rootReal,
      listing: next.listing,
      dotfiles: next.dotfiles,
      followSymlinks: next.followSymlinks,
      loopbackOnly: ctx.files.loopbackOnly,
      neverServed: ctx.files.neverServed,
      compression: next.compression,
      mounts: ctx.files.mounts,
      cleanUrls: next.cleanUrls,
      answeredElsewhere: ctx.files.answeredElsewhere,
      generatedPageTag: ctx.files.generatedPageTag,
      notFoundPageWithClient: ctx.files.notFoundPageWithClient,
    };
    ctx.crossSiteLoads = next.crossSiteLoads;
    ctx.policy = new ResponsePolicy(next);
    ctx.spa = next.spa;
    // A fallback changed (porthole.config.json, the setting) to one that cannot answer is said
    // now, as at start, not first in a navigation's 404.
    if (changed.includes('spa') && next.spa !== undefined) this.warnSpaProblem(next.spa, ctx.files);
    this.opts = { ...current, ...Object.fromEntries(RECONFIGURABLE_KEYS.map((k) => [k, next[k]])) };
    if (changed.includes('consoleForward')) this.liveReload?.consoleForwardChanged();
    if (changed.includes('dotfiles') || changed.includes('followSymlinks')) this.liveReload?.filesChanged();
    return changed;
  }

  /**
   * Adds a name the server answers to (the authority asExternalUri returns). Given before the
   * server has started (listen() under way), it is added once the start makes its host policy:
   * it threw 'not started', which ended the worker thread that called it.
   */
  allowHost(name: string): void {
    if (this.handlerContext === undefined) this.earlyHosts.push(name);
    else this.handlerContext.hosts.add(name);
  }

  /** Adds a line sink fed in order with settled records (log file order). */
  addLineSink(sink: (record: RequestRecord) => void): void {
    this.log?.addLineSink(sink);
  }

  /** Listens on the first of `ports` that is free (each busy one said); a ServerError when none is. */
  private async bind(opts: ServerOptions, ports: readonly number[]): Promise<{ server: Server; port: number }> {
    let lastError: NodeJS.ErrnoException | undefined;
    this.boundLocal = undefined;
    for (const [i, port] of ports.entries()) {
      const server = this.createSocketServer();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port, host: opts.host, backlog: 1024 }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        lastError = err as NodeJS.ErrnoException;
        server.close();
        if (lastError.code !== 'EADDRINUSE') break;
        const next = ports[i + 1];
        this.emit('diagnostic', 'info', `port ${port} is in use${next === undefined ? '' : `; trying ${next}`}`);
        continue;
      }
      server.on('error', (err) => this.emit('diagnostic', 'error', `server error: ${err.message}`));
      const bound = server.address();
      if (typeof bound === 'object' && bound !== null && bound.address !== '0.0.0.0' && bound.address !== '::') {
        this.boundLocal = { address: normaliseIp(bound.address), port: bound.port };
      }
      return { server, port: typeof bound === 'object' && bound !== null ? bound.port : port };
    }
    await this.log?.close();
    throw listenFailure(lastError?.code, opts.host, ports);
  }

  private createSocketServer(): Server {
    // No noDelay here: a plain connection turns Nagle off itself, unless it gets one whole answer
    // and closes (Connection.segmentsAtOnce); a TLS one at once (accept).
    const server = createNetServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    server.maxConnections = this.cap;
    // Past the cap Node closes a new connection before it is accepted, without a word: a browser
    // showed "connection reset" and nothing said why. Said here, once per CAP_DROP_REPORT_MS.
    server.on('drop', () => this.connectionDropped('cap'));
    return server;
  }

  /** Per kind of cap: connections closed at it since the last report, and when that report was. */
  private readonly capDrops = new Map<CapKind, { count: number; reportedAt: number; timer: NodeJS.Timeout | undefined; last: string }>();

  /**
   * A connection closed at once at a cap: the server's (`maxConnections`), one network client's
   * share, or the network's share. Said as a warning at once the first time, then counted and said
   * once per CAP_DROP_REPORT_MS while it goes on (a flood of them is one line every 10 s). `ip`:
   * the client, for the shares.
   */
  private connectionDropped(kind: CapKind, ip = ''): void {
    let drops = this.capDrops.get(kind);
    if (drops === undefined) {
      drops = { count: 0, reportedAt: Number.NEGATIVE_INFINITY, timer: undefined, last: '' };
      this.capDrops.set(kind, drops);
    }
    drops.count++;
    drops.last = ip;
    if (drops.timer !== undefined) return;
    const d = drops;
    const report = (): void => {
      if (d.count === 0) {
        d.timer = undefined;
        return;
      }
      const n = d.count;
      d.count = 0;
      d.reportedAt = Date.now();
      const closed = `${n} connection${n === 1 ? ' was' : 's were'} closed at once`;
      this.emit(
        'diagnostic',
        'warn',
        kind === 'cap'
          ? `${closed}: the server holds ${this.cap} connections, its cap (maxConnections${this.options.maxConnections === undefined ? ', from the descriptor limit: raise ulimit -n to allow more' : ''}); a client that holds many open (idle tabs, a load test) keeps others out until it lets them go`
          : kind === 'client'
            ? `${closed}: a client on the network (the last one ${d.last}) held ${perClientConnectionsFor(this.cap)}, the most one may (a quarter of the cap of ${this.cap})`
            : kind === 'refused'
              ? `${closed}: devices not in allowedClients (the last one ${d.last}) hold ${refusedConnectionsFor(this.cap)} connections, the most they may together (an eighth of the cap of ${this.cap}); allowed devices keep the rest`
              : `${closed}: clients on the network (the last one ${d.last}) hold every place but those kept for this computer (${loopbackReserveFor(this.cap)} of the cap of ${this.cap})`,
      );
      d.timer = setTimeout(report, CAP_DROP_REPORT_MS);
      d.timer.unref();
    };
    const wait = d.reportedAt + CAP_DROP_REPORT_MS - Date.now();
    if (wait <= 0) report();
    else {
      d.timer = setTimeout(report, wait);
      d.timer.unref();
    }
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress;
    // Reset before Node asked its address (getpeername(2) fails once the peer is gone): what it
    // sent is still read, and each request in it logged with `-` for the address (Combined Log
    // Format's "unknown"), as a client on the network (so the strictest rules hold: an
    // allowedClients list refuses it, loopback-only files are not read for it). Closed at once
    // before, 197 of 200 heads sent and reset at once went unlogged (helper-146).
    const peer: Peer = address === undefined ? { address: UNKNOWN_CLIENT, port: 0 } : { address: normaliseIp(address), port: socket.remotePort ?? 0 };
    const ip = peer.address;
    // This computer, also through one of its own network addresses (isOwnAddress: the banner's URL
    // when bound to it, the LAN URL opened to see what a phone sees; helper-148: it had a 403 from
    // the allowedClients list, and counted against the network's share).
    const thisComputer = isLoopbackAddress(ip) || isOwnAddress(ip, normaliseIp(socket.localAddress ?? UNKNOWN_CLIENT));
    const allowed = thisComputer || this.hooks.clients.allows(ip);
    if (!thisComputer && !this.countNetworkSocket(socket, ip, allowed)) return;
    if (this.secureContext === undefined) {
      const conn = new Connection(socket, this, peer);
      this.connections.add(conn);
      if (!allowed) conn.refuseAtOnce(403, `Forbidden: this device (${ip}) is not in this server's allowedClients.`);
      return;
    }
    if (!allowed) {
      // No handshake for a refused client: TLS could carry no message before one anyway.
      this.emit('diagnostic', 'debug', `connection from ${ip} closed: not in allowedClients`);
      socket.destroy();
      return;
    }
    // The handshake's flights are small writes that must not wait on the client's acknowledgements.
    socket.setNoDelay(true);
    this.startHandshake(socket, peer);
  }

  /**
   * Counts an accepted socket of a client on the network until it closes; false (the socket
   * destroyed at once, as past the cap) when its address already holds its share of the cap, or
   * the network's clients together hold every place but the loopback reserve.
   */
  private countNetworkSocket(socket: Socket, ip: string, allowed: boolean): boolean {
    const network = this.cap - loopbackReserveFor(this.cap);
    if (!allowed) {
      // Refused by allowedClients: answered 403 and closed, from a share of their own, so devices
      // not on the list cannot hold the places of those on it.
      if (this.refusedSockets >= refusedConnectionsFor(this.cap) || this.networkSockets >= network) {
        this.connectionDropped(this.networkSockets >= network ? 'network' : 'refused', ip);
        socket.destroy();
        return false;
      }
      this.refusedSockets++;
      this.networkSockets++;
      socket.once('close', () => {
        this.refusedSockets--;
        this.networkSockets--;
      });
      return true;
    }
    const mine = this.socketsPerClient.get(ip) ?? 0;
    const perClient = perClientConnectionsFor(this.cap);
    if (mine >= perClient || this.networkSockets >= network) {
      this.connectionDropped(mine >= perClient ? 'client' : 'network', ip);
      socket.destroy();
      return false;
    }
    this.socketsPerClient.set(ip, mine + 1);
    this.networkSockets++;
    socket.once('close', () => {
      this.networkSockets--;
      const left = (this.socketsPerClient.get(ip) ?? 1) - 1;
      if (left > 0) this.socketsPerClient.set(ip, left);
      else this.socketsPerClient.delete(ip);
    });
    return true;
  }

  /**
   * Looks at the first bytes of an accepted TCP socket on the HTTPS port, as nginx does: a TLS
   * record starts with 0x16 (handshake; a byte with its top bit set for an SSLv2-style hello), a
   * plain-HTTP request with a method's token character (or the CRLFs a client may send before its
   * request line, RFC 9112 §2.2). Plain HTTP (http:// typed for https://) goes to a Connection that
   * answers each request 400 with what to do and logs it like any 400, whatever its method (OpenSSL
   * itself recognises only GET, HEAD, POST and PUT: OPTIONS or DELETE got an empty reply, and no
   * plain request was logged); everything else to the TLS handshake. Until the first bytes, the
   * socket counts as a handshake: its end, close, error or the deadline (headersMs) destroys it.
   */
  private startHandshake(raw: Socket, peer: Peer): void {
    const started = Date.now();
    this.handshakes.add(raw);
    const giveUp = (why: string): void => {
      if (!this.handshakes.delete(raw)) return;
      clearTimeout(deadline);
      this.emit('diagnostic', 'debug', `TLS handshake failed: ${why}`);
      raw.destroy();
      this.checkAllGone();
    };
    // Given up after that turn's reads, as a connection's own deadlines are: a first byte sent in
    // time may still wait in the kernel when the timer runs after the loop was held up.
    const deadline = timeoutAfterReads(this.options.timeouts.headersMs, () => giveUp('not completed in time'));
    const onEnd = (): void => giveUp('the client closed the connection');
    const onClose = (): void => giveUp('the connection closed');
    const onError = (err: Error): void => giveUp(err.message);
    raw.on('end', onEnd);
    raw.on('close', onClose);
    raw.on('error', onError);
    raw.once('data', (first: Buffer) => {
      raw.off('end', onEnd);
      raw.off('close', onClose);
      raw.off('error', onError);
      // The bytes go back, for whoever reads the socket next (the TLSSocket reads what the socket
      // holds before its own reads).
      raw.pause();
      raw.unshift(first);
      if (!this.handshakes.delete(raw)) return;
      clearTimeout(deadline);
      if (this.closing) {
        raw.destroy();
        this.checkAllGone();
        return;
      }
      const b = first[0] as number;
      if (b === 0x0d || b === 0x0a || TOKEN_CHARS[b] === 1) {
        this.emit('diagnostic', 'debug', 'TLS handshake failed: the client sent plain HTTP; answered 400');
        const conn = new Connection(raw, this, peer);
        conn.refuseEachRequest(PLAIN_HTTP_ON_TLS_PORT);
        this.connections.add(conn);
        raw.resume();
        return;
      }
      this.wrapTls(raw, peer, Math.max(0, started + this.options.timeouts.headersMs - Date.now()));
    });
  }

  /**
   * Wraps an accepted TCP socket in a server-side TLSSocket; hands it to a Connection once secure.
   * Before that, its end, close, error or the deadline (`leftMs`) destroys it.
   */
  private wrapTls(raw: Socket, peer: Peer, leftMs: number): void {
    const tlsSocket = new (loadTls().TLSSocket)(raw, { isServer: true, secureContext: this.secureContext });
    this.handshakes.add(tlsSocket);
    const fail = (why: string): void => {
      if (!this.handshakes.delete(tlsSocket)) return;
      clearTimeout(deadline);
      this.emit('diagnostic', 'debug', `TLS handshake failed: ${why}`);
      tlsSocket.destroy();
      raw.destroy();
      this.checkAllGone();
    };
    // After that turn's reads, as above: handshake bytes sent in time are read first.
    const deadline = timeoutAfterReads(leftMs, () => fail('not completed in time'));
    const onEnd = (): void => fail('the client closed the connection');
    const onClose = (): void => fail('the connection closed');
    const onError = (err: Error): void => fail(err.message);
    tlsSocket.on('end', onEnd);
    tlsSocket.on('close', onClose);
    tlsSocket.on('error', onError);
    raw.on('error', onError);
    raw.on('close', onClose);
    tlsSocket.once('secure', () => {
      if (!this.handshakes.delete(tlsSocket)) return;
      clearTimeout(deadline);
      tlsSocket.off('end', onEnd);
      tlsSocket.off('close', onClose);
      tlsSocket.off('error', onError);
      raw.off('close', onClose);
      raw.off('error', onError);
      raw.on('error', () => tlsSocket.destroy());
      if (this.closing) {
        tlsSocket.destroy();
        this.checkAllGone();
        return;
      }
      this.connections.add(new Connection(tlsSocket, this, peer));
    });
  }

  private checkAllGone(): void {
    if (this.connections.size === 0 && this.handshakes.size === 0) this.allGone?.();
  }

  // ---- ConnectionContext --------------------------------------------------------------------

  /** The one address listened on (see ConnectionContext.boundLocal); set by bind. */
  boundLocal: { readonly address: string; readonly port: number } | undefined;

  /** Connections accepted and not yet closed (ConnectionContext.openConnections). */
  get openConnections(): number {
    return this.connections.size;
  }

  nextRequestId(): number {
    return ++this.requestIds;
  }

  handle(exchange: Exchange): void {
    handleRequest(exchange, this.hooks);
  }

  streamedBodyLimit(head: RequestHead): number | undefined {
    const ctx = this.handlerContext;
    if (ctx === undefined || proxyRouteFor(ctx, head.path) === undefined) return undefined;
    return this.options.proxy.maxBodyBytes;
  }

  record(record: RequestRecord): void {
    const log = this.log;
    if (log === undefined) return;
    log.add(record);
    if (record.filePath !== undefined) this.liveReload?.noteServed(record.filePath);
    // Emitted only when heard (the CLI reads the log's lines, not these events): the log's event,
    // passed on by a listener to this one that nobody heard, cost 4–6% of the requests a second at
    // 1 KiB keep-alive, 50 connections (user CPU 3.50 -> 2.99 µs a request without it).
    if (this.listenerCount('request') !== 0) this.emit('request', record);
  }

  connectionClosed(connection: Connection): void {
    this.connections.delete(connection);
    this.checkAllGone();
  }

  // ---- shutdown -----------------------------------------------------------------------------

  /**
   * Stops gracefully: no new connections; idle ones close now, busy ones after their current
   * response (at most timeouts.closeGraceMs); resolves once the log file has every line. Called
   * while listen() is under way: waits for the start to settle, then stops as above.
   */
  close(): Promise<void> {
    const state = this.state;
    // Asked while listen() is under way: it was 'closed' at once, and the start then bound its
    // socket and served on (the worker thread never exited; its host terminated it 10 s later).
    if (state.kind === 'starting') {
      state.stop ??= state.started.then(
        () => this.close(),
        () => this.close(),
      );
      return state.stop;
    }
    if (state.kind === 'closing') return state.done;
    if (state.kind === 'closed') return Promise.resolve();
    if (state.kind === 'idle') {
      this.state = { kind: 'closed' };
      return Promise.resolve();
    }
    const done = this.shutdown(state.server);
    this.state = { kind: 'closing', done };
    return done;
  }

  /**
   * Stops at once (a second Ctrl-C): as close(), but every connection is closed now, its
   * unfinished request logged as aborted, instead of waiting for responses to finish. Resolves
   * once the log file has every line, so stopping in a hurry loses none.
   */
  closeNow(): Promise<void> {
    const state = this.state;
    if (state.kind === 'starting') {
      return state.started.then(
        () => this.closeNow(),
        () => this.closeNow(),
      );
    }
    // close() has destroyed the TLS handshakes and closed the listener: only connections are left.
    const done = this.close();
    this.destroyConnections();
    return done;
  }

  /**
   * What the connections are in the middle of now: responses being sent, and requests still
   * arriving (Connection.unfinished). Asked right after close() (which ended the idle ones), it is
   * what the graceful stop waits for, up to timeouts.closeGraceMs.
   */
  unfinished(): { responses: number; requests: number } {
    const counts = { responses: 0, requests: 0 };
    for (const conn of this.connections) {
      const what = conn.unfinished;
      if (what === 'response') counts.responses++;
      else if (what === 'request') counts.requests++;
    }
    return counts;
  }

  /**
   * What stopping cut short, once close() or closeNow() has: responses and requests still
   * unfinished when the connections were closed (the grace ran out, or closeNow), each logged as
   * aborted. Zero when everything finished in time.
   */
  get cutOnStop(): { readonly responses: number; readonly requests: number } {
    return this.cut;
  }

  private cut = { responses: 0, requests: 0 };

  /** Closes every connection now (each logs its unfinished request as aborted, ended by the server). */
  private destroyConnections(): void {
    const cut = this.unfinished();
    this.cut = { responses: this.cut.responses + cut.responses, requests: this.cut.requests + cut.requests };
    for (const conn of [...this.connections]) conn.stopNow();
  }

  private async shutdown(server: Server): Promise<void> {
    for (const drops of this.capDrops.values()) clearTimeout(drops.timer);
    this.configWatcher?.close();
    this.configWatcher = undefined;
    this.liveReload?.close();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    const gone = new Promise<void>((resolve) => {
      this.allGone = resolve;
      if (this.connections.size === 0 && this.handshakes.size === 0) resolve();
    });
    for (const pending of [...this.handshakes]) pending.destroy();
    for (const conn of [...this.connections]) conn.shutdown();
    const grace = setTimeout(() => this.destroyConnections(), this.options.timeouts.closeGraceMs);
    await gone;
    clearTimeout(grace);
    await this.proxy?.close();
    await stopped;
    await this.log?.close();
    this.state = { kind: 'closed' };
  }
}

/**
 * The options a server runs with, checked: what the caller gave (CLI flags, editor settings),
 * over the configuration file's layer, over the caller's `fallback`, over the defaults. Throws a
 * ServerError EOPTIONS for an invalid header field or SPA file, whoever gave it.
 */
function layeredOptions(input: ServerOptionsInput, fileLayer: OptionLayer | undefined): ServerOptions {
  const { fallback, ...given } = input;
  // The layered result goes through the same strict checks as each layer did.
  let checked: ServerOptionsInput;
  try {
    checked = validateServerOptions({ ...layerOptions(fallback, fileLayer, given), root: input.root });
  } catch (err) {
    if (err instanceof InvalidOptionsError) throw new ServerError(err.code, `invalid options: ${err.message}`);
    throw err;
  }
  const opts = resolveServerOptions(checked);
  checkOwnOptions(opts);
  return opts;
}

/** The option groups the file gives key by key (layerOptions), each key overridden alone. */
const NESTED_KEYS = new Set(['timeouts', 'limits', 'reload', 'cors', 'proxy']);

/**
 * The file's keys (`timeouts.idleMs` for a nested one) whose value differs between the layers
 * `from` and `to` and that `input`, the caller's own options, gives too: an edit there does
 * nothing while the flag or setting is given. `headers` add up with the caller's, never overridden.
 */
function overriddenKeys(input: ServerOptionsInput, from: OptionLayer | undefined, to: OptionLayer | undefined): string[] {
  const given = input as Record<string, unknown>;
  const before = (from ?? {}) as Record<string, unknown>;
  const after = (to ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === 'headers' || key === 'fallback' || key === 'root') continue;
    if (NESTED_KEYS.has(key)) {
      const inner = (given[key] ?? {}) as Record<string, unknown>;
      const b = (before[key] ?? {}) as Record<string, unknown>;
      const a = (after[key] ?? {}) as Record<string, unknown>;
      for (const sub of new Set([...Object.keys(b), ...Object.keys(a)])) {
        if (inner[sub] !== undefined && JSON.stringify(b[sub]) !== JSON.stringify(a[sub])) out.push(`${key}.${sub}`);
      }
    } else if (given[key] !== undefined && JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      out.push(key);
    }
  }
  return out;
}

/**
 * The rule a porthole.config.json's log file keeps at every open (RequestLog.openFile): it stays
 * inside the served folder, as the file was checked to when read, also when it is made again after
 * a removal (by then its folder may be a link out: helper-140). Undefined when the log file is the
 * caller's own (a flag, a setting: the user's choice, which may lie anywhere).
 */
function logPlaceRule(input: ServerOptionsInput, fileLayer: OptionLayer | undefined, opts: ServerOptions): LogPlaceRule | undefined {
  const file = opts.logFile;
  if (file === undefined || input.logFile !== undefined || fileLayer?.logFile !== file) return undefined;
  const root = opts.root;
  return Object.assign((path: string) => logPlaceOutside(root, path), {
    opened: (realPath: string, links: number) => logOpenedOutside(root, realPath, links),
    todo: 'use --log or the porthole.log.file setting for another place',
  });
}

/** Throws a ServerError (EINVALIDOPTION) listing `problems`, if there are any. */
function throwIfInvalid(problems: ReturnType<typeof checkServerOptions>): void {
  if (problems.length > 0) throw new ServerError('EINVALIDOPTION', `invalid options: ${new InvalidOptionsError(problems).message}`);
}

/**
 * The configuration file's options for `input`'s root (none when `configFile: false`); ServerError
 * ECONFIG when invalid, or checkRoot's ServerError when the root itself cannot be used.
 */
async function readFileLayer(input: ServerOptionsInput): Promise<OptionLayer | undefined> {
  if (input.configFile === false) return undefined;
  // A root that cannot be opened is said as such, not as a config file that cannot be read.
  await checkRoot(input.root);
  try {
    const file = await readConfigFile(input.root);
    if (file.options !== undefined) {
      // The file's values pass the same strict checks as the CLI's and the editor's.
      const problem = checkServerOptions({ ...file.options, root: input.root })[0];
      if (problem !== undefined) throw new ConfigFileError(file.path, problem.option, `${problem.value} ${problem.reason}`);
    }
    return file.options;
  } catch (err) {
    if (err instanceof ConfigFileError) throw new ServerError('ECONFIG', err.message);
    throw err;
  }
}

/**
 * The ports `opts` asks for, in the order they are tried (RFC 6335 numbers, 0: any free port):
 * `wanted` first, then up to portAttempts − 1 more; for the derived port (DERIVED_PORT), the
 * root's own (`rootReal`: its real path) and its fallbacks.
 */
function portCandidates(opts: ServerOptions, rootReal: string): { wanted: number; candidates: number[] } {
  // An input that spells `port: undefined` means the default too.
  const asked = opts.port ?? DERIVED_PORT;
  const wanted = asked === DERIVED_PORT ? derivePort(rootReal) : asked;
  const attempts = Math.max(1, opts.portAttempts);
  if (asked === DERIVED_PORT) return { wanted, candidates: derivedPortCandidates(wanted, attempts) };
  if (wanted === 0) return { wanted, candidates: [0] };
  return { wanted, candidates: Array.from({ length: attempts }, (_, i) => wanted + i).filter((p) => p <= 65535) };
}

/**
 * The options a running server cannot change without a new socket that differ between `from` and
 * `to`, by their dotted key one level down (`maxBodyBytes`, `timeouts.idleMs`, `reload.debounceMs`),
 * sorted: what a restart message names. It said "binding, root, log, live reload or proxy" for
 * every change, also for `maxBodyBytes` or `timeouts`, which are none of those.
 */
function fixedKeysChanged(from: ServerOptions, to: ServerOptions): string[] {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const a = from as unknown as Record<string, unknown>;
  const b = to as unknown as Record<string, unknown>;
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if ((RECONFIGURABLE_KEYS as readonly string[]).includes(key) || same(a[key], b[key])) continue;
    const x = a[key];
    const y = b[key];
    const objects = typeof x === 'object' && x !== null && !Array.isArray(x) && typeof y === 'object' && y !== null && !Array.isArray(y);
    if (!objects) {
      changed.push(key);
      continue;
    }
    const xs = x as Record<string, unknown>;
    const ys = y as Record<string, unknown>;
    for (const sub of new Set([...Object.keys(xs), ...Object.keys(ys)])) if (!same(xs[sub], ys[sub])) changed.push(`${key}.${sub}`);
  }
  return changed.sort();
}

/** Every option a running server cannot change without a new socket, as one comparable string. */
function fixedPart(o: ServerOptions): string {
  const rest: Record<string, unknown> = { ...o };
  for (const k of RECONFIGURABLE_KEYS) delete rest[k];
  return JSON.stringify(rest);
}

/**
 * The options a server started with `input` runs with (`options`): the root's configuration file
 * (unless `configFile: false`) under the caller's options, then the defaults — the code
 * PreviewServer.listen runs; and `fileLayer`, the file's settings as read (null: no file, or
 * `configFile: false`), to hand to the server that starts next (SharedInstance.fileLayer) so it
 * does not read the root and the file a second time (its watcher reads the file once more when it
 * begins, for an edit saved in between). Throws a ServerError ECONFIG naming the file, the key and
 * the reason for an invalid file, EOPTIONS for an invalid header or SPA file.
 */
export async function resolveOptionsWithConfigFile(input: ServerOptionsInput): Promise<{ options: ServerOptions; fileLayer: OptionLayer | null }> {
  const fileLayer = await readFileLayer(input);
  return { options: layeredOptions(input, fileLayer), fileLayer: fileLayer ?? null };
}

/** Header fields and the SPA file, whoever gave them: nothing invalid reaches the wire. */
function checkOwnOptions(opts: ServerOptions): void {
  checkHeaderRules(opts.headers, (key, reason) => {
    throw new ServerError('EOPTIONS', `${key}: ${reason}`);
  });
  if (opts.spa !== undefined) {
    const problem = spaFileProblem(opts.spa);
    if (problem !== undefined) throw new ServerError('EOPTIONS', `spa: ${problem}`);
  }
}

/**
 * Each mount's folder resolved with realpath (validateServerOptions already checked the prefixes
 * and that the folders are absolute). Checked again on the layered options: a mount from the
 * configuration file under a proxy route from a flag. A folder that does not exist, or is not a
 * folder, stops the start: ServerError EMOUNT naming the prefix and the folder.
 */
async function checkMounts(mounts: ServerOptions['mounts'], proxy: ServerOptions['proxy']): Promise<MountedFolder[]> {
  const out: MountedFolder[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    const segments = mountPrefixSegments(m.prefix);
    if (typeof segments === 'string') throw new ServerError('EMOUNT', segments);
    const clash = mountProxyClash(segments, proxy.routes.map((r) => r.prefix));
    if (clash !== undefined) throw new ServerError('EMOUNT', `mount prefix "${normalMountPrefix(m.prefix)}" ${clash}`);
    if (seen.has(segments.join('/'))) throw new ServerError('EMOUNT', `mount prefix "${normalMountPrefix(m.prefix)}" is given twice`);
    seen.add(segments.join('/'));
    const shown = `the folder ${m.folder} mounted at ${normalMountPrefix(m.prefix)}`;
    try {
      const st = await stat(m.folder);
      if (!st.isDirectory()) throw new ServerError('EMOUNT', `${shown} is not a folder; mount a folder`);
      await access(m.folder, fsConstants.X_OK);
      out.push({ prefix: normalMountPrefix(m.prefix), segments, real: await realpath(m.folder) });
    } catch (err) {
      if (err instanceof ServerError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        // A link to nothing on the way: "create it" would fail through the link; name its target.
        const dangling = code === 'ENOENT' ? await danglingLinkOnPath(m.folder) : undefined;
        if (dangling !== undefined) throw new ServerError('EMOUNT', `${shown} does not exist: ${danglingLinkClause(dangling)}; or fix the mount (--mount, porthole.mounts or "mounts" in ${CONFIG_FILE_NAME})`);
        // A file on the way: "create it" cannot be done there; name the file.
        const file = code === 'ENOTDIR' ? notAFolderOnPath(m.folder) : undefined;
        if (file !== undefined) throw new ServerError('EMOUNT', `${shown} does not exist: ${file}; fix the mount (--mount, porthole.mounts or "mounts" in ${CONFIG_FILE_NAME})`);
        throw new ServerError('EMOUNT', `${shown} does not exist; create it, or fix the mount (--mount, porthole.mounts or "mounts" in ${CONFIG_FILE_NAME})`);
      }
      if (code === 'EACCES' || code === 'EPERM') throw new ServerError('EMOUNT', `${shown} cannot be opened: ${NO_FOLDER_PERMISSION}; fix that, or remove the mount`);
      throw new ServerError('EMOUNT', `cannot use ${shown}: ${describeFsProblem(err)}`);
    }
  }
  return out;
}

/** What a permission error on a served folder means, and what to do (said after "cannot be opened: "). */
const NO_FOLDER_PERMISSION =
  'no permission (the user running Porthole needs permission to open it and every folder on the way to it, e.g. chmod a+rx; to read it too for listings and live reload)';

/**
 * The real path of the root, or a ServerError saying what is wrong with it: missing (ENOENT), not
 * a folder (ENOTDIR), or a folder that cannot be opened (EACCES: nothing in it could be served).
 * A folder that can be opened but not listed (mode 711) is fine: its files are served by name.
 */
async function checkRoot(root: string): Promise<string> {
  try {
    const st = await stat(root);
    if (!st.isDirectory()) throw new ServerError('ENOTDIR', `the root ${root} is not a folder; serve the folder it is in (${dirname(root)})`);
    await access(root, fsConstants.X_OK);
    return await realpath(root);
  } catch (err) {
    if (err instanceof ServerError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'EROOT';
    if (code === 'ENOENT') {
      // `mkdir -p` through a link to nothing fails ("File exists"): name the link and its target.
      const dangling = await danglingLinkOnPath(root);
      if (dangling !== undefined) throw new ServerError(code, `the root folder ${root} does not exist: ${danglingLinkClause(dangling)}`);
      throw new ServerError(code, `the root folder ${root} does not exist; check the path, or create the folder (mkdir -p)`);
    }
    if (code === 'ENOTDIR') throw new ServerError(code, `the root folder ${root} does not exist: ${notAFolderOnPath(root) ?? 'a part of its path is a file, not a folder'}; check the path`);
    if (code === 'EACCES' || code === 'EPERM') throw new ServerError('EACCES', `the root folder ${root} cannot be opened: ${NO_FOLDER_PERMISSION}; fix that, or serve another folder`);
    throw new ServerError(code, `cannot use the root folder ${root}: ${describeFsProblem(err)}`);
  }
}

/** `path` with every symlink resolved, or `path` itself when it cannot be (removed meanwhile). */
function realPathOf(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}
