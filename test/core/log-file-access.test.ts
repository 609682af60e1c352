/**
 * The active request log is served only to this computer (issue 10, item 10). The decision uses
 * the exchange's client IP, its Host and the fields a proxy or a tunnel adds
 * (isThisComputersRequest): tested here as a policy, and over TCP from 127.0.0.1 (which must still
 * read it, unless it comes through a tunnel). test/network/netns.test.ts asks from a real second
 * host and gets 404.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSet, loopbackOnlyRefusal } from '../../src/core/files/loopback-only';
import { isThisComputersRequest } from '../../src/core/access/access-policy';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

let root = '';
let srv: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-logaccess-'));
  await writeFile(join(root, 'hello.txt'), 'hello\n');
  srv = await startServer({ root, logFile: join(root, 'requests.log') });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

test('policy: the log is refused to every request not from this computer and given to every one from it, by identity or by real path', () => {
  const logPath = join(root, 'requests.log');
  const log = statSync(logPath);
  const other = statSync(join(root, 'hello.txt'));
  const files = new FileSet();
  files.add(log, logPath);
  // The same path with another inode: the log removed and made again there.
  const remade = { dev: log.dev, ino: log.ino + 1 };
  const visitor = { fromThisComputer: false };
  const thisComputer = { fromThisComputer: true };
  assert.match(loopbackOnlyRefusal(log, join(root, 'link-to-log'), visitor, files) ?? '', /only to this computer/, 'by identity');
  assert.match(loopbackOnlyRefusal(remade, logPath, visitor, files) ?? '', /only to this computer/, 'by real path');
  assert.equal(loopbackOnlyRefusal(other, join(root, 'hello.txt'), visitor, files), undefined, 'other files are not affected');
  assert.equal(loopbackOnlyRefusal(log, logPath, thisComputer, files), undefined, 'this computer reads it');
  assert.equal(loopbackOnlyRefusal(log, logPath, visitor, undefined), undefined, 'no log, nothing refused');
});

test('policy: a request is this computer\'s only from a loopback address, by a loopback name, through no proxy or tunnel', () => {
  for (const ip of ['192.168.1.20', '10.231.200.2', '::ffff:192.168.1.20', 'fe80::1', '2001:db8::5', '0.0.0.0']) {
    assert.equal(isThisComputersRequest(ip, [], '127.0.0.1:8000'), false, `${ip}: not loopback`);
  }
  for (const ip of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) {
    for (const host of ['127.0.0.1:8000', 'localhost', 'LOCALHOST.:8000', 'app.localhost:8000', '[::1]:8000', '127.1', undefined]) {
      assert.equal(isThisComputersRequest(ip, host === undefined ? [] : [['host', host]], host), true, `${ip}, Host ${host}`);
    }
  }
  // A tunnel's visitor: the tunnel's public name, or the fields it adds naming the real client.
  for (const host of ['abc.ngrok-free.app', 'preview.example.com:443', '192.168.1.5:8000', 'mybox:8000', '']) {
    assert.equal(isThisComputersRequest('127.0.0.1', [['host', host]], host), false, `Host ${JSON.stringify(host)}`);
  }
  for (const field of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'cf-connecting-ip', 'true-client-ip', 'x-client-ip']) {
    assert.equal(isThisComputersRequest('127.0.0.1', [['host', 'localhost:8000'], [field, '203.0.113.7']], 'localhost:8000'), false, field);
  }
});

test('over TCP from 127.0.0.1 the log is served, before and after a reconfigure', async () => {
  assert.equal((await fetchOnce(srv.port, request('/hello.txt'))).status, 200);
  const res = await fetchOnce(srv.port, request('/requests.log'));
  assert.equal(res.status, 200);
  srv.server.reconfigure({ listing: false });
  // The running server still knows which file is its log after reconfiguring.
  const files = srv.server.hooks.files.loopbackOnly;
  assert.ok(files?.has(statSync(join(root, 'requests.log')), join(root, 'requests.log')), 'the log stays loopback-only');
  assert.equal((await fetchOnce(srv.port, request('/requests.log'))).status, 200);
});

test('a new log file is made 0600: only this user reads the clients\' addresses and URLs (helper-50: 0644)', { skip: process.platform === 'win32' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-log-mode-'));
  const logFile = join(dir, 'logs', 'access.log');
  await mkdir(join(dir, 'logs')); // the log's folder must exist, as for nginx
  const srv = await startServer({ root: dir, logFile, reload: { enabled: false } });
  try {
    assert.equal(statSync(logFile).mode & 0o777, 0o600);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * The log grows while this computer reads it: a line lands between a read's stat and its end as
 * often as the log is written (every FILE_FLUSH_MS, or every 64 KiB under load). Each read is one
 * version all the same, the bytes up to its stat's length (CI, stop 32: a 503 "the file changed
 * while it was being read" for this computer's own reader, when the server's write of another
 * request's line met the read). Here a second process appends a line every millisecond, as a busy
 * server's writes would, so that every read meets one. Small logs (read whole) and large ones
 * (over 1 MiB: streamed, never cached) alike; GET, HEAD and a Range.
 */
for (const prefill of [1, 12_000]) {
  test(`the log read while lines are appended to it is 200, a prefix of the log, every time (${prefill === 1 ? 'small, read whole' : 'over 1 MiB, streamed'})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'porthole-log-growing-'));
    const logFile = join(dir, 'access.log');
    const line = '127.0.0.1 - - [02/Dec/2026:16:00:00 +0000] "GET /hello.txt HTTP/1.1" 200 6 "-" "appended"\n';
    await writeFile(logFile, line.repeat(prefill));
    const before = statSync(logFile).size;
    const running = await startServer({ root: dir, logFile, reload: { enabled: false } });
    // At most 3,000 lines over at most 3 s; stopped once the reads are done.
    const appender = spawn(
      process.execPath,
      ['-e', `const fs=require('fs');const fd=fs.openSync(process.argv[1],'a');let n=0;const t=setInterval(()=>{fs.writeSync(fd,${JSON.stringify(line)});if(++n>=3000)clearInterval(t)},1);setTimeout(()=>process.exit(0),3000)`, logFile],
      { stdio: 'ignore' },
    );
    const appenderExited = new Promise((resolve) => appender.once('exit', resolve));
    try {
      for (let i = 0; i < 200 && statSync(logFile).size === before; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      const bodies: Buffer[] = [];
      const failures: string[] = [];
      for (let i = 0; i < 90; i++) {
        const kind = i % 3;
        const method = kind === 1 ? 'HEAD' : 'GET';
        const headers = kind === 2 ? ['Range: bytes=0-99'] : [];
        const res = await fetchOnce(running.port, request('/access.log', { method, headers }), { head: method === 'HEAD' });
        const want = kind === 2 ? 206 : 200;
        if (res.status !== want) failures.push(`${method} ${headers.join('')}: ${res.status} ${res.body.toString('utf8', 0, 120)}`);
        else if (method === 'GET' && want === 200) {
          assert.equal(res.body.length, Number(res.header('content-length')));
          assert.ok(res.body.length >= before, 'never shorter than the log was before');
          bodies.push(res.body);
        }
      }
      appender.kill();
      await appenderExited;
      assert.deepEqual(failures, [], 'every read of the growing log answered');
      const final = await readFile(logFile);
      for (const body of bodies) assert.ok(final.subarray(0, body.length).equals(body), 'each read is the log as it was: a prefix of it now');
      assert.ok(new Set(bodies.map((b) => b.length)).size > 1, 'the log grew while it was read');
    } finally {
      appender.kill();
      await running.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('the log removed and made again is guarded by its identity too: renamed away, it is still the log; the removed file is forgotten, and a page given its inode number is not guarded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-log-remade-'));
  const logFile = join(dir, 'access.log');
  await writeFile(join(dir, 'hello.txt'), 'hello\n');
  const running = await startServer({ root: dir, logFile, reload: { enabled: false } });
  const messages: string[] = [];
  running.server.on('diagnostic', (_level, message) => messages.push(message));
  const guard = running.server.hooks.files.loopbackOnly;
  assert.ok(guard);
  try {
    assert.equal((await fetchOnce(running.port, request('/hello.txt?first'))).status, 200);
    const removedIno = statSync(logFile).ino;
    rmSync(logFile);
    // Each write checks the link count at most every FILE_REMOVED_CHECK_MS: ask until it is made again.
    for (let i = 0; i < 100 && !messages.some((m) => m.includes('it is made again')); i++) {
      await fetchOnce(running.port, request(`/hello.txt?again-${i}`));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(messages.some((m) => m.includes('it is made again')), `the log made again; said: ${messages.join(' | ')}`);
    // logrotate without copytruncate, `mv access.log old.log`: the server writes on into old.log.
    renameSync(logFile, join(dir, 'old.log'));
    const moved = join(dir, 'old.log');
    assert.match(loopbackOnlyRefusal(statSync(moved), realpathSync(moved), { fromThisComputer: false }, guard) ?? '', /only to this computer/, 'the re-made log, renamed, is refused to a network client');
    // The removed log's number is free now: a page made next may get it (ext4), and is served to everyone.
    await writeFile(join(dir, 'page.html'), '<p>page</p>');
    const page = statSync(join(dir, 'page.html'));
    if (page.ino !== removedIno) console.log('# page.html did not get the removed log\'s inode number on this file system');
    assert.equal(loopbackOnlyRefusal(page, realpathSync(join(dir, 'page.html')), { fromThisComputer: false }, guard), undefined, 'a new page is no log');
    assert.equal(guard.size, 1, 'one log file is guarded by identity, however often it was removed');
  } finally {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * A tunnel on this computer (ngrok, cloudflared, a development tunnel) connects from 127.0.0.1
 * for every visitor on the internet. Before, the loopback address alone made a visitor "this
 * computer": anyone with the tunnel's URL read the request log and the configuration file. Now
 * its requests (by the tunnel's public name, allowed with allowedHosts, or with X-Forwarded-For)
 * get the 404 of a missing file, their listings leave both out, and this computer still reads both;
 * each asked for by this computer first, so the cached file and the cached listing are the ones
 * a visitor meets next.
 */
test('over TCP from 127.0.0.1 through a tunnel (its public Host, X-Forwarded-For, Via or another field a proxy adds): the log and the configuration file are 404 and left out of listings; this computer still reads them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-log-tunnel-'));
  await writeFile(join(dir, 'hello.txt'), 'hello\n');
  await writeFile(join(dir, 'porthole.config.json'), JSON.stringify({ listing: true }));
  const running = await startServer({ root: dir, logFile: join(dir, 'requests.log'), allowedHosts: ['tunnel.example'], reload: { enabled: false } });
  try {
    const visitors: Array<{ name: string; host: string; headers: string[] }> = [
      { name: 'the tunnel\'s public name', host: 'tunnel.example', headers: [] },
      { name: 'X-Forwarded-For', host: `127.0.0.1:${running.port}`, headers: ['X-Forwarded-For: 203.0.113.7'] },
      { name: 'Forwarded', host: `localhost:${running.port}`, headers: ['Forwarded: for=203.0.113.7;proto=https'] },
      // Via: the field every proxy must add (RFC 9110 §7.6.3), alone; and a CDN's own two.
      { name: 'Via', host: `127.0.0.1:${running.port}`, headers: ['Via: 1.1 tunnel'] },
      { name: 'CDN-Loop', host: `localhost:${running.port}`, headers: ['CDN-Loop: cloudflare'] },
      { name: 'Fastly-Client-IP', host: `localhost:${running.port}`, headers: ['Fastly-Client-IP: 203.0.113.7'] },
    ];
    for (const file of ['/requests.log', '/porthole.config.json']) {
      assert.equal((await fetchOnce(running.port, request(file))).status, 200, `${file}: this computer`);
      for (const v of visitors) {
        const res = await fetchOnce(running.port, request(file, { host: v.host, headers: v.headers }));
        assert.equal(res.status, 404, `${file} through ${v.name}`);
      }
      assert.equal((await fetchOnce(running.port, request(file, { host: `localhost:${running.port}` }))).status, 200, `${file}: this computer, after the visitors`);
    }
    const own = (await fetchOnce(running.port, request('/'))).body.toString('utf8');
    assert.match(own, /requests\.log/, 'this computer\'s listing shows the log');
    for (const v of visitors) {
      const res = await fetchOnce(running.port, request('/', { host: v.host, headers: v.headers }));
      assert.equal(res.status, 200, v.name);
      const page = res.body.toString('utf8');
      assert.match(page, /hello\.txt/, `${v.name}: the listing`);
      assert.doesNotMatch(page, /requests\.log|porthole\.config\.json/, `${v.name}: the listing leaves the log and the configuration file out`);
    }
  } finally {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  }
});
