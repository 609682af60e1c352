/**
 * The extension's settings (`porthole.*`) as one validated, immutable snapshot per workspace folder.
 * Pure: no `vscode` import, so node tests check it and check that package.json's defaults are the
 * core's own (DEFAULT_OPTIONS). Invariant: an invalid value never reaches the core; it falls back
 * to the default and the reason is reported in `problems`.
 */
import * as path from 'node:path';
import { DEFAULT_OPTIONS, parseCidr } from '../../core';
import type { ReconfigurableOptions, ServerOptionsInput } from '../../core';
import { DEFAULT_RELOAD_SETTINGS, RELOAD_SETTING_KEYS, readReloadSettings, reloadNeedsRestart, sameSettingValue, toReloadOptions } from '../reload/node-reload-config';
import type { ReloadSettings } from '../reload/node-reload-config';

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
  logFile: 'log.file',
  resolveHostNames: 'log.resolveHostNames',
  maxEntries: 'requests.maxEntries',
  allowedHosts: 'allowedHosts',
  allowedClients: 'allowedClients',
  httpsCert: 'https.cert',
  httpsKey: 'https.key',
  httpsSelfSigned: 'https.selfSigned',
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
  logFile: '',
  resolveHostNames: DEFAULT_OPTIONS.resolveHostNames,
  maxEntries: DEFAULT_MAX_ENTRIES,
  allowedHosts: DEFAULT_OPTIONS.allowedHosts,
  allowedClients: DEFAULT_OPTIONS.allowedClients,
  httpsCert: '',
  httpsKey: '',
  httpsSelfSigned: false,
  browser: 'default',
  followEditor: false,
  ...DEFAULT_RELOAD_SETTINGS,
};

export interface ConfigSnapshot {
  readonly config: PortholeConfig;
  /** One plain sentence per rejected value (already replaced by its default). */
  readonly problems: readonly string[];
}

/** Reads a raw value by its setting key (e.g. a WorkspaceConfiguration's `get`). */
export type RawSettingReader = (key: string) => unknown;

/** Validates every setting; the result never contains an invalid value. */
export function readConfig(read: RawSettingReader): ConfigSnapshot {
  const problems: string[] = [];
  const bool = (field: keyof PortholeConfig, fallback: boolean): boolean => {
    const v = read(SETTING_KEYS[field]);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    problems.push(`porthole.${SETTING_KEYS[field]} must be true or false; using ${String(fallback)}.`);
    return fallback;
  };
  const str = (field: keyof PortholeConfig, fallback: string): string => {
    const v = read(SETTING_KEYS[field]);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string') return v.trim();
    problems.push(`porthole.${SETTING_KEYS[field]} must be a string; using "${fallback}".`);
    return fallback;
  };
  const int = (field: keyof PortholeConfig, fallback: number, min: number, max: number): number => {
    const v = read(SETTING_KEYS[field]);
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    problems.push(`porthole.${SETTING_KEYS[field]} must be a whole number from ${min} to ${max}; using ${fallback}.`);
    return fallback;
  };
  /** A list of strings; entries `valid` refuses are dropped, each with its reason. */
  const list = (field: keyof PortholeConfig, valid: (entry: string) => string | undefined): string[] => {
    const v = read(SETTING_KEYS[field]);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      problems.push(`porthole.${SETTING_KEYS[field]} must be a list of strings; ignoring it.`);
      return [];
    }
    const out: string[] = [];
    for (const entry of v as unknown[]) {
      const reason = typeof entry === 'string' ? valid(entry.trim()) : 'is not a string';
      if (reason === undefined) out.push((entry as string).trim());
      else problems.push(`porthole.${SETTING_KEYS[field]}: ${JSON.stringify(entry)} ${reason}; ignoring it.`);
    }
    return out;
  };

  /** null (unset too): the folder's own port, derived by the core; else a whole number 0–65535. */
  const portSetting = (): number | null => {
    const v = read(SETTING_KEYS.port);
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535) return v;
    problems.push(`porthole.port must be a whole number from 0 to 65535, or null for the folder's own port; using the folder's own port.`);
    return null;
  };

  let host = str('host', DEFAULT_CONFIG.host);
  if (host === '' || /[\s/]/.test(host)) {
    problems.push(`porthole.host "${host}" is not an address; using ${DEFAULT_CONFIG.host}.`);
    host = DEFAULT_CONFIG.host;
  }
  let root = str('root', DEFAULT_CONFIG.root);
  if (path.isAbsolute(root) || root.split(/[\\/]/).includes('..')) {
    problems.push(`porthole.root "${root}" must be a folder inside the workspace folder; serving the workspace folder.`);
    root = '';
  }
  const config: PortholeConfig = {
    port: portSetting(),
    host,
    root,
    openBrowser: bool('openBrowser', DEFAULT_CONFIG.openBrowser),
    listing: bool('listing', DEFAULT_CONFIG.listing),
    dotfiles: bool('dotfiles', DEFAULT_CONFIG.dotfiles),
    followSymlinks: bool('followSymlinks', DEFAULT_CONFIG.followSymlinks),
    logFile: str('logFile', DEFAULT_CONFIG.logFile),
    resolveHostNames: bool('resolveHostNames', DEFAULT_CONFIG.resolveHostNames),
    maxEntries: int('maxEntries', DEFAULT_CONFIG.maxEntries, MIN_MAX_ENTRIES, MAX_MAX_ENTRIES),
    allowedHosts: list('allowedHosts', (h) => (h === '' || /[\s/@]/.test(h) ? 'is not a host name' : undefined)),
    allowedClients: list('allowedClients', (c) => {
      try {
        parseCidr(c);
        return undefined;
      } catch (err) {
        return `is not valid (${(err as Error).message})`;
      }
    }),
    httpsCert: str('httpsCert', DEFAULT_CONFIG.httpsCert),
    httpsKey: str('httpsKey', DEFAULT_CONFIG.httpsKey),
    httpsSelfSigned: bool('httpsSelfSigned', DEFAULT_CONFIG.httpsSelfSigned),
    browser: str('browser', DEFAULT_CONFIG.browser) || DEFAULT_CONFIG.browser,
    followEditor: bool('followEditor', DEFAULT_CONFIG.followEditor),
    ...readReloadSettings(read, problems),
  };
  return { config, problems };
}

/**
 * True when the running server must restart to honour `next`: its binding, root or HTTPS changed,
 * or a live-reload listen option (`reload.enabled`, `reload.ignore`, `reload.debounceMs`).
 */
export function needsRestart(running: PortholeConfig, next: PortholeConfig): boolean {
  return (
    (['port', 'host', 'root', 'httpsCert', 'httpsKey', 'httpsSelfSigned'] as const).some((k) => running[k] !== next[k]) ||
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
export const LIVE_SETTINGS = ['listing', 'dotfiles', 'followSymlinks', 'allowedHosts', 'allowedClients'] as const;

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
    logFile: resolveLogFile(config, folder),
    resolveHostNames: config.resolveHostNames,
    allowedHosts: config.allowedHosts,
    allowedClients: config.allowedClients,
    reload: toReloadOptions(config),
  };
}
