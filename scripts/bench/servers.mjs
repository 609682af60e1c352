// Benchmark servers: which servers are compared and how each one runs.
//
// Owns the server definitions (nginx with its generated nginx.conf, the Porthole CLI, the
// worker-thread driver, the npm peers in .cache/bench/npm), the loopback address they listen on
// (HOST), free ports, starting a server and waiting until it accepts TCP connections, and the IPC
// with worker-thread-driver.mjs. Uses measurement.mjs to start and stop processes; imports neither
// workloads.mjs nor report.mjs.
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, openSync, closeSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { spawnTracked, stopEntry, sleep, runCapture, withLimit, WANT_NOFILE } from './measurement.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const cacheDir = join(repo, '.cache/bench');
const npmBin = (pkg, bin) => join(cacheDir, 'npm/node_modules', pkg, bin);
/** The workloads node-floor does not run, and why (the table shows `–` there). */
export const FLOOR_SKIPS = {
  '148k-gz-50': "compression is the work that row measures (nginx gzips per request, Porthole caches brotli); a floor without it would answer another question, and one with it would be a compressing server, not Node's floor",
};
/** The workloads node-floor-log does not run: the floor's, and the idle connections (they log one request each). */
export const FLOOR_LOG_SKIPS = {
  ...FLOOR_SKIPS,
  'idle-10k': "each idle connection logs one request: Node's floor's own row says what holding them costs",
};
/** Every server listens here, and every load and check aims here: loopback only. */
export const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Ports

export async function freePort() {
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

// ---------------------------------------------------------------------------------------------
// Servers

function nginxPath() {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) if (existsSync(p)) return p;
  const r = spawnSync('bash', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return (r.stdout || '').trim() || 'nginx';
}

function portholeHelp() {
  const cli = join(repo, 'dist/cli.js');
  if (!existsSync(cli)) return { missing: 'dist/cli.js is missing (npm run build)' };
  const r = runCapture(process.execPath, [cli, '--help'], 5000);
  return { help: r.out, keepAlive: /--keep-alive-timeout\b/.test(r.out), workers: /--workers\b/.test(r.out) };
}

/**
 * Every server the benchmark knows, in table order. `ctx`: { tmp, docroot, ports } (`ports`: the
 * port of each server started so far, by name; porthole-proxy proxies to nginx's). Each definition:
 * { name, version(), unavailable() → reason or null, note, thread?, skips? ({ workload id: why it is not run }),
 * needs? (the names of servers that must run while it is measured: its back-end), start(port, log) → spawn spec }.
 */
export function makeServers(ctx) {
  const ph = portholeHelp();
  const baseline = process.env.PORTHOLE_BENCH_BASELINE || undefined;
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
  // node-floor.mjs as server `name`, with extraArgs(its log file) after its usual arguments.
  const floorServer = (name, extraArgs, skips, note) => ({
    name,
    version: () => process.versions.node,
    unavailable: () => null,
    note,
    skips,
    start: (port, log) => ({
      cmd: process.execPath,
      args: [join(here, 'node-floor.mjs'), '--port', String(port), '--host', HOST, '--root', ctx.docroot, ...extraArgs(log)],
      log, stdoutIsLog: false,
    }),
  });
  return [
    {
      name: 'nginx',
      version: () => (runCapture(nginxPath(), ['-v']).out.match(/nginx\/([\d.]+)/) || [])[1],
      unavailable: () => (existsSync(nginxPath()) ? null : 'nginx is not installed'),
      note: '1 worker process, `access_log` (combined) to a file, `sendfile on`, `tcp_nopush on`, `keepalive_requests 100000`, `etag on` (default), `gzip on` (level 1, its default; text, JS, JSON, SVG, wasm types; no brotli in nginx-light)',
      start: (port, log) => {
        const dir = join(ctx.tmp, `nginx-${port}`);
        mkdirSync(join(dir, 'tmp'), { recursive: true });
        const v = runCapture(nginxPath(), ['-V']).out;
        const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
          .filter((t) => t === 'client_body' || v.includes(`--http-${t}-temp-path`))
          .map((t) => `  ${t}_temp_path ${join(dir, 'tmp', t)};`).join('\n');
        const mime = existsSync('/etc/nginx/mime.types') ? '  include /etc/nginx/mime.types;\n' : '';
        const conf = `# generated by scripts/bench/servers.mjs
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
  gzip on;
  gzip_vary on;
  gzip_min_length 1024;
  gzip_types text/plain text/css text/javascript application/javascript application/json application/xml image/svg+xml application/wasm;
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
      // Another build of Porthole (an older commit's checkout, built), measured in the same run:
      // PORTHOLE_BENCH_BASELINE=/path/to/checkout npm run bench -- --servers nginx,porthole,porthole-baseline
      name: 'porthole-baseline',
      version: () => (baseline === undefined ? undefined : JSON.parse(readFileSync(join(baseline, 'package.json'), 'utf8')).version),
      unavailable: () =>
        baseline === undefined
          ? 'set PORTHOLE_BENCH_BASELINE to another checkout of Porthole (built) to measure it beside this one'
          : existsSync(join(baseline, 'dist/cli.js')) ? null : `${baseline}/dist/cli.js is missing (npm run build there)`,
      note: `the CLI of ${baseline ?? 'another checkout'}, run exactly as porthole`,
      start: (port, log) => ({
        cmd: process.execPath,
        args: [join(baseline ?? repo, 'dist/cli.js'), ...portholeArgs(port, log).slice(1)],
        log,
        stdoutIsLog: false,
      }),
    },
    {
      // The proxy's cost: every request goes through Porthole to the nginx above, so its row
      // beside nginx's is "through Porthole" vs "straight to the back-end".
      name: 'porthole-proxy',
      needs: ['nginx'],
      version: portholeVersion,
      unavailable: () => ph.missing || (ctx.ports?.nginx === undefined ? 'needs the nginx server running (its back-end)' : null),
      note: 'CLI `--proxy /=http://127.0.0.1:<nginx above>`, otherwise as porthole: every request is passed to nginx and back',
      start: (port, log) => ({ cmd: process.execPath, args: portholeArgs(port, log, ['--proxy', `/=http://${HOST}:${ctx.ports.nginx}`]), log, stdoutIsLog: false }),
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
    nodeServer('five-server', 'five-server', 'lib/bin.js',
      (port) => [`--port=${port}`, `--host=${HOST}`, '--open=false', `--root=${ctx.docroot}`],
      '`--open=false` (live-server\'s maintained fork; it logs nothing per request); live reload injection stays on'),
    // The ceiling: a bare net server doing the least work each workload's answer needs.
    floorServer('node-floor', () => [], FLOOR_SKIPS,
      "`node-floor.mjs`, a bare `net` server: finds each head's end, keeps the connection or not, answers pipelined requests in order; the path as sent under the root, one `stat` per path and event-loop turn (as Porthole's file cache), small files' whole replies prepared and cached by path (size + mtime), a prepared 404, a prepared 304 for an exact `If-Modified-Since`, big files through two reused 256 KiB buffers (fs.read, socket.write); no log, no compression — the least any server on Node's sockets can do for the same answers"),
    // The same floor keeping the request log Porthole must keep (Combined Log Format to a file):
    // Node's floor doing the same work as Porthole run as users run it, log on. A target the floor
    // meets but this misses is not Porthole's to meet with its log on.
    floorServer('node-floor-log', (log) => ['--log', log], FLOOR_LOG_SKIPS,
      "`node-floor.mjs --log FILE`: Node's floor as above, plus Porthole's log line per request (client address read once per connection, the time's text once a second, the request line, status, bytes, Referer, User-Agent, seconds, host; copied byte by byte into one buffer, escaped where a byte needs it), written to the file at 64 KiB and every 100 ms as Porthole does"),
  ];
}

/**
 * Starts one server on a free loopback port, tracked and with the open-file limit raised, and waits
 * until it accepts TCP connections (at most 20 s). Resolves { entry, port, log, outFile, pid, ipc }
 * or { error } (the server is then stopped; the error quotes its output).
 */
export async function startServer(def, ctx) {
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
      // The document root, as a user starts a server in the site's folder: five-server watches
      // its working folder, and in the run's temp folder, where every server's log is, it handled
      // every line nginx logged (scripts/bench/README.md, item 3, has the figures).
      cwd: ctx.docroot,
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
export function ipcAsk(child, msg, answerType, ms = 3000) {
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
