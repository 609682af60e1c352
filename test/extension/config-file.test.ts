/**
 * The editor's side of porthole.config.json, with the real server worker (dist/server-worker.js)
 * behind the real ServerController and raw TCP requests: settings the user has not set leave the
 * file in charge; set ones override it; an edit that changes the binding restarts the server; an
 * invalid edit is shown as a failure naming the file and the key. Plus the settings' validation.
 * Needs `npm run build` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkerServer } from '../../src/core';
import { DEFAULT_CONFIG, liveChanges, needsRestart, readConfig, resolveLogFile, toServerOptions, type PortholeConfig } from '../../src/extension/config/node-config';
import { ServerController, type ControllerLog } from '../../src/extension/server/node-server-controller';
import type { ServerState } from '../../src/extension/server/node-server-state';
import { fetchOnce, request, withTimeout } from '../core/raw-client';

const WORKER = resolve(__dirname, '..', '..', '..', 'dist', 'server-worker.js');
let base: string;
const controllers: ServerController[] = [];

before(async () => {
  if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: run \`npm run build\` first`);
  base = await mkdtemp(join(tmpdir(), 'porthole-ext-config-'));
  // The extension's log folder, which the extension makes before a start (vscode-server-manager).
  await mkdir(join(base, 'logs'));
});

after(async () => {
  for (const c of controllers) await c.shutdown();
  await rm(base, { recursive: true, force: true });
});

async function folderWith(name: string, config: unknown): Promise<string> {
  const root = join(base, name);
  await mkdir(join(root, 'folder'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><p>ext</p>');
  await writeFile(join(root, 'folder', 'a.txt'), 'a');
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify(config));
  return root;
}

function controllerFor(root: string): { controller: ServerController; failures: string[]; logs: string[] } {
  const failures: string[] = [];
  const logs: string[] = [];
  const out: ControllerLog = { log: (_level, message) => logs.push(message), failure: (summary) => failures.push(summary) };
  const controller = new ServerController({ folderPath: root, folderName: 'site', logDir: join(base, 'logs') }, () => new WorkerServer(WORKER), out);
  controllers.push(controller);
  return { controller, failures, logs };
}

/** The settings as the editor reads them when the user has set only `values`. */
function settings(values: Record<string, unknown>): PortholeConfig {
  return readConfig((key) => values[key]).config;
}

function portOf(state: ServerState): number {
  assert.equal(state.kind, 'running', JSON.stringify(state));
  return state.kind === 'running' ? state.address.port : 0;
}

/** Polls until `check` holds (at most 5 s). */
async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  await withTimeout(
    (async () => {
      for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
    })(),
    5_000,
    what,
  );
  assert.ok(await check(), what);
}

test('unset settings leave porthole.config.json in charge; set ones override it', async () => {
  const root = await folderWith('a', { listing: false, crossOriginIsolation: true, headers: [{ source: '*.txt', headers: { 'X-File': 'yes' } }] });
  const { controller } = controllerFor(root);
  const port = portOf(await controller.start(settings({ port: 0 })));
  assert.equal((await fetchOnce(port, request('/folder/'))).status, 404, 'listing from the file');
  const txt = await fetchOnce(port, request('/folder/a.txt'));
  assert.equal(txt.header('x-file'), 'yes');
  assert.equal(txt.header('cross-origin-opener-policy'), 'same-origin');
  await controller.stop();

  const port2 = portOf(await controller.start(settings({ port: 0, listing: true, headers: { 'X-Setting': 'on' } })));
  assert.equal((await fetchOnce(port2, request('/folder/'))).status, 200, 'porthole.listing, set, wins');
  const again = await fetchOnce(port2, request('/folder/a.txt'));
  assert.equal(again.header('x-setting'), 'on');
  assert.equal(again.header('x-file'), 'yes', 'header rules add up');
  await controller.stop();
});

test('an edit of the file that changes the binding restarts; an invalid one is shown with the file and the key', async () => {
  const root = await folderWith('b', { reload: { debounceMs: 40 } });
  const { controller, failures, logs } = controllerFor(root);
  const kinds: string[] = [];
  controller.onDidChangeState((s) => kinds.push(s.kind));
  portOf(await controller.start(settings({ port: 0 })));
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ reload: { debounceMs: 80 }, listing: false }));
  await eventually('a restart', () => kinds.filter((k) => k === 'running').length >= 2);
  assert.ok(logs.some((l) => /porthole\.config\.json changed an option that needs a restart/.test(l)), logs.join('\n'));
  const port = portOf(controller.state);
  assert.equal((await fetchOnce(port, request('/folder/'))).status, 404, 'the restarted server reads the file');

  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ reload: { debounceMs: 80 }, listing: 'no' }));
  await eventually('the failure shown', () => failures.length > 0);
  assert.match(failures[0] ?? '', new RegExp(`${join(root, 'porthole.config.json').replace(/[.]/g, '\\.')}: listing: must be a boolean`));
  assert.equal(controller.state.kind, 'running', 'the server keeps running with its settings');
  assert.equal((await fetchOnce(port, request('/folder/'))).status, 404);
  await controller.stop();
});

test('an invalid file fails the start loudly with the file, the key and the reason', async () => {
  const root = await folderWith('c', { headers: [{ source: '**', headers: { 'X-A': 'a\r\nb' } }] });
  const { controller, failures } = controllerFor(root);
  const state = await controller.start(settings({ port: 0 }));
  assert.equal(state.kind, 'stopped');
  assert.equal(state.kind === 'stopped' ? state.failure?.code : undefined, 'ECONFIG');
  assert.match(failures[0] ?? '', /porthole\.config\.json: headers\[0\]\.headers\.X-A: .*control character/);
});

test('settings: header fields, CORS origins and the SPA file are validated; only set keys reach the server', () => {
  const { config, problems } = readConfig((key) =>
    ({
      headers: { 'X-Ok': 'v', 'Bad Name': 'x', 'X-Crlf': 'a\r\nb', 'Content-Length': '3' },
      'cors.origins': ['http://a.example:5173', 'http://a.example/path'],
      spa: '../up.html',
    })[key],
  );
  assert.deepEqual(config.headers, { 'X-Ok': 'v' });
  assert.deepEqual(config.corsOrigins, ['http://a.example:5173']);
  assert.equal(config.spa, '');
  assert.equal(problems.length, 5, problems.join('\n'));
  assert.deepEqual(readConfig((key) => (key === 'spa' ? true : undefined)).config.spa, 'index.html');
  // The same judgement as --spa and the config file: dot segments resolved first.
  const dotted = readConfig((key) => (key === 'spa' ? 'pages/../app.html' : undefined));
  assert.deepEqual(dotted.problems, []);
  assert.equal(dotted.config.spa, 'pages/../app.html');
  assert.match(readConfig((key) => (key === 'spa' ? 'pages/../../up.html' : undefined)).problems[0] ?? '', /leaves the served folder/);

  const folder = { folderPath: base, folderName: 'f', logDir: base };
  const unset = toServerOptions(settings({}), folder);
  assert.equal(unset.listing, undefined);
  assert.equal(unset.cors?.enabled, undefined);
  assert.equal(unset.headers, undefined);
  const set = toServerOptions(settings({ listing: false, 'cors.enabled': true, spa: 'app.html' }), folder);
  assert.equal(set.listing, false);
  assert.equal(set.cors?.enabled, true);
  assert.equal(set.spa, 'app.html');

  const running = settings({ 'cors.enabled': true });
  assert.deepEqual(liveChanges(running, settings({ 'cors.enabled': true, 'cors.origins': ['http://a.example'] })), {
    cors: { enabled: true, origins: ['http://a.example'] },
  });
  assert.equal(liveChanges(running, settings({ 'cors.enabled': true })), undefined, 'an equal snapshot is no change');
  // A live setting newly set overrides the file, applied live; unset again, its default, live.
  const withHeaders = settings({ 'cors.enabled': true, headers: { 'X-A': '1' } });
  assert.equal(needsRestart(running, withHeaders), false);
  assert.deepEqual(liveChanges(running, withHeaders), { headers: [{ source: '**', headers: { 'X-A': '1' } }] });
  assert.equal(needsRestart(withHeaders, running), false);
  assert.deepEqual(liveChanges(withHeaders, running), { headers: [] });
  assert.equal(needsRestart(DEFAULT_CONFIG, { ...DEFAULT_CONFIG, headers: { 'X-A': '1' } }), false);
  assert.equal(needsRestart(settings({}), settings({ openBrowser: false, 'reload.on': 'type' })), false, 'extension-only settings never restart');
});

test('two folders of one name (client/app and server/app): each server writes its own default log file', async () => {
  const logs: string[] = [];
  const out: ControllerLog = { log: (_level, message) => logs.push(message), failure: (summary) => logs.push(summary) };
  const sites = await Promise.all(
    ['client', 'server'].map(async (side) => {
      const root = join(base, 'same-name', side, 'app');
      await mkdir(root, { recursive: true });
      await writeFile(join(root, `${side}.txt`), side);
      const context = { folderPath: root, folderName: 'app', logDir: join(base, 'logs') };
      const controller = new ServerController(context, () => new WorkerServer(WORKER), out);
      controllers.push(controller);
      return { side, context, controller };
    }),
  );
  for (const { side, controller } of sites) {
    const port = portOf(await controller.start(settings({ port: 0 })));
    assert.equal((await fetchOnce(port, request(`/${side}.txt?only-in-${side}-log`))).status, 200);
  }
  for (const { side, context } of sites) {
    const file = resolveLogFile(settings({}), context);
    const other = side === 'client' ? 'server' : 'client';
    await eventually(`${side}'s request in ${file}`, async () => existsSync(file) && (await readFile(file, 'utf8')).includes(`only-in-${side}-log`));
    assert.doesNotMatch(await readFile(file, 'utf8'), new RegExp(`only-in-${other}-log`), `${file}: the ${other} server's request is in the ${side} server's log`);
  }
  for (const { controller } of sites) await controller.stop();
});
