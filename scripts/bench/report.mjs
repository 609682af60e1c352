// Benchmark report: from the measured runs to the figures and the markdown.
//
// Owns the number formats, the medians and flags of each (workload, server) cell, the targets
// (issue 14's: Porthole against nginx and Node's floor, the reload race against the reload floor,
// start-up and idle RSS;
// and the standing ones: http-server, 10k idle connections, the worker thread's event-loop delay,
// the request log) and the README-ready markdown (with the start-up and reload-race tables).
// Pure functions over plain data: imports none of the other benchmark modules, and no Node module.

export const round2 = (x) => (x === undefined ? undefined : Math.round(x * 100) / 100);
const round1 = (x) => (x === undefined ? undefined : Math.round(x * 10) / 10);
export const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

export const fmtInt = (n) => (n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
export const fmtRatio = (r) => (r === undefined || !Number.isFinite(r) ? '' : `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`);
export const fmtUs = (s) => (s === undefined ? '–' : s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));
export const fmtRate = (bps) => (bps === undefined ? '–' : bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} GB/s` : `${(bps / 1e6).toFixed(0)} MB/s`);
export const fmtMB = (b) => (b === undefined ? '–' : `${(b / 1e6).toFixed(1)} MB`);
export const fmtMs = (ms) => (ms === undefined ? '–' : `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)} ms`);
/** A difference in ms with its sign: "+12.5 ms", "−3.0 ms". */
export const fmtDeltaMs = (ms) => (ms === undefined ? '–' : `${ms < 0 ? '−' : '+'}${fmtMs(Math.abs(ms))}`);

// ---------------------------------------------------------------------------------------------
// Medians and flags

/**
 * Sets `cell.median` from the runs without an error and adds to `cell.flags`: a wrk error, socket
 * errors, and responses other than workload `w` expects (wrk's non-2xx/3xx count).
 */
export function summarizeCell(cell, w) {
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

// ---------------------------------------------------------------------------------------------
// Targets and markdown

function cellMedian(report, wid, server) {
  const c = report.results[wid] && report.results[wid][server];
  return c && c.median ? c.median : undefined;
}

/**
 * The servers the targets compare (Porthole against nginx and Node's floors): run next to each
 * other at one end of every repetition (first, in this order; or last, in reverse), so their
 * runs of one repetition are moments apart (see pairedRatio).
 */
export const PAIRED_FIRST = ['nginx', 'porthole', 'node-floor', 'node-floor-log'];

/** `servers` ({ name }) in the order of one repetition: PAIRED_FIRST's, then the rest as given. */
export function pairedOrder(servers) {
  const rank = (s) => {
    const k = PAIRED_FIRST.indexOf(s.name);
    return k < 0 ? PAIRED_FIRST.length : k;
  };
  return servers.map((s, i) => ({ s, i })).sort((x, y) => rank(x.s) - rank(y.s) || x.i - y.i).map((x) => x.s);
}

/**
 * Server `a`'s figure `key` (rps, cpuUsPerRequest) over server `b`'s on workload `wid`. For two
 * of PAIRED_FIRST, the median of the per-repetition ratios (a's run i over b's run i, the pairs
 * where both ran without an error): the machine's speed drifts within a run (Node's floor on
 * ka-256 in one run: 138k, 143k, 142k, 110k, 113k req/s), so two medians taken from different
 * moments are no ratio of the servers, and these two ran moments apart in every repetition.
 * Otherwise (a server that ran up to a repetition's length away, no pair without an error) the
 * ratio of the medians. Medians of ratios do not multiply: a ÷ c need not be (a ÷ b) × (b ÷ c).
 */
export function pairedRatio(report, wid, a, b, key = 'rps') {
  const ca = report.results[wid] && report.results[wid][a];
  const cb = report.results[wid] && report.results[wid][b];
  if (!ca || !cb) return undefined;
  const ra = ca.runs;
  const rb = cb.runs;
  if (PAIRED_FIRST.includes(a) && PAIRED_FIRST.includes(b) && Array.isArray(ra) && Array.isArray(rb)) {
    const ratios = [];
    for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
      const x = ra[i];
      const y = rb[i];
      if (!x.error && !y.error && x[key] > 0 && y[key] > 0) ratios.push(x[key] / y[key]);
    }
    if (ratios.length > 0) return median(ratios);
  }
  const x = ca.median;
  const y = cb.median;
  return x && y && x[key] && y[key] ? x[key] / y[key] : undefined;
}

/** Median, min and max of a list of numbers (undefined when empty). */
export function spread(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? undefined : { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** The start-up figures of one server: medians of the runs without an error. */
export function startupSummary(report, name) {
  const s = report.startup && report.startup[name];
  if (!s) return undefined;
  const ok = s.runs.filter((r) => !r.error);
  return {
    listen: spread(ok.map((r) => r.listenMs)),
    firstOk: spread(ok.map((r) => r.firstOkMs)),
    idleRss: spread(ok.map((r) => r.idleRss)),
    goLive: spread(ok.map((r) => r.goLiveMs)),
    errors: s.runs.filter((r) => r.error).map((r) => r.error),
  };
}

/** Save-to-reload spread of one server in the reload race. */
export function reloadSummary(report, name) {
  const s = report.reload && report.reload.servers && report.reload.servers[name];
  return s && s.samples ? { ...spread(s.samples), lost: s.lost } : undefined;
}

/** The parts each reload-race sample is split into (reload-race.mjs), in order. */
const RELOAD_PARTS = ['signal', 'fetch', 'answer', 'document'];

/** The reload race's parts (RELOAD_PARTS), each the median over the edits, ms. */
export function reloadParts(report, name) {
  const s = report.reload && report.reload.servers && report.reload.servers[name];
  if (!s || !s.parts || s.parts.length === 0) return undefined;
  return Object.fromEntries(RELOAD_PARTS.map((k) => [k, median(s.parts.map((p) => p[k]))]));
}

/** The name of the reload race's floor (the entry marked `floor: true`), or undefined. */
export function reloadFloorName(report) {
  const servers = (report.reload && report.reload.servers) || {};
  return Object.keys(servers).find((n) => servers[n].floor === true);
}

/**
 * A floor against the same target as Porthole, in the same run: `floorValue`, `met` (whether the
 * floor meets the target), the `fields` given (how Porthole compares with the floor) and `shown`,
 * a sentence that says, for a target Porthole misses, whether the floor misses it too (`limit`:
 * whose limit that is; `missed`, when given, says it instead) or meets it (Porthole's shortfall).
 * `fl`: the floor's figure as shown; `of`: Porthole against the floor as shown ('' for none).
 */
function verdict({ floorValue, met, portholeValue, portholePass, fl, of, limit, missed, fields }) {
  if (floorValue === undefined) return undefined;
  if (portholeValue === undefined || portholePass) return { floorValue, met, ...fields, shown: `${fl}${met ? '' : ' (the floor misses it)'}${of}` };
  const why = met ? "the floor meets it: Porthole's shortfall" : missed ?? `the floor misses it too: ${limit}`;
  return { floorValue, met, ...fields, shown: `not met; ${fl}, ${why}${of}` };
}

/**
 * Node's floor against the same target, in the same run: `floorValue` (its ratio to nginx), `met`,
 * `ofFloor` (Porthole ÷ floor: req/s, or CPU per request for a CPU target) and `shown` (verdict;
 * a miss by both is Node's limit). With the floor keeping Porthole's log (node-floor-log) measured
 * too: `logValue` (its ratio to nginx), `logMet`, `ofLog` (Porthole ÷ it); a target the bare floor
 * meets but the floor with the log misses is Node's limit with the log on (Porthole runs with it,
 * as users run it), and `met` is false then.
 */
function floorVerdict({ floorValue, met, ofFloor, logValue, logMet, ofLog, portholeValue, portholePass, measure, ofWhat, floorCpu, logCpu }) {
  const withLog = logValue === undefined ? '' : `; with Porthole's log ${fmtRatio(logValue)}${logCpu ? ` (${logCpu})` : ''}`;
  const onlyTheLog = met && logMet === false;
  return verdict({
    floorValue, met: met && logMet !== false, portholeValue, portholePass, limit: "Node's limit", fields: { ofFloor, logValue, logMet, ofLog },
    missed: onlyTheLog ? "the floor meets it, the floor keeping Porthole's log misses it: Node's limit with the log on" : undefined,
    fl: `floor ${fmtRatio(floorValue)} ${measure}${floorCpu ? ` (${floorCpu})` : ''}${withLog}`,
    of: `${ofFloor === undefined ? '' : `; Porthole = ${fmtRatio(ofFloor)} ${ofWhat}`}${ofLog === undefined ? '' : `, ${fmtRatio(ofLog)} ${ofWhat === 'floor' ? 'the floor with the log' : "the floor's with the log"}`}`,
  });
}

/**
 * The reload floor against the reload race's target, in the same run: `floorValue` (its median,
 * ms), `met` (≤ `max` ms), `minusFloorMs` (Porthole's median − the floor's, ms), `fromReloadMs`
 * (the floor's median without its own signal: its reload's start → the first script, ms) and
 * `shown` (verdict; a miss by both is Chromium's limit: the floor is a reload of the same page
 * started at once, with nothing of a reloader in it — unless the floor misses only by its own
 * signal, a DevTools message, which is then said: not settled). Undefined without its samples.
 */
function reloadFloorVerdict(report, race, max) {
  const name = reloadFloorName(report);
  const floor = name === undefined ? undefined : reloadSummary(report, name);
  if (!floor || floor.median === undefined) return undefined;
  const entry = report.reload.servers[name];
  const fromReloadMs = entry.parts && entry.parts.length === entry.samples.length
    ? round1(median(entry.samples.map((ms, i) => ms - entry.parts[i].signal))) : undefined;
  const minusFloorMs = race && race.median !== undefined ? race.median - floor.median : undefined;
  const met = floor.median <= max;
  return verdict({
    floorValue: floor.median, met, portholeValue: race && race.median, portholePass: race !== undefined && race.median <= max,
    limit: "Chromium's limit", fields: { minusFloorMs, fromReloadMs }, fl: `floor ${fmtMs(floor.median)}`,
    missed: !met && fromReloadMs !== undefined && fromReloadMs <= max
      ? `the floor misses it only by its own signal (${fmtMs(fromReloadMs)} from its reload's start): not settled` : undefined,
    of: minusFloorMs === undefined ? '' : `; Porthole − floor = ${fmtDeltaMs(minusFloorMs)}`,
  });
}

/**
 * The targets (issue 14's, and the standing ones), each { target, value, pass: true | false |
 * null (not measured), shown, floor? (floorVerdict: Node's floor against the same target, for the
 * targets measured against nginx) }.
 */
export function evaluateTargets(report) {
  const out = [];
  const ratio = (wid, a, b, key = 'rps') => pairedRatio(report, wid, a, b, key);
  const add = (what, value, ok, shown, floor) => out.push({ target: what, value, pass: value === undefined ? null : ok, shown, ...(floor ? { floor } : {}) });
  // Porthole's req/s against `peer`'s, with Node's floor against the same target beside it.
  const vsPeer = (wid, min, what, unit, peer) => {
    if (!report.results[wid]) return;
    const r = ratio(wid, 'porthole', peer);
    const f = ratio(wid, 'node-floor', peer);
    const fl = ratio(wid, 'node-floor-log', peer);
    add(what, r, r >= min, fmtRatio(r), floorVerdict({
      floorValue: f, met: f >= min, ofFloor: ratio(wid, 'porthole', 'node-floor'), portholeValue: r, portholePass: r >= min, measure: unit, ofWhat: 'floor',
      logValue: fl, logMet: fl === undefined ? undefined : fl >= min, ofLog: ratio(wid, 'porthole', 'node-floor-log'),
    }));
  };
  const vsNginx = (wid, min, what = `${wid}: porthole ≥ ${min}× nginx`, unit = 'nginx') => vsPeer(wid, min, what, unit, 'nginx');
  // perByte: the 100 MiB workload, whose "request" is 100 MiB: its CPU shown per MiB.
  const cpuVsNginx = (wid, max, what, strictlyBelow = false, perByte = false) => {
    if (!report.results[wid]) return;
    const meets = (x) => (strictlyBelow ? x < max : x <= max);
    const c = ratio(wid, 'porthole', 'nginx', 'cpuUsPerRequest');
    const f = ratio(wid, 'node-floor', 'nginx', 'cpuUsPerRequest');
    const fl = ratio(wid, 'node-floor-log', 'nginx', 'cpuUsPerRequest');
    const cpuOf = (server) => {
      const m = cellMedian(report, wid, server);
      return m && m.cpuUsPerRequest !== undefined
        ? (perByte ? `${fmtUs(m.cpuUsPerRequest / 100)} µs/MiB` : `${fmtUs(m.cpuUsPerRequest)} µs/request`) : undefined;
    };
    add(what, c, meets(c), fmtRatio(c), floorVerdict({
      floorValue: f, met: meets(f), ofFloor: ratio(wid, 'porthole', 'node-floor', 'cpuUsPerRequest'), portholeValue: c, portholePass: meets(c),
      measure: perByte ? "nginx's CPU/byte" : "nginx's CPU/request", ofWhat: "the floor's CPU", floorCpu: cpuOf('node-floor'),
      logValue: fl, logMet: fl === undefined ? undefined : meets(fl), ofLog: ratio(wid, 'porthole', 'node-floor-log', 'cpuUsPerRequest'), logCpu: cpuOf('node-floor-log'),
    }));
  };
  for (const wid of ['ka-50', 'ka-256']) {
    vsNginx(wid, 1.3);
    if (report.results[wid]) {
      const f = ratio(wid, 'porthole', 'node-floor');
      const fl = ratio(wid, 'porthole', 'node-floor-log');
      // Judged against the bare floor, as the target says; the floor keeping the log is shown beside it.
      add(`${wid}: porthole ≥ 0.8× Node's floor`, f, f >= 0.8, fmtRatio(f),
        fl === undefined ? undefined : { logValue: fl, shown: `Porthole = ${fmtRatio(fl)} the floor with Porthole's log` });
    }
    cpuVsNginx(wid, 0.8, `${wid}: porthole CPU/request ≤ 0.8× nginx's`);
  }
  vsNginx('close-50', 0.9);
  for (const wid of ['404-50', '304-50', 'random-50']) vsNginx(wid, 1.0);
  vsNginx('ka-1', 1.0);
  cpuVsNginx('ka-1', 1.2, "ka-1: porthole CPU/request ≤ 1.2× nginx's");
  vsNginx('148k-50', 1.0);
  vsNginx('100m-4', 1.0, '100m-4: porthole ≥ 1.0× nginx (bytes/s)', 'nginx (bytes/s)');
  cpuVsNginx('100m-4', 2, "100m-4: porthole CPU per byte < 2× nginx's", true, true);
  for (const wid of ['ka-1', 'ka-50', 'ka-256']) {
    // The floor beside it too: at one connection the floor itself is short of 5× (latency-bound).
    if (!report.results[wid] || !report.results[wid]['http-server']) continue;
    vsPeer(wid, 5, `${wid}: porthole ≥ 5× http-server`, 'http-server', 'http-server');
  }
  const race = reloadSummary(report, 'porthole');
  if (report.reload && !report.reload.error) {
    add('reload race: porthole save-to-reload median ≤ 50 ms', race && race.median, race !== undefined && race.median <= 50, race ? `${fmtMs(race.median)}` : '–',
      reloadFloorVerdict(report, race, 50));
    // The peers by name: the reload floor is not a server people use, so never one of them.
    for (const other of ['live-server', 'five-server']) {
      const o = reloadSummary(report, other);
      const value = race && o ? race.median / o.median : undefined;
      add(`reload race: porthole's median below ${other}'s`, value, value < 1, race && o ? `${fmtMs(race.median)} vs ${fmtMs(o.median)}` : '–');
    }
  }
  const su = startupSummary(report, 'porthole');
  if (su) {
    const l = su.listen && su.listen.median;
    // Node's floor here is a bare `node` that only listens: what any CLI on Node takes to start.
    const fsu = startupSummary(report, 'node-floor');
    const fl = fsu && fsu.listen && fsu.listen.median;
    const minusFloorMs = l !== undefined && fl !== undefined ? l - fl : undefined;
    add('start-up: the porthole CLI listening ≤ 150 ms after spawn (median)', l, l <= 150, l === undefined ? '–' : fmtMs(l), verdict({
      floorValue: fl, met: fl <= 150, portholeValue: l, portholePass: l <= 150, limit: "Node's limit", fields: { minusFloorMs },
      fl: `floor ${fmtMs(fl)} (bare node, net.listen)`, of: minusFloorMs === undefined ? '' : `; Porthole − floor = ${fmtDeltaMs(minusFloorMs)}`,
    }));
    const rss = su.idleRss && su.idleRss.median;
    add('start-up: idle RSS of the porthole CLI ≤ 60 MB (median)', rss, rss <= 60e6, fmtMB(rss));
  }
  const gl = startupSummary(report, 'porthole-thread');
  if (gl && gl.goLive) {
    const g = gl.goLive.median;
    add('start-up: Go Live (the server in its worker thread, as the extension starts it) listening ≤ 150 ms after the command (median, in-process)', g, g <= 150, fmtMs(g));
  }
  const idle = report.results['idle-10k'] && report.results['idle-10k'].porthole;
  if (idle && idle.rssAfter !== undefined) {
    // Porthole's default connection cap comes from its open-file limit (each connection may hold a
    // socket and a file: README, Limits); below `count` there, it is to hold all its cap allows.
    const cap = idle.serverCap ?? idle.count;
    const want = Math.min(idle.count, cap);
    const capped = want < idle.count ? ` (all its connection cap allows at the open-file limit ${idle.serverFdLimit.toLocaleString('en-US')}: ${want.toLocaleString('en-US')})` : '';
    add(`idle-10k: porthole holds ${idle.count.toLocaleString('en-US')} connections${capped} with RSS < 150 MB`, idle.rssAfter,
      idle.rssAfter < 150e6 && idle.held >= want, `${fmtMB(idle.rssAfter)}, held ${idle.held}`);
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
  nginx: 'nginx', porthole: 'porthole', 'porthole-baseline': 'porthole (baseline)', 'porthole-w2': 'porthole ×2 workers', 'porthole-thread': 'porthole (worker thread)',
  'http-server': 'http-server', sirv: 'sirv', 'live-server': 'live-server', 'five-server': 'five-server', 'node-floor': "Node's floor", 'node-floor-log': "Node's floor + log",
};

/** The README-ready markdown of a report (the JSON run.mjs writes, with its targets). */
export function renderMarkdown(report) {
  const names = report.servers.map((s) => s.name);
  const st = Object.fromEntries(report.servers.map((s) => [s.name, s]));
  const title = (n) => `${SERVER_TITLES[n] || n}${st[n].version ? ` ${st[n].version}` : ''}`;
  // "porthole ÷ floor" (and "÷ floor + log"): Porthole against the bare net server, where both ran.
  const up = (n) => st[n] && st[n].status === 'up';
  const floorCols = up('porthole') ? [['node-floor', 'porthole ÷ floor'], ['node-floor-log', 'porthole ÷ floor + log']].filter(([n]) => up(n)) : [];
  const head = `| Workload | ${names.map(title).join(' | ')}${floorCols.map(([, l]) => ` | ${l}`).join('')} |\n|---|${names.map(() => '---:').join('|')}${floorCols.map(() => '|---:').join('')}|\n`;
  const floorCell = (wid, key) => floorCols.map(([n]) => ` | ${fmtRatio(pairedRatio(report, wid, 'porthole', n, key))}`).join('');
  const flags = (c) => (c && c.flags && c.flags.length ? ` ⚠ ${c.flags.join('; ')}` : '');
  const na = (n) => (st[n].status !== 'up' ? 'n/a' : undefined);
  const wl = report.workloads.filter((w) => w.id !== 'idle-10k');
  let md = '';
  const m = report.machine;
  md += `### Benchmark ${report.date.slice(0, 10)}\n\n`;
  md += `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.distro || m.kernel} (${m.kernel}), load average ${m.loadAverageAtStart[0]} at the start; Node ${m.node}; wrk ${m.wrk} (\`-t1\`, on the same machine).\n`;
  md += `Runs: ${report.settings.reps} × ${report.settings.duration} s per workload (100 MiB: ${report.settings.bigReps} × ${report.settings.duration} s), servers interleaved (nginx, Porthole and Node's floors next to each other in each repetition), medians shown; a ratio among those four is the median of their per-repetition ratios, any other the ratio of the medians; total ${report.elapsedSeconds} s.\n\n`;
  if (wl.length) {
    md += `**Requests per second** (ratio to nginx; the 100 MiB row in bytes per second)\n\n${head}`;
    for (const w of wl) {
      const base = cellMedian(report, w.id, 'nginx');
      const cells = names.map((n) => {
        if (na(n)) return na(n);
        const c = report.results[w.id][n];
        if (c && (c.skipped || c.notRun)) return '–';
        const med = c && c.median;
        if (!med || med.rps === undefined) return `error${flags(c)}`;
        const r = base && base.rps && n !== 'nginx' ? ` (${fmtRatio(pairedRatio(report, w.id, n, 'nginx'))})` : '';
        return `${w.sizeBytes ? fmtRate(med.transferBps) : fmtInt(med.rps)}${r}${flags(c)}`;
      });
      md += `| ${w.label} | ${cells.join(' | ')}${floorCell(w.id, 'rps')} |\n`;
    }
    md += `\n**Server CPU time per request, µs** (user + system, summed over the server's process tree from \`/proc/PID/stat\`; ratio to nginx; lower is better)\n\n${head}`;
    for (const w of wl) {
      const base = cellMedian(report, w.id, 'nginx');
      const cells = names.map((n) => {
        if (na(n)) return na(n);
        const med = cellMedian(report, w.id, n);
        if (!med || med.cpuUsPerRequest === undefined) return '–';
        const r = base && base.cpuUsPerRequest && n !== 'nginx' ? ` (${fmtRatio(pairedRatio(report, w.id, n, 'nginx', 'cpuUsPerRequest'))})` : '';
        return `${fmtUs(med.cpuUsPerRequest)}${r}`;
      });
      md += `| ${w.label} | ${cells.join(' | ')}${floorCell(w.id, 'cpuUsPerRequest')} |\n`;
    }
    // Why a server has `–` on a workload it does not run (node-floor on the compressed one).
    const notRun = [];
    for (const w of wl) for (const n of names) { const c = report.results[w.id] && report.results[w.id][n]; if (c && c.notRun) notRun.push(`${SERVER_TITLES[n] || n} on ${w.id}: ${c.notRun}.`); }
    if (notRun.length) md += `\nNot run (–): ${notRun.join(' ')}\n`;
  }
  const idle = report.results['idle-10k'];
  if (idle) {
    md += `\n**${(report.settings.idleCount).toLocaleString('en-US')} idle keep-alive connections** (each sent one GET of the 1 KiB file; RSS = VmRSS summed over the process tree)\n\n`;
    md += `| | ${names.map(title).join(' | ')} |\n|---|${names.map(() => '---:').join('|')}|\n`;
    const row = (label, f) => `| ${label} | ${names.map((n) => {
      if (na(n)) return 'n/a';
      const c = idle[n];
      if (!c) return '–';
      if (c.notRun) return '–';
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
  if (report.startup) {
    const sNames = Object.keys(report.startup);
    md += `\n**Start-up** (median of ${report.settings.startupRuns} starts each, servers interleaved, min–max in brackets; spawned directly, port polled every ms; idle RSS = VmRSS of the process tree 1 s after the first 200)\n\n`;
    md += `| | spawn → accepting | spawn → first 200 | idle RSS | Go Live in-process (WorkerServer → listening) |\n|---|---:|---:|---:|---:|\n`;
    const range = (x, f) => (x ? `${f(x.median)} (${f(x.min)}–${f(x.max)})` : '–');
    for (const n of sNames) {
      const su = startupSummary(report, n);
      const label = n === 'porthole-thread' ? 'porthole (worker thread, as Go Live: node + core.js + the worker)' : n === 'node-floor' ? "Node's floor (bare node, net.listen)" : n;
      const errs = su.errors.length ? ` ⚠ ${su.errors.length} failed: ${su.errors[0]}` : '';
      md += `| ${label} | ${range(su.listen, fmtMs)} | ${range(su.firstOk, fmtMs)} | ${range(su.idleRss, fmtMB)}${errs} | ${su.goLive ? range(su.goLive, fmtMs) : '–'} |\n`;
    }
  }
  if (report.reload) {
    const floorName = reloadFloorName(report);
    md += `\n**Reload race: save → reloaded page** (headless Chromium, ${report.reload.edits ?? '–'} edits per server, servers interleaved; from just before the file write to the new document's first script, ms; each server with its defaults — Porthole: an in-place write sent at once, its page's request held until the file settles (8 ms), then a 100 ms debounce; live-server and five-server: \`wait\` 100 ms. ` +
      'Split from the new document\'s navigation timing, medians of each part: save → the reload began (the signal: the server saw the write and told the page, which called reload), → the page\'s request sent, → its answer complete, → the new document\'s first script. ' +
      "The reload floor is not a server people use: the same page served by Porthole `--no-reload`, and the benchmark itself calls `location.reload()` in the tab right after the write — a reloader's page with a signal that takes no time, the least any reloader could take here)\n\n";
    if (report.reload.error) md += `${report.reload.error}\n`;
    else {
      md += `| | median | min | max | lost | save → reload began | → request sent | → answered | → first script |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n`;
      for (const [n, r] of Object.entries(report.reload.servers)) {
        const label = r.floor ? `*reload floor (not a server: Porthole ${r.version ? `${r.version} ` : ''}\`--no-reload\`, reloaded by the benchmark at once)*` : `${n}${r.version ? ` ${r.version}` : ''}`;
        if (r.skipped) { md += `| ${label} | n/a — ${r.skipped} | | | | | | | |\n`; continue; }
        const x = reloadSummary(report, n);
        const p = reloadParts(report, n);
        const parts = RELOAD_PARTS.map((k) => fmtMs(p && p[k])).join(' | ');
        md += `| ${label} | ${fmtMs(x && x.median)} | ${fmtMs(x && x.min)} | ${fmtMs(x && x.max)} | ${r.lost} | ${parts} |\n`;
      }
      const race = reloadSummary(report, 'porthole');
      const floor = floorName === undefined ? undefined : reloadSummary(report, floorName);
      if (race && floor && race.median !== undefined && floor.median !== undefined) {
        md += `\nPorthole − reload floor: ${fmtDeltaMs(race.median - floor.median)} (medians): what Porthole's signal, its script in the page and its request hold add to a reload Chromium makes anyway.\n`;
      }
    }
  }
  if (report.targets.length) {
    // The last column: the floor against the same target in the same run, so a miss reads as
    // Porthole's shortfall (the floor meets it) or the platform's limit (the floor misses it too):
    // Node's floor for the server targets and the CLI's start-up, the reload floor for the reload race.
    const floorRan = report.targets.some((t) => t.floor);
    const which = [
      report.targets.some((t) => t.floor && !('fromReloadMs' in t.floor)) ? "Node's floor" : undefined,
      report.targets.some((t) => t.floor && 'fromReloadMs' in t.floor) ? 'the reload floor for the reload race' : undefined,
    ].filter(Boolean).join('; ');
    md += `\n**Targets**${floorRan ? ` (last column: the floor against the same target, same run${which ? `: ${which}` : ''})` : ''}\n\n| Target | Result | |${floorRan ? ' Floor |' : ''}\n|---|---:|:---:|${floorRan ? '---|' : ''}\n`;
    for (const t of report.targets) {
      md += `| ${t.target} | ${t.shown || '–'} | ${t.pass === null ? 'n/a' : t.pass ? '✅' : '❌'} |${floorRan ? ` ${t.floor ? t.floor.shown : ''} |` : ''}\n`;
    }
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
