import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/extension/config/node-config';
import type { ServerState } from '../../src/extension/server/node-server-state';
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
