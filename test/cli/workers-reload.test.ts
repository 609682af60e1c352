/**
 * `--workers N`: the processes behind one port are one live-reload instance. A page's WebSocket
 * is a new connection that the kernel may give to another worker than the one that served the
 * page; its `hello` must carry the instance id the page was served with, or the client reloads
 * the page at once (before: each worker had its own id, and 22 of 30 page/socket pairs differed
 * with three workers, found by a fresh attacker). A Ctrl-C while workers are still starting stops
 * every one of them, and `--port 0` gives every worker the one free port the first one found.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSite, type Site } from '../fixtures/make-site';
import { fetchOnce, freePort, request } from '../core/raw-client';
import { openWebSocket } from '../live-reload/ws-client';
import { killAllClis, requireBuiltCli, runCli, runningWorkerPids, stopCli, waitForLocalPort, type Cli } from './run-cli';

let site: Site;

before(async () => {
  requireBuiltCli();
  site = await makeSite({ bigSize: 1024 });
});

after(async () => {
  killAllClis();
  await site.cleanup();
});

/** How many of the cluster's worker processes run now (runningWorkerPids). */
function workerCount(cli: Cli): number {
  return runningWorkerPids(cli.child.pid ?? 0).length;
}

test('--workers 3: every page and every live-reload connection name the same instance', async () => {
  const cli = runCli([site.root, '--port', String(await freePort()), '--quiet', '--workers', '3'], site.base);
  const port = await waitForLocalPort(cli);
  try {
    // The other workers are forked once the first listens: wait until all three run, then give
    // them a moment to listen (bounded).
    const workers = (): number => workerCount(cli);
    for (let i = 0; i < 100 && workers() < 3; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(workers(), 3);
    await new Promise((r) => setTimeout(r, 1_000));
    const served = new Set<string>();
    const greeted = new Set<string>();
    const mismatched: string[] = [];
    // Four pairs at once, new connections each, so the kernel spreads them over the workers.
    const pair = async (): Promise<void> => {
      const page = await fetchOnce(port, request('/index.html', { headers: ['Connection: close', 'Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate'] }));
      assert.equal(page.status, 200);
      const id = /data-porthole-instance="([0-9a-f-]{36})"/.exec(page.body.toString())?.[1];
      assert.ok(id !== undefined, 'the page carries the live-reload tag');
      served.add(id);
      const ws = openWebSocket(port);
      try {
        const hello = await ws.message();
        assert.equal(hello.type, 'hello');
        greeted.add(String(hello.id));
        if (hello.id !== id) mismatched.push(`${id} → ${String(hello.id)}`);
      } finally {
        ws.socket.destroy();
      }
    };
    for (let round = 0; round < 10; round++) await Promise.all([pair(), pair(), pair(), pair()]);
    assert.deepEqual(mismatched, [], 'a page whose socket names another instance reloads at once');
    assert.equal(served.size, 1, `pages served with ${served.size} instance ids`);
    assert.deepEqual([...greeted], [...served], 'every hello names the instance the pages were served with');
  } finally {
    assert.equal(await stopCli(cli), 0);
  }
});

test('--workers 3: a Ctrl-C while the other workers are still starting stops them all (exit 0)', async () => {
  // The primary forks the others once the first listens and sends each its shutdown; a worker
  // that got it before it listened for it used to lose it, and the primary waited for ever.
  const cli = runCli([site.root, '--port', String(await freePort()), '--quiet', '--workers', '3'], site.base);
  await waitForLocalPort(cli);
  assert.equal(await stopCli(cli), 0);
});

test('--workers 3 --port 0: every worker listens on the one free port found (before: the others failed and all stopped)', async () => {
  const cli = runCli([site.root, '--port', '0', '--quiet', '--workers', '3'], site.base);
  const port = await waitForLocalPort(cli);
  const workers = (): number => workerCount(cli);
  for (let i = 0; i < 100 && workers() < 3 && cli.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  // Each worker has had time to bind (or, before, to fail and take the cluster down).
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(cli.child.exitCode, null, `the CLI exited: ${cli.stderr}`);
  assert.equal(workers(), 3);
  for (let i = 0; i < 6; i++) assert.equal((await fetchOnce(port, request('/hello.txt', { headers: ['Connection: close'] }))).status, 200);
  assert.equal(await stopCli(cli), 0);
  assert.doesNotMatch(cli.stderr, /exited with code/);
});

test('--workers 3: after saves each worker coalesced on its own schedule, a page and its socket still agree on the generation (no reload at load)', async () => {
  const cli = runCli([site.root, '--port', String(await freePort()), '--quiet', '--workers', '3', '--reload-debounce', '30'], site.base);
  const port = await waitForLocalPort(cli);
  const page = join(site.root, 'index.html');
  const original = readFileSync(page);
  try {
    for (let i = 0; i < 100 && workerCount(cli) < 3; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(workerCount(cli), 3);
    await new Promise((r) => setTimeout(r, 1_000));
    // Saves 20–40 ms apart, around the debounce: each worker's timer may end its window before
    // or after the next save is read, so their counts of events sent drifted apart (58 and 59).
    for (let i = 0; i < 80; i++) {
      writeFileSync(page, `<!doctype html><title>t</title><p>save ${i}</p>\n`);
      await new Promise((r) => setTimeout(r, 20 + ((i * 7) % 21)));
    }
    // Every worker's last event is out (debounce 30 ms, at most 1 s for a long burst).
    await new Promise((r) => setTimeout(r, 2_500));
    const mismatched: string[] = [];
    const pair = async (): Promise<void> => {
      const answer = await fetchOnce(port, request('/index.html', { headers: ['Connection: close', 'Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate'] }));
      assert.equal(answer.status, 200);
      const served = /data-porthole-generation="(\d+)"/.exec(answer.body.toString())?.[1];
      assert.ok(served !== undefined, 'the page carries its generation');
      const ws = openWebSocket(port);
      try {
        const hello = await ws.message();
        assert.equal(hello.type, 'hello');
        if (String(hello.generation) !== served) mismatched.push(`${served} → ${String(hello.generation)}`);
      } finally {
        ws.socket.destroy();
      }
    };
    for (let round = 0; round < 10; round++) await Promise.all([pair(), pair(), pair(), pair()]);
    assert.deepEqual(mismatched, [], 'a page whose socket greets it with another generation reloads at once, current as it is');
  } finally {
    writeFileSync(page, original);
    assert.equal(await stopCli(cli), 0);
  }
});
