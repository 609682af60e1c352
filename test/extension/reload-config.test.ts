import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_RELOAD } from '../../src/core';
import { DEFAULT_CONFIG, changedKeys, needsRestart, readConfig, toServerOptions } from '../../src/extension/config/node-config';
import { DEFAULT_RELOAD_SETTINGS, readReloadSettings, reloadNeedsRestart, toReloadOptions } from '../../src/extension/reload/node-reload-config';

const read = (values: Record<string, unknown>) => {
  const problems: string[] = [];
  return { settings: readReloadSettings((key) => values[key], problems), problems };
};

void test('no reload settings: the core\'s defaults, reloading on save', () => {
  assert.deepEqual(read({}), { settings: DEFAULT_RELOAD_SETTINGS, problems: [] });
  assert.equal(DEFAULT_RELOAD_SETTINGS.reloadEnabled, DEFAULT_RELOAD.enabled);
  assert.deepEqual(DEFAULT_RELOAD_SETTINGS.reloadIgnore, DEFAULT_RELOAD.ignore);
  assert.equal(DEFAULT_RELOAD_SETTINGS.reloadDebounceMs, DEFAULT_RELOAD.debounceMs);
  assert.equal(DEFAULT_RELOAD_SETTINGS.reloadOn, 'save');
  assert.deepEqual(readConfig(() => undefined).config, { ...DEFAULT_CONFIG, explicit: [] });
});

void test('valid reload settings are taken; globs are trimmed; an empty glob is a problem', () => {
  const { settings, problems } = read({ 'reload.enabled': false, 'reload.on': 'type', 'reload.ignore': [' dist/** ', '*.map'], 'reload.debounceMs': 0 });
  assert.deepEqual(problems, []);
  assert.deepEqual(settings, { reloadEnabled: false, reloadOn: 'type', reloadIgnore: ['dist/**', '*.map'], reloadDebounceMs: 0 });
  assert.deepEqual(read({ 'reload.ignore': ['dist/**', ''] }).problems, ['porthole.reload.ignore: "" is empty.']);
});

void test('invalid reload settings are problems with the value and the reason', () => {
  const { settings, problems } = read({ 'reload.enabled': 'yes', 'reload.on': 'always', 'reload.ignore': ['a', 3], 'reload.debounceMs': 10.5 });
  assert.deepEqual({ ...settings, reloadIgnore: DEFAULT_RELOAD_SETTINGS.reloadIgnore }, DEFAULT_RELOAD_SETTINGS);
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.match(problems.join('\n'), /porthole\.reload\.on: "always" must be "save" or "type"/);
  assert.match(problems.join('\n'), /porthole\.reload\.debounceMs: 10\.5 must be a whole number from 0 to 10000/);
  assert.match(problems.join('\n'), /porthole\.reload\.ignore: 3 is not a string/);
  assert.equal(read({ 'reload.debounceMs': 10_001 }).problems.length, 1);
  assert.equal(readConfig((key) => (key === 'reload.on' ? 'never' : undefined)).problems.length, 1);
});

void test('the server gets the reload options with its own watcher off (the extension watches)', () => {
  const folder = { folderPath: path.resolve('/work/site'), folderName: 'site', logDir: path.resolve('/logs') };
  const options = toServerOptions({ ...DEFAULT_CONFIG, reloadIgnore: ['dist/**'], reloadDebounceMs: 250 }, folder);
  assert.deepEqual(options.reload, { enabled: true, ignore: ['dist/**'], debounceMs: 250, watch: false, watchPaths: [] });
  assert.deepEqual(toReloadOptions(DEFAULT_RELOAD_SETTINGS), { ...DEFAULT_RELOAD, ignore: [...DEFAULT_RELOAD.ignore], watch: false, watchPaths: [] });
});

void test('reload.enabled, ignore and debounceMs restart the server; reload.on does not', () => {
  const base = DEFAULT_CONFIG;
  assert.equal(needsRestart(base, { ...base, reloadOn: 'type' }), false);
  assert.equal(needsRestart(base, { ...base, reloadIgnore: [...base.reloadIgnore] }), false, 'an equal list is no change');
  assert.equal(needsRestart(base, { ...base, reloadEnabled: false }), true);
  assert.equal(needsRestart(base, { ...base, reloadDebounceMs: 50 }), true);
  assert.equal(needsRestart(base, { ...base, reloadIgnore: ['dist/**'] }), true);
  assert.equal(reloadNeedsRestart(base, { ...base, reloadOn: 'type' }), false);
  assert.deepEqual(changedKeys(base, { ...base, reloadOn: 'type', reloadIgnore: [...base.reloadIgnore] }), ['porthole.reload.on']);
});
