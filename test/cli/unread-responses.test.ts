/**
 * Clients that ask and never read (issue 10, item 1): the server's memory must stay bounded.
 *
 * The built CLI (dist/cli.js, or PORTHOLE_CLI to measure another build) serves a site with a 2 MB
 * HTML page, a 12 MB HTML page, a folder to list, a small cached script and a missing path. The
 * attacks run for ATTACK_MS each, bounded in time and in what the client itself buffers:
 * - one connection per kind of response (rewritten page, listing, cached file, error page) that
 *   pipelines the same request in a loop with its reading paused;
 * - 40 connections that each ask once for the 12 MB page (Sec-Fetch-Dest: document, so live reload
 *   rewrites it in memory) and never read.
 * The server process's peak VmRSS (from /proc/PID/status, sampled) minus its RSS when idle must
 * stay under GROWTH_BOUND. Linux only (/proc).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCommand, waitForLocalPort } from './run-cli';

const REPO = resolve(__dirname, '..', '..', '..');
const CLI = process.env.PORTHOLE_CLI ?? join(REPO, 'dist', 'cli.js');
const ATTACK_MS = 5_000;
const MB = 1024 * 1024;
/** Peak RSS growth allowed while 40 connections each hold a 12 MB page unread (today: about 45 MB). */
const GROWTH_BOUND = 256 * MB;
/**
 * Peak RSS growth allowed under the pipelined attack. A bounded server plateaus at 150–270 MB of
 * growth here (64 MiB of queued output over every connection, plus the heap and the allocator's
 * slack, more of it under load when the garbage collector falls behind); with the read pause
 * turned off the growth never stops: about 280 MB/s, 1.4 GB by the end of the attack.
 */
const PIPELINED_GROWTH_BOUND = 512 * MB;
const linux = process.platform === 'linux';

let base = '';
let child: ChildProcess | undefined;
let port = 0;

function htmlOf(size: number): string {
  const line = '<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n';
  return `<!doctype html><html><head><title>x</title></head><body>\n${line.repeat(Math.ceil(size / line.length))}</body></html>\n`;
}

before(async () => {
  if (!linux) return;
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  base = await mkdtemp(join(tmpdir(), 'porthole-unread-'));
  const root = join(base, 'site');
  await mkdir(join(root, 'many'), { recursive: true });
  await writeFile(join(root, 'page.html'), htmlOf(2 * MB));
  await writeFile(join(root, 'big.html'), htmlOf(12 * MB));
  await writeFile(join(root, 'app.js'), `var config = ${JSON.stringify('x'.repeat(10_000))};\n`);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => writeFile(join(root, 'many', `file-with-a-long-name-${i}.txt`), '')));
});

/** A fresh CLI for each attack, so one attack's leftovers never count in the next one's figures. */
async function startCli(): Promise<void> {
  child?.kill('SIGKILL');
  const root = join(base, 'site');
  const cli = runCommand(process.execPath, [CLI, root, '--port', '0', '--quiet', '--no-host-names'], base);
  child = cli.child;
  port = await waitForLocalPort(cli);
}

after(async () => {
  child?.kill('SIGKILL');
  if (base !== '') await rm(base, { recursive: true, force: true });
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Samples the server's RSS every 50 ms while `attack` runs; resolves with the peak. */
async function peakRssDuring(attack: () => Promise<void>): Promise<number> {
  const pid = child?.pid ?? 0;
  let peak = rssBytes(pid);
  let n = 0;
  const timer = setInterval(() => {
    const now = rssBytes(pid);
    peak = Math.max(peak, now);
    if (process.env.PORTHOLE_RSS_TRACE !== undefined && ++n % 10 === 0) console.log(`rss ${(now / MB).toFixed(0)} MB`);
  }, 50);
  try {
    await attack();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssBytes(pid));
}

function open(): Promise<Socket> {
  return new Promise((resolveSocket, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolveSocket(s));
    s.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Writes `req` in a loop until `until`, never reading; waits for drain so the client stays small. */
async function pipelineUnread(req: string, until: number): Promise<void> {
  const socket = await open();
  socket.on('error', () => undefined);
  socket.pause();
  const batch = Buffer.from(req.repeat(64), 'latin1');
  try {
    while (Date.now() < until && !socket.destroyed) {
      if (!socket.write(batch)) {
        await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(Math.max(1, until - Date.now()))]);
      }
    }
  } finally {
    socket.destroy();
  }
}

function get(path: string, document: boolean): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${document ? 'Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n' : ''}\r\n`;
}

/** Waits until the server's RSS settles back (garbage collected) or 3 s pass. */
async function settled(): Promise<number> {
  const pid = child?.pid ?? 0;
  let last = rssBytes(pid);
  for (let i = 0; i < 30; i++) {
    await sleep(100);
    const now = rssBytes(pid);
    if (Math.abs(now - last) < MB) return now;
    last = now;
  }
  return last;
}

test('pipelined requests that are never read: every kind of response stays bounded', { skip: !linux }, async () => {
  await startCli();
  const idle = await settled();
  const until = Date.now() + ATTACK_MS;
  const peak = await peakRssDuring(async () => {
    await Promise.all([
      pipelineUnread(get('/page.html', true), until),
      pipelineUnread(get('/many/', true), until),
      pipelineUnread(get('/app.js', false), until),
      pipelineUnread(get('/missing-file.txt', false), until),
    ]);
  });
  const growth = peak - idle;
  console.log(`pipelined unread: idle ${(idle / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB, growth ${(growth / MB).toFixed(0)} MB`);
  assert.ok(growth < PIPELINED_GROWTH_BOUND, `server RSS grew by ${(growth / MB).toFixed(0)} MB (bound ${PIPELINED_GROWTH_BOUND / MB} MB)`);
});

test('40 connections asking once for a 12 MB page and never reading stay bounded', { skip: !linux }, async () => {
  await startCli();
  const idle = await settled();
  const sockets: Socket[] = [];
  const peak = await peakRssDuring(async () => {
    for (let i = 0; i < 40; i++) {
      const s = await open();
      s.on('error', () => undefined);
      s.pause();
      s.write(get('/big.html', true));
      sockets.push(s);
    }
    await sleep(ATTACK_MS);
  });
  for (const s of sockets) s.destroy();
  const growth = peak - idle;
  console.log(`40 unread 12 MB pages: idle ${(idle / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB, growth ${(growth / MB).toFixed(0)} MB`);
  assert.ok(growth < GROWTH_BOUND, `server RSS grew by ${(growth / MB).toFixed(0)} MB (bound ${GROWTH_BOUND / MB} MB)`);
});
