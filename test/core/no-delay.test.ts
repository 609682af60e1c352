/**
 * TCP_NODELAY (Nagle's algorithm off), as nginx sets it: before an answer on a connection that
 * stays open, before any streamed answer, and when a TLS connection is accepted; never for a
 * connection that gets one whole answer and closes (its close sends what the kernel holds at
 * once), which is spared that setsockopt(2). Before, Node set it on every accepted socket.
 *
 * Seen where every setNoDelay becomes a system call, Node's own at accept included: the TCP
 * handle. Each call on a server-side handle of these servers is recorded with the client's port,
 * then passed on to the real one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, request, tlsGetStatus } from './raw-client';

interface TcpHandle {
  setNoDelay: (this: TcpHandle, enable: boolean) => number;
  getsockname(out: { port?: number }): number;
  getpeername(out: { port?: number }): number;
}

let site: Site;
let srv: Running;
let tlsSrv: Running;
const cert = createSelfSignedCertificate(['127.0.0.1', 'localhost']);
/** Server port → client ports whose server-side socket was asked for TCP_NODELAY (in order). */
const calls = new Map<number, number[]>();
let handleProto: TcpHandle | undefined;
let original: TcpHandle['setNoDelay'] | undefined;

before(async () => {
  // 2 MiB: past what the file cache keeps whole, so it is streamed from the file.
  site = await makeSite({ bigSize: 2 * 1024 * 1024 });
  srv = await startServer({ root: site.root, reload: { enabled: false } });
  tlsSrv = await startServer({ root: site.root, reload: { enabled: false }, tls: { cert: cert.cert, key: cert.key } });
  const probe = await RawClient.connect(srv.port);
  const proto = Object.getPrototypeOf((probe.socket as unknown as { _handle: TcpHandle })._handle) as TcpHandle;
  probe.destroy();
  const real = proto.setNoDelay;
  const servers = new Set([srv.port, tlsSrv.port]);
  proto.setNoDelay = function (this: TcpHandle, enable: boolean): number {
    const local: { port?: number } = {};
    const peer: { port?: number } = {};
    this.getsockname(local);
    this.getpeername(peer);
    if (enable && local.port !== undefined && servers.has(local.port)) {
      const list = calls.get(local.port) ?? [];
      list.push(peer.port ?? 0);
      calls.set(local.port, list);
    }
    return real.call(this, enable);
  };
  handleProto = proto;
  original = real;
});

after(async () => {
  if (handleProto !== undefined && original !== undefined) handleProto.setNoDelay = original;
  await srv.close();
  await tlsSrv.close();
  await site.cleanup();
});

/** How many times the server-side socket of the client at `clientPort` was asked for TCP_NODELAY. */
function noDelayCalls(serverPort: number, clientPort: number): number {
  return (calls.get(serverPort) ?? []).filter((p) => p === clientPort).length;
}

test('a connection that gets one whole answer and closes keeps Nagle on: no setsockopt for it', async () => {
  const asks: Array<[string, string]> = [
    ['first read of a file', request('/hello.txt', { headers: ['Connection: close'] })],
    ['cached file', request('/hello.txt', { headers: ['Connection: close'] })],
    ['HTTP/1.0', request('/digits.txt', { version: '1.0' })],
    ['404', request('/no-such-file.txt', { headers: ['Connection: close'] })],
    ['HEAD', request('/hello.txt', { method: 'HEAD', headers: ['Connection: close'] })],
    ['refused head', 'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n'],
  ];
  for (const [what, raw] of asks) {
    const client = await RawClient.connect(srv.port);
    try {
      const port = client.socket.localPort ?? 0;
      await client.write(raw);
      const res = await client.readResponse({ head: raw.startsWith('HEAD') });
      assert.ok(res.status > 0, what);
      await client.waitForEof();
      assert.equal(noDelayCalls(srv.port, port), 0, `${what}: answered ${res.status} and closed, yet TCP_NODELAY was set`);
    } finally {
      client.destroy();
    }
  }
});

test('a connection that stays open has Nagle off before its first answer, and once only', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    const port = client.socket.localPort ?? 0;
    await client.write(request('/hello.txt'));
    const first = await client.readResponse();
    assert.equal(first.status, 200);
    assert.equal(noDelayCalls(srv.port, port), 1, 'set before the first answer reached the client');
    await client.write(request('/digits.txt') + request('/no-such-file.txt'));
    const [second, third] = await client.readResponses(2);
    assert.equal(second?.status, 200);
    assert.equal(third?.status, 404);
    assert.equal(noDelayCalls(srv.port, port), 1, 'not asked again');
  } finally {
    client.destroy();
  }
});

test('a streamed answer has Nagle off, also on a connection that closes after it', async () => {
  // A file past the cache's size, and a range (its head and its part are written apart).
  const asks: Array<[string, string, number]> = [
    ['big file', request('/big.bin', { headers: ['Connection: close'] }), site.bigSize],
    ['Range', request('/digits.txt', { headers: ['Connection: close', 'Range: bytes=0-9'] }), 10],
  ];
  for (const [what, raw, length] of asks) {
    const client = await RawClient.connect(srv.port);
    client.noTranscript();
    try {
      const port = client.socket.localPort ?? 0;
      await client.write(raw);
      const res = await client.readResponse();
      assert.equal(res.body.length, length, what);
      assert.equal(noDelayCalls(srv.port, port), 1, what);
    } finally {
      client.destroy();
    }
  }
});

test('a TLS connection has Nagle off from its accept, for its handshake', async () => {
  const before = (calls.get(tlsSrv.port) ?? []).length;
  assert.equal(await tlsGetStatus(tlsSrv.port, cert.cert), 200);
  assert.equal((calls.get(tlsSrv.port) ?? []).length, before + 1);
});
