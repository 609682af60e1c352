/**
 * The HTTPS files a user names that are no regular file of sane size: a named pipe nobody writes
 * to, a character device (/dev/zero), a file over MAX_SMALL_FILE_BYTES. As --cert, --key or
 * --passphrase-file each made the real CLI hang for ever (readFileSync blocked on the pipe, read
 * /dev/zero without end; Ctrl-C could not stop it); now it exits 1 within a bounded time saying
 * what the file is and what to name instead. A pipe that is written and closed in time (a
 * password manager's, `<(pass show key)`) is still read. The self-signed certificate kept by
 * --https is remade, not waited for, when one of its files is such a node. Linux only (mkfifo,
 * /dev/zero, bash's process substitution).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SMALL_FILE_BYTES, PIPE_CLOSE_WAIT_MS } from '../../src/core/access/read-small-file';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { withTimeout } from '../core/raw-client';
import { CLI, WAIT_MS, killAllClis, requireBuiltCli, runCli, runCommand, stopCli, waitForLocalUrl } from './run-cli';

/** `<tmp>/porthole-tls-not-regular-XXXXXX` (the PEM files, pipes and links) and its `site` (served). */
const site = { base: '', root: '' };
const linux = process.platform === 'linux';
const skip = !linux && 'mkfifo, /dev/zero and bash';
const PASSPHRASE = 'correct horse battery staple';
/** The longest a refusal may take: the pipe's wait, then a start's worth. */
const EXIT_WITHIN_MS = PIPE_CLOSE_WAIT_MS + WAIT_MS;
const NO_ENV = { PORTHOLE_KEY_PASSPHRASE: undefined };

let certPath: string;
let keyPath: string;
let encryptedKeyPath: string;

before(async () => {
  requireBuiltCli();
  site.base = await mkdtemp(join(tmpdir(), 'porthole-tls-not-regular-'));
  site.root = join(site.base, 'site');
  await mkdir(site.root);
  await writeFile(join(site.root, 'index.html'), '<!doctype html><p>hello</p>');
  const made = createSelfSignedCertificate(['localhost', '127.0.0.1']);
  certPath = join(site.base, 'cert.pem');
  keyPath = join(site.base, 'key.pem');
  encryptedKeyPath = join(site.base, 'key-encrypted.pem');
  await writeFile(certPath, made.cert);
  await writeFile(keyPath, made.key, { mode: 0o600 });
  const encrypted = createPrivateKey(made.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE });
  await writeFile(encryptedKeyPath, encrypted, { mode: 0o600 });
});

after(async () => {
  killAllClis();
  if (site.base !== '') await rm(site.base, { recursive: true, force: true });
});

/** Each flag: its arguments with `file` in its place, and what it says to name instead. */
const FLAGS = [
  ['--cert', (file: string) => ['--cert', file, '--key', keyPath], "name a PEM certificate file (e.g. mkcert's NAME.pem)"],
  ['--key', (file: string) => ['--cert', certPath, '--key', file], "name a PEM private key file (e.g. mkcert's NAME-key.pem)"],
  ['--passphrase-file', (file: string) => ['--cert', certPath, '--key', encryptedKeyPath, '--passphrase-file', file], 'name a file whose first line is the passphrase'],
] as const;

/** Runs the CLI with `args`, expecting exit 1 within EXIT_WITHIN_MS and nothing served: its stderr. */
async function refused(args: readonly string[], what: string): Promise<string> {
  const cli = runCli([site.root, '--port', '0', '--quiet', '--no-reload', ...args], site.base, NO_ENV);
  const code = await withTimeout(cli.exited, EXIT_WITHIN_MS, `exit when ${what}`);
  assert.equal(code, 1, `${what}: ${cli.stderr}`);
  assert.equal(cli.stdout, '', what);
  return cli.stderr;
}

for (const [flag, argsFor, todo] of FLAGS) {
  test(`${flag} naming a named pipe nobody writes to: exit 1 after the pipe's wait, saying so`, { skip }, async () => {
    const fifo = join(site.base, `fifo${flag}`);
    execFileSync('mkfifo', [fifo]);
    try {
      const stderr = await refused(argsFor(fifo), `${flag} is a FIFO with no writer`);
      assert.equal(stderr, `porthole: ${flag} ${fifo} is a named pipe (FIFO) that nothing wrote to and closed within ${PIPE_CLOSE_WAIT_MS / 1000} s: ${todo}\n`);
    } finally {
      await rm(fifo, { force: true });
    }
  });

  test(`${flag} naming a character device (/dev/zero): exit 1 at once, never read`, { skip }, async () => {
    const stderr = await refused(argsFor('/dev/zero'), `${flag} is /dev/zero`);
    assert.equal(stderr, `porthole: ${flag} /dev/zero is a character device, not a file: ${todo}\n`);
    // Through a symbolic link too: what it leads to is judged.
    const link = join(site.base, `zero${flag}.pem`);
    await symlink('/dev/zero', link);
    try {
      assert.equal(await refused(argsFor(link), `${flag} is a link to /dev/zero`), `porthole: ${flag} ${link} is a character device, not a file: ${todo}\n`);
    } finally {
      await rm(link, { force: true });
    }
  });

  test(`${flag} naming a file over ${MAX_SMALL_FILE_BYTES} bytes: exit 1, saying its size and the limit`, async () => {
    const big = join(site.base, `big${flag}.pem`);
    // Starts as its kind does, so only the size can refuse it.
    const head = flag === '--passphrase-file' ? `${PASSPHRASE}\n` : '-----BEGIN CERTIFICATE-----\n';
    await writeFile(big, head.padEnd(2 * MAX_SMALL_FILE_BYTES, 'A'), { mode: 0o600 });
    try {
      const stderr = await refused(argsFor(big), `${flag} is 2 MiB`);
      assert.equal(stderr, `porthole: ${flag} ${big} is 2.0 MiB (${2 * MAX_SMALL_FILE_BYTES} bytes), more than the 1.0 MiB (${MAX_SMALL_FILE_BYTES} bytes) such a file may hold: ${todo}\n`);
    } finally {
      await rm(big, { force: true });
    }
  });
}

test('a pipe whose writer keeps it open past the wait: exit 1, saying it was not closed', { skip }, async () => {
  const fifo = join(site.base, 'held-open');
  execFileSync('mkfifo', [fifo]);
  // Writes the passphrase, then holds the pipe open for longer than the CLI waits (killed after).
  const writer = runCommand('bash', ['-c', `exec 3>"$0"; printf '%s\\n' "$1" >&3; exec sleep ${(3 * EXIT_WITHIN_MS) / 1000}`, fifo, PASSPHRASE], site.base);
  try {
    const stderr = await refused(['--cert', certPath, '--key', encryptedKeyPath, '--passphrase-file', fifo], 'the pipe is held open');
    assert.equal(stderr, `porthole: --passphrase-file ${fifo} is a named pipe (FIFO) whose writer did not close it within ${PIPE_CLOSE_WAIT_MS / 1000} s: ${FLAGS[2][2]}\n`);
  } finally {
    writer.child.kill('SIGKILL');
    await rm(fifo, { force: true });
  }
});

test(`a pipe that sends more than ${MAX_SMALL_FILE_BYTES} bytes: exit 1 once it has, saying so`, { skip }, async () => {
  // bash's <(…): an anonymous pipe under /dev/fd; what it sends has no size to stat.
  const cli = runCommand(
    'bash',
    ['-c', `exec "$0" "$1" "$2" --port 0 --quiet --no-reload --cert "$3" --key "$4" --passphrase-file <(head -c ${2 * MAX_SMALL_FILE_BYTES} /dev/zero | tr '\\0' A)`, process.execPath, CLI, site.root, certPath, encryptedKeyPath],
    site.base,
    NO_ENV,
  );
  assert.equal(await withTimeout(cli.exited, EXIT_WITHIN_MS, 'exit when the pipe sends 2 MiB'), 1, cli.stderr);
  assert.equal(cli.stdout, '');
  assert.match(cli.stderr, new RegExp(`^porthole: --passphrase-file /dev/fd/\\d+ sent more than the 1\\.0 MiB \\(${MAX_SMALL_FILE_BYTES} bytes\\) such a file may hold: name a file whose first line is the passphrase\n$`));
});

test('pipes written and closed in time are read: a named pipe written after the start, and bash\'s <(…)', { skip }, async () => {
  const fifo = join(site.base, 'written-later');
  execFileSync('mkfifo', [fifo]);
  // The writer opens the pipe a little after the CLI has opened it (non-blocking, no writer yet).
  const writer = runCommand('bash', ['-c', 'sleep 0.5; printf "%s\\n" "$1" > "$0"', fifo, PASSPHRASE], site.base);
  try {
    const cli = runCli([site.root, '--port', '0', '--quiet', '--no-reload', '--cert', certPath, '--key', encryptedKeyPath, '--passphrase-file', fifo], site.base, NO_ENV);
    const local = await waitForLocalUrl(cli);
    assert.equal(local.url.protocol, 'https:');
    assert.match(cli.stdout, new RegExp(`key decrypted with the passphrase from ${fifo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(await stopCli(cli), 0, cli.stderr);
  } finally {
    writer.child.kill('SIGKILL');
    await rm(fifo, { force: true });
  }
  // Process substitution: an anonymous pipe under /dev/fd, its writer done at once.
  const substituted = runCommand(
    'bash',
    ['-c', `exec "$0" "$1" "$2" --port 0 --quiet --no-reload --cert "$3" --key "$4" --passphrase-file <(printf '%s\\n' "$5")`, process.execPath, CLI, site.root, certPath, encryptedKeyPath, PASSPHRASE],
    site.base,
    NO_ENV,
  );
  const local = await waitForLocalUrl(substituted);
  assert.equal(local.url.protocol, 'https:');
  assert.equal(await stopCli(substituted), 0, substituted.stderr);
});

test('--https: a kept certificate file that is a named pipe or a link to /dev/zero is remade, not waited for', { skip }, async () => {
  const cache = join(site.base, 'xdg-cache');
  const kept = join(cache, 'porthole');
  const start = async (what: string): Promise<string> => {
    const cli = runCli([site.root, '--port', '0', '--https', '--quiet', '--no-reload'], site.base, { XDG_CACHE_HOME: cache });
    await withTimeout(waitForLocalUrl(cli), WAIT_MS, `the start when ${what}`);
    assert.equal(await stopCli(cli), 0, cli.stderr);
    return cli.stdout;
  };
  await mkdir(cache);
  assert.match(await start('nothing is kept'), /self-signed certificate \(new in /);
  for (const name of ['meta.json', 'cert.pem', 'key.pem']) {
    for (const [node, make] of [
      ['a named pipe', (path: string): void => void execFileSync('mkfifo', [path])],
      ['a link to /dev/zero', (path: string): Promise<void> => symlink('/dev/zero', path)],
    ] as const) {
      const path = join(kept, name);
      await rm(path);
      await make(path);
      const what = `${name} is ${node}`;
      assert.match(await start(what), /self-signed certificate \(new in /, what);
      assert.ok(lstatSync(path).isFile(), `${what}: replaced by a file`);
    }
  }
});
