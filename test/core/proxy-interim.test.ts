/**
 * The reverse proxy and a back-end that sends interim (1xx) answers: 103 Early Hints, 102
 * Processing. They are not passed on; the final answer is. However many come, the final response
 * head must still come within the response timeout (`--proxy-timeout`), counted from when the
 * back-end has the whole request, else 504, as for a back-end that sends nothing. Over loopback:
 * a raw-`net` back-end started here, Porthole in front of it, raw clients. Every wait is bounded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request, withTimeout } from './raw-client';

/** The response timeout here: short, so that a wait several times as long is plainly past it. */
const RESPONSE_TIMEOUT_MS = 600;
/** The back-end's gap between two interim answers: far below RESPONSE_TIMEOUT_MS. */
const INTERIM_EVERY_MS = 100;
/** Far beyond RESPONSE_TIMEOUT_MS, far below any wait a wedged exchange would make. */
const PROMPT_MS = 5_000;

/** When the one late hint comes: two thirds into the response timeout. */
const LATE_HINT_MS = (2 * RESPONSE_TIMEOUT_MS) / 3;

const EARLY_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n';
const PROCESSING = 'HTTP/1.1 102 Processing\r\n\r\n';

let site: Site;
let backendServer: Server;
let srv: Running;
const backendSockets = new Set<Socket>();
/** The back-end socket each request target came on. */
const socketFor = new Map<string, Socket>();

before(async () => {
  site = await makeSite();
  backendServer = createServer((socket) => {
    backendSockets.add(socket);
    socket.on('close', () => backendSockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const target = head.split(' ')[1] ?? '';
      socketFor.set(target, socket);
      if (target.startsWith('/api/hints-then-ok')) {
        // Two hints, then the answer: the hints are dropped, the answer passed on.
        socket.write(EARLY_HINTS);
        socket.write(PROCESSING);
        // (This back-end reads one request per connection: it closes after the answer.)
        setTimeout(() => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'), INTERIM_EVERY_MS);
        return;
      }
      if (target.startsWith('/api/ws-hints-then-101')) {
        // Hints, then the switch to the WebSocket the client asked for (RFC 9110 §15.2: any
        // number of 1xx may come before the final answer, and a 101 is one), then an echo.
        const key = /\r\nsec-websocket-key: *([^\r]*)/i.exec(head)?.[1] ?? '';
        socket.write(EARLY_HINTS);
        socket.write(PROCESSING);
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        setTimeout(() => socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), INTERIM_EVERY_MS);
        socket.on('data', (bytes: Buffer) => socket.write(bytes));
        return;
      }
      if (target.startsWith('/api/one-hint')) {
        // One hint late in the wait, then nothing.
        setTimeout(() => socket.write(EARLY_HINTS), LATE_HINT_MS);
        return;
      }
      // An interim answer every INTERIM_EVERY_MS, and never a final one.
      const timer = setInterval(() => {
        if (socket.destroyed) clearInterval(timer);
        else socket.write(target.includes('processing') ? PROCESSING : EARLY_HINTS);
      }, INTERIM_EVERY_MS);
      socket.on('close', () => clearInterval(timer));
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => backendServer.listen(0, '127.0.0.1', resolve));
  const address = backendServer.address();
  if (address === null || typeof address === 'string') throw new Error('no back-end port');
  srv = await startServer({
    root: site.root,
    proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${address.port}` }], responseTimeoutMs: RESPONSE_TIMEOUT_MS },
  });
});

after(async () => {
  await srv.close();
  for (const s of backendSockets) s.destroy();
  await new Promise<void>((resolve) => backendServer.close(() => resolve()));
  await site.cleanup();
});

test('interim answers (103, 102) are not passed on; the final answer that follows them is', async () => {
  const res = await fetchOnce(srv.port, request('/api/hints-then-ok'), { timeoutMs: PROMPT_MS });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString('latin1'), 'ok');
  assert.doesNotMatch(res.headText, /103|102|Link/);
});

for (const path of ['/api/hints-forever', '/api/processing-forever']) {
  test(`a back-end that sends interim answers for ever and no response (${path}) → 504 after the response timeout, never an exchange held for good`, async () => {
    const started = Date.now();
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request(path));
      const res = await client.readResponse({ timeoutMs: PROMPT_MS });
      assert.equal(res.status, 504, `a 504 within ${PROMPT_MS} ms, not an exchange held while interim answers come`);
      assert.ok(Date.now() - started >= RESPONSE_TIMEOUT_MS - 50, 'not before the response timeout');
      assert.match(res.body.toString('utf8'), /interim answers \(the last 10[23]\) but no response within 0\.6 s/);
      // The connection is still usable: the 504 ended one exchange, not the connection.
      await client.write(request('/hello.txt'));
      assert.equal((await client.readResponse({ timeoutMs: PROMPT_MS })).status, 200);
    } finally {
      client.destroy();
    }
    const record = srv.records.find((r) => r.target === path);
    assert.equal(record?.status, 504);
    assert.match(record?.note ?? '', /interim answers .* but no response within/);
    // The back-end's connection was given up with the request (no interim answers kept coming in).
    const carried = socketFor.get(path);
    assert.ok(carried !== undefined);
    await withTimeout(new Promise((r) => (carried.destroyed ? r(undefined) : carried.once('close', r))), PROMPT_MS, 'the back-end connection closing');
  });
}

test('one interim answer late in the wait, then silence → 504 at the response timeout, not the timeout after the hint', async () => {
  const started = Date.now();
  const res = await fetchOnce(srv.port, request('/api/one-hint'), { timeoutMs: PROMPT_MS });
  assert.equal(res.status, 504);
  assert.match(res.body.toString('utf8'), /sent one 103 but no response within 0\.6 s/);
  // undici's own wait starts again at the hint (LATE_HINT_MS + the timeout); Porthole's counts from the request.
  assert.ok(Date.now() - started < LATE_HINT_MS + RESPONSE_TIMEOUT_MS - 100, `answered after ${Date.now() - started} ms`);
});

/** A WebSocket opening handshake's fields (RFC 6455 §4.1), with a new key. */
function upgradeFields(key = randomBytes(16).toString('base64')): string[] {
  return ['Connection: Upgrade', 'Upgrade: websocket', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
}

test('interim answers before a back-end\'s 101 are not passed on, and the WebSocket upgrade goes through (never a 502 "answered 103 instead of 101")', async () => {
  const key = randomBytes(16).toString('base64');
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(request('/api/ws-hints-then-101', { headers: upgradeFields(key) }));
    const res = await client.readResponse({ timeoutMs: PROMPT_MS });
    assert.equal(res.status, 101, res.body.toString('utf8'));
    assert.equal(res.header('sec-websocket-accept'), createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
    assert.doesNotMatch(res.headText, /103|102|Link/);
    // The tunnel carries bytes both ways (the back-end echoes them).
    await client.write('through');
    assert.equal((await client.readBytes(7)).toString('latin1'), 'through');
  } finally {
    client.destroy();
  }
});

test('a back-end that answers an upgrade with interim answers for ever → 504 after the response timeout, as for any request', async () => {
  const res = await fetchOnce(srv.port, request('/api/ws-hints-forever', { headers: upgradeFields() }), { timeoutMs: PROMPT_MS });
  assert.equal(res.status, 504);
  assert.match(res.body.toString('utf8'), /interim answers \(the last 103\) but no response within 0\.6 s/);
});
