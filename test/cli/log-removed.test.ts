/**
 * A --log file removed while the CLI serves (`rm access.log`, a clean-up script, a rotation that
 * deletes): the lines after it must land in a file someone can read. Before, they went on into the
 * removed file (still open, with no name), so every later line was lost without a word until the
 * server stopped. Now the file is made again at its path, and stderr says so once; also with
 * --workers, where each process writes its own lines.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchOnce } from '../core/raw-client';
import { runCli, stopCli, waitForLocalPort, siteFolderForTests } from './run-cli';

const site = siteFolderForTests('porthole-log-removed-');

/** Polls until `log` holds `pattern` (bounded: 5 s). */
async function untilLogged(log: string, pattern: RegExp): Promise<string> {
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = await readFile(log, 'latin1').catch(() => '');
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  return text;
}

/** GET `target` on a connection of its own (with --workers, each may be answered by another process): a 200. */
async function getOk(port: number, target: string): Promise<void> {
  assert.equal((await fetchOnce(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)).status, 200);
}

for (const workers of [1, 2]) {
  test(`the log file removed while serving is made again, and the lines after go there (--workers ${workers})`, async () => {
    const log = join(site.base, `removed-${workers}.log`);
    const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--no-host-names', '--no-reload', '--workers', String(workers)], site.base);
    try {
      const port = await waitForLocalPort(cli);
      const get = (target: string): Promise<void> => getOk(port, target);
      await get('/?before');
      assert.match(await untilLogged(log, /\?before /), /\?before /);
      await rm(log);
      for (let i = 0; i < 8; i++) {
        await get(`/?after${i}`);
        await new Promise((r) => setTimeout(r, 150));
      }
      const text = await untilLogged(log, /\?after7 /);
      for (let i = 0; i < 8; i++) assert.match(text, new RegExp(`"GET /\\?after${i} HTTP/1\\.1" 200 `), `line ${i} is lost: ${JSON.stringify(text)}`);
      assert.equal((await stat(log)).mode & 0o777, 0o600, 'made again as a new log is: for this user only');
      assert.match(cli.stderr, /the log file .*removed-\d\.log was removed while the server wrote it: it is made again/);
    } finally {
      assert.equal(await stopCli(cli), 0, cli.stderr);
    }
    // Lines written at the stop are in it too.
    assert.doesNotMatch(await readFile(log, 'latin1'), /\?before /, 'the new file starts after the removal');
  });
}

test('the log file removed with its folder: its lines wait, and go into the file once the folder is back', async () => {
  // Before, the file could not be made again and every line went on into the removed file (open,
  // with no name): lost without end, where a full disk loses none.
  const folder = join(site.base, 'logs');
  await mkdir(folder);
  const log = join(folder, 'access.log');
  const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--no-host-names', '--no-reload'], site.base);
  try {
    const port = await waitForLocalPort(cli);
    const get = (target: string): Promise<void> => getOk(port, target);
    await get('/?before');
    assert.match(await untilLogged(log, /\?before /), /\?before /);
    await rm(folder, { recursive: true });
    for (let i = 0; i < 4; i++) {
      await get(`/?gone${i}`);
      await new Promise((r) => setTimeout(r, 150));
    }
    // Said once, in words, while the folder is gone.
    for (let i = 0; i < 100 && !/cannot be made again/.test(cli.stderr); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(cli.stderr, /the log file .*access\.log was removed and cannot be made again \(its folder .* does not exist; .*\): its lines wait in memory/);
    await mkdir(folder);
    await get('/?back');
    const text = await untilLogged(log, /\?back /);
    for (let i = 0; i < 4; i++) assert.match(text, new RegExp(`"GET /\\?gone${i} HTTP/1\\.1" 200 `), `line ${i} is lost: ${JSON.stringify(text)}`);
    assert.ok(text.indexOf('?gone3 ') < text.indexOf('?back '), 'in order');
    for (let i = 0; i < 40 && !/no line was lost/.test(cli.stderr); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(cli.stderr, /the log file .*access\.log is written again: no line was lost/);
    assert.equal(cli.stderr.match(/cannot be made again/g)?.length, 1, cli.stderr);
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});

test('the log file removed and a FIFO put in its place while running: said to remove it (no path can be named then), and its lines go into the file made again once it is gone (helper-117)', async () => {
  // Before: "cannot be made again (it is a named pipe (FIFO), not a regular file: … name one (e.g.
  // access.log …))", start-time advice a running server cannot take.
  const folder = join(site.base, 'logs-fifo');
  await mkdir(folder);
  const log = join(folder, 'access.log');
  const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--no-host-names', '--no-reload'], site.base);
  try {
    const port = await waitForLocalPort(cli);
    const get = (target: string): Promise<void> => getOk(port, target);
    await get('/?before');
    assert.match(await untilLogged(log, /\?before /), /\?before /);
    await rm(log);
    const made = spawnSync('mkfifo', [log]);
    assert.equal(made.status, 0, String(made.stderr));
    await get('/?fifo');
    for (let i = 0; i < 100 && !/cannot be made again/.test(cli.stderr); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(cli.stderr, /the log file .*access\.log was removed and cannot be made again \(something else is there now: it is a named pipe \(FIFO\), not a regular file; remove it, and the log is made there again\)/);
    assert.doesNotMatch(cli.stderr, /name one/);
    await rm(log);
    await get('/?back');
    const text = await untilLogged(log, /\?back /);
    assert.match(text, /"GET \/\?fifo HTTP\/1\.1" 200 /, 'the line held while the FIFO was there');
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});
