/**
 * "Loses no log line": a client that leaves in the middle of a request head, or after a complete
 * head in the middle of its body, still gets one record each. A half-close (FIN) is answered with
 * a 400 and logged so; a reset (RST) cannot be answered and is logged as aborted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestRecord } from '../../src/core';
import { startServer, type Running } from './harness';
import { RawClient, waitForClose } from './raw-client';

let root = '';
let running: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-aborted-'));
  await writeFile(join(root, 'a.txt'), 'a\n');
  running = await startServer({ root, reload: { enabled: false } });
});

after(async () => {
  await running.close();
  await rm(root, { recursive: true, force: true });
});

/** Waits (bounded) until the server has recorded `n` requests. */
async function recordsReach(n: number): Promise<void> {
  for (let i = 0; i < 100 && running.records.length < n; i++) await new Promise((r) => setTimeout(r, 20));
}

/** Sends `bytes`, lets the server take them, resets the connection; the records it added. */
async function sendThenReset(bytes: string): Promise<RequestRecord[]> {
  const before = running.records.length;
  const client = await RawClient.connect(running.port);
  await client.write(bytes);
  await new Promise((r) => setTimeout(r, 50));
  client.socket.resetAndDestroy();
  await waitForClose(client.socket);
  await recordsReach(before + 1);
  return running.records.slice(before);
}

test('a client resetting mid-head is logged once, aborted', async () => {
  const added = await sendThenReset('GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Ag');
  assert.equal(added.length, 1);
  assert.equal(added[0]?.aborted, true);
  assert.equal(added[0]?.target, '/a.txt');
});

test('a client half-closing mid-body gets a 400, logged once', async () => {
  const before = running.records.length;
  const client = await RawClient.connect(running.port);
  await client.write('GET /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc');
  client.socket.end();
  const response = await client.readResponse();
  assert.equal(response.status, 400);
  await recordsReach(before + 1);
  const added = running.records.slice(before);
  assert.equal(added.length, 1);
  assert.equal(added[0]?.status, 400);
  assert.equal(added[0]?.target, '/upload');
});

test('a client resetting mid-body is logged once, aborted, with its method and target', async () => {
  const added = await sendThenReset('GET /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc');
  assert.equal(added.length, 1);
  assert.equal(added[0]?.aborted, true);
  assert.equal(added[0]?.method, 'GET');
  assert.equal(added[0]?.target, '/upload');
});

test('clients that leave while their file is being opened leave no descriptor open, and each is logged once', async () => {
  // The file is opened on the thread pool; a client that resets meanwhile has its exchange ended
  // before the open returns. Before: the open file was then tied to the ended exchange and only
  // closed by garbage collection (a fresh attacker: 59 of 100 such requests kept a descriptor,
  // and Node printed DEP0137 when it closed them). Here the thread pool is kept busy (pbkdf2
  // runs there) so that every reset is seen while the opens still wait.
  const big = join(root, 'big.bin');
  await writeFile(big, Buffer.alloc(4 * 1024 * 1024, 0x62));
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`);
  };
  process.on('warning', onWarning);
  const openOnBig = (): number => {
    let n = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`) === big) n++;
      } catch {
        // closed meanwhile
      }
    }
    return n;
  };
  const before = running.records.length;
  const attempts = 20;
  const clients = await Promise.all(Array.from({ length: attempts }, () => RawClient.connect(running.port)));
  // Every thread of the pool busy for about 2 s (10 M rounds of PBKDF2: 0.4 s per 2 M here).
  const poolThreads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  let poolFreed = false;
  const busy = Array.from(
    { length: poolThreads },
    () =>
      new Promise<void>((resolve) =>
        pbkdf2('x', 'salt', 10_000_000, 32, 'sha256', () => {
          poolFreed = true;
          resolve();
        }),
      ),
  );
  // The server is in this process: its opens show as pending file-system requests. Wait until
  // every request has been read and its open waits on the pool, not for a fixed time (under load
  // 200 ms did not do: requests not yet read when reset were never seen, or one was answered).
  const pendingOpens = (): number => process.getActiveResourcesInfo().filter((t) => t.startsWith('FSReq')).length;
  const pendingBefore = pendingOpens();
  await Promise.all(clients.map((c, i) => c.write(`GET /big.bin?c=${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)));
  for (let i = 0; i < 750 && pendingOpens() < pendingBefore + attempts && !poolFreed; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(poolFreed, false, 'the thread pool was to be busy still (the opens waiting)');
  assert.ok(pendingOpens() - pendingBefore >= attempts, 'every request read, its open waiting on the pool');
  for (const c of clients) c.socket.resetAndDestroy();
  await Promise.all(busy);
  await recordsReach(before + attempts);
  // Every open has returned and every close has run (bounded wait).
  for (let i = 0; i < 100 && openOnBig() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  process.off('warning', onWarning);
  const leaked = openOnBig();
  const mine = running.records.slice(before).filter((r) => r.target.startsWith('/big.bin?c='));
  assert.equal(mine.length, attempts, 'one record per request');
  assert.equal(new Set(mine.map((r) => r.target)).size, attempts);
  assert.equal(leaked, 0, 'descriptors of big.bin still open after every client left');
  assert.ok(mine.every((r) => r.status === 499 && r.aborted), `each cut short before its answer: ${mine.map((r) => r.status).join(',')}`);
  assert.deepEqual(
    warnings.filter((w) => w.includes('DEP0137') || w.includes('FileHandle')),
    [],
  );
});

test('a client that resets before it is accepted: its request is still read and logged, with "-" for the address it no longer has', async () => {
  // The test's own event loop (the server's) is blocked while a child process connects, sends a
  // whole request and resets, 20 times: each connection waits reset in the accept queue, where
  // getpeername(2) fails (helper-48). Closed unread once, such requests had no line at all
  // (helper-146: 197 of 200); each now has its line, with the address when it was still read
  // and "-" (Combined Log Format's unknown) when not, and runs as an unknown client on the
  // network (refused by an allowedClients list; never taken for this computer).
  const before = running.records.length;
  const client = `
    const net = require('node:net');
    let left = 20;
    const one = () => {
      const s = net.connect(${running.port}, '127.0.0.1', () => {
        s.write('GET /a.txt?reset HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n', () => {
          s.resetAndDestroy();
          if (--left > 0) one();
        });
      });
      s.on('error', () => undefined);
    };
    one();`;
  const ran = spawnSync(process.execPath, ['-e', client], { timeout: 20_000 });
  assert.equal(ran.status, 0, String(ran.stderr));
  await new Promise((r) => setTimeout(r, 300));
  const deadline = Date.now() + 5_000;
  while (running.records.slice(before).length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const added = running.records.slice(before);
  assert.equal(added.filter((r) => r.target === '/a.txt?reset').length, 20, 'every request has its line');
  for (const r of added) assert.ok(r.clientIp === '127.0.0.1' || r.clientIp === '-', `${r.method} ${r.target} ${r.status}: ${r.clientIp}`);
  assert.ok(added.some((r) => r.clientIp === '-'), 'the accept queue held them reset: at least one address was gone');
  // Still serving after them.
  const after = await RawClient.connect(running.port);
  try {
    await after.write('GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal((await after.readResponses(1))[0]?.status, 200);
  } finally {
    after.destroy();
  }
});
