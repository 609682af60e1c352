/**
 * A link that leads nowhere (yet) is watched once what it leads to is there (Linux): a walked
 * link whose target a build removes and makes again (`rm -rf ../ui/dist && mkdir ../ui/dist`), a
 * link to a file there, and a link whose target is made later, folders and all. At most
 * MAX_AWAITED_LINKS are awaited, which is said once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_AWAITED_LINKS } from '../../src/core/reload/live-reload-watcher';
import { inotifyWatches, watchedTree } from './watched-tree';

test('a link whose target is removed and made again (a build), or made after the start, is watched again where it leads', { skip: process.platform !== 'linux' }, async () => {
  // Before: once ../ui/dist was removed, site/dist led nowhere and was never watched again: saves
  // in the rebuilt ui/dist (served through the link, 200) reloaded nothing.
  const base = await mkdtemp(join(tmpdir(), 'porthole-awaited-'));
  const site = join(base, 'site');
  const dist = join(base, 'ui', 'dist');
  await mkdir(site);
  await mkdir(dist, { recursive: true });
  await writeFile(join(site, 'index.html'), 'page');
  await writeFile(join(dist, 'app.js'), 'v0');
  await symlink(join('..', 'ui', 'dist'), join(site, 'dist'));
  await symlink(join('..', 'ui', 'dist', 'app.js'), join(site, 'app.js'));
  await symlink(join('..', 'gen', 'out', 'later'), join(site, 'later'));
  const tree = await watchedTree(site, { followSymlinks: true });
  try {
    await tree.writeUntilNamed('dist/a.js', join(dist, 'a.js'));
    for (let round = 0; round < 2; round++) {
      await rm(dist, { recursive: true });
      // Time for the watcher to read the removal before the folder is back (else it finds it
      // back at once: the fast case, which passed before too). No result depends on it.
      await sleep(500);
      await mkdir(dist);
      await tree.writeUntilNamed(`dist/b${round}.js`, join(dist, `b${round}.js`));
    }
    // A link to a file in the rebuilt folder: its removal was read with the folder's.
    await tree.writeUntilNamed('app.js', join(dist, 'app.js'));
    // A link whose target (and the folders above it) did not exist at the start.
    await mkdir(join(base, 'gen'));
    await sleep(200);
    await mkdir(join(base, 'gen', 'out', 'later'), { recursive: true });
    await tree.writeUntilNamed('later/c.js', join(base, 'gen', 'out', 'later', 'c.js'));
  } finally {
    await tree.close();
    await rm(base, { recursive: true, force: true });
  }
});

test('at most MAX_AWAITED_LINKS links that lead nowhere are awaited, each by one watch, and the bound is said once', { skip: process.platform !== 'linux' }, async () => {
  const base = await mkdtemp(join(tmpdir(), 'porthole-awaited-cap-'));
  const site = join(base, 'site');
  const ext = join(base, 'ext');
  const count = MAX_AWAITED_LINKS + 50;
  await mkdir(join(site, 'links'), { recursive: true });
  await writeFile(join(site, 'index.html'), 'page');
  // Each awaits its own folder (one inotify watch each: a shared folder would share one).
  for (let i = 0; i < count; i++) {
    await mkdir(join(ext, `d${i}`), { recursive: true });
    await symlink(join('..', '..', 'ext', `d${i}`, 'gone'), join(site, 'links', `l${i}`));
  }
  const before = inotifyWatches();
  const tree = await watchedTree(site, { followSymlinks: true });
  try {
    // The root and links/, and one watch per awaited link, no more.
    const added = inotifyWatches() - before - 2;
    assert.equal(added, MAX_AWAITED_LINKS, `watches for ${count} links that lead nowhere (the bound: ${MAX_AWAITED_LINKS})`);
    const said = tree.warnings.filter((w) => w.includes('lead nowhere'));
    assert.equal(said.length, 1, `said once: ${JSON.stringify(tree.warnings)}`);
    await tree.writeUntilNamed('a.css');
  } finally {
    await tree.close();
    await rm(base, { recursive: true, force: true });
  }
});
