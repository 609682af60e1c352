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
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, eventStream, killAllClis, requireBuiltCli, runCommand, stopCli, waitForLocalPort } from './run-cli';

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
  const received = { text: '' };
  let stream: Socket | undefined;
  try {
    stream = await eventStream(port, received);
    for (let i = 0; i < 40 && !/index\.html/.test(received.text.slice(received.text.indexOf('\r\n\r\n'))); i++) {
      await writeFile(join(base, 'index.html'), `<!doctype html><title>x</title><p>${i}</p>\n`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(received.text.slice(received.text.indexOf('\r\n\r\n')), /index\.html/, `no reload for the root's page; stream: ${JSON.stringify(received.text.slice(0, 600))}`);
    const said = (cli.stdout + cli.stderr).match(/inotify watch limit is reached/g) ?? [];
    assert.equal(said.length, 1, `the limit is said once: ${cli.stdout}${cli.stderr}`);
  } finally {
    stream?.destroy();
    await stopCli(cli);
  }
});

test('past the inotify limit, raising it (as the message says) watches the folders past it, without a restart', { skip: !usable && 'needs unshare -Ur (unprivileged user namespaces)' }, async () => {
  // Before: the folders past the limit stayed unwatched until the next start, limit raised or not.
  const raise = join(base, 'raise-now');
  const limit = '/proc/sys/user/max_inotify_watches';
  // In the namespace, a loop (bounded: 60 s) raises its limit once the test makes `raise`.
  const script = `echo 20 > ${limit} && (i=0; while [ ! -e "$RAISE" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo 100000 > ${limit}) & exec "$@"`;
  const cli = runCommand('unshare', ['-Ur', 'sh', '-c', script, 'sh', process.execPath, CLI, base, '--port', '0', '--no-host-names'], base, { RAISE: raise });
  const port = await waitForLocalPort(cli);
  const received = { text: '' };
  let stream: Socket | undefined;
  try {
    stream = await eventStream(port, received);
    assert.match(cli.stdout + cli.stderr, /inotify watch limit is reached/);
    await writeFile(raise, '');
    const last = join(base, 'folder-59', 'page.html');
    const named = (): boolean => /folder-59\/page\.html/.test(received.text.slice(received.text.indexOf('\r\n\r\n')));
    for (let i = 0; i < 60 && !named(); i++) {
      await writeFile(last, `<!doctype html><title>x</title><p>${i}</p>\n`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(named(), `a save in a folder past the old limit reloads pages once it is raised; stream: ${JSON.stringify(received.text.slice(0, 600))}`);
  } finally {
    stream?.destroy();
    await stopCli(cli);
  }
});

test('no inotify instance left (fs.inotify.max_user_instances): said as that, with what to do, for live reload and the config file', { skip: !usable && 'needs unshare -Ur (unprivileged user namespaces)' }, async () => {
  // Before: "live reload stopped watching files: EMFILE: too many open files, watch '…'" and the
  // same for porthole.config.json: no word of inotify, nor of what to do (the per-user instance
  // limit, 128 by default, is often used up by editors and sync tools).
  const cli = runCommand(
    'unshare',
    ['-Ur', 'sh', '-c', 'echo 0 > /proc/sys/user/max_inotify_instances && exec "$@"', 'sh', process.execPath, CLI, base, '--port', '0', '--no-host-names'],
    base,
  );
  await waitForLocalPort(cli);
  try {
    const said = cli.stdout + cli.stderr;
    const lines = said.split('\n').filter((l) => /EMFILE/.test(l));
    assert.equal(lines.length, 2, `live reload and the config file each say it once: ${said}`);
    for (const line of lines) {
      assert.match(line, /fs\.inotify\.max_user_instances/, line);
      assert.match(line, /start Porthole again/, line);
    }
  } finally {
    await stopCli(cli);
  }
});
