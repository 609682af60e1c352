/**
 * The extension's settings (`porthole.*`) as one validated, immutable snapshot per workspace folder.
 * Pure: no `vscode` import, so node tests check it and check that package.json's defaults are the
 * core's own (DEFAULT_OPTIONS). Invariant: an invalid value never reaches the core and never falls
 * back to a default: it is reported in `problems`, and any problem stops the start (fails closed).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import {
  DEFAULT_OPTIONS,
  DEFAULT_SPA_FILE,
  OPTION_BOUNDS,
  allowedHostProblem,
  bindHostProblem,
  booleanProblem,
  cidrProblem,
  consoleForwardProblem,
  compileRoute,
  escapeForDisplay,
  headerFieldProblem,
  logFileNameProblem,
  mountPrefixSegments,
  mountsFrom,
  originProblem,
  parseMountSpec,
  parseProxySpec,
  showValue,
  spaFileProblem,
  wholeNumberProblem,
} from '../../core';
import type { ConsoleForward, Mount, OptionLayer, ProxyRoute, ReconfigurableOptions, ServerOptions, ServerOptionsInput } from '../../core';
import { DEFAULT_RELOAD_SETTINGS, RELOAD_SETTING_KEYS, readReloadSettings, reloadNeedsRestart, sameSettingValue, toReloadOptions } from '../reload/node-reload-config';
import type { ReloadSettings } from '../reload/node-reload-config';
import { browserChoice } from '../browser/node-browser';

/** The settings section; every key below is `porthole.<key>`. */
export const CONFIG_SECTION = 'porthole';

/** How many requests the Requests view keeps (an extension-side default: the core keeps none). */
export const DEFAULT_MAX_ENTRIES = 10_000;
export const MIN_MAX_ENTRIES = 100;
export const MAX_MAX_ENTRIES = 100_000;

/** Mirrors `contributes.configuration` in package.json, key by key (`reload.*`: node-reload-config.ts). */
export interface PortholeConfig extends ReloadSettings {
  /** null (the default): the folder's own port, derived from its path by the core; 0: any free port. */
  readonly port: number | null;
  readonly host: string;
  /** Folder-relative; '' = the workspace folder itself. */
  readonly root: string;
  readonly openBrowser: boolean;
  readonly listing: boolean;
  readonly dotfiles: boolean;
  readonly followSymlinks: boolean;
  /** Answer other sites' subresource loads (`<script src>`, `<img>`, fetch) instead of 403. */
  readonly crossSiteLoads: boolean;
  /** '' = `requests-<folder>-<hash>.log` in the extension's log folder (resolveLogFile). */
  readonly logFile: string;
  readonly resolveHostNames: boolean;
  readonly maxEntries: number;
  /** Extra `Host` names (tunnels, custom names). */
  readonly allowedHosts: readonly string[];
  /** CIDR ranges; empty = every client. Each entry was checked with parseCidr. */
  readonly allowedClients: readonly string[];
  /** PEM paths (folder-relative allowed); both '' = no files. */
  readonly httpsCert: string;
  readonly httpsKey: string;
  /** HTTPS with a self-signed certificate kept in the extension's global storage. */
  readonly httpsSelfSigned: boolean;
  /** Response headers for every path (name → value, each checked with headerFieldProblem). */
  readonly headers: Readonly<Record<string, string>>;
  readonly crossOriginIsolation: boolean;
  readonly compression: boolean;
  readonly corsEnabled: boolean;
  /** Each entry an origin (`http://host:port`); empty = any origin. */
  readonly corsOrigins: readonly string[];
  /** The SPA fallback file, root-relative; '' = off. */
  readonly spa: string;
  /** Read `porthole.config.json` from the served folder. */
  readonly configFile: boolean;
  /**
   * The setting keys the user has set (user, workspace or folder level): only these override
   * porthole.config.json. undefined (a snapshot made in code): every setting counts as set.
   */
  readonly explicit?: readonly string[];
  /** Proxied routes as `PREFIX=URL`, each checked with the core's compileRoute. */
  readonly proxy: readonly string[];
  readonly proxyRewriteHost: boolean;
  /** Folders (folder-relative or absolute) whose changes reload pages too. */
  readonly reloadWatch: readonly string[];
  /**
   * Folders served under URL prefixes, as `PREFIX=FOLDER` (the folder as written: relative to the
   * workspace folder, or absolute), each prefix checked with the core's mountPrefixSegments.
   */
  readonly mounts: readonly string[];
  /** `/about` serves `about.html`; `/about.html` redirects to `/about`. */
  readonly cleanUrls: boolean;
  /** `default`, `chrome`, `firefox`, `edge`, or a command line with `%URL%` (node-browser.ts). */
  readonly browser: string;
  /** Switching the editor to another HTML file of the served folder takes the connected pages there. */
  readonly followEditor: boolean;
  /** What pages send back of their console (`off`, `errors`, `all`); applied live. */
  readonly consoleForward: ConsoleForward;
}

/** The setting keys (relative to `porthole.`) and the snapshot field each one fills. */
export const SETTING_KEYS = {
  port: 'port',
  host: 'host',
  root: 'root',
  openBrowser: 'openBrowser',
  listing: 'listing',
  dotfiles: 'dotfiles',
  followSymlinks: 'followSymlinks',
  crossSiteLoads: 'crossSiteLoads',
  logFile: 'log.file',
  resolveHostNames: 'log.resolveHostNames',
  maxEntries: 'requests.maxEntries',
  allowedHosts: 'allowedHosts',
  allowedClients: 'allowedClients',
  httpsCert: 'https.cert',
  httpsKey: 'https.key',
  httpsSelfSigned: 'https.selfSigned',
  headers: 'headers',
  crossOriginIsolation: 'crossOriginIsolation',
  compression: 'compression',
  corsEnabled: 'cors.enabled',
  corsOrigins: 'cors.origins',
  spa: 'spa',
  configFile: 'configFile',
  proxy: 'proxy',
  proxyRewriteHost: 'proxyRewriteHost',
  reloadWatch: 'reload.watch',
  mounts: 'mounts',
  cleanUrls: 'cleanUrls',
  browser: 'browser',
  followEditor: 'followEditor',
  consoleForward: 'console.forward',
  ...RELOAD_SETTING_KEYS,
} as const satisfies Record<Exclude<keyof PortholeConfig, 'explicit'>, string>;

/** The snapshot fields that are settings (every field but `explicit`). */
export type SettingField = keyof typeof SETTING_KEYS;

/** The defaults: the core's own, plus the extension-only ones. package.json must agree (tested). */
export const DEFAULT_CONFIG: PortholeConfig = {
  port: DEFAULT_OPTIONS.port,
  host: DEFAULT_OPTIONS.host,
  root: '',
  openBrowser: true,
  listing: DEFAULT_OPTIONS.listing,
  dotfiles: DEFAULT_OPTIONS.dotfiles,
  followSymlinks: DEFAULT_OPTIONS.followSymlinks,
  crossSiteLoads: DEFAULT_OPTIONS.crossSiteLoads,
  logFile: '',
  resolveHostNames: DEFAULT_OPTIONS.resolveHostNames,
  maxEntries: DEFAULT_MAX_ENTRIES,
  allowedHosts: DEFAULT_OPTIONS.allowedHosts,
  allowedClients: DEFAULT_OPTIONS.allowedClients,
  httpsCert: '',
  httpsKey: '',
  httpsSelfSigned: false,
  headers: {},
  crossOriginIsolation: DEFAULT_OPTIONS.crossOriginIsolation,
  compression: DEFAULT_OPTIONS.compression,
  corsEnabled: DEFAULT_OPTIONS.cors.enabled,
  corsOrigins: DEFAULT_OPTIONS.cors.origins,
  spa: '',
  configFile: DEFAULT_OPTIONS.configFile,
  proxy: DEFAULT_OPTIONS.proxy.routes.map((r) => `${r.prefix}=${r.target}`),
  proxyRewriteHost: DEFAULT_OPTIONS.proxy.rewriteHost,
  reloadWatch: DEFAULT_OPTIONS.reload.watchPaths,
  mounts: DEFAULT_OPTIONS.mounts.map((m) => `${m.prefix}=${m.folder}`),
  cleanUrls: DEFAULT_OPTIONS.cleanUrls,
  browser: 'default',
  followEditor: false,
  consoleForward: DEFAULT_OPTIONS.consoleForward,
  ...DEFAULT_RELOAD_SETTINGS,
};

export interface ConfigSnapshot {
  readonly config: PortholeConfig;
  /**
   * One plain sentence per invalid value: `porthole.<key>: <value> <reason>`. Any problem stops
   * the start (no server, an error message); `config` then holds defaults in those fields only so
   * that it stays well-typed, and is never served with.
   */
  readonly problems: readonly string[];
}

/** Reads a raw value by its setting key (e.g. a WorkspaceConfiguration's `get`). */
export type RawSettingReader = (key: string) => unknown;

/**
 * Validates every setting strictly, with the core's own rules for the options the server takes
 * (bindHostProblem, wholeNumberProblem, cidrProblem, allowedHostProblem, headerFieldProblem,
 * originProblem, spaFileProblem, globProblem via readReloadSettings): the same checks as the CLI's
 * and PreviewServer.listen's. `isSet` tells which settings the user has set (default: those `read`
 * returns a value for); only those override porthole.config.json.
 */
export function readConfig(read: RawSettingReader, isSet: (key: string) => boolean = (key) => read(key) !== undefined): ConfigSnapshot {
  const problems: string[] = [];
  const name = (field: SettingField): string => `porthole.${SETTING_KEYS[field]}`;
  const refuse = (field: SettingField, value: unknown, reason: string): void => {
    problems.push(`${name(field)}: ${showValue(value)} ${reason}.`);
  };
  /** The setting's value after `problem` accepted it; the fallback (and a problem) otherwise. */
  const checked = <T>(field: SettingField, fallback: T, problem: (v: unknown) => string | undefined): T => {
    const v = read(SETTING_KEYS[field]);
    if (v === undefined || v === null) return fallback;
    const reason = problem(v);
    if (reason === undefined) return v as T;
    refuse(field, v, reason);
    return fallback;
  };
  const bool = (field: SettingField, fallback: boolean): boolean => checked(field, fallback, booleanProblem);
  const str = (field: SettingField, fallback: string, more: (v: string) => string | undefined = () => undefined): string =>
    checked<string>(field, fallback, (v) => (typeof v !== 'string' ? 'must be a string' : v.includes('\0') ? 'contains a NUL character' : more(v.trim()))).trim();
  const int = (field: SettingField, fallback: number, min: number, max: number): number =>
    checked(field, fallback, (v) => (typeof v === 'number' ? wholeNumberProblem(v, min, max) : `must be a whole number from ${min} to ${max}`));
  /** A list of strings, each entry trimmed and checked by `valid`; one problem per bad entry. */
  const list = (field: SettingField, valid: (entry: string) => string | undefined): string[] => {
    const v = read(SETTING_KEYS[field]);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      refuse(field, v, 'must be a list of strings');
      return [];
    }
    const out: string[] = [];
    for (const entry of v as unknown[]) {
      const reason = typeof entry === 'string' ? valid(entry.trim()) : 'is not a string';
      if (reason === undefined) out.push((entry as string).trim());
      else refuse(field, entry, reason);
    }
    return out;
  };

  /** Name → value, each field checked by RFC 9110's grammar (headerFieldProblem). */
  const headerSetting = (): Record<string, string> => {
    const v = read(SETTING_KEYS.headers);
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      refuse('headers', v, 'must be an object of header names and values');
      return {};
    }
    const out: Record<string, string> = {};
    for (const [field, value] of Object.entries(v as Record<string, unknown>)) {
      const reason = typeof value === 'string' ? headerFieldProblem(field, value) : 'the value is not a string';
      if (reason === undefined) out[field] = value as string;
      else refuse('headers', { [field]: value }, reason);
    }
    return out;
  };
  /** '' (off), or a file inside the served folder; `true` means index.html. */
  const spaSetting = (): string => {
    const v = read(SETTING_KEYS.spa);
    if (v === true) return DEFAULT_SPA_FILE;
    if (v === false) return '';
    return str('spa', DEFAULT_CONFIG.spa, (text) => (text === '' ? undefined : spaFileProblem(text)));
  };

  /**
   * `porthole.proxy`: an object `{ "/api": "http://127.0.0.1:3000" }`, or a list of
   * `"/api=http://…"` strings or `{ "path": "/api", "target": "http://…" }` objects. Each route is
   * checked by the core (compileRoute, as validateServerOptions does); a bad one is refused with
   * its reason, and, like every other problem, stops the start.
   */
  const proxySetting = (): string[] => {
    const v = read(SETTING_KEYS.proxy);
    if (v === undefined || v === null) return [];
    let entries: unknown[];
    if (Array.isArray(v)) entries = v;
    else if (typeof v === 'object') entries = Object.entries(v as Record<string, unknown>).map(([path, target]) => ({ path, target }));
    else {
      refuse('proxy', v, 'must be an object of prefix → URL or a list of routes');
      return [];
    }
    const out: string[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      let route: { prefix: string; target: string } | string;
      if (typeof entry === 'string') route = parseProxySpec(entry);
      else if (typeof entry === 'object' && entry !== null && typeof (entry as { target?: unknown }).target === 'string') {
        const e = entry as { path?: unknown; prefix?: unknown; target: string };
        const prefix = typeof e.path === 'string' ? e.path : typeof e.prefix === 'string' ? e.prefix : '';
        route = { prefix: prefix.trim(), target: e.target.trim() };
      } else route = 'is not a route (a "PREFIX=URL" string or { "path", "target" })';
      const compiled = typeof route === 'string' ? route : compileRoute(route);
      if (typeof route === 'string' || typeof compiled === 'string') {
        refuse('proxy', entry, escapeForDisplay(typeof route === 'string' ? route : (compiled as string)));
        continue;
      }
      if (seen.has(compiled.prefix)) {
        refuse('proxy', entry, `gives the prefix "${escapeForDisplay(compiled.prefix)}" a second time`);
        continue;
      }
      seen.add(compiled.prefix);
      out.push(`${route.prefix}=${route.target}`);
    }
    return out;
  };

  /**
   * `porthole.mounts`: an object `{ "/vendor": "node_modules/x" }` or a list of `"PREFIX=FOLDER"`
   * strings, read by the core's mountsFrom (as porthole.config.json's `mounts`); each prefix checked
   * by mountPrefixSegments, none twice. Kept as `PREFIX=FOLDER` with the folder as written.
   */
  const mountSetting = (): string[] => {
    const v = read(SETTING_KEYS.mounts);
    if (v === undefined || v === null) return [];
    // Resolved against a placeholder: only the prefixes and the shape are judged here.
    const mounts = mountsFrom(v, '/');
    if (typeof mounts === 'string') {
      refuse('mounts', v, escapeForDisplay(mounts));
      return [];
    }
    const written = Array.isArray(v)
      ? (v as string[]).map((spec) => parseMountSpec(spec) as { prefix: string; folder: string })
      : Object.entries(v as Record<string, string>).map(([prefix, folder]) => ({ prefix, folder }));
    const out: string[] = [];
    const seen = new Set<string>();
    for (const m of written) {
      const segments = mountPrefixSegments(m.prefix.trim());
      if (typeof segments === 'string') {
        refuse('mounts', `${m.prefix}=${m.folder}`, escapeForDisplay(segments));
        continue;
      }
      if (seen.has(segments.join('/'))) {
        refuse('mounts', `${m.prefix}=${m.folder}`, `gives the prefix "${escapeForDisplay(m.prefix)}" a second time`);
        continue;
      }
      seen.add(segments.join('/'));
      out.push(`${m.prefix.trim()}=${m.folder.trim()}`);
    }
    return out;
  };

  const config: PortholeConfig = {
    port: checked<number | null>('port', null, (v) =>
      typeof v === 'number' ? wholeNumberProblem(v, OPTION_BOUNDS.port.min, OPTION_BOUNDS.port.max) : "must be a whole number from 0 to 65535, or null for the folder's own port",
    ),
    host: str('host', DEFAULT_CONFIG.host, bindHostProblem),
    root: str('root', DEFAULT_CONFIG.root, (root) =>
      path.isAbsolute(root) || path.win32.isAbsolute(root) || root.split(/[\\/]/).includes('..') ? 'must be a folder inside the workspace folder (relative, without "..")' : undefined,
    ),
    openBrowser: bool('openBrowser', DEFAULT_CONFIG.openBrowser),
    listing: bool('listing', DEFAULT_CONFIG.listing),
    dotfiles: bool('dotfiles', DEFAULT_CONFIG.dotfiles),
    followSymlinks: bool('followSymlinks', DEFAULT_CONFIG.followSymlinks),
    crossSiteLoads: bool('crossSiteLoads', DEFAULT_CONFIG.crossSiteLoads),
    logFile: str('logFile', DEFAULT_CONFIG.logFile, (v) => (v === '' ? undefined : logFileNameProblem(v))),
    resolveHostNames: bool('resolveHostNames', DEFAULT_CONFIG.resolveHostNames),
    maxEntries: int('maxEntries', DEFAULT_CONFIG.maxEntries, MIN_MAX_ENTRIES, MAX_MAX_ENTRIES),
    allowedHosts: list('allowedHosts', (h) => allowedHostProblem(h)),
    allowedClients: list('allowedClients', cidrProblem),
    httpsCert: str('httpsCert', DEFAULT_CONFIG.httpsCert),
    httpsKey: str('httpsKey', DEFAULT_CONFIG.httpsKey),
    httpsSelfSigned: bool('httpsSelfSigned', DEFAULT_CONFIG.httpsSelfSigned),
    headers: headerSetting(),
    crossOriginIsolation: bool('crossOriginIsolation', DEFAULT_CONFIG.crossOriginIsolation),
    compression: bool('compression', DEFAULT_CONFIG.compression),
    corsEnabled: bool('corsEnabled', DEFAULT_CONFIG.corsEnabled),
    corsOrigins: list('corsOrigins', originProblem),
    spa: spaSetting(),
    configFile: bool('configFile', DEFAULT_CONFIG.configFile),
    proxy: proxySetting(),
    proxyRewriteHost: bool('proxyRewriteHost', DEFAULT_CONFIG.proxyRewriteHost),
    reloadWatch: list('reloadWatch', (p) => (p === '' ? 'is empty: give a folder' : p.includes('\0') ? 'contains a NUL character' : undefined)),
    mounts: mountSetting(),
    cleanUrls: bool('cleanUrls', DEFAULT_CONFIG.cleanUrls),
    browser: str('browser', DEFAULT_CONFIG.browser, browserProblem) || DEFAULT_CONFIG.browser,
    followEditor: bool('followEditor', DEFAULT_CONFIG.followEditor),
    consoleForward: checked<ConsoleForward>('consoleForward', DEFAULT_CONFIG.consoleForward, consoleForwardProblem),
    ...readReloadSettings(read, problems),
    explicit: Object.values(SETTING_KEYS).filter((key) => isSet(key)),
  };
  return { config, problems };
}

/** Why a `porthole.browser` value cannot name a program (browserChoice's rules); undefined when it can. */
function browserProblem(value: string): string | undefined {
  const choice = browserChoice(value, 'http://127.0.0.1/');
  return choice.kind === 'invalid' ? 'is not "default", "chrome", "firefox", "edge" or a command line (an unclosed quote?)' : undefined;
}

/**
 * The one-line failure for a start refused because of invalid settings: every problem, then what
 * to do. e.g. `Porthole did not start site: porthole.allowedClients: "192.168.1.0/" has no prefix
 * length after "/" …. Fix the setting and start again.`
 */
export function describeConfigProblems(folderName: string, problems: readonly string[]): string {
  return `Porthole did not start ${folderName}: ${problems.join(' ')} Fix ${problems.length === 1 ? 'the setting' : 'the settings'} and start again.`;
}

/**
 * True when the running server must restart to honour `next`: its binding, root, HTTPS or proxy
 * changed, or a live-reload listen option (`reload.enabled`, `reload.ignore`, `reload.debounceMs`,
 * `reload.watch`).
 */
export function needsRestart(running: PortholeConfig, next: PortholeConfig): boolean {
  return (
    (['port', 'host', 'root', 'httpsCert', 'httpsKey', 'httpsSelfSigned', 'configFile', 'proxyRewriteHost'] as const).some((k) => running[k] !== next[k]) ||
    !sameSettingValue(running.proxy, next.proxy) ||
    !sameSettingValue(running.reloadWatch, next.reloadWatch) ||
    !sameSettingValue(running.mounts, next.mounts) ||
    // A server setting newly set or unset changes what porthole.config.json decides: a live one is
    // applied live (liveChanges: its value, or its default once unset), any other restarts.
    serverKeysSet(running).some((k) => !serverKeysSet(next).includes(k) && !LIVE_SETTING_KEYS.has(k)) ||
    serverKeysSet(next).some((k) => !serverKeysSet(running).includes(k) && !LIVE_SETTING_KEYS.has(k)) ||
    reloadNeedsRestart(running, next)
  );
}

/** Settings of the extension alone: whether they are set never matters to the server. */
export const EXTENSION_ONLY_KEYS: ReadonlySet<string> = new Set([
  SETTING_KEYS.openBrowser,
  SETTING_KEYS.maxEntries,
  SETTING_KEYS.reloadOn,
  SETTING_KEYS.browser,
  SETTING_KEYS.followEditor,
]);

/** The set setting keys that the server's options come from. */
function serverKeysSet(config: PortholeConfig): string[] {
  return (config.explicit ?? []).filter((k) => !EXTENSION_ONLY_KEYS.has(k));
}

/** The setting keys whose values differ (for "applies at the next start" messages). */
export function changedKeys(a: PortholeConfig, b: PortholeConfig): string[] {
  return (Object.keys(SETTING_KEYS) as SettingField[])
    .filter((k) => !sameSettingValue(a[k], b[k]))
    .map((k) => `porthole.${SETTING_KEYS[k]}`);
}

/** Settings a running server takes without a restart (WorkerServer.reconfigure). */
export const LIVE_SETTINGS = [
  'listing',
  'dotfiles',
  'followSymlinks',
  'crossSiteLoads',
  'allowedHosts',
  'allowedClients',
  'headers',
  'crossOriginIsolation',
  'compression',
  'corsEnabled',
  'corsOrigins',
  'spa',
  'cleanUrls',
  'consoleForward',
] as const satisfies readonly SettingField[];

/** The setting keys of LIVE_SETTINGS. */
const LIVE_SETTING_KEYS: ReadonlySet<string> = new Set(LIVE_SETTINGS.map((f) => SETTING_KEYS[f]));

/** The live option each live setting feeds (CORS is one option of two settings). */
const LIVE_OPTION_OF: Record<(typeof LIVE_SETTINGS)[number], keyof ReconfigurableOptions> = {
  listing: 'listing',
  dotfiles: 'dotfiles',
  followSymlinks: 'followSymlinks',
  crossSiteLoads: 'crossSiteLoads',
  allowedHosts: 'allowedHosts',
  allowedClients: 'allowedClients',
  headers: 'headers',
  crossOriginIsolation: 'crossOriginIsolation',
  compression: 'compression',
  corsEnabled: 'cors',
  corsOrigins: 'cors',
  spa: 'spa',
  cleanUrls: 'cleanUrls',
  consoleForward: 'consoleForward',
};

/** The server options the live settings stand for (CORS is one option of two settings). */
function liveOptions(config: PortholeConfig): Pick<ServerOptions, keyof ReconfigurableOptions> {
  return {
    listing: config.listing,
    dotfiles: config.dotfiles,
    followSymlinks: config.followSymlinks,
    crossSiteLoads: config.crossSiteLoads,
    allowedHosts: config.allowedHosts,
    allowedClients: config.allowedClients,
    headers: Object.keys(config.headers).length === 0 ? [] : [{ source: '**', headers: config.headers }],
    crossOriginIsolation: config.crossOriginIsolation,
    compression: config.compression,
    cors: { enabled: config.corsEnabled, origins: config.corsOrigins },
    spa: config.spa === '' ? undefined : config.spa,
    cleanUrls: config.cleanUrls,
    consoleForward: config.consoleForward,
  };
}

/** The live-applicable changes from `running` to `next`, or undefined when there are none. */
export function liveChanges(running: PortholeConfig, next: PortholeConfig): ReconfigurableOptions | undefined {
  const before = liveOptions(running);
  const after = liveOptions(next);
  const changes: Record<string, unknown> = {};
  let any = false;
  // A live setting newly set or unset is sent even when its value equals the one before: set, it
  // overrides porthole.config.json; unset, its default does until the next start (a restart here
  // would race with the next change — a setting saved while the server restarts is lost).
  const isSet = (config: PortholeConfig, f: (typeof LIVE_SETTINGS)[number]): boolean => (config.explicit ?? []).includes(SETTING_KEYS[f]);
  const newlySet = new Set(LIVE_SETTINGS.filter((f) => isSet(next, f) !== isSet(running, f)).map((f) => LIVE_OPTION_OF[f]));
  for (const k of Object.keys(after) as Array<keyof ReconfigurableOptions>) {
    if (sameSettingValue(before[k], after[k]) && !newlySet.has(k)) continue;
    changes[k] = after[k];
    any = true;
  }
  return any ? changes : undefined;
}

/** File-system facts the options need that the snapshot cannot know. */
export interface FolderContext {
  /** Absolute path of the workspace folder. */
  readonly folderPath: string;
  readonly folderName: string;
  /** Absolute path of the extension's log folder (ExtensionContext.logUri). */
  readonly logDir: string;
}

/** The absolute document root for a folder. */
export function resolveRoot(config: PortholeConfig, folder: FolderContext): string {
  return config.root === '' ? folder.folderPath : path.resolve(folder.folderPath, config.root);
}

/**
 * The log file path: the setting (folder-relative allowed), else `requests-<name>-<hash>.log` in
 * logDir: `<name>` the folder's name in file-name-safe characters (at most 64), `<hash>` the first
 * 8 hex digits of the SHA-256 of the folder's path. The name alone was shared by the folders of a
 * multi-root workspace that have one name (`client/app` and `server/app`) or names that differ only
 * in characters it replaces (`日本`, `中文`): their servers appended to one file.
 */
export function resolveLogFile(config: PortholeConfig, folder: FolderContext): string {
  if (config.logFile !== '') return path.resolve(folder.folderPath, config.logFile);
  const safe = folder.folderName.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'folder';
  const hash = createHash('sha256').update(folder.folderPath).digest('hex').slice(0, 8);
  return path.join(folder.logDir, `requests-${safe}-${hash}.log`);
}

/**
 * The core's input for one folder: the settings the user has set (they override
 * porthole.config.json), and the extension's own log file as a fallback the file may override.
 */
export function toServerOptions(config: PortholeConfig, folder: FolderContext): ServerOptionsInput {
  const set = config.explicit === undefined ? undefined : new Set(config.explicit);
  const given = <T>(field: SettingField, value: T): T | undefined => (set === undefined || set.has(SETTING_KEYS[field]) ? value : undefined);
  const live = liveOptions(config);
  const reload = toReloadOptions(config);
  const fallback: OptionLayer = { logFile: resolveLogFile(config, folder) };
  return {
    root: resolveRoot(config, folder),
    port: given('port', config.port),
    host: given('host', config.host),
    listing: given('listing', live.listing),
    dotfiles: given('dotfiles', live.dotfiles),
    followSymlinks: given('followSymlinks', live.followSymlinks),
    crossSiteLoads: given('crossSiteLoads', live.crossSiteLoads),
    logFile: config.logFile === '' ? undefined : resolveLogFile(config, folder),
    resolveHostNames: given('resolveHostNames', config.resolveHostNames),
    allowedHosts: given('allowedHosts', live.allowedHosts),
    allowedClients: given('allowedClients', live.allowedClients),
    reload: {
      enabled: given('reloadEnabled', reload.enabled),
      ignore: given('reloadIgnore', reload.ignore),
      debounceMs: given('reloadDebounceMs', reload.debounceMs),
      // The extension reports changes itself, always.
      watch: reload.watch,
      watchPaths: given('reloadWatch', config.reloadWatch.map((p) => path.resolve(folder.folderPath, p))),
    },
    headers: given('headers', live.headers),
    crossOriginIsolation: given('crossOriginIsolation', live.crossOriginIsolation),
    compression: given('compression', live.compression),
    cors: { enabled: given('corsEnabled', live.cors.enabled), origins: given('corsOrigins', live.cors.origins) },
    spa: given('spa', live.spa),
    cleanUrls: given('cleanUrls', live.cleanUrls),
    // Folders in the settings are the workspace folder's (as porthole.reload.watch).
    mounts: given('mounts', mountsFrom(config.mounts, folder.folderPath) as Mount[]),
    consoleForward: given('consoleForward', live.consoleForward),
    proxy: {
      routes: given(
        'proxy',
        // Each entry was checked by proxySetting: parseProxySpec returns a route for it.
        config.proxy.map((spec) => parseProxySpec(spec) as ProxyRoute),
      ),
      rewriteHost: given('proxyRewriteHost', config.proxyRewriteHost),
    },
    configFile: config.configFile,
    fallback,
  };
}
