import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_CONFIG,
  changedKeys,
  liveChanges,
  needsRestart,
  readConfig,
  resolveLogFile,
  toServerOptions,
} from '../../src/extension/config/node-config';

const from = (values: Record<string, unknown>) => readConfig((key) => values[key]);
const folder = { folderPath: path.resolve('/work/site'), folderName: 'my site', logDir: path.resolve('/logs/porthole') };

void test('no settings: the defaults, no problems', () => {
  assert.deepEqual(from({}), { config: DEFAULT_CONFIG, problems: [] });
});

void test('valid values are taken as they are', () => {
  const { config, problems } = from({ port: 0, host: '::1', root: 'public', openBrowser: false, listing: false, 'log.file': 'x.log', 'requests.maxEntries': 500 });
  assert.deepEqual(problems, []);
  assert.equal(config.port, 0);
  assert.equal(config.host, '::1');
  assert.equal(config.root, 'public');
  assert.equal(config.openBrowser, false);
  assert.equal(config.listing, false);
  assert.equal(config.maxEntries, 500);
});

void test('invalid values are problems with the value and the reason (they stop the start); the snapshot keeps defaults', () => {
  const { config, problems } = from({ port: 70000, host: 'a b', root: '../outside', dotfiles: 'yes', 'requests.maxEntries': 1.5 });
  // porthole.port falls back to null: the folder's own port, derived by the core.
  assert.equal(config.port, null);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.root, '');
  assert.equal(config.dotfiles, false);
  assert.equal(config.maxEntries, 10000);
  assert.equal(problems.length, 5);
  assert.match(problems.join('\n'), /porthole\.port: 70000 must be a whole number from 0 to 65535/);
  assert.match(problems.join('\n'), /porthole\.host: "a b" is not an address/);
  assert.match(problems.join('\n'), /porthole\.dotfiles: "yes" must be true or false/);
});

void test('an absolute root is refused (the root is folder-relative)', () => {
  assert.equal(from({ root: path.resolve('/etc') }).config.root, '');
});

void test('a restart is needed only when the binding or the root changed', () => {
  const base = DEFAULT_CONFIG;
  assert.equal(needsRestart(base, { ...base, listing: false, dotfiles: true, openBrowser: false, maxEntries: 200 }), false);
  assert.equal(needsRestart(base, { ...base, port: 8001 }), true);
  assert.equal(needsRestart(base, { ...base, host: '0.0.0.0' }), true);
  assert.equal(needsRestart(base, { ...base, root: 'www' }), true);
  assert.deepEqual(changedKeys(base, { ...base, listing: false, logFile: 'a' }), ['porthole.listing', 'porthole.log.file']);
});

void test('server options: folder-relative root, default log file in the log folder', () => {
  const options = toServerOptions({ ...DEFAULT_CONFIG, root: 'public' }, folder);
  assert.equal(options.root, path.join(folder.folderPath, 'public'));
  assert.equal(options.port, null);
  assert.equal(options.host, '127.0.0.1');
  assert.equal(options.logFile, path.join(folder.logDir, 'requests-my_site.log'));
  assert.equal(resolveLogFile({ ...DEFAULT_CONFIG, logFile: 'logs/req.log' }, folder), path.join(folder.folderPath, 'logs', 'req.log'));
});

void test('porthole.crossSiteLoads reaches the server options and applies without a restart', () => {
  assert.equal(DEFAULT_CONFIG.crossSiteLoads, false);
  const { config, problems } = from({ crossSiteLoads: true });
  assert.deepEqual(problems, []);
  assert.equal(config.crossSiteLoads, true);
  assert.equal(toServerOptions(config, folder).crossSiteLoads, true);
  assert.equal(needsRestart(DEFAULT_CONFIG, config), false);
  assert.deepEqual(liveChanges(DEFAULT_CONFIG, config), { crossSiteLoads: true });
});
