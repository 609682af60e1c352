import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
  assert.deepEqual(from({}), { config: { ...DEFAULT_CONFIG, explicit: [] }, problems: [] });
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
  // The extension's own log file is a fallback that porthole.config.json's logFile may replace.
  assert.equal(options.logFile, undefined);
  // The folder's name made file-name safe, and 8 hex digits of its path's SHA-256 (two folders may share a name).
  const hash = createHash('sha256').update(folder.folderPath).digest('hex').slice(0, 8);
  assert.equal(options.fallback?.logFile, path.join(folder.logDir, `requests-my_site-${hash}.log`));
  assert.equal(toServerOptions({ ...DEFAULT_CONFIG, logFile: 'logs/req.log' }, folder).logFile, path.join(folder.folderPath, 'logs', 'req.log'));
  assert.equal(resolveLogFile({ ...DEFAULT_CONFIG, logFile: 'logs/req.log' }, folder), path.join(folder.folderPath, 'logs', 'req.log'));
});

void test('porthole.proxy: an object, strings or {path, target} objects; each bad route refused with its reason (any problem stops the start)', () => {
  const asObject = from({ proxy: { '/api': 'http://127.0.0.1:3000', '/ws/': 'http://127.0.0.1:4000' }, proxyRewriteHost: true, 'reload.watch': ['../app/templates'] });
  assert.deepEqual(asObject.problems, []);
  assert.deepEqual(asObject.config.proxy, ['/api=http://127.0.0.1:3000', '/ws/=http://127.0.0.1:4000']);
  const options = toServerOptions(asObject.config, folder);
  assert.deepEqual(options.proxy, {
    routes: [
      { prefix: '/api', target: 'http://127.0.0.1:3000' },
      { prefix: '/ws/', target: 'http://127.0.0.1:4000' },
    ],
    rewriteHost: true,
  });
  assert.deepEqual(options.reload?.watchPaths, [path.resolve('/work/app/templates')]);

  const asList = from({ proxy: ['/=http://127.0.0.1:5000', { path: '/api', target: 'http://127.0.0.1:3000' }, 'api=http://x', { path: '/a', target: 'ftp://x' }, 7] });
  assert.deepEqual(asList.config.proxy, ['/=http://127.0.0.1:5000', '/api=http://127.0.0.1:3000']);
  assert.equal(asList.problems.length, 3);
  assert.match(asList.problems[0] ?? '', /porthole\.proxy: "api=http:\/\/x" proxy prefix "api" must be a URL path/);
  assert.match(asList.problems[1] ?? '', /must be http:\/\/ or https:\/\//);
  assert.match(asList.problems[2] ?? '', /is not a route/);
  const twice = from({ proxy: ['/api=http://127.0.0.1:3000', '/api/=http://127.0.0.1:4000'] });
  assert.equal(twice.problems.length, 1);
  assert.match(twice.problems[0] ?? '', /porthole\.proxy: "\/api\/=http:\/\/127\.0\.0\.1:4000" gives the prefix "\/api" a second time/);

  assert.equal(needsRestart(DEFAULT_CONFIG, asObject.config), true);
  assert.deepEqual(changedKeys(DEFAULT_CONFIG, asObject.config), ['porthole.proxy', 'porthole.proxyRewriteHost', 'porthole.reload.watch']);
});

void test('porthole.crossSiteLoads reaches the server options and applies without a restart', () => {
  assert.equal(DEFAULT_CONFIG.crossSiteLoads, false);
  const { config, problems } = from({ crossSiteLoads: true });
  assert.deepEqual(problems, []);
  assert.equal(config.crossSiteLoads, true);
  assert.equal(toServerOptions(config, folder).crossSiteLoads, true);
  const before = from({ crossSiteLoads: false }).config;
  assert.equal(needsRestart(before, config), false);
  assert.deepEqual(liveChanges(before, config), { crossSiteLoads: true });
});

void test('a live setting newly set or unset applies live; another server setting restarts', () => {
  // The e2e sharing suite saves porthole.allowedClients into settings that had none.
  const unset = from({}).config;
  const set = from({ allowedClients: ['192.0.2.0/24'] }).config;
  assert.equal(needsRestart(unset, set), false);
  assert.deepEqual(liveChanges(unset, set), { allowedClients: ['192.0.2.0/24'] });
  // Set to the default's value: still sent, since the file may have said otherwise.
  assert.deepEqual(liveChanges(unset, from({ listing: true }).config), { listing: true });
  // Unset again: its default, live (the file decides again at the next start).
  assert.equal(needsRestart(set, unset), false);
  assert.deepEqual(liveChanges(set, unset), { allowedClients: [] });
  // A setting that is not live, newly set: a restart.
  assert.equal(needsRestart(unset, from({ 'log.resolveHostNames': false }).config), true);
});

void test('porthole.mounts: an object or PREFIX=FOLDER strings, folders from the workspace folder (as the core reads them); bad prefixes refused; a change restarts', () => {
  const asObject = from({ mounts: { '/vendor': 'node_modules/x', '/img/': '/srv/images' } });
  assert.deepEqual(asObject.problems, []);
  assert.deepEqual(asObject.config.mounts, ['/vendor=node_modules/x', '/img/=/srv/images']);
  assert.deepEqual(toServerOptions(asObject.config, folder).mounts, [
    { prefix: '/vendor', folder: path.resolve('/work/site/node_modules/x') },
    { prefix: '/img/', folder: path.resolve('/srv/images') },
  ]);
  const asList = from({ mounts: ['/vendor=../common/lib'] });
  assert.deepEqual(asList.problems, []);
  assert.deepEqual(toServerOptions(asList.config, folder).mounts, [{ prefix: '/vendor', folder: path.resolve('/work/common/lib') }]);
  // Not set: the configuration file (then the default) decides.
  assert.equal(toServerOptions(from({}).config, folder).mounts, undefined);

  const bad = from({ mounts: { vendor: 'x', '/__porthole': 'x', '/.git': 'x', '/a': 'x', '/a/': 'y' } });
  assert.deepEqual(bad.config.mounts, ['/a=x']);
  assert.equal(bad.problems.length, 4, bad.problems.join('\n'));
  assert.match(bad.problems[0] ?? '', /porthole\.mounts: "vendor=x" mount prefix "vendor" must be a URL path/);
  assert.match(bad.problems[1] ?? '', /Porthole's own/);
  assert.match(bad.problems[2] ?? '', /hidden segment/);
  assert.match(bad.problems[3] ?? '', /gives the prefix "\/a\/" a second time/);
  assert.match(from({ mounts: ['vendor'] }).problems[0] ?? '', /porthole\.mounts: \["vendor"\] a mount is PREFIX=FOLDER/);
  assert.match(from({ mounts: { '/v': 3 } }).problems[0] ?? '', /mount "\/v" needs a folder/);
  assert.match(from({ mounts: 'x' }).problems[0] ?? '', /must be an object of prefix → folder/);

  assert.equal(needsRestart(DEFAULT_CONFIG, asObject.config), true);
  assert.deepEqual(changedKeys(DEFAULT_CONFIG, asObject.config), ['porthole.mounts']);
});

void test('porthole.cleanUrls reaches the server options and applies without a restart', () => {
  assert.equal(DEFAULT_CONFIG.cleanUrls, false);
  const { config, problems } = from({ cleanUrls: true });
  assert.deepEqual(problems, []);
  assert.equal(toServerOptions(config, folder).cleanUrls, true);
  const before = from({ cleanUrls: false }).config;
  assert.equal(needsRestart(before, config), false);
  assert.deepEqual(liveChanges(before, config), { cleanUrls: true });
  assert.match(from({ cleanUrls: 'yes' }).problems[0] ?? '', /porthole\.cleanUrls: "yes" must be true or false/);
});

void test('porthole.console.forward: off, errors (the default) or all; it reaches the server options and applies without a restart', () => {
  assert.equal(DEFAULT_CONFIG.consoleForward, 'errors');
  const { config, problems } = from({ 'console.forward': 'all' });
  assert.deepEqual(problems, []);
  assert.equal(config.consoleForward, 'all');
  assert.equal(toServerOptions(config, folder).consoleForward, 'all');
  const before = from({ 'console.forward': 'errors' }).config;
  assert.equal(needsRestart(before, config), false);
  assert.deepEqual(liveChanges(before, config), { consoleForward: 'all' });
  // Unset: the core's default decides (and porthole.config.json may).
  assert.equal(toServerOptions(from({}).config, folder).consoleForward, undefined);
  const bad = from({ 'console.forward': 'warnings' });
  assert.deepEqual(bad.problems, ['porthole.console.forward: "warnings" must be "off", "errors" or "all".']);
  assert.equal(bad.config.consoleForward, 'errors');
});
