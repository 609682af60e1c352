/**
 * The watcher's bounds on what it reaches through symbolic links (Linux): every folder AND every
 * link reached through a link out of the tree counts toward MAX_LINKED_FOLDERS (a link to `/`
 * took about 3,000 watches: 2,000 folders and every link found in them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LINKED_FOLDERS } from '../../src/core/reload/live-reload-watcher';
import { inotifyWatches, watchedTree } from './watched-tree';

test('links reached through a link count toward the cap of folders and links behind links, said once', { skip: process.platform !== 'linux' }, async () => {
  const base = await mkdtemp(join(tmpdir(), 'porthole-links-behind-'));
  const site = join(base, 'site');
  const ext = join(base, 'ext');
  const files = join(base, 'files');
  const count = MAX_LINKED_FOLDERS + 100;
  await mkdir(site);
  await mkdir(join(ext, 'links'), { recursive: true });
  await mkdir(files);
  await writeFile(join(site, 'index.html'), 'page');
  // Each link leads to a file of its own (one inotify watch each: a shared target would share one).
  for (let i = 0; i < count; i++) {
    await writeFile(join(files, `f${i}.css`), '');
    await symlink(join(files, `f${i}.css`), join(ext, 'links', `l${i}.css`));
  }
  await symlink(join('..', 'ext'), join(site, 'shared'));
  const before = inotifyWatches();
  const tree = await watchedTree(site, { followSymlinks: true });
  try {
    const added = inotifyWatches() - before;
    // The root and the link itself, then at most the cap behind it.
    assert.ok(added <= MAX_LINKED_FOLDERS + 2, `${added} watches for a link to a folder holding ${count} links (the cap: ${MAX_LINKED_FOLDERS} behind links)`);
    const said = tree.warnings.filter((w) => w.includes('behind symbolic links'));
    assert.equal(said.length, 1, `said once: ${JSON.stringify(tree.warnings)}`);
    assert.match(said[0] ?? '', /folders and links/);
    // The root is still watched.
    await tree.writeUntilNamed('a.css');
  } finally {
    await tree.close();
    await rm(base, { recursive: true, force: true });
  }
});
