/**
 * Live reload's WebSocket channel and a client that does not read, through a real PreviewServer
 * over raw TCP: what the server queues for such a client stays bounded. Its own answers (pongs)
 * stop the server reading it until they drain (the client sees its writes stall), and messages the
 * server sends of its own accord (events, navigate) close it with 1008 once it stays backed up.
 * Every loop is bounded in bytes and time.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { PreviewServer } from '../../src/core/server/server';
import { askStatus, openWebSocket, type Client, startSocketSite, type SocketSite } from './ws-client';

let site: SocketSite;
let server: PreviewServer;
let port: number;

before(async () => {
  site = await startSocketSite('porthole-ws-backpressure-');
  ({ server, port } = site);
});

after(() => site.close());

/** A masked ping with 125 bytes of payload (mask 0): `89 fd 00 00 00 00` + 125 × 'a'. */
const PING = Buffer.concat([Buffer.from([0x89, 0xfd, 0, 0, 0, 0]), Buffer.alloc(125, 'a')]);
/** Its pong: `8a 7d` + the 125 bytes. */
const PONG_BYTES = 2 + 125;
const PINGS_PER_BATCH = 512;
const BATCH = Buffer.concat(Array.from({ length: PINGS_PER_BATCH }, () => PING));
/** The client gives up sending after this much (far beyond every kernel buffer in between)… */
const MAX_SEND_BYTES = 160 * 1024 * 1024;
/** …or after this long. */
const MAX_SEND_MS = 30_000;
/** A write that has not drained after this long has stalled: the server stopped reading. */
const STALL_MS = 1_500;

/** A completed handshake (101 and the hello frame read), then the socket paused: reads nothing. */
function openSilent(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('no handshake')), 10_000);
    const onData = (c: Buffer): void => {
      got = Buffer.concat([got, c]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(got.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
      const rest = got.subarray(end + 4);
      // The hello: one unmasked text frame under 126 bytes of payload, or with a 16-bit length.
      if (rest.length < 2) return;
      const len = (rest[1] as number) & 0x7f;
      const frameLength = len < 126 ? 2 + len : rest.length >= 4 ? 4 + rest.readUInt16BE(2) : Infinity;
      if (rest.length < frameLength) return;
      assert.equal(rest.length, frameLength, 'nothing after the hello');
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      resolve(socket);
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(
      `GET /__porthole/socket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${port}\r\n\r\n`,
    );
  });
}

const drainOrTimeout = (socket: Socket, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const done = (drained: boolean): void => {
      clearTimeout(timer);
      socket.off('drain', onDrain);
      resolve(drained);
    };
    const onDrain = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    socket.on('drain', onDrain);
  });

test('a client that sends pings and never reads: the server stops reading it once its pongs back up, answers others, and loses no pong', async (t) => {
  const socket = await openSilent();
  try {
    await pingUntilStalled(socket, (m) => t.diagnostic(m));
  } finally {
    socket.destroy();
  }
});

async function pingUntilStalled(socket: Socket, diagnostic: (message: string) => void): Promise<void> {
  const started = Date.now();
  let sent = 0;
  let stalled = false;
  while (sent < MAX_SEND_BYTES && Date.now() - started < MAX_SEND_MS) {
    sent += BATCH.length;
    if (!socket.write(BATCH) && !(await drainOrTimeout(socket, STALL_MS))) {
      stalled = true;
      break;
    }
  }
  const mib = (sent / 1048576).toFixed(1);
  diagnostic(`${mib} MiB of pings sent before the client's writes stalled (${Date.now() - started} ms)`);
  assert.ok(stalled, `the server read all ${mib} MiB of pings from a client that reads nothing (queueing every pong) in ${Date.now() - started} ms`);
  // Everything in between is kernel buffers (both ways) and the server's bounded queue.
  assert.ok(sent < 128 * 1024 * 1024, `${mib} MiB sent before the stall`);
  // The server still answers others meanwhile.
  const other = await fetchStatus('/index.html');
  assert.equal(other, 200);
  // Once the client reads again, every ping gets its pong (backpressure drops nothing).
  const pings = sent / PING.length;
  const pongs = await countPongs(socket, pings, 60_000);
  assert.equal(pongs, pings);
}

test('a page that never reads while the server sends: closed with 1008 once its queue passes the bound, after what was queued', async (t) => {
  const live = server.liveReload;
  assert.ok(live);
  // The previous test's channel goes once the server saw its socket close.
  for (let i = 0; i < 100 && live.connectedPages !== 0; i++) await new Promise((r) => setTimeout(r, 20));
  const before = live.connectedPages;
  const c = openWebSocket(port);
  try {
    await sendUntilClosed(c, before, (m) => t.diagnostic(m));
  } finally {
    c.socket.destroy();
  }
});

async function sendUntilClosed(c: Client, before: number, diagnostic: (message: string) => void): Promise<void> {
  const live = server.liveReload;
  assert.ok(live);
  await c.message();
  c.socket.pause();
  assert.equal(live.connectedPages, before + 1);
  // navigate messages of ~60 KB each (a path is not limited in length): 1,000 of them would be 60 MB.
  const path = `/${'a'.repeat(60_000)}`;
  let told = 0;
  const started = Date.now();
  while (told < 1_000 && Date.now() - started < 20_000 && live.connectedPages === before + 1) {
    live.navigate(path);
    told++;
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(live.connectedPages, before, `the server queued ${told} messages of 60 KB (${((told * 60_000) / 1048576).toFixed(0)} MiB) for a page that reads nothing and kept it open`);
  c.socket.resume();
  let navigates = 0;
  for (;;) {
    const f = await c.next();
    if (f.opcode === 0x1) navigates++;
    else if (f.opcode === 0x8) {
      assert.equal(f.payload.readUInt16BE(0), 1008);
      break;
    }
  }
  assert.ok(navigates < told, `${navigates} of ${told} messages reached it`);
  diagnostic(`closed with 1008 after ${told} messages of 60 KB; ${navigates} reached it`);
  await c.ended;
  // The server is still there for others.
  assert.equal(await fetchStatus('/index.html'), 200);
}

/** Counts pong frames read on `socket` (resumed) until `expected` or `ms`; other frames skipped. */
function countPongs(socket: Socket, expected: number, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let pongs = 0;
    let pending = Buffer.alloc(0);
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      resolve(pongs);
    };
    const timer = setTimeout(finish, ms);
    const onData = (chunk: Buffer): void => {
      let b = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Server control frames only here: FIN + opcode, then a 7-bit length (≤ 125), unmasked.
      while (b.length >= 2) {
        const len = (b[1] as number) & 0x7f;
        if (b.length < 2 + len) break;
        if (((b[0] as number) & 0x0f) === 0xa) {
          assert.equal(len, PONG_BYTES - 2);
          pongs++;
        }
        b = b.subarray(2 + len);
      }
      pending = Buffer.from(b);
      if (pongs >= expected) finish();
    };
    socket.on('data', onData);
    socket.resume();
  });
}

/** The status of a GET on a connection of its own. */
function fetchStatus(path: string): Promise<number> {
  return askStatus(port, 'Connection: close\r\n', { path });
}
