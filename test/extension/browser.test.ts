/**
 * porthole.browser, the pure part (node-browser.ts): the setting → the command lines to try, and
 * starting real programs (a missing one, one that fails, one that writes the URL it was given).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { browserChoice, splitCommandLine, startBrowser } from '../../src/extension/browser/node-browser';

const URL_ = 'http://127.0.0.1:8123/a%20b.html?x=1&y=$(touch /tmp/no)';

void test('default and empty: the system browser through VS Code', () => {
  assert.deepEqual(browserChoice('default', URL_), { kind: 'default' });
  assert.deepEqual(browserChoice(' Default ', URL_), { kind: 'default' });
  assert.deepEqual(browserChoice('', URL_), { kind: 'default' });
});

void test('named browsers: the usual programs of each platform, the URL one argument', () => {
  const linux = browserChoice('chrome', URL_, 'linux', {});
  assert.equal(linux.kind, 'program');
  if (linux.kind !== 'program') return;
  assert.deepEqual(linux.candidates.map((c) => c[0]), ['google-chrome', 'google-chrome-stable', 'chromium', 'chromium-browser']);
  for (const c of linux.candidates) assert.equal(c.at(-1), URL_);
  const mac = browserChoice('Firefox', URL_, 'darwin', {});
  assert.deepEqual(mac.kind === 'program' && mac.candidates, [['open', '-a', 'Firefox', URL_]]);
  const win = browserChoice('edge', URL_, 'win32', { 'ProgramFiles(x86)': 'C:\\Program Files (x86)' });
  assert.deepEqual(win.kind === 'program' && win.candidates, [['C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe', URL_]]);
});

void test('a command line: %URL% replaced in place (or the URL appended), quotes honoured, no shell', () => {
  assert.deepEqual(splitCommandLine(`firefox -P "dev profile" --new-tab '%URL%'`), ['firefox', '-P', 'dev profile', '--new-tab', '%URL%']);
  assert.deepEqual(splitCommandLine('  a   b  '), ['a', 'b']);
  assert.deepEqual(splitCommandLine('a ""'), ['a', '']);
  assert.equal(splitCommandLine('a "b'), undefined);
  const c = browserChoice('/opt/b/browser --app=%URL% --x', URL_);
  assert.deepEqual(c.kind === 'program' && c.candidates, [['/opt/b/browser', `--app=${URL_}`, '--x']]);
  const d = browserChoice('my-browser --new-window', URL_);
  assert.deepEqual(d.kind === 'program' && d.candidates, [['my-browser', '--new-window', URL_]]);
  assert.equal(browserChoice('"unclosed', URL_).kind, 'invalid');
});

void test('starting: a missing program and one that exits non-zero fail with the reason; the next candidate is tried', async () => {
  const missing = await startBrowser([['porthole-no-such-browser-xyz', URL_]]);
  assert.deepEqual(missing, { ok: false, reason: 'porthole-no-such-browser-xyz: not found' });
  const failing = await startBrowser([['sh', '-c', 'exit 3']]);
  assert.equal(failing.ok, false);
  assert.match(failing.ok ? '' : failing.reason, /exited with 3/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-browser-'));
  try {
    const out = path.join(dir, 'opened.txt');
    const choice = browserChoice(`sh -c 'printf %s "$0" > "$1"' %URL% ${out}`, URL_);
    assert.equal(choice.kind, 'program');
    if (choice.kind !== 'program') return;
    const started = await startBrowser([['porthole-no-such-browser-xyz'], ...choice.candidates]);
    assert.equal(started.ok, true);
    for (let i = 0; i < 100 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 20));
    // The URL arrived as one argument, byte for byte: no shell ever saw it.
    assert.equal(fs.readFileSync(out, 'utf8'), URL_);
    assert.equal(fs.existsSync('/tmp/no'), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('a browser that exits non-zero within the grace period is a failure though the loop was held up past it', async () => {
  // Its exit waits (SIGCHLD, read in the poll) while the grace timer falls due: the verdict is
  // given after that turn's reads, so the exit is seen first (before: `started`, and no fallback).
  const result = startBrowser([['sh', '-c', 'sleep 0.05; exit 3']], 100);
  await new Promise((r) => setImmediate(r));
  const end = Date.now() + 500;
  while (Date.now() < end);
  const outcome = await result;
  assert.equal(outcome.ok, false);
  assert.match(outcome.ok ? '' : outcome.reason, /exited with 3/);
});
