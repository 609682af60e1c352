/**
 * Only regular files and folders are ever opened (issue 10, item 8). A FIFO named page.html used
 * to block a thread of libuv's pool per request until a writer came; four requests jammed every
 * file operation. A FIFO, a unix socket, a FIFO named index.html and a link to a device are
 * answered at once with 403 (the node exists; the server refuses to open it; a folder whose index
 * is one is a 403 too, never its listing), more requests than
 * the pool has threads, and other files and listings keep being served. Listings name them with
 * their kind and no link.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request } from './raw-client';

let base = '';
let root = '';
let unixServer: Server;
let srv: Running;
let srvFollow: Running;
const fifos: string[] = [];

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-special-'));
  root = join(base, 'site');
  await mkdir(join(root, 'fifo-index'), { recursive: true });
  await writeFile(join(root, 'hello.txt'), 'hello\n');
  await writeFile(join(root, 'fifo-index', 'other.txt'), 'other\n');
  for (const f of [join(root, 'page.html'), join(root, 'fifo-index', 'index.html')]) {
    execFileSync('mkfifo', [f]);
    fifos.push(f);
  }
  await symlink('page.html', join(root, 'pipe-link.html'));
  await symlink('/dev/zero', join(root, 'zero'));
  // Folders whose index.html is one the server never serves, beside a file of their own.
  await writeFile(join(base, 'outside.html'), '<p>outside the root</p>\n');
  for (const [dir, target] of [['out-index', join(base, 'outside.html')], ['hidden-index', '.env'], ['dangling-index', 'nowhere.html']] as const) {
    await mkdir(join(root, dir));
    await writeFile(join(root, dir, 'other.txt'), 'other\n');
    await writeFile(join(root, dir, '.env'), 'SECRET=1\n');
    await symlink(target, join(root, dir, 'index.html'));
  }
  unixServer = createServer();
  await new Promise<void>((resolve) => unixServer.listen(join(root, 'sock'), resolve));
  srv = await startServer({ root });
  srvFollow = await startServer({ root, followSymlinks: true });
});

after(async () => {
  // Had a request opened a FIFO for reading, it would still be blocked: a writer releases it.
  for (const f of fifos) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: no reader is blocked, as it should be
    }
  }
  await Promise.all([srv.close(), srvFollow.close()]);
  await new Promise<void>((resolve) => unixServer.close(() => resolve()));
  await rm(base, { recursive: true, force: true });
});

test('twelve requests at once for a FIFO (more than the pool has threads) are answered 403 at once', async () => {
  const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(srv.port)));
  try {
    await Promise.all(clients.map((c, i) => c.write(request(i % 2 === 0 ? '/page.html' : '/pipe-link.html'))));
    const answers = await Promise.all(clients.map((c) => c.readResponse({ timeoutMs: 3_000 })));
    for (const res of answers) assert.equal(res.status, 403);
  } finally {
    for (const c of clients) c.destroy();
  }
  const rec = srv.records.find((r) => r.target === '/page.html');
  assert.match(rec?.note ?? '', /FIFO/);
  // The pool is free: files, folders and listings still answer.
  const hello = await fetchOnce(srv.port, request('/hello.txt'));
  assert.equal(hello.status, 200);
  assert.equal(hello.body.toString(), 'hello\n');
});

test('a unix socket and a link to a device are refused with 403, also with followSymlinks', async () => {
  for (const target of ['/sock', '/zero']) {
    const res = await fetchOnce(srvFollow.port, request(target), { timeoutMs: 3_000 });
    assert.equal(res.status, 403, target);
    assert.equal(res.body.length < 200, true, 'no device bytes');
  }
  assert.equal((await fetchOnce(srv.port, request('/sock'))).status, 403);
  assert.equal((await fetchOnce(srv.port, request('/zero'))).status, 404, 'a link out of the root, followSymlinks off');
});

test("a folder whose index.html the server never serves (a FIFO, a link out of the root or to a hidden file) is a 403 naming it, not its listing (helper-150)", async () => {
  // The FIFO is not opened; the listing in its place showed the folder's other names where its
  // author meant a page.
  for (const [folder, why] of [
    ['/fifo-index/', /index\.html is not served: Not served: a FIFO/],
    ['/out-index/', /index\.html is not served: A symlink leads outside the root/],
    ['/hidden-index/', /index\.html is not served: Dotfiles are not served: \.env/],
  ] as const) {
    const res = await fetchOnce(srv.port, request(folder), { timeoutMs: 3_000 });
    assert.equal(res.status, 403, folder);
    assert.match(res.body.toString(), /this folder's index page is one the server does not serve/, folder);
    assert.ok(!res.body.toString().includes('other.txt'), `${folder}: no listing`);
    const record = [...srv.records].reverse().find((r) => r.target === folder);
    assert.match(record?.note ?? '', why, folder);
  }
  // A link to nothing is no index: the folder is listed; with followSymlinks the page is served.
  const dangling = await fetchOnce(srv.port, request('/dangling-index/'));
  assert.equal(dangling.status, 200);
  assert.match(dangling.body.toString(), /<a href="other.txt">other.txt<\/a>/);
  const followed = await fetchOnce(srvFollow.port, request('/out-index/'));
  assert.equal(followed.status, 200);
  assert.equal(followed.body.toString(), '<p>outside the root</p>\n');
});

test('the root listing names the FIFO and the socket without following or linking them', async () => {
  const res = await fetchOnce(srv.port, request('/'), { timeoutMs: 3_000 });
  assert.equal(res.status, 200);
  const html = res.body.toString();
  assert.match(html, /<td>page.html<\/td><td class="n">fifo<\/td>/);
  assert.match(html, /<td>sock<\/td><td class="n">socket<\/td>/);
  assert.ok(!html.includes('href="page.html"'));
  assert.match(html, /<a href="hello.txt">hello.txt<\/a>/);
});
