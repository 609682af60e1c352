/**
 * The CLI's stdout or stderr going away while it serves (`porthole … | head -1`, a log viewer
 * closed, the terminal closed): the server keeps serving, every request still gets its --log
 * line, and the stream that still works says once what happened. The CLI is spawned with both
 * streams as pipes, and this side's end of one is closed, so the CLI's next write there fails
 * with EPIPE, as when `head` exits. A closed terminal also sends SIGHUP (to the whole process
 * group): the CLI then stops as on SIGTERM, every log line written, exit code 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchOnce, withTimeout } from '../core/raw-client';
import { WAIT_MS, runCli, runningWorkerPids, stopCli, waitForLocalPort, type Cli, siteFolderForTests } from './run-cli';

let count = 0;

const site = siteFolderForTests('porthole-closed-output-');

/** A fresh log file's path (outside the site.root). */
const freshLog = (): string => join(site.base, `requests-${++count}.log`);

/** `n` GETs of /?i, one connection each, every one answered 200. */
async function getEach(port: number, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetchOnce(port, `GET /?${tag}${i} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    assert.equal(res.status, 200, `request ${tag}${i}`);
  }
}

/** The log's lines naming `/?<tag>` (bounded wait: the log is written as lines come, and on stop). */
async function logLines(file: string, tag: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.includes(`GET /?${tag}`));
}

/** Resolves once `read()` holds `pattern` (bounded; rejects if the CLI exits first). */
async function waitFor(cli: Cli, read: () => string, pattern: RegExp, what: string): Promise<void> {
  let exited = false;
  void cli.exited.then(() => (exited = true));
  await withTimeout(
    (async () => {
      for (let i = 0; i < WAIT_MS / 20 && !pattern.test(read()); i++) {
        if (exited) throw new Error(`the CLI exited before ${what}: ${cli.stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      if (!pattern.test(read())) throw new Error(`${what}: not seen in ${JSON.stringify(read())}`);
    })(),
    WAIT_MS + 1000,
    what,
  );
}

test('stdout\'s reader gone (EPIPE): the CLI keeps serving, says so once on stderr, and logs every request', async () => {
  const log = freshLog();
  const cli = runCli([site.root, '--port', '0', '--log', log], site.base);
  const port = await waitForLocalPort(cli);
  await getEach(port, 1, 'before');
  await waitFor(cli, () => cli.stdout, /GET \/\?before0/, 'the first request line');
  cli.child.stdout?.destroy();
  // The first request line written after it fails; the later ones are not written at all.
  await getEach(port, 5, 'after');
  await waitFor(cli, () => cli.stderr, /stdout failed/, 'the note on stderr');
  assert.equal(cli.child.exitCode, null, `still running: ${cli.stderr}`);
  assert.match(cli.stderr, new RegExp(`^porthole: stdout failed \\(EPIPE: its reader has gone\\): request and console lines are no longer printed; the server keeps serving; ${log.replace(/[.]/g, '\\.')} has every request\\. Ctrl-C or \`kill ${cli.child.pid}\` stops it\\.$`, 'm'));
  assert.equal(cli.stderr.match(/stdout failed/g)?.length, 1, 'said once');
  assert.equal(await stopCli(cli), 0, cli.stderr);
  assert.equal((await logLines(log, 'before')).length, 1);
  assert.equal((await logLines(log, 'after')).length, 5);
});

test('stderr\'s reader gone: a warning written there does not stop the CLI; stdout says so once', async () => {
  const siteRoot = join(site.base, 'with-config');
  await mkdir(siteRoot);
  await writeFile(join(siteRoot, 'index.html'), '<!doctype html><p>config</p>');
  await writeFile(join(siteRoot, 'porthole.config.json'), '{}');
  const log = freshLog();
  const cli = runCli([siteRoot, '--port', '0', '--log', log, '--quiet'], site.base);
  const port = await waitForLocalPort(cli);
  cli.child.stderr?.destroy();
  // An invalid edit of the configuration file: the server says why on stderr, and keeps its settings.
  await writeFile(join(siteRoot, 'porthole.config.json'), '{"listing": "no"}');
  await waitFor(cli, () => cli.stdout, /^porthole: stderr failed \(EPIPE: its reader has gone\): warnings are no longer printed; the server keeps serving\.$/m, 'the note on stdout');
  await getEach(port, 3, 'after');
  assert.equal(cli.child.exitCode, null, 'still running');
  assert.equal(await stopCli(cli), 0);
  assert.equal((await logLines(log, 'after')).length, 3);
});

test('--workers 2, stdout\'s reader gone: every worker keeps serving and logging', async () => {
  const log = freshLog();
  const cli = runCli([site.root, '--port', '0', '--log', log, '--workers', '2'], site.base);
  const port = await waitForLocalPort(cli);
  cli.child.stdout?.destroy();
  // One connection each: the kernel spreads them over the workers, and each one that writes a line finds stdout gone.
  await getEach(port, 20, 'w');
  await waitFor(cli, () => cli.stderr, /stdout failed/, 'the note on stderr');
  assert.equal(cli.child.exitCode, null, `still running: ${cli.stderr}`);
  assert.doesNotMatch(cli.stderr, /worker exited/);
  assert.equal(await stopCli(cli), 0, cli.stderr);
  assert.equal((await logLines(log, 'w')).length, 20);
});

test('SIGHUP (the terminal closed) stops the CLI as SIGTERM does: every log line written, exit 0', async () => {
  const log = freshLog();
  const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet'], site.base);
  const port = await waitForLocalPort(cli);
  await getEach(port, 3, 'hup');
  cli.child.kill('SIGHUP');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGHUP'), 0, `exit code (signal: ${cli.child.signalCode})`);
  assert.equal((await logLines(log, 'hup')).length, 3);
});

test('--workers 2, SIGHUP to the whole process group (as a closed terminal sends it): every worker stops gracefully, exit 0', { skip: process.platform === 'win32' && 'no process groups' }, async () => {
  const log = freshLog();
  const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--workers', '2'], site.base, {}, true);
  const port = await waitForLocalPort(cli);
  await getEach(port, 10, 'grouphup');
  // The second worker is forked once the first listens: until it has its handlers (Node's start
  // takes a while), a SIGHUP would find it without one, as any process just started. Its signal
  // mask says when (SigCgt in /proc/PID/status, bit 0 for SIGHUP).
  await workersCatchingSighup(cli.child.pid ?? 0, 2);
  process.kill(-(cli.child.pid ?? 0), 'SIGHUP');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGHUP'), 0, `exit code (signal: ${cli.child.signalCode}): ${cli.stderr}`);
  assert.equal((await logLines(log, 'grouphup')).length, 10);
  assert.doesNotMatch(cli.stderr, /worker exited/);
});

test('--workers 2, workers gone before the primary hears the signal: the primary stops without a word to them, exit 0', { skip: process.platform === 'win32' && 'no SIGSTOP' }, async () => {
  // The race a closed terminal runs: SIGHUP reaches every process of the group, a worker with
  // nothing to finish exits at once, and the primary's handler, later, tells it to shut down over
  // a channel already closed. Made certain here: the primary is stopped (SIGSTOP) while both
  // workers exit, and gets its SIGHUP with their channels closed.
  const log = freshLog();
  const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--workers', '2'], site.base, {}, true);
  const port = await waitForLocalPort(cli);
  await getEach(port, 4, 'gone');
  const primary = cli.child.pid ?? 0;
  const workers = await workersCatchingSighup(primary, 2);
  // Both listening: a worker still starting waits for its handle from the primary, stopped below.
  await Promise.all(workers.map((pid) => untilListening(pid, port)));
  process.kill(primary, 'SIGSTOP');
  try {
    for (const pid of workers) process.kill(pid, 'SIGTERM');
    await Promise.all(workers.map((pid) => untilZombie(pid)));
    process.kill(primary, 'SIGHUP');
  } finally {
    process.kill(primary, 'SIGCONT');
  }
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGHUP'), 0, `exit code (signal: ${cli.child.signalCode}): ${cli.stderr}`);
  assert.equal((await logLines(log, 'gone')).length, 4);
  assert.doesNotMatch(cli.stderr, /worker exited|Error/);
});

/** Resolves once process `pid` holds the socket listening on TCP `port` (Linux: /proc/net/tcp's inode among its fds), polling every 20 ms for at most WAIT_MS. */
async function untilListening(pid: number, port: number): Promise<void> {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const end = Date.now() + WAIT_MS; ; ) {
    if (Date.now() > end) throw new Error(`process ${pid} does not listen on ${port} after ${WAIT_MS} ms`);
    const table = (await readFile('/proc/net/tcp', 'utf8').catch(() => '')) + (await readFile('/proc/net/tcp6', 'utf8').catch(() => ''));
    // Columns: sl local_address rem_address st … inode (the 10th); st 0A is LISTEN.
    const inodes = table.split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[1]?.endsWith(portHex) === true && c[3] === '0A').map((c) => `socket:[${c[9]}]`);
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
    if (links.some((l) => inodes.includes(l))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once process `pid` has exited and waits for its parent (Linux: State Z), polling every 10 ms for at most WAIT_MS. */
async function untilZombie(pid: number): Promise<void> {
  for (const end = Date.now() + WAIT_MS; ; ) {
    if (Date.now() > end) throw new Error(`process ${pid} has not exited after ${WAIT_MS} ms`);
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => 'State: Z');
    if (/^State:\s*Z/m.test(status)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves, with their pids, once `count` child processes of `parent` catch SIGHUP (Linux: /proc), polling every 20 ms for at most WAIT_MS. */
async function workersCatchingSighup(parent: number, count: number): Promise<number[]> {
  for (const end = Date.now() + WAIT_MS; ; ) {
    if (Date.now() > end) throw new Error(`fewer than ${count} workers handle SIGHUP after ${WAIT_MS} ms`);
    // Running Node: one just forked has the primary's handlers until it executes node.
    const children = runningWorkerPids(parent);
    const catching: number[] = [];
    for (const pid of children) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
      if (m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n) catching.push(Number(pid));
    }
    if (catching.length >= count) return catching;
    await new Promise((r) => setTimeout(r, 20));
  }
}

