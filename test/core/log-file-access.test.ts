/**
 * The active request log is served only to this computer (issue 10, item 10). The decision uses
 * the exchange's client IP: tested here as a policy with non-loopback addresses, and over TCP from
 * 127.0.0.1 (which must still read it). test/network/netns.test.ts asks from a real second host
 * and gets 404.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackOnlyFiles, loopbackOnlyRefusal } from '../../src/core/files/loopback-only';
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

test('policy: the log is refused to every non-loopback address and given to every loopback one', () => {
  const log = statSync(join(root, 'requests.log'));
  const other = statSync(join(root, 'hello.txt'));
  const files = new LoopbackOnlyFiles();
  files.add(log);
  for (const ip of ['192.168.1.20', '10.231.200.2', '::ffff:192.168.1.20', 'fe80::1', '2001:db8::5', '0.0.0.0']) {
    assert.match(loopbackOnlyRefusal(log, ip, files) ?? '', /only to this computer/, ip);
    assert.equal(loopbackOnlyRefusal(other, ip, files), undefined, `${ip}: other files are not affected`);
  }
  for (const ip of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) {
    assert.equal(loopbackOnlyRefusal(log, ip, files), undefined, ip);
  }
  assert.equal(loopbackOnlyRefusal(log, '192.168.1.20', undefined), undefined, 'no log, nothing refused');
});

test('over TCP from 127.0.0.1 the log is served, before and after a reconfigure', async () => {
  assert.equal((await fetchOnce(srv.port, request('/hello.txt'))).status, 200);
  const res = await fetchOnce(srv.port, request('/requests.log'));
  assert.equal(res.status, 200);
  srv.server.reconfigure({ listing: false });
  // The running server still knows which file is its log after reconfiguring.
  const files = srv.server.hooks.files.loopbackOnly;
  assert.ok(files?.has(statSync(join(root, 'requests.log'))), 'the log stays loopback-only');
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
