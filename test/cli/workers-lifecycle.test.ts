/**
 * `--workers N`: how the cluster starts and stops when things happen at awkward moments.
 * - A Ctrl-C while the first worker is still starting (before it listens) stops the CLI: no other
 *   worker is forked after it, and nothing is left serving (before: the first worker's late
 *   `listening` made the primary print the banner and fork the others, which served for ever).
 * - A worker ended by a signal (the OOM killer's SIGKILL, a user's kill) is named with its signal,
 *   not as "exited with code null".
 * - A warning that every worker has (a --watch folder not made yet, an invalid edit of the config
 *   file) is printed once for each time it happens, not once per worker.
 * - An edit of the config file saved while the workers after the first start is an edit to each
 *   of them, as to the first: they start with the settings the first read, not the file as it is
 *   by then (before: a later worker started with the edit's listing and the first one's port).
 * Linux only (/proc). Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { fetchOnce, request, withTimeout } from '../core/raw-client';
import { WAIT_MS, runCli, runningWorkerPids, siteFolderForTests, stopCli, waitForLocalPort, type Cli } from './run-cli';

const linux = process.platform === 'linux';
const site = siteFolderForTests('porthole-workers-lifecycle-');

/** The pids of the cluster's worker processes running now (runningWorkerPids). */
function workerPids(cli: Cli): number[] {
  return runningWorkerPids(cli.child.pid ?? 0);
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

/** Whether process `pid` holds a socket listening on TCP `port` (its fds against /proc/net/tcp). */
function holdsListener(pid: number, port: number): boolean {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const inodes = new Set(
      readFileSync(`/proc/${pid}/net/tcp`, 'utf8')
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .filter((f) => f[1]?.endsWith(`:${hex}`) === true && f[3] === '0A')
        .map((f) => f[9]),
    );
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1]);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Resolves once `count` workers of the CLI hold the listening socket of `port` (polling every 10 ms, at most WAIT_MS). */
async function untilWorkersListen(cli: Cli, count: number, port: number): Promise<void> {
  for (const end = Date.now() + WAIT_MS; ; ) {
    if (workerPids(cli).filter((pid) => holdsListener(pid, port)).length >= count) return;
    if (Date.now() > end || cli.child.exitCode !== null) throw new Error(`fewer than ${count} workers listen on ${port} after ${WAIT_MS} ms; stderr: ${cli.stderr}`);
    await new Promise((r) => setTimeout(r, 10));
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
  assert.equal(cli.stderr, 'porthole: a worker was ended by SIGKILL (often the system out of memory); stopping the others. Start porthole again (fewer --workers if memory is short)\n');
  assert.equal(await stopCli(cli), 1);
});

test('--workers 3: a warning every worker has (a --watch folder not made yet, a bad config edit) is printed once per event', { skip: !linux && '/proc' }, async () => {
  const root = join(site.base, 'with-config');
  await mkdir(root);
  await writeFile(join(root, 'porthole.config.json'), '{"listing": true}');
  const missing = join(site.base, 'not-made-yet');
  const cli = runCli([root, '--port', '21876', '--workers', '3', '--watch', missing], site.base);
  await waitForLocalPort(cli);
  await untilWorkers(cli, 3);
  const notYet = `porthole: live reload: this folder does not exist (yet); it is watched from when it is made (${missing})\n`;
  const count = (line: string): number => cli.stderr.split(line).length - 1;
  for (let i = 0; i < 100 && count(notYet) < 1; i++) await new Promise((r) => setTimeout(r, 20));
  // Every worker has had time to say it (before: once each).
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(count(notYet), 1, cli.stderr);
  const bad = `porthole: ${join(root, 'porthole.config.json')}: port: must be an integer or null (it is the string "x"); keeping the settings in use\n`;
  for (const round of [1, 2]) {
    await writeFile(join(root, 'porthole.config.json'), round === 1 ? '{"port": "x"}' : '{"port": "x" }');
    for (let i = 0; i < 100 && count(bad) < round; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(count(bad), round, `after edit ${round}: ${cli.stderr}`);
  }
  assert.equal(await stopCli(cli), 0);
});

/** Opens a connection that asks for `path` and reads only the start of the answer, so that the download stalls (bounded). */
async function stalledDownload(port: number, path: string): Promise<import('node:net').Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let got = 0;
  const started = new Promise<void>((resolve) => {
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got > 64 * 1024) {
        socket.pause();
        resolve();
      }
    });
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: workers-stop\r\n\r\n`);
  await withTimeout(started, WAIT_MS, `the start of ${path}`);
  return socket;
}

for (const hurried of [false, true]) {
  test(`--workers 2: a Ctrl-C during downloads says at once what the cluster waits for, and then what was cut short${hurried ? ' by a second Ctrl-C' : ''}, as one process does`, { skip: !linux && '/proc' }, async () => {
    // Before: with --workers the terminal said nothing on a Ctrl-C (one process says both lines).
    await writeFile(join(site.root, 'workers-big.bin'), Buffer.alloc(48 * 1024 * 1024, 1));
    const cli = runCli([site.root, '--port', hurried ? '21878' : '21877', '--quiet', '--workers', '2'], site.base);
    const port = await waitForLocalPort(cli);
    await untilWorkers(cli, 2);
    const sockets = [await stalledDownload(port, '/workers-big.bin?a'), await stalledDownload(port, '/workers-big.bin?b')];
    try {
      cli.child.kill('SIGINT');
      const said = Date.now() + 1_000;
      while (!/stopping/.test(cli.stderr) && Date.now() < said) await new Promise((r) => setTimeout(r, 10));
      assert.equal(cli.stderr, 'porthole: stopping (SIGINT): waiting up to 2 s for 2 open responses (press Ctrl-C again to stop now)\n');
      if (hurried) cli.child.kill('SIGINT');
      assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), hurried ? 1 : 0, cli.stderr);
      assert.match(cli.stderr, new RegExp(`\\nporthole: 2 responses were cut short ${hurried ? 'by the second SIGINT' : 'after 2 s'} \\(logged as aborted\\)\\n$`));
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
}

/** `count` answers to GET /d/, each on a new connection (the kernel spreads them over the workers). */
async function statusesOfFolder(port: number, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push((await fetchOnce(port, request('/d/'))).status);
  return out;
}

/** A served folder with a listed folder d/ and `porthole.config.json` saying `{ port }`. */
async function configuredSite(name: string, port: number): Promise<string> {
  const root = join(site.base, name);
  await mkdir(join(root, 'd'), { recursive: true });
  await writeFile(join(root, 'd', 'a.txt'), 'a');
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ port }));
  return root;
}

/** What the cluster says of an edit of `port` (with --workers, once), and of one of `listing` alone. */
const RESTART_SAID = 'porthole: porthole.config.json changed an option that needs a restart (port); with --workers, stop and start porthole to apply it\n';
const APPLIED_LISTING_SAID = 'porthole: porthole.config.json changed: applied listing\n';

/** Resolves once `said()` (the CLI's stdout or stderr so far) holds `line`, or after 3 s (the assertions after it say what is missing). */
async function untilSaid(said: () => string, line: string): Promise<void> {
  for (let i = 0; i < 150 && !said().includes(line); i++) await new Promise((r) => setTimeout(r, 20));
}

test('--workers 2: one edit of the config file that changes the port and a live option is applied by no worker (a restart is said once); a live option alone by every one', { skip: !linux && '/proc' }, async () => {
  // Before (helper-121): the workers after the first had the port pinned in their options, so for
  // them the edit was no restart: they applied `listing: false` while the first kept the listing,
  // and answers to /d/ alternated 404, 200, 404 …
  const port = 21879;
  const root = await configuredSite('config-port-and-listing', port);
  const cli = runCli([root, '--workers', '2', '--quiet'], site.base);
  assert.equal(await waitForLocalPort(cli), port);
  // Both serve before the edit (one still starting would read the edited file at its start).
  await untilWorkersListen(cli, 2, port);
  const statuses = (): Promise<number[]> => statusesOfFolder(port, 12);
  assert.deepEqual(await statuses(), Array(12).fill(200));
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ port: port + 1, listing: false }));
  await untilSaid(() => cli.stderr, RESTART_SAID);
  assert.equal(cli.stderr, RESTART_SAID);
  // Every worker has had time to read the edit.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(await statuses(), Array(12).fill(200), `no worker applies part of an edit that needs a restart; stderr: ${cli.stderr}`);
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ port, listing: false }));
  let seen: number[] = [];
  for (let i = 0; i < 30; i++) {
    seen = await statuses();
    if (seen.every((s) => s === 404)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(seen, Array(12).fill(404), 'a live option alone is applied by every worker');
  // Said once for the cluster, not once per worker.
  // On stdout, as one process says it.
  assert.equal(cli.stdout.split(APPLIED_LISTING_SAID).length - 1, 1, cli.stdout);
  assert.equal(await stopCli(cli), 0);
});

test('--workers 2: an edit of the port and a live option saved while the second worker starts is applied by no worker (every one keeps the first\'s settings)', { skip: !linux && '/proc' }, async () => {
  // Before: a worker forked after the first read the file as it was by then, and started with
  // `listing: false` and the old port while the first kept the listing (seen in CI: /d/ answered
  // 404, 200, 404 …, and no line said anything was applied).
  const port = 21883;
  const root = await configuredSite('config-edit-while-starting', port);
  const cli = runCli([root, '--workers', '2', '--quiet'], site.base);
  // The banner: the first worker listens, and the second is forked now (Node's start takes it a
  // few hundred ms before it reads anything).
  assert.equal(await waitForLocalPort(cli), port);
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ port: port + 1, listing: false }));
  await untilWorkersListen(cli, 2, port);
  await untilSaid(() => cli.stderr, RESTART_SAID);
  // Both have read the file since they watch it.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(cli.stderr, RESTART_SAID);
  assert.deepEqual(await statusesOfFolder(port, 24), Array(24).fill(200), `every worker serves the listing; stdout: ${cli.stdout}`);
  assert.doesNotMatch(cli.stdout, /applied/);
  assert.equal(await stopCli(cli), 0);
});

test('--workers 2: a live option saved while the second worker starts is applied by every worker, and said once', { skip: !linux && '/proc' }, async () => {
  const port = 21885;
  const root = await configuredSite('config-live-edit-while-starting', port);
  const cli = runCli([root, '--workers', '2', '--quiet'], site.base);
  assert.equal(await waitForLocalPort(cli), port);
  await writeFile(join(root, 'porthole.config.json'), JSON.stringify({ port, listing: false }));
  await untilWorkersListen(cli, 2, port);
  await untilSaid(() => cli.stdout, APPLIED_LISTING_SAID);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(await statusesOfFolder(port, 24), Array(24).fill(404), `every worker applied it; stdout: ${cli.stdout}`);
  assert.equal(cli.stdout.split(APPLIED_LISTING_SAID).length - 1, 1, cli.stdout);
  assert.equal(cli.stderr, '');
  assert.equal(await stopCli(cli), 0);
});
