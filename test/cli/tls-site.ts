/**
 * A site with a self-signed certificate for the CLI's HTTPS tests (helper-113's three files set it
 * up alike): `base` (0755, so a CLI run as nobody reaches it) holding `site/index.html`, the
 * certificate `cert.pem` (0644), its key `key.pem` (0600) and the same key encrypted with
 * PASSPHRASE as `key-encrypted.pem` (0600). Made before the file's tests, removed after them
 * (with every CLI they started).
 */
import { after, before } from 'node:test';
import { createPrivateKey } from 'node:crypto';
import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, killAllClis, requireBuiltCli } from './run-cli';

/** The encrypted key's passphrase. */
export const PASSPHRASE = 'correct horse battery staple';
/** No passphrase from the environment the tests run in. */
export const NO_ENV = { PORTHOLE_KEY_PASSPHRASE: undefined };

export interface TlsSite {
  base: string;
  root: string;
  /** The certificate's PEM text (what a client trusts). */
  cert: string;
  certPath: string;
  keyPath: string;
  encryptedKeyPath: string;
}

/** Registers the before/after hooks; the fields are set once `before` has run. */
export function tlsSiteForTests(prefix: string): TlsSite {
  const site: TlsSite = { base: '', root: '', cert: '', certPath: '', keyPath: '', encryptedKeyPath: '' };
  before(async () => {
    requireBuiltCli();
    site.base = await mkdtemp(join(tmpdir(), prefix));
    await chmod(site.base, 0o755); // the unprivileged CLI reaches the files through it
    site.root = join(site.base, 'site');
    await mkdir(site.root, { mode: 0o755 });
    await writeFile(join(site.root, 'index.html'), '<!doctype html><p>hello</p>', { mode: 0o644 });
    const made = createSelfSignedCertificate(['localhost', '127.0.0.1']);
    site.cert = made.cert;
    site.certPath = join(site.base, 'cert.pem');
    site.keyPath = join(site.base, 'key.pem');
    site.encryptedKeyPath = join(site.base, 'key-encrypted.pem');
    await writeFile(site.certPath, made.cert, { mode: 0o644 });
    await writeFile(site.keyPath, made.key, { mode: 0o600 });
    await writeFile(site.encryptedKeyPath, createPrivateKey(made.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }), { mode: 0o600 });
  });
  after(async () => {
    killAllClis();
    if (site.base !== '') await rm(site.base, { recursive: true, force: true });
  });
  return site;
}

/** GET `target` over TLS from 127.0.0.1:`port`, trusting only `ca`: the status code (0: none read). */
export function httpsStatus(port: number, ca: string, target = '/'): Promise<number> {
  return withTimeout(
    new Promise<number>((resolveStatus, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
        socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      });
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolveStatus(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      socket.on('error', reject);
    }),
    WAIT_MS,
    'an HTTPS response',
  );
}
