// The benchmark's process handling (scripts/bench/measurement.mjs): a server's whole process group
// is held still (SIGSTOP) while another server is measured and continued after (SIGCONT), and a
// group stopped that way still ends on SIGTERM. Real processes: a parent and the child it starts.
//   node --test test/bench/measurement.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { spawnTracked, pauseEntry, stopEntry, treePids } from '../../scripts/bench/measurement.mjs';

/** The state letter of `pid` in /proc (R, S, T for stopped, …), or undefined once it is gone. */
function state(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Polls until every pid's state satisfies `ok` (at most 5 s); returns the states seen last. */
async function until(pids, ok) {
  let states = [];
  for (let i = 0; i < 500; i++) {
    states = pids.map(state);
    if (states.every(ok)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  return states;
}

// A parent that starts a child in the parent's group (as porthole-w2's workers, nginx's worker) and
// says when it has.
const PARENT = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
process.on('SIGTERM', () => { child.kill('SIGTERM'); process.exit(0); });
setInterval(() => {}, 1000);
child.once('spawn', () => process.stdout.write('ready\\n'));
`;

test('a paused group is held still, parent and child, continues when resumed, and ends on SIGTERM', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const entry = spawnTracked('pause-test', process.execPath, ['-e', PARENT], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise((res, rej) => {
      entry.child.stdout.once('data', res);
      entry.exited.then(() => rej(new Error('the test parent exited before it was ready')));
    });
    const pids = treePids(entry.pid);
    assert.equal(pids.length, 2, `parent and child: ${pids}`);

    pauseEntry(entry, true);
    assert.deepEqual(await until(pids, (s) => s === 'T'), ['T', 'T']);
    pauseEntry(entry, false);
    const running = await until(pids, (s) => s !== undefined && s !== 'T');
    assert.ok(running.every((s) => s !== 'T' && s !== undefined), `continued: ${running}`);

    // Stopped again, then asked to end: it ends on its SIGTERM, not on the SIGKILL after the grace.
    pauseEntry(entry, true);
    await until(pids, (s) => s === 'T');
    const started = performance.now();
    await stopEntry(entry, 4000);
    assert.equal(entry.code, 0, `the parent's SIGTERM handler ran (code ${entry.code}, signal ${entry.signal})`);
    assert.ok(performance.now() - started < 3000, 'ended without waiting out the grace period');
    // Gone (or a zombie until whoever adopted it reaps it).
    const gone = await until(pids, (s) => s === undefined || s === 'Z');
    assert.ok(gone.every((s) => s === undefined || s === 'Z'), `gone: ${gone}`);
  } finally {
    await stopEntry(entry, 1000);
  }
});
