/**
 * Live reload past the inotify watch limit (helper-49): one ENOSPC closed every watch, so no page
 * reloaded again. The CLI runs in a user namespace of its own (`unshare -Ur`) whose
 * max_inotify_watches is 20, with 60 folders to watch: it must say so once, and keep reloading
 * pages for changes in the folders it does watch (the root first). Linux with unprivileged user
 * namespaces only; the limit is the namespace's, never the machine's.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, WAIT_MS, killAllClis, requireBuiltCli, runCommand, stopCli, waitForLocalPort } from './run-cli';
import { withTimeout } from '../core/raw-client';

const usable =
  process.platform === 'linux' && spawnSync('unshare', ['-Ur', 'sh', '-c', 'echo 20 > /proc/sys/user/max_inotify_watches'], { timeout: 5_000 }).status === 0;
let base = '';

before(async () => {
  if (!usable) return;
  requireBuiltCli();
  base = await mkdtemp(join(tmpdir(), 'porthole-watch-limit-'));
  await writeFile(join(base, 'index.html'), '<!doctype html><title>x</title><p>one</p>\n');
  for (let i = 0; i < 60; i++) await mkdir(join(base, `folder-${String(i).padStart(2, '0')}`));
});

after(async () => {
  killAllClis();
  if (base !== '') await rm(base, { recursive: true, force: true });
});

test('past the inotify limit: said once, and the folders watched still reload pages', { skip: !usable && 'needs unshare -Ur (unprivileged user namespaces)' }, async () => {
  const cli = runCommand(
    'unshare',
    ['-Ur', 'sh', '-c', 'echo 20 > /proc/sys/user/max_inotify_watches && exec "$@"', 'sh', process.execPath, CLI, base, '--port', '0', '--no-host-names'],
    base,
  );
  const port = await waitForLocalPort(cli);
  const stream = connect(port, '127.0.0.1');
  let text = '';
  stream.setEncoding('utf8').on('data', (t: string) => (text += t));
  stream.on('error', () => undefined);
  stream.write(`GET /__porthole/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  try {
    await withTimeout(
      (async () => {
        while (!text.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 20));
      })(),
      WAIT_MS,
      'the event stream',
    );
    for (let i = 0; i < 40 && !/index\.html/.test(text.slice(text.indexOf('\r\n\r\n'))); i++) {
      await writeFile(join(base, 'index.html'), `<!doctype html><title>x</title><p>${i}</p>\n`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(text.slice(text.indexOf('\r\n\r\n')), /index\.html/, `no reload for the root's page; stream: ${JSON.stringify(text.slice(0, 600))}`);
    const said = (cli.stdout + cli.stderr).match(/inotify watch limit is reached/g) ?? [];
    assert.equal(said.length, 1, `the limit is said once: ${cli.stdout}${cli.stderr}`);
  } finally {
    stream.destroy();
    await stopCli(cli);
  }
});
