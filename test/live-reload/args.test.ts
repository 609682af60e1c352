/** The live-reload CLI flags: --no-reload, --reload-ignore (repeatable, added to the defaults), --reload-debounce, --watch; absent flags leave the option unset. */
import { resolve } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCliArgs } from '../../src/cli/args';
import { DEFAULT_RELOAD } from '../../src/core/options';

function reloadOf(argv: string[]): { watchPaths?: readonly string[] } | undefined {
  const parsed = parseCliArgs(argv, '/tmp');
  assert.equal(parsed.kind, 'run');
  return parsed.kind === 'run' ? parsed.options.server.reload : undefined;
}

test('defaults: no flag sets anything, so porthole.config.json (then the default) decides', () => {
  assert.deepEqual(reloadOf([]), { enabled: undefined, ignore: undefined, debounceMs: undefined, watchPaths: undefined });
});

test('--no-reload, --reload-ignore (repeatable), --reload-debounce', () => {
  assert.deepEqual(reloadOf(['--no-reload']), { enabled: false, ignore: undefined, debounceMs: undefined, watchPaths: undefined });
  assert.deepEqual(reloadOf(['--reload-ignore', 'dist/**', '--reload-ignore', '*.map', '--reload-debounce', '0']), {
    enabled: undefined,
    ignore: [...DEFAULT_RELOAD.ignore, 'dist/**', '*.map'],
    debounceMs: 0,
    watchPaths: undefined,
  });
});

test('beside --no-reload, the flags that work through live reload are refused, each named', () => {
  const parsed = parseCliArgs(['--no-reload', '--reload-ignore', 'dist/**', '--reload-debounce', '0', '--watch', 'x', '--console', 'errors'], '/tmp');
  assert.deepEqual(
    parsed.kind === 'invalid' ? parsed.problems.map((p) => p.replace(/ does nothing.*$/, '')) : parsed.kind,
    ['--watch', '--reload-ignore', '--reload-debounce', '--console errors'],
  );
  assert.equal(parseCliArgs(['--no-reload', '--console', 'off'], '/tmp').kind, 'run');
});

test('--watch PATH (repeatable) adds folders, resolved against the working folder', () => {
  assert.deepEqual(reloadOf(['--watch', '../app/templates', '--watch', '/srv/views'])?.watchPaths, [resolve('/tmp', '../app/templates'), resolve('/srv/views')]);
});

test('a bad debounce is an error in plain words', () => {
  for (const bad of ['-1', 'fast', '10001', '1.5']) {
    const parsed = parseCliArgs(['--reload-debounce', bad], '/tmp');
    // '-1' reads as a flag (a parse error); the others are invalid values, named with the flag.
    assert.ok(parsed.kind === 'error' || parsed.kind === 'invalid', bad);
    const text = parsed.kind === 'error' ? parsed.message : parsed.kind === 'invalid' ? parsed.problems.join('\n') : '';
    assert.match(text, /--reload-debounce/);
  }
});

test('--console off|errors|all sets consoleForward; absent leaves it to the config file; anything else is refused with the flag', () => {
  for (const mode of ['off', 'errors', 'all'] as const) {
    const parsed = parseCliArgs(['--console', mode], '/tmp');
    assert.equal(parsed.kind === 'run' ? parsed.options.server.consoleForward : parsed.kind, mode);
  }
  const none = parseCliArgs([], '/tmp');
  assert.equal(none.kind === 'run' ? none.options.server.consoleForward : none.kind, undefined);
  const bad = parseCliArgs(['--console', 'warn'], '/tmp');
  assert.deepEqual(bad.kind === 'invalid' ? bad.problems : bad.kind, ['--console "warn": must be "off", "errors" or "all"']);
});
