/**
 * The extension's settings (`porthole.*`) as one validated, immutable snapshot per workspace folder.
 * Pure: no `vscode` import, so node tests check it and check that package.json's defaults are the
 * core's own (DEFAULT_OPTIONS). Invariant: an invalid value never reaches the core and never falls
 * back to a default: it is reported in `problems`, and any problem stops the start (fails closed).
 */
import * as path from 'node:path';
import { DEFAULT_OPTIONS, OPTION_BOUNDS, allowedHostProblem, bindHostProblem, booleanProblem, cidrProblem, compileRoute, escapeForDisplay, parseProxySpec, showValue, wholeNumberProblem } from '../../core';
import type { ReconfigurableOptions, ServerOptionsInput } from '../../core';
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
  /** '' = `requests-<folder>.log` in the extension's log folder. */
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
  /** Proxied routes as `PREFIX=URL`, each checked with the core's compileRoute. */
  readonly proxy: readonly string[];
  readonly proxyRewriteHost: boolean;
  /** Folders (folder-relative or absolute) whose changes reload pages too. */
  readonly reloadWatch: readonly string[];
  /** `default`, `chrome`, `firefox`, `edge`, or a command line with `%URL%` (node-browser.ts). */
  readonly browser: string;
  /** Switching the editor to another HTML file of the served folder takes the connected pages there. */
  readonly followEditor: boolean;
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
  proxy: 'proxy',
  proxyRewriteHost: 'proxyRewriteHost',
  reloadWatch: 'reload.watch',
  browser: 'browser',
  followEditor: 'followEditor',
  ...RELOAD_SETTING_KEYS,
} as const satisfies Record<keyof PortholeConfig, string>;

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
  proxy: DEFAULT_OPTIONS.proxy.routes.map((r) => `${r.prefix}=${r.target}`),
  proxyRewriteHost: DEFAULT_OPTIONS.proxy.rewriteHost,
  reloadWatch: DEFAULT_OPTIONS.reload.watchPaths,
  browser: 'default',
  followEditor: false,
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
 * (bindHostProblem, wholeNumberProblem, cidrProblem, allowedHostProblem, globProblem via
 * readReloadSettings): the same checks as the CLI's and PreviewServer.listen's.
 */
export function readConfig(read: RawSettingReader): ConfigSnapshot {
  const problems: string[] = [];
  const name = (field: keyof PortholeConfig): string => `porthole.${SETTING_KEYS[field]}`;
  const refuse = (field: keyof PortholeConfig, value: unknown, reason: string): void => {
    problems.push(`${name(field)}: ${showValue(value)} ${reason}.`);
  };
  /** The setting's value after `problem` accepted it; the fallback (and a problem) otherwise. */
  const checked = <T>(field: keyof PortholeConfig, fallback: T, problem: (v: unknown) => string | undefined): T => {
    const v = read(SETTING_KEYS[field]);
    if (v === undefined || v === null) return fallback;
    const reason = problem(v);
    if (reason === undefined) return v as T;
    refuse(field, v, reason);
    return fallback;
  };
  const bool = (field: keyof PortholeConfig, fallback: boolean): boolean => checked(field, fallback, booleanProblem);
  const str = (field: keyof PortholeConfig, fallback: string, more: (v: string) => string | undefined = () => undefined): string =>
    checked<string>(field, fallback, (v) => (typeof v !== 'string' ? 'must be a string' : v.includes('\0') ? 'contains a NUL character' : more(v.trim()))).trim();
  const int = (field: keyof PortholeConfig, fallback: number, min: number, max: number): number =>
    checked(field, fallback, (v) => (typeof v === 'number' ? wholeNumberProblem(v, min, max) : `must be a whole number from ${min} to ${max}`));
  /** A list of strings, each entry trimmed and checked by `valid`; one problem per bad entry. */
  const list = (field: keyof PortholeConfig, valid: (entry: string) => string | undefined): string[] => {
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
    logFile: str('logFile', DEFAULT_CONFIG.logFile),
    resolveHostNames: bool('resolveHostNames', DEFAULT_CONFIG.resolveHostNames),
    maxEntries: int('maxEntries', DEFAULT_CONFIG.maxEntries, MIN_MAX_ENTRIES, MAX_MAX_ENTRIES),
    allowedHosts: list('allowedHosts', (h) => allowedHostProblem(h)),
    allowedClients: list('allowedClients', cidrProblem),
    httpsCert: str('httpsCert', DEFAULT_CONFIG.httpsCert),
    httpsKey: str('httpsKey', DEFAULT_CONFIG.httpsKey),
    httpsSelfSigned: bool('httpsSelfSigned', DEFAULT_CONFIG.httpsSelfSigned),
    proxy: proxySetting(),
    proxyRewriteHost: bool('proxyRewriteHost', DEFAULT_CONFIG.proxyRewriteHost),
    reloadWatch: list('reloadWatch', (p) => (p === '' ? 'is empty: give a folder' : p.includes('\0') ? 'contains a NUL character' : undefined)),
    browser: str('browser', DEFAULT_CONFIG.browser, browserProblem) || DEFAULT_CONFIG.browser,
    followEditor: bool('followEditor', DEFAULT_CONFIG.followEditor),
    ...readReloadSettings(read, problems),
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
    (['port', 'host', 'root', 'httpsCert', 'httpsKey', 'httpsSelfSigned', 'proxyRewriteHost'] as const).some((k) => running[k] !== next[k]) ||
    !sameSettingValue(running.proxy, next.proxy) ||
    !sameSettingValue(running.reloadWatch, next.reloadWatch) ||
    reloadNeedsRestart(running, next)
  );
}

/** The setting keys whose values differ (for "applies at the next start" messages). */
export function changedKeys(a: PortholeConfig, b: PortholeConfig): string[] {
  return (Object.keys(SETTING_KEYS) as Array<keyof PortholeConfig>)
    .filter((k) => !sameSettingValue(a[k], b[k]))
    .map((k) => `porthole.${SETTING_KEYS[k]}`);
}

/** Settings a running server takes without a restart (WorkerServer.reconfigure). */
export const LIVE_SETTINGS = ['listing', 'dotfiles', 'followSymlinks', 'crossSiteLoads', 'allowedHosts', 'allowedClients'] as const;

/** The live-applicable changes from `running` to `next`, or undefined when there are none. */
export function liveChanges(running: PortholeConfig, next: PortholeConfig): ReconfigurableOptions | undefined {
  const changes: { -readonly [K in (typeof LIVE_SETTINGS)[number]]?: PortholeConfig[K] } = {};
  let any = false;
  for (const k of LIVE_SETTINGS) {
    if (sameSettingValue(running[k], next[k])) continue;
    (changes as Record<string, unknown>)[k] = next[k];
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

/** The log file path: the setting (folder-relative allowed) or `requests-<folder>.log` in logDir. */
export function resolveLogFile(config: PortholeConfig, folder: FolderContext): string {
  if (config.logFile !== '') return path.resolve(folder.folderPath, config.logFile);
  const safe = folder.folderName.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'folder';
  return path.join(folder.logDir, `requests-${safe}.log`);
}

/** The core's input for one folder: only what the settings say; the core fills in the rest. */
export function toServerOptions(config: PortholeConfig, folder: FolderContext): ServerOptionsInput {
  return {
    root: resolveRoot(config, folder),
    port: config.port,
    host: config.host,
    listing: config.listing,
    dotfiles: config.dotfiles,
    followSymlinks: config.followSymlinks,
    crossSiteLoads: config.crossSiteLoads,
    logFile: resolveLogFile(config, folder),
    resolveHostNames: config.resolveHostNames,
    allowedHosts: config.allowedHosts,
    allowedClients: config.allowedClients,
    reload: { ...toReloadOptions(config), watchPaths: config.reloadWatch.map((p) => path.resolve(folder.folderPath, p)) },
    proxy: {
      routes: config.proxy.map((spec) => {
        const eq = spec.indexOf('=');
        return { prefix: spec.slice(0, eq), target: spec.slice(eq + 1) };
      }),
      rewriteHost: config.proxyRewriteHost,
    },
  };
}
