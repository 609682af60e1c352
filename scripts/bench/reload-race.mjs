// Benchmark reload race: save-to-reload time of Porthole, live-server and five-server in headless
// Chromium, beside the reload floor (the least any reloader could take there).
//
// Owns the race: each server (as servers.mjs starts it) serves a folder of its own holding one
// page, `index.html`, whose first script records `Date.now()` (`window.__loadedAt`) and whose
// `<h1>` carries the edit's number. One headless Chromium (Debian's, through
// test/browser/chromium.mjs, as the tests use it) opens a tab on each server. Then, `edits` times,
// for each server in turn (A B C, then C B A): the page is rewritten with the next number, and the
// time from just before the write to the new document's first script is recorded (same machine,
// same clock); the tab is then given a moment to reconnect its live-reload channel before that
// server's next edit (the other servers' edits run in between). Each edit is also split, from the
// new document's PerformanceNavigationTiming (same clock): save → the reload's navigation began
// (the server saw the change and told the page, the page called reload), the request and answer
// of the page (requestStart → responseEnd: the server's part of the reload), and the rest, which is
// Chromium's own (starting the navigation, committing the new document, parsing it up to the first
// script, and any script before it).
//
// Beside the servers, in the same interleaving, runs the **reload floor** (RELOAD_FLOOR): the same
// page served by Porthole with `--no-reload` (no watcher, no injected script, no request held),
// and for each edit the race itself, right after the write, makes the tab call `location.reload()`
// (what every reloader's page script calls: a reload the page starts, not one the browser starts)
// through the DevTools protocol (`Runtime.evaluate` on the tab's own session, not awaited), timed
// and split in the same way. So its "signal" is only that message's way into the page, and its
// figure is what a reloader with zero signal latency could reach with this page, this Chromium and
// this machine: not a server people use, the limit of the race's target. (Porthole `--no-reload`, not node-floor.mjs: the
// floor revalidates by the second-granular Last-Modified, as nginx, so a reload of a page edited
// twice within one second gets a 304 and keeps the old document; Porthole's ETag follows the
// file's mtime in full, and its answer for one small page is well under a millisecond either way:
// the `answer` part shows it.)
//
// Uses measurement.mjs (processes) and servers.mjs (starting servers); imports neither run.mjs,
// workloads.mjs nor report.mjs.
/* global window, document -- used inside page callbacks, which run in the page */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopEntry, sleep } from './measurement.mjs';
import { HOST, makeServers, startServer } from './servers.mjs';

/** The servers raced, in table order (porthole-baseline: another build, when PORTHOLE_BENCH_BASELINE is set). */
export const RACE_SERVERS = ['porthole', 'porthole-baseline', 'live-server', 'five-server'];
/**
 * The reload floor's name in the results: Porthole `--no-reload`, reloaded by the race itself at
 * once after each write. Raced whenever another server is, after them (A B C F, then F C B A).
 */
export const RELOAD_FLOOR = 'reload-floor';
/** One edit's page load may take this long before the edit counts as lost. */
const EDIT_DEADLINE_MS = 10_000;
/** After a reload, the tab's live-reload channel (WebSocket or event stream) reconnects within this. */
const RECONNECT_MS = 400;

/** @param {number} n */
const page = (n) => `<!doctype html>
<html><head><meta charset="utf-8"><title>reload race</title>
<script>window.__loadedAt = Date.now();</script>
</head><body><h1 id="n">${n}</h1><p>The benchmark rewrites this page and times its reload.</p></body></html>
`;

/** The median of `values` (numbers), or undefined when there are none. */
function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * The reload floor's server: porthole's definition (`def`, from makeServers) with `--no-reload`
 * added, so the page is served exactly as it is on disk and nothing waits for the watcher.
 */
function floorDefinition(def) {
  return {
    ...def,
    name: RELOAD_FLOOR,
    start: (port, log) => {
      const spec = def.start(port, log);
      return { ...spec, args: [...spec.args, '--no-reload'] };
    },
  };
}

/**
 * Runs the race over the servers of `names` that are available, and the reload floor after them
 * when any of them is. `ctx`: { tmp }; `log(msg)`. Resolves { edits, servers: { [name]: {
 * samples: ms[], lost, version, parts, floor? (true for RELOAD_FLOOR) } | { skipped } } } or
 * { error } when Chromium cannot start. `parts[i]` splits `samples[i]`: { signal (save → the
 * reload's navigation start), fetch (→ the page's request sent), answer (request sent → response
 * end), document (→ the first script) }, in ms.
 */
export async function runReloadRace(names, ctx, edits, log) {
  let launchChromium;
  try {
    ({ launchChromium } = await import('../../test/browser/chromium.mjs'));
  } catch (err) {
    return { error: `headless Chromium is not available (${err.message})` };
  }
  const out = { edits, servers: {} };
  const racers = [];
  try {
    for (const name of [...names, RELOAD_FLOOR]) {
      const floor = name === RELOAD_FLOOR;
      if (floor && racers.length === 0) break; // a floor beside nothing measures nothing
      const dir = join(ctx.tmp, `race-${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'index.html'), page(0));
      const defs = makeServers({ ...ctx, docroot: dir, ports: {} });
      const found = defs.find((d) => d.name === (floor ? 'porthole' : name));
      const def = floor && found !== undefined ? floorDefinition(found) : found;
      const why = def === undefined ? 'unknown server' : def.unavailable();
      if (why) { out.servers[name] = { skipped: why }; log(`reload race ${name}: n/a (${why})`); continue; }
      const s = await startServer({ ...def, name: `race-${name}` }, { ...ctx, docroot: dir });
      if (s.error) { out.servers[name] = { skipped: s.error }; log(`reload race ${name}: n/a (${s.error})`); continue; }
      racers.push({ name, floor, dir, server: s, samples: [], parts: [], lost: 0, version: def.version() });
    }
    if (racers.length === 0) return out;
    let browser;
    try {
      browser = await launchChromium();
    } catch (err) {
      return { error: `headless Chromium did not start (${err.message})` };
    }
    try {
      for (const r of racers) {
        r.tab = await (await browser.newContext()).newPage();
        await r.tab.goto(`http://${HOST}:${r.server.port}/index.html`, { waitUntil: 'load' });
        if (r.floor) r.cdp = await r.tab.context().newCDPSession(r.tab);
      }
      await sleep(RECONNECT_MS * 2);
      for (let i = 1; i <= edits; i++) {
        for (const r of i % 2 === 1 ? racers : [...racers].reverse()) {
          const start = Date.now();
          writeFileSync(join(r.dir, 'index.html'), page(i));
          // The floor: the reload at once, as a reloader's page script would call it on a signal
          // that took no time. A bare protocol message (Playwright's evaluate wraps the call and
          // took about 1 ms more); not awaited, the wait below sees the new document as for every
          // racer.
          if (r.floor) r.cdp.send('Runtime.evaluate', { expression: 'location.reload()' }).catch(() => {});
          try {
            await r.tab.waitForFunction((n) => document.getElementById('n')?.textContent === String(n), i, { timeout: EDIT_DEADLINE_MS, polling: 'raf' });
            const t = await r.tab.evaluate(() => {
              const nav = performance.getEntriesByType('navigation')[0];
              return { loadedAt: window.__loadedAt, origin: performance.timeOrigin, requestStart: nav?.requestStart, responseEnd: nav?.responseEnd };
            });
            r.samples.push(t.loadedAt - start);
            const signal = t.origin - start;
            const script = t.loadedAt - t.origin;
            r.parts.push({
              signal: Math.round(signal * 10) / 10,
              fetch: Math.round(t.requestStart * 10) / 10,
              answer: Math.round((t.responseEnd - t.requestStart) * 10) / 10,
              document: Math.round((script - t.responseEnd) * 10) / 10,
            });
          } catch {
            r.lost += 1;
            log(`reload race #${i} ${r.name}: no reload within ${EDIT_DEADLINE_MS / 1000} s`);
            await r.tab.reload({ waitUntil: 'load' }).catch(() => {});
          }
          await sleep(RECONNECT_MS);
        }
      }
    } finally {
      await browser.close().catch(() => {});
    }
    for (const r of racers) {
      out.servers[r.name] = { samples: r.samples, lost: r.lost, version: r.version, parts: r.parts, ...(r.floor ? { floor: true } : {}) };
      log(`reload race ${r.name}: ${r.samples.join(' ')} ms${r.lost ? `, ${r.lost} lost` : ''}`);
      const m = (k) => Math.round(median(r.parts.map((p) => p[k])) * 10) / 10;
      if (r.parts.length > 0) {
        log(`reload race ${r.name}, medians: save → reload began ${m('signal')} ms; then request sent ${m('fetch')}, answered in ${m('answer')}, new document to its first script ${m('document')} ms`);
      }
    }
    return out;
  } finally {
    for (const r of racers) await stopEntry(r.server.entry);
  }
}
