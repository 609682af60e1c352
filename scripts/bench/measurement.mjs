// Benchmark measurement: the processes the benchmark starts and what it reads of them.
//
// Owns the one table of tracked processes and the `stopping` flag: every child runs detached in its
// own process group, is tracked, and is killed (the whole group) by stopEntry/stopAll and, as a last
// resort, on exit. Reads /proc: process trees, CPU ticks (utime + stime), RSS, open-file limits; and
// raises the open-file limit of the children it starts. Also the machine's description and the size
// of a log file. Imports none of the other benchmark modules.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';

// ---------------------------------------------------------------------------------------------
// Processes: every child runs detached in its own process group, is tracked, and is killed (the
// whole group) in a finally, on SIGINT/SIGTERM/SIGHUP (run.mjs), and as a last resort on exit.

const tracked = new Map(); // pid -> { name, child, exited: Promise<{code, signal}>, done: boolean }
let stopping = false;

export function spawnTracked(name, cmd, args, options = {}) {
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

/**
 * Stops (SIGSTOP) or continues (SIGCONT) the process group of `entry` when `paused` is true or
 * false: the servers not being measured are held still while one is (run.mjs, `measuring`).
 */
export function pauseEntry(entry, paused) {
  if (entry && !entry.done) killGroup(entry.pid, paused ? 'SIGSTOP' : 'SIGCONT');
}

/** SIGTERM to the group, then SIGKILL to the group after graceMs; resolves when the leader left. */
export async function stopEntry(entry, graceMs = 4000) {
  if (!entry) return;
  const tree = treePids(entry.pid);
  if (!entry.done) {
    killGroup(entry.pid, 'SIGTERM');
    // A stopped group acts on SIGTERM only once continued (pauseEntry).
    killGroup(entry.pid, 'SIGCONT');
  }
  const timedOut = await Promise.race([entry.exited.then(() => false), sleep(graceMs).then(() => true)]);
  // Sweep: anything left in the group, and descendants that left it (rare), get SIGKILL.
  killGroup(entry.pid, 'SIGKILL');
  for (const pid of tree) if (pid !== entry.pid && pidAlive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  if (timedOut) await Promise.race([entry.exited, sleep(1000)]);
  tracked.delete(entry.pid);
}

export async function stopAll() {
  stopping = true;
  await Promise.all([...tracked.values()].map((e) => stopEntry(e, 3000)));
}

process.on('exit', () => {
  for (const e of tracked.values()) killGroup(e.pid, 'SIGKILL');
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function pidAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Runs a command to its end (bounded, SIGKILL on timeout): its exit code and stdout + stderr. */
export function runCapture(cmd, args, timeoutMs = 10000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return { code: r.status, out: `${r.stdout || ''}${r.stderr || ''}` };
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
export function treePids(root) {
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
export function cpuSnapshot(root) {
  const snap = new Map();
  for (const pid of treePids(root)) {
    const st = readStat(pid);
    if (st) snap.set(pid, { ticks: st.utime + st.stime, start: st.start });
  }
  return snap;
}
/** CPU seconds the tree used between two snapshots (new processes count from zero). */
export function cpuDelta(a, b) {
  let ticks = 0;
  for (const [pid, v] of b) {
    const before = a.get(pid);
    ticks += before && before.start === v.start ? v.ticks - before.ticks : v.ticks;
  }
  return ticks / CLK_TCK;
}

export function rssBytes(root) {
  let kb = 0;
  for (const pid of treePids(root)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return kb * 1024;
}

export function fdLimitOf(pid) {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : Infinity;
  } catch {
    return Infinity;
  }
}

// Children start through bash so that their open-file limit is raised first (as far as allowed).
export const WANT_NOFILE = 32768;
const LIMIT_WRAPPER = `ulimit -n ${WANT_NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
export function withLimit(cmd, args) {
  return ['bash', ['-c', LIMIT_WRAPPER, 'bench', cmd, ...args]];
}
export function raisedFdLimit() {
  const r = spawnSync('bash', ['-c', `${LIMIT_WRAPPER.replace(/; exec "\$@"$/, '')}; ulimit -n`], { encoding: 'utf8' });
  const v = (r.stdout || '').trim();
  return v === 'unlimited' ? Infinity : Number(v) || 0;
}

// ---------------------------------------------------------------------------------------------
// Files and the machine

/** Size of a file in bytes; 0 when it is missing (a server's log grows during a run). */
export function fileSize(file) {
  try { return statSync(file).size; } catch { return 0; }
}

/** The machine, Node and wrk (`wrkVersionText`: what `wrk -v` printed). */
export function machineInfo(wrkVersionText) {
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
