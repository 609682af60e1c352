/**
 * The request log removed while the server writes it is made again at its path (request-log.ts):
 * live reload must follow it as the log by its identity. Over a real PreviewServer and real files;
 * "nothing was sent" is shown by a later sentinel change arriving alone (no sleep decides).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PreviewServer } from '../../src/core/server/server';

/** One GET on its own connection (Connection: close); resolves with the status. */
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('error', reject);
    socket.on('end', () => resolve(Number(text.split(' ')[1])));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nSec-Fetch-Dest: empty\r\nConnection: close\r\n\r\n`);
  });
}

test('the log removed and made again: a new page given the removed log\'s inode number reloads pages, and the new log renamed still emits nothing', async () => {
  const root = await mkdtemp(join(tmpdir(), 'porthole-log-remade-'));
  writeFileSync(join(root, 'index.html'), '<p>x</p>');
  const log = join(root, 'access.log');
  const server = new PreviewServer();
  const messages: string[] = [];
  server.on('diagnostic', (_level, message) => messages.push(message));
  const { port } = await server.listen({ root, port: 0, resolveHostNames: false, logFile: log, reload: { debounceMs: 20 } });
  const paths: string[] = [];
  assert.ok(server.liveReload);
  server.liveReload.onEvent = (e) => paths.push(...e.paths);
  /** Writes `name` (a new version each time) until a change event names it; false after 100 tries. */
  const emitted = async (name: string): Promise<boolean> => {
    for (let i = 0; i < 100; i++) {
      writeFileSync(join(root, name), `v${i}`);
      for (let j = 0; j < 10 && !paths.includes(`/${name}`); j++) await sleep(10);
      if (paths.includes(`/${name}`)) return true;
    }
    return false;
  };
  try {
    assert.equal(await get(port, '/index.html?first'), 200);
    for (let i = 0; i < 200 && !(existsSync(log) && readFileSync(log, 'latin1').includes('first')); i++) await sleep(10);
    const removedIno = statSync(log).ino;
    rmSync(log);
    // The next write (at most FILE_REMOVED_CHECK_MS after the last check) makes it again.
    for (let i = 0; i < 100 && !messages.some((m) => m.includes('it is made again')); i++) {
      await get(port, `/index.html?again-${i}`);
      await sleep(20);
    }
    assert.ok(
      messages.some((m) => m.includes('it is made again')),
      `the log made again; said: ${messages.join(' | ')}`,
    );
    // The removed log's descriptor is closed: its inode number is free, and ext4 gives it to the next file.
    writeFileSync(join(root, 'new.html'), 'v');
    if (statSync(join(root, 'new.html')).ino !== removedIno) {
      // Another file system: the number is not reused at once; the rest still holds.
      console.log('# new.html did not get the removed log\'s inode number on this file system');
    }
    assert.ok(await emitted('new.html'), `a save of new.html reloads pages; got ${paths.join(' ')}`);

    // The new log renamed (logrotate, `mv`): the server writes on into it, and its lines emit nothing.
    renameSync(log, join(root, 'moved.log'));
    const before = paths.length;
    for (let i = 0; i < 5; i++) await get(port, `/index.html?moved-${i}`);
    for (let i = 0; i < 200 && !readFileSync(join(root, 'moved.log'), 'latin1').includes('moved-4'); i++) await sleep(10);
    assert.ok(await emitted('sentinel.css'), `the sentinel's change arrives; got ${paths.join(' ')}`);
    const after = paths.slice(before);
    assert.ok(!after.some((p) => /moved\.log|access\.log/.test(p)), `the renamed log's lines emit nothing; got ${after.join(' ')}`);
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});
