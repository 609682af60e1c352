/**
 * The hidden-name rule on what is opened, not only on the name asked for (issue 10, item 4):
 * symlinks inside the root that lead to `.git` or a dotfile are as hidden as the names themselves,
 * over TCP, on the plain path, through a folder link, for live-reload page navigations, and in the
 * cache. The Windows aliases of hidden names are judged with `path.win32` (hidden-names.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hiddenSegmentReason, judgeRealPath, segmentsInside } from '../../src/core/files/hidden-names';
import { resolveRequestPath } from '../../src/core/files/resolve-path';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

const SECRET = 'GIT-CONFIG-SECRET-4c1e';
const ENV_SECRET = 'DOTENV-SECRET-77ab';
let base = '';
let root = '';
let srv: Running;
let srvDot: Running;
let srvFollow: Running;

before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'porthole-hidden-'));
  root = path.join(base, 'site');
  await mkdir(path.join(root, '.git'), { recursive: true });
  await mkdir(path.join(root, '.hidden'), { recursive: true });
  await mkdir(path.join(root, 'docs'), { recursive: true });
  await mkdir(path.join(base, 'elsewhere', '.secret'), { recursive: true });
  await writeFile(path.join(root, '.git', 'config'), `[core]\n${SECRET}\n`);
  await writeFile(path.join(root, '.git', 'page.html'), `<p>${SECRET}</p>\n`);
  await writeFile(path.join(root, '.env'), `${ENV_SECRET}\n`);
  await writeFile(path.join(root, '.hidden', 'x.txt'), `${ENV_SECRET} in a dot folder\n`);
  await writeFile(path.join(root, 'docs', 'plain.txt'), 'plain\n');
  await writeFile(path.join(base, 'elsewhere', '.secret', 'key.txt'), `${SECRET} outside\n`);
  await writeFile(path.join(base, 'elsewhere', 'ok.txt'), 'outside ok\n');
  await symlink('../.git/config', path.join(root, 'docs', 'x'));
  await symlink('../.git/page.html', path.join(root, 'docs', 'page.html'));
  await symlink('../.env', path.join(root, 'docs', 'env.txt'));
  await symlink('../.git', path.join(root, 'docs', 'gitdir'));
  await symlink('../.hidden', path.join(root, 'docs', 'hid'));
  await symlink('plain.txt', path.join(root, 'docs', 'plain-link.txt'));
  await symlink(path.join(base, 'elsewhere', '.secret', 'key.txt'), path.join(root, 'docs', 'key.txt'));
  await symlink(path.join(base, 'elsewhere', 'ok.txt'), path.join(root, 'docs', 'ok.txt'));
  srv = await startServer({ root });
  srvDot = await startServer({ root, dotfiles: true });
  srvFollow = await startServer({ root, followSymlinks: true });
});

after(async () => {
  await Promise.all([srv.close(), srvDot.close(), srvFollow.close()]);
  await rm(base, { recursive: true, force: true });
});

describe('over TCP', () => {
  test('a symlink to .git/config, .env or into a dot folder is a 404, and no secret byte is sent', async () => {
    for (const target of ['/docs/x', '/docs/env.txt', '/docs/gitdir/config', '/docs/hid/x.txt', '/docs/gitdir/']) {
      for (const server of [srv, srvFollow]) {
        const res = await fetchOnce(server.port, request(target));
        assert.equal(res.status, 404, `${target} on port ${server.port}`);
        assert.ok(!res.body.toString().includes(SECRET) && !res.body.toString().includes(ENV_SECRET), target);
      }
    }
    const rec = srv.records.find((r) => r.target === '/docs/x');
    assert.match(rec?.note ?? '', /Dotfiles are not served|Never served/);
  });

  test('.git stays hidden through a link with dotfiles on; a dotfile link is then served', async () => {
    for (const target of ['/docs/x', '/docs/gitdir/config']) {
      const res = await fetchOnce(srvDot.port, request(target));
      assert.equal(res.status, 404, target);
      assert.ok(!res.body.toString().includes(SECRET));
    }
    const env = await fetchOnce(srvDot.port, request('/docs/env.txt'));
    assert.equal(env.status, 200);
    assert.equal(env.body.toString(), `${ENV_SECRET}\n`);
  });

  test('a page navigation (live reload rewrites pages) through a link into .git is a 404', async () => {
    const res = await fetchOnce(srv.port, request('/docs/page.html', { headers: ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate'] }));
    assert.equal(res.status, 404);
    assert.ok(!res.body.toString().includes(SECRET));
  });

  test('a repeated request stays a 404 (nothing hidden ever enters the cache)', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await fetchOnce(srv.port, request('/docs/x'))).status, 404);
  });

  test('followSymlinks: a target outside the root is served unless a folder on its real path is hidden', async () => {
    assert.equal((await fetchOnce(srvFollow.port, request('/docs/ok.txt'))).status, 200);
    const key = await fetchOnce(srvFollow.port, request('/docs/key.txt'));
    assert.equal(key.status, 404);
    assert.ok(!key.body.toString().includes(SECRET));
    assert.equal((await fetchOnce(srv.port, request('/docs/ok.txt'))).status, 404, 'followSymlinks off');
  });

  test('links to ordinary files inside the root are still served', async () => {
    const res = await fetchOnce(srv.port, request('/docs/plain-link.txt'));
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'plain\n');
  });
});

describe('the rule as a pure function', () => {
  test('real paths inside the root: every segment below the root is judged', () => {
    const opts = { dotfiles: false, followSymlinks: false };
    assert.deepEqual(judgeRealPath('/srv/site/docs/a.txt', '/srv/site', opts, path.posix), { kind: 'inside', segments: ['docs', 'a.txt'] });
    assert.equal(judgeRealPath('/srv/site/.git/config', '/srv/site', opts, path.posix).kind, 'hidden');
    assert.equal(judgeRealPath('/srv/site/a/.env', '/srv/site', opts, path.posix).kind, 'hidden');
    assert.equal(judgeRealPath('/srv/site/.well-known/x', '/srv/site', opts, path.posix).kind, 'inside');
    assert.equal(judgeRealPath('/srv/site/a/.well-known/x', '/srv/site', opts, path.posix).kind, 'hidden');
    assert.equal(judgeRealPath('/srv/site/.git/config', '/srv/site', { ...opts, dotfiles: true }, path.posix).kind, 'hidden');
    assert.equal(judgeRealPath('/srv/site/.env', '/srv/site', { ...opts, dotfiles: true }, path.posix).kind, 'inside');
    // The root's own folders are not judged: only what lies below it.
    assert.equal(judgeRealPath('/home/u/.sites/a/x.txt', '/home/u/.sites/a', opts, path.posix).kind, 'inside');
    assert.equal(judgeRealPath('/srv/site2/x', '/srv/site', opts, path.posix).kind, 'outside');
    assert.equal(judgeRealPath('/srv/site/..foo', '/srv/site', { ...opts, dotfiles: true }, path.posix).kind, 'inside', 'a name, not a climb');
    assert.deepEqual(segmentsInside('/srv/site', '/srv/site', path.posix), []);
  });

  test('Windows: 8.3 short names, trailing dots and spaces, and streams alias hidden names and are refused', () => {
    const opts = { dotfiles: false, followSymlinks: false };
    const root = 'C:\\www\\site';
    for (const real of [
      'C:\\www\\site\\GIT~1\\config',
      'C:\\www\\site\\.git.\\config',
      'C:\\www\\site\\.git \\config',
      'C:\\www\\site\\.GIT\\config',
      'C:\\www\\site\\page.html::$DATA',
      'C:\\www\\site\\a\\x:secret',
      'C:\\www\\site\\ENV~1',
    ]) {
      assert.equal(judgeRealPath(real, root, opts, path.win32).kind, 'hidden', real);
      assert.equal(judgeRealPath(real, root, { ...opts, dotfiles: true }, path.win32).kind, 'hidden', `${real} (dotfiles on)`);
    }
    assert.equal(judgeRealPath('c:\\WWW\\Site\\docs\\a.txt', root, opts, path.win32).kind, 'inside', 'case-insensitive containment');
    assert.equal(judgeRealPath('D:\\www\\site\\a.txt', root, opts, path.win32).kind, 'outside', 'another drive');
    assert.equal(judgeRealPath('C:\\www\\site2\\a.txt', root, opts, path.win32).kind, 'outside');
    assert.equal(judgeRealPath('C:\\www\\site\\file~name.txt', root, opts, path.win32).kind, 'inside', 'a ~ alone is not a short name');
    // The same names are ordinary on POSIX file systems.
    assert.equal(hiddenSegmentReason('GIT~1', 0, false, false), undefined);
    assert.equal(hiddenSegmentReason('a.txt.', 0, false, false), undefined);
    assert.equal(hiddenSegmentReason('.git.', 0, true, false), undefined, 'on POSIX .git. is another name');
  });

  test('Windows: the request path refuses the same aliases before anything is opened', () => {
    for (const target of ['/GIT~1/config', '/.git./config', '/.git%20/config', '/page.html::$DATA', '/ENV~1']) {
      assert.equal(resolveRequestPath(target, true, true).kind, 'hidden', `${target} (dotfiles on)`);
    }
    assert.equal(resolveRequestPath('/.env.', false, true).kind, 'hidden');
    assert.equal(resolveRequestPath('/.env.', true, true).kind, 'ok', '.env itself is served with dotfiles on');
    assert.equal(resolveRequestPath('/docs/a.txt', false, true).kind, 'ok');
    assert.equal(resolveRequestPath('/GIT~1/config', false, false).kind, 'ok', 'POSIX: an ordinary name');
  });
});
