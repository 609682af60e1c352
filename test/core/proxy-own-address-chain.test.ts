/**
 * This computer reaching the server through one of its own network addresses is this computer
 * (allowedClients, network shares): a forwarder on it (a tunnel, an editor's port forwarding
 * pointed at the LAN URL) keeps the X-Forwarded-For / Forwarded chain it wrote, as one on loopback
 * does. Dropped before: the README says the chain is kept "when the client is this computer".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './harness';
import { startBackend } from '../fixtures/backend';

const own = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

test('a client on one of this computer\'s own addresses keeps the forwarding chain it wrote', { skip: own === undefined ? 'no non-loopback IPv4 address' : false }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'porthole-own-chain-'));
  const backend = await startBackend();
  const s = await startServer({ root, host: '0.0.0.0', configFile: false, reload: { enabled: false }, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backend.port}` }] } });
  try {
    await new Promise<void>((resolve, reject) => {
      const c = connect({ host: own!, port: s.port, localAddress: own! }, () => {
        c.write(`GET /api/headers HTTP/1.1\r\nHost: ${own}:${s.port}\r\nX-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\nConnection: close\r\n\r\n`);
      });
      let got = '';
      c.on('data', (d) => (got += d));
      c.on('close', () => (got.startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(got.slice(0, 200)))));
      c.on('error', reject);
    });
    const seen = backend.requests.at(-1)?.headers ?? [];
    const field = (name: string): string[] => seen.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
    assert.deepEqual(field('x-forwarded-for'), [`203.0.113.9, ${own}`]);
    assert.match(field('forwarded')[0] ?? '', /^for=203\.0\.113\.9, for=/);
  } finally {
    await s.close();
    await backend.close();
    await rm(root, { recursive: true, force: true });
  }
});
