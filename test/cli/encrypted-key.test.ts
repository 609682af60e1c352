/**
 * Issue 11 item 11: `--cert` with a passphrase-protected `--key`. The key is named as encrypted
 * (never "not a PEM private key"); without its passphrase, or with a wrong one, the CLI exits 1
 * saying so and how to give it; a passphrase is never taken as a flag value; with the right one
 * from --passphrase-file or PORTHOLE_KEY_PASSPHRASE the page comes over a real TLS socket (200),
 * checked against the certificate. Both encrypted PEM forms: PKCS#8 and traditional (Proc-Type).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, killAllClis, requireBuiltCli, runCli, stopCli, waitForLocalUrl } from './run-cli';
import { NO_ENV, httpsStatus } from './tls-site';

const PASSPHRASE = 'correct horse battery staple';
let site: Site;
let certPath: string;
let cert: string;
/** PKCS#8 `ENCRYPTED PRIVATE KEY`. */
let pkcs8Path: string;
/** Traditional `EC PRIVATE KEY` with `Proc-Type: 4,ENCRYPTED`. */
let sec1Path: string;

before(async () => {
  requireBuiltCli();
  site = await makeSite({ bigSize: 1024 });
  const made = createSelfSignedCertificate(['localhost', '127.0.0.1']);
  cert = made.cert;
  const key = createPrivateKey(made.key);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }).toString();
  const sec1 = key.export({ type: 'sec1', format: 'pem', cipher: 'aes-128-cbc', passphrase: PASSPHRASE }).toString();
  assert.match(pkcs8, /BEGIN ENCRYPTED PRIVATE KEY/);
  assert.match(sec1, /Proc-Type: 4,ENCRYPTED/);
  certPath = join(site.base, 'cert.pem');
  pkcs8Path = join(site.base, 'key-pkcs8.pem');
  sec1Path = join(site.base, 'key-sec1.pem');
  await writeFile(certPath, cert);
  await writeFile(pkcs8Path, pkcs8);
  await writeFile(sec1Path, sec1);
});

after(async () => {
  killAllClis();
  await site.cleanup();
});

/** Runs the CLI expecting it to fail at start: exit code and stderr. */
async function failsWith(args: readonly string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stderr: string }> {
  const cli = runCli([site.root, '--port', '0', '--quiet', '--no-reload', ...args], site.base, env);
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit on a bad key');
  return { code, stderr: cli.stderr };
}

for (const [form, keyPathOf] of [
  ['PKCS#8', () => pkcs8Path],
  ['traditional', () => sec1Path],
] as const) {
  test(`${form} encrypted key without a passphrase: exit 1, named as encrypted, says how to give it`, async () => {
    const { code, stderr } = await failsWith(['--cert', certPath, '--key', keyPathOf()], NO_ENV);
    assert.equal(code, 1, stderr);
    assert.ok(!stderr.includes('is not a PEM private key'), stderr);
    assert.ok(stderr.includes(`${keyPathOf()} is an encrypted private key`), stderr);
    assert.ok(stderr.includes('--passphrase-file') && stderr.includes('PORTHOLE_KEY_PASSPHRASE'), stderr);
  });

  test(`${form} encrypted key with a wrong passphrase (environment, file): exit 1, says so`, async () => {
    const fromEnv = await failsWith(['--cert', certPath, '--key', keyPathOf()], { PORTHOLE_KEY_PASSPHRASE: 'wrong' });
    assert.equal(fromEnv.code, 1, fromEnv.stderr);
    assert.match(fromEnv.stderr, /the passphrase does not decrypt the encrypted private key .* \(passphrase from the environment variable PORTHOLE_KEY_PASSPHRASE\)/);
    const wrongFile = join(site.base, 'wrong-passphrase.txt');
    await writeFile(wrongFile, 'wrong\n', { mode: 0o600 });
    const fromFile = await failsWith(['--cert', certPath, '--key', keyPathOf(), '--passphrase-file', wrongFile], { PORTHOLE_KEY_PASSPHRASE: PASSPHRASE });
    assert.equal(fromFile.code, 1, fromFile.stderr);
    assert.ok(fromFile.stderr.includes(`(passphrase from ${wrongFile})`), fromFile.stderr);
  });
}

test('a passphrase flag is refused, whatever its spelling', async () => {
  for (const args of [['--passphrase', PASSPHRASE], [`--passphrase=${PASSPHRASE}`], ['--key-passphrase', PASSPHRASE]]) {
    const { code, stderr } = await failsWith(['--cert', certPath, '--key', pkcs8Path, ...args], NO_ENV);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /never taken as a flag value.*--passphrase-file FILE.*PORTHOLE_KEY_PASSPHRASE/);
  }
});

test('a missing or empty passphrase file: exit 1 naming the file', async () => {
  const missing = join(site.base, 'no-such-passphrase.txt');
  const a = await failsWith(['--cert', certPath, '--key', pkcs8Path, '--passphrase-file', missing], NO_ENV);
  assert.equal(a.code, 1);
  assert.ok(a.stderr.includes(`--passphrase-file: cannot read the passphrase file ${missing}: it does not exist (ENOENT); check the path`), a.stderr);
  const empty = join(site.base, 'empty-passphrase.txt');
  await writeFile(empty, '\n', { mode: 0o600 });
  const b = await failsWith(['--cert', certPath, '--key', pkcs8Path, '--passphrase-file', empty], NO_ENV);
  assert.equal(b.code, 1);
  assert.ok(b.stderr.includes(`the passphrase file ${empty} is empty`), b.stderr);
});

test('the right passphrase from --passphrase-file (PKCS#8): HTTPS 200 over TLS', async () => {
  const file = join(site.base, 'passphrase.txt');
  await writeFile(file, `${PASSPHRASE}\n`);
  await chmod(file, 0o600);
  const cli = runCli([site.root, '--port', '0', '--quiet', '--no-reload', '--cert', certPath, '--key', pkcs8Path, '--passphrase-file', file], site.base, NO_ENV);
  const local = await waitForLocalUrl(cli);
  try {
    assert.equal(local.url.protocol, 'https:');
    assert.equal(await httpsStatus(Number(local.url.port), cert, '/hello.txt'), 200);
    assert.ok(!cli.stderr.includes('warning'), cli.stderr);
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});

test('the right passphrase from PORTHOLE_KEY_PASSPHRASE (traditional form): HTTPS 200 over TLS', async () => {
  const cli = runCli([site.root, '--port', '0', '--quiet', '--no-reload', '--cert', certPath, '--key', sec1Path], site.base, { PORTHOLE_KEY_PASSPHRASE: PASSPHRASE });
  const local = await waitForLocalUrl(cli);
  try {
    assert.equal(await httpsStatus(Number(local.url.port), cert, '/hello.txt'), 200);
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});

/** The CLI's stderr after a start with a passphrase file named `name` that others may read (mode 0644); the server must start. */
async function stderrWithOpenPassphraseFile(name: string): Promise<string> {
  const file = join(site.base, name);
  await writeFile(file, PASSPHRASE);
  await chmod(file, 0o644);
  const cli = runCli([site.root, '--port', '0', '--quiet', '--no-reload', '--cert', certPath, '--key', pkcs8Path, '--passphrase-file', file], site.base, NO_ENV);
  await waitForLocalUrl(cli);
  assert.equal(await stopCli(cli), 0, cli.stderr);
  return cli.stderr;
}

test('a passphrase file others may read gets a warning (the server still starts)', { skip: process.platform === 'win32' && 'no POSIX modes' }, async () => {
  const stderr = await stderrWithOpenPassphraseFile('open-passphrase.txt');
  assert.ok(stderr.includes(`other users may read the passphrase file ${join(site.base, 'open-passphrase.txt')}; chmod 600 it`), stderr);
});

test('the passphrase-file warning escapes the file name: no terminal control reaches stderr', { skip: process.platform === 'win32' && 'no POSIX modes, and no ESC in file names' }, async () => {
  // A name that would recolour the terminal, return the cursor and reverse the rest of the line.
  const stderr = await stderrWithOpenPassphraseFile('pass\x1b[31m\r\u202eword.txt');
  assert.ok(stderr.includes('other users may read the passphrase file'), stderr);
  assert.ok(stderr.includes('pass\\x1b[31m\\x0d\\u202eword.txt; chmod 600 it'), stderr);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(stderr, /[\x1b\r\u202e]/);
});
