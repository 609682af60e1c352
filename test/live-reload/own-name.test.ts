/**
 * A file or folder inside a watched folder that has the folder's own name (dist/dist) reports the
 * same inotify `rename` as the folder's own removal: it is an entry's change, not the root gone
 * (which re-walked and re-watched the whole tree and reloaded every page, per event).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchRoot } from '../../src/core/reload/live-reload-watcher';
import { realPathOf } from '../../src/core/files/file-cache';

test('an entry named like the watched root (dist/dist) made and removed is that entry\'s change, not the root gone and walked again', { skip: process.platform !== 'linux' }, async () => {
  const base = realPathOf(mkdtempSync(join(tmpdir(), 'porthole-own-name-'))) ?? '';
  const root = join(base, 'dist');
  mkdirSync(root);
  for (let i = 0; i < 200; i++) mkdirSync(join(root, `f${i}`));
  const seen: string[] = [];
  let wake: (() => void) | undefined;
  const watcher = watchRoot(root, (path) => {
    seen.push(path);
    wake?.();
  }, () => undefined);
  /** Waits (bounded) until an event names `path` or the root itself. */
  const until = async (path: string): Promise<string> => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const hit = seen.find((p) => p === path || p === root);
      if (hit !== undefined) return hit;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 500);
      });
    }
    return 'no event';
  };
  try {
    const own = join(root, 'dist');
    for (let round = 0; round < 3; round++) {
      seen.length = 0;
      writeFileSync(own, 'x');
      assert.equal(await until(own), own, `round ${round}: dist/dist written is named, the root is not taken for gone`);
      seen.length = 0;
      rmSync(own);
      assert.equal(await until(own), own, `round ${round}: dist/dist removed is named, the root is not taken for gone`);
    }
    // The tree is still watched: a change deep in it is seen.
    seen.length = 0;
    const deep = join(root, 'f199', 'a.html');
    writeFileSync(deep, 'a');
    assert.equal(await until(deep), deep);
    // The root itself removed and made again in one go is still the root gone and back.
    seen.length = 0;
    rmSync(root, { recursive: true });
    mkdirSync(root);
    assert.equal(await until(join(root, 'nothing')), root, 'the root made again in one go is reported as the root');
  } finally {
    watcher.close();
    rmSync(base, { recursive: true, force: true });
  }
});
