// Benchmark workloads: what load each server gets and how it is generated.
//
// Owns the WORKLOADS table (the ids `--only` takes), finding and running wrk (-t1, bounded) and
// parsing its output, the precheck (one raw GET per workload and server, for the expected status and
// the Last-Modified the 304 workload sends back), and the idle-connections run (idle-connections.mjs, with the
// server's RSS read before and with the connections open). Uses measurement.mjs for processes and
// /proc, and HOST from servers.mjs; imports neither run.mjs nor report.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import net from 'node:net';
import { spawnTracked, stopEntry, sleep, rssBytes, treePids, fdLimitOf, withLimit } from './measurement.mjs';
import { HOST } from './servers.mjs';

const here = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// Workloads

export const WORKLOADS = [
  { id: 'ka-1', label: '1 KiB, keep-alive, 1 conn', path: '/1k.html', conns: 1, expect: 200 },
  { id: 'ka-50', label: '1 KiB, keep-alive, 50 conns', path: '/1k.html', conns: 50, expect: 200 },
  { id: 'ka-256', label: '1 KiB, keep-alive, 256 conns', path: '/1k.html', conns: 256, expect: 200 },
  { id: 'close-50', label: '1 KiB, `Connection: close`, 50 conns', path: '/1k.html', conns: 50, expect: 200, headers: ['Connection: close'] },
  { id: '148k-50', label: '148 KiB text, 50 conns', path: '/148k.txt', conns: 50, expect: 200 },
  // The same text to a client that accepts compression (as every browser does): nginx gzips it per
  // request (gzip on, level 1; nginx-light has no brotli), Porthole sends brotli compressed once.
  { id: '148k-gz-50', label: '148 KiB text, `Accept-Encoding: gzip, br`, 50 conns', path: '/148k.txt', conns: 50, expect: 200, headers: ['Accept-Encoding: gzip, br'] },
  // A 1–2 s run completes only a handful of 100 MiB responses, so this one is measured in bytes:
  // requests = bytes read / file size (wrk's Transfer/sec counts partial responses too).
  { id: '100m-4', label: '100 MiB file, 4 conns', path: '/100m.bin', conns: 4, expect: 200, big: true, timeout: '10s', sizeBytes: 100 * 1024 * 1024 },
  { id: '404-50', label: '404, 50 conns', path: '/no-such-file.html', conns: 50, expect: 404 },
  // Issue 14's 304 row: a revalidation by date, as a browser sends it for a file it cached with a
  // Last-Modified. Each server gets its own Last-Modified back (read by the precheck).
  { id: '304-50', label: '304 (`If-Modified-Since`), 50 conns', path: '/1k.html', conns: 50, expect: 304, ifModifiedSince: true },
  { id: 'random-50', label: 'random 1 of 1,000 files, 50 conns', path: '/', conns: 50, expect: 200, script: 'random-file.lua', probePath: '/files/000.css' },
  { id: 'idle-10k', label: '10,000 idle keep-alive conns (RSS)', idle: true },
];

// ---------------------------------------------------------------------------------------------
// wrk

export function wrkPath() {
  for (const p of ['/usr/bin/wrk', '/usr/local/bin/wrk']) if (existsSync(p)) return p;
  const r = spawnSync('bash', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  return (r.stdout || '').trim() || 'wrk';
}

const UNIT = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const BYTES = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
export function parseWrk(out) {
  const m = (re) => re.exec(out);
  const req = m(/(\d+) requests in ([\d.]+)(us|ms|s|m|h)/);
  const rps = m(/Requests\/sec:\s+([\d.]+)/);
  const tr = m(/Transfer\/sec:\s+([\d.]+)([KMGT]?B)/);
  const se = m(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const nx = m(/Non-2xx or 3xx responses: (\d+)/);
  const lat = m(/Latency\s+([\d.]+)(us|ms|s)/);
  if (!req || !rps) return null;
  return {
    requests: Number(req[1]),
    seconds: Number(req[2]) * UNIT[req[3]],
    rps: Number(rps[1]),
    transferBps: tr ? Number(tr[1]) * BYTES[tr[2]] : undefined,
    socketErrors: se ? { connect: +se[1], read: +se[2], write: +se[3], timeout: +se[4] } : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx3xx: nx ? Number(nx[1]) : 0,
    latencyAvgMs: lat ? Number(lat[1]) * UNIT[lat[2]] * 1000 : undefined,
  };
}

export async function runWrk({ port, path, conns, duration, timeout = '5s', headers = [], script }, server) {
  const args = ['-t1', `-c${conns}`, `-d${duration}s`, '--timeout', timeout];
  for (const h of headers) args.push('-H', h);
  if (script) args.push('-s', script);
  args.push(`http://${HOST}:${port}${path}`);
  const entry = spawnTracked('wrk', wrkPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  entry.child.stdout.on('data', (d) => { out += d; });
  entry.child.stderr.on('data', (d) => { out += d; });
  const limit = (duration + 20) * 1000;
  const killed = await Promise.race([entry.exited.then(() => false), sleep(limit).then(() => true)]);
  if (killed) {
    await stopEntry(entry, 500);
    return { error: `wrk did not finish within ${limit / 1000} s`, raw: out };
  }
  const parsed = parseWrk(out);
  if (parsed && server) server.served += parsed.requests;
  if (!parsed) return { error: `wrk failed: ${out.trim().split('\n').slice(-2).join(' ')}`, raw: out };
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Prechecks: one request per (workload, server) before the load, to see the expected status.

/**
 * One GET on loopback over a new raw connection (the project lints `http` away; this is all a
 * check needs): resolves with the status and the lower-cased response headers once the head has
 * arrived, then drops the connection; bounded.
 */
function probe(port, path, headers = {}, timeoutMs = 5000) {
  return new Promise((res) => {
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${HOST}:${port}`, 'User-Agent: porthole-bench-check', 'Accept: */*'];
    const extra = { connection: 'close', ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
    for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
    const sock = net.connect({ host: HOST, port });
    let head = '';
    let settled = false;
    const settle = (out) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      res(out);
    };
    const timer = setTimeout(() => settle({ status: 0, error: 'timeout' }), timeoutMs);
    sock.once('connect', () => sock.write(`${lines.join('\r\n')}\r\n\r\n`));
    sock.on('data', (d) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) { if (head.length > 65536) settle({ status: 0, error: 'head too large' }); return; }
      const [statusLine, ...fields] = head.slice(0, end).split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      const hdrs = {};
      for (const f of fields) {
        const i = f.indexOf(':');
        if (i > 0) hdrs[f.slice(0, i).trim().toLowerCase()] = f.slice(i + 1).trim();
      }
      settle(m ? { status: Number(m[1]), headers: hdrs } : { status: 0, error: `bad status line: ${statusLine.slice(0, 80)}` });
    });
    sock.once('error', (err) => settle({ status: 0, error: err.message }));
    sock.once('close', () => settle({ status: 0, error: 'closed before a response' }));
  });
}

export async function precheck(w, srv) {
  const path = w.probePath || w.path;
  const headers = {};
  for (const h of w.headers || []) { const i = h.indexOf(':'); headers[h.slice(0, i).trim()] = h.slice(i + 1).trim(); }
  if (w.ifModifiedSince) {
    // The server's own Last-Modified, from a first GET, sent back as If-Modified-Since.
    const first = await probe(srv.port, w.path);
    if (!first.status) return { ok: false, flag: `no answer (${first.error})` };
    const lastModified = first.headers['last-modified'];
    if (!lastModified) return { ok: false, flag: 'no Last-Modified', wrkHeaders: ['If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT'] };
    const wrkHeaders = [`If-Modified-Since: ${lastModified}`];
    const second = await probe(srv.port, w.path, { 'If-Modified-Since': lastModified });
    return second.status === 304
      ? { ok: true, status: 304, wrkHeaders }
      : { ok: false, flag: `${second.status || 'error'}≠304`, wrkHeaders };
  }
  const r = await probe(srv.port, path, headers);
  if (!r.status) return { ok: false, flag: `no answer (${r.error})` };
  return r.status === w.expect ? { ok: true, status: r.status } : { ok: false, flag: `${r.status}≠${w.expect}` };
}

// ---------------------------------------------------------------------------------------------
// Idle connections

export async function runIdle(srv, count) {
  const rssBefore = rssBytes(srv.pid);
  const serverFdLimit = Math.min(...treePids(srv.pid).map(fdLimitOf));
  const [cmd, args] = withLimit(process.execPath, [join(here, 'idle-connections.mjs'), '--port', String(srv.port), '--host', HOST, '--count', String(count), '--open-ms', '12000', '--max-ms', '60000']);
  const entry = spawnTracked('idle-connections', cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: entry.child.stdout });
  const queue = [];
  let waiter = null;
  lines.on('line', (l) => {
    let m;
    try { m = JSON.parse(l); } catch { return; }
    if (waiter) { const w = waiter; waiter = null; w(m); } else queue.push(m);
  });
  let stderr = '';
  entry.child.stderr.on('data', (d) => { stderr += d; });
  const next = (ms) => new Promise((res) => {
    if (queue.length) return res(queue.shift());
    const t = setTimeout(() => { waiter = null; res(undefined); }, ms);
    waiter = (m) => { clearTimeout(t); res(m); };
  });
  try {
    const ready = await Promise.race([next(60000), entry.exited.then(() => sleep(100)).then(() => queue.shift())]);
    if (!ready) return { error: `idle client gave no answer${stderr ? `: ${stderr.trim().slice(-200)}` : ''}` };
    if (ready.type === 'skipped') return { skipped: ready.reason };
    const rssAfter = rssBytes(srv.pid);
    entry.child.stdin.write('status\n');
    const status = await next(5000);
    return {
      count,
      opened: ready.opened,
      responded: ready.responded,
      failed: ready.failed,
      openAtReady: ready.open,
      held: status ? status.open : undefined,
      openMs: ready.ms,
      rssBefore,
      rssAfter,
      serverFdLimit,
    };
  } finally {
    try { entry.child.stdin.end('close\n'); } catch { /* gone */ }
    await Promise.race([entry.exited, sleep(5000)]);
    await stopEntry(entry, 500);
  }
}
