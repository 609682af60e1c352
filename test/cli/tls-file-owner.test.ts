/**
 * A key, certificate or passphrase file that belongs to another user (helper-113): said so, with
 * what fits (run Porthole as its owner, or copy the file), never `chmod u+r`, which its owner
 * alone could run; the user's own locked file still gets `chmod u+r FILE`. The CLI runs as nobody
 * (UNPRIVILEGED, its uid and gid dropped by spawn) while the files are root's: skipped when the
 * tests do not run as root. Needs `npm run build` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { withTimeout } from '../core/raw-client';
import { UNPRIVILEGED, WAIT_MS, killAllClis, requireBuiltCli, runCliUnprivileged } from './run-cli';

const PASSPHRASE = 'correct horse battery staple';
const NO_ENV = { PORTHOLE_KEY_PASSPHRASE: undefined };
const work = { base: '', root: '' };
let cert = '';
let certPath = '';
let keyPath = '';
let encryptedKeyPath = '';

before(async () => {
  requireBuiltCli();
  work.base = await mkdtemp(join(tmpdir(), 'porthole-tls-file-owner-'));
  await chmod(work.base, 0o755); // the unprivileged CLI reaches the files through it
  work.root = join(work.base, 'site');
  await mkdir(work.root, { mode: 0o755 });
  await writeFile(join(work.root, 'index.html'), '<!doctype html><p>hello</p>', { mode: 0o644 });
  const made = createSelfSignedCertificate(['localhost', '127.0.0.1']);
  cert = made.cert;
  certPath = join(work.base, 'cert.pem');
  keyPath = join(work.base, 'key.pem');
  encryptedKeyPath = join(work.base, 'key-encrypted.pem');
  await writeFile(certPath, made.cert, { mode: 0o644 });
  await writeFile(keyPath, made.key, { mode: 0o600 });
  await writeFile(encryptedKeyPath, createPrivateKey(made.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }), { mode: 0o600 });
});

after(async () => {
  killAllClis();
  if (work.base !== '') await rm(work.base, { recursive: true, force: true });
});


const asNobody = UNPRIVILEGED === undefined ? 'the tests do not run as root: no other user to own the files' : false;

test("a key, certificate or passphrase file of another user: said so, and what fits (not chmod u+r); the user's own locked file: chmod u+r", { skip: asNobody }, async () => {
  const uid = UNPRIVILEGED?.uid ?? 0;
  const others = join(work.base, 'others');
  await mkdir(others, { mode: 0o755 });
  await chmod(others, 0o755);
  // Root's, 0600: nobody may not read them.
  const rootCert = join(others, 'cert.pem');
  const rootKey = join(others, 'key.pem');
  const rootPass = join(others, 'pass.txt');
  await writeFile(rootCert, cert, { mode: 0o600 });
  await writeFile(rootKey, readFileSync(keyPath), { mode: 0o600 });
  await writeFile(rootPass, `${PASSPHRASE}\n`, { mode: 0o600 });
  // Nobody's own key, but 0000.
  const ownKey = join(others, 'own-key.pem');
  const ownCert = join(others, 'own-cert.pem');
  await writeFile(ownKey, readFileSync(keyPath), { mode: 0o000 });
  await writeFile(ownCert, cert, { mode: 0o644 });
  await chown(ownKey, uid, uid);
  await chown(ownCert, uid, uid);
  await chmod(ownKey, 0o000);
  const encryptedCopy = join(others, 'key-encrypted.pem');
  await writeFile(encryptedCopy, readFileSync(encryptedKeyPath), { mode: 0o644 });
  const run = async (args: readonly string[]): Promise<string> => {
    const cli = runCliUnprivileged([work.root, '--port', '0', '--quiet', '--no-reload', ...args], work.base, NO_ENV);
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit on a file it may not read'), 1, cli.stderr);
    return cli.stderr;
  };
  const belongs = (flag: string, what: string, path: string): string =>
    `porthole: ${flag}: cannot read the ${what} ${path}: no permission (EACCES): it belongs to another user (uid 0), and Porthole runs as uid ${uid}; run Porthole as that user, or copy the file (as that user, or with sudo) to one of yours\n`;
  assert.equal(await run(['--cert', rootCert, '--key', ownCert]), belongs('--cert', 'certificate', rootCert));
  assert.equal(await run(['--cert', ownCert, '--key', rootKey]), belongs('--key', 'private key', rootKey));
  assert.equal(await run(['--cert', ownCert, '--key', encryptedCopy, '--passphrase-file', rootPass]), belongs('--passphrase-file', 'passphrase file', rootPass));
  assert.equal(
    await run(['--cert', ownCert, '--key', ownKey]),
    `porthole: --key: cannot read the private key ${ownKey}: no permission (EACCES); give yourself read permission on it (chmod u+r ${ownKey})\n`,
  );
});

