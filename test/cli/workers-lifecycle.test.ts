/**
 * `--workers N`: how the cluster starts and stops when things happen at awkward moments.
 * - A Ctrl-C while the first worker is still starting (before it listens) stops the CLI: no other
 *   worker is forked after it, and nothing is left serving (before: the first worker's late
 *   `listening` made the primary print the banner and fork the others, which served for ever).
 * - A worker ended by a signal (the OOM killer's SIGKILL, a user's kill) is named with its signal,
 *   not as "exited with code null".
 * Linux only (/proc). Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, runCli, siteFolderForTests, stopCli, waitForLocalPort, type Cli } from './run-cli';

const linux = process.platform === 'linux';
const site = siteFolderForTests('porthole-workers-lifecycle-');

/** The pids of the cluster's worker processes running now (the primary's children, from /proc). */
function workerPids(cli: Cli): number[] {
  const pid = cli.child.pid ?? 0;
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Resolves once the CLI has at least `count` workers (polling every 5 ms, at most WAIT_MS). */
async function untilWorkers(cli: Cli, count: number): Promise<number[]> {
  for (const end = Date.now() + WAIT_MS; ; ) {
    const pids = workerPids(cli);
    if (pids.length >= count) return pids;
    if (Date.now() > end || cli.child.exitCode !== null) throw new Error(`fewer than ${count} workers after ${WAIT_MS} ms; stderr: ${cli.stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Whether something accepts a connection on 127.0.0.1:`port` (bounded). */
function accepts(port: number): Promise<boolean> {
  return withTimeout(
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    }),
    WAIT_MS,
    `a connection to ${port}`,
  );
}

test('--workers 3: a Ctrl-C before the first worker listens stops the CLI and leaves nothing serving (exit 0)', { skip: !linux && '/proc' }, async () => {
  const port = 21871;
  const cli = runCli([site.root, '--port', String(port), '--quiet', '--workers', '3'], site.base);
  // The first worker exists (it takes ~100 ms to load and listen): the primary's handlers are set.
  const [first] = await untilWorkers(cli, 1);
  cli.child.kill('SIGINT');
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit after a Ctrl-C while starting');
  // Workers the primary forked late would outlive it (orphans still holding the port).
  await new Promise((r) => setTimeout(r, 1_000));
  const serving = await accepts(port);
  assert.equal(serving, false, `something still serves on ${port} after the CLI exited (stdout: ${JSON.stringify(cli.stdout)})`);
  assert.equal(code, 0, `exit code; stderr: ${cli.stderr}`);
  assert.ok(first !== undefined);
  assert.doesNotMatch(cli.stdout, /Workers: 3 processes/, 'no banner for a cluster that is stopping');
});
test('--workers 2: a worker ended by a signal is named with the signal, and the CLI stops (exit 1)', { skip: !linux && '/proc' }, async () => {
  const cli = runCli([site.root, '--port', '21872', '--quiet', '--workers', '2'], site.base);
  await waitForLocalPort(cli);
  const [, second] = await untilWorkers(cli, 2);
  assert.ok(second !== undefined);
  process.kill(second, 'SIGKILL');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after a worker was killed'), 1);
  assert.equal(cli.stderr, 'porthole: a worker was ended by SIGKILL; stopping the others\n');
  assert.equal(await stopCli(cli), 1);
});
