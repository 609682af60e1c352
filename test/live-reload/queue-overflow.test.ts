/**
 * The kernel's inotify queue overflowing (more than fs.inotify.max_queued_events events waiting
 * while the event loop is busy: a `git checkout` or a build on a loaded machine). The kernel then
 * drops every further event and libuv drops its overflow notice, so a folder made meanwhile was
 * never watched (its saves never reloaded a page, with no word) and an edit of
 * porthole.config.json made meanwhile was never read. The loop here is held by spawnSync while a
 * child process floods watched folders with new files, makes folders and edits the config file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchRoot } from '../../src/core/reload/live-reload-watcher';
import { watchConfigFile } from '../../src/core/config/config-file';
import { realPathOf } from '../../src/core/files/file-cache';

/** The kernel's queue length, or undefined where there is none to read (not Linux). */
function queueLength(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
  } catch {
    return undefined;
  }
}
const queue = queueLength();
const usable = process.platform === 'linux' && queue !== undefined && queue > 0 && queue <= 200_000;

/**
 * Runs `script` (JavaScript, in a child Node) while this process's event loop is held: every
 * event the watches get meanwhile waits in the kernel's queue. The flood writes twice the queue's
 * length in new files (each is IN_CREATE and IN_MODIFY) into the folders `flood/0` … `flood/9`.
 */
function whileHeld(base: string, script: string): void {
  const flood = `const fs=require('fs');const p=require('path');for(let i=0;i<${queue ?? 0};i++)fs.writeFileSync(p.join(${JSON.stringify(base)},'flood',String(i%10),'f'+i),'x');`;
  const run = spawnSync(process.execPath, ['-e', flood + script], { timeout: 120_000 });
  assert.equal(run.status, 0, String(run.stderr));
}

/** Waits (at most `ms`) until `done()`, checking every 50 ms. */
async function until(done: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return done();
}

test('past an inotify queue overflow, folders made meanwhile are watched and pages reload', { skip: !usable && 'Linux inotify with a readable max_queued_events up to 200,000' }, async () => {
  const base = realPathOf(mkdtempSync(join(tmpdir(), 'porthole-queue-overflow-'))) ?? '';
  for (let i = 0; i < 10; i++) mkdirSync(join(base, 'flood', String(i)), { recursive: true });
  mkdirSync(join(base, 'old', 'sub'), { recursive: true });
  const seen: string[] = [];
  const watcher = watchRoot(base, (path) => seen.push(path), () => undefined);
  try {
    // The flood, then a folder made (with one inside), and a watched folder removed and made again.
    whileHeld(base, `fs.mkdirSync(p.join(${JSON.stringify(base)},'new','sub'),{recursive:true});fs.rmSync(p.join(${JSON.stringify(base)},'old'),{recursive:true});fs.mkdirSync(p.join(${JSON.stringify(base)},'old','sub'),{recursive:true});`);
    // The queued events are read (and handled a slice a turn) before the saves below.
    assert.ok(await until(() => seen.length > 0), 'the flood is seen');
    let count = -1;
    await until(() => {
      const quiet = seen.length === count;
      count = seen.length;
      return quiet;
    }, 20_000);
    const saves = [join(base, 'new', 'sub', 'page.html'), join(base, 'new', 'page.html'), join(base, 'old', 'sub', 'page.html')];
    for (const file of saves) {
      // Saved again until seen (bounded): the walk after the flood may still be under way.
      let i = 0;
      const saved = await until(() => {
        if (i++ % 5 === 0) writeFileSync(file, `<p>saved ${i}</p>`);
        return seen.includes(file);
      }, 5_000);
      assert.ok(saved, `a save of ${file.slice(base.length)} is seen after the overflow`);
    }
  } finally {
    watcher.close();
    rmSync(base, { recursive: true, force: true });
  }
});

test('past an inotify queue overflow, an edit of porthole.config.json made meanwhile is read', { skip: !usable && 'Linux inotify with a readable max_queued_events up to 200,000' }, async () => {
  const base = realPathOf(mkdtempSync(join(tmpdir(), 'porthole-queue-overflow-'))) ?? '';
  for (let i = 0; i < 10; i++) mkdirSync(join(base, 'flood', String(i)), { recursive: true });
  writeFileSync(join(base, 'porthole.config.json'), '{}\n');
  let changes = 0;
  const flood = watchRoot(base, () => undefined, () => undefined);
  const config = watchConfigFile(base, () => (changes += 1), () => undefined);
  try {
    // The read every watch makes once it has begun (an edit saved before it), then no other.
    assert.ok(await until(() => changes > 0, 10_000), 'the read after the watch began');
    await new Promise((r) => setTimeout(r, 300));
    const before = changes;
    // Edited after the flood: the queue is full by then, so its event is dropped.
    whileHeld(base, `fs.writeFileSync(p.join(${JSON.stringify(base)},'porthole.config.json'),'{"reload":{"debounceMs":50}}\\n');`);
    assert.ok(await until(() => changes > before, 10_000), 'the edit made while the queue overflowed is read');
  } finally {
    config.close();
    flood.close();
    rmSync(base, { recursive: true, force: true });
  }
});
