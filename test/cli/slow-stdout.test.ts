/**
 * The CLI's stdout when nobody reads it (a stopped pager, `| slow-reader`): the request lines (and
 * pages' console lines, which go the same way) must not pile up in the process. The CLI is spawned
 * with its stdout pipe paused, 12,000 requests with 6 KB targets (about 73 MB of output lines) are
 * sent over loopback, and its RSS (sampled from /proc, with a small V8 heap so garbage does not
 * linger) must grow by less than RSS_BOUND_BYTES;
 * once stdout is read again one line says how many lines were not shown, which with the lines
 * shown accounts for every request (the --log file is written elsewhere and not bounded here).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from '../core/raw-client';
import { requireBuiltCli, runCli, waitForLocalPort, type Cli } from './run-cli';

const linux = process.platform === 'linux';
const MB = 1024 * 1024;
const CONNECTIONS = 8;
const PER_CONNECTION = 1_500;
const REQUESTS = CONNECTIONS * PER_CONNECTION;
const TARGET = `/missing?${'a'.repeat(6_000)}`;
/**
 * Unbounded, the queued lines alone are REQUESTS × 6 KB ≈ 73 MB (measured: RSS +355 MB); bounded,
 * it settled about 40 MB above idle once the requests were done.
 */
const RSS_BOUND_BYTES = 120 * MB;
const WAIT_MS = 120_000;

let base = '';
after(async () => {
  if (base !== '') await rm(base, { recursive: true, force: true });
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** PER_CONNECTION pipelined GETs on one connection, the last closing it; resolves when it closes. */
function burst(port: number): Promise<void> {
  return new Promise((resolveBurst, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('data', () => undefined);
    s.once('error', reject);
    s.once('close', () => resolveBurst());
    for (let i = 0; i < PER_CONNECTION; i++) {
      s.write(`GET ${TARGET} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${i === PER_CONNECTION - 1 ? 'Connection: close\r\n' : ''}\r\n`);
    }
  });
}

async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}


test('stdout not read: request lines are dropped beyond the cap (memory bounded) and a line says how many were not shown', { skip: !linux }, async () => {
  requireBuiltCli();
  base = await mkdtemp(join(tmpdir(), 'porthole-slow-stdout-'));
  await writeFile(join(base, 'index.html'), '<!doctype html><p>x</p>\n');
  // A small heap makes V8 collect as it goes, so RSS follows what is really kept, not lazy GC.
  const cli: Cli = runCli([base, '--port', '0', '--console', 'all'], base, { NODE_OPTIONS: '--max-semi-space-size=2 --max-old-space-size=64' });
  try {
    await check(cli);
  } finally {
    cli.child.kill('SIGKILL');
  }
});

async function check(cli: Cli): Promise<void> {
  const port = await waitForLocalPort(cli);
  const pid = cli.child.pid ?? 0;
  // Nobody reads stdout from now on: the pipe fills and the CLI's writes queue.
  cli.child.stdout?.pause();
  const shownBefore = cli.stdout.length;
  const baseline = rssBytes(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
  try {
    await withTimeout(Promise.all(Array.from({ length: CONNECTIONS }, () => burst(port))), WAIT_MS, 'the requests');
    // Every request answered: each connection closed after its last response.
  } finally {
    clearInterval(sampler);
  }
  assert.equal(cli.stdout.length, shownBefore, 'stdout was not read meanwhile');
  // The requests' own garbage is collected once they are done; what stays is what is kept. Unbounded,
  // the queued lines stay as long as nobody reads (polled with a deadline, not timed).
  const settled = Date.now() + 15_000;
  let now = rssBytes(pid);
  while (now - baseline >= RSS_BOUND_BYTES && Date.now() < settled) {
    await new Promise((r) => setTimeout(r, 200));
    now = rssBytes(pid);
  }
  assert.ok(now - baseline < RSS_BOUND_BYTES, `RSS stayed ${((now - baseline) / MB).toFixed(1)} MB above idle (peak ${((peak - baseline) / MB).toFixed(1)} MB; bound ${RSS_BOUND_BYTES / MB} MB)`);

  cli.child.stdout?.resume();
  const note = /porthole: (\d+) lines? not shown \(output was read too slowly\); .*--log FILE keeps every request/g;
  await until(() => cli.stdout.search(note) >= 0, 'the "lines not shown" note');
  const notShown = [...cli.stdout.matchAll(note)].reduce((n, m) => n + Number(m[1]), 0);
  const shown = cli.stdout.split('\n').filter((l) => l.includes(' GET /missing?')).length;
  assert.ok(notShown > 0);
  assert.equal(shown + notShown, REQUESTS, `${shown} shown + ${notShown} not shown`);
}
