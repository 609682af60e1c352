/**
 * The live-reload channel caps at their defaults, over real TCP (README, Limits: "live-reload
 * streams: 32 per client address, 1,000 in all → 503 with Retry-After: 5"). Other tests lower
 * the per-address cap to 2 or raise it to 64, so neither default was held to its number: a cap
 * of 320, or no total at all, passed every test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../core/harness';
import { RawClient, request } from '../core/raw-client';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-channel-caps-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>x</title><p>x</p>\n');
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const WS_HEADERS = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];

/**
 * Opens one channel from `from` (an event stream, or a WebSocket with `ws`) and reads the status
 * of its answer. The socket is pushed to `open`, for the caller to close.
 */
async function channel(port: number, open: RawClient[], from = '127.0.0.1', ws = false): Promise<number> {
  const client = await RawClient.connect(port, '127.0.0.1', 5_000, from);
  open.push(client);
  await client.write(request(ws ? '/__porthole/socket' : '/__porthole/events', { headers: ws ? WS_HEADERS : ['Accept: text/event-stream'] }));
  // A channel's answer has no length: read the status line's start only.
  return Number((await client.readBytes(12, 5_000)).toString('latin1').slice(9, 12));
}

test('32 channels per client address by default: the 33rd, stream or WebSocket, is 503 with Retry-After: 5 and says why; another address is not held back', async () => {
  const srv = await startServer({ root, reload: { watch: false } });
  const open: RawClient[] = [];
  try {
    for (let i = 0; i < 32; i++) assert.equal((await channel(srv.port, open)), 200, `stream ${i + 1}`);
    for (const ws of [false, true]) {
      const client = await RawClient.connect(srv.port);
      open.push(client);
      await client.write(request(ws ? '/__porthole/socket' : '/__porthole/events', { headers: ws ? WS_HEADERS : [] }));
      const res = await client.readResponse({ timeoutMs: 5_000 });
      assert.equal(res.status, 503, ws ? 'a WebSocket past the cap' : 'a 33rd stream');
      assert.equal(res.header('retry-after'), '5');
      assert.equal(res.header('connection'), 'close');
      assert.match(res.body.toString('utf8'), /32 live-reload connections.*the most one client address may/);
      await client.waitForEof(5_000);
    }
    assert.equal((await channel(srv.port, open, '127.0.0.2')), 200, 'another address');
  } finally {
    for (const c of open) c.destroy();
    await srv.close();
  }
});

test('1,000 channels in all: the 1,001st is 503 with Retry-After: 5 and says why, whoever asks', async () => {
  // The per-address cap out of the way: the total is what is tested.
  const srv = await startServer({ root, reload: { watch: false }, limits: { maxEventStreamsPerClient: 5_000 } });
  const open: RawClient[] = [];
  try {
    for (let i = 0; i < 1_000; i += 50) {
      const statuses = await Promise.all(Array.from({ length: 50 }, (_, j) => channel(srv.port, open, (i + j) % 2 === 0 ? '127.0.0.1' : '127.0.0.3')));
      assert.deepEqual(
        statuses,
        Array.from({ length: 50 }, () => 200),
        `streams ${i + 1}–${i + 50}`,
      );
    }
    for (const [from, ws] of [['127.0.0.4', false], ['127.0.0.1', true]] as const) {
      const client = await RawClient.connect(srv.port, '127.0.0.1', 5_000, from);
      open.push(client);
      await client.write(request(ws ? '/__porthole/socket' : '/__porthole/events', { headers: ws ? WS_HEADERS : [] }));
      const res = await client.readResponse({ timeoutMs: 5_000 });
      assert.equal(res.status, 503, `${from}${ws ? ', WebSocket' : ''}`);
      assert.equal(res.header('retry-after'), '5');
      assert.match(res.body.toString('utf8'), /1000 live-reload connections.*the most it takes at once/);
    }
    // A place given back is taken again (bounded: the server sees the close within a few turns).
    open[0]?.destroy();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      status = await channel(srv.port, open, '127.0.0.4');
    }
    assert.equal(status, 200);
  } finally {
    for (const c of open) c.destroy();
    await srv.close();
  }
});
