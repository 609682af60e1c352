/**
 * The files the HTTPS key and its passphrase were read from are never served, wherever they lie:
 * `mkcert localhost` in the project folder writes `localhost-key.pem` beside the pages, and
 * `porthole . --cert localhost.pem --key localhost-key.pem` served that key to every visitor
 * (200, `-----BEGIN PRIVATE KEY-----`). Now: a 404 like a missing file for the key, a symlink and
 * a hard link to it, and the passphrase file, to this computer too and for GET, HEAD and Range;
 * the certificate (public) is still served. Over a real TLS socket, the CLI in its own process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { link, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, killAllClis, requireBuiltCli, runCli, stopCli, waitForLocalUrl } from './run-cli';

const PASSPHRASE = 'correct horse battery staple';
let site: Site;
let cert: string;
let keyText: string;

before(async () => {
  requireBuiltCli();
  site = await makeSite({ bigSize: 1024 });
  const made = createSelfSignedCertificate(['localhost', '127.0.0.1']);
  cert = made.cert;
  keyText = createPrivateKey(made.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASSPHRASE }).toString();
  await writeFile(join(site.root, 'localhost.pem'), cert);
  await writeFile(join(site.root, 'localhost-key.pem'), keyText, { mode: 0o600 });
  await writeFile(join(site.root, 'passphrase.txt'), `${PASSPHRASE}\n`, { mode: 0o600 });
  await symlink('localhost-key.pem', join(site.root, 'key-link.pem'));
  await link(join(site.root, 'localhost-key.pem'), join(site.root, 'key-hard.pem'));
});

after(async () => {
  killAllClis();
  await site.cleanup();
});

/** One request over TLS (trusting only `cert`), `Connection: close`: status and body. */
function httpsRequest(port: number, head: string): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' }, () => socket.write(`${head}Host: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
      socket.on('error', reject);
    }),
    WAIT_MS,
    'an HTTPS response',
  );
}

test('--key and --passphrase-file inside the served folder: 404 for them and links to them, the certificate 200', async () => {
  const cli = runCli(
    [site.root, '--port', '0', '--quiet', '--no-reload', '--cert', join(site.root, 'localhost.pem'), '--key', join(site.root, 'localhost-key.pem'), '--passphrase-file', join(site.root, 'passphrase.txt')],
    site.base,
    { PORTHOLE_KEY_PASSPHRASE: undefined },
  );
  const local = await waitForLocalUrl(cli);
  const port = Number(local.url.port);
  try {
    for (const path of ['/localhost-key.pem', '/key-link.pem', '/key-hard.pem', '/passphrase.txt']) {
      // Twice: the second may come from the small-file cache.
      for (const round of [1, 2]) {
        const got = await httpsRequest(port, `GET ${path} HTTP/1.1\r\n`);
        assert.equal(got.status, 404, `GET ${path} (${round})`);
        assert.ok(!got.body.includes('PRIVATE KEY') && !got.body.includes(PASSPHRASE), `GET ${path} (${round}): ${got.body.slice(0, 200)}`);
      }
      assert.equal((await httpsRequest(port, `HEAD ${path} HTTP/1.1\r\n`)).status, 404, `HEAD ${path}`);
      assert.equal((await httpsRequest(port, `GET ${path} HTTP/1.1\r\nRange: bytes=0-40\r\n`)).status, 404, `Range ${path}`);
    }
    const certificate = await httpsRequest(port, 'GET /localhost.pem HTTP/1.1\r\n');
    assert.equal(certificate.status, 200);
    assert.ok(certificate.body.includes('BEGIN CERTIFICATE'));
    assert.equal((await httpsRequest(port, 'GET /hello.txt HTTP/1.1\r\n')).status, 200);
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});
