/**
 * Issue 11 item 11, the extension's pure part: `porthole.https.key` encrypted. prepareTls names the
 * key as encrypted (never "not a PEM private key"); prepareTlsWithPassphrase asks once (the input
 * box is a function here), keeps the passphrase in the store (SecretStorage's shape) per key path,
 * asks again only when the kept one stops working, and a cancel fails the start plainly. The key
 * it hands on serves HTTPS: a real PreviewServer answers 200 over a TLS socket.
 */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { createSelfSignedCertificate, type SelfSignedCertificate } from '../../src/core/access/self-signed';
import { DEFAULT_CONFIG } from '../../src/extension/config/node-config';
import { MAX_PASSPHRASE_ASKS, passphraseSecretKey, prepareTls, prepareTlsWithPassphrase, type PassphraseStore } from '../../src/extension/sharing/node-sharing';
import { startServer } from '../core/harness';
import { withTimeout } from '../core/raw-client';

const PASSPHRASE = 'open sesame';
let dir: string;
let pair: SelfSignedCertificate;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-passphrase-'));
  pair = createSelfSignedCertificate(['localhost', '127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'cert.pem'), pair.cert);
  fs.writeFileSync(path.join(dir, 'plain-key.pem'), pair.key);
  fs.writeFileSync(path.join(dir, 'index.html'), '<h1>hi</h1>');
  writeEncryptedKey('key.pem', PASSPHRASE);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeEncryptedKey(name: string, passphrase: string): void {
  const pem = createPrivateKey(pair.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase });
  fs.writeFileSync(path.join(dir, name), pem);
}

const folder = () => ({ folderPath: dir, folderName: 'site', logDir: dir });
const config = (key = 'key.pem') => ({ ...DEFAULT_CONFIG, httpsCert: 'cert.pem', httpsKey: key });

/** An in-memory PassphraseStore (SecretStorage's get/store/delete). */
function memoryStore(initial: Record<string, string> = {}): PassphraseStore & { readonly map: Map<string, string> } {
  const map = new Map(Object.entries(initial));
  return {
    map,
    get: (k) => Promise.resolve(map.get(k)),
    store: (k, v) => Promise.resolve(void map.set(k, v)),
    delete: (k) => Promise.resolve(void map.delete(k)),
  };
}

/** An AskPassphrase that answers from a list and records each request. */
function answers(...list: Array<string | undefined>) {
  const asked: Array<{ keyPath: string; retry: boolean }> = [];
  const ask = (r: { keyPath: string; retry: boolean }) => {
    asked.push(r);
    return Promise.resolve(list[asked.length - 1]);
  };
  return { ask, asked };
}

test('prepareTls names an encrypted key as encrypted and says a passphrase is needed', async () => {
  const keyPath = path.join(dir, 'key.pem');
  await assert.rejects(
    () => prepareTls(config(), folder(), dir, { root: dir }),
    (err: Error & { code?: string; keyError?: string }) =>
      err.code === 'ERR_TLS_CONFIG' &&
      err.keyError === 'ERR_KEY_ENCRYPTED' &&
      err.message.includes(`${keyPath} is an encrypted private key`) &&
      !err.message.includes('not a PEM private key'),
  );
  await assert.rejects(() => prepareTls(config(), folder(), dir, { root: dir }, undefined, 'wrong'), { keyError: 'ERR_KEY_PASSPHRASE', message: /passphrase does not decrypt/ });
});

test('asked once: the passphrase is kept per key path, the next start does not ask, and HTTPS serves', async () => {
  const store = memoryStore();
  const first = answers(PASSPHRASE);
  const prepared = await prepareTlsWithPassphrase(config(), folder(), dir, { root: dir }, store, first.ask);
  assert.deepEqual(first.asked, [{ keyPath: path.join(dir, 'key.pem'), retry: false }]);
  assert.equal(store.map.get(passphraseSecretKey(path.join(dir, 'key.pem'))), PASSPHRASE);
  const second = answers();
  await prepareTlsWithPassphrase(config(), folder(), dir, { root: dir }, store, second.ask);
  assert.equal(second.asked.length, 0);

  const tls = prepared.options.tls;
  assert.ok(tls !== undefined);
  assert.ok(new X509Certificate(tls.cert).checkPrivateKey(createPrivateKey(tls.key)));
  const srv = await startServer({ root: dir, tls, reload: { enabled: false } });
  try {
    const status = await withTimeout(
      new Promise<number>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: srv.port, ca: pair.cert, servername: 'localhost' }, () =>
          socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n\r\n`),
        );
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (d: string) => (text += d));
        socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
        socket.on('error', reject);
      }),
      5_000,
      'an HTTPS response',
    );
    assert.equal(status, 200);
  } finally {
    await srv.close();
  }
});

test('a wrong answer asks again (retry), the right one is kept', async () => {
  const store = memoryStore();
  const a = answers('nope', PASSPHRASE);
  await prepareTlsWithPassphrase(config(), folder(), dir, { root: dir }, store, a.ask);
  assert.deepEqual(
    a.asked.map((r) => r.retry),
    [false, true],
  );
  assert.equal(store.map.get(passphraseSecretKey(path.join(dir, 'key.pem'))), PASSPHRASE);
});

test('a kept passphrase that stopped working (the key was re-encrypted) is forgotten and asked anew', async () => {
  writeEncryptedKey('rekeyed.pem', 'new one');
  const secret = passphraseSecretKey(path.join(dir, 'rekeyed.pem'));
  const store = memoryStore({ [secret]: 'old one' });
  const a = answers('new one');
  await prepareTlsWithPassphrase(config('rekeyed.pem'), folder(), dir, { root: dir }, store, a.ask);
  assert.equal(a.asked.length, 1);
  assert.equal(store.map.get(secret), 'new one');
});

test('cancel fails the start plainly and keeps nothing; wrong answers stop after MAX_PASSPHRASE_ASKS', async () => {
  const store = memoryStore();
  await assert.rejects(prepareTlsWithPassphrase(config(), folder(), dir, { root: dir }, store, answers(undefined).ask), {
    code: 'ERR_TLS_CONFIG',
    message: /is an encrypted private key and no passphrase was given/,
  });
  const wrong = answers(...new Array<string>(10).fill('nope'));
  await assert.rejects(prepareTlsWithPassphrase(config(), folder(), dir, { root: dir }, store, wrong.ask), { keyError: 'ERR_KEY_PASSPHRASE' });
  assert.equal(wrong.asked.length, MAX_PASSPHRASE_ASKS);
  assert.equal(store.map.size, 0);
});

test('a plain key never asks', async () => {
  const a = answers();
  const prepared = await prepareTlsWithPassphrase(config('plain-key.pem'), folder(), dir, { root: dir }, memoryStore(), a.ask);
  assert.equal(a.asked.length, 0);
  assert.equal(prepared.options.tls?.key, pair.key);
});
