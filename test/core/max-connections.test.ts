/**
 * The cap on concurrent connections: past `maxConnections` a new connection is closed at once,
 * the ones already open keep being served, and a place frees up when one of them leaves.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { RawClient, request, waitForClose } from './raw-client';

let root = '';
let running: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-maxconn-'));
  await writeFile(join(root, 'a.txt'), 'a\n');
  running = await startServer({ root, maxConnections: 2, reload: { enabled: false } });
});

after(async () => {
  await running.close();
  await rm(root, { recursive: true, force: true });
});

async function served(client: RawClient): Promise<number> {
  await client.write(request('/a.txt'));
  return (await client.readResponse()).status;
}

test('a third connection is closed while two are open; a freed place is taken again', async () => {
  const first = await RawClient.connect(running.port);
  const second = await RawClient.connect(running.port);
  assert.equal(await served(first), 200);
  assert.equal(await served(second), 200);
  const third = await RawClient.connect(running.port);
  await waitForClose(third.socket);
  assert.equal(await served(first), 200, 'the open connections keep being served');
  first.destroy();
  await waitForClose(first.socket);
  // The server sees the close on its next turn; try a few times, bounded.
  let status = 0;
  for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
    const fourth = await RawClient.connect(running.port);
    status = await served(fourth).catch(() => 0);
    fourth.destroy();
  }
  assert.equal(status, 200);
  second.destroy();
});

test('connections closed at the cap are said, not dropped without a word: one warning at once, then one count per 10 s however many', async () => {
  // Before, Node closed them before Porthole saw them: the client saw a reset, and no line in the
  // Output channel, the terminal or the log said why.
  const own = await startServer({ root, maxConnections: 2, reload: { enabled: false } });
  const warnings: string[] = [];
  own.server.on('diagnostic', (level, message) => {
    if (level === 'warn') warnings.push(message);
  });
  const open = [await RawClient.connect(own.port), await RawClient.connect(own.port)];
  try {
    for (const c of open) assert.equal(await served(c), 200);
    for (let i = 0; i < 5; i++) {
      const refused = await RawClient.connect(own.port);
      await waitForClose(refused.socket);
    }
    for (let i = 0; i < 50 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    // The first at once; the four after it wait for the next report (10 s on), not one line each.
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /^1 connection was closed at once: the server holds 2 connections, its cap \(maxConnections\)/);
  } finally {
    for (const c of open) c.destroy();
    await own.close();
  }
});
