/**
 * A key, certificate or passphrase file that belongs to another user (helper-113): said so, with
 * what fits (run Porthole as its owner, or copy the file), never `chmod u+r`, which its owner
 * alone could run; the user's own locked file still gets `chmod u+r FILE`. The CLI runs as nobody
 * (UNPRIVILEGED, its uid and gid dropped by spawn) while the files are root's: skipped when the
 * tests do not run as root. Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withTimeout } from '../core/raw-client';
import { UNPRIVILEGED, WAIT_MS, runCliUnprivileged } from './run-cli';
import { NO_ENV, PASSPHRASE, tlsSiteForTests } from './tls-site';

const work = tlsSiteForTests('porthole-tls-file-owner-');

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
  await writeFile(rootCert, work.cert, { mode: 0o600 });
  await writeFile(rootKey, readFileSync(work.keyPath), { mode: 0o600 });
  await writeFile(rootPass, `${PASSPHRASE}\n`, { mode: 0o600 });
  // Nobody's own key, but 0000.
  const ownKey = join(others, 'own-key.pem');
  const ownCert = join(others, 'own-cert.pem');
  await writeFile(ownKey, readFileSync(work.keyPath), { mode: 0o000 });
  await writeFile(ownCert, work.cert, { mode: 0o644 });
  await chown(ownKey, uid, uid);
  await chown(ownCert, uid, uid);
  await chmod(ownKey, 0o000);
  const encryptedCopy = join(others, 'key-encrypted.pem');
  await writeFile(encryptedCopy, readFileSync(work.encryptedKeyPath), { mode: 0o644 });
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

