/**
 * LiveReload: pages follow edits. Created by PreviewServer when `reload.enabled`; it hooks into
 * the request handler (HandlerContext `reserved`, `htmlFilter` and `hold`) and owns:
 * - the reserved endpoints `/__porthole/client.js` (the client, from memory, own ETag),
 *   `/__porthole/socket` (the WebSocket the client uses) and `/__porthole/events` (the same
 *   messages as Server-Sent Events), on the server's own port (live-reload-channel). Every other
 *   path under `/__porthole/` is left to the static files, so a user's file there is still served;
 * - the change pipeline: watcher (CLI) or `notifyChanged` / `setOverlay` (the extension) →
 *   root-relative paths → dropped: ignore globs, the request log file, editors' temporary files
 *   (live-reload-temp-files) and paths the server would not serve (hidden) → ONE schedule for all
 *   clients, leading and trailing edge: the first change after a quiet spell is sent at once when
 *   it is a file written in place (the requests of the site then wait until the changed files have
 *   settled: SETTLE_MS without another change, and their size and mtime unchanged since their last
 *   event), else once it has settled; then changes within the next `debounceMs` are coalesced into
 *   one more event, sent only if there were any → dropped at flush: paths no longer there and
 *   symbolic links that lead nowhere (temporaries, locks) → one event: `css` (stylesheets only),
 *   `img` (images only) or `reload`.
 *   Each batch stands alone: a temporary's deletion never lands in (and spoils) the next one;
 *   Changes in the extra folders (`reload.watchPaths`: a back-end's templates; editors'
 *   temporary files there dropped too) always make it `reload`, and their paths are not sent
 *   (pages never learn paths outside the root); a mount's files are served, so they are named
 *   by their URL paths (`/vendor/lib.css`) and follow the root's rules (a stylesheet swapped);
 * - the overlays: the editor's unsaved text by absolute path, served instead of the file.
 *
 * Lifecycle: created → running (`start()`) → closed (`close()`, idempotent: watcher, timers and
 * every event stream end). Timers exist only while needed (debounce while changes wait, the
 * heartbeat while a client is connected) and are unref'ed.
 *
 * The schedule: `leading` (nothing sent within the last `debounceMs`) → a change opens a batch:
 * - written in place (fs.watch `change`; the editor's `notifyChanged` and overlays): flush at the
 *   end of this turn of the event loop (the events read together are one batch) → if an event
 *   went out, `settling`: the site's GET and HEAD requests wait (`holdWhileSettling`) until the
 *   changed files have settled (at most MAX_SETTLE_WAIT_MS, and `debounceMs`, after the first change), so a page the event
 *   reloads is answered with the whole save, never half a file; changes of the paths sent are part
 *   of it, other ones go out as one more event when settled (before the held requests are
 *   answered, so their pages carry its generation) → `trailing`;
 * - anything else (an entry made, renamed or deleted: perhaps a temporary an atomic save renames
 *   away within the save): the settle first (requests wait meanwhile) → flush → `trailing`;
 * `trailing` for `debounceMs`: changes wait for `debounceMs` of quiet (at most
 * MAX_DEBOUNCE_WAIT_MS after the first) → flush → `trailing` again; a trailing window that ends
 * with no change (or a flush that sends nothing) → `leading`.
 */
import { lstatSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { nodeCrypto } from '../node-crypto';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { HostPolicy } from '../access/access-policy';
import type { Exchange } from '../http/connection';
import type { ReadonlyHeaderList } from '../http/request-record';
import { eventStreamChannel, fieldValues, openWebSocketChannel, type ReloadChannel } from './live-reload-channel';
import { liveReloadClient } from './live-reload-client';
import { compileGlobs, type PathMatcher } from './live-reload-glob';
import { PAGE_VARY, filterPage, generatedClientTag, injectForeignPage, notFoundPageWithClient, preparePages, type ForeignPage, type HeaderPolicy, type PageContext } from './live-reload-pages';
import { isNavigationRequest } from './live-reload-inject';
import { isEditorTempFile } from './live-reload-temp-files';
import { watchRoot, type RootWatcher } from './live-reload-watcher';
import { CONFIG_FILE_NAME, RESERVED_PREFIX, type ConsoleForward, type DiagnosticLevel, type ReloadOptions } from '../options';
import { ConsoleBudget, PageConsole, type ConsoleEntry } from './console-forward';
import { inMemory, sendRepresentation, type Representation } from '../files/representation';
import type { StaticOptions } from '../files/static-files';
import { encodePathSegments, resolveRequestPath } from '../files/resolve-path';
import { hiddenSegmentsReason, judgeRealPath } from '../files/hidden-names';
import { countOf, cutForDisplay, escapeForDisplay } from '../text/display-text';

/** Handles requests under RESERVED_PREFIX; returns false when the path is not one of its own. */
export type ReservedHandler = (ex: Exchange, path: string) => boolean;

/** The request handler's two hooks that live reload fills in (see attach). */
export interface PageHooks {
  reserved: ReservedHandler | undefined;
  /** Serves a file response of its own (live reload injection); false → serve the file as is. */
  htmlFilter: ((ex: Exchange) => boolean) | undefined;
  /**
   * Takes a request's continuation while changed files settle (LiveReload.holdWhileSettling) and
   * returns true; false → go on at once.
   */
  hold: ((resume: () => void) => boolean) | undefined;
  /**
   * True while changed files settle (hold would take a request): asked first, so that the
   * continuation is only made for a request that will wait (this is asked for every request).
   */
  holding: (() => boolean) | undefined;
}

export const CLIENT_PATH = `${RESERVED_PREFIX}client.js`;
/** The client's source map (liveReloadClient().sourceMap), named by the script's last line. */
export const CLIENT_MAP_PATH = `${RESERVED_PREFIX}client.js.map`;
export const EVENTS_PATH = `${RESERVED_PREFIX}events`;
export const SOCKET_PATH = `${RESERVED_PREFIX}socket`;
/** The paths live reload answers itself while it is on (handleReserved); every other path under RESERVED_PREFIX is the folder's. */
export const ENDPOINT_PATHS: ReadonlySet<string> = new Set([CLIENT_PATH, CLIENT_MAP_PATH, EVENTS_PATH, SOCKET_PATH]);
/**
 * A ping on every channel this often keeps proxies and idle timeouts from closing it (nginx's
 * `proxy_read_timeout` is 60 s, as is an AWS load balancer's idle timeout), and finds dead peers:
 * a channel whose previous ping was not answered (WebSocket Pong) or taken (event stream) by the
 * next one is closed (ReloadChannel.ping), as the `ws` library's heartbeat does. So a tab whose
 * machine went to sleep, or whose network dropped without a FIN, or a client that never reads,
 * holds its slot (of 32 per address, 1,000 in all) for 15–30 s after its last answer, not for
 * ever. A background tab is not closed: browsers answer pings in the network stack, however
 * much the tab's scripts are throttled (headless Chromium answered every ping of a 300 ms
 * heartbeat for 6 s with the page frozen, Page.setWebLifecycleState), and a Pong has a whole
 * heartbeat to come back, far more than any round trip. 15 s: a dead peer found within 30 s,
 * for a few bytes a ping (and its Pong) per page.
 */
export const HEARTBEAT_MS = 15_000;
/**
 * @internal The heartbeat's period (HEARTBEAT_MS), read each time the heartbeat starts (the first
 * channel after none): tests shorten it to see what heartbeats do without waiting 15 s each. Not
 * an option: nothing else should need to change it.
 */
export const heartbeatTiming = { intervalMs: HEARTBEAT_MS };
export { RETRY_MS } from './live-reload-channel';
/** Channels (WebSockets and event streams) beyond this get 503 (each is one socket; a tab needs one). */
export const MAX_EVENT_CLIENTS = 1_000;
/** Paths remembered per debounce window; beyond this the batch becomes a full reload. */
export const MAX_PENDING_PATHS = 1_000;
/** Overlays held at once; beyond this the oldest is dropped (its file is served from disk again). */
export const MAX_OVERLAYS = 1_000;
/** Pages remembered as "live reload is blocked by its CSP, said so"; beyond this, said again. */
export const MAX_CSP_WARNINGS = 1_000;
/** Continuous changes still flush this long after the first one, however short the gaps. */
export const MAX_DEBOUNCE_WAIT_MS = 1_000;
/**
 * The leading edge's files have settled after this long without another change (capped by
 * `debounceMs`): an editor's save is several file-system events (truncate, write, rename of a
 * temporary, its deletion) that arrive within a millisecond or two of each other on a quiet
 * machine (measured: 0.1–2 ms for files up to 200 KiB, up to 60 ms between the 512 KiB chunks of a
 * 3 MiB write on a loaded one). A file that is empty at its last event has not settled (an
 * in-place save truncates it first, and its write may come later than this under load): it waits
 * for its bytes, at most MAX_EMPTY_FILE_WAIT_MS (and `debounceMs`) after the first change. A change written in place is sent at once and the site's requests
 * wait for the settle (a page reloads in 10 ms or more: its request comes when the save is over);
 * any other first change is sent once settled, so one save is one event and a page is never
 * answered between a truncation and the write. A writer slower than this gets a trailing event with
 * its final content.
 */
export const SETTLE_MS = 8;
/**
 * The most a settle may last after the first change of a save (ms; `debounceMs` when that is
 * less), however often its files change meanwhile: while it lasts, the site's GET and HEAD
 * requests wait. As MAX_DEBOUNCE_WAIT_MS for the debounce: a file written without pause (another
 * tool's log) must not hold the site for a long `--reload-debounce`.
 */
export const MAX_SETTLE_WAIT_MS = 1_000;
/**
 * The most a file that stays empty keeps a settle going, after the first change (ms; `debounceMs`
 * when that is less). An empty file is taken for a save that truncated it and has not written
 * yet, but many stay empty (`touch app.lock`, a `.gitkeep`, a build step that truncates its
 * output first): with `--reload-debounce 3000` each such change held every request of the site
 * for 3 s (helper-55). A save slower than this gets the trailing event with its final content.
 */
export const MAX_EMPTY_FILE_WAIT_MS = 250;
/** Files whose size and mtime the leading edge checks are still before it settles; past this, not checked. */
export const MAX_SETTLE_CHECKS = 64;

const STYLESHEET_EXTENSIONS = new Set(['.css']);
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.avif', '.svg', '.ico', '.bmp']);
/**
 * Sources a build turns into the files pages load (Sass, Less, Stylus, TypeScript, JSX, Vue,
 * Svelte, CoffeeScript, Pug): saved, they change no page by themselves; the build's output does,
 * a moment later (a stylesheet swapped in place, a script that reloads). Reloading every page for
 * them threw away the state a stylesheet's swap keeps (Live Server ignores `*.scss`, `*.sass` and
 * `*.ts` by default). Once a request asked for one (servedSources), its change reloads every page
 * as any file's; else its event (`source`) reloads only a page that loaded one from the browser's
 * cache itself (less.js, Babel in the browser, a fetch), which the page knows.
 */
const SOURCE_EXTENSIONS = new Set(['.scss', '.sass', '.less', '.styl', '.ts', '.tsx', '.mts', '.cts', '.jsx', '.vue', '.svelte', '.coffee', '.pug']);
/** The longest of SOURCE_EXTENSIONS, dot included (a cheap first test for every request's file). */
const MAX_SOURCE_EXTENSION_LENGTH = 7;
/** Build sources remembered as served (servedSources): a site's own, with room to spare; a bound on memory. */
const MAX_SERVED_SOURCES = 10_000;
/** Files whose source map (`name.map` beside `name`) only developer tools read. */
const SOURCE_MAPPED_EXTENSIONS = new Set(['.css', '.js', '.mjs', '.cjs']);
/** The suffixes of a file's precompressed copy (`s.css.br`), which the server sends for it. */
const PRECOMPRESSED_EXTENSIONS = new Set(['.br', '.gz']);

/**
 * The path (`/s.css`) whose change a page sees when the file at `p` changed: `p` itself; for a
 * precompressed copy (`/s.css.br`, `/s.css.gz`: the server answers `/s.css` with it when the
 * browser accepts its coding) the file it is a copy of; undefined for a source map of a stylesheet
 * or a script (`/s.css.map`), which no page shows. A compiler (Sass, PostCSS, Less, a bundler)
 * writes the stylesheet with its map, or its `.br`/`.gz`, in one go: counting those as pages'
 * files reloaded the whole page where the stylesheet alone could be swapped in place.
 */
function shownAs(p: string): string | undefined {
  const ext = extname(p).toLowerCase();
  const inner = p.slice(0, p.length - ext.length);
  if (ext === '.map' && SOURCE_MAPPED_EXTENSIONS.has(extname(inner).toLowerCase())) return undefined;
  if (PRECOMPRESSED_EXTENSIONS.has(ext) && extname(inner) !== '') return inner;
  return p;
}
/**
 * The client script is fresh this long in the browser's cache (`Cache-Control: max-age`), so a
 * reloaded page runs it from there instead of revalidating it first: it sits in the page's head
 * before the page's own scripts (console forwarding), and a revalidation was a round trip every
 * reload waited for before the page's first script. A copy cached from another Porthole version
 * learns so from the `hello` and fetches the server's (live-reload-client). A day: the cost of a
 * longer one is a copy of ours answering a user's own file at that path once live reload is
 * turned off (README, "/__porthole/").
 */
export const CLIENT_MAX_AGE_S = 86_400;
/** The client script's Cache-Control (a configured one wins), and with each configured list (by its identity). */
const CLIENT_CACHE_CONTROL: ReadonlyHeaderList = Object.freeze([Object.freeze(['Cache-Control', `max-age=${CLIENT_MAX_AGE_S}`] as const)]);
const clientHeaderLists = new WeakMap<ReadonlyHeaderList, ReadonlyHeaderList>();
/** The client script and its source map as served: made with the client (liveReloadClient), on first use. */
let clientRepresentations: { readonly script: Representation; readonly map: Representation } | undefined;

/**
 * The client script, served from memory with a strong tag of its version, and its source map
 * (DevTools leaves its frames out), tagged with the same version.
 */
function clientRepresentation(which: 'script' | 'map'): Representation {
  if (clientRepresentations === undefined) {
    const { version, script, sourceMap } = liveReloadClient();
    clientRepresentations = {
      script: inMemory('text/javascript; charset=utf-8', Buffer.from(script, 'utf8'), {
        etag: `"porthole-client-${version}"`,
        lastModifiedSec: undefined,
        lastModified: undefined,
      }),
      map: inMemory('application/json; charset=utf-8', Buffer.from(sourceMap, 'utf8'), {
        etag: `"porthole-client-map-${version}"`,
        lastModifiedSec: undefined,
        lastModified: undefined,
      }),
    };
  }
  return clientRepresentations[which];
}

export interface LiveReloadSetup {
  /** The root as configured (absolute). */
  readonly root: string;
  /** The instance id (SharedInstance.instanceId); default: a new random UUID. */
  readonly instanceId?: string | undefined;
  readonly files: StaticOptions;
  readonly hosts: HostPolicy;
  readonly reload: ReloadOptions;
  /** The server's request log: its changes never reload pages. */
  readonly logFile: string | undefined;
  /**
   * The server reads the root's porthole.config.json: an edit of it (or of the file it links to)
   * reloads pages once the server has applied it (configApplied), not as a change of a file,
   * which reloaded them before the file was read again, under the old settings (helper-144: an
   * edited header was never seen).
   */
  readonly configFile?: boolean;
  /** The server speaks TLS (pages are https, the client's socket wss). */
  readonly secure?: boolean;
  /**
   * Routes go to a back-end (`--proxy`): it may make pages from any file of the folder (its own
   * sources, compiled on the fly), so a build source's change reloads every page, as any file's.
   */
  readonly proxied?: boolean;
  /** Channels (event streams, WebSockets) one client address may hold (ServerOptions.limits.maxEventStreamsPerClient). */
  readonly maxStreamsPerClient: number;
  readonly diagnostic: (level: DiagnosticLevel, message: string) => void;
  /** What pages forward of their console now (ServerOptions.consoleForward; a getter: it changes live). */
  readonly consoleForward: ConsoleForward;
  /** A console entry a page forwarded (sanitised and bounded, see console-forward). */
  readonly onConsole?: (entry: ConsoleEntry) => void;
  /** The client's host name when already known (the request log's cache). */
  readonly hostFor?: (ip: string) => string | undefined;
}

/** What one debounce window sends. */
export type ReloadEvent =
  | { readonly kind: 'reload'; readonly paths: readonly string[] }
  | { readonly kind: 'css'; readonly paths: readonly string[] }
  | { readonly kind: 'img'; readonly paths: readonly string[] }
  /** Build sources (SOURCE_EXTENSIONS): a page reloads only when it loaded one of them. */
  | { readonly kind: 'source'; readonly paths: readonly string[] };

type Phase = 'created' | 'running' | 'closed';

export class LiveReload {
  /**
   * Changes with each server start (shared by the processes of one --workers server): a client
   * that reconnects to another instance reloads. Also the key of pages' nonces (HMAC), so a
   * random UUID, made on first use (a page served, a client connected): node:crypto is not
   * loaded by a start that serves no page yet (node-crypto.ts).
   */
  get instanceId(): string {
    return (this.madeInstanceId ??= this.setup.instanceId ?? nodeCrypto().randomUUID());
  }
  private madeInstanceId: string | undefined;
  private phase: Phase = 'created';
  private readonly clients = new Set<ReloadChannel>();
  /** Open channels per client address: one address may not take every slot. */
  private readonly perAddress = new Map<string, number>();
  private readonly overlays = new Map<string, string>();
  private readonly pending = new Set<string>();
  /**
   * The files of pending paths that lie in a mount (the URL path without its leading `/` → the
   * absolute file), for stillThere and the page plans; cleared with the pending paths.
   */
  private readonly mountedFiles = new Map<string, string>();
  /** Events sent so far: each event carries it as its `id:`, `hello` and served pages too. */
  private generation = 0;
  private overflow = false;
  /** The one timer of the schedule: the settle, a trailing window's debounce or its end. */
  private debounceTimer: NodeJS.Timeout | undefined;
  /** The leading batch's flush at once, at the end of the turn its first change came in. */
  private atOnce: NodeJS.Immediate | undefined;
  /**
   * `leading`: nothing sent within the last `debounceMs`; `settling`: the leading event went out
   * at once and its files are still settling (requests wait); `trailing`: see the class comment.
   */
  private edge: 'leading' | 'settling' | 'trailing' = 'leading';
  /** Changes wait (pending paths, overflow or an outside change) since firstPendingAt. */
  private batchOpen = false;
  private firstPendingAt = 0;
  /** The open leading batch began with a change written in place: it goes out at once. */
  private batchAtOnce = false;
  /** Settling: what the event sent at once named (root-relative paths; `all`: overflow or an outside change). */
  private readonly sentAtOnce = { paths: new Set<string>(), all: false };
  /** Leading edge and settling: `size:mtimeMs` of each changed file at its last event (absolute path → stamp). */
  private readonly settleStamps = new Map<string, string>();
  /** Requests waiting for the leading edge's files to settle (holdWhileSettling), in arrival order. */
  private held: Array<() => void> = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private watcher: RootWatcher | undefined;
  private readonly extraWatchers: RootWatcher[] = [];
  /** A change in a watchPaths folder is waiting in the debounce: the batch is a full reload. */
  private outsideChange = false;
  private readonly ignored: PathMatcher;
  private readonly logPaths = new Set<string>();
  /**
   * The log file's identity (device, inode and birth time; read at start, and again each time the
   * log is made again after a removal: logFileIs): the server goes on writing the file
   * it opened when it is renamed (logrotate without copytruncate, `mv access.log access.log.1`), and
   * under its new name each line written would reload pages, whose requests write more lines. The
   * birth time tells the log from a file given its inode number after it was removed (ext4 gives a
   * freed number to the next file made: a new page, whose saves then reloaded nothing).
   */
  private logIdentity: LogIdentity | undefined;
  /** Pages whose CSP blocks live reload, already said (once per page). */
  private readonly cspWarned = new Set<string>();
  private readonly notInjectedWarned = new Set<string>();
  private readonly pages: PageContext;
  /** Pages' console budget: per client address across its connections, and server-wide (console-forward). */
  private readonly consoleBudget: ConsoleBudget;
  /** Called with every event sent (tests, diagnostics). */
  onEvent: ((event: ReloadEvent) => void) | undefined;
  /** Called with the generation each event sent makes (the CLI's --workers pass it to the others: catchUp). */
  onGeneration: ((generation: number) => void) | undefined;
  /** Called with the number of connected pages whenever a page connects or goes away. */
  onPagesChanged: ((connected: number) => void) | undefined;

  constructor(private readonly setup: LiveReloadSetup) {
    this.ignored = compileGlobs(setup.reload.ignore);
    this.consoleBudget = new ConsoleBudget((entry) => setup.onConsole?.(entry), setup.hostFor);
    if (setup.logFile !== undefined) this.logPaths.add(resolve(setup.logFile));
    const overlays = this.overlays;
    const generation = (): number => this.generation;
    const instanceId = (): string => this.instanceId;
    this.pages = {
      // A getter: the server may reconfigure its static options while running.
      get files() {
        return setup.files;
      },
      rootGiven: resolve(setup.root),
      get overlayCount() {
        return overlays.size;
      },
      overlayFor: (p) => overlays.get(resolve(p)),
      get instanceId() {
        return instanceId();
      },
      get generation() {
        return generation();
      },
      get consoleForward() {
        return setup.consoleForward;
      },
      secure: setup.secure === true,
      reportCspBlocked: (pagePath, reason) => this.cspBlocked(pagePath, reason),
      reportNotInjected: (pagePath, reason) => this.notInjected(pagePath, reason),
    };
  }

  /**
   * The client tag for a page the server makes itself (the built-in 404 page, a folder listing)
   * when `ex` is a top-level navigation, else undefined: such a page reloads too, so the tab shows
   * the missing page once it is made, or the file just added to the folder (helper-49: those tabs
   * never refreshed). The pages are Porthole's own HTML, so the tag goes before their `</body>`.
   */
  generatedPageTag(ex: Exchange): string | undefined {
    if (this.phase === 'closed') return undefined;
    // A navigation gets the page with the tag, any other request the page without: the answer
    // names what chose, whatever the URL looks like (helper-178: a 404 for `/nope.txt` had none).
    ex.addVary(PAGE_VARY);
    // No configured Content-Type or Content-Disposition relabels them (Exchange.bodyOrigin, error
    // statuses): they go as the HTML pages they are.
    if (!isNavigationRequest(ex.head.headers)) return undefined;
    return generatedClientTag(ex, this.pages);
  }

  /** The site's own 404 page with the client in it, for a navigation (notFoundPageWithClient), else undefined. */
  notFoundPage(ex: Exchange, body: Buffer, type: string): Promise<Buffer | undefined> {
    if (this.phase === 'closed') return Promise.resolve(undefined);
    // A navigation may get the page with the tag (notFoundPageWithClient), any other request not: the answer says so.
    ex.addVary(PAGE_VARY);
    return notFoundPageWithClient(ex, body, type, this.pages);
  }

  // A warning names a page by its path cut as the request line cuts its target (cutForDisplay): a
  // proxied page's path is whatever the client asked for (a 6 KB `/app/aaaa…` printed a 6 KB line
  // on stderr per request); the log file keeps it whole.

  /** Says once per page (Output channel, CLI) that its Content-Security-Policy blocks live reload. */
  private cspBlocked(pagePath: string, reason: string): void {
    this.warnOnce(this.cspWarned, pagePath, `live reload is blocked by the Content-Security-Policy of ${cutForDisplay(pagePath)}: ${reason}`);
  }

  /**
   * Says once per page (Output channel, CLI) that a page a navigation asked for went out without
   * the client, and why (too big to parse, an encoding the tag cannot be spliced into, a back-end
   * that compressed it anyway): the tab will not reload by itself, and without a word that looked
   * like live reload being broken (helper-55). A page that opted out is not said.
   */
  notInjected(pagePath: string, reason: string): void {
    this.warnOnce(this.notInjectedWarned, pagePath, `live reload is not in ${cutForDisplay(pagePath)}: ${reason}; reload that page by hand`);
  }

  /** `message` as a warning, once per `pagePath` in `said` (at most MAX_CSP_WARNINGS kept, then forgotten). */
  private warnOnce(said: Set<string>, pagePath: string, message: string): void {
    if (said.has(pagePath)) return;
    if (said.size >= MAX_CSP_WARNINGS) said.clear();
    said.add(pagePath);
    // Paths and host names come from requests: nothing that could steer a terminal gets through.
    // The one escape every other line uses (ESC as \x1b, as the README shows), not a set of its own.
    this.setup.diagnostic('warn', escapeForDisplay(message));
  }

  /** Installs the reserved endpoints and the HTML filter. */
  attach(ctx: PageHooks): void {
    ctx.reserved = (ex, path) => this.handleReserved(ex, path);
    ctx.htmlFilter = (ex) => this.phase !== 'closed' && filterPage(ex, this.pages);
    ctx.hold = (resume) => this.holdWhileSettling(resume);
    ctx.holding = () => this.settling;
  }

  /** Changed files are settling: the site's GET and HEAD requests wait (holdWhileSettling). */
  get settling(): boolean {
    return this.phase !== 'closed' && (this.edge === 'settling' || (this.edge === 'leading' && this.batchOpen));
  }

  /**
   * While the first change after a quiet spell settles (the leading edge, at most `debounceMs`
   * after it), takes `resume` and returns true: it runs, in arrival order, once the changed files
   * have settled (and after the event that follows, if any). Returns false otherwise (the caller
   * goes on at once). The request handler calls it for the site's GET and HEAD requests, so a page
   * reloaded by an event sent at once is answered with the whole save.
   */
  holdWhileSettling(resume: () => void): boolean {
    if (!this.settling) return false;
    this.held.push(resume);
    return true;
  }

  /** Requests waiting now for the leading edge's files to settle (tests, diagnostics). */
  get heldRequests(): number {
    return this.held.length;
  }

  /** Answers the held requests (the files settled, or the schedule ended). */
  private release(): void {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    for (const resume of held) resume();
  }

  /** Resolves the log file's real path and, when `reload.watch`, starts watching the root. */
  async start(): Promise<void> {
    if (this.phase !== 'created') return;
    if (this.setup.logFile !== undefined) {
      const real = await realpath(this.setup.logFile).catch(() => undefined);
      if (real !== undefined) this.logPaths.add(real);
      const st = await stat(this.setup.logFile, { bigint: true }).catch(() => undefined);
      if (st !== undefined) this.logIdentity = { dev: st.dev, ino: st.ino, birthtimeNs: st.birthtimeNs };
    }
    if ((this.phase as Phase) === 'closed') return;
    this.phase = 'running';
    if (this.setup.reload.watch) {
      const root = this.setup.files.rootReal;
      this.watcher = watchRoot(
        root,
        (path, inPlace) => this.fileChanged(resolve(path), inPlace),
        (message) => this.setup.diagnostic('warn', message),
        (path) => this.unwatched(root, path, []),
        // A link is watched where the server serves through it, by the rule a request meets (a
        // link out of the root with followSymlinks is walked into; one to a hidden name never).
        (real) => this.servedAs(real, root),
      );
    }
    this.watchExtraFolders();
  }

  /**
   * The static options changed (PreviewServer's reconfigure): with dotfiles or followSymlinks
   * turned on, the hidden folders and those behind links out of the root that the watcher left
   * out are served now, so the tree is walked again.
   */
  filesChanged(): void {
    if (this.phase !== 'running') return;
    this.watcher?.rewalk();
    for (const w of this.extraWatchers) w.rewalk();
  }

  /** Watches each `reload.watchPaths` folder (also when the host watches the root itself). */
  private watchExtraFolders(): void {
    for (const folder of this.setup.reload.watchPaths) {
      const base = resolve(folder);
      this.extraWatchers.push(
        watchRoot(
          base,
          (path, inPlace) => this.outsideChanged(base, resolve(path), inPlace),
          // Named once: a message that names a folder (one it may not read) names this one's already.
          (message) => this.setup.diagnostic('warn', message.includes(base) ? message : `${message} (${base})`),
          (path) => this.unwatched(base, path, this.mountOf(base)?.segments),
          // Links judged as the server does: a mount's as the root's (served under its prefix); a
          // --watch folder's always followed and walked (every change under it is the point:
          // partials → ../shared).
          (real) => this.mountOf(base) === undefined || this.servedAs(real, base),
        ),
      );
    }
  }

  /**
   * The watcher's `skip` for `path` under the watched folder `base` (the root, a mount's folder or
   * a --watch folder): true when nothing in it could reload a page, so it is neither walked nor
   * watched (filesChanged walks again when that changes). An ignore glob covers it (relative to
   * `base`); or `base` is served under the URL prefix `prefix` (none for the root; undefined: a
   * --watch folder, not served, where every change is the point) and the server refuses it as
   * hidden (.venv, .next, .cache with dotfiles off), judged where its requests are: a mount's
   * `.well-known` is hidden as any dot name, only the root's is served.
   */
  private unwatched(base: string, path: string, prefix: readonly string[] | undefined): boolean {
    const rel = relative(base, path).split(sep).join('/');
    if (this.ignored(rel)) return true;
    if (rel === '' || prefix === undefined) return false;
    return hiddenSegmentsReason(rel.split('/'), this.setup.files.dotfiles, sep === '\\', prefix.length) !== undefined;
  }

  /** The mount whose folder is `base` (a real path), if any (the first, when several prefixes mount it). */
  private mountOf(base: string): { readonly segments: readonly string[] } | undefined {
    return (this.setup.files.mounts ?? []).find((m) => m.real === base);
  }

  /**
   * A change under a watchPaths folder; its ignore globs apply relative to that folder.
   * `inPlace`: a file's content was written (not an entry made, renamed or deleted).
   */
  private outsideChanged(base: string, abs: string, inPlace: boolean): void {
    if (this.phase === 'closed') return;
    const real = LiveReload.realPathOf(abs);
    if (this.isLogFile(abs, real)) return;
    const rel = relative(base, abs).split(sep).join('/');
    if (rel !== '' && this.ignored(rel)) return;
    // Editors' temporary, swap and lock files reload nothing here either (as under the root).
    if (isEditorTempFile(rel.split('/').pop() ?? '')) return;
    // A mount is served: what it would not serve (hidden, a link out of it) reloads nothing, as
    // under the root. A --watch folder is not served, and every change there is the point.
    const mounts = rel === '' ? [] : (this.setup.files.mounts ?? []).filter((m) => m.real === base);
    if (mounts.length > 0) {
      // Judged under its prefix, as its requests are (`/vendor/.well-known/x` is hidden there).
      if (!this.mayAffectPages(rel, mounts[0]?.segments) || !this.servedAs(real, base)) return;
      // Named by the URL path pages load it by (`vendor/lib.css` for /vendor; under each prefix
      // that mounts this folder): a stylesheet or an image of a mount is swapped in place as the
      // root's are, never a reload of the whole page.
      for (const mount of mounts) {
        const served = [...mount.segments, rel].join('/');
        if (this.pending.size >= MAX_PENDING_PATHS) this.overflow = true;
        else {
          this.pending.add(served);
          this.mountedFiles.set(served, abs);
        }
      }
      this.stamp(abs);
      this.schedule(inPlace);
      return;
    }
    this.outsideChange = true;
    this.stamp(abs);
    this.schedule(inPlace);
  }

  /**
   * The server applied an edit of the configuration file (setup.configFile): every page reloads
   * now, under the new settings, as for a change of a file.
   */
  configApplied(): void {
    if (this.phase !== 'running') return;
    // As a change outside the root reloads: no path named (a removed file's would be dropped as
    // gone, and the reload with it: helper-145, a deleted file's settings never reached the page).
    this.outsideChange = true;
    this.schedule(true);
  }

  /** Files changed (absolute paths), as an editor or another watcher saw them. */
  notifyChanged(paths: readonly string[]): void {
    for (const p of paths) this.fileChanged(resolve(p));
  }

  /**
   * The editor's unsaved text for an absolute path (undefined drops it). Served instead of the
   * file's bytes, and counted as a change of that file (no separate notifyChanged needed).
   */
  setOverlay(path: string, text: string | undefined): void {
    if (this.phase === 'closed') return;
    const key = resolve(path);
    const before = this.overlays.get(key);
    if (text === undefined) {
      if (!this.overlays.delete(key)) return;
    } else {
      if (before === text) return;
      this.overlays.delete(key);
      this.overlays.set(key, text);
      if (this.overlays.size > MAX_OVERLAYS) {
        const oldest = this.overlays.keys().next();
        if (oldest.done !== true) this.overlays.delete(oldest.value);
      }
    }
    this.fileChanged(key);
  }

  /**
   * A page served by something other than the files (a proxied back-end's HTML) with the client
   * injected and room made for it in `headerPolicies` (the response's Content-Security-Policy
   * values) and the page's CSP metas (injectForeignPage); `contentType` is the response's
   * Content-Type (a page whose charset is not ASCII-compatible is refused). Undefined once closed.
   */
  async injectForeignPage(
    html: Buffer,
    headerPolicies: readonly HeaderPolicy[],
    host: string,
    pagePath: string,
    contentType: string | undefined,
  ): Promise<ForeignPage | { readonly refused: string; readonly optedOut: boolean } | undefined> {
    return this.phase === 'closed' ? undefined : injectForeignPage(html, headerPolicies, host, pagePath, contentType, this.pages);
  }

  /** Pages connected now, over the WebSocket or the event stream (each open tab, preview or device is one). */
  get connectedPages(): number {
    return this.clients.size;
  }

  /**
   * Tells every connected page to go to `path` (an origin-form path such as `/about.html`,
   * optionally with a query; RFC 9112 §3.2.1): a `navigate` event (data: {"path": …}). The page
   * resolves it against its own origin, so each device stays on the host name it used. Not a
   * change of the site: the generation is unchanged. Returns the number of pages told; a path that
   * is not origin-form (no leading `/`, or `//`, a space, a control or non-ASCII character, `\`)
   * is refused (0).
   */
  navigate(path: string): number {
    // Printable ASCII (a URL's path and query are percent-encoded), no backslash, not `//host`.
    if (this.phase !== 'running' || !/^\/(?!\/)[!-~]*$/.test(path) || path.includes('\\')) return 0;
    const told = this.clients.size;
    this.setup.diagnostic('debug', `live reload: navigate ${path} (${countOf(told, 'page')})`);
    this.broadcast((client) => client.send({ type: 'navigate', path }));
    return told;
  }

  /**
   * Tells every connected page what to forward of its console from now on (`{"type":"console",
   * "forward":"all"}`): `off` unhooks it. Call after the setup's `consoleForward` changed.
   */
  consoleForwardChanged(): void {
    if (this.phase !== 'running') return;
    const forward = this.setup.consoleForward;
    this.broadcast((client) => client.send({ type: 'console', forward }));
  }

  /** Ends every channel (WebSockets, event streams), stops watching; idempotent. */
  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.watcher?.close();
    this.watcher = undefined;
    for (const w of this.extraWatchers.splice(0)) w.close();
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    this.debounceTimer = undefined;
    if (this.atOnce !== undefined) clearImmediate(this.atOnce);
    this.atOnce = undefined;
    this.stopHeartbeat();
    const hadPages = this.clients.size > 0;
    for (const client of [...this.clients]) client.end();
    this.clients.clear();
    this.perAddress.clear();
    this.consoleBudget.close();
    if (hadPages) this.onPagesChanged?.(0);
    this.overlays.clear();
    this.pending.clear();
    this.mountedFiles.clear();
    this.settleStamps.clear();
    // Their answers go on without live reload (the filter is off once closed).
    this.release();
  }

  // ---- changes -------------------------------------------------------------------------------

  /**
   * True when `abs` is the request log, by its path or by its real path (`real`: realPathOf(abs)),
   * or by its identity (logIdentity: the log renamed):
   * a change reported under a symbolic link (a link to the log's folder) names the log by another
   * path, and each line written would reload pages, whose requests write more lines (helper-49:
   * 40 reloads in 5 s).
   */
  private isLogFile(abs: string, real: string | undefined): boolean {
    if (this.logPaths.size === 0) return false;
    if (this.logPaths.has(abs) || (real !== undefined && this.logPaths.has(real))) return true;
    // The log under another name (renamed, or a hard link): the same file (logIdentity).
    const id = this.logIdentity;
    if (id === undefined) return false;
    // Not only ENOENT: a folder on the way that is a file now (`rm -rf a && echo > a` while a
    // change under a/ waits) threw ENOTDIR out of the watcher's flush and stopped the server.
    let st: BigIntStats | undefined;
    try {
      st = statSync(real ?? abs, { bigint: true, throwIfNoEntry: false });
    } catch {
      return false;
    }
    // A birth time of 0 is unknown (a file system without one): device and inode alone then.
    return st !== undefined && st.ino === id.ino && st.dev === id.dev && (st.birthtimeNs === 0n || id.birthtimeNs === 0n || st.birthtimeNs === id.birthtimeNs);
  }

  /**
   * The request log was made again after a removal (RequestLogEvents.file): `st` is the file now
   * written (bigint Stats), known as the log by its identity from now on, also once renamed.
   */
  logFileIs(st: BigIntStats): void {
    this.logIdentity = { dev: st.dev, ino: st.ino, birthtimeNs: st.birthtimeNs };
  }

  /**
   * What `abs` really is: its real path (realpath(3), one per change), or, once it is gone (a
   * deletion, a temporary renamed away), its folder's real path and its name; undefined when
   * neither can be read.
   */
  private static realPathOf(abs: string): string | undefined {
    try {
      return realpathSync.native(abs);
    } catch {
      try {
        return join(realpathSync.native(dirname(abs)), basename(abs));
      } catch {
        return undefined;
      }
    }
  }

  /**
   * True when a request could be answered with what `real` (realPathOf) is, below `baseReal` (the
   * root's or a mount's real path): judged as a request's file is when opened (judgeRealPath),
   * so a link out of the folder counts only with followSymlinks, and a link to a hidden name
   * (`config.txt` → `.env`, a folder in `~/.ssh`) never does. Change events name paths and
   * reach every connected page, a shared one's too: a change of what the server refuses to
   * serve must send nothing (helper-54: the names and times of files outside the root, through
   * a link to their folder, were sent to every page while each was a 404). Nor does a change of a
   * file never served (neverServed: the HTTPS key beside the pages).
   */
  private servedAs(real: string | undefined, baseReal: string): boolean {
    if (real === undefined) return false;
    const files = this.setup.files;
    // A mount's folder is served under its prefix: a `.well-known` at its top is hidden there.
    const verdict = judgeRealPath(real, baseReal, { ...files, underPrefix: baseReal !== files.rootReal });
    return (verdict.kind === 'inside' || (verdict.kind === 'outside' && files.followSymlinks)) && !LiveReload.neverServed(real, files);
  }

  /**
   * True when `real` is a file no client is ever sent (the HTTPS key and passphrase files,
   * loopback-only.ts), by its identity or, once it is gone or replaced, by its real path: `mkcert`
   * run again beside the pages sent every page `/localhost-key.pem`, a file whose request is a 404.
   * One stat, only when the server has such files.
   */
  private static neverServed(real: string, files: StaticOptions): boolean {
    const guarded = files.neverServed;
    if (guarded === undefined || guarded.size === 0) return false;
    let id: { dev: number; ino: number } = { dev: -1, ino: -1 };
    try {
      id = statSync(real, { throwIfNoEntry: false }) ?? id;
    } catch {
      // Judged by its real path alone.
    }
    return guarded.has(id, real);
  }

  /** The root-relative path (`/` separators) of an absolute path inside the root, else undefined. */
  private relativeToRoot(absolutePath: string): string | undefined {
    for (const base of [this.setup.files.rootReal, this.pages.rootGiven]) {
      const rel = relative(base, absolutePath);
      if (rel === '') return '';
      // Outside is `..` or `../…`; a file named `..foo.html` inside the root is not.
      const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
      if (!outside) return sep === '/' ? rel : rel.split(sep).join('/');
    }
    return undefined;
  }

  /**
   * A change of `abs`, an absolute path already `resolve`d. `inPlace`: a file's content was written
   * (fs.watch `change`, the editor's saves and overlays), not an entry made, renamed or deleted.
   */
  private fileChanged(abs: string, inPlace = true): void {
    if (this.phase === 'closed') return;
    const rel = this.relativeToRoot(abs);
    if (rel === undefined) {
      // A file of a watched folder outside the root (a mount, --watch): the editor's overlay or
      // save of it reloads pages as the folder's own watcher would.
      const base = this.setup.reload.watchPaths.map((p) => resolve(p)).find((b) => abs === b || abs.startsWith(b.endsWith(sep) ? b : b + sep));
      if (base !== undefined) this.outsideChanged(base, abs, inPlace);
      return;
    }
    if (rel !== '' && (this.ignored(rel) || !this.mayAffectPages(rel))) return;
    const real = LiveReload.realPathOf(abs);
    if (this.setup.configFile === true && (rel === CONFIG_FILE_NAME || (real !== undefined && real === LiveReload.realPathOf(join(this.setup.root, CONFIG_FILE_NAME))))) return;
    if (this.isLogFile(abs, real)) return;
    if (rel !== '' && !this.servedAs(real, this.setup.files.rootReal)) return;
    if (this.pending.size >= MAX_PENDING_PATHS) this.overflow = true;
    else this.pending.add(rel);
    this.stamp(abs);
    this.schedule(inPlace);
  }

  /** Leading edge and settling: the file's size and mtime now, checked again when it settles. */
  private stamp(abs: string): void {
    if (this.edge !== 'trailing' && (this.settleStamps.has(abs) || this.settleStamps.size < MAX_SETTLE_CHECKS)) {
      this.settleStamps.set(abs, fileStamp(abs));
    }
  }

  /**
   * A change arrived: on the leading edge, opens a batch that goes out at once (`inPlace`: at the
   * end of this turn) or starts or extends its settle (SETTLE_MS of quiet, at most `debounceMs`
   * after the first change); while settling, extends the settle; on the trailing edge, starts or
   * extends the window's debounce (`debounceMs` of quiet, at most MAX_DEBOUNCE_WAIT_MS after the
   * first change).
   */
  private schedule(inPlace: boolean): void {
    const now = Date.now();
    if (this.edge === 'settling') {
      this.arm(this.settleDelay(now));
      return;
    }
    if (!this.batchOpen) {
      this.batchOpen = true;
      this.firstPendingAt = now;
      this.batchAtOnce = this.edge === 'leading' && inPlace;
    }
    if (this.edge === 'leading' && this.batchAtOnce) {
      // After the events read in this turn (setImmediate runs once the poll phase is done; a
      // 0 ms timer would wait for the next millisecond). Never unref'd: an unref'd immediate set
      // from the check phase (the Linux watcher hands its changes on from an immediate of its
      // own) lets the next poll sleep until something else wakes the loop, so on an idle server
      // the event waited for the next save or the 15 s heartbeat. It keeps the process alive for
      // one turn at most (close() clears it).
      this.atOnce ??= setImmediate(() => {
        this.atOnce = undefined;
        this.timerFired();
      });
      return;
    }
    const { debounceMs } = this.setup.reload;
    this.arm(this.edge === 'leading' ? this.settleDelay(now) : Math.max(0, Math.min(debounceMs, this.firstPendingAt + MAX_DEBOUNCE_WAIT_MS - now)));
  }

  /**
   * What is left of the leading edge's settle: SETTLE_MS, within `debounceMs` and
   * MAX_SETTLE_WAIT_MS of its first change (ms, ≥ 0).
   */
  private settleDelay(now = Date.now()): number {
    const bound = Math.min(this.setup.reload.debounceMs, MAX_SETTLE_WAIT_MS);
    return Math.max(0, Math.min(SETTLE_MS, this.firstPendingAt + bound - now));
  }

  /** True while a file still empty keeps the settle going (MAX_EMPTY_FILE_WAIT_MS after the first change). */
  private waitsForEmptyFiles(now = Date.now()): boolean {
    return now - this.firstPendingAt < Math.min(this.setup.reload.debounceMs, MAX_EMPTY_FILE_WAIT_MS);
  }

  /**
   * A file of the leading edge still being written (its last event not read yet): waits once
   * more, within `debounceMs` of the first change; true when it does.
   */
  private waitingToSettle(): boolean {
    if (this.settled()) return false;
    const wait = this.settleDelay();
    if (wait === 0) return false;
    this.arm(wait);
    return true;
  }

  private arm(wait: number): void {
    if (this.debounceTimer !== undefined) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.timerFired(), wait);
    this.debounceTimer.unref();
  }

  /**
   * The leading batch's turn ended (flush at once), its settle or a trailing debounce ended
   * (flush), or a trailing window ended quietly.
   */
  private timerFired(): void {
    this.debounceTimer = undefined;
    if (this.phase === 'closed') return;
    const { debounceMs } = this.setup.reload;
    if (this.edge === 'settling') {
      if (this.waitingToSettle()) return;
      this.settleStamps.clear();
      // Every page the save touched has settled: sent at once or changed since.
      this.prepare(new Set([...this.sentAtOnce.paths, ...this.pending]));
      // What changed meanwhile beyond what was sent at once goes out now, as one more event.
      for (const rel of this.sentAtOnce.paths) this.pending.delete(rel);
      if (this.sentAtOnce.all) {
        this.overflow = false;
        this.outsideChange = false;
      }
      this.sentAtOnce.paths.clear();
      this.sentAtOnce.all = false;
      this.flush();
      this.edge = 'trailing';
      this.arm(debounceMs);
      this.release();
      return;
    }
    if (!this.batchOpen) {
      this.edge = 'leading';
      return;
    }
    if (this.edge === 'leading' && this.batchAtOnce) {
      this.batchOpen = false;
      const sent = [...this.pending];
      const all = this.overflow || this.outsideChange;
      if (this.flush()) {
        // Requests wait while the files settle; what else changes meanwhile is coalesced.
        this.edge = 'settling';
        for (const rel of sent) this.sentAtOnce.paths.add(rel);
        this.sentAtOnce.all = all;
        this.arm(this.settleDelay());
      } else {
        this.settleStamps.clear();
        this.release();
      }
      return;
    }
    if (this.edge === 'leading' && this.waitingToSettle()) return;
    this.settleStamps.clear();
    this.batchOpen = false;
    this.prepare(this.pending);
    if (this.flush()) {
      // Changes within the next debounceMs are coalesced into one trailing event.
      this.edge = 'trailing';
      this.arm(debounceMs);
    } else {
      this.edge = 'leading';
    }
    this.release();
  }

  /** True when no file of the leading edge changed size or mtime since its last event (updates the stamps). */
  private settled(): boolean {
    let same = true;
    const emptyWaits = this.waitsForEmptyFiles();
    for (const [abs, stamp] of this.settleStamps) {
      const now = fileStamp(abs);
      if (now !== stamp) {
        this.settleStamps.set(abs, now);
        same = false;
      } else if (emptyWaits && now.startsWith(EMPTY_STAMP_PREFIX)) {
        // Empty at its last event and still: an in-place save truncates before it writes, and
        // its write may come later than SETTLE_MS on a loaded machine (MAX_EMPTY_FILE_WAIT_MS).
        same = false;
      }
    }
    return same;
  }

  /**
   * False for a change no page can see: an editor's temporary file, or a path the server would
   * not serve (hidden: dotfiles off, `.git`), checked with the request path rules themselves.
   * `prefix`: the segments of the mount prefix `rel` lies under (none: the root), so the rules
   * see the URL path (`.well-known` is let through only at the site's top).
   */
  private mayAffectPages(rel: string, prefix: readonly string[] = []): boolean {
    const segments = rel.split('/');
    if (isEditorTempFile(segments[segments.length - 1] ?? '')) return false;
    return resolveRequestPath(encodePathSegments([...prefix, ...segments], false), this.setup.files.dotfiles).kind === 'ok';
  }

  /**
   * True when `rel` is there to be served at flush time: it exists, and is not a symbolic link
   * that leads nowhere (an editor's lock, e.g. Emacs `.#name`). Editors' saves create and delete
   * temporaries of every name (atomic saves, probes, backups); a path already gone by the end of
   * the debounce is one of those, or a deletion, and neither changes what a page shows until its
   * next load.
   */
  private stillThere(rel: string): boolean {
    const abs = this.fileOf(rel);
    try {
      const link = lstatSync(abs, { throwIfNoEntry: false });
      if (link === undefined) return false;
      return !link.isSymbolicLink() || statSync(abs, { throwIfNoEntry: false }) !== undefined;
    } catch {
      return true;
    }
  }

  /**
   * Settled changes (root-relative paths): the pages among them that were served with the client
   * are planned now, before the reloads the event sets off ask for them (preparePages). Only while
   * a page is connected: with none, no reload follows, and a big page saved often would be parsed
   * for nothing (about 0.5 s per MiB).
   */
  private prepare(rels: Iterable<string>): void {
    if (this.phase === 'closed' || this.clients.size === 0) return;
    void preparePages([...rels].map((rel) => this.fileOf(rel)), this.pages);
  }

  /** The file a pending path names: in a mount (mountedFiles), else under the root. */
  private fileOf(rel: string): string {
    return this.mountedFiles.get(rel) ?? join(this.setup.files.rootReal, rel);
  }

  /**
   * The build sources (SOURCE_EXTENSIONS) requests were answered with since the start, by the
   * file's real path (RequestRecord.filePath): a change of one reloads every page, whoever asked
   * for it. The server sees every load, a page only its own document's (not a worker's or a
   * service worker's, nor past a resource timing buffer its scripts shrank or cleared:
   * helper-166). At most MAX_SERVED_SOURCES; past that, every source's change reloads.
   */
  private readonly servedSources = new Set<string>();

  /** A request was answered with the file at `filePath` (its real path): noted when it is a build source. */
  noteServed(filePath: string): void {
    // The same file asked again (a cached file's record carries the same string): judged once.
    if (filePath === this.lastNoted) return;
    this.lastNoted = filePath;
    // The last dot within the longest extension's reach, by hand: lastIndexOf is a call into the
    // runtime, paid by every request for another file than the last (one of 1,000 files).
    let dot = filePath.length - 1;
    while (dot >= 0 && filePath.length - dot <= MAX_SOURCE_EXTENSION_LENGTH && filePath.charCodeAt(dot) !== 0x2e) dot--;
    if (dot < 0 || filePath.length - dot > MAX_SOURCE_EXTENSION_LENGTH || !SOURCE_EXTENSIONS.has(filePath.slice(dot).toLowerCase())) return;
    if (this.servedSources.size >= MAX_SERVED_SOURCES) this.overflowSources = true;
    else this.servedSources.add(filePath);
  }

  /** Past MAX_SERVED_SOURCES: every source's change reloads every page. */
  private overflowSources = false;
  /** The file noteServed judged last (a request for the same file costs a comparison). */
  private lastNoted: string | undefined;

  /** Sends what the pending changes amount to; true when an event went out. */
  private flush(): boolean {
    const rels = [...this.pending].filter((rel) => this.stillThere(rel));
    const paths = rels.map((rel) => `/${rel}`);
    // A build source some request asked for (a worker's fetch, a service worker's, an <object>'s
    // page: loads a page cannot see in its own resource timing) reloads every page.
    const servedSource = this.overflowSources || (this.servedSources.size > 0 && rels.some((rel) => this.servedSources.has(this.fileOf(rel))));
    const overflow = this.overflow || this.outsideChange;
    this.pending.clear();
    this.mountedFiles.clear();
    this.overflow = false;
    this.outsideChange = false;
    if (this.phase === 'closed') return false;
    const css = new Set<string>();
    const img = new Set<string>();
    const sources = new Set<string>();
    const proxied = this.setup.proxied === true;
    let reload = overflow;
    for (const p of paths) {
      const shown = shownAs(p);
      if (shown === undefined) continue;
      const ext = extname(shown).toLowerCase();
      if (STYLESHEET_EXTENSIONS.has(ext)) css.add(shown);
      else if (IMAGE_EXTENSIONS.has(ext)) img.add(shown);
      else if (SOURCE_EXTENSIONS.has(ext) && !proxied && !servedSource) sources.add(shown);
      else reload = true;
    }
    if (reload) {
      this.send({ kind: 'reload', paths });
      return true;
    }
    if (css.size > 0) this.send({ kind: 'css', paths: [...css] });
    if (img.size > 0) this.send({ kind: 'img', paths: [...img] });
    if (sources.size > 0) this.send({ kind: 'source', paths: [...sources] });
    return css.size > 0 || img.size > 0 || sources.size > 0;
  }

  private send(event: ReloadEvent): void {
    this.setup.diagnostic('debug', `live reload: ${event.kind} ${event.paths.join(' ')}`);
    this.generation += 1;
    this.onEvent?.(event);
    const message = { type: event.kind, generation: this.generation, paths: event.paths };
    this.broadcast((client) => client.send(message));
    this.onGeneration?.(this.generation);
  }

  /**
   * Another process serving the same pages (a --workers cluster, one instance) sent its event
   * `generation` (its onGeneration): this count catches up with it. Each process watches the files
   * itself and coalesces their changes on its own schedule, so the counts drifted apart (60 saves
   * 100 ms apart: 58 in one worker, 59 in the others), and every page served by one worker whose
   * socket then landed on another reloaded at once, a page that was current (the `hello` says
   * another generation). The changes themselves still come from this process's own watch.
   */
  catchUp(generation: number): void {
    if (this.phase !== 'closed' && Number.isSafeInteger(generation) && generation > this.generation) this.generation = generation;
  }

  private broadcast(act: (client: ReloadChannel) => void): void {
    const before = this.clients.size;
    for (const client of [...this.clients]) {
      if (!client.closed) act(client);
      if (client.closed) this.clients.delete(client);
    }
    if (this.clients.size === 0) this.stopHeartbeat();
    if (this.clients.size !== before) this.onPagesChanged?.(this.clients.size);
  }

  // ---- endpoints -----------------------------------------------------------------------------

  private handleReserved(ex: Exchange, rawPath: string): boolean {
    const q = rawPath.indexOf('?');
    const path = q >= 0 ? rawPath.slice(0, q) : rawPath;
    if (path === CLIENT_PATH) {
      this.serveClient(ex, clientRepresentation('script'));
      return true;
    }
    if (path === CLIENT_MAP_PATH) {
      this.serveClient(ex, clientRepresentation('map'));
      return true;
    }
    if (path === EVENTS_PATH) {
      this.openEvents(ex);
      return true;
    }
    if (path === SOCKET_PATH) {
      this.openSocket(ex);
      return true;
    }
    return false;
  }

  /** The client script or its source map (`representation`), cached as CLIENT_MAX_AGE_S says. */
  private serveClient(ex: Exchange, representation: Representation): void {
    // Replaces the representation's `no-cache` (configured headers replace it the same way, so a
    // Cache-Control the user configured still wins). One list per configured one: the connection
    // keeps the head merged with it by the list's identity (mergedHead).
    const configured = ex.extraHeaders;
    if (configured === undefined || configured.length === 0) {
      ex.extraHeaders = CLIENT_CACHE_CONTROL;
    } else if (!configured.some(([name]) => name.toLowerCase() === 'cache-control')) {
      let list = clientHeaderLists.get(configured);
      if (list === undefined) {
        list = Object.freeze([...configured, ...CLIENT_CACHE_CONTROL]);
        clientHeaderLists.set(configured, list);
      }
      ex.extraHeaders = list;
    }
    ex.bodyOrigin = 'porthole';
    sendRepresentation(ex, representation);
  }

  /**
   * True when the request's `Origin` (RFC 6454 §7) is this server's own origin. An origin is a
   * scheme, a host and a port (§4–5), and another web app on this machine (another port, a name
   * under `.localhost`) is another origin whose pages must not learn which files are edited. So:
   * - one `Origin` line (§7.3: a user agent never sends more), serialised as an origin only
   *   (`scheme://host[:port]`: no path, no user info); `null` and anything else → refused;
   * - scheme `https`, or `http` on a server without TLS (a page behind a TLS-terminating proxy
   *   is `https` while the server is not; a TLS server's own pages are `https`);
   * - host one the server answers to (HostPolicy: loopback names, its addresses, `allowedHosts`,
   *   asExternalUri's authority — also the DNS-rebinding guard);
   * - host and port (explicit, else the scheme's default) those the request came to: its `Host`'s,
   *   else the scheme's default (a Host without a port). The browser sends as `Host` the
   *   authority it connected to, so this is the server's port, or the port forwarded to it (a
   *   tunnel, `ssh -L`, a proxy that keeps the Host) — a page elsewhere never has it.
   * No `Origin` at all: allowed. Browsers always send it on a WebSocket handshake (RFC 6455 §4.1
   * item 8) and on event-stream requests from another origin, so only tools (curl, scripts, which
   * can read the files anyway) come without one.
   */
  private originAllowed(ex: Exchange): boolean {
    const origins = fieldValues(ex)('origin');
    if (origins.length === 0) return true;
    if (origins.length > 1) return false;
    let url: URL;
    try {
      url = new URL(origins[0] ?? '');
    } catch {
      return false;
    }
    const https = url.protocol === 'https:';
    if (!https && (url.protocol !== 'http:' || this.setup.secure === true)) return false;
    // Nothing beyond the authority (not even the `/` the URL parser would add).
    if (url.username !== '' || url.password !== '' || /[/?#]/.test((origins[0] ?? '').replace(/^[a-z]+:\/\//i, ''))) return false;
    if (!this.setup.hosts.allows(url.host)) return false;
    const host = ex.head.host;
    if (host === undefined) return false;
    // The host too, not only the port: 127.0.0.2:P, [::1]:P or evil.localhost:P are other origins
    // even where the server answers to those names (both parsed by the URL parser, so case and
    // IPv6 spellings compare alike).
    let hostName: string;
    try {
      hostName = new URL(`http://${host}`).hostname;
    } catch {
      return false;
    }
    if (url.hostname !== hostName) return false;
    const defaultPort = https ? 443 : 80;
    const originPort = url.port === '' ? defaultPort : Number(url.port);
    return originPort === (hostPort(host) ?? defaultPort);
  }

  /** Refuses a channel request that may not open now (foreign Origin, not running, too many). */
  private refuseChannel(ex: Exchange): boolean {
    if (!this.originAllowed(ex)) {
      ex.note = `live reload: Origin not allowed: ${fieldValues(ex)('origin').join(', ')}`;
      ex.refuse(403, 'Forbidden: this page is not served by this server.\n');
      return true;
    }
    const address = ex.clientIp;
    const mine = this.perAddress.get(address) ?? 0;
    if (this.phase !== 'running' || this.clients.size >= MAX_EVENT_CLIENTS || mine >= this.setup.maxStreamsPerClient) {
      const perAddress = this.phase === 'running' && mine >= this.setup.maxStreamsPerClient;
      ex.note =
        this.phase !== 'running'
          ? 'live reload: not running'
          : perAddress
            ? `live reload: ${address} holds ${mine} event streams (maxEventStreamsPerClient)`
            : 'live reload: too many event streams';
      // Says which bound was met and what to do (the pages retry on their own after Retry-After).
      const why =
        this.phase !== 'running'
          ? 'the server is not running it now.'
          : perAddress
            ? `this client address already holds ${mine} live-reload connections, the most one client address may; close some of this server's tabs, and the page retries on its own.`
            : `the server holds ${this.clients.size} live-reload connections, the most it takes at once; close some of its tabs, and the page retries on its own.`;
      ex.closeAfter = true;
      ex.refuse(503, `Live reload is not available right now: ${why}\n`, [['Retry-After', '5']]);
      return true;
    }
    return false;
  }

  private openEvents(ex: Exchange): void {
    if (this.refuseChannel(ex)) return;
    ex.bodyOrigin = 'porthole';
    // A stream of events is never stored nor transformed: a configured Cache-Control (`**`:
    // max-age=7) in place of `no-cache, no-transform` made it cacheable (helper-178).
    if (ex.extraHeaders !== undefined) ex.extraHeaders = ex.extraHeaders.filter(([name]) => name.toLowerCase() !== 'cache-control');
    const headers: [string, string][] = [
      ['Content-Type', 'text/event-stream; charset=utf-8'],
      ['Cache-Control', 'no-cache, no-transform'],
      ['X-Accel-Buffering', 'no'],
      ['X-Content-Type-Options', 'nosniff'],
    ];
    if (ex.method === 'HEAD') {
      // The GET's body has no length (a stream until the connection closes), so the HEAD states
      // none either: a Content-Length must be the GET's (RFC 9110 §8.6), and 0 is not (helper-48).
      ex.startBody(200, headers, undefined).end();
      return;
    }
    this.addClient(
      ex,
      eventStreamChannel(ex.openStream(200, headers), (why) => {
        ex.note = why;
      }),
    );
  }

  private openSocket(ex: Exchange): void {
    if (this.refuseChannel(ex)) return;
    const setup = this.setup;
    const pageConsole = new PageConsole(
      ex.clientIp,
      () => setup.consoleForward,
      (entry) => setup.onConsole?.(entry),
      this.consoleBudget,
      setup.hostFor,
    );
    const channel = openWebSocketChannel(ex, (message) => this.clientMessage(pageConsole, message));
    if (channel === undefined) return;
    this.addClient(ex, channel);
  }

  /** A message a page sent over its WebSocket (untrusted: any script of the page may send one). */
  private clientMessage(pageConsole: PageConsole, message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const m = message as { readonly [key: string]: unknown };
    if (m.type === 'console' && this.phase === 'running') pageConsole.receive(m);
  }

  /** Counts the channel (server-wide and per client address) until its exchange ends. */
  private addClient(ex: Exchange, channel: ReloadChannel): void {
    const address = ex.clientIp;
    this.clients.add(channel);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.onPagesChanged?.(this.clients.size);
    ex.addCleanup(() => {
      if (this.clients.delete(channel)) this.onPagesChanged?.(this.clients.size);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
      if (this.clients.size === 0) this.stopHeartbeat();
    });
    if (ex.finished) return; // gone already: uncounted just now
    channel.send({ type: 'hello', id: this.instanceId, generation: this.generation, console: this.setup.consoleForward, client: liveReloadClient().version });
    if (this.heartbeat === undefined) {
      this.heartbeat = setInterval(() => this.broadcast((client) => client.ping()), heartbeatTiming.intervalMs);
      this.heartbeat.unref();
    }
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

/** The explicit port of a `Host` field value (RFC 9110 §7.2: uri-host [":" port]), else undefined. */
function hostPort(host: string): number | undefined {
  const m = /^(?:\[[^\]]*\]|[^:]*):(\d+)$/.exec(host.trim());
  return m === null ? undefined : Number(m[1]);
}

/** Which file the request log is: device, inode and birth time (0n: unknown), as bigint Stats give them. */
interface LogIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly birthtimeNs: bigint;
}

/** The start of an empty file's stamp (fileStamp: `size:mtimeMs`). */
const EMPTY_STAMP_PREFIX = '0:';

/** `size:mtimeMs` of a file now, or `-` when it cannot be read (gone, no access). */
function fileStamp(abs: string): string {
  try {
    const st = statSync(abs, { throwIfNoEntry: false });
    return st === undefined ? '-' : `${st.size}:${st.mtimeMs}`;
  } catch {
    return '-';
  }
}
