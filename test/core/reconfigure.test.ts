/**
 * PreviewServer.reconfigure: listing, dotfiles and the access lists change on a running server,
 * over real sockets, without a restart (the port stays the same).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { connect } from 'node:net';
import { fetchOnce, request, waitForClose, withTimeout } from './raw-client';

let site: Site;
let running: Running;

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  await mkdir(join(site.root, 'reconf-dir'), { recursive: true });
  await writeFile(join(site.root, 'reconf-dir', 'a.txt'), 'a\n');
  await writeFile(join(site.root, '.reconf-secret'), 'dot\n');
  running = await startServer({ root: site.root });
});

after(async () => {
  await running.close();
  await site.cleanup();
});

test('dotfiles: off → 404, reconfigured on → 200, off again → 404', async () => {
  assert.equal((await fetchOnce(running.port, request('/.reconf-secret'))).status, 404);
  running.server.reconfigure({ dotfiles: true });
  const on = await fetchOnce(running.port, request('/.reconf-secret'));
  assert.equal(on.status, 200);
  assert.equal(on.body.toString(), 'dot\n');
  running.server.reconfigure({ dotfiles: false });
  assert.equal((await fetchOnce(running.port, request('/.reconf-secret'))).status, 404);
});

test('listing: on → 200 listing, off → 404', async () => {
  const listed = await fetchOnce(running.port, request('/reconf-dir/'));
  assert.equal(listed.status, 200);
  assert.match(listed.body.toString(), /a\.txt/);
  running.server.reconfigure({ listing: false });
  assert.equal((await fetchOnce(running.port, request('/reconf-dir/'))).status, 404);
  running.server.reconfigure({ listing: true });
});

test('allowedHosts: a new name is answered once added, refused once removed', async () => {
  const ask = (): Promise<number> =>
    fetchOnce(running.port, request('/hello.txt', { host: 'preview.example' })).then((r) => r.status);
  assert.equal(await ask(), 403);
  running.server.reconfigure({ allowedHosts: ['preview.example'] });
  assert.equal(await ask(), 200);
  running.server.reconfigure({ allowedHosts: [] });
  assert.equal(await ask(), 403);
  running.server.allowHost('preview.example:443');
  assert.equal(await ask(), 200);
});

test('an invalid CIDR is refused with a plain message and changes nothing', async () => {
  assert.throws(() => running.server.reconfigure({ allowedClients: ['300.1.2.3/8'] }), /not an IP address/);
  assert.equal((await fetchOnce(running.port, request('/hello.txt'))).status, 200);
});

// A live-reload channel is checked once, when its request comes: removing its Host from
// allowedHosts left it open, still told which files change (and taking console lines).
test('allowedHosts: an open live-reload channel under a removed name is closed', async () => {
  running.server.reconfigure({ allowedHosts: ['channel.example'] });
  const stream = connect(running.port, '127.0.0.1');
  let text = '';
  stream.setEncoding('utf8').on('data', (t: string) => (text += t));
  stream.on('error', () => undefined);
  stream.write('GET /__porthole/events HTTP/1.1\r\nHost: channel.example\r\n\r\n');
  await withTimeout(
    (async () => {
      while (!text.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 10));
    })(),
    5_000,
    'the event stream head',
  );
  assert.match(text, /^HTTP\/1\.1 200 /);
  running.server.reconfigure({ allowedHosts: [] });
  await waitForClose(stream, 2_000);
  assert.equal((await fetchOnce(running.port, request('/hello.txt'))).status, 200, 'other clients are served');
  const logged = running.records.find((r) => r.target === '/__porthole/events' && r.note?.includes('Host no longer allowed') === true);
  assert.ok(logged !== undefined, 'the closed channel is logged with why');
});
