/**
 * `--https` when the folder that keeps the self-signed certificate ($XDG_CACHE_HOME/porthole)
 * cannot be made: XDG_CACHE_HOME names a file, or a folder under /proc (where Node's recursive
 * mkdir loops for ever). The CLI says in one line what happened and what to do, starts nothing
 * and exits 1 (before: `porthole: Error: ENOTDIR: not a directory, mkdir '…'`, or a busy hang).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, runCli, siteFolderForTests, stopCli, waitForLocalPort } from './run-cli';

const site = siteFolderForTests('porthole-https-cache-');

for (const [what, cacheHome] of [
  ['a file', (): string => join(site.base, 'not-a-folder')],
  ['a folder under /proc', (): string => '/proc/self'],
] as const) {
  test(`--https, XDG_CACHE_HOME is ${what}: one plain line, exit 1`, { skip: process.platform !== 'linux' && 'XDG_CACHE_HOME and /proc are Linux' }, async () => {
    await writeFile(join(site.base, 'not-a-folder'), 'x');
    const dir = join(cacheHome(), 'porthole');
    const cli = runCli([site.root, '--port', '21873', '--https', '--quiet'], site.base, { XDG_CACHE_HOME: cacheHome() });
    assert.equal(await withTimeout(cli.exited, WAIT_MS, `exit when the certificate folder is ${what}`), 1, cli.stderr);
    assert.equal(cli.stdout, '');
    const lines = cli.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, cli.stderr);
    assert.ok(lines[0]!.startsWith(`porthole: --https: cannot keep the self-signed certificate in ${dir}: `), cli.stderr);
    assert.match(cli.stderr, /XDG_CACHE_HOME|--cert/);
    assert.doesNotMatch(cli.stderr, /Error:/);
  });
}

// XDG Base Directory spec: a relative (or empty) XDG_CACHE_HOME is invalid and ignored. Read as
// given, `XDG_CACHE_HOME=` put the private key in ./porthole/key.pem: under the working folder,
// here the folder being served (and the start then failed on its relative path).
for (const [what, value] of [
  ['empty', ''],
  ['relative', 'cache'],
] as const) {
  test(`--https, XDG_CACHE_HOME ${what}: the key goes under the home folder, never under the working folder`, async () => {
    const home = join(site.base, `home-${what}`);
    await mkdir(home);
    const cli = runCli([site.root, '--port', '0', '--https', '--no-reload'], site.root, { XDG_CACHE_HOME: value, HOME: home });
    await waitForLocalPort(cli);
    const kept = join(home, '.cache', 'porthole');
    assert.match(cli.stdout, new RegExp(`self-signed certificate \\(new in ${kept.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')},`));
    assert.equal((await stat(join(kept, 'key.pem'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(site.root)).sort(), ['index.html'], 'nothing written in the working (served) folder');
    assert.equal(await stopCli(cli), 0, cli.stderr);
  });
}
