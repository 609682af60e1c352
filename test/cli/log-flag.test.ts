/**
 * `--log FILE` and porthole.config.json's `logFile` (helper-69 §10) as the CLI meets them: the same
 * rule as the core's (test/core/log-file-place.test.ts): a missing folder stops the start and is
 * not made (nginx fails the same way), and a site file named by mistake is left as it was.
 * Needs `npm run build` first.
 */
import { after, before, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from '../core/raw-client';
import { WAIT_MS, killAllClis, requireBuiltCli, runCli } from './run-cli';

let base = '';
let site = '';
const PAGE = '<!doctype html><title>lg</title><p>page</p>\n';

before(async () => {
  requireBuiltCli();
  base = await mkdtemp(join(tmpdir(), 'porthole-log-flag-'));
  site = join(base, 'site');
  await mkdir(site);
  await writeFile(join(site, 'index.html'), PAGE);
});

after(async () => {
  killAllClis();
  await rm(base, { recursive: true, force: true });
});

async function exitOf(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const cli = runCli(args, base);
  const code = await withTimeout(cli.exited, WAIT_MS, 'the CLI to exit');
  return { code, stderr: cli.stderr };
}

test('--log in a folder that does not exist stops the start and makes no folder', async () => {
  const { code, stderr } = await exitOf([site, '--port', '0', '--log', join(base, 'nonexistent', 'dir', 'x.log')]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /nonexistent[/\\]dir does not exist; create it/, stderr);
  assert.equal(existsSync(join(base, 'nonexistent')), false);
});

test('--log under a file (page.html/access.log) names that file as what is no folder (helper-117)', async () => {
  const { code, stderr } = await exitOf([site, '--port', '0', '--log', join(site, 'index.html', 'access.log')]);
  assert.equal(code, 1, stderr);
  assert.ok(stderr.includes(`: ${join(site, 'index.html')} is a regular file, not a folder; name a file in a folder that exists`), stderr);
  assert.equal(await readFile(join(site, 'index.html'), 'utf8'), PAGE);
});

test('--log or logFile ending in "/" (a folder, not made yet) stops the start and makes no file of that name', async () => {
  // resolve() drops the slash: `--log logs/` wrote its lines into a new file named logs.
  const { code, stderr } = await exitOf([site, '--port', '0', '--log', 'logs/']);
  assert.equal(code, 1, stderr);
  assert.equal(stderr, 'porthole: --log "logs/": ends in "/", which names a folder, not a file; name a file in it (e.g. logs/access.log)\nporthole: nothing was started; `porthole --help` lists the options.\n');
  assert.equal(existsSync(join(base, 'logs')), false);
  const configured = join(base, 'slash');
  await mkdir(configured);
  await writeFile(join(configured, 'porthole.config.json'), JSON.stringify({ logFile: 'logs/' }));
  const file = await exitOf([configured, '--port', '0']);
  assert.equal(file.code, 1, file.stderr);
  assert.match(file.stderr, /porthole\.config\.json: logFile: "logs\/" ends in "\/", which names a folder, not a file; name a file in it \(e\.g\. logs\/access\.log\)$/m);
  assert.equal(existsSync(join(configured, 'logs')), false);
});

test('--log naming a FIFO (as /dev/stdout is when piped) stops the start in words, not "invalid seek"', async (t) => {
  if (process.platform === 'win32') {
    t.skip('no FIFOs');
    return;
  }
  const fifo = join(base, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const { code, stderr } = await exitOf([site, '--port', '0', '--log', fifo]);
  assert.equal(code, 1, stderr);
  assert.equal(stderr, `porthole: cannot write the log file ${fifo}: it is a named pipe (FIFO), not a regular file: the request log is a regular file; name one (e.g. access.log in a folder that exists)\n`);
});

test('--log naming a site page stops the start and leaves the page as it was', async () => {
  const { code, stderr } = await exitOf([site, '--port', '0', '--log', join(site, 'index.html')]);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /not a request log/, stderr);
  assert.equal(await readFile(join(site, 'index.html'), 'utf8'), PAGE);
});

test('the config file\'s logFile in a folder that does not exist stops the start the same way', async () => {
  const configured = join(base, 'configured');
  await mkdir(configured);
  await writeFile(join(configured, 'porthole.config.json'), JSON.stringify({ logFile: 'logs/access.log' }));
  const { code, stderr } = await exitOf([configured, '--port', '0']);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /logs does not exist; create it/, stderr);
  assert.equal(existsSync(join(configured, 'logs')), false);
});

test('--log naming a symbolic link whose target\'s folder is gone says so, not that the link\'s own folder is missing', async (t) => {
  if (process.platform === 'win32') return t.skip('symbolic links need privileges on Windows');
  // logs/ exists; logs/access.log -> ../old-logs/access.log, and old-logs/ was removed (a rotation
  // scheme undone by hand): "its folder …/logs does not exist; create it" sent the user to make a
  // folder that was there.
  const logs = join(base, 'logs-with-link');
  await mkdir(logs);
  await symlink(join('..', 'old-logs', 'access.log'), join(logs, 'access.log'));
  const { code, stderr } = await exitOf([site, '--port', '0', '--log', join(logs, 'access.log')]);
  assert.equal(code, 1, stderr);
  assert.doesNotMatch(stderr, /logs-with-link does not exist/, stderr);
  assert.match(stderr, /symbolic link to .*old-logs[/\\]access\.log/, stderr);
  assert.match(stderr, /old-logs does not exist\); create that folder, or remove the link/, stderr);
  assert.equal(existsSync(join(base, 'old-logs')), false, 'no folder is made');
});

test('--log in a folder whose file system makes no files (/proc) says so, not that /proc does not exist', async (t) => {
  if (process.platform !== 'linux' || !existsSync('/proc/self')) return t.skip('/proc is Linux\'s');
  const { code, stderr } = await exitOf([site, '--port', '0', '--log', '/proc/porthole-test.log']);
  assert.equal(code, 1, stderr);
  assert.doesNotMatch(stderr, /folder \/proc does not exist/, stderr);
  assert.match(stderr, /no file can be made in \/proc \(ENOENT/, stderr);
  assert.match(stderr, /name a file in a folder on a disk/, stderr);
});

test('--log /dev/full or /dev/null stops the start saying it is a device, not a regular file, and what to do', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('/dev/full is Linux');
    return;
  }
  // Before: /dev/full was "a file that is not a request log", and /dev/null was accepted (every
  // line thrown away) though a log must be a regular file.
  for (const device of ['/dev/full', '/dev/null']) {
    const { code, stderr } = await exitOf([site, '--port', '0', '--log', device]);
    assert.equal(code, 1, stderr);
    assert.equal(
      stderr,
      `porthole: cannot write the log file ${device}: it is a character device, not a regular file: the request log is a regular file; name one (e.g. access.log in a folder that exists)${device === '/dev/null' ? '; to keep no log file, start without --log' : ''}\n`,
    );
  }
});
