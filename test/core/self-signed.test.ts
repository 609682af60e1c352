/**
 * The self-signed certificate's files on disk: the private key is readable by its owner only
 * (0600) and its folder is the owner's only (0700) after every write, whatever modes the files and
 * the folder had before (a regenerated key must not inherit an old, wider mode).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadOrCreateCertificate } from '../../src/core';

const base = mkdtempSync(join(tmpdir(), 'porthole-tls-'));
after(() => rmSync(base, { recursive: true, force: true }));

const modeOf = (p: string): number => statSync(p).mode & 0o777;
const posix = process.platform !== 'win32';

void test('a regenerated key is 0600 in a 0700 folder, even over 0644 files in a 0755 folder', { skip: !posix && 'POSIX modes' }, () => {
  const dir = join(base, 'loose');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const name of ['key.pem', 'cert.pem', 'meta.json']) {
    writeFileSync(join(dir, name), 'stale, not PEM\n', { mode: 0o644 });
    chmodSync(join(dir, name), 0o644);
  }
  const made = loadOrCreateCertificate(dir, ['localhost', '127.0.0.1']);
  assert.equal(made.created, true, 'the stale files are replaced');
  assert.equal(modeOf(join(dir, 'key.pem')).toString(8), '600');
  assert.equal(modeOf(dir).toString(8), '700');
});

void test('a new folder (and its missing parents are made): key 0600, folder 0700', { skip: !posix && 'POSIX modes' }, () => {
  const dir = join(base, 'fresh', 'tls');
  const made = loadOrCreateCertificate(dir, ['localhost']);
  assert.equal(made.created, true);
  assert.equal(modeOf(join(dir, 'key.pem')).toString(8), '600');
  assert.equal(modeOf(dir).toString(8), '700');
});

void test('a kept certificate whose key file was widened is tightened again when it is read', { skip: !posix && 'POSIX modes' }, () => {
  const dir = join(base, 'kept');
  const first = loadOrCreateCertificate(dir, ['localhost']);
  chmodSync(join(dir, 'key.pem'), 0o644);
  chmodSync(dir, 0o755);
  const again = loadOrCreateCertificate(dir, ['localhost']);
  assert.equal(again.created, false, 'still fresh and covering: kept');
  assert.equal(again.fingerprint256, first.fingerprint256);
  assert.equal(modeOf(join(dir, 'key.pem')).toString(8), '600');
  assert.equal(modeOf(dir).toString(8), '700');
});

void test('a regeneration because a name is new replaces a widened key with a 0600 one', { skip: !posix && 'POSIX modes' }, () => {
  const dir = join(base, 'renamed');
  const first = loadOrCreateCertificate(dir, ['localhost']);
  chmodSync(join(dir, 'key.pem'), 0o644);
  const again = loadOrCreateCertificate(dir, ['localhost', '192.168.1.20']);
  assert.equal(again.created, true);
  assert.notEqual(again.fingerprint256, first.fingerprint256);
  assert.equal(modeOf(join(dir, 'key.pem')).toString(8), '600');
});
