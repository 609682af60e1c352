/**
 * A folder replaced by a file while live reload watches it (helper-117): a change under `a/`
 * waited for the watcher's next turn while `rm -rf a && echo > a` ran, and the check of whether
 * that path was the request log (a stat of `a/b.css`) threw ENOTDIR out of the flush: the server
 * stopped with Node's stack trace. `throwIfNoEntry: false` covers ENOENT only. The same for a
 * `--watch` folder under a file at start (a raw `ENOTDIR: not a directory, stat …`, exit 1) and
 * a mount under a file ("does not exist; create it", which cannot be done there). And the --key
 * file's folder replaced by a file (or a link loop) before an edit of porthole.config.json that
 * restarts: the restart's stat of the key file (never served, skipped when missing) threw ENOTDIR
 * or ELOOP, and the CLI stopped with `porthole: ENOTDIR: not a directory, stat '…/key.pem'`.
 * And folders nested past PATH_MAX made while running: their watch threw ENAMETOOLONG, and live
 * reload stopped for every file ("live reload stopped watching files: ENAMETOOLONG: …").
 * Needs `npm run build` first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { fetchOnce, request, withTimeout } from '../core/raw-client';
import { WAIT_MS, eventStream, runCli, siteFolderForTests, stopCli, waitForLocalPort, waitForStderr } from './run-cli';

const site = siteFolderForTests('porthole-folder-becomes-file-');

test('a watched folder replaced by a file, again and again while its changes wait: the server keeps serving', async () => {
  const log = join(site.base, 'access.log');
  const cli = runCli([site.root, '--port', '0', '--log', log, '--quiet', '--no-host-names'], site.base);
  try {
    const port = await waitForLocalPort(cli);
    const a = join(site.root, 'a');
    // Bounded: 300 rounds, each a few file-system calls (well under a second in all).
    for (let i = 0; i < 300 && cli.child.exitCode === null; i++) {
      await rm(a, { recursive: true, force: true });
      await mkdir(a);
      await writeFile(join(a, 'b.css'), `b { order: ${i} }\n`);
      await rm(a, { recursive: true, force: true });
      await writeFile(a, 'now a file\n');
    }
    // The watcher's turns after the last round.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(cli.child.exitCode, null, `the server stopped: ${cli.stderr}`);
    const res = await fetchOnce(port, request('/'));
    assert.equal(res.status, 200);
    assert.doesNotMatch(cli.stderr, /ENOTDIR|node:fs|at statSync/, cli.stderr);
  } finally {
    if (cli.child.exitCode === null) assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});

test('a --watch folder or a mount under a file: no raw error; the mount names the file', async () => {
  const file = join(site.base, 'plain.txt');
  await writeFile(file, 'x\n');
  const watched = runCli([site.root, '--port', '0', '--quiet', '--watch', join(file, 'templates')], site.base);
  try {
    await waitForLocalPort(watched);
    // Named: it cannot be made while the file is there.
    await waitForStderr(watched, /live reload: this folder does not exist, nor can it yet: \S+plain\.txt is a regular file, not a folder; it is watched from when it is made \(/);
    assert.doesNotMatch(watched.stderr, /ENOTDIR|node:fs/, watched.stderr);
  } finally {
    assert.equal(await stopCli(watched), 0, watched.stderr);
  }
  const mounted = runCli([site.root, '--port', '0', '--quiet', '--mount', `/v=${join(file, 'lib')}`], site.base);
  assert.equal(await withTimeout(mounted.exited, WAIT_MS, 'exit on a mount under a file'), 1, mounted.stderr);
  assert.ok(mounted.stderr.includes(`mounted at /v does not exist: ${file} is a regular file, not a folder; fix the mount`), mounted.stderr);
});

test('the --key folder replaced by a file, then a link loop, before edits that restart: each restart serves', async () => {
  const keys = join(site.base, 'keys');
  await mkdir(keys);
  const made = createSelfSignedCertificate(['localhost', '127.0.0.1']);
  await writeFile(join(keys, 'cert.pem'), made.cert);
  await writeFile(join(keys, 'key.pem'), made.key, { mode: 0o600 });
  const config = join(site.root, 'porthole.config.json');
  await writeFile(config, JSON.stringify({ reload: { debounceMs: 40 } }));
  const cli = runCli([site.root, '--port', '0', '--quiet', '--cert', join(keys, 'cert.pem'), '--key', join(keys, 'key.pem')], site.base);
  try {
    await waitForLocalPort(cli);
    // The key is in memory: its file gone, or no longer reachable, is no reason to stop.
    const layouts: Array<() => Promise<void>> = [() => writeFile(keys, 'now a file\n'), () => symlink('keys', keys)];
    for (const [i, layout] of layouts.entries()) {
      await rm(keys, { recursive: true, force: true });
      await layout();
      await writeFile(config, JSON.stringify({ reload: { debounceMs: 50 + i } }));
      await withTimeout(
        (async () => {
          for (let n = 0; n < 200 && (cli.stdout.match(/^Local: /gm)?.length ?? 0) < i + 2 && cli.child.exitCode === null; n++) await new Promise((r) => setTimeout(r, 50));
        })(),
        WAIT_MS,
        'the restart',
      );
      assert.equal(cli.child.exitCode, null, `the server stopped: ${cli.stderr}`);
      assert.equal(cli.stdout.match(/^Local: /gm)?.length, i + 2, `restart ${i + 1} (stdout: ${cli.stdout}; stderr: ${cli.stderr})`);
    }
    assert.doesNotMatch(cli.stderr, /ENOTDIR|ELOOP|node:fs/, cli.stderr);
  } finally {
    if (cli.child.exitCode === null) assert.equal(await stopCli(cli), 0, cli.stderr);
    await rm(config, { force: true });
  }
});

test('folders nested past PATH_MAX made while running: live reload keeps watching the rest, and says nothing raw', async () => {
  const cli = runCli([site.root, '--port', '0', '--quiet'], site.base);
  const events = { text: '' };
  try {
    const port = await waitForLocalPort(cli);
    const stream = await eventStream(port, events);
    try {
      // 25 names of 200 bytes: 5,000 bytes of path below the root (PATH_MAX is 4,096), each
      // folder made from the one above it (fs/promises takes the whole path, which is too long).
      const made = spawnSync(process.execPath, ['-e', `for (let i = 0; i < 25; i++) { require('fs').mkdirSync('${'d'.repeat(200)}'); process.chdir('${'d'.repeat(200)}'); }`], { cwd: site.root });
      assert.equal(made.status, 0, made.stderr.toString());
      // The watcher's turns after the folders were made.
      await new Promise((r) => setTimeout(r, 500));
      const sent = (): string => events.text.slice(events.text.indexOf('\r\n\r\n'));
      // Bounded: 40 edits at most.
      for (let i = 0; i < 40 && !/index\.html/.test(sent()); i++) {
        await writeFile(join(site.root, 'index.html'), `<p>${i}</p>`);
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.match(sent(), /index\.html/, `the root's page still reloads (stderr: ${cli.stderr})`);
      assert.doesNotMatch(cli.stderr, /ENAMETOOLONG|stopped watching/, cli.stderr);
    } finally {
      stream.destroy();
    }
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
    // rm(1) walks down folder by folder (Node's rm takes whole paths, too long here).
    spawnSync('rm', ['-rf', 'd'.repeat(200)], { cwd: site.root });
  }
});
