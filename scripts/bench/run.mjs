#!/usr/bin/env node
// Porthole speed benchmark: Porthole beside nginx and the Node static servers, on loopback.
//
//   npm run bench [-- --quick] [--only ka-50,304-50] [--servers nginx,porthole] [--reps N]
//                 [--duration S] [--json FILE] [--idle-count N] [--skip-install]
//
// Installs what it needs when missing (scripts/bench/install.sh), makes the document root
// (scripts/bench/docroot.mjs), starts every server on 127.0.0.1, runs wrk -t1 for each workload
// with the servers interleaved (A B C … then C B A … per repetition), prints markdown tables of the
// medians (ratio to nginx, CPU time per request read from /proc/PID/stat summed over each server's
// process tree) and writes the JSON (and the markdown) beside it. Every process it starts runs in
// its own process group and is stopped at the end, on failure and on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import {
  readFileSync, readdirSync, existsSync, mkdtempSync, rmSync, openSync, closeSync, statSync,
  writeFileSync, mkdirSync,
} from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import net from 'node:net';
import os from 'node:os';
import { makeDocroot, DEFAULT_DOCROOT } from './docroot.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const cacheDir = join(repo, '.cache/bench');
const npmBin = (pkg, bin) => join(cacheDir, 'npm/node_modules', pkg, bin);
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Flags

const HELP = `usage: npm run bench [-- options]
  --quick            1 repetition of 1 s per workload (a short run)
  --only LIST        workloads, comma-separated: ${'ka-1,ka-50,ka-256,close-50,148k-50,100m-4,404-50,304-50,random-50,idle-10k'}
  --servers LIST     servers, comma-separated: nginx,porthole,porthole-w2,porthole-thread,http-server,sirv,live-server
  --reps N           repetitions of each wrk workload (default 3; 100m-4 uses min(N, 2))
  --duration S       seconds per wrk run (default 1)
  --idle-count N     connections for idle-10k (default 10000)
  --json FILE        where to write the JSON (default .cache/bench/results.json); the markdown goes beside it
  --skip-install     do not run scripts/bench/install.sh
`;

function parseFlags(argv) {
  const f = { quick: false, only: null, servers: null, reps: null, duration: null, json: null, idleCount: 10000, skipInstall: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--quick': f.quick = true; break;
      case '--only': f.only = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--servers': f.servers = val().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--reps': f.reps = positiveInt(val(), a); break;
      case '--duration': f.duration = positiveInt(val(), a); break;
      case '--idle-count': f.idleCount = positiveInt(val(), a); break;
      case '--json': f.json = resolve(val()); break;
      case '--skip-install': f.skipInstall = true; break;
      case '-h': case '--help': process.stdout.write(HELP); process.exit(0); break;
      default: throw new Error(`unknown flag ${a}\n${HELP}`);
    }
  }
  return f;
}
function positiveInt(v, flag) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a positive integer, got ${v}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Processes: every child runs detached in its own process group, is tracked, and is killed (the
// whole group) in a finally, on SIGINT/SIGTERM/SIGHUP, and as a last resort on exit.

const tracked = new Map(); // pid -> { name, child, exited: Promise<{code, signal}>, done: boolean }
let stopping = false;

function spawnTracked(name, cmd, args, options = {}) {
  if (stopping) throw new Error('stopping');
  const child = spawn(cmd, args, { ...options, detached: true });
  if (child.pid === undefined) {
    // Not started (ENOENT and the like; the details come through 'error', swallowed here).
    child.once('error', () => {});
    throw new Error(`${name}: cannot start ${cmd}`);
  }
  const entry = { name, child, pid: child.pid, done: false, code: null, signal: null };
  entry.exited = new Promise((res) => {
    child.once('exit', (code, signal) => {
      entry.done = true;
      entry.code = code;
      entry.signal = signal;
      res({ code, signal });
    });
    child.once('error', () => {
      entry.done = true;
      res({ code: -1, signal: null });
    });
  });
  tracked.set(child.pid, entry);
  entry.exited.then(() => { if (!entry.keepTracked) tracked.delete(child.pid); });
  return entry;
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try { process.kill(pid, signal); return true; } catch { return false; }
  }
}

/** SIGTERM to the group, then SIGKILL to the group after graceMs; resolves when the leader left. */
async function stopEntry(entry, graceMs = 4000) {
  if (!entry) return;
  const tree = treePids(entry.pid);
  if (!entry.done) killGroup(entry.pid, 'SIGTERM');
  const timedOut = await Promise.race([entry.exited.then(() => false), sleep(graceMs).then(() => true)]);
  // Sweep: anything left in the group, and descendants that left it (rare), get SIGKILL.
  killGroup(entry.pid, 'SIGKILL');
  for (const pid of tree) if (pid !== entry.pid && pidAlive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  if (timedOut) await Promise.race([entry.exited, sleep(1000)]);
  tracked.delete(entry.pid);
}

async function stopAll() {
  stopping = true;
  await Promise.all([...tracked.values()].map((e) => stopEntry(e, 3000)));
}

process.on('exit', () => {
  for (const e of tracked.values()) killGroup(e.pid, 'SIGKILL');
});
let signalled = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    process.stderr.write(`\n[bench] ${sig}: stopping every process started…\n`);
    stopAll().finally(() => {
      cleanupTmp();
      process.exit(130);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function pidAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

// ---------------------------------------------------------------------------------------------
// /proc: process trees, CPU ticks, RSS, fd limits

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number((r.stdout || '').trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

function readStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(rest[1]), utime: Number(rest[11]), stime: Number(rest[12]), start: Number(rest[19]) };
  } catch {
    return null;
  }
}

/** pid and all its descendants. */
function treePids(root) {
  const children = new Map();
  let entries;
  try { entries = readdirSync('/proc'); } catch { return [root]; }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(name);
    if (!st) continue;
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(Number(name));
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const c of children.get(out[i]) || []) out.push(c);
  return out;
}

/** Map pid -> {ticks, start} for the tree. */
function cpuSnapshot(root) {
  const snap = new Map();
  for (const pid of treePids(root)) {
    const st = readStat(pid);
    if (st) snap.set(pid, { ticks: st.utime + st.stime, start: st.start });
  }
  return snap;
}
/** CPU seconds the tree used between two snapshots (new processes count from zero). */
function cpuDelta(a, b) {
  let ticks = 0;
  for (const [pid, v] of b) {
    const before = a.get(pid);
    ticks += before && before.start === v.start ? v.ticks - before.ticks : v.ticks;
  }
  return ticks / CLK_TCK;
}

function rssBytes(root) {
  let kb = 0;
  for (const pid of treePids(root)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return kb * 1024;
}

function fdLimitOf(pid) {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : Infinity;
  } catch {
    return Infinity;
  }
}

// Children start through bash so that their open-file limit is raised first (as far as allowed).
const WANT_NOFILE = 32768;
const LIMIT_WRAPPER = `ulimit -n ${WANT_NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
function withLimit(cmd, args) {
  return ['bash', ['-c', LIMIT_WRAPPER, 'bench', cmd, ...args]];
}
function raisedFdLimit() {
  const r = spawnSync('bash', ['-c', `${LIMIT_WRAPPER.replace(/; exec "\$@"$/, '')}; ulimit -n`], { encoding: 'utf8' });
  const v = (r.stdout || '').trim();
  return v === 'unlimited' ? Infinity : Number(v) || 0;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

async function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function tryConnect(port, ms = 500) {
  return new Promise((res) => {
    const sock = net.connect({ host: HOST, port });
    const t = setTimeout(() => { sock.destroy(); res(false); }, ms);
    sock.once('connect', () => { clearTimeout(t); sock.destroy(); res(true); });
    sock.once('error', () => { clearTimeout(t); res(false); });
  });
}

/** Waits until the port accepts TCP connections, the process exits, or the deadline passes. */
async function waitForPort(entry, port, deadlineMs = 20000) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (entry.done) return `exited (code ${entry.code}${entry.signal ? `, ${entry.signal}` : ''}) before listening`;
    if (await tryConnect(port)) return null;
    await sleep(50);
  }
  return `did not accept connections on ${HOST}:${port} within ${deadlineMs / 1000} s`;
}

function tail(file, n = 600) {
  try {
    const s = readFileSync(file, 'utf8');
    return s.slice(-n).trim();
  } catch {
    return '';
  }
}

function fileSize(file) {
  try { return statSync(file).size; } catch { return 0; }
}

function runCapture(cmd, args, timeoutMs = 10000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return { code: r.status, out: `${r.stdout || ''}${r.stderr || ''}` };
}

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

const round2 = (x) => (x === undefined ? undefined : Math.round(x * 100) / 100);
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

const fmtInt = (n) => (n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const fmtRatio = (r) => (r === undefined || !Number.isFinite(r) ? '' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`);
const fmtUs = (s) => (s === undefined ? '–' : s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));
const fmtRate = (bps) => (bps === undefined ? '–' : bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} GB/s` : `${(bps / 1e6).toFixed(0)} MB/s`);
const fmtMB = (b) => (b === undefined ? '–' : `${(b / 1e6).toFixed(1)} MB`);

// ---------------------------------------------------------------------------------------------
// wrk

function wrkPath() {
  for (const p of ['/usr/bin/wrk', '/usr/local/bin/wrk']) if (existsSync(p)) return p;
  const r = spawnSync('bash', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  return (r.stdout || '').trim() || 'wrk';
}
function nginxPath() {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) if (existsSync(p)) return p;
  const r = spawnSync('bash', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return (r.stdout || '').trim() || 'nginx';
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

async function runWrk({ port, path, conns, duration, timeout = '5s', headers = [], script }, server) {
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
// Workloads

const WORKLOADS = [
  { id: 'ka-1', label: '1 KiB, keep-alive, 1 conn', path: '/1k.html', conns: 1, expect: 200 },
  { id: 'ka-50', label: '1 KiB, keep-alive, 50 conns', path: '/1k.html', conns: 50, expect: 200 },
  { id: 'ka-256', label: '1 KiB, keep-alive, 256 conns', path: '/1k.html', conns: 256, expect: 200 },
  { id: 'close-50', label: '1 KiB, `Connection: close`, 50 conns', path: '/1k.html', conns: 50, expect: 200, headers: ['Connection: close'] },
  { id: '148k-50', label: '148 KiB text, 50 conns', path: '/148k.txt', conns: 50, expect: 200 },
  // A 1–2 s run completes only a handful of 100 MiB responses, so this one is measured in bytes:
  // requests = bytes read / file size (wrk's Transfer/sec counts partial responses too).
  { id: '100m-4', label: '100 MiB file, 4 conns', path: '/100m.bin', conns: 4, expect: 200, big: true, timeout: '10s', sizeBytes: 100 * 1024 * 1024 },
  { id: '404-50', label: '404, 50 conns', path: '/no-such-file.html', conns: 50, expect: 404 },
  { id: '304-50', label: '304 (If-None-Match), 50 conns', path: '/1k.html', conns: 50, expect: 304, conditional: true },
  { id: 'random-50', label: 'random 1 of 1,000 files, 50 conns', path: '/', conns: 50, expect: 200, script: 'random-file.lua', probePath: '/files/000.css' },
  { id: 'idle-10k', label: '10,000 idle keep-alive conns (RSS)', idle: true },
];

// ---------------------------------------------------------------------------------------------
// Servers

function portholeHelp() {
  const cli = join(repo, 'dist/cli.js');
  if (!existsSync(cli)) return { missing: 'dist/cli.js is missing (npm run build)' };
  const r = runCapture(process.execPath, [cli, '--help'], 5000);
  return { help: r.out, keepAlive: /--keep-alive-timeout\b/.test(r.out), workers: /--workers\b/.test(r.out) };
}

function makeServers(ctx) {
  const ph = portholeHelp();
  const portholeArgs = (port, log, extra = []) => [
    join(repo, 'dist/cli.js'), ctx.docroot, '--port', String(port), '--host', HOST, '--log', log, '--quiet',
    // As users run it: live reload on (its watcher runs; wrk's requests are not navigations).
    // Idle keep-alive connections kept 75 s, nginx's keepalive_timeout default, so the idle
    // workload compares like with like (Porthole's own default is 5 s).
    ...(ph.keepAlive ? ['--keep-alive-timeout', '75'] : []), ...extra,
  ];
  const portholeVersion = () => JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version;
  const peerVersion = (pkg) => {
    try { return JSON.parse(readFileSync(join(cacheDir, 'npm/node_modules', pkg, 'package.json'), 'utf8')).version; } catch { return undefined; }
  };
  const nodeServer = (name, pkg, bin, argsFor, note) => ({
    name,
    version: () => peerVersion(pkg),
    unavailable: () => (existsSync(npmBin(pkg, bin)) ? null : `${pkg} is not installed in .cache/bench/npm`),
    note,
    start: (port, log) => ({ cmd: process.execPath, args: [npmBin(pkg, bin), ...argsFor(port)], log, stdoutIsLog: true }),
  });
  return [
    {
      name: 'nginx',
      version: () => (runCapture(nginxPath(), ['-v']).out.match(/nginx\/([\d.]+)/) || [])[1],
      unavailable: () => (existsSync(nginxPath()) ? null : 'nginx is not installed'),
      note: '1 worker process, `access_log` (combined) to a file, `sendfile on`, `tcp_nopush on`, `keepalive_requests 100000`, `etag on` (default)',
      start: (port, log) => {
        const dir = join(ctx.tmp, `nginx-${port}`);
        mkdirSync(join(dir, 'tmp'), { recursive: true });
        const v = runCapture(nginxPath(), ['-V']).out;
        const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
          .filter((t) => t === 'client_body' || v.includes(`--http-${t}-temp-path`))
          .map((t) => `  ${t}_temp_path ${join(dir, 'tmp', t)};`).join('\n');
        const mime = existsSync('/etc/nginx/mime.types') ? '  include /etc/nginx/mime.types;\n' : '';
        const conf = `# generated by scripts/bench/run.mjs
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile ${WANT_NOFILE};
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
${process.getuid && process.getuid() === 0 ? 'user root;\n' : ''}events {
  worker_connections 20000;
}
http {
${mime}  default_type application/octet-stream;
  access_log ${log};
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 75s;
  keepalive_requests 100000;
${temps}
  server {
    listen ${HOST}:${port};
    server_name localhost;
    root ${ctx.docroot};
    location / { }
  }
}
`;
        writeFileSync(join(dir, 'nginx.conf'), conf);
        return { cmd: nginxPath(), args: ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], log, stdoutIsLog: false };
      },
    },
    {
      name: 'porthole',
      version: portholeVersion,
      unavailable: () => ph.missing || null,
      note: `CLI, 1 process, \`--log FILE --quiet\`, live reload on (its default)${ph.keepAlive ? ", '--keep-alive-timeout 75' (nginx's default)" : ""}`,
      start: (port, log) => ({ cmd: process.execPath, args: portholeArgs(port, log), log, stdoutIsLog: false }),
    },
    {
      name: 'porthole-w2',
      version: portholeVersion,
      unavailable: () => ph.missing || null,
      note: `CLI \`--workers 2\`, otherwise as porthole${ph.missing || ph.workers ? '' : ' (`--workers` is not in `--help`)'}`,
      start: (port, log) => ({ cmd: process.execPath, args: portholeArgs(port, log, ['--workers', '2']), log, stdoutIsLog: false }),
    },
    {
      name: 'porthole-thread',
      version: portholeVersion,
      unavailable: () => (existsSync(join(repo, 'dist/core.js')) && existsSync(join(repo, 'dist/server-worker.js'))
        ? null : 'dist/core.js or dist/server-worker.js is missing (npm run build)'),
      note: '`WorkerServer` in a worker thread (as in the VS Code extension), `logFile` on, request events counted on the main thread; default options otherwise',
      thread: true,
      start: (port, log) => ({
        cmd: process.execPath,
        args: [join(here, 'worker-thread-driver.mjs'), '--repo', repo, '--root', ctx.docroot, '--port', String(port), '--log', log],
        log, stdoutIsLog: false, ipc: true,
      }),
    },
    nodeServer('http-server', 'http-server', 'bin/http-server',
      (port) => [ctx.docroot, '-p', String(port), '-a', HOST, '-c-1'],
      '`-a 127.0.0.1 -c-1` (no caching headers); its request log (on by default) goes to a file'),
    nodeServer('sirv', 'sirv-cli', 'bin.js',
      (port) => [ctx.docroot, '--port', String(port), '--host', HOST, '--etag'],
      '`sirv-cli` production mode, `--etag` (needed for 304); its request log (on by default) goes to a file'),
    nodeServer('live-server', 'live-server', 'live-server.js',
      (port) => [`--port=${port}`, `--host=${HOST}`, '--no-browser', '--verbose', ctx.docroot],
      '`--no-browser --verbose` (its request log, to a file; by default it logs errors only); live reload injection stays on'),
  ];
}

async function startServer(def, ctx) {
  const port = await freePort();
  const log = join(ctx.tmp, `${def.name}.log`);
  const spec = def.start(port, log);
  const outFile = spec.stdoutIsLog ? log : join(ctx.tmp, `${def.name}.out`);
  const fd = openSync(outFile, 'a');
  const [cmd, args] = withLimit(spec.cmd, spec.args);
  let entry;
  try {
    entry = spawnTracked(def.name, cmd, args, {
      stdio: ['ignore', fd, fd, ...(spec.ipc ? ['ipc'] : [])],
      cwd: ctx.tmp,
      env: { ...process.env, NODE_ENV: 'production' },
    });
  } finally {
    closeSync(fd);
  }
  entry.keepTracked = true;
  const err = await waitForPort(entry, port);
  if (err) {
    await stopEntry(entry, 1000);
    const lines = tail(outFile, 2000).split('\n').map((l) => l.trim()).filter(Boolean);
    const telling = lines.filter((l) => /error|unknown|invalid|unrecognized|not supported|EADDR|EACCES/i.test(l));
    const why = (telling.length ? telling : lines).slice(0, 2).join(' / ').slice(0, 300);
    return { error: `${err}${why ? `: ${why}` : ''}` };
  }
  return { entry, port, log, outFile, pid: entry.pid, ipc: spec.ipc ? entry.child : undefined };
}

/** IPC request to the worker-thread driver, bounded. */
function ipcAsk(child, msg, answerType, ms = 3000) {
  return new Promise((res) => {
    if (!child || !child.connected) return res(undefined);
    const onMsg = (m) => {
      if (m && m.type === answerType) { clearTimeout(t); child.off('message', onMsg); res(m); }
    };
    const t = setTimeout(() => { child.off('message', onMsg); res(undefined); }, ms);
    child.on('message', onMsg);
    try { child.send(msg); } catch { clearTimeout(t); child.off('message', onMsg); res(undefined); }
  });
}

// ---------------------------------------------------------------------------------------------
// Prechecks: one request per (workload, server) before the load, to see the expected status.

async function precheck(w, srv) {
  const path = w.probePath || w.path;
  const headers = {};
  for (const h of w.headers || []) { const i = h.indexOf(':'); headers[h.slice(0, i).trim()] = h.slice(i + 1).trim(); }
  if (w.conditional) {
    const first = await probe(srv.port, w.path);
    if (!first.status) return { ok: false, flag: `no answer (${first.error})` };
    const etag = first.headers.etag;
    if (!etag) return { ok: false, flag: 'no ETag', wrkHeaders: ['If-None-Match: "no-etag"'] };
    const second = await probe(srv.port, w.path, { 'if-none-match': etag });
    return second.status === 304
      ? { ok: true, status: 304, wrkHeaders: [`If-None-Match: ${etag}`] }
      : { ok: false, flag: `${second.status || 'error'}≠304`, wrkHeaders: [`If-None-Match: ${etag}`] };
  }
  const r = await probe(srv.port, path, headers);
  if (!r.status) return { ok: false, flag: `no answer (${r.error})` };
  return r.status === w.expect ? { ok: true, status: r.status } : { ok: false, flag: `${r.status}≠${w.expect}` };
}

// ---------------------------------------------------------------------------------------------
// Idle connections

async function runIdle(srv, count) {
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

// ---------------------------------------------------------------------------------------------
// Main

let tmpDir;
function cleanupTmp() {
  if (tmpDir) { try { rmSync(tmpDir, { recursive: true, force: true }); } catch { /* best effort */ } tmpDir = undefined; }
}

/** The machine, Node and wrk (`wrkVersionText`: what `wrk -v` printed). */
function machineInfo(wrkVersionText) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0] ? cpus[0].model.replace(/\s+/g, ' ').trim() : 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: `${os.type()} ${os.release()}`,
    distro: (() => { try { return (/^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8')) || [])[1]; } catch { return undefined; } })(),
    node: process.version,
    wrk: (wrkVersionText.match(/wrk (\S+)/) || [])[1],
  };
}

async function main() {
  const flags = parseFlags(process.argv.slice(2));
  const reps = flags.reps ?? (flags.quick ? 1 : 3);
  const duration = flags.duration ?? 1;
  const bigReps = flags.quick ? 1 : Math.min(reps, 2);
  const jsonPath = flags.json ?? join(cacheDir, 'results.json');
  const mdPath = jsonPath.replace(/\.json$/i, '') + '.md';

  const workloads = WORKLOADS.filter((w) => !flags.only || flags.only.includes(w.id));
  if (flags.only) for (const id of flags.only) if (!WORKLOADS.some((w) => w.id === id)) throw new Error(`unknown workload ${id}`);
  if (workloads.length === 0) throw new Error('no workload selected');

  if (!flags.skipInstall) {
    const r = spawnSync('bash', [join(here, 'install.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600000 });
    if (r.status !== 0) throw new Error('scripts/bench/install.sh failed');
  }
  const t0 = Date.now();
  const wrkVersion = runCapture(wrkPath(), ['-v']);
  if (wrkVersion.code === null || !/wrk/.test(wrkVersion.out)) {
    throw new Error('wrk is missing: run without --skip-install (scripts/bench/install.sh installs it)');
  }
  mkdirSync(cacheDir, { recursive: true });
  const { root: docroot } = makeDocroot(DEFAULT_DOCROOT);
  tmpDir = mkdtempSync(join(os.tmpdir(), 'porthole-bench-'));
  const ctx = { tmp: tmpDir, docroot };

  const allDefs = makeServers(ctx);
  if (flags.servers) for (const n of flags.servers) if (!allDefs.some((d) => d.name === n)) throw new Error(`unknown server ${n}`);
  const defs = allDefs.filter((d) => !flags.servers || flags.servers.includes(d.name));

  const machine = machineInfo(wrkVersion.out);
  machine.loadAverageAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  if (machine.loadAverageAtStart[0] > machine.cores * 0.5) {
    log(`note: the machine is busy (load average ${machine.loadAverageAtStart[0]} on ${machine.cores} cores); expect noisy req/s — CPU per request is steadier`);
  }
  const servers = []; // { def, name, status: 'up'|'n/a', reason, ...started }
  for (const def of defs) {
    const why = def.unavailable();
    if (why) { servers.push({ def, name: def.name, status: 'n/a', reason: why }); log(`${def.name}: n/a (${why})`); continue; }
    const s = await startServer(def, ctx);
    if (s.error) { servers.push({ def, name: def.name, status: 'n/a', reason: s.error }); log(`${def.name}: n/a (${s.error})`); continue; }
    servers.push({ def, name: def.name, status: 'up', version: def.version(), served: 0, ...s });
    log(`${def.name}: pid ${s.pid}, http://${HOST}:${s.port}/`);
  }
  const up = () => servers.filter((s) => s.status === 'up' && !s.entry.done);

  const wrkCount = workloads.filter((w) => !w.idle).reduce((n, w) => n + (w.big ? bigReps : reps) * duration, 0);
  const idleOn = workloads.some((w) => w.idle);
  log(`${up().length} servers up; about ${Math.round(up().length * (wrkCount + 1 + (idleOn ? 8 : 0)) * 1.1)} s to run`);

  // Warm-up: JIT and caches, the 1 KiB file at 50 connections on each server (not recorded).
  for (const s of up()) await runWrk({ port: s.port, path: '/1k.html', conns: 50, duration: 1 }, s);

  const results = {};
  let idleFdLimit;
  for (const w of workloads) {
    results[w.id] = {};
    if (w.idle) {
      idleFdLimit = raisedFdLimit();
      if (idleFdLimit < flags.idleCount + 64) {
        const reason = `skipped: the open-file limit can only be raised to ${idleFdLimit}, ${flags.idleCount + 64} needed`;
        log(`${w.id}: ${reason}`);
        for (const s of up()) results[w.id][s.name] = { skipped: reason };
        continue;
      }
      for (const s of up()) {
        const r = await runIdle(s, flags.idleCount);
        if (r.responded) s.served += r.responded;
        results[w.id][s.name] = r;
        log(`${w.id} ${s.name}: ${r.error || r.skipped || `held ${r.held}/${r.count}, RSS ${fmtMB(r.rssBefore)} → ${fmtMB(r.rssAfter)}`}`);
        await sleep(300); // let the server drop the closed sockets before the next one starts
      }
      continue;
    }
    const checks = {};
    for (const s of up()) {
      checks[s.name] = await precheck(w, s);
      results[w.id][s.name] = { runs: [], flags: checks[s.name].ok ? [] : [checks[s.name].flag] };
    }
    const r = w.big ? bigReps : reps;
    for (let rep = 0; rep < r; rep++) {
      const order = rep % 2 === 0 ? up() : up().reverse();
      for (const s of order) {
        const cell = results[w.id][s.name];
        const headers = [...(w.headers || []), ...(checks[s.name].wrkHeaders || [])];
        if (s.ipc) await ipcAsk(s.ipc, { type: 'reset' }, 'reset-ok');
        const cpu0 = cpuSnapshot(s.pid);
        const log0 = fileSize(s.log);
        const res = await runWrk({ port: s.port, path: w.path, conns: w.conns, duration, timeout: w.timeout, headers, script: w.script ? join(here, w.script) : undefined }, s);
        const cpu1 = cpuSnapshot(s.pid);
        const log1 = fileSize(s.log);
        const eld = s.ipc ? await ipcAsk(s.ipc, { type: 'report' }, 'report') : undefined;
        if (res.error) {
          cell.runs.push({ error: res.error });
          log(`${w.id} #${rep + 1} ${s.name}: ${res.error}`);
          continue;
        }
        const cpuS = cpuDelta(cpu0, cpu1);
        if (w.sizeBytes && res.transferBps !== undefined) {
          // Equivalent whole responses, from the bytes read.
          res.completedRequests = res.requests;
          res.requests = (res.transferBps * res.seconds) / w.sizeBytes;
          res.rps = res.transferBps / w.sizeBytes;
        }
        const run = {
          ...res,
          cpuSeconds: cpuS,
          cpuUsPerRequest: res.requests > 0 ? (cpuS / res.requests) * 1e6 : undefined,
          logBytesPerRequest: res.requests > 0 ? (log1 - log0) / res.requests : undefined,
          ...(eld ? { eventLoopDelay: eld } : {}),
        };
        cell.runs.push(run);
        log(`${w.id} #${rep + 1} ${s.name}: ${w.sizeBytes ? fmtRate(res.transferBps) : `${fmtInt(res.rps)} req/s`}, ${fmtUs(run.cpuUsPerRequest)} µs CPU/req${res.non2xx3xx ? `, non-2xx/3xx ${res.non2xx3xx}` : ''}${eld ? `, main-thread delay p99 ${eld.p99Ms} ms` : ''}`);
      }
    }
    // Medians and flags.
    for (const s of servers) {
      const cell = results[w.id][s.name];
      if (!cell || !cell.runs) continue;
      const ok = cell.runs.filter((x) => !x.error);
      cell.median = {
        rps: median(ok.map((x) => x.rps)),
        cpuUsPerRequest: median(ok.map((x) => x.cpuUsPerRequest)),
        transferBps: median(ok.map((x) => x.transferBps)),
        logBytesPerRequest: median(ok.map((x) => x.logBytesPerRequest)),
        eventLoopDelayP99Ms: round2(median(ok.map((x) => x.eventLoopDelay && x.eventLoopDelay.p99Ms))),
        eventLoopDelayMaxMs: Math.max(...ok.map((x) => (x.eventLoopDelay ? x.eventLoopDelay.maxMs : -Infinity))),
        requests: ok.reduce((n, x) => n + x.requests, 0),
      };
      if (cell.runs.some((x) => x.error)) cell.flags.push('wrk error');
      const errs = ok.reduce((n, x) => n + x.socketErrors.connect + x.socketErrors.read + x.socketErrors.write + x.socketErrors.timeout, 0);
      const errTimeouts = ok.reduce((n, x) => n + x.socketErrors.timeout, 0);
      if (errs > 0) {
        cell.flags.push(`socket errors ${errs}${errTimeouts ? ` (${errTimeouts} timeouts)` : ''}`);
      }
      const non = ok.reduce((n, x) => n + x.non2xx3xx, 0);
      const total = ok.reduce((n, x) => n + x.requests, 0);
      if (w.expect >= 400 ? non < total : non > 0) cell.flags.push(w.expect >= 400 ? `${total - non} not ${w.expect}` : `non-2xx/3xx ${non}`);
    }
  }

  // Request events that reached the worker-thread driver's main thread (they come in batches).
  const events = {};
  for (const s of servers) {
    if (s.status !== 'up' || !s.ipc || s.entry.done) continue;
    await sleep(500);
    const rep = await ipcAsk(s.ipc, { type: 'report' }, 'report');
    if (rep) events[s.name] = rep.records;
  }
  // Stop the servers (flushes their logs), then read the log sizes.
  const totals = {};
  for (const s of servers) {
    if (s.status !== 'up') continue;
    const died = s.entry.done ? `exited during the run (code ${s.entry.code}${s.entry.signal ? `, ${s.entry.signal}` : ''})` : undefined;
    await stopEntry(s.entry);
    // requests: completed as wrk and the idle client counted them (warm-up included); a few more
    // were served (one-off checks, responses in flight when wrk stopped).
    totals[s.name] = { logBytes: fileSize(s.log), requests: s.served, requestEvents: events[s.name], died };
    if (died) { s.died = died; log(`${s.name}: ${died}`); }
  }

  const elapsedS = Math.round((Date.now() - t0) / 1000);
  const report = {
    date: new Date().toISOString(),
    machine,
    settings: { reps, duration, bigReps, idleCount: flags.idleCount, quick: flags.quick, wrkThreads: 1, idleFdLimit },
    servers: servers.map((s) => ({ name: s.name, status: s.status, reason: s.reason, version: s.version, note: s.def.note, died: s.died, log: totals[s.name] })),
    workloads: workloads.map((w) => ({ id: w.id, label: w.label, path: w.path, connections: w.conns, expect: w.expect, sizeBytes: w.sizeBytes })),
    results,
    elapsedSeconds: elapsedS,
  };
  report.targets = evaluateTargets(report);
  const md = renderMarkdown(report);
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(mdPath, md);
  process.stdout.write(`\n<!-- README block: paste from here -->\n${md}<!-- README block: to here -->\n\n`);
  log(`done in ${elapsedS} s; JSON: ${jsonPath}; markdown: ${mdPath}`);
}

const startedAt = Date.now();
function log(msg) {
  process.stderr.write(`[bench +${String(Math.round((Date.now() - startedAt) / 1000)).padStart(3)} s] ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// Targets and markdown

function cellMedian(report, wid, server) {
  const c = report.results[wid] && report.results[wid][server];
  return c && c.median ? c.median : undefined;
}

function evaluateTargets(report) {
  const out = [];
  const ratio = (wid, a, b, key = 'rps') => {
    const x = cellMedian(report, wid, a);
    const y = cellMedian(report, wid, b);
    return x && y && x[key] && y[key] ? x[key] / y[key] : undefined;
  };
  const add = (what, value, ok, shown) => out.push({ target: what, value, pass: value === undefined ? null : ok, shown });
  for (const wid of ['ka-1', 'ka-50', 'ka-256']) {
    if (!report.results[wid]) continue;
    const r = ratio(wid, 'porthole', 'nginx');
    add(`${wid}: porthole ≥ 1.0× nginx`, r, r >= 1.0, fmtRatio(r));
    const h = ratio(wid, 'porthole', 'http-server');
    add(`${wid}: porthole ≥ 5× http-server`, h, h >= 5, fmtRatio(h));
    const c = ratio(wid, 'porthole', 'nginx', 'cpuUsPerRequest');
    add(`${wid}: porthole CPU/request ≤ nginx's`, c, c <= 1.0, fmtRatio(c));
  }
  for (const [wid, min] of [['close-50', 0.8], ['148k-50', 0.9], ['100m-4', 0.8]]) {
    if (!report.results[wid]) continue;
    const r = ratio(wid, 'porthole', 'nginx');
    add(`${wid}: porthole ≥ ${min}× nginx`, r, r >= min, fmtRatio(r));
  }
  const idle = report.results['idle-10k'] && report.results['idle-10k'].porthole;
  if (idle && idle.rssAfter !== undefined) {
    add(`idle-10k: porthole holds ${idle.count.toLocaleString('en-US')} connections with RSS < 150 MB`, idle.rssAfter,
      idle.rssAfter < 150e6 && idle.held === idle.count, `${fmtMB(idle.rssAfter)}, held ${idle.held}`);
  }
  let eldMax;
  for (const wid of Object.keys(report.results)) {
    const m = cellMedian(report, wid, 'porthole-thread');
    if (m && m.eventLoopDelayP99Ms !== undefined) eldMax = Math.max(eldMax ?? 0, m.eventLoopDelayP99Ms);
  }
  if (eldMax !== undefined) add('worker thread: main-thread event-loop delay p99 < 20 ms (worst workload median)', eldMax, eldMax < 20, `${eldMax} ms`);
  for (const name of ['porthole', 'porthole-w2', 'porthole-thread']) {
    const s = report.servers.find((x) => x.name === name);
    if (!s || s.status !== 'up' || !s.log) continue;
    const bpr = s.log.requests ? s.log.logBytes / s.log.requests : 0;
    add(`${name}: log file written while measured`, bpr, bpr >= 50, `${bpr.toFixed(0)} B/request`);
  }
  const th = report.servers.find((x) => x.name === 'porthole-thread');
  if (th && th.status === 'up' && th.log) {
    const ev = th.log.requestEvents;
    const rq = th.log.requests;
    add('porthole-thread: a request event reaches the main thread for every request', ev, ev !== undefined && rq > 0 && ev >= rq,
      `${ev === undefined ? '–' : ev.toLocaleString('en-US')} events / ${rq.toLocaleString('en-US')} requests`);
  }
  return out;
}

const SERVER_TITLES = {
  nginx: 'nginx', porthole: 'porthole', 'porthole-w2': 'porthole ×2 workers', 'porthole-thread': 'porthole (worker thread)',
  'http-server': 'http-server', sirv: 'sirv', 'live-server': 'live-server',
};

function renderMarkdown(report) {
  const names = report.servers.map((s) => s.name);
  const st = Object.fromEntries(report.servers.map((s) => [s.name, s]));
  const title = (n) => `${SERVER_TITLES[n] || n}${st[n].version ? ` ${st[n].version}` : ''}`;
  const head = `| Workload | ${names.map(title).join(' | ')} |\n|---|${names.map(() => '---:').join('|')}|\n`;
  const flags = (c) => (c && c.flags && c.flags.length ? ` ⚠ ${c.flags.join('; ')}` : '');
  const na = (n) => (st[n].status !== 'up' ? 'n/a' : undefined);
  const wl = report.workloads.filter((w) => w.id !== 'idle-10k');
  let md = '';
  const m = report.machine;
  md += `### Benchmark ${report.date.slice(0, 10)}\n\n`;
  md += `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.distro || m.kernel} (${m.kernel}), load average ${m.loadAverageAtStart[0]} at the start; Node ${m.node}; wrk ${m.wrk} (\`-t1\`, on the same machine).\n`;
  md += `Runs: ${report.settings.reps} × ${report.settings.duration} s per workload (100 MiB: ${report.settings.bigReps} × ${report.settings.duration} s), servers interleaved, medians shown; total ${report.elapsedSeconds} s.\n\n`;
  if (wl.length) {
    md += `**Requests per second** (ratio to nginx; the 100 MiB row in bytes per second)\n\n${head}`;
    for (const w of wl) {
      const base = cellMedian(report, w.id, 'nginx');
      const cells = names.map((n) => {
        if (na(n)) return na(n);
        const c = report.results[w.id][n];
        const med = c && c.median;
        if (!med || med.rps === undefined) return `error${flags(c)}`;
        const r = base && base.rps && n !== 'nginx' ? ` (${fmtRatio(med.rps / base.rps)})` : '';
        return `${w.sizeBytes ? fmtRate(med.transferBps) : fmtInt(med.rps)}${r}${flags(c)}`;
      });
      md += `| ${w.label} | ${cells.join(' | ')} |\n`;
    }
    md += `\n**Server CPU time per request, µs** (user + system, summed over the server's process tree from \`/proc/PID/stat\`; ratio to nginx; lower is better)\n\n${head}`;
    for (const w of wl) {
      const base = cellMedian(report, w.id, 'nginx');
      const cells = names.map((n) => {
        if (na(n)) return na(n);
        const med = cellMedian(report, w.id, n);
        if (!med || med.cpuUsPerRequest === undefined) return '–';
        const r = base && base.cpuUsPerRequest && n !== 'nginx' ? ` (${fmtRatio(med.cpuUsPerRequest / base.cpuUsPerRequest)})` : '';
        return `${fmtUs(med.cpuUsPerRequest)}${r}`;
      });
      md += `| ${w.label} | ${cells.join(' | ')} |\n`;
    }
  }
  const idle = report.results['idle-10k'];
  if (idle) {
    md += `\n**${(report.settings.idleCount).toLocaleString('en-US')} idle keep-alive connections** (each sent one GET of the 1 KiB file; RSS = VmRSS summed over the process tree)\n\n`;
    md += `| | ${names.map(title).join(' | ')} |\n|---|${names.map(() => '---:').join('|')}|\n`;
    const row = (label, f) => `| ${label} | ${names.map((n) => {
      if (na(n)) return 'n/a';
      const c = idle[n];
      if (!c) return '–';
      if (c.skipped) return 'skipped';
      if (c.error) return 'error';
      return f(c);
    }).join(' | ')} |\n`;
    md += row('RSS before', (c) => fmtMB(c.rssBefore));
    md += row('RSS with the connections open', (c) => fmtMB(c.rssAfter));
    md += row('time to open them', (c) => `${(c.openMs / 1000).toFixed(1)} s${c.opened < c.count ? ` (stopped at ${fmtInt(c.opened)})` : ''}`);
    md += row('connections answered / still open', (c) => `${fmtInt(c.responded)} / ${fmtInt(c.held)}${c.serverFdLimit < c.count + 64 ? ` (server fd limit ${c.serverFdLimit})` : ''}`);
    md += '\nServers close idle keep-alive connections after their own timeout (Node\'s http servers: 5 s; nginx and Porthole here: 75 s), so fewer are still open when opening them all took longer than that.\n';
    const skipped = Object.values(idle).find((c) => c && c.skipped);
    if (skipped) md += `\n${skipped.skipped}\n`;
  }
  const thread = st['porthole-thread'];
  if (thread && thread.status === 'up') {
    md += `\n**porthole in a worker thread: main-thread event-loop delay p99 under load** (median of runs, ms; \`monitorEventLoopDelay\`, 5 ms resolution; goal < 20 ms)\n\n`;
    md += `| Workload | p99 | max |\n|---|---:|---:|\n`;
    for (const w of wl) {
      const med = cellMedian(report, w.id, 'porthole-thread');
      if (med && med.eventLoopDelayP99Ms !== undefined) md += `| ${w.label} | ${med.eventLoopDelayP99Ms} | ${Number.isFinite(med.eventLoopDelayMaxMs) ? med.eventLoopDelayMaxMs : '–'} |\n`;
    }
  }
  if (report.targets.length) {
    md += `\n**Targets**\n\n| Target | Result | |\n|---|---:|:---:|\n`;
    for (const t of report.targets) md += `| ${t.target} | ${t.shown || '–'} | ${t.pass === null ? 'n/a' : t.pass ? '✅' : '❌'} |\n`;
  }
  md += `\n**Servers**\n\n`;
  for (const s of report.servers) {
    const logInfo = s.log && s.log.requests ? `; log ${(s.log.logBytes / s.log.requests).toFixed(0)} B/request` : '';
    md += `- ${title(s.name)}: ${s.status === 'up' ? s.note : `n/a — ${s.reason}`}${logInfo}${s.died ? ` — ${s.died}` : ''}\n`;
  }
  md += `\nAll on 127.0.0.1 with wrk on the same ${m.cores} cores, so a server's own processes compete with the load generator; CPU per request is the steadier figure. ` +
    'The 37 KiB .jpg of the document root is deterministic bytes, not an image. ⚠ marks a status other than the one expected (checked with one request before the load, and from wrk\'s non-2xx/3xx count) or socket errors.\n';
  return md;
}

try {
  await main();
} catch (err) {
  if (!signalled) process.stderr.write(`[bench] error: ${err && err.message ? err.message : err}\n${process.env.BENCH_DEBUG && err && err.stack ? `${err.stack}\n` : ''}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  cleanupTmp();
}
