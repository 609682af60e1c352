import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkerServer } from '../../src/core';
import { DEFAULT_CONFIG } from '../../src/extension/config/node-config';
import type { ServerState } from '../../src/extension/server/node-server-state';
import { ServerController, type ControllerLog } from '../../src/extension/server/node-server-controller';
import { computeStatusView } from '../../src/extension/status/node-status-view';

const server = (state: ServerState, folderName = 'site', requestCount = 0) => ({ folderName, folderPath: `/w/${folderName}`, state, requestCount });
const running = (port: number, requestedPort?: number): ServerState => ({
  kind: 'running',
  config: DEFAULT_CONFIG,
  address: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}/`, requestedPort },
  since: 0,
});

void test('stopped: Go Live, click starts', () => {
  const v = computeStatusView([]);
  assert.equal(v.text, '$(broadcast) Go Live');
  assert.equal(v.command, 'start');
});

void test('starting: a spinner, no click', () => {
  const v = computeStatusView([server({ kind: 'starting', config: DEFAULT_CONFIG })]);
  assert.match(v.text, /\$\(loading~spin\)/);
  assert.equal(v.command, 'none');
});

void test('running: the port, URL, folder and request count in the tooltip; click opens the menu', () => {
  const v = computeStatusView([server(running(8000), 'site', 12)]);
  assert.equal(v.text, '$(circle-slash) Port : 8000');
  assert.equal(v.command, 'menu');
  const tip = v.tooltip.join('\n');
  assert.match(tip, /http:\/\/127\.0\.0\.1:8000\//);
  assert.match(tip, /\/w\/site/);
  assert.match(tip, /12 requests/);
  assert.match(v.accessibilityLabel, /port 8000/);
});

void test('a busy port shows in the tooltip; several servers are all listed', () => {
  const v = computeStatusView([server(running(8001, 8000), 'a'), server(running(8002), 'b')]);
  assert.equal(v.text, '$(circle-slash) Port : 8001, 8002');
  const tip = v.tooltip.join('\n');
  assert.match(tip, /Port 8000 was busy, so 8001 is used/);
  assert.match(tip, /a: http:\/\/127\.0\.0\.1:8001\//);
  assert.match(tip, /b: http:\/\/127\.0\.0\.1:8002\//);
});

void test('failed: a warning with the reason; click tries again', () => {
  const v = computeStatusView([server({ kind: 'stopped', failure: { code: 'EACCES', message: 'Permission denied for port 80' } })]);
  assert.equal(v.kind, 'failed');
  assert.match(v.text, /\$\(warning\)/);
  assert.match(v.tooltip.join('\n'), /Permission denied for port 80/);
  assert.equal(v.command, 'start');
});

void test('a folder named with control and bidi characters: the tooltip and label of a real running and a real failed server show them escaped', async () => {
  // Needs `node scripts/build.mjs` first (dist/server-worker.js), as config-file.test.ts.
  const worker = resolve(__dirname, '..', '..', '..', 'dist', 'server-worker.js');
  const base = await mkdtemp(join(tmpdir(), 'porthole-status-'));
  // A directory's name may hold any character but '/' and NUL: a terminal title sequence and an RLO.
  const name = 'app\u001b]0;pwned\u0007\u202Etxt.exe';
  const root = join(base, name);
  await mkdir(root);
  await mkdir(join(base, 'logs'));
  const out: ControllerLog = { log: () => undefined, failure: () => undefined };
  const make = (): ServerController => new ServerController({ folderPath: root, folderName: name, logDir: join(base, 'logs') }, () => new WorkerServer(worker), out);
  const live = make();
  const failed = make();
  try {
    const running = await live.start({ ...DEFAULT_CONFIG, port: 0, openBrowser: false });
    assert.equal(running.kind, 'running');
    // 192.0.2.1 (TEST-NET-1, RFC 5737) is no address of this machine: the start fails, naming the folder.
    const stopped = await failed.start({ ...DEFAULT_CONFIG, host: '192.0.2.1', port: 0, openBrowser: false });
    assert.equal(stopped.kind, 'stopped');
    assert.ok(stopped.kind === 'stopped' && stopped.failure?.message.includes(name), 'the failure names the folder as it is');
    // eslint-disable-next-line no-control-regex
    const raw = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;
    for (const v of [
      computeStatusView([{ folderName: name, folderPath: root, state: running, requestCount: 0 }]),
      computeStatusView([{ folderName: name, folderPath: root, state: stopped, requestCount: 0 }]),
      computeStatusView([{ folderName: name, folderPath: root, state: { kind: 'starting', config: DEFAULT_CONFIG }, requestCount: 0 }]),
    ]) {
      for (const line of v.tooltip) assert.doesNotMatch(line, raw, `${v.kind}: a tooltip line holds a raw control or bidi character: ${JSON.stringify(line)}`);
      assert.doesNotMatch(v.accessibilityLabel, raw, `${v.kind}: the accessibility label holds a raw control or bidi character`);
      assert.match(v.tooltip.join('\n'), /app\\x1b\]0;pwned\\x07\\u202etxt\.exe/, `${v.kind}: the name is shown escaped`);
    }
  } finally {
    await live.shutdown();
    await failed.shutdown();
    await rm(base, { recursive: true, force: true });
  }
});
