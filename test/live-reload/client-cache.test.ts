/**
 * The live-reload client's caching, through a real PreviewServer over raw TCP: the script is
 * fresh in the browser's cache for CLIENT_MAX_AGE_S (a reload runs it without asking again), a
 * Cache-Control the user configured still wins, and every `hello` names the version served, so a
 * page running a copy cached from another version knows it (client-cache-browser.test.mjs shows
 * both in Chromium).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer } from '../../src/core/server/server';
import { CLIENT_MAX_AGE_S } from '../../src/core/reload/live-reload';
import { liveReloadClient } from '../../src/core/reload/live-reload-client';

const { script: CLIENT_SCRIPT, version: CLIENT_VERSION } = liveReloadClient();
import type { ServerOptions } from '../../src/core/options';
import { fetchOnce, request } from '../core/raw-client';
import { openWebSocket } from './ws-client';

let root: string;
const servers: PreviewServer[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-client-cache-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>x</p>\n');
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(root, { recursive: true, force: true });
});

async function serve(options: Partial<ServerOptions> = {}): Promise<number> {
  const server = new PreviewServer();
  servers.push(server);
  const address = await server.listen({ root, port: 0, resolveHostNames: false, ...options });
  return address.port;
}

test('the client is fresh for CLIENT_MAX_AGE_S; its 304 says so too; the script names its own version', async () => {
  const port = await serve();
  const full = await fetchOnce(port, request('/__porthole/client.js'));
  assert.equal(full.status, 200);
  assert.equal(full.body.toString(), CLIENT_SCRIPT);
  assert.deepEqual(full.headerAll('cache-control'), [`max-age=${CLIENT_MAX_AGE_S}`]);
  assert.ok(CLIENT_SCRIPT.includes(`var VERSION = '${CLIENT_VERSION}';`));
  const etag = full.header('etag') ?? '';
  assert.ok(etag.includes(CLIENT_VERSION));
  const revalidated = await fetchOnce(port, request('/__porthole/client.js', { headers: [`If-None-Match: ${etag}`] }));
  assert.equal(revalidated.status, 304);
  assert.deepEqual(revalidated.headerAll('cache-control'), [`max-age=${CLIENT_MAX_AGE_S}`]);
  // Only the client: pages and files are still revalidated every time.
  const page = await fetchOnce(port, request('/index.html'));
  assert.deepEqual(page.headerAll('cache-control'), ['no-cache']);
});

test('a Cache-Control the user configured for the client wins (once, not beside ours)', async () => {
  const port = await serve({ headers: [{ source: '**', headers: { 'Cache-Control': 'no-store' } }] });
  const full = await fetchOnce(port, request('/__porthole/client.js'));
  assert.equal(full.status, 200);
  assert.deepEqual(full.headerAll('cache-control'), ['no-store']);
});

test('hello names the client version the server serves', async () => {
  const port = await serve();
  const c = openWebSocket(port);
  try {
    const hello = await c.message();
    assert.equal(hello.type, 'hello');
    assert.equal(hello.client, CLIENT_VERSION);
  } finally {
    c.socket.destroy();
  }
});
