/**
 * `--workers 2` with `--cert <(cat cert.pem) --key <(cat key.pem)` (and a pipe
 * `--passphrase-file`), helper-113: the primary reads each file once and hands the certificate and
 * key to its workers over the cluster's IPC channel. Before, each worker read the pipes again,
 * found them empty, failed after the pipe's 5 s wait, and the primary blamed memory ("fewer
 * --workers if memory is short"); a worker that says why it could not start gets no such guess.
 * Linux only (bash's <(…), /proc). Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withTimeout } from '../core/raw-client';
import { CLI, WAIT_MS, runCli, runCommand, runningWorkerPids, stopCli, waitForLocalUrl, type Cli } from './run-cli';
import { NO_ENV, PASSPHRASE, httpsStatus, tlsSiteForTests } from './tls-site';

const skip = process.platform !== 'linux' && "bash's <(…) and /proc";

const work = tlsSiteForTests('porthole-workers-tls-pipes-');

/**
 * The pids of the cluster's worker processes running now (runningWorkerPids) that run the CLI:
 * bash's `<(cat …)` writers are the primary's children too, once bash exec'd it.
 */
function workerPids(cli: Cli): number[] {
  const runsCli = (child: number): boolean => {
    try {
      return readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').includes(CLI);
    } catch {
      return false;
    }
  };
  return runningWorkerPids(cli.child.pid ?? 0).filter(runsCli);
}

/** `porthole <args>` run by bash, so that `<(…)` in `args` (bash words, unquoted) are pipes. */
function runThroughBash(args: string): Cli {
  return runCommand('bash', ['-c', `exec "$0" "$1" "$2" --port 0 --quiet --no-reload ${args}`, process.execPath, CLI, work.root], work.base, NO_ENV);
}

for (const [what, args] of [
  ['--cert <(cat cert.pem) --key <(cat key.pem)', () => `--cert <(cat '${work.certPath}') --key <(cat '${work.keyPath}')`],
  ['--cert, --key and --passphrase-file each a <(…) pipe', () => `--cert <(cat '${work.certPath}') --key <(cat '${work.encryptedKeyPath}') --passphrase-file <(printf '%s\\n' '${PASSPHRASE}')`],
] as const) {
  test(`--workers 2 with ${what}: the pipes are read once, by the primary, and both workers serve`, { skip }, async () => {
    const cli = runThroughBash(`--workers 2 ${args()}`);
    const local = await waitForLocalUrl(cli);
    assert.equal(local.url.protocol, 'https:');
    assert.match(cli.stdout, /Workers: 2 processes/);
    // The second worker is forked once the first listens; it reads no file, so it starts at once.
    for (const end = Date.now() + WAIT_MS; workerPids(cli).length < 2; ) {
      assert.ok(Date.now() < end && cli.child.exitCode === null, `two workers: ${cli.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(workerPids(cli).length, 2, `both workers still run: ${cli.stderr}`);
    for (let i = 0; i < 4; i++) assert.equal(await httpsStatus(Number(local.url.port), work.cert), 200);
    assert.equal(await stopCli(cli), 0, cli.stderr);
    assert.equal(cli.stderr, '');
  });
}

test('--workers 2, a worker that reports why it could not start: its reason, and no advice about memory', { skip }, async () => {
  // 192.0.2.1 (TEST-NET-1) is no address of this machine: the first worker's listen fails.
  const cli = runCli([work.root, '--port', '0', '--quiet', '--no-reload', '--workers', '2', '--host', '192.0.2.1', '--cert', work.certPath, '--key', work.keyPath], work.base, NO_ENV);
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit when the worker cannot listen'), 1, cli.stderr);
  assert.match(cli.stderr, /192\.0\.2\.1 is not an address of this machine/);
  assert.doesNotMatch(cli.stderr, /memory/);
});

