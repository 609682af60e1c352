/**
 * Settings fail closed: every invalid `porthole.*` value is a problem naming the setting, the value
 * and the reason (the core's own rules for what the server takes), and any problem stops the start:
 * no server is created and the user gets one error naming each value. A running server whose
 * settings become invalid is stopped, never left on the old values or given a default.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { BoundAddress, ReconfigurableOptions, ServerOptionsInput } from '../../src/core';
import { DEFAULT_CONFIG, describeConfigProblems, readConfig } from '../../src/extension/config/node-config';
import type { ServerHandle } from '../../src/extension/server/node-server-controller';
import { ServerController } from '../../src/extension/server/node-server-controller';

/** [setting key, invalid value, the problem's text] */
const INVALID: Array<[string, unknown, RegExp]> = [
  ['port', 70000, /^porthole\.port: 70000 must be a whole number from 0 to 65535\.$/],
  ['port', '8000', /^porthole\.port: "8000" must be a whole number/],
  ['port', 80.5, /^porthole\.port: 80\.5 must be a whole number/],
  ['host', '0.0.0.0/24', /^porthole\.host: "0\.0\.0\.0\/24" is not an address/],
  ['host', '[::1]', /^porthole\.host: "\[::1\]" write an IPv6 address without brackets/],
  ['host', '', /^porthole\.host: "" is empty/],
  ['root', '../outside', /^porthole\.root: "\.\.\/outside" must be a folder inside the workspace folder/],
  ['root', '/etc', /^porthole\.root: "\/etc" must be a folder inside the workspace folder/],
  ['openBrowser', 'yes', /^porthole\.openBrowser: "yes" must be true or false\.$/],
  ['listing', 0, /^porthole\.listing: 0 must be true or false/],
  ['dotfiles', 'false', /^porthole\.dotfiles: "false" must be true or false/],
  ['followSymlinks', 1, /^porthole\.followSymlinks: 1 must be true or false/],
  ['log.file', 42, /^porthole\.log\.file: 42 must be a string/],
  ['log.file', 'logs/', /^porthole\.log\.file: "logs\/" ends in "\/", which names a folder, not a file; name a file in it \(e\.g\. logs\/access\.log\)\.$/],
  ['log.resolveHostNames', 'no', /^porthole\.log\.resolveHostNames: "no" must be true or false/],
  ['requests.maxEntries', 5, /^porthole\.requests\.maxEntries: 5 must be a whole number from 100 to 100000/],
  ['allowedClients', ['192.168.1.0/'], /^porthole\.allowedClients: "192\.168\.1\.0\/" has no prefix length after "\/"/],
  ['allowedClients', ['192.168.1.0/2'], /^porthole\.allowedClients: "192\.168\.1\.0\/2" has address bits set after the first 2: did you mean 192\.0\.0\.0\/2\?/],
  ['allowedClients', '10.0.0.0/8', /^porthole\.allowedClients: "10\.0\.0\.0\/8" must be a list of strings/],
  ['allowedHosts', ['*.example.com'], /^porthole\.allowedHosts: "\*\.example\.com" wildcards are not supported/],
  ['allowedHosts', ['https://my.test'], /^porthole\.allowedHosts: "https:\/\/my\.test" give the host name only/],
  ['https.cert', false, /^porthole\.https\.cert: false must be a string/],
  ['https.key', ['k'], /^porthole\.https\.key: \["k"\] must be a string/],
  ['https.selfSigned', 'true', /^porthole\.https\.selfSigned: "true" must be true or false/],
  ['reload.enabled', 'on', /^porthole\.reload\.enabled: "on" must be true or false/],
  ['reload.on', 'always', /^porthole\.reload\.on: "always" must be "save" or "type"/],
  ['reload.ignore', ['src/{a,b}'], /^porthole\.reload\.ignore: "src\/\{a,b\}" character classes and braces/],
  ['reload.ignore', ['!keep'], /^porthole\.reload\.ignore: "!keep" negation/],
  ['reload.ignore', 'dist/**', /^porthole\.reload\.ignore: "dist\/\*\*" must be a list of glob patterns/],
  ['reload.debounceMs', 10_001, /^porthole\.reload\.debounceMs: 10001 must be a whole number from 0 to 10000/],
  ['browser', 'chrome "--incognito', /^porthole\.browser: "chrome "--incognito" is not "default", "chrome", "firefox", "edge" or a command line/],
  ['browser', 7, /^porthole\.browser: 7 must be a string/],
  ['followEditor', 'yes', /^porthole\.followEditor: "yes" must be true or false/],
  // A value with terminal or bidi controls is shown escaped in the message.
  ['allowedHosts', ['evil\u202e\u001b[2J'], /^porthole\.allowedHosts: "evil\\u202e\\x1b\[2J" /],
];

void test('every setting: an invalid value is a problem with the setting, the value and the reason', () => {
  for (const [key, value, said] of INVALID) {
    const { problems } = readConfig((k) => (k === key ? value : undefined));
    assert.equal(problems.length, 1, `${key}=${JSON.stringify(value)}: ${problems.join(' | ')}`);
    assert.match(problems[0] ?? '', said, `${key}=${JSON.stringify(value)}`);
  }
});

class FakeServer extends EventEmitter implements ServerHandle {
  closed = 0;
  listen(_options: ServerOptionsInput): Promise<BoundAddress> {
    return Promise.resolve({ host: '127.0.0.1', port: 8000, url: 'http://127.0.0.1:8000/', requestedPort: undefined });
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
  reconfigure(_changes: ReconfigurableOptions): void {}
  allowHost(_name: string): void {}
  setOverlay(_path: string, _text: string | undefined): void {}
  notifyChanged(_paths: readonly string[]): void {}
  navigate(_path: string): void {}
  connectedPages = 0;
}

function setup() {
  const servers: FakeServer[] = [];
  const failures: string[] = [];
  const controller = new ServerController(
    { folderPath: '/site', folderName: 'site', logDir: '/logs' },
    () => {
      const s = new FakeServer();
      servers.push(s);
      return s;
    },
    { log: () => undefined, failure: (summary) => failures.push(summary) },
  );
  return { controller, servers, failures };
}

void test('invalid settings: no server is created, the state says why, one error names each value', async () => {
  const { controller, servers, failures } = setup();
  const { config, problems } = readConfig((k) => ({ allowedClients: ['192.168.1.0/'], port: 'x' })[k]);
  const state = await controller.start(config, problems);
  assert.equal(servers.length, 0, 'no server');
  assert.equal(state.kind, 'stopped');
  assert.equal(state.kind === 'stopped' && state.failure?.code, 'EINVALIDCONFIG');
  assert.equal(failures.length, 1);
  assert.equal(failures[0], describeConfigProblems('site', problems));
  assert.match(failures[0] ?? '', /^Porthole did not start site: porthole\.port: "x" must be .*porthole\.allowedClients: "192\.168\.1\.0\/" has no prefix length.* Fix the settings and start again\.$/);
});

void test('a running server whose settings become invalid is stopped (restart with problems)', async () => {
  const { controller, servers, failures } = setup();
  assert.equal((await controller.start(DEFAULT_CONFIG)).kind, 'running');
  const { config, problems } = readConfig((k) => (k === 'allowedClients' ? ['10.0.0.0/8', '192.168.1.0/'] : undefined));
  const state = await controller.restart(config, problems);
  assert.equal(state.kind, 'stopped');
  assert.equal(servers.length, 1, 'no second server');
  assert.equal(servers[0]?.closed, 1, 'the running one was closed');
  assert.equal(failures.length, 1);
});

void test('valid settings still start', async () => {
  const { controller, servers } = setup();
  const { config, problems } = readConfig((k) => ({ allowedClients: ['192.168.1.0/24'], allowedHosts: ['my.test'], 'reload.ignore': ['dist/**'] })[k]);
  assert.deepEqual(problems, []);
  assert.equal((await controller.start(config, problems)).kind, 'running');
  assert.equal(servers.length, 1);
});
