/**
 * "Loses no log line": a client that leaves in the middle of a request head, or after a complete
 * head in the middle of its body, still gets one record each. A half-close (FIN) is answered with
 * a 400 and logged so; a reset (RST) cannot be answered and is logged as aborted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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
