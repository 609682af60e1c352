/**
 * InactivityTimer over real loopback sockets: it replaced Node's socket.setTimeout (restarted by
 * every read and write) with looks at the socket's byte counts, so each kind of activity Node's
 * timer counted must still hold it off — a byte read, a byte written, a queued write the kernel
 * took — and silence must time out, never sooner than the timeout after the last activity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { InactivityTimer } from '../../src/core/http/inactivity-timer';

const TIMEOUT_MS = 300;
/** However loaded the machine, a timeout due at TIMEOUT_MS has fired by then (it only bounds the wait). */
const FIRED_WITHIN_MS = 10_000;

interface Pair {
  /** The accepted (server) side, which the timer watches. */
  server: Socket;
  client: Socket;
  close(): Promise<void>;
}

async function pair(): Promise<Pair> {
  const listener: Server = createServer();
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as { port: number };
  const client = createConnection(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const server = await accepted;
  return {
    server,
    client,
    close: async () => {
      server.destroy();
      client.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/** A timer on `socket` set to TIMEOUT_MS now; `fired` resolves with the time it fired (performance.now()). */
function watch(socket: Socket): { timer: InactivityTimer; fired: Promise<number>; calls: () => number } {
  let timer!: InactivityTimer;
  let calls = 0;
  const fired = new Promise<number>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no timeout within ${FIRED_WITHIN_MS} ms`)), FIRED_WITHIN_MS);
    timer = new InactivityTimer(socket, () => {
      calls++;
      clearTimeout(guard);
      resolve(performance.now());
    });
  });
  timer.set(TIMEOUT_MS);
  return { timer, fired, calls: () => calls };
}

/** Queues 64 MiB on `socket` in 64 KiB writes. */
function queue(socket: Socket): void {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < 1024; i++) socket.write(chunk);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('a silent socket times out, no sooner than the timeout', async () => {
  const p = await pair();
  try {
    const start = performance.now();
    const { fired } = watch(p.server);
    const at = await fired;
    assert.ok(at - start >= TIMEOUT_MS, `fired after ${(at - start).toFixed(0)} ms`);
  } finally {
    await p.close();
  }
});

/**
 * Six sends a third of the timeout apart (twice the timeout in all), `send` one byte each: the
 * timer must not fire meanwhile, and must fire no sooner than the timeout after the last.
 */
async function heldOffBy(what: string, start: (p: Pair) => void, send: (p: Pair) => void): Promise<void> {
  const p = await pair();
  try {
    start(p);
    const { fired, calls } = watch(p.server);
    let last = 0;
    for (let i = 0; i < 6; i++) {
      await sleep(TIMEOUT_MS / 3);
      assert.equal(calls(), 0, `fired while ${what} (${i})`);
      send(p);
      last = performance.now();
    }
    const at = await fired;
    assert.ok(at - last >= TIMEOUT_MS, `fired ${(at - last).toFixed(0)} ms after the last of them`);
  } finally {
    await p.close();
  }
}

test('bytes read hold it off: the silence is counted from the last of them', async () => {
  await heldOffBy('bytes came', (p) => p.server.resume(), (p) => p.client.write('x'));
});

test('bytes written hold it off as bytes read do', async () => {
  await heldOffBy('bytes went out', (p) => p.client.resume(), (p) => p.server.write('y'));
});

test('a queued write the client takes late is activity; one it never takes is a stall', async () => {
  const p = await pair();
  try {
    p.client.pause();
    // Far more than the kernel's buffers on both sides hold: most of it waits in Node's queue
    // until the client reads. In 64 KiB writes, as a file is sent: each completes as the kernel
    // takes it (one huge write completes only at its end, for Node's socket timer as for this).
    queue(p.server);
    const start = performance.now();
    const { fired, calls } = watch(p.server);
    await sleep((TIMEOUT_MS * 2) / 3);
    assert.equal(calls(), 0);
    // The client takes it all: the queue empties, which is progress though nothing new was
    // written or read.
    const resumed = performance.now();
    p.client.resume();
    const at = await fired;
    assert.ok(resumed - start < TIMEOUT_MS, 'the client resumed before the timeout (the test ran in time)');
    assert.ok(at - resumed >= TIMEOUT_MS, `fired ${(at - resumed).toFixed(0)} ms after the client began to read`);
  } finally {
    await p.close();
  }

  // A client that never reads: the queue stands still and the timer fires.
  const q = await pair();
  try {
    q.client.pause();
    queue(q.server);
    const start = performance.now();
    const { fired } = watch(q.server);
    const at = await fired;
    assert.ok(at - start >= TIMEOUT_MS);
    assert.ok(q.server.writableLength > 0, 'the write was still queued');
  } finally {
    await q.close();
  }
});

test('set(0) and clear() stop it; set() again times from then', async () => {
  const p = await pair();
  try {
    const { timer, fired, calls } = watch(p.server);
    timer.set(0);
    await sleep(TIMEOUT_MS * 2);
    assert.equal(calls(), 0, 'fired after set(0)');
    const again = performance.now();
    timer.set(TIMEOUT_MS);
    const at = await fired;
    assert.ok(at - again >= TIMEOUT_MS);
    // Fired once, and not again by itself: the owner decides (restart), as after Node's 'timeout'.
    await sleep(TIMEOUT_MS * 2);
    assert.equal(calls(), 1);
    timer.restart();
    timer.clear();
    await sleep(TIMEOUT_MS * 2);
    assert.equal(calls(), 1, 'fired after clear()');
  } finally {
    await p.close();
  }
});

test('after it fired, activity times a new silence, as with Node socket timeouts (the owner need not set it again)', async () => {
  const p = await pair();
  try {
    p.server.resume();
    let calls = 0;
    const times: number[] = [];
    const timer = new InactivityTimer(p.server, () => {
      calls++;
      times.push(performance.now());
    });
    timer.set(TIMEOUT_MS);
    for (let i = 0; i < 100 && calls === 0; i++) await sleep(TIMEOUT_MS / 4);
    assert.equal(calls, 1);
    p.client.write('x');
    const byte = performance.now();
    for (let i = 0; i < 100 && calls === 1; i++) await sleep(TIMEOUT_MS / 4);
    assert.equal(calls, 2, 'fired again after the byte');
    assert.ok((times[1] ?? 0) - byte >= TIMEOUT_MS, `fired ${((times[1] ?? 0) - byte).toFixed(0)} ms after the byte`);
    timer.clear();
  } finally {
    await p.close();
  }
});
