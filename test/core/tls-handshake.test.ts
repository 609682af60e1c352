/**
 * HTTPS sockets abandoned during the handshake (issue 10, item 2): a TCP client that connects and
 * closes, or connects and stalls (silent, or half a ClientHello), must not keep a descriptor. After
 * the handshake deadline (headersMs) the server holds no socket in CLOSE-WAIT on its port (read
 * from /proc/net/tcp{,6}: state 08) and none of the stalled ones open; a real TLS client still
 * gets 200. Linux only (/proc).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { fetchOnce, tlsGetStatus, waitForClose } from './raw-client';

const HEADERS_MS = 600;
const linux = process.platform === 'linux';

let site: Site;
let srv: Running;
const cert = createSelfSignedCertificate(['127.0.0.1', 'localhost']);

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  srv = await startServer({
    root: site.root,
    tls: { cert: cert.cert, key: cert.key },
    timeouts: { headersMs: HEADERS_MS },
    reload: { enabled: false },
  });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});

/** Sockets on the server's local port in `state` (hex, /proc/net/tcp: 08 CLOSE_WAIT, 01 ESTABLISHED). */
function serverSockets(port: number, state: string): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === state) n++;
    }
  }
  return n;
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connectTcp({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


test('connect-then-close clients leave no socket in CLOSE-WAIT; HTTPS still answers', { skip: !linux }, async () => {
  const N = 60;
  for (let i = 0; i < N; i++) {
    const s = await tcp(srv.port);
    s.end();
  }
  // Bounded: the server sees each FIN at once; allow the handshake deadline and a margin.
  let left = serverSockets(srv.port, '08');
  for (let i = 0; i < 40 && left > 0; i++) {
    await sleep(50);
    left = serverSockets(srv.port, '08');
  }
  assert.equal(left, 0, `${left} sockets still in CLOSE-WAIT`);
  assert.equal(await tlsGetStatus(srv.port, cert.cert), 200);
});

test('connect-and-stall clients (silent, or half a ClientHello) are closed after the handshake deadline', { skip: !linux }, async () => {
  const stalled: Socket[] = [];
  for (let i = 0; i < 20; i++) {
    const s = await tcp(srv.port);
    s.on('error', () => undefined);
    // Half of them send the first bytes of a TLS record (handshake, TLS 1.0 record version) and stop.
    if (i % 2 === 1) s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]));
    stalled.push(s);
  }
  try {
    await Promise.all(stalled.map((s) => waitForClose(s, HEADERS_MS + 3_000)));
    assert.equal(serverSockets(srv.port, '08'), 0);
    assert.equal(srv.server.connectionCount, 0);
    assert.equal(await tlsGetStatus(srv.port, cert.cert), 200);
  } finally {
    for (const s of stalled) s.destroy();
  }
});

test('a stalled handshake counts against the connection cap and frees its place when closed', { skip: !linux }, async () => {
  const capped = await startServer({
    root: site.root,
    tls: { cert: cert.cert, key: cert.key },
    timeouts: { headersMs: HEADERS_MS },
    maxConnections: 1,
    reload: { enabled: false },
  });
  try {
    const staller = await tcp(capped.port);
    staller.on('error', () => undefined);
    await sleep(50);
    assert.equal(capped.server.connectionCount, 1);
    await waitForClose(staller, HEADERS_MS + 3_000);
    // The place is free again: a real client gets in (bounded retries while the close is seen).
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) status = await tlsGetStatus(capped.port, cert.cert).catch(() => 0);
    assert.equal(status, 200);
  } finally {
    await capped.close();
  }
});

test('plain HTTP on the HTTPS port gets a plain-HTTP 400 that says to use https://, not an empty reply (helper-49)', async () => {
  for (const raw of ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc']) {
    const res = await fetchOnce(srv.port, raw);
    assert.equal(res.status, 400, raw);
    assert.match(res.body.toString('utf8'), /https:\/\//);
  }
  // HTTPS still answers.
  assert.equal(await tlsGetStatus(srv.port, cert.cert), 200);
});

test('a client-initiated renegotiation is refused: one connection cannot ask for handshake after handshake', async () => {
  const { connect: connectTls } = await import('node:tls');
  const outcome = await new Promise<{ renegotiated: number; error: string }>((resolve) => {
    let renegotiated = 0;
    const finish = (error: string): void => {
      s.destroy();
      resolve({ renegotiated, error });
    };
    // TLS 1.2: TLS 1.3 has no renegotiation. Bounded: 10 tries, 10 s.
    const s = connectTls({ port: srv.port, host: '127.0.0.1', ca: cert.cert, maxVersion: 'TLSv1.2' }, () => {
      const again = (): void => {
        if (renegotiated === 10) return finish('');
        const started = s.renegotiate({}, (err) => {
          if (err !== null) return finish(err.message);
          renegotiated++;
          again();
        });
        if (!started) finish('not started');
      };
      again();
    });
    s.on('error', (err: Error) => finish(err.message));
    s.on('close', () => finish('closed'));
    s.setTimeout(10_000, () => finish('timed out'));
  });
  assert.equal(outcome.renegotiated, 0, 'renegotiations the server went through');
  assert.match(outcome.error, /no renegotiation/i);
  // The server still answers.
  assert.equal(await tlsGetStatus(srv.port, cert.cert), 200);
});
