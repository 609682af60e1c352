// Runs Porthole's server in a worker thread, as the VS Code extension does, and measures the
// main thread's event-loop delay while the benchmark loads it.
//
//   node worker-thread-driver.mjs --root DIR --port P --log FILE [--repo DIR]
//
// It requires <repo>/dist/core.js, starts `new WorkerServer(<repo>/dist/server-worker.js)`,
// `await srv.listen({ root, port, host: '127.0.0.1', logFile })`, counts the request records
// that arrive through srv.on('requests', ...) and prints `Local: http://127.0.0.1:P/` once
// listening, then `Go Live: T ms`: from just before `new WorkerServer` to listen() resolved, in
// this process — what Go Live costs in an editor whose extension host is already running (the
// worker thread's start, loading server-worker.js in it, binding the port). Over IPC (when spawned with an ipc channel):
//   {type:'reset'}  -> clears the delay histogram; answers {type:'reset-ok'}
//   {type:'report'} -> answers {type:'report', p99Ms, p50Ms, maxMs, meanMs, samples, records}
//                      (records: request records received since the start, cumulative)
// On SIGTERM/SIGINT it prints the report as JSON, closes the server (bounded) and exits.
// Exit code 3: dist/core.js (or WorkerServer) is missing, so the benchmark marks the column n/a.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(opt('repo', join(here, '../..')));
const root = resolve(opt('root', join(repo, '.cache/bench/docroot')));
const port = Number(opt('port', '0'));
const logFile = opt('log', undefined);

const corePath = join(repo, 'dist/core.js');
const workerPath = join(repo, 'dist/server-worker.js');
if (!existsSync(corePath) || !existsSync(workerPath)) {
  console.log(`n/a: ${existsSync(corePath) ? workerPath : corePath} is missing (npm run build)`);
  process.exit(3);
}
const require = createRequire(import.meta.url);
const core = require(corePath);
if (typeof core.WorkerServer !== 'function') {
  console.log('n/a: dist/core.js exports no WorkerServer');
  process.exit(3);
}

const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();
let records = 0;

const goLiveStart = performance.now();
const srv = new core.WorkerServer(workerPath);
if (typeof srv.on === 'function') {
  // Records beyond the per-batch cap arrive as a count (the extension shows them the same way).
  srv.on('requests', (batch, dropped) => {
    records += batch.length + (typeof dropped === 'number' ? dropped : 0);
  });
  srv.on('error', (err) => console.error(`worker server error: ${err && err.message ? err.message : err}`));
}

function report() {
  const ms = (ns) => Math.round((ns / 1e6) * 100) / 100;
  return {
    type: 'report',
    p50Ms: ms(histogram.percentile(50)),
    p99Ms: ms(histogram.percentile(99)),
    maxMs: ms(histogram.max),
    meanMs: ms(histogram.mean),
    samples: histogram.count,
    records,
  };
}

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  console.log(JSON.stringify(report()));
  const hard = setTimeout(() => process.exit(code), 3000);
  hard.unref();
  try {
    if (typeof srv.close === 'function') await srv.close();
  } catch {
    // exiting anyway
  }
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.on('disconnect', () => void shutdown(0));
process.on('message', (msg) => {
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'reset') {
    histogram.reset();
    process.send?.({ type: 'reset-ok' });
  } else if (msg.type === 'report') {
    process.send?.(report());
  }
});

try {
  const address = await srv.listen({ root, port, host: '127.0.0.1', logFile });
  const url = address && address.url ? address.url : `http://127.0.0.1:${address && address.port ? address.port : port}/`;
  const goLiveMs = performance.now() - goLiveStart;
  console.log(`Local: ${url}`);
  console.log(`Go Live: ${goLiveMs.toFixed(1)} ms`);
} catch (err) {
  console.log(`listen failed: ${err && err.message ? err.message : err}`);
  await shutdown(1);
}
