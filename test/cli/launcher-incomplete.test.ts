/**
 * dist/cli.js (the `porthole` command) without the bundle it runs beside it (dist/cli-main.js:
 * a copy of only the command, an interrupted install or build): one plain line saying which file
 * is missing and what to do, exit 1, with or without the code cache (before: Node's stack trace).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { withTimeout } from '../core/raw-client';
import { CLI, WAIT_MS, runCommand, siteFolderForTests } from './run-cli';

const site = siteFolderForTests('porthole-launcher-');

for (const cache of ['with the code cache', 'NODE_DISABLE_COMPILE_CACHE=1']) {
  test(`dist/cli.js without dist/cli-main.js (${cache}): one plain line, exit 1`, async () => {
    const dist = join(site.base, cache.replace(/\W+/g, '-'), 'dist');
    await mkdir(dist, { recursive: true });
    await copyFile(CLI, join(dist, 'cli.js'));
    const env = cache.startsWith('NODE_') ? { NODE_DISABLE_COMPILE_CACHE: '1' } : { XDG_CACHE_HOME: join(site.base, 'cache'), NODE_DISABLE_COMPILE_CACHE: undefined };
    const cli = runCommand(process.execPath, [join(dist, 'cli.js'), site.root, '--port', '21877'], site.base, env);
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit'), 1);
    assert.equal(cli.stdout, '');
    assert.equal(
      cli.stderr,
      `porthole: ${join(dist, 'cli-main.js')} is missing: this copy of Porthole is incomplete; build it again (npm run build) or install it again\n`,
    );
  });
}
