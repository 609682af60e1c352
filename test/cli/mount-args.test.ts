/** The mount and clean-URL flags: --mount PREFIX=DIR (repeatable, DIR from the working folder), --clean-urls. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { parseCliArgs } from '../../src/cli/args';
import { resolveServerOptions } from '../../src/core/options';

test('--mount is repeatable and resolves its folder against the working folder; absent, mounts stay unset', () => {
  const parsed = parseCliArgs(['site', '--mount', '/vendor=./node_modules/x', '--mount', '/assets/img=/srv/images'], '/work/app');
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') return;
  assert.deepEqual(parsed.options.server.mounts, [
    { prefix: '/vendor', folder: resolve('/work/app', 'node_modules/x') },
    { prefix: '/assets/img', folder: '/srv/images' },
  ]);
  const none = parseCliArgs(['site'], '/work/app');
  assert.equal(none.kind, 'run');
  if (none.kind !== 'run') return;
  assert.equal(none.options.server.mounts, undefined, 'the config file (then the default) decides');
  assert.deepEqual(resolveServerOptions(none.options.server).mounts, []);
});

test('--clean-urls turns clean URLs on; absent, the option stays unset (default off)', () => {
  const on = parseCliArgs(['--clean-urls'], '/tmp');
  assert.equal(on.kind, 'run');
  if (on.kind === 'run') assert.equal(on.options.server.cleanUrls, true);
  const off = parseCliArgs([], '/tmp');
  assert.equal(off.kind, 'run');
  if (off.kind === 'run') {
    assert.equal(off.options.server.cleanUrls, undefined);
    assert.equal(resolveServerOptions(off.options.server).cleanUrls, false);
  }
});

test('bad mounts are refused in plain words, all at once, naming the flag and the value', () => {
  const parsed = parseCliArgs(
    [
      '--mount', 'vendor',
      '--mount', '/x=',
      '--mount', 'vendor=./lib',
      '--mount', '/__porthole=./lib',
      '--mount', '/.hidden=./lib',
      '--mount', '/=./lib',
      '--mount', '/a=./one',
      '--mount', '/a/=./two',
      '--mount', '/api/v1=./lib',
      '--proxy', '/api=http://127.0.0.1:3000',
      '--mount', '/.well-known/acme-challenge=./acme',
    ],
    '/tmp',
  );
  assert.equal(parsed.kind, 'invalid');
  if (parsed.kind !== 'invalid') return;
  const text = parsed.problems.join('\n');
  assert.match(text, /--mount "vendor": a mount is PREFIX=FOLDER/);
  assert.match(text, /--mount "\/x=": a mount is PREFIX=FOLDER/);
  assert.match(text, /--mount "vendor=\/tmp\/lib": mount prefix "vendor" must be a URL path starting with \//);
  assert.match(text, /mount prefix "\/__porthole" is Porthole's own/);
  assert.match(text, /mount prefix "\/\.hidden" has a hidden segment/);
  // The site's top .well-known is served, so "never served" would be false: say where its files go.
  assert.match(text, /mount prefix "\/\.well-known\/acme-challenge" is the site's \/\.well-known \(RFC 8615\), which the root's own \.well-known folder answers: put the files there/);
  assert.match(text, /mount prefix "\/" is the root itself/);
  assert.match(text, /prefix "\/a" is given twice/);
  assert.match(text, /prefix "\/api\/v1" lies under the proxy route "\/api"/);
  assert.equal(parsed.problems.length, 9, text);
});

test('a control character in a mount is shown escaped, never raw', () => {
  const parsed = parseCliArgs(['--mount', '/a\x1b[31m=./lib'], '/tmp');
  assert.equal(parsed.kind, 'invalid');
  if (parsed.kind !== 'invalid') return;
  const text = parsed.problems.join('\n');
  assert.equal(text.includes('\u001b'), false, text);
});
