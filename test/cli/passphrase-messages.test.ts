/**
 * Passphrase messages that say what is wrong (helper-113): a passphrase file whose first line is
 * blank (not "is empty"), PORTHOLE_KEY_PASSPHRASE set but empty (not "does not decrypt"); a UTF-8
 * BOM before the passphrase is no part of it; a --passphrase-file given with a key that is not
 * encrypted is not read at all (a named pipe there held the start 5 s, then failed it), only
 * warned about. Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PIPE_CLOSE_WAIT_MS } from '../../src/core/access/read-small-file';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, runCli, stopCli, waitForLocalUrl } from './run-cli';
import { NO_ENV, PASSPHRASE, httpsStatus, tlsSiteForTests } from './tls-site';

const skip = process.platform !== 'linux' && 'mkfifo';

const work = tlsSiteForTests('porthole-passphrase-messages-');

/** Runs the CLI with the encrypted key and `args`, expecting exit 1 within WAIT_MS: its stderr. */
async function refused(args: readonly string[], env: Record<string, string | undefined>, what: string): Promise<string> {
  const cli = runCli([work.root, '--port', '0', '--quiet', '--no-reload', '--cert', work.certPath, '--key', work.encryptedKeyPath, ...args], work.base, { ...NO_ENV, ...env });
  assert.equal(await withTimeout(cli.exited, WAIT_MS, `exit when ${what}`), 1, `${what}: ${cli.stderr}`);
  assert.equal(cli.stdout, '', what);
  return cli.stderr;
}

test('a passphrase file whose first line is blank is said to be so, not "empty"; an empty one is "empty"', async () => {
  const blank = join(work.base, 'blank-first-line.txt');
  await writeFile(blank, `\n${PASSPHRASE}\n`, { mode: 0o600 });
  const stderr = await refused(['--passphrase-file', blank], {}, 'the first line is blank');
  assert.equal(stderr, `porthole: the first line of the passphrase file ${blank} is blank (the passphrase is on a later line): the passphrase is read from the first line; put it there\n`);
  const empty = join(work.base, 'empty.txt');
  await writeFile(empty, '', { mode: 0o600 });
  assert.equal(await refused(['--passphrase-file', empty], {}, 'the file is empty'), `porthole: the passphrase file ${empty} is empty: put the passphrase on its first line\n`);
});

test('a UTF-8 BOM before the passphrase (Notepad) is no part of it', async () => {
  const withBom = join(work.base, 'bom.txt');
  await writeFile(withBom, `\uFEFF${PASSPHRASE}\r\n`, { mode: 0o600 });
  const cli = runCli([work.root, '--port', '0', '--quiet', '--no-reload', '--cert', work.certPath, '--key', work.encryptedKeyPath, '--passphrase-file', withBom], work.base, NO_ENV);
  const local = await waitForLocalUrl(cli);
  assert.equal(await httpsStatus(Number(local.url.port), work.cert), 200);
  assert.equal(await stopCli(cli), 0, cli.stderr);
});

test('PORTHOLE_KEY_PASSPHRASE set but empty is said so, not "does not decrypt"', async () => {
  const stderr = await refused([], { PORTHOLE_KEY_PASSPHRASE: '' }, 'the variable is empty');
  assert.equal(
    stderr,
    `porthole: the private key ${work.encryptedKeyPath} is encrypted, and PORTHOLE_KEY_PASSPHRASE is set but empty: set it to the key's passphrase, or unset it and pass --passphrase-file FILE\n`,
  );
});

test('--passphrase-file with a key that is not encrypted is not read (a named pipe nobody writes does not hold the start), and a warning says it is unused', { skip }, async () => {
  const fifo = join(work.base, 'unused-fifo');
  execFileSync('mkfifo', [fifo]);
  const started = Date.now();
  const cli = runCli([work.root, '--port', '0', '--quiet', '--no-reload', '--cert', work.certPath, '--key', work.keyPath, '--passphrase-file', fifo], work.base, NO_ENV);
  const local = await withTimeout(waitForLocalUrl(cli), PIPE_CLOSE_WAIT_MS - 1_000, 'a start that does not wait for the pipe');
  assert.ok(Date.now() - started < PIPE_CLOSE_WAIT_MS - 1_000);
  assert.equal(await httpsStatus(Number(local.url.port), work.cert), 200);
  assert.equal(await stopCli(cli), 0, cli.stderr);
  assert.equal(cli.stderr, `porthole: warning: --passphrase-file ${fifo} is not used: the private key ${work.keyPath} is not encrypted\n`);
});

