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
//
// This file holds the flags and the order of a run. The rest, one-way (report.mjs and
// measurement.mjs import none of the others):
//   servers.mjs     which servers, how each starts, ports, the worker-thread driver's IPC
//   workloads.mjs   the workloads, wrk, the prechecks, the idle connections
//   measurement.mjs processes (spawn, track, stop process groups), /proc CPU, RSS, fd limits
//   startup.mjs     spawn → accepting → first 200, idle RSS, per server
//   reload-race.mjs save-to-reload in headless Chromium: porthole, live-server, five-server
//   report.mjs      medians, formats, targets, markdown
// The state shared by a run lives here (tmpDir, log, the signal handlers) or in measurement.mjs
// (the tracked processes, the stopping flag), nowhere else.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { createRequire } from 'node:module';
import { makeDocroot, DEFAULT_DOCROOT } from './docroot.mjs';
import { stopEntry, pauseEntry, stopAll, sleep, runCapture, cpuSnapshot, cpuDelta, raisedFdLimit, fileSize, machineInfo } from './measurement.mjs';
import { HOST, makeServers, startServer, ipcAsk } from './servers.mjs';
import { WORKLOADS, wrkPath, runWrk, precheck, runIdle } from './workloads.mjs';
import { measureStartup } from './startup.mjs';
import { RACE_SERVERS, runReloadRace } from './reload-race.mjs';
import { fmtInt, fmtUs, fmtRate, fmtMB, summarizeCell, evaluateTargets, renderMarkdown, pairedOrder } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
/** connectionCapFor of the build under test (dist/core.js), at the open-file limit `fdLimit`. */
function portholeConnectionCap(fdLimit) {
  const { connectionCapFor } = createRequire(import.meta.url)(join(repo, 'dist/core.js'));
  return connectionCapFor(Number.isFinite(fdLimit) ? fdLimit : Number.MAX_SAFE_INTEGER);
}
const cacheDir = join(repo, '.cache/bench');

// ---------------------------------------------------------------------------------------------
// Flags

/**
 * A server idle (stopped while the others ran) for longer than this is warmed up again before a
 * repetition, every server alike: V8's memory reducer shrinks an idle Node process's heap after
 * about 8 s without allocation, and the first second of load after it regrows the heap. With
 * eleven servers interleaved, a server's every other repetition came after ~20 s idle and
 * measured that regrowth (scripts/bench/README.md, item 3, has the figures).
 */
const REWARM_IDLE_MS = 5000;

/** `--only` ids that are not wrk workloads. */
const PARTS = ['startup', 'reload'];
/** The servers whose start-up is measured: the CLIs, nginx, the worker thread (as Go Live), and bare node. */
const STARTUP_SERVERS = ['nginx', 'porthole', 'porthole-baseline', 'porthole-thread', 'http-server', 'sirv', 'live-server', 'five-server', 'node-floor'];

const HELP = `usage: npm run bench [-- options]
  --quick            1 repetition of 1 s per workload (a short run)
  --only LIST        workloads, comma-separated: ${'ka-1,ka-50,ka-256,close-50,148k-50,148k-gz-50,100m-4,404-50,304-50,random-50,idle-10k'},
                     and the parts that are not wrk loads: startup, reload
  --servers LIST     servers, comma-separated: nginx,porthole,porthole-baseline (PORTHOLE_BENCH_BASELINE=DIR),porthole-proxy,porthole-w2,porthole-thread,http-server,sirv,live-server,five-server,node-floor,node-floor-log
  --startup-runs N   starts of each server for the start-up table (default 5; --quick 3)
  --reload-edits N   edits per server in the reload race (default 20; --quick 6)
  --reps N           repetitions of each wrk workload (default 3; 100m-4 uses min(N, 2))
  --duration S       seconds per wrk run (default 1)
  --idle-count N     connections for idle-10k (default 10000)
  --json FILE        where to write the JSON (default .cache/bench/results.json); the markdown goes beside it
  --skip-install     do not run scripts/bench/install.sh
`;

function parseFlags(argv) {
  const f = { quick: false, only: null, servers: null, reps: null, duration: null, json: null, idleCount: 10000, skipInstall: false, startupRuns: null, reloadEdits: null };
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
      case '--startup-runs': f.startupRuns = positiveInt(val(), a); break;
      case '--reload-edits': f.reloadEdits = Math.min(100, positiveInt(val(), a)); break;
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
// Stopping: the processes started (measurement.mjs) are stopped on SIGINT/SIGTERM/SIGHUP, and the
// temporary directory removed.

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

// ---------------------------------------------------------------------------------------------
// Main

let tmpDir;
function cleanupTmp() {
  if (tmpDir) { try { rmSync(tmpDir, { recursive: true, force: true }); } catch { /* best effort */ } tmpDir = undefined; }
}

async function main() {
  const flags = parseFlags(process.argv.slice(2));
  const reps = flags.reps ?? (flags.quick ? 1 : 3);
  const duration = flags.duration ?? 1;
  const bigReps = flags.quick ? 1 : Math.min(reps, 2);
  const jsonPath = flags.json ?? join(cacheDir, 'results.json');
  const mdPath = jsonPath.replace(/\.json$/i, '') + '.md';

  const workloads = WORKLOADS.filter((w) => !flags.only || flags.only.includes(w.id));
  if (flags.only) for (const id of flags.only) if (!WORKLOADS.some((w) => w.id === id) && !PARTS.includes(id)) throw new Error(`unknown workload ${id}`);
  const doStartup = !flags.only || flags.only.includes('startup');
  const doReload = !flags.only || flags.only.includes('reload');
  if (workloads.length === 0 && !doStartup && !doReload) throw new Error('no workload selected');
  const startupRuns = flags.startupRuns ?? (flags.quick ? 3 : 5);
  const reloadEdits = flags.reloadEdits ?? (flags.quick ? 6 : 20);

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
  const ctx = { tmp: tmpDir, docroot, ports: {} };

  const allDefs = makeServers(ctx);
  if (flags.servers) for (const n of flags.servers) if (!allDefs.some((d) => d.name === n)) throw new Error(`unknown server ${n}`);
  const defs = allDefs.filter((d) => !flags.servers || flags.servers.includes(d.name));

  const machine = machineInfo(wrkVersion.out);
  machine.loadAverageAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  if (machine.loadAverageAtStart[0] > machine.cores * 0.5) {
    log(`note: the machine is busy (load average ${machine.loadAverageAtStart[0]} on ${machine.cores} cores); expect noisy req/s — CPU per request is steadier`);
  }
  const servers = []; // { def, name, status: 'up'|'n/a', reason, ...started }
  for (const def of workloads.length > 0 ? defs : []) {
    const why = def.unavailable();
    if (why) { servers.push({ def, name: def.name, status: 'n/a', reason: why }); log(`${def.name}: n/a (${why})`); continue; }
    const s = await startServer(def, ctx);
    if (s.error) { servers.push({ def, name: def.name, status: 'n/a', reason: s.error }); log(`${def.name}: n/a (${s.error})`); continue; }
    servers.push({ def, name: def.name, status: 'up', version: def.version(), served: 0, ...s });
    ctx.ports[def.name] = s.port;
    log(`${def.name}: pid ${s.pid}, http://${HOST}:${s.port}/`);
  }
  const up = () => servers.filter((s) => s.status === 'up' && !s.entry.done);
  // The servers that run workload w (node-floor skips the compressed one: FLOOR_SKIPS; node-floor-log the idle one too).
  const upFor = (w) => up().filter((s) => !(s.def.skips && s.def.skips[w.id]));
  const skippedHere = (w) => up().filter((s) => s.def.skips && s.def.skips[w.id]);
  // While one server is warmed up, loaded or measured, every other one is stopped (SIGSTOP to its
  // process group; SIGCONT after), but what it needs (porthole-proxy's nginx): no other server's
  // own work competes for the two cores with the one measured (five-server, started in the folder
  // of the servers' logs, took 23.6% of a core while the others ran; see startServer's cwd).
  const measuring = async (s, work) => {
    const held = up().filter((o) => o !== s && !(s.def.needs ?? []).includes(o.name));
    for (const o of held) pauseEntry(o.entry, true);
    try {
      return await work();
    } finally {
      for (const o of held) pauseEntry(o.entry, false);
    }
  };

  const wrkCount = workloads.filter((w) => !w.idle).reduce((n, w) => n + ((w.big ? bigReps : reps) * duration + 1) * upFor(w).length, 0); // + each workload's warm-up
  const idleOn = workloads.some((w) => w.idle);
  log(`${up().length} servers up; about ${Math.round((wrkCount + up().length * (1 + (idleOn ? 8 : 0))) * 1.1)} s of load`);

  // Warm-up: JIT and caches, the 1 KiB file at 50 connections on each server (not recorded).
  for (const s of up()) await measuring(s, () => runWrk({ port: s.port, path: '/1k.html', conns: 50, duration: 1 }, s));

  const results = {};
  let idleFdLimit;
  /** When each server's last wrk run of the current workload ended (Date.now()). */
  const lastLoaded = new Map();
  for (const w of workloads) {
    results[w.id] = {};
    for (const s of skippedHere(w)) results[w.id][s.name] = { notRun: s.def.skips[w.id] };
    if (w.idle) {
      idleFdLimit = raisedFdLimit();
      if (idleFdLimit < flags.idleCount + 64) {
        const reason = `skipped: the open-file limit can only be raised to ${idleFdLimit}, ${flags.idleCount + 64} needed`;
        log(`${w.id}: ${reason}`);
        for (const s of upFor(w)) results[w.id][s.name] = { skipped: reason };
        continue;
      }
      for (const s of upFor(w)) {
        const r = await measuring(s, () => runIdle(s, flags.idleCount));
        // The CLI's default connection cap at its open-file limit (the core's own rule), for the target.
        if (s.name === 'porthole' && r.serverFdLimit !== undefined) r.serverCap = portholeConnectionCap(r.serverFdLimit);
        if (r.responded) s.served += r.responded;
        results[w.id][s.name] = r;
        log(`${w.id} ${s.name}: ${r.error || r.skipped || `held ${r.held}/${r.count}, RSS ${fmtMB(r.rssBefore)} → ${fmtMB(r.rssAfter)}`}`);
        await sleep(300); // let the server drop the closed sockets before the next one starts
      }
      continue;
    }
    const checks = {};
    for (const s of upFor(w)) {
      checks[s.name] = await precheck(w, s);
      results[w.id][s.name] = { runs: [], flags: checks[s.name].ok ? [] : [checks[s.name].flag] };
    }
    // Each server's warm-up on this workload's own requests (1 s, not recorded): a JIT-compiled
    // server reaches its steady cost on a path only after running it. Porthole at one keep-alive
    // connection after the 1 KiB warm-up at 50 cost 130, 105, then 83–85 µs per request in
    // consecutive 1 s runs (pinned); nginx has no such warm-up.
    // One wrk run of workload w on server s for `seconds`.
    const load = (s, seconds) => runWrk({
      port: s.port, path: w.path, conns: w.conns, duration: seconds, timeout: w.timeout,
      headers: [...(w.headers || []), ...(checks[s.name].wrkHeaders || [])], script: w.script ? join(here, w.script) : undefined,
    }, s);
    for (const s of upFor(w)) {
      await measuring(s, () => load(s, 1));
      lastLoaded.set(s, Date.now());
    }
    const r = w.big ? bigReps : reps;
    for (let rep = 0; rep < r; rep++) {
      const order = rep % 2 === 0 ? pairedOrder(upFor(w)) : pairedOrder(upFor(w)).reverse();
      for (const s of order) {
        const cell = results[w.id][s.name];
        // Warmed up again first (1 s, not recorded) when it sat idle past REWARM_IDLE_MS.
        if (Date.now() - (lastLoaded.get(s) ?? 0) > REWARM_IDLE_MS) await measuring(s, () => load(s, 1));
        const { cpu0, log0, res, cpu1, log1, eld } = await measuring(s, async () => {
          if (s.ipc) await ipcAsk(s.ipc, { type: 'reset' }, 'reset-ok');
          const cpu0 = cpuSnapshot(s.pid);
          const log0 = fileSize(s.log);
          const res = await load(s, duration);
          const cpu1 = cpuSnapshot(s.pid);
          const log1 = fileSize(s.log);
          const eld = s.ipc ? await ipcAsk(s.ipc, { type: 'report' }, 'report') : undefined;
          return { cpu0, log0, res, cpu1, log1, eld };
        });
        lastLoaded.set(s, Date.now());
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
      summarizeCell(cell, w);
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

  // Start-up and the reload race, with the load servers stopped (nothing of ours competes).
  let startup;
  if (doStartup) {
    // porthole-baseline only when it is there (PORTHOLE_BENCH_BASELINE): before/after in one run.
    const sdefs = allDefs.filter((d) => STARTUP_SERVERS.includes(d.name) && (!flags.servers || flags.servers.includes(d.name)) && !d.unavailable());
    startup = await measureStartup(sdefs, ctx, startupRuns, log);
  }
  let reload;
  if (doReload) {
    const baselineThere = !allDefs.find((d) => d.name === 'porthole-baseline').unavailable();
    const names = RACE_SERVERS.filter((n) => (!flags.servers || flags.servers.includes(n)) && (n !== 'porthole-baseline' || baselineThere));
    reload = await runReloadRace(names, ctx, reloadEdits, log);
    if (reload.error) log(`reload race: ${reload.error}`);
  }

  const elapsedS = Math.round((Date.now() - t0) / 1000);
  const report = {
    date: new Date().toISOString(),
    machine,
    settings: { reps, duration, bigReps, idleCount: flags.idleCount, quick: flags.quick, wrkThreads: 1, idleFdLimit, startupRuns, reloadEdits },
    servers: servers.map((s) => ({ name: s.name, status: s.status, reason: s.reason, version: s.version, note: s.def.note, died: s.died, log: totals[s.name] })),
    workloads: workloads.map((w) => ({ id: w.id, label: w.label, path: w.path, connections: w.conns, expect: w.expect, sizeBytes: w.sizeBytes })),
    results,
    ...(startup ? { startup } : {}),
    ...(reload ? { reload } : {}),
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

try {
  await main();
} catch (err) {
  if (!signalled) process.stderr.write(`[bench] error: ${err && err.message ? err.message : err}\n${process.env.BENCH_DEBUG && err && err.stack ? `${err.stack}\n` : ''}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  cleanupTmp();
}
