// The benchmark's report (scripts/bench/report.mjs) on reports shaped as run.mjs writes them: the
// reload race's target judged beside the reload floor, the floor never counted as a peer, and its
// row and verdict in the markdown; Node's floor verdict on the server targets, beside the floor keeping Porthole's log.
//   node --test test/bench/report.test.mjs
// Pure functions over plain data: no server, no browser, no timing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateTargets, pairedOrder, pairedRatio, renderMarkdown } from '../../scripts/bench/report.mjs';

const TARGET = 'reload race: porthole save-to-reload median ≤ 50 ms';

/** One racer's entry as reload-race.mjs records it (each part a fixed share of its sample). */
function racer(samples, extra = {}) {
  return {
    samples,
    lost: 0,
    version: '0.1.0',
    parts: samples.map((ms) => ({ signal: ms * 0.1, fetch: ms * 0.2, answer: ms * 0.1, document: ms * 0.6 })),
    ...extra,
  };
}

/** A report of a run with only the reload race (`--only reload`), its targets evaluated. */
function raceReport(servers, results = {}, serverList = []) {
  const report = {
    date: '2026-11-30T17:00:00.000Z',
    machine: { cpu: 'test CPU', cores: 2, memoryGiB: 4, distro: 'Debian', kernel: 'Linux', loadAverageAtStart: [0.5, 0.5, 0.5], node: 'v20', wrk: '4.1.0' },
    settings: { reps: 3, duration: 1, bigReps: 2, idleCount: 10000, quick: false, startupRuns: 5, reloadEdits: 3 },
    servers: serverList,
    workloads: [],
    results,
    reload: { edits: 3, servers },
    elapsedSeconds: 60,
  };
  report.targets = evaluateTargets(report);
  return report;
}

const target = (report, name) => report.targets.find((t) => t.target === name);

test('a reload target the floor misses too is Chromium\'s limit, with Porthole − floor in ms', () => {
  const report = raceReport({
    porthole: racer([68, 70, 72]),
    'live-server': racer([150, 160, 170]),
    'five-server': racer([140, 150, 160]),
    'reload-floor': racer([58, 60, 62], { floor: true }), // 54 ms without its signal: still over 50
  });
  const t = target(report, TARGET);
  assert.equal(t.pass, false);
  assert.equal(t.floor.floorValue, 60);
  assert.equal(t.floor.met, false);
  assert.equal(t.floor.minusFloorMs, 10);
  assert.equal(t.floor.fromReloadMs, 54);
  assert.equal(t.floor.shown, "not met; floor 60.0 ms, the floor misses it too: Chromium's limit; Porthole − floor = +10.0 ms");
});

test('a floor that misses the reload target only by its own signal does not call it Chromium\'s limit', () => {
  const report = raceReport({ porthole: racer([58, 60, 62]), 'reload-floor': racer([52, 54, 56], { floor: true }) });
  const t = target(report, TARGET);
  assert.equal(t.floor.met, false);
  assert.equal(t.floor.fromReloadMs, 48.6);
  assert.equal(t.floor.shown, "not met; floor 54.0 ms, the floor misses it only by its own signal (48.6 ms from its reload's start): not settled; Porthole − floor = +6.0 ms");
});

test('a reload target the floor meets is Porthole\'s shortfall', () => {
  const report = raceReport({ porthole: racer([58, 60, 62]), 'reload-floor': racer([29, 30, 31], { floor: true }) });
  const t = target(report, TARGET);
  assert.equal(t.pass, false);
  assert.equal(t.floor.met, true);
  assert.equal(t.floor.minusFloorMs, 30);
  assert.match(t.floor.shown, /^not met; floor 30\.0 ms, the floor meets it: Porthole's shortfall; Porthole − floor = \+30\.0 ms$/);
});

test('a reload target Porthole meets shows the floor without a verdict', () => {
  const report = raceReport({ porthole: racer([38, 40, 42]), 'reload-floor': racer([34, 35, 36], { floor: true }) });
  const t = target(report, TARGET);
  assert.equal(t.pass, true);
  assert.equal(t.floor.shown, 'floor 35.0 ms; Porthole − floor = +5.0 ms');
});

test('without the floor\'s samples the reload target has no floor verdict', () => {
  const report = raceReport({ porthole: racer([58, 60, 62]), 'reload-floor': { skipped: 'dist/cli.js is missing (npm run build)' } });
  assert.equal(target(report, TARGET).floor, undefined);
});

test('the reload floor is never one of the peers Porthole must be below', () => {
  // The floor faster than Porthole, the peers not installed: the peer targets stay n/a.
  const alone = raceReport({
    'live-server': { skipped: 'live-server is not installed in .cache/bench/npm' },
    'five-server': { skipped: 'five-server is not installed in .cache/bench/npm' },
    porthole: racer([58, 60, 62]),
    'reload-floor': racer([29, 30, 31], { floor: true }),
  });
  const peers = alone.targets.filter((t) => t.target.startsWith("reload race: porthole's median below"));
  assert.deepEqual(peers.map((t) => t.target), ["reload race: porthole's median below live-server's", "reload race: porthole's median below five-server's"]);
  assert.deepEqual(peers.map((t) => t.pass), [null, null]);
  // With the peers slower than Porthole and the floor faster: both peer targets pass.
  const raced = raceReport({
    porthole: racer([58, 60, 62]),
    'live-server': racer([150, 160, 170]),
    'five-server': racer([140, 150, 160]),
    'reload-floor': racer([29, 30, 31], { floor: true }),
  });
  assert.deepEqual(raced.targets.filter((t) => t.target.startsWith("reload race: porthole's median below")).map((t) => t.pass), [true, true]);
});

test('the markdown shows the floor\'s row as not a server, and its verdict in the targets without Node\'s floor', () => {
  const md = renderMarkdown(raceReport({
    porthole: racer([68, 70, 72]),
    'live-server': racer([150, 160, 170]),
    'reload-floor': racer([58, 60, 62], { floor: true }),
  }));
  const floorRow = md.split('\n').find((l) => l.includes('reload floor (not a server'));
  assert.ok(floorRow, md);
  assert.match(floorRow, /`--no-reload`/);
  assert.match(floorRow, /\| 60\.0 ms \| 58\.0 ms \| 62\.0 ms \| 0 \| 6\.0 ms \| 12\.0 ms \| 6\.0 ms \| 36\.0 ms \|$/);
  assert.match(md, /Porthole − reload floor: \+10\.0 ms \(medians\)/);
  assert.match(md, /\| Target \| Result \| \| Floor \|/);
  const targetRow = md.split('\n').find((l) => l.startsWith(`| ${TARGET} |`));
  assert.match(targetRow, /the floor misses it too: Chromium's limit/);
});

test('the server targets keep Node\'s floor verdict (Node\'s limit)', () => {
  const cell = (rps, cpuUsPerRequest) => ({ median: { rps, cpuUsPerRequest } });
  const report = raceReport({}, { 'ka-50': { nginx: cell(100, 10), porthole: cell(100, 12), 'node-floor': cell(120, 9) } }, [
    { name: 'nginx', status: 'up' }, { name: 'porthole', status: 'up' }, { name: 'node-floor', status: 'up' },
  ]);
  const t = target(report, 'ka-50: porthole ≥ 1.3× nginx');
  assert.equal(t.pass, false);
  assert.equal(t.floor.shown, "not met; floor 1.20× nginx, the floor misses it too: Node's limit; Porthole = 0.83× floor");
  assert.equal(target(report, TARGET).floor, undefined); // the race ran without a floor
});

test('the "5× http-server" targets are judged beside Node\'s floor too: at one connection the floor itself falls short (Node\'s limit)', () => {
  const cell = (rps, cpuUsPerRequest) => ({ median: { rps, cpuUsPerRequest } });
  const report = raceReport({}, { 'ka-1': { nginx: cell(100, 10), porthole: cell(100, 12), 'http-server': cell(40, 60), 'node-floor': cell(110, 9) } }, [
    { name: 'nginx', status: 'up' }, { name: 'porthole', status: 'up' }, { name: 'http-server', status: 'up' }, { name: 'node-floor', status: 'up' },
  ]);
  const t = target(report, 'ka-1: porthole ≥ 5× http-server');
  assert.equal(t.pass, false);
  assert.equal(t.floor.shown, "not met; floor 2.75× http-server, the floor misses it too: Node's limit; Porthole = 0.91× floor");
});

test('the CLI start-up target is judged beside Node\'s floor (a bare node that only listens), with Porthole − floor in ms', () => {
  const START = 'start-up: the porthole CLI listening ≤ 150 ms after spawn (median)';
  const starts = (...listenMs) => ({ runs: listenMs.map((ms) => ({ listenMs: ms, firstOkMs: ms + 10, idleRss: 50e6 })) });
  const withStartup = (startup) => {
    const report = raceReport({});
    report.startup = startup;
    report.targets = evaluateTargets(report);
    return target(report, START);
  };
  const limit = withStartup({ porthole: starts(190, 194, 200), 'node-floor': starts(150, 160, 170) });
  assert.equal(limit.pass, false);
  assert.equal(limit.floor.minusFloorMs, 34);
  assert.equal(limit.floor.shown, "not met; floor 160 ms (bare node, net.listen), the floor misses it too: Node's limit; Porthole − floor = +34.0 ms");
  const shortfall = withStartup({ porthole: starts(190, 194, 200), 'node-floor': starts(100, 142, 150) });
  assert.match(shortfall.floor.shown, /^not met; floor 142 ms \(bare node, net\.listen\), the floor meets it: Porthole's shortfall; Porthole − floor = \+52\.0 ms$/);
  assert.equal(withStartup({ porthole: starts(120, 130, 140) }).floor, undefined); // started without the floor
});

test('a target the floor meets but the floor keeping Porthole\'s log misses is Node\'s limit with the log on', () => {
  const cell = (rps, cpuUsPerRequest) => ({ median: { rps, cpuUsPerRequest } });
  const servers = ['nginx', 'porthole', 'node-floor', 'node-floor-log'].map((name) => ({ name, status: 'up', note: name }));
  const report = raceReport({}, {
    'close-50': { nginx: cell(100, 70), porthole: cell(66, 250), 'node-floor': cell(95, 160), 'node-floor-log': cell(82, 190) },
    'ka-256': { nginx: cell(100, 50), porthole: cell(150, 45), 'node-floor': cell(200, 35), 'node-floor-log': cell(170, 42) },
  }, servers);
  report.workloads = [{ id: 'close-50', label: 'close' }, { id: 'ka-256', label: 'ka' }];
  const close = target(report, 'close-50: porthole ≥ 0.9× nginx');
  assert.equal(close.pass, false);
  assert.equal(close.floor.met, false);
  assert.equal(close.floor.logMet, false);
  assert.equal(close.floor.shown,
    "not met; floor 0.95× nginx; with Porthole's log 0.82×, the floor meets it, the floor keeping Porthole's log misses it: Node's limit with the log on; Porthole = 0.69× floor, 0.80× the floor with the log");
  // The CPU target: the bare floor meets it (35/50 = 0.70×), the floor with the log does not (0.84×) …
  const cpu = target(report, "ka-256: porthole CPU/request ≤ 0.8× nginx's");
  assert.equal(cpu.floor.logMet, false);
  assert.match(cpu.floor.shown, /Node's limit with the log on/);
  // … and where both floors meet it, the miss is still Porthole's.
  const rate = target(report, 'ka-256: porthole ≥ 1.3× nginx');
  assert.equal(rate.pass, true);
  report.results['ka-256'].porthole = cell(120, 45);
  report.targets = evaluateTargets(report);
  assert.match(target(report, 'ka-256: porthole ≥ 1.3× nginx').floor.shown, /the floor meets it: Porthole's shortfall; Porthole = 0\.60× floor, 0\.71× the floor with the log$/);
  // The ratio to Node's floor is judged against the bare floor, the floor with the log beside it.
  const ofFloor = target(report, "ka-256: porthole ≥ 0.8× Node's floor");
  assert.equal(ofFloor.pass, false);
  assert.equal(ofFloor.floor.shown, "Porthole = 0.71× the floor with Porthole's log");
  const md = renderMarkdown(report);
  assert.match(md, /\| porthole ÷ floor \| porthole ÷ floor \+ log \|/);
  assert.match(md, /\| close \| 100 \| 66 \(0\.66×\) \| 95 \(0\.95×\) \| 82 \(0\.82×\) \| 0\.69× \| 0\.80× \|/);
});

test('a ratio is the median of the per-repetition ratios, each pair of runs measured back to back; the ratio of the medians only when runs cannot be paired', () => {
  const runs = (...rps) => ({ runs: rps.map((r) => ({ rps: r, cpuUsPerRequest: 1e6 / r })), median: { rps: [...rps].sort((a, b) => a - b)[rps.length >> 1], cpuUsPerRequest: 1 } });
  // The machine slows down between the floor's third run and Porthole's (each pair: 5:6).
  const servers = ['nginx', 'porthole', 'node-floor'].map((name) => ({ name, status: 'up' }));
  const report = raceReport({}, {
    'ka-256': { nginx: runs(40, 40, 40, 32, 32), porthole: runs(100, 100, 80, 80, 80), 'node-floor': runs(120, 120, 96, 96, 96) },
  }, servers);
  // Medians alone: 80 / 96 = 0.83 here, but the same runs with the floor's third one taken a
  // moment earlier (120) give 80 / 120 = 0.67; paired, 0.83 either way.
  assert.equal(pairedRatio(report, 'ka-256', 'porthole', 'node-floor').toFixed(3), '0.833');
  report.results['ka-256']['node-floor'] = runs(120, 120, 120, 96, 96);
  assert.equal(pairedRatio(report, 'ka-256', 'porthole', 'node-floor').toFixed(3), '0.833');
  report.targets = evaluateTargets(report);
  const t = target(report, "ka-256: porthole ≥ 0.8× Node's floor");
  assert.equal(t.pass, true);
  assert.equal(t.shown, '0.83×');
  // CPU per request pairs the same way; a run that failed drops its pair only.
  assert.equal(pairedRatio(report, 'ka-256', 'porthole', 'nginx', 'cpuUsPerRequest').toFixed(2), '0.40');
  report.results['ka-256'].porthole.runs[2] = { error: 'timeout' };
  assert.equal(pairedRatio(report, 'ka-256', 'porthole', 'node-floor').toFixed(3), '0.833');
  // A server that ran a repetition's length away is no pair: the ratio of the medians, 40 / 40
  // (paired, it would be the median of 2.4, 2.4, 1, 1.25, 1.25).
  report.results['ka-256'].sirv = runs(96, 96, 40, 40, 40);
  assert.equal(pairedRatio(report, 'ka-256', 'sirv', 'nginx'), 1);
  // The servers the targets compare run first in every repetition, in that order; the rest after.
  const order = pairedOrder(['nginx', 'porthole', 'porthole-proxy', 'sirv', 'node-floor', 'node-floor-log'].map((name) => ({ name })));
  assert.deepEqual(order.map((s) => s.name), ['nginx', 'porthole', 'node-floor', 'node-floor-log', 'porthole-proxy', 'sirv']);
});

test('idle-10k: Porthole holds every connection its cap allows at the server\'s open-file limit, or all of them without one', () => {
  const idle = (held, extra) => raceReport({}, { 'idle-10k': { porthole: { count: 10000, held, rssBefore: 90e6, rssAfter: 140e6, serverFdLimit: 20000, ...extra } } });
  const find = (report) => report.targets.find((t) => t.target.startsWith('idle-10k'));
  // (20,000 − 64) / 2 = 9,968 (README, Limits): all it may hold.
  const capped = find(idle(9968, { serverCap: 9968 }));
  assert.equal(capped.pass, true);
  assert.equal(capped.target, 'idle-10k: porthole holds 10,000 connections (all its connection cap allows at the open-file limit 20,000: 9,968) with RSS < 150 MB');
  assert.equal(find(idle(9000, { serverCap: 9968 })).pass, false, 'fewer than its cap');
  assert.equal(find(idle(9968, {})).pass, false, 'no cap known: all 10,000');
  const uncapped = find(idle(10000, { serverCap: 20000 }));
  assert.equal(uncapped.pass, true);
  assert.equal(uncapped.target, 'idle-10k: porthole holds 10,000 connections with RSS < 150 MB');
  assert.equal(find(raceReport({}, { 'idle-10k': { porthole: { count: 10000, held: 9968, rssAfter: 160e6, serverFdLimit: 20000, serverCap: 9968 } } })).pass, false, 'RSS over 150 MB');
});
