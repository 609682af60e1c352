/**
 * A deadline or an inactivity timeout that runs out while the server's event loop is held up (a
 * long task, a garbage collection, a busy machine) judges what the client had sent by then, not
 * what the server had got round to reading. Node runs due timers at the start of a turn, before
 * it polls the sockets, so the client's bytes that arrived in time still wait in the kernel when
 * such a timer runs (CI, proxy-quiet-backend.test: an upload answered 408 as its back-end read
 * again). Here the client is in the server's process: it sends its last bytes in time, then holds
 * the loop past the timeout, so that the timer is due before those bytes are read. Real sockets
 * on loopback; every wait bounded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, type RawResponse } from './raw-client';

/** The timeouts here (headersMs, idleMs): short, so that the loop can be held past them. */
const TIMEOUT_MS = 300;
/** When the client sends its last bytes: within TIMEOUT_MS of its last ones. */
const IN_TIME_MS = 150;
/** How long the client then holds the loop: its timer falls due meanwhile. */
const HOLD_MS = 2 * TIMEOUT_MS;

let site: Site;
let srv: Running;
/** The same over HTTPS, where the first byte and the handshake have the head's deadline. */
let tlsSrv: Running;

before(async () => {
  site = await makeSite();
  srv = await startServer({ root: site.root, timeouts: { headersMs: TIMEOUT_MS, idleMs: TIMEOUT_MS }, reload: { enabled: false } });
  const cert = createSelfSignedCertificate(['127.0.0.1']);
  tlsSrv = await startServer({ root: site.root, tls: { cert: cert.cert, key: cert.key }, timeouts: { headersMs: TIMEOUT_MS }, reload: { enabled: false } });
});

after(async () => {
  await srv.close();
  await tlsSrv.close();
  await site.cleanup();
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Writes `bytes` (to the kernel at once: the socket is idle) and holds this thread for HOLD_MS,
 * from the end of a turn (a setImmediate callback): the next thing the loop does then is run its
 * due timers, before it polls the sockets.
 */
async function sendThenHold(client: RawClient, bytes: string): Promise<void> {
  await new Promise((r) => setImmediate(r));
  client.socket.write(bytes);
  hold();
}

function hold(): void {
  const end = Date.now() + HOLD_MS;
  while (Date.now() < end);
}

/**
 * A client of `port` that sends `first` (when given; `firstAnswered`: reads the answer to it, which
 * is returned first), waits `waitMs`, then sends `last` and holds the loop (sendThenHold; no `last`:
 * holds having sent nothing more). Returns the answers, the one after the hold last.
 */
async function answersAroundHold(port: number, o: { first?: string; firstAnswered?: boolean; waitMs: number; last?: string }): Promise<RawResponse[]> {
  const client = await RawClient.connect(port);
  try {
    const answers: RawResponse[] = [];
    if (o.first !== undefined) await client.write(o.first);
    if (o.firstAnswered === true) answers.push(await client.readResponse({ timeoutMs: 5_000 }));
    await sleep(o.waitMs);
    if (o.last !== undefined) {
      await sendThenHold(client, o.last);
    } else {
      await new Promise((r) => setImmediate(r));
      hold();
    }
    answers.push(await client.readResponse({ timeoutMs: 5_000 }));
    return answers;
  } finally {
    client.destroy();
  }
}

const GET_HELLO = 'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const BODY_STARTED = 'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n01234';

test('a request head completed in time is answered though its deadline fell due while the loop was held up', async () => {
  const [res] = await answersAroundHold(srv.port, { first: 'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n', waitMs: IN_TIME_MS, last: '\r\n' });
  assert.equal(res?.status, 200, res?.body.toString());
  assert.equal(res?.body.toString(), site.hello);
});

test('a request body whose last bytes came in time is not a 408 though its inactivity timeout fell due while the loop was held up', async () => {
  const [res] = await answersAroundHold(srv.port, { first: BODY_STARTED, waitMs: IN_TIME_MS, last: '56789' });
  assert.equal(res?.status, 200, res?.body.toString());
});

test('a keep-alive request sent before the idle timeout is answered though the timeout fell due while the loop was held up', async () => {
  const [first, res] = await answersAroundHold(srv.port, { first: GET_HELLO, firstAnswered: true, waitMs: TIMEOUT_MS - IN_TIME_MS, last: GET_HELLO });
  assert.equal(first?.status, 200);
  assert.equal(res?.status, 200, res?.body.toString());
});

test('a client that sent nothing more is still given its verdict once the loop runs again', async () => {
  // The other side of the rule: silence is still judged, one turn later.
  const [res] = await answersAroundHold(srv.port, { first: BODY_STARTED, waitMs: IN_TIME_MS });
  assert.equal(res?.status, 408);
});

test('a first byte sent in time on the HTTPS port is read though its deadline fell due while the loop was held up', async () => {
  // Plain HTTP there is answered with the 400 that says to use https:// (plain-http-on-tls.test);
  // given up at the deadline before its bytes were read, the connection was closed unanswered.
  const [res] = await answersAroundHold(tlsSrv.port, { waitMs: IN_TIME_MS, last: GET_HELLO });
  assert.equal(res?.status, 400);
  assert.match(res?.body.toString() ?? '', /https:\/\//);
});

test('a TLS handshake completed in time lets its request through though its deadline fell due while the loop was held up', async () => {
  // The client's last handshake message (its Finished) is written as its 'secureConnect' fires;
  // holding the loop there leaves that message in the kernel while the server's handshake
  // deadline (headersMs from the connection) falls due.
  const raw = connect(tlsSrv.port, '127.0.0.1');
  raw.on('error', () => undefined);
  await new Promise<void>((r) => raw.once('connect', () => r()));
  await sleep(IN_TIME_MS);
  const secure = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
  secure.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => {
        hold();
        resolve();
      });
      secure.once('close', () => reject(new Error('closed during the handshake')));
    });
    secure.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      secure.on('data', (d: Buffer) => (text += d.toString('latin1')));
      secure.once('close', () => resolve(text));
      setTimeout(() => resolve(text), 5_000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 200 /, answer || 'the connection closed unanswered');
  } finally {
    secure.destroy();
    raw.destroy();
  }
});

/**
 * The minimum receive rate (limits.minReceiveBytesPerSec over rateWindowMs) is a timer too: its
 * tick compares what the connection has read with what it had read at the tick before. A server
 * whose only connection is this one starts that tick as it accepts it (one timer per window
 * length, made by the first connection: here a window no other test uses), so the test knows
 * when the ticks fall: at WINDOW_MS, 2 × WINDOW_MS… after the connection. The head and the first
 * bytes of the body come at once; the tick at WINDOW_MS records them; the next bytes (five times
 * the minimum for a window) are sent at 1.3 × WINDOW_MS and the loop is held past 2 × WINDOW_MS.
 * `sendNext`: false for a client that sends nothing more (still judged too slow).
 */
async function rateWindowHeldUp(windowMs: number, sendNext: boolean): Promise<{ status: number; body: string }> {
  const minPerSec = 1_000;
  const chunk = 'x'.repeat((5 * minPerSec * windowMs) / 1000);
  const rateSrv = await startServer({
    root: site.root,
    limits: { minReceiveBytesPerSec: minPerSec, rateWindowMs: windowMs },
    timeouts: { headersMs: 60_000, bodyMs: 60_000 },
    reload: { enabled: false },
  });
  const client = await RawClient.connect(rateSrv.port);
  try {
    const connected = Date.now();
    await client.write(`GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${10 + chunk.length + 10}\r\n\r\n0123456789`);
    await sleep(connected + 1.3 * windowMs - Date.now());
    await new Promise((r) => setImmediate(r));
    if (sendNext) client.socket.write(chunk);
    const end = Date.now() + 1.5 * windowMs;
    while (Date.now() < end);
    if (sendNext) await client.write('0123456789');
    const res = await client.readResponse({ timeoutMs: 10 * windowMs });
    return { status: res.status, body: res.body.toString() };
  } finally {
    client.destroy();
    await rateSrv.close();
  }
}

test('a request body sent faster than the minimum rate is not a 408 though the rate check fell due while the loop was held up', async () => {
  const res = await rateWindowHeldUp(601, true);
  assert.equal(res.status, 200, res.body);
  assert.equal(res.body, site.hello);
});

test('a request body that stops is still judged too slow by the rate check once the loop runs again', async () => {
  const res = await rateWindowHeldUp(603, false);
  assert.equal(res.status, 408);
  assert.match(res.body, /too slowly/);
});

/**
 * A back-end (a bare `net` server in this process) that answers half the proxy's response timeout
 * after the request, then holds the loop for twice that timeout, so that the head waits in the
 * kernel when the timeout falls due. It sends a 103 Early Hints at once first: from then on the
 * deadline is Porthole's own (without one, undici's headers timeout is the judge, which counts
 * half-second ticks of a loop that runs: a held-up loop only makes it late).
 */
async function backendAnswersAfter103ThenHolds(): Promise<{ status: number; body: string }> {
  const RESPONSE_MS = 1_500;
  const backend = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
      setTimeout(() => {
        setImmediate(() => {
          socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
          const end = Date.now() + 2 * RESPONSE_MS;
          while (Date.now() < end);
        });
      }, RESPONSE_MS / 2);
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as AddressInfo).port;
  const proxySrv = await startServer({
    root: site.root,
    proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backendPort}` }], responseTimeoutMs: RESPONSE_MS },
    reload: { enabled: false },
  });
  const client = await RawClient.connect(proxySrv.port);
  try {
    await client.write('GET /api/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const res = await client.readResponse({ timeoutMs: 10_000 });
    return { status: res.status, body: res.body.toString() };
  } finally {
    client.destroy();
    await proxySrv.close();
    await new Promise((r) => backend.close(r));
  }
}

test("a back-end's response sent in time after an interim 103 is passed on though the proxy's response timeout fell due while the loop was held up", async () => {
  // Before, the deadline kept across interim answers was a plain timer: 504 "sent one 103 but no
  // response within 1.5 s".
  const res = await backendAnswersAfter103ThenHolds();
  assert.equal(res.status, 200, res.body);
  assert.equal(res.body, 'ok');
});
