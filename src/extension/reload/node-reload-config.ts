/**
 * The live-reload settings (`porthole.reload.*`): their keys, defaults (the core's DEFAULT_RELOAD,
 * plus the extension-only `reload.on`), validation, and what they mean for the server. Pure: no
 * `vscode` import. node-config.ts folds these fields into its snapshot; invariant as there: an
 * invalid value never reaches the core; it is a problem (with the value and the reason) that stops
 * the start.
 */
import { DEFAULT_RELOAD, OPTION_BOUNDS, globProblem, showValue } from '../../core';
import type { ReloadOptions } from '../../core';

/** When pages follow the editor: on save (the file on disk), or as you type (the unsaved text). */
export type ReloadTrigger = 'save' | 'type';
export const RELOAD_TRIGGERS: readonly ReloadTrigger[] = ['save', 'type'];
export const DEFAULT_RELOAD_ON: ReloadTrigger = 'save';
export const MIN_RELOAD_DEBOUNCE_MS = OPTION_BOUNDS.debounceMs.min;
export const MAX_RELOAD_DEBOUNCE_MS = OPTION_BOUNDS.debounceMs.max;

/** The `porthole.reload.*` fields of the config snapshot. */
export interface ReloadSettings {
  readonly reloadEnabled: boolean;
  readonly reloadOn: ReloadTrigger;
  /** Root-relative globs; the request log file is always ignored besides these. */
  readonly reloadIgnore: readonly string[];
  readonly reloadDebounceMs: number;
}

export const RELOAD_SETTING_KEYS = {
  reloadEnabled: 'reload.enabled',
  reloadOn: 'reload.on',
  reloadIgnore: 'reload.ignore',
  reloadDebounceMs: 'reload.debounceMs',
} as const satisfies Record<keyof ReloadSettings, string>;

export const DEFAULT_RELOAD_SETTINGS: ReloadSettings = {
  reloadEnabled: DEFAULT_RELOAD.enabled,
  reloadOn: DEFAULT_RELOAD_ON,
  reloadIgnore: DEFAULT_RELOAD.ignore,
  reloadDebounceMs: DEFAULT_RELOAD.debounceMs,
};

/** Validates the reload settings; each invalid value is told in `problems` (which stop the start). */
export function readReloadSettings(read: (key: string) => unknown, problems: string[]): ReloadSettings {
  const d = DEFAULT_RELOAD_SETTINGS;
  const name = (field: keyof ReloadSettings) => `porthole.${RELOAD_SETTING_KEYS[field]}`;
  const refuse = (field: keyof ReloadSettings, value: unknown, reason: string): void => {
    problems.push(`${name(field)}: ${showValue(value)} ${reason}.`);
  };
  const given = (field: keyof ReloadSettings): unknown => {
    const v = read(RELOAD_SETTING_KEYS[field]);
    return v === null ? undefined : v;
  };

  let reloadEnabled = d.reloadEnabled;
  const enabled = given('reloadEnabled');
  if (typeof enabled === 'boolean') reloadEnabled = enabled;
  else if (enabled !== undefined) refuse('reloadEnabled', enabled, 'must be true or false');

  let reloadOn = d.reloadOn;
  const on = given('reloadOn');
  if (RELOAD_TRIGGERS.includes(on as ReloadTrigger)) reloadOn = on as ReloadTrigger;
  else if (on !== undefined) refuse('reloadOn', on, 'must be "save" or "type"');

  let reloadIgnore = d.reloadIgnore;
  const ignore = given('reloadIgnore');
  if (Array.isArray(ignore)) {
    const kept: string[] = [];
    for (const g of ignore as unknown[]) {
      const reason = typeof g === 'string' ? globProblem(g.trim()) : 'is not a string';
      if (reason === undefined) kept.push((g as string).trim());
      else refuse('reloadIgnore', g, reason);
    }
    reloadIgnore = kept;
  } else if (ignore !== undefined) {
    refuse('reloadIgnore', ignore, 'must be a list of glob patterns');
  }

  let reloadDebounceMs = d.reloadDebounceMs;
  const ms = given('reloadDebounceMs');
  if (typeof ms === 'number' && Number.isInteger(ms) && ms >= MIN_RELOAD_DEBOUNCE_MS && ms <= MAX_RELOAD_DEBOUNCE_MS) reloadDebounceMs = ms;
  else if (ms !== undefined) refuse('reloadDebounceMs', ms, `must be a whole number from ${MIN_RELOAD_DEBOUNCE_MS} to ${MAX_RELOAD_DEBOUNCE_MS}`);

  return { reloadEnabled, reloadOn, reloadIgnore, reloadDebounceMs };
}

/**
 * The core's reload options. `watch` is off: the extension watches the root itself (a workspace
 * watcher that honours `files.watcherExclude`) and reports changes with `notifyChanged`.
 */
export function toReloadOptions(settings: ReloadSettings): ReloadOptions {
  return {
    enabled: settings.reloadEnabled,
    ignore: [...settings.reloadIgnore],
    debounceMs: settings.reloadDebounceMs,
    watch: false,
    watchPaths: [],
  };
}

/**
 * True when the server must restart for the reload settings: they are listen options. `reload.on`
 * is not among them; the extension applies it to a running server.
 */
export function reloadNeedsRestart(running: ReloadSettings, next: ReloadSettings): boolean {
  return (
    running.reloadEnabled !== next.reloadEnabled ||
    running.reloadDebounceMs !== next.reloadDebounceMs ||
    !sameSettingValue(running.reloadIgnore, next.reloadIgnore)
  );
}

/** Equality of two setting values; lists are compared item by item. */
export function sameSettingValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameSettingValue(v, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    // Objects (porthole.headers, the CORS option): the same keys with the same values.
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && sameSettingValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
