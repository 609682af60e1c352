import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CONFIG_FILE_NAME, DEFAULT_OPTIONS } from '../../src/core';
import { COMMANDS, REQUESTS_VIEW_ID, VIEW_CONTAINER_ID } from '../../src/extension/commands/node-command-ids';
import { DEFAULT_CONFIG, DEFAULT_MAX_ENTRIES, MAX_MAX_ENTRIES, MIN_MAX_ENTRIES, SETTING_KEYS } from '../../src/extension/config/node-config';
import { DEFAULT_RELOAD_ON, MAX_RELOAD_DEBOUNCE_MS, MIN_RELOAD_DEBOUNCE_MS, RELOAD_TRIGGERS } from '../../src/extension/reload/node-reload-config';
import { readManifest, repoRoot } from './helpers';

const manifest = readManifest();
const props = manifest.contributes.configuration.properties;
const prop = (key: string) => {
  const p = props[`porthole.${key}`];
  assert.ok(p, `porthole.${key} is contributed`);
  return p;
};

void test('the settings defaults are the core\'s own DEFAULT_OPTIONS', () => {
  assert.equal(prop('port').default, DEFAULT_OPTIONS.port);
  // null: each folder its own port, derived from its path (derivePort).
  assert.equal(prop('port').default, null);
  assert.deepEqual(prop('port').type, ['integer', 'null']);
  assert.equal(prop('host').default, DEFAULT_OPTIONS.host);
  assert.equal(prop('host').default, '127.0.0.1');
  assert.equal(prop('listing').default, DEFAULT_OPTIONS.listing);
  assert.equal(prop('dotfiles').default, DEFAULT_OPTIONS.dotfiles);
  assert.equal(prop('followSymlinks').default, DEFAULT_OPTIONS.followSymlinks);
  assert.equal(prop('crossSiteLoads').default, DEFAULT_OPTIONS.crossSiteLoads);
  assert.equal(prop('log.resolveHostNames').default, DEFAULT_OPTIONS.resolveHostNames);
  // The core has no log file by default; the extension's '' means "the extension's log folder".
  assert.equal(DEFAULT_OPTIONS.logFile, undefined);
  assert.equal(prop('log.file').default, '');
  assert.equal(prop('requests.maxEntries').default, DEFAULT_MAX_ENTRIES);
  assert.equal(prop('requests.maxEntries').minimum, MIN_MAX_ENTRIES);
  assert.equal(prop('requests.maxEntries').maximum, MAX_MAX_ENTRIES);
  assert.deepEqual(prop('allowedHosts').default, DEFAULT_OPTIONS.allowedHosts);
  assert.deepEqual(prop('allowedClients').default, DEFAULT_OPTIONS.allowedClients);
  assert.equal(prop('allowedHosts').type, 'array');
  assert.equal(prop('allowedClients').type, 'array');
  // The core's `tls` is undefined by default: no certificate files, no self-signed certificate.
  assert.equal(DEFAULT_OPTIONS.tls, undefined);
  assert.equal(prop('https.cert').default, '');
  assert.equal(prop('https.key').default, '');
  assert.equal(prop('https.selfSigned').default, false);
  assert.equal(prop('reload.enabled').default, DEFAULT_OPTIONS.reload.enabled);
  assert.deepEqual(prop('reload.ignore').default, DEFAULT_OPTIONS.reload.ignore);
  assert.deepEqual(prop('reload.ignore').default, ['**/.git/**', '**/node_modules/**', '.vscode/**']);
  assert.equal(prop('reload.debounceMs').default, DEFAULT_OPTIONS.reload.debounceMs);
  assert.equal(prop('reload.debounceMs').default, 100);
  assert.equal(prop('reload.debounceMs').minimum, MIN_RELOAD_DEBOUNCE_MS);
  assert.equal(prop('reload.debounceMs').maximum, MAX_RELOAD_DEBOUNCE_MS);
  // The proxy: no routes, the client's Host kept; no folders watched besides the root.
  assert.deepEqual(prop('proxy').default, []);
  assert.equal(DEFAULT_OPTIONS.proxy.routes.length, 0);
  assert.equal(prop('proxyRewriteHost').default, DEFAULT_OPTIONS.proxy.rewriteHost);
  assert.deepEqual(prop('reload.watch').default, DEFAULT_OPTIONS.reload.watchPaths);
  // `reload.on` is the extension's own (the core takes overlays whenever the host sends them).
  assert.equal(prop('reload.on').default, DEFAULT_RELOAD_ON);
  assert.deepEqual(prop('reload.on').enum, RELOAD_TRIGGERS);
  assert.equal(prop('reload.on').enumDescriptions?.length, RELOAD_TRIGGERS.length);
  // Headers, isolation, CORS (off: a default-on CORS lets any page read the folder), SPA, the file.
  assert.deepEqual(prop('headers').default, {});
  assert.deepEqual(DEFAULT_OPTIONS.headers, []);
  assert.equal(prop('crossOriginIsolation').default, DEFAULT_OPTIONS.crossOriginIsolation);
  assert.equal(prop('compression').default, DEFAULT_OPTIONS.compression);
  assert.equal(prop('cors.enabled').default, DEFAULT_OPTIONS.cors.enabled);
  assert.equal(prop('cors.enabled').default, false);
  assert.deepEqual(prop('cors.origins').default, DEFAULT_OPTIONS.cors.origins);
  assert.equal(DEFAULT_OPTIONS.spa, undefined);
  assert.equal(prop('spa').default, '');
  assert.equal(prop('configFile').default, DEFAULT_OPTIONS.configFile);
});

void test('porthole.config.json is completed by the editor: jsonValidation names the schema the core validates with', () => {
  const contributions = (manifest.contributes as unknown as { jsonValidation?: Array<{ fileMatch: string; url: string }> }).jsonValidation ?? [];
  const entry = contributions.find((j) => j.fileMatch === CONFIG_FILE_NAME);
  assert.ok(entry, 'a jsonValidation entry for porthole.config.json');
  const file = path.join(repoRoot(), entry.url);
  assert.ok(fs.existsSync(file), `${entry.url} exists`);
  const schema = JSON.parse(fs.readFileSync(file, 'utf8')) as { properties: Record<string, unknown> };
  // Every server option the file may hold is in the schema (and nothing the server does not know).
  const optionKeys = Object.keys(DEFAULT_OPTIONS).filter((k) => !['tls', 'configFile'].includes(k));
  assert.deepEqual(Object.keys(schema.properties).filter((k) => k !== '$schema').sort(), optionKeys.sort());
});

void test('every contributed setting is in the config snapshot with the same default, and vice versa', () => {
  const contributed = Object.keys(props).sort();
  const known = Object.values(SETTING_KEYS).map((k) => `porthole.${k}`).sort();
  assert.deepEqual(contributed, known);
  for (const [field, key] of Object.entries(SETTING_KEYS)) {
    assert.deepEqual(prop(key).default, DEFAULT_CONFIG[field as keyof typeof DEFAULT_CONFIG], `porthole.${key}`);
  }
});

void test('every setting has a markdownDescription and a scope; folder-specific ones are resource-scoped', () => {
  for (const [key, p] of Object.entries(props)) {
    assert.ok(p.markdownDescription && p.markdownDescription.length > 20, `${key} markdownDescription`);
    assert.ok(p.scope, `${key} scope`);
  }
  for (const key of ['root', 'port', 'host', 'listing', 'dotfiles', 'followSymlinks', 'crossSiteLoads', 'log.file', 'reload.enabled', 'reload.on', 'reload.ignore', 'reload.debounceMs', 'allowedHosts', 'allowedClients', 'https.cert', 'https.key', 'https.selfSigned', 'proxy', 'proxyRewriteHost', 'reload.watch']) {
    assert.equal(prop(key).scope, 'resource', key);
  }
});

void test('contributed commands are exactly the typed id table, in category Porthole', () => {
  const ids = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(ids, Object.values(COMMANDS).sort());
  for (const c of manifest.contributes.commands) assert.equal(c.category, 'Porthole', c.command);
});

void test('internal commands are hidden from the Command Palette', () => {
  const palette = manifest.contributes.menus.commandPalette ?? [];
  for (const id of Object.values(COMMANDS).filter((c) => c.startsWith('porthole._'))) {
    assert.ok(palette.some((m) => m.command === id && m.when === 'false'), `${id} hidden`);
  }
});

void test('Open Current File in Browser is in editor/title and explorer/context for HTML files', () => {
  for (const menu of ['editor/title', 'explorer/context']) {
    const entry = manifest.contributes.menus[menu]?.find((m) => m.command === COMMANDS.openFileInBrowser);
    assert.ok(entry, menu);
    assert.match(entry.when ?? '', /html/);
  }
});

void test('Open Preview to the Side is in editor/title for HTML files; Go Live there only with no folder open', () => {
  const title = manifest.contributes.menus['editor/title'] ?? [];
  assert.match(title.find((m) => m.command === COMMANDS.openPreview)?.when ?? '', /html/);
  assert.match(title.find((m) => m.command === COMMANDS.start)?.when ?? '', /workspaceFolderCount == 0 .*html/);
});

void test('porthole.browser runs a program: user settings only (application scope), never a folder\'s', () => {
  assert.equal(prop('browser').scope, 'application');
  assert.equal(prop('browser').default, 'default');
  assert.equal(prop('followEditor').default, false);
});

void test('the Porthole view container holds the Requests webview with clear and pause in its title', () => {
  const container = manifest.contributes.viewsContainers.activitybar.find((c) => c.id === VIEW_CONTAINER_ID);
  assert.ok(container);
  assert.equal(container.title, 'Porthole');
  assert.ok(fs.existsSync(path.join(repoRoot(), container.icon)));
  const view = manifest.contributes.views[VIEW_CONTAINER_ID]?.find((v) => v.id === REQUESTS_VIEW_ID);
  assert.equal(view?.type, 'webview');
  assert.equal(view?.name, 'Requests');
  const title = manifest.contributes.menus['view/title'] ?? [];
  for (const id of [COMMANDS.clearRequests, COMMANDS.pauseRequests, COMMANDS.resumeRequests]) {
    assert.ok(title.some((m) => m.command === id && (m.when ?? '').includes(`view == ${REQUESTS_VIEW_ID}`)), id);
  }
});

void test('manifest: main, activation, workspace trust, icon', () => {
  assert.equal(manifest.main, './dist/extension.js');
  assert.deepEqual(manifest.activationEvents, ['onStartupFinished']);
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, false);
  assert.ok(manifest.capabilities.untrustedWorkspaces.description);
  assert.equal(manifest.capabilities.virtualWorkspaces && (manifest.capabilities.virtualWorkspaces as { supported: boolean }).supported, false);
  const icon = fs.readFileSync(path.join(repoRoot(), manifest.icon));
  assert.equal(icon.subarray(1, 4).toString('latin1'), 'PNG');
  assert.equal(icon.readUInt32BE(16), 128, 'width');
  assert.equal(icon.readUInt32BE(20), 128, 'height');
});
