/** The proxy flags: --proxy PREFIX=URL (repeatable), --proxy-rewrite-host, --proxy-timeout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCliArgs } from '../../src/cli/args';
import { DEFAULT_PROXY } from '../../src/core/options';

test('--proxy is repeatable; the defaults keep Host and the default timeout', () => {
  const parsed = parseCliArgs(['--proxy', '/api=http://127.0.0.1:3000', '--proxy', '/=http://localhost:5000'], '/tmp');
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  assert.deepEqual(parsed.options.server.proxy, {
    routes: [
      { prefix: '/api', target: 'http://127.0.0.1:3000' },
      { prefix: '/', target: 'http://localhost:5000' },
    ],
    rewriteHost: false,
    responseTimeoutMs: DEFAULT_PROXY.responseTimeoutMs,
  });
});

test('--proxy-rewrite-host and --proxy-timeout', () => {
  const parsed = parseCliArgs(['--proxy', '/api=http://127.0.0.1:3000', '--proxy-rewrite-host', '--proxy-timeout', '2.5'], '/tmp');
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  assert.equal(parsed.options.server.proxy?.rewriteHost, true);
  assert.equal(parsed.options.server.proxy?.responseTimeoutMs, 2500);
});

test('a route without PREFIX= or a bad timeout is an error in plain words', () => {
  const noPrefix = parseCliArgs(['--proxy', 'http://127.0.0.1:3000'], '/tmp');
  assert.equal(noPrefix.kind, 'error');
  if (noPrefix.kind === 'error') assert.match(noPrefix.message, /--proxy: a proxy route is PREFIX=URL/);
  const badTimeout = parseCliArgs(['--proxy-timeout', 'soon'], '/tmp');
  assert.equal(badTimeout.kind, 'error');
  if (badTimeout.kind === 'error') assert.match(badTimeout.message, /--proxy-timeout takes seconds/);
});
