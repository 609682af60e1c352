/**
 * A link in the tree to a folder in the tree (`latest` → `releases/v2`): a change at any depth
 * below it is named under the link too, as the README says, so a page that loaded
 * /latest/css/app.css gets its stylesheet swapped in place instead of a whole reload.
 */
import { test } from 'node:test';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchedTree } from './watched-tree';

test('a change two or more levels below a link to a folder in the tree is named under the link too (latest/css/app.css)', { skip: process.platform !== 'linux' }, async () => {
  // Before: only /releases/v2/css/app.css was named (helper-112), and the page reloaded whole.
  const site = await mkdtemp(join(tmpdir(), 'porthole-linked-depth-'));
  await mkdir(join(site, 'releases', 'v2', 'css', 'deep'), { recursive: true });
  await writeFile(join(site, 'releases', 'v2', 'css', 'app.css'), 'a{}');
  await writeFile(join(site, 'releases', 'v2', 'css', 'deep', 'b.css'), 'b{}');
  await symlink('releases/v2', join(site, 'latest'));
  const tree = await watchedTree(site);
  try {
    await tree.writeUntilNamed('latest/css/app.css', join(site, 'releases', 'v2', 'css', 'app.css'));
    await tree.writeUntilNamed('latest/css/deep/b.css', join(site, 'releases', 'v2', 'css', 'deep', 'b.css'));
    // The real place is named as before.
    await tree.writeUntilNamed('releases/v2/css/app.css');
  } finally {
    await tree.close();
    await rm(site, { recursive: true, force: true });
  }
});

test('the same inside a mount: a link in the mounted folder to a folder in it names deeper changes under the link', { skip: process.platform !== 'linux' }, async () => {
  const base = await mkdtemp(join(tmpdir(), 'porthole-linked-depth-mount-'));
  const site = join(base, 'site');
  const lib = join(base, 'lib');
  await mkdir(site);
  await mkdir(join(lib, 'inner', 'deep'), { recursive: true });
  await writeFile(join(lib, 'inner', 'deep', 'd.css'), 'd{}');
  await symlink('inner', join(lib, 'lin'));
  const tree = await watchedTree(site, { mounts: [{ prefix: '/m', folder: lib }] });
  try {
    await tree.writeUntilNamed('m/lin/deep/d.css', join(lib, 'inner', 'deep', 'd.css'));
  } finally {
    await tree.close();
    await rm(base, { recursive: true, force: true });
  }
});
