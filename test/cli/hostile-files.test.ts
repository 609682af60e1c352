/**
 * The CLI against hostile file-system states (issue 10): a FIFO in the root no longer jams the
 * process (requests answered, SIGTERM still stops it: item 8); out of descriptors, an existing file
 * is answered 503 with Retry-After, not "404 Cannot open: EMFILE" (item 11's open-error mapping);
 * a log file inside a shared root is said at start (item 10). Needs `npm run build` (dist/cli.js).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawClient, fetchOnce, request, withTimeout } from '../core/raw-client';
import { REPO, WAIT_MS, killAllClis, requireBuiltCli, runCli, runCommand, waitForLocalPort } from './run-cli';

let base = '';
let root = '';

before(async () => {
  requireBuiltCli();
  base = await mkdtemp(join(tmpdir(), 'porthole-cli-hostile-'));
  root = join(base, 'site');
  await mkdir(root);
  await writeFile(join(root, 'hello.txt'), 'hello\n');
  // Streamed (over the file cache's 1 MiB): a reader that stops holds its descriptor open.
  await writeFile(join(root, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 0x62));
  execFileSync('mkfifo', [join(root, 'page.html')]);
});

after(async () => {
  killAllClis();
  await rm(base, { recursive: true, force: true });
});

test('a FIFO in the root: requests are answered 403, other files served, and SIGTERM stops the process', async () => {
  const cli = runCli([root, '--port', '0', '--quiet'], base);
  const port = await waitForLocalPort(cli);
  const clients = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(port)));
  await Promise.all(clients.map((c) => c.write(request('/page.html'))));
  const fifo = await Promise.allSettled(clients.map((c) => c.readResponse({ timeoutMs: 3_000 })));
  const other = await RawClient.connect(port);
  await other.write(request('/hello.txt'));
  const hello = await other.readResponse({ timeoutMs: 3_000 }).catch((err: Error) => err);
  for (const c of [...clients, other]) c.destroy();
  // Whatever happened above, SIGTERM must stop the process.
  cli.child.kill('SIGTERM');
  const code = await withTimeout(cli.exited, WAIT_MS, 'exit after SIGTERM').catch((err: Error) => err);
  assert.deepEqual(
    fifo.map((r) => (r.status === 'fulfilled' ? r.value.status : r.reason instanceof Error ? r.reason.message : 'failed')),
    Array(8).fill(403),
  );
  assert.ok(!(hello instanceof Error), `another file is served meanwhile: ${hello instanceof Error ? hello.message : ''}`);
  assert.equal(hello.status, 200);
  assert.equal(hello.body.toString(), 'hello\n');
  assert.equal(code, 0, `${String(code)} ${cli.stderr}`);
});

test('out of descriptors (ulimit -n 40): an existing file is 503 with Retry-After, never a 404', async () => {
  // The connection cap derives from the descriptor limit (a cap given above it is lowered), but
  // under 40 descriptors its floor of 16 connections, each streaming a big file it does not read
  // (a socket and a file each), still runs out: EMFILE, which must be a 503. The core, run the way
  // the CLI runs it, in a process of its own under the low limit.
  const script = `const { PreviewServer } = require(${JSON.stringify(join(REPO, 'dist', 'core.js'))});
new PreviewServer().listen({ root: ${JSON.stringify(root)}, port: 0, host: '127.0.0.1', resolveHostNames: false })
  .then((a) => console.log('Local: http://127.0.0.1:' + a.port + '/'));
process.on('SIGTERM', () => process.exit(0));`;
  const cli = runCommand('bash', ['-c', `ulimit -n 40 && exec "$0" "$@"`, process.execPath, '-e', script], base);
  const port = await waitForLocalPort(cli);
  const first = await RawClient.connect(port);
  const more: RawClient[] = [];
  try {
    // Hold connections, each with a file open, until the server's descriptors run out.
    for (let i = 0; i < 15; i++) {
      const c = await RawClient.connect(port).catch(() => undefined);
      if (c === undefined) continue;
      c.noTranscript();
      c.socket.pause();
      await c.write(request(`/big.bin?hold=${i}`)).catch(() => undefined);
      more.push(c);
    }
    await new Promise((r) => setTimeout(r, 300));
    await first.write(request('/hello.txt'));
    const res = await first.readResponse({ timeoutMs: 5_000 });
    assert.equal(res.status, 503, res.body.toString());
    assert.equal(res.header('retry-after'), '2', 'README: 503 with Retry-After: 2');
    assert.match(res.body.toString(), /too many open files/);
    // Descriptors back: the same file is served again.
    for (const c of more) c.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const again = await RawClient.connect(port);
      await again.write(request('/hello.txt'));
      status = (await again.readResponse()).status;
      again.destroy();
    }
    assert.equal(status, 200);
  } finally {
    first.destroy();
    for (const c of more) c.destroy();
  }
  cli.child.kill('SIGTERM');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGTERM'), 0, cli.stderr);
});

test('shared with the log file inside the root: the banner says so', async () => {
  const log = join(root, 'requests.log');
  const cli = runCli([root, '--port', '0', '--host', '0.0.0.0', '--allowed-client', '127.0.0.1/32', '--log', log], base);
  await waitForLocalPort(cli);
  cli.child.kill('SIGINT');
  assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0, cli.stderr);
  assert.match(cli.stdout, /request log .*requests\.log is inside the shared folder/);
  assert.match(cli.stdout, /only this computer/);
  const local = runCli([root, '--port', '0', '--log', log], base);
  await waitForLocalPort(local);
  local.child.kill('SIGINT');
  assert.equal(await withTimeout(local.exited, WAIT_MS, 'exit after SIGINT'), 0);
  assert.doesNotMatch(local.stdout, /inside the shared folder/, 'not shared: nothing to say');
});

test('shared with --dotfiles: the warning says what is readable, and never that .git would be (it is denied either way)', async () => {
  await mkdir(join(root, '.git'), { recursive: true });
  await writeFile(join(root, '.git', 'config'), '[core]\n');
  await writeFile(join(root, '.env'), 'SECRET=1\n');
  const cli = runCli([root, '--port', '0', '--host', '0.0.0.0', '--allowed-client', '127.0.0.1/32', '--dotfiles', '--no-reload'], base);
  const port = await waitForLocalPort(cli);
  try {
    assert.match(cli.stdout, /^Warning: hidden files are served while shared .*can read \.env and the other dotfiles \(\.git stays denied\)\.$/m);
    assert.doesNotMatch(cli.stdout, /\.git stay denied only if/);
    // What the warning says is what the server does.
    assert.equal((await fetchOnce(port, request('/.env'))).status, 200);
    assert.equal((await fetchOnce(port, request('/.git/config'))).status, 404);
  } finally {
    cli.child.kill('SIGINT');
    assert.equal(await withTimeout(cli.exited, WAIT_MS, 'exit after SIGINT'), 0, cli.stderr);
  }
});
