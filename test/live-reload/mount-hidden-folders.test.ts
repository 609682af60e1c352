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
import { fetchOnce, request } from '../core/raw-client';
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

test('a link whose real path is hidden is neither walked nor watched, as the server refuses to serve through it; with dotfiles on it is', { skip: process.platform !== 'linux' }, async () => {
  // Before: site/vendor -> ../.cache/x (followSymlinks) was walked, a watch per folder in it, and
  // site/inner -> .hidden/y watched, while every request through either was a 404.
  const base = await mkdtemp(join(tmpdir(), 'porthole-link-hidden-'));
  const site = join(base, 'site');
  const lib = join(base, 'lib');
  const cache = join(base, '.cache');
  await mkdir(site);
  await mkdir(lib);
  await writeFile(join(site, 'index.html'), PAGE);
  for (let i = 0; i < 60; i++) await mkdir(join(cache, 'x', `d${i}`), { recursive: true });
  for (let i = 0; i < 30; i++) await mkdir(join(cache, 'z', `e${i}`), { recursive: true });
  for (let i = 0; i < 30; i++) await mkdir(join(site, '.hidden', 'y', `f${i}`), { recursive: true });
  // Out of the root into a hidden folder; inside the root into one; a mount's link out into one.
  await symlink(join('..', '.cache', 'x'), join(site, 'vendor'));
  await symlink(join('.hidden', 'y'), join(site, 'inner'));
  await symlink(join('..', '.cache', 'z'), join(lib, 'cached'));
  const before = inotifyWatches();
  const tree = await watchedTree(site, { followSymlinks: true, mounts: [{ prefix: '/m', folder: lib }] });
  try {
    const added = inotifyWatches() - before;
    assert.ok(added <= 2, `${added} watches for the root and the mount, beside three links into 123 hidden folders`);
    for (const [path, file] of [['/vendor/d1/a.html', join(cache, 'x', 'd1', 'a.html')], ['/inner/f1/a.html', join(site, '.hidden', 'y', 'f1', 'a.html')], ['/m/cached/e1/a.html', join(cache, 'z', 'e1', 'a.html')]] as const) {
      await writeFile(file, PAGE);
      assert.equal((await fetchOnce(tree.port, request(path))).status, 404, `the server refuses ${path}`);
    }
    await writeFile(join(cache, 'x', 'd2', 'b.html'), 'x');
    await writeFile(join(site, '.hidden', 'y', 'f2', 'b.html'), 'x');
    await writeFile(join(cache, 'z', 'e2', 'b.html'), 'x');
    await tree.writeUntilNamed('sentinel.css');
    assert.deepEqual(tree.paths.filter((p) => p !== '/sentinel.css'), [], 'nothing behind the links is named');
    // With dotfiles on the server serves through them, so they are watched (the links out walked).
    tree.tree.reconfigure({ dotfiles: true });
    await tree.writeUntilNamed('vendor/d3/a.html', join(cache, 'x', 'd3', 'a.html'));
    await tree.writeUntilNamed('inner/a.html', join(site, '.hidden', 'y', 'a.html'));
    await tree.writeUntilNamed('m/cached/e3/a.html', join(cache, 'z', 'e3', 'a.html'));
  } finally {
    await tree.close();
    await rm(base, { recursive: true, force: true });
  }
});
