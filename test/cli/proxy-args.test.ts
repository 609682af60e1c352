/** The proxy flags: --proxy PREFIX=URL (repeatable), --proxy-rewrite-host, --proxy-timeout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCliArgs } from '../../src/cli/args';
import { DEFAULT_PROXY, resolveServerOptions } from '../../src/core/options';

test('--proxy is repeatable; flags not given stay unset (the config file, then the defaults: keep Host, the default timeout)', () => {
  const parsed = parseCliArgs(['--proxy', '/api=http://127.0.0.1:3000', '--proxy', '/=http://localhost:5000'], '/tmp');
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  assert.deepEqual(parsed.options.server.proxy, {
    routes: [
      { prefix: '/api', target: 'http://127.0.0.1:3000' },
      { prefix: '/', target: 'http://localhost:5000' },
    ],
  });
  const resolved = resolveServerOptions(parsed.options.server);
  assert.equal(resolved.proxy.rewriteHost, false);
  assert.equal(resolved.proxy.responseTimeoutMs, DEFAULT_PROXY.responseTimeoutMs);
});

test('--proxy-rewrite-host and --proxy-timeout', () => {
  const parsed = parseCliArgs(['--proxy', '/api=http://127.0.0.1:3000', '--proxy-rewrite-host', '--proxy-timeout', '2.5'], '/tmp');
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  assert.equal(parsed.options.server.proxy?.rewriteHost, true);
  assert.equal(parsed.options.server.proxy?.responseTimeoutMs, 2500);
});

// Main's strict option validation reports every invalid flag together (kind 'invalid'), so the
// proxy flags' problems now arrive there, each with the flag, the value and the reason.
test('a route without PREFIX=, a bad route or a bad timeout is refused in plain words, all at once', () => {
  const noPrefix = parseCliArgs(['--proxy', 'http://127.0.0.1:3000'], '/tmp');
  assert.equal(noPrefix.kind, 'invalid');
  if (noPrefix.kind === 'invalid') assert.match(noPrefix.problems.join('\n'), /--proxy "http:\/\/127\.0\.0\.1:3000": a proxy route is PREFIX=URL/);
  const badTimeout = parseCliArgs(['--proxy-timeout', 'soon'], '/tmp');
  assert.equal(badTimeout.kind, 'invalid');
  if (badTimeout.kind === 'invalid') assert.match(badTimeout.problems.join('\n'), /--proxy-timeout "soon": takes seconds/);
  const several = parseCliArgs(['--proxy', 'api=http://x', '--proxy', '/a=ftp://x', '--proxy', '/b=http://127.0.0.1:1', '--proxy', '/b/=http://127.0.0.1:2', '--proxy-timeout', '0', '--watch', ''], '/tmp');
  assert.equal(several.kind, 'invalid');
  if (several.kind !== 'invalid') return;
  const text = several.problems.join('\n');
  assert.match(text, /--proxy "api=http:\/\/x": proxy prefix "api" must be a URL path/);
  assert.match(text, /--proxy "\/a=ftp:\/\/x": proxy target "ftp:\/\/x" must be http:\/\/ or https:\/\//);
  assert.match(text, /--proxy "\/b\/=http:\/\/127\.0\.0\.1:2": prefix "\/b" is given twice/);
  assert.match(text, /--proxy-timeout "0": must be more than 0/);
  assert.match(text, /--watch "": is empty/);
  assert.equal(several.problems.length, 5);
});

test('a control character in a route is shown escaped, never raw', () => {
  const parsed = parseCliArgs(['--proxy', '/a\x1b[31m=http://127.0.0.1:3000'], '/tmp');
  assert.equal(parsed.kind, 'invalid');
  if (parsed.kind === 'invalid') {
    const text = parsed.problems.join('\n');
    assert.equal(text.includes('\u001b'), false, text);
    assert.match(text, /\\x1b\[31m/);
  }
});
