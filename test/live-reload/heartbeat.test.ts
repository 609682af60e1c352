/**
 * Live reload's heartbeat finds dead peers, through a real PreviewServer over loopback with raw
 * clients: a channel whose previous ping was not answered (WebSocket: a Pong echoing it) or taken
 * (event stream: the client's kernel acknowledged it, or on loopback its program read it) by the
 * next heartbeat is closed, so a tab whose machine went to sleep or whose network dropped without
 * a FIN, or a client that never reads, does not hold its slot for ever. A client that answers
 * (a browser, even for a background tab) stays open.
 *
 * The heartbeat is shortened to HEARTBEAT_TEST_MS here (heartbeatTiming, internal; 15 s by
 * default). Every wait is bounded; the only timed assertions are "closed before DEADLINE_MS" and
 * "still open after STAY_OPEN_BEATS heartbeats".
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heartbeatTiming } from '../../src/core/reload/live-reload';
import { clientProgressKnown } from '../../src/core/http/send-queue';
import { startServer, type Running } from '../core/harness';
import { frame, openWebSocket, type ServerFrame } from './ws-client';

const HEARTBEAT_TEST_MS = 200;
/** A dead peer goes within two heartbeats; this leaves room for a loaded machine. */
const DEADLINE_MS = 10_000;
/** A peer that answers is still open after this many heartbeats (each one checks the last ping). */
const STAY_OPEN_BEATS = 8;

let root: string;
let srv: Running;

before(async () => {
  heartbeatTiming.intervalMs = HEARTBEAT_TEST_MS;
  root = await mkdtemp(join(tmpdir(), 'porthole-heartbeat-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>x</p>\n');
  srv = await startServer({ root, reload: { watch: false } });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves true when `p` settles within `ms`, false otherwise. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void p.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

/** The server's record of the channel at `target` from the client port `clientPort`, once logged (bounded). */
async function recordOf(target: string, clientPort: number, ms: number): Promise<{ note: string | undefined } | undefined> {
  const until = Date.now() + ms;
  for (;;) {
    const r = srv.records.find((x) => x.target === target && x.clientPort === clientPort);
    if (r !== undefined || Date.now() > until) return r;
    await sleep(20);
  }
}

/**
 * A raw client that sends `request`, reads up to the end of the response head and `firstBytes`
 * bytes after it, then reads nothing more: its socket stops reading from the kernel at once
 * (`onread` with a buffer: returning false stops the handle's reads, so what the server sends
 * waits in the kernel's buffers, as for a peer that went to sleep or a program that never reads).
 */
function openNonReading(request: string, firstBytes: (afterHead: Buffer) => boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => reject(new Error('no answer')), DEADLINE_MS);
    const socket: Socket = connect({
      port: srv.port,
      host: '127.0.0.1',
      onread: {
        buffer: Buffer.alloc(64 * 1024),
        callback: (n: number, buf: Uint8Array): boolean => {
          if (done) return false;
          got = Buffer.concat([got, buf.subarray(0, n)]);
          const end = got.indexOf('\r\n\r\n');
          if (end < 0 || !firstBytes(got.subarray(end + 4))) return true;
          done = true;
          clearTimeout(timer);
          resolve(socket);
          return false;
        },
      },
    });
    socket.on('error', () => undefined);
    socket.write(request);
  });
}

const wsRequest = (): string =>
  `GET /__porthole/socket HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${srv.port}\r\n\r\n`;

test('a WebSocket peer that never answers pings is sent a Close (1001) and disconnected within two heartbeats', async () => {
  const client = openWebSocket(srv.port);
  try {
    assert.equal((await client.message()).type, 'hello');
    const localPort = client.socket.localPort ?? -1;
    const frames: ServerFrame[] = [];
    const closed = (async () => {
      for (;;) {
        const f = await client.next();
        frames.push(f);
        if (f.opcode === 0x8) return f;
      }
    })();
    assert.ok(await within(closed, DEADLINE_MS), `no Close within ${DEADLINE_MS} ms (heartbeat ${HEARTBEAT_TEST_MS} ms)`);
    const close = await closed;
    assert.ok(frames.some((f) => f.opcode === 0x9 && f.payload.length > 0), 'pings came first, each with a payload to echo');
    assert.equal(close.payload.readUInt16BE(0), 1001);
    assert.ok(await within(client.ended, DEADLINE_MS), 'the connection ends after the Close');
    const record = await recordOf('/__porthole/socket', localPort, DEADLINE_MS);
    assert.match(record?.note ?? '', /no Pong to the last ping/);
  } finally {
    client.socket.destroy();
  }
});

test('a WebSocket peer that answers every ping stays open over the same period', async () => {
  const client = openWebSocket(srv.port);
  let stop = false;
  try {
    assert.equal((await client.message()).type, 'hello');
    let pongs = 0;
    const answering = (async () => {
      while (!stop) {
        const f = await client.next();
        if (f.opcode === 0x9) {
          client.socket.write(frame(0xa, f.payload));
          pongs++;
        } else if (f.opcode === 0x8) {
          throw new Error(`closed: ${f.payload.readUInt16BE(0)}`);
        }
      }
    })();
    answering.catch(() => undefined);
    assert.equal(await within(client.ended, STAY_OPEN_BEATS * HEARTBEAT_TEST_MS), false, 'closed while answering pings');
    assert.ok(pongs >= 2, `answered ${pongs} pings`);
    const closedEarly = await within(answering, 0);
    assert.equal(closedEarly, false, 'no Close frame came');
  } finally {
    stop = true;
    client.socket.destroy();
  }
});

test('a WebSocket peer that never reads is closed within two heartbeats, though it sends unsolicited Pongs', async () => {
  // After the 101 and the hello, nothing more is read; a Pong every 50 ms (RFC 6455 §5.5.3
  // allows them unsolicited) does not echo a ping, so it does not keep the channel.
  const socket = await openNonReading(wsRequest(), (rest) => rest.length >= 2 && rest.length >= 2 + ((rest[1] as number) & 0x7f));
  const localPort = socket.localPort ?? -1;
  const pongs = setInterval(() => socket.write(frame(0xa, 'alive')), 50);
  try {
    const record = await recordOf('/__porthole/socket', localPort, DEADLINE_MS);
    assert.ok(record !== undefined, `the channel was not closed within ${DEADLINE_MS} ms`);
    assert.match(record.note ?? '', /no Pong to the last ping/);
  } finally {
    clearInterval(pongs);
    socket.destroy();
  }
});

const eventsRequest = (): string =>
  `GET /__porthole/events HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAccept: text/event-stream\r\nOrigin: http://127.0.0.1:${srv.port}\r\n\r\n`;

test('an event stream whose client never reads is closed within two heartbeats (Linux: what the client took is known)', { skip: !clientProgressKnown() && 'needs /proc/net/tcp' }, async () => {
  const socket = await openNonReading(eventsRequest(), (rest) => rest.includes('event: hello'));
  const localPort = socket.localPort ?? -1;
  try {
    const record = await recordOf('/__porthole/events', localPort, DEADLINE_MS);
    assert.ok(record !== undefined, `the stream was not closed within ${DEADLINE_MS} ms`);
    assert.match(record.note ?? '', /did not take the last ping/);
  } finally {
    socket.destroy();
  }
});

test('an event stream whose client reads stays open over the same period and gets the pings', async () => {
  const socket = connect(srv.port, '127.0.0.1');
  socket.on('error', () => undefined);
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => {
    text += c;
  });
  const ended = new Promise<void>((r) => socket.on('close', () => r()));
  try {
    socket.write(eventsRequest());
    assert.ok(await within(new Promise<void>((r) => socket.once('connect', () => r())), DEADLINE_MS), 'connected');
    const localPort = socket.localPort ?? -1;
    assert.equal(await within(ended, STAY_OPEN_BEATS * HEARTBEAT_TEST_MS), false, 'closed while reading');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.ok(text.split(': ping').length - 1 >= 2, 'pings came');
    assert.equal(await recordOf('/__porthole/events', localPort, 0), undefined, 'not logged as ended');
  } finally {
    socket.destroy();
  }
});
