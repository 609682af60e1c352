/**
 * The CLI's stderr when nobody reads it (`porthole … 2>&1 | less` left paused): the server's
 * warning lines must not pile up in the process either. Some come once per request path a client
 * chooses: a proxied back-end that sends its pages compressed although asked for them uncompressed
 * gets `live reload is not in /app/<path>: …` once per page, and every path is a page of its own.
 * The CLI is spawned with its stderr pipe paused, REQUESTS navigations with 6 KB paths (about
 * 37 MB of warning lines) go through a raw-`net` back-end, one at a time per connection, and its RSS (sampled from /proc, with a
 * small V8 heap) must grow by less than RSS_BOUND_BYTES; once stderr is read again, one line says
 * how many warning lines were not shown, which with the lines shown accounts for every request.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { withTimeout } from '../core/raw-client';
import { killAllClis, requireBuiltCli, runCli, waitForLocalPort, type Cli } from './run-cli';

const linux = process.platform === 'linux';
const MB = 1024 * 1024;
const CONNECTIONS = 8;
const PER_CONNECTION = 750;
const REQUESTS = CONNECTIONS * PER_CONNECTION;
const LONG = 'a'.repeat(6_000);
/**
 * Unbounded, the queued warnings alone are REQUESTS × 6.2 KB ≈ 37 MB (measured with 4,000
 * requests: RSS +40 to +54 MB); bounded, it settled 27 to 30 MB above idle (the warned pages
 * remembered, a heap grown to its size).
 */
const RSS_BOUND_BYTES = 45 * MB;
const WAIT_MS = 120_000;

let base = '';
let backend: Server | undefined;
after(async () => {
  killAllClis();
  backend?.close();
  if (base !== '') await rm(base, { recursive: true, force: true });
});

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** A back-end that answers every request (keep-alive) with a page sent gzip-compressed, whatever it was asked. */
async function compressingBackend(): Promise<number> {
  const page = gzipSync('<!doctype html><html><head><title>b</title></head><body>b</body></html>');
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: ${page.length}\r\n\r\n`;
  backend = createServer((s) => {
    let pending = '';
    s.setEncoding('latin1');
    s.on('error', () => undefined);
    s.on('data', (c: string) => {
      pending += c;
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4);
        s.write(Buffer.concat([Buffer.from(head, 'latin1'), page]));
      }
    });
  });
  await new Promise<void>((r) => backend?.listen(0, '127.0.0.1', r));
  return (backend.address() as AddressInfo).port;
}

/**
 * PER_CONNECTION navigations to distinct proxied paths, one after another (each sent once the
 * previous answer's head came: the server holds no pile of requests, so its RSS shows what it
 * queues for stderr), the last closing the connection; resolves when it closes.
 */
function burst(port: number, n: number): Promise<void> {
  return new Promise((resolveBurst, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let sent = 0;
    let seen = 0;
    let tail = '';
    const next = (): void => {
      const last = sent === PER_CONNECTION - 1;
      s.write(
        `GET /app/${n}-${sent}-${LONG} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n` +
          `${last ? 'Connection: close\r\n' : ''}\r\n`,
      );
      sent++;
    };
    s.setEncoding('latin1');
    s.on('data', (c: string) => {
      const text = tail + c;
      seen += text.split('HTTP/1.1 200 ').length - 1;
      tail = text.slice(-12);
      if (tail.includes('HTTP/1.1 200')) tail = '';
      while (sent < PER_CONNECTION && sent <= seen) next();
    });
    s.once('error', reject);
    s.once('close', () => resolveBurst());
    s.once('connect', next);
  });
}

async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('stderr not read: warnings a client makes one per request are dropped beyond the cap (memory bounded), and a line says how many', { skip: !linux }, async () => {
  requireBuiltCli();
  base = await mkdtemp(join(tmpdir(), 'porthole-slow-stderr-'));
  await writeFile(join(base, 'index.html'), '<!doctype html><p>x</p>\n');
  const backendPort = await compressingBackend();
  const cli: Cli = runCli([base, '--port', '0', '--quiet', '--no-host-names', '--proxy', `/app=http://127.0.0.1:${backendPort}`], base, {
    NODE_OPTIONS: '--max-semi-space-size=2 --max-old-space-size=64',
  });
  const port = await waitForLocalPort(cli);
  const pid = cli.child.pid ?? 0;
  // Nobody reads stderr from now on: the pipe fills and the CLI's writes queue.
  cli.child.stderr?.pause();
  const shownBefore = cli.stderr.length;
  const baseline = rssBytes(pid);
  await withTimeout(Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => burst(port, n))), WAIT_MS, 'the requests');
  assert.equal(cli.stderr.length, shownBefore, 'stderr was not read meanwhile');
  const settled = Date.now() + 15_000;
  let now = rssBytes(pid);
  while (now - baseline >= RSS_BOUND_BYTES && Date.now() < settled) {
    await new Promise((r) => setTimeout(r, 200));
    now = rssBytes(pid);
  }
  assert.ok(now - baseline < RSS_BOUND_BYTES, `RSS stayed ${((now - baseline) / MB).toFixed(1)} MB above idle (bound ${RSS_BOUND_BYTES / MB} MB)`);

  cli.child.stderr?.resume();
  const note = /porthole: (\d+) warning lines? not shown \(stderr was read too slowly\)/g;
  const notShown = (): number => [...cli.stderr.matchAll(note)].reduce((n, m) => n + Number(m[1]), 0);
  const shown = (): number => cli.stderr.split('\n').filter((l) => l.includes('live reload is not in /app/')).length;
  await until(() => shown() + notShown() >= REQUESTS, 'every warning shown or counted as not shown');
  assert.ok(notShown() > 0, `no "warning lines not shown" line: all ${shown()} warnings were queued while stderr was not read`);
  assert.equal(shown() + notShown(), REQUESTS, `${shown()} shown + ${notShown()} not shown`);
  cli.child.kill('SIGKILL');
});
