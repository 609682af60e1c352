/**
 * A porthole.config.json in the root that is no regular file (a named pipe nobody writes, a
 * symlink to /dev/zero: a downloaded folder may hold either) is refused at start in one plain
 * line, exit 1, instead of a start that hangs silently (the pipe) or reads without end (the
 * device). Linux only (mkfifo, /dev/zero).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_CONFIG_FILE_BYTES } from '../../src/core/config/config-file';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, runCli, siteFolderForTests } from './run-cli';

const site = siteFolderForTests('porthole-config-special-');
const linux = process.platform === 'linux';

for (const [what, make] of [
  ['a named pipe', (path: string): void => void execFileSync('mkfifo', [path])],
  ['a symlink to /dev/zero', (path: string): Promise<void> => symlink('/dev/zero', path)],
] as const) {
  test(`porthole.config.json that is ${what}: one plain line, exit 1`, { skip: !linux && 'mkfifo and /dev/zero' }, async () => {
    const root = join(site.base, what.replace(/\W+/g, '-'));
    await mkdir(root);
    await make(join(root, 'porthole.config.json'));
    const cli = runCli([root, '--port', '21874', '--quiet'], site.base);
    assert.equal(await withTimeout(cli.exited, WAIT_MS, `exit when the config file is ${what}`), 1, cli.stderr);
    assert.equal(cli.stdout, '');
    assert.equal(
      cli.stderr,
      `porthole: ${join(root, 'porthole.config.json')}: is not a regular file (a pipe, a device or a socket); replace it with a file, or start without it (--no-config, or the porthole.configFile setting off)\n`,
    );
  });
}

test('porthole.config.json larger than the limit: refused by its size', async () => {
  const root = join(site.base, 'large');
  await mkdir(root);
  await writeFile(join(root, 'porthole.config.json'), ' '.repeat(MAX_CONFIG_FILE_BYTES + 1));
  const cli = runCli([root, '--port', '21875', '--quiet'], site.base);
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit on a large config file'), 1, cli.stderr);
  assert.match(cli.stderr, new RegExp(`is ${MAX_CONFIG_FILE_BYTES + 1} bytes; a configuration file is at most ${MAX_CONFIG_FILE_BYTES}`));
});

test('a logFile in porthole.config.json that is a named pipe: one plain line, exit 1, not a start that hangs', { skip: !linux && 'mkfifo' }, async () => {
  // Before: the check that the file is a request log already opened it to read its first line,
  // blocking (for ever: nobody writes to it) on the main thread; Ctrl-C could not stop it.
  const root = join(site.base, 'log-pipe');
  await mkdir(root);
  execFileSync('mkfifo', [join(root, 'access.log')]);
  await writeFile(join(root, 'porthole.config.json'), '{ "logFile": "access.log" }');
  const cli = runCli([root, '--port', '0', '--quiet'], site.base);
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit when the logFile is a named pipe'), 1, cli.stderr);
  assert.equal(cli.stdout, '');
  assert.equal(
    cli.stderr,
    `porthole: ${join(root, 'porthole.config.json')}: logFile: "access.log" is a named pipe (FIFO), not a regular file: the request log is a regular file; name one (e.g. access.log, or logs/access.log in a logs folder that exists)\n`,
  );
});
