// Benchmark start-up: how long each server takes from spawn to accepting connections and to its
// first 200 response, and its idle RSS.
//
// Owns the start-up runs: each server of `defs` (as servers.mjs starts it, but spawned directly,
// without the open-file-limit wrapper, so its own start is timed) is started `runs` times on a
// fresh loopback port, the servers interleaved; the port is polled every millisecond (a TCP
// connect), then `GET /1k.html` until a 200 comes back; one second later the RSS of its process
// tree is read (idle: nothing but that one request served); then it is stopped. Uses
// measurement.mjs (processes, RSS) and servers.mjs (HOST, ports); imports neither run.mjs,
// workloads.mjs nor report.mjs.
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { spawnTracked, stopEntry, sleep, rssBytes } from './measurement.mjs';
import { HOST, freePort } from './servers.mjs';

/** A start that takes longer than this is a failure (the server is stopped). */
const START_DEADLINE_MS = 20_000;
/** The idle RSS is read this long after the first 200 (the server has settled, nothing else asked). */
const IDLE_SETTLE_MS = 1_000;

function connects(port) {
  return new Promise((res) => {
    const sock = net.connect({ host: HOST, port });
    sock.once('connect', () => { sock.destroy(); res(true); });
    sock.once('error', () => res(false));
  });
}

/** One GET on its own connection: the status code, or 0 when none came (bounded by 5 s). */
function status(port, path) {
  return new Promise((res) => {
    const sock = net.connect({ host: HOST, port });
    let got = '';
    const t = setTimeout(() => { sock.destroy(); res(0); }, 5000);
    const done = (code) => { clearTimeout(t); sock.destroy(); res(code); };
    sock.setEncoding('latin1');
    sock.once('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nConnection: close\r\n\r\n`));
    sock.on('data', (c) => {
      got += c;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      if (m) done(Number(m[1]));
      else if (got.length > 64) done(0);
    });
    sock.once('error', () => done(0));
    sock.once('end', () => done(0));
  });
}

/** One start of `def`: { listenMs, firstOkMs, idleRss, goLiveMs? } or { error }. */
async function startOnce(def, ctx) {
  const port = await freePort();
  const log = join(ctx.tmp, `startup-${def.name}-${port}.log`);
  const spec = def.start(port, log);
  const outPath = spec.stdoutIsLog ? log : join(ctx.tmp, `startup-${def.name}-${port}.out`);
  const fd = openSync(outPath, 'a');
  let entry;
  const t0 = performance.now();
  try {
    entry = spawnTracked(`${def.name} (start-up)`, spec.cmd, spec.args, {
      stdio: ['ignore', fd, fd, ...(spec.ipc ? ['ipc'] : [])],
      // The document root, as startServer (servers.mjs) says why.
      cwd: ctx.docroot,
      env: { ...process.env, NODE_ENV: 'production' },
    });
  } finally {
    closeSync(fd);
  }
  try {
    let listenMs;
    while (listenMs === undefined) {
      if (entry.done) return { error: `exited (code ${entry.code}) before listening` };
      if (performance.now() - t0 > START_DEADLINE_MS) return { error: `not listening within ${START_DEADLINE_MS / 1000} s` };
      if (await connects(port)) listenMs = performance.now() - t0;
      else await sleep(1);
    }
    let firstOkMs;
    while (firstOkMs === undefined) {
      if (entry.done) return { error: `exited (code ${entry.code}) before a 200` };
      if (performance.now() - t0 > START_DEADLINE_MS) return { error: `no 200 within ${START_DEADLINE_MS / 1000} s` };
      if ((await status(port, '/1k.html')) === 200) firstOkMs = performance.now() - t0;
      else await sleep(1);
    }
    await sleep(IDLE_SETTLE_MS);
    // The worker-thread driver says how long its own start took in-process (Go Live's share).
    const goLive = /^Go Live: ([\d.]+) ms$/m.exec(readFileSync(outPath, 'latin1'));
    return { listenMs, firstOkMs, idleRss: rssBytes(entry.pid), ...(goLive ? { goLiveMs: Number(goLive[1]) } : {}) };
  } finally {
    await stopEntry(entry, 2000);
  }
}

/**
 * Starts each server of `defs` `runs` times (interleaved: A B C …, then … C B A), `log` told of
 * each start. Resolves { [name]: { runs: [{ listenMs, firstOkMs, idleRss } | { error }] } }.
 */
export async function measureStartup(defs, ctx, runs, log) {
  const out = Object.fromEntries(defs.map((d) => [d.name, { runs: [] }]));
  for (let r = 0; r < runs; r++) {
    for (const def of r % 2 === 0 ? defs : [...defs].reverse()) {
      const one = await startOnce(def, ctx);
      out[def.name].runs.push(one);
      log(`start-up #${r + 1} ${def.name}: ${one.error ?? `listening ${one.listenMs.toFixed(0)} ms, first 200 ${one.firstOkMs.toFixed(0)} ms, idle RSS ${(one.idleRss / 1e6).toFixed(1)} MB`}`);
    }
  }
  return out;
}
