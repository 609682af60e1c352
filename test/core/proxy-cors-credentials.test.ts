/**
 * CORS on a proxied route: when Porthole's own CORS (`--cors`, `--cors-origin`) writes
 * `Access-Control-Allow-Origin` over the back-end's, the back-end's
 * `Access-Control-Allow-Credentials: true` must not stay beside it. The back-end granted
 * credentials to the origin it named, not to the one Porthole writes; and "credentials are never
 * allowed" (README, CORS). Left in place, an origin listed for Porthole's files could read the
 * back-end's answers with the user's cookies.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

let root: string;
let backend: Server;
let backendPort = 0;
const servers: Running[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-proxy-cors-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>i</title>');
  // A raw `net` back-end (no `http` module: Porthole's rule) that answers every request with its
  // own CORS grant to http://app.example, with credentials, and closes.
  const body = 'secret';
  backend = createServer((socket) => {
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.end(
        'HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://app.example\r\nAccess-Control-Allow-Credentials: true\r\n' +
          `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const address = backend.address();
  backendPort = typeof address === 'object' && address !== null ? address.port : 0;
});

after(async () => {
  for (const s of servers) await s.close();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

const field = (headers: ReadonlyArray<readonly [string, string]>, name: string): string[] =>
  headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

for (const origins of [['http://other.example'], [] as string[]]) {
  test(`a back-end's Allow-Credentials does not stay beside Porthole's own Allow-Origin (origins ${JSON.stringify(origins)})`, async () => {
    const s = await startServer({
      root,
      configFile: false,
      cors: { enabled: true, origins },
      proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backendPort}` }] },
    });
    servers.push(s);
    const res = await fetchOnce(
      s.port,
      request('/api/x', { headers: ['Origin: http://other.example', 'Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: cors', 'Sec-Fetch-Dest: empty', 'Connection: close'] }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(field(res.headers, 'access-control-allow-origin'), [origins.length > 0 ? 'http://other.example' : '*']);
    assert.deepEqual(field(res.headers, 'access-control-allow-credentials'), []);
  });
}

test('without Porthole CORS, a same-origin request gets the back-end CORS fields untouched', async () => {
  const s = await startServer({ root, configFile: false, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backendPort}` }] } });
  servers.push(s);
  const res = await fetchOnce(s.port, request('/api/x', { headers: ['Connection: close'] }));
  assert.deepEqual(field(res.headers, 'access-control-allow-origin'), ['http://app.example']);
  assert.deepEqual(field(res.headers, 'access-control-allow-credentials'), ['true']);
});
