import assert from 'node:assert/strict';
import * as path from 'node:path';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { ChangeBatcher, MAX_BATCH_PATHS, MAX_OVERLAY_WAIT_MS, OverlayDebouncer, isInsideRoot } from '../../src/extension/reload/node-live-reload';

const root = path.resolve('/work/site');
const file = (name: string) => path.join(root, name);

/** Records what a server would have been told. */
function target() {
  const calls: Array<['overlay', string, string | undefined] | ['changed', string[]]> = [];
  return {
    calls,
    setOverlay: (p: string, text: string | undefined) => void calls.push(['overlay', p, text]),
    notifyChanged: (paths: readonly string[]) => void calls.push(['changed', [...paths]]),
  };
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

void test('isInsideRoot: the root and below it; never a sibling that merely shares its name', () => {
  assert.equal(isInsideRoot(root, root), true);
  assert.equal(isInsideRoot(root, file('a/b.html')), true);
  assert.equal(isInsideRoot(root, path.resolve('/work/site2/index.html')), false);
  assert.equal(isInsideRoot(root, path.resolve('/work/index.html')), false);
  assert.equal(isInsideRoot(root, file('..foo.html')), true);
});

void test('watcher events: one notifyChanged per tick, duplicates merged, the log file skipped', () => {
  const t = target();
  const batcher = new ChangeBatcher(t, [file('textlog.txt')]);
  batcher.add(file('index.html'));
  batcher.add(file('style.css'));
  batcher.add(file('index.html'));
  batcher.add(file('textlog.txt'));
  assert.deepEqual(t.calls, []);
  mock.timers.tick(0);
  assert.deepEqual(t.calls, [['changed', [file('index.html'), file('style.css')]]]);
  batcher.add(file('textlog.txt'));
  mock.timers.tick(10);
  assert.equal(t.calls.length, 1, 'the log file alone sends nothing');
});

void test('a burst of watcher events goes out in bounded messages', () => {
  const t = target();
  const batcher = new ChangeBatcher(t, []);
  for (let i = 0; i < MAX_BATCH_PATHS + 5; i++) batcher.add(file(`f${i}.html`));
  mock.timers.tick(0);
  assert.deepEqual(t.calls.map((c) => (c[0] === 'changed' ? c[1].length : -1)), [MAX_BATCH_PATHS, 5]);
});

void test('dispose drops what waits and sends nothing', () => {
  const t = target();
  const batcher = new ChangeBatcher(t, []);
  batcher.add(file('a.html'));
  batcher.dispose();
  mock.timers.tick(100);
  assert.deepEqual(t.calls, []);
});

void test('as you type: the text is read once the edits pause, then sent as the overlay', () => {
  const t = target();
  const overlays = new OverlayDebouncer(t, 100);
  let reads = 0;
  let text = '';
  const read = () => {
    reads++;
    return text;
  };
  for (const ch of 'hello') {
    text += ch;
    overlays.changed(file('index.html'), read);
    mock.timers.tick(50);
  }
  assert.equal(reads, 0, 'nothing read while typing');
  mock.timers.tick(50);
  assert.equal(reads, 1);
  assert.deepEqual(t.calls, [['overlay', file('index.html'), 'hello']]);
});

void test('continuous typing still updates at most MAX_OVERLAY_WAIT_MS after the first edit', () => {
  const t = target();
  const overlays = new OverlayDebouncer(t, 100);
  for (let ms = 0; ms < MAX_OVERLAY_WAIT_MS + 200; ms += 50) {
    overlays.changed(file('index.html'), () => `at ${ms}`);
    mock.timers.tick(50);
  }
  assert.ok(t.calls.length >= 1, 'sent while typing went on');
  assert.equal(t.calls[0]?.[0], 'overlay');
});

void test('documents are debounced separately', () => {
  const t = target();
  const overlays = new OverlayDebouncer(t, 100);
  overlays.changed(file('a.html'), () => 'A');
  mock.timers.tick(60);
  overlays.changed(file('b.html'), () => 'B');
  mock.timers.tick(40);
  assert.deepEqual(t.calls, [['overlay', file('a.html'), 'A']]);
  mock.timers.tick(60);
  assert.deepEqual(t.calls.at(-1), ['overlay', file('b.html'), 'B']);
});

void test('save or close: a pending edit is cancelled and a sent overlay dropped (the disk is served)', () => {
  const t = target();
  const overlays = new OverlayDebouncer(t, 100);
  overlays.changed(file('a.html'), () => 'A');
  overlays.drop(file('a.html'));
  mock.timers.tick(200);
  assert.deepEqual(t.calls, [], 'never sent, so nothing to drop');
  overlays.changed(file('a.html'), () => 'A2');
  mock.timers.tick(100);
  overlays.drop(file('a.html'));
  overlays.drop(file('a.html'));
  assert.deepEqual(t.calls, [['overlay', file('a.html'), 'A2'], ['overlay', file('a.html'), undefined]]);
  assert.equal(overlays.size, 0);
});

void test('switching to save drops every overlay, sent or pending', () => {
  const t = target();
  const overlays = new OverlayDebouncer(t, 100);
  overlays.changed(file('a.html'), () => 'A');
  mock.timers.tick(100);
  overlays.changed(file('b.html'), () => 'B');
  assert.equal(overlays.size, 2);
  overlays.dropAll();
  mock.timers.tick(200);
  assert.deepEqual(t.calls, [['overlay', file('a.html'), 'A'], ['overlay', file('a.html'), undefined]]);
  assert.equal(overlays.size, 0);
});

void test('dispose clears the timers and sends nothing', () => {
  const t = target();
  const overlays = new OverlayDebouncer(t, 100);
  overlays.changed(file('a.html'), () => 'A');
  overlays.dispose();
  mock.timers.tick(200);
  assert.deepEqual(t.calls, []);
});
