/**
 * The files the HTTPS key and its passphrase were read from are never served (loopback-only.ts);
 * nothing else the server answers may tell that they are there either. `mkcert` writes
 * `localhost-key.pem` beside the pages, and a folder listing showed it with its size, date and a
 * link, to every visitor, while its own request was a 404. Over real TLS sockets, real files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { DEFAULT_WAIT_MS, withTimeout } from './raw-client';

const made = createSelfSignedCertificate(['127.0.0.1', 'localhost']);
let site: Site;
let srv: Running;

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  const certs = join(site.root, 'certs');
  await mkdir(certs);
  await writeFile(join(certs, 'localhost.pem'), made.cert);
  await writeFile(join(certs, 'localhost-key.pem'), made.key, { mode: 0o600 });
  await writeFile(join(certs, 'passphrase.txt'), 'pass\n', { mode: 0o600 });
  await symlink('localhost-key.pem', join(certs, 'key-link.pem'));
  await link(join(certs, 'localhost-key.pem'), join(certs, 'key-hard.pem'));
  // A link to the key named without an extension: a path the SPA fallback takes for a route.
  await symlink('localhost-key.pem', join(certs, 'key-route'));
  // A key named without an extension, beside a page of that name (clean URLs).
  await writeFile(join(certs, 'site-key'), made.key, { mode: 0o600 });
  await writeFile(join(certs, 'site-key.html'), '<p>about the site key</p>\n');
  // Folders whose index.html is a link to the key: one with a page beside it, one with index.htm.
  await mkdir(join(site.root, 'keyed'));
  await symlink('../certs/localhost-key.pem', join(site.root, 'keyed', 'index.html'));
  await writeFile(join(site.root, 'keyed', 'notes.txt'), 'notes\n');
  await mkdir(join(site.root, 'keyed-htm'));
  await symlink('../certs/localhost-key.pem', join(site.root, 'keyed-htm', 'index.html'));
  await writeFile(join(site.root, 'keyed-htm', 'index.htm'), '<p>the htm index</p>\n');
  srv = await startServer({
    root: site.root,
    tls: { cert: made.cert, key: made.key, privateFiles: [join(certs, 'localhost-key.pem'), join(certs, 'passphrase.txt'), join(certs, 'site-key')] },
    reload: { enabled: false },
    spa: 'index.html',
    cleanUrls: true,
  });
});

after(async () => {
  await srv?.close();
  await site?.cleanup();
});

/** `GET path` over TLS with `headers` (CRLF-ended lines), `Connection: close`: status and body. */
function tlsGet(path: string, headers = ''): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: srv.port, ca: made.cert, servername: 'localhost' }, () =>
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n${headers}Connection: close\r\n\r\n`),
      );
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
      socket.on('error', reject);
    }),
    DEFAULT_WAIT_MS,
    `GET ${path} over TLS`,
  );
}

test('a listing never shows the key or passphrase file, nor a symlink or hard link to the key; the certificate is listed', async () => {
  // Twice: the second page may come from the listing cache.
  for (const round of [1, 2]) {
    const got = await tlsGet('/certs/');
    assert.equal(got.status, 200, `round ${round}`);
    assert.match(got.body, /localhost\.pem/, `round ${round}: the certificate is listed`);
    for (const name of ['localhost-key.pem', 'key-link.pem', 'key-hard.pem', 'passphrase.txt']) {
      assert.ok(!got.body.includes(name), `round ${round}: ${name} is not listed: ${/<tbody>[\s\S]*<\/tbody>/.exec(got.body)?.[0] ?? got.body}`);
    }
  }
  // Each is the 404 of a missing file on its own.
  for (const name of ['localhost-key.pem', 'key-link.pem', 'key-hard.pem', 'passphrase.txt']) {
    assert.equal((await tlsGet(`/certs/${name}`)).status, 404, name);
  }
});

/** What a browser sends for a navigation (the SPA fallback answers these). */
const NAVIGATION = 'Accept: text/html\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n';

test('the SPA fallback answers a navigation to the key as to a missing path: no 404 against 200 tells that it is there', async () => {
  // A name without an extension is a route: the fallback page, for the key as for nothing.
  const route = await tlsGet('/certs/no-such-key', NAVIGATION);
  assert.equal(route.status, 200, 'a missing route gets the fallback');
  const linked = await tlsGet('/certs/key-route', NAVIGATION);
  assert.equal(linked.status, route.status, 'navigation to key-route');
  assert.equal(linked.body, route.body, 'navigation to key-route: the fallback page');
  assert.ok(!linked.body.includes('PRIVATE KEY'));
  // A name is judged by its extension alone, for the key as for nothing: one of an asset type
  // (.txt) is never rewritten (the 404 of a missing file); one of a type no page loads (.pem) is a
  // route (the fallback page). The page names the path asked for, and only that differs.
  const missingTxt = await tlsGet('/certs/no-such-key.txt', NAVIGATION);
  assert.equal(missingTxt.status, 404, 'a missing asset path is a 404');
  const missingPem = await tlsGet('/certs/no-such-key.pem', NAVIGATION);
  assert.equal(missingPem.status, 200, 'a .pem path is a route: the fallback');
  for (const name of ['localhost-key.pem', 'key-link.pem', 'key-hard.pem', 'passphrase.txt']) {
    const [missing, missingName] = name.endsWith('.txt') ? [missingTxt, 'no-such-key.txt'] : [missingPem, 'no-such-key.pem'];
    const got = await tlsGet(`/certs/${name}`, NAVIGATION);
    assert.equal(got.status, missing.status, `navigation to ${name}`);
    assert.equal(got.body.replaceAll(name, '*'), missing.body.replaceAll(missingName, '*'), `navigation to ${name}: as a missing file of its kind`);
    assert.ok(!got.body.includes('PRIVATE KEY'), name);
  }
});

test('clean URLs: a key named site-key counts as missing, so /certs/site-key is site-key.html and /certs/site-key.html moves there', async () => {
  const page = await tlsGet('/certs/site-key');
  assert.equal(page.status, 200);
  assert.match(page.body, /about the site key/);
  assert.ok(!page.body.includes('PRIVATE KEY'));
  const moved = await tlsGet('/certs/site-key.html');
  assert.equal(moved.status, 301, 'site-key.html redirects to its clean URL, as when no site-key is there');
});

test('a folder whose index.html is the key is answered as if it had none: its index.htm, or its listing, never a 404', async () => {
  // Without the guarded index.html, /keyed/ is a listing and /keyed-htm/ its index.htm: a 404 there
  // told that the folder's index.html is a file the server keeps from clients.
  const listed = await tlsGet('/keyed/');
  assert.equal(listed.status, 200, '/keyed/ is listed');
  assert.match(listed.body, /notes\.txt/);
  assert.ok(!listed.body.includes('index.html'), 'the link to the key is not listed');
  assert.ok(!listed.body.includes('PRIVATE KEY'));
  const htm = await tlsGet('/keyed-htm/');
  assert.equal(htm.status, 200, '/keyed-htm/ is its index.htm');
  assert.match(htm.body, /the htm index/);
  // Clean URLs move a found index.html to its folder (301) and answer a missing one 404: the
  // guarded one is as missing.
  assert.equal((await tlsGet('/keyed/index.html')).status, 404, 'the link itself is a 404, never a move to its folder');
  assert.equal((await tlsGet('/keyed/no-such/index.html')).status, 404, 'as a missing index.html is');
});

test('the passphrase file replaced by a new one: a new page given the old file\'s inode number is served, the passphrase file at its path still a 404', async (t) => {
  // Runs last: it replaces the key the other tests read.
  const certs = join(site.root, 'certs');
  const old = await stat(join(certs, 'passphrase.txt'));
  await writeFile(join(certs, 'passphrase.new'), 'another pass\n', { mode: 0o600 });
  await rename(join(certs, 'passphrase.new'), join(certs, 'passphrase.txt'));
  // The old file is gone: its inode number goes to a file made next (ext4 at once; bounded here).
  let reused: string | undefined;
  for (let i = 0; i < 50 && reused === undefined; i++) {
    const name = `page-${i}.txt`;
    await writeFile(join(certs, name), `page ${i}\n`);
    const st = await stat(join(certs, name));
    if (st.ino === old.ino && st.dev === old.dev) reused = name;
  }
  if (reused === undefined) {
    t.skip('this file system gave none of 50 new files the old inode number');
    return;
  }
  const page = await tlsGet(`/certs/${reused}`);
  assert.equal(page.status, 200, `/certs/${reused} (the old passphrase file's inode number) is a new page`);
  assert.equal((await tlsGet('/certs/passphrase.txt')).status, 404, 'the passphrase file at its path is still never served');
});
