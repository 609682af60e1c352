/**
 * With dotfiles off, nothing hidden is watched, whatever holds it: a mount's hidden folders (a
 * `.venv`, a package's `.cache`, the mount's own `.well-known`, which is not the site's top) and
 * those behind a link out of the mount cost no inotify watch, as the root's never did, and a write
 * in them reloads nothing. Turned on, they are watched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inotifyWatches, watchedTree } from './watched-tree';

const PAGE = '<!doctype html><html><head><title>t</title></head><body>page</body></html>\n';

test('a mount\'s hidden folders, and those behind a link out of it, are not watched while dotfiles are off, and are once they are turned on', { skip: process.platform !== 'linux' }, async () => {
  const base = await mkdtemp(join(tmpdir(), 'porthole-mount-hidden-'));
  const site = join(base, 'site');
  const lib = join(base, 'lib');
  const ext = join(base, 'ext');
  await mkdir(site);
  await writeFile(join(site, 'index.html'), PAGE);
  for (let i = 0; i < 100; i++) await mkdir(join(lib, '.venv', 'lib', `pkg-${i}`), { recursive: true });
  for (let i = 0; i < 50; i++) await mkdir(join(lib, 'app', '.cache', `c${i}`), { recursive: true });
  await mkdir(join(lib, '.well-known', 'sub'), { recursive: true });
  for (let i = 0; i < 50; i++) await mkdir(join(ext, '.next', 'cache', `n${i}`), { recursive: true });
  await mkdir(join(ext, 'css'), { recursive: true });
  await symlink(join('..', 'ext'), join(lib, 'out'));
  const before = inotifyWatches();
  const tree = await watchedTree(site, { followSymlinks: true, mounts: [{ prefix: '/vendor', folder: lib }] });
  try {
    const added = inotifyWatches() - before;
    // The root, the mount, its app/, where its link out leads and the css/ there.
    assert.ok(added <= 5, `${added} watches for 5 served folders beside 260 hidden ones in a mount and behind its link`);
    // Writes in them reload nothing: the stylesheet saved after them is the only name sent.
    await writeFile(join(lib, '.venv', 'lib', 'pkg-3', 'x.html'), 'x');
    await writeFile(join(lib, 'app', '.cache', 'c1', 'x.css'), 'x');
    await writeFile(join(lib, '.well-known', 'sub', 'token'), 'x');
    await writeFile(join(ext, '.next', 'cache', 'n2', 'x.js'), 'x');
    await tree.writeUntilNamed('vendor/app/sentinel.css', join(lib, 'app', 'sentinel.css'));
    await tree.writeUntilNamed('vendor/out/css/a.css', join(ext, 'css', 'a.css'));
    assert.deepEqual(tree.paths.filter((p) => p.includes('/.')), [], 'nothing hidden is named');
    // With dotfiles on, they are served, so watched, at any depth.
    tree.tree.reconfigure({ dotfiles: true });
    await tree.writeUntilNamed('vendor/.venv/lib/pkg-7/a.html', join(lib, '.venv', 'lib', 'pkg-7', 'a.html'));
    await tree.writeUntilNamed('vendor/app/.cache/c3/a.css', join(lib, 'app', '.cache', 'c3', 'a.css'));
    await tree.writeUntilNamed('vendor/out/.next/cache/n4/a.js', join(ext, '.next', 'cache', 'n4', 'a.js'));
  } finally {
    await tree.close();
    await rm(base, { recursive: true, force: true });
  }
});
