/**
 * The certificate and key given for HTTPS are checked at start as a browser will judge them
 * (helper-148): one whose validity has not begun yet, and an EC key on a curve TLS clients do not
 * offer (secp256k1), started without a word before, and then every browser refused the
 * certificate, or every handshake failed with nothing logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCertificatePair, createSelfSignedCertificate } from '../../src/core/access/self-signed';

const DAY_MS = 24 * 60 * 60 * 1000;

test('a certificate valid from tomorrow is refused, saying from when; one valid now is taken', () => {
  const now = createSelfSignedCertificate(['localhost']);
  assert.equal(typeof checkCertificatePair(now.cert, now.key, 'cert.pem', 'key.pem'), 'string');
  const later = createSelfSignedCertificate(['localhost'], new Date(Date.now() + 2 * DAY_MS));
  assert.throws(() => checkCertificatePair(later.cert, later.key, 'cert.pem', 'key.pem'), /^Error: the certificate cert\.pem is not valid until .+: browsers refuse it before then \(check this computer's clock, or make the certificate again\)$/);
});

const openssl = spawnSync('openssl', ['version']).status === 0;

test('an EC key on secp256k1 is refused at start, naming the curve and what to use', { skip: openssl ? false : 'openssl is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-k1-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1', '-keyout', key, '-out', cert, '-days', '1', '-nodes', '-subj', '/CN=localhost'], { stdio: 'pipe' });
    assert.throws(
      () => checkCertificatePair(readFileSync(cert, 'utf8'), readFileSync(key, 'utf8'), cert, key),
      /is an EC key on the curve secp256k1, which browsers do not accept for TLS: make the key on P-256 \(openssl ecparam -name prime256v1\) or use RSA/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
