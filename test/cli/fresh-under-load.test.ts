/**
 * Freshness under concurrent readers (issue 14's attack session): while other clients keep asking
 * for a file, a request sent after an atomic save gets the new bytes, and one sent after a delete
 * gets a 404. With readers on other connections, a read of the file is often under way on the
 * server's thread pool when it changes; what that read brings back is older than a request sent
 * after the change, and must not answer it. The server runs as the CLI in its own process (its
 * event loop apart from the clients', as a user's is). Atomic saves only: an in-place write can be
 * read half-done by any server. Bounded: 150 rounds or 20 s.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCommand, stopCli, waitForLocalPort, type Cli } from './run-cli';
import { RawClient, request } from '../core/raw-client';

let base = '';
let root = '';
let cli: Cli | undefined;
let port = 0;

before(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  base = await mkdtemp(join(tmpdir(), 'porthole-fresh-'));
  root = join(base, 'site');
  await mkdir(root);
  cli = runCommand(process.execPath, [CLI, root, '--port', '0', '--quiet', '--no-host-names', '--no-reload'], base);
  port = await waitForLocalPort(cli);
});

after(async () => {
  if (cli !== undefined) await stopCli(cli);
  if (base !== '') await rm(base, { recursive: true, force: true });
});

test('while other clients keep asking for a file, the first request after a save or a delete gets the new state', async () => {
  const file = join(root, 'busy.txt');
  const version = (k: number): string => String.fromCharCode(65 + (k % 26)).repeat(3000) + String(k).padStart(6, '0');
  await writeFile(file, version(0));
  let stop = false;
  const readers = [0, 1, 2, 3].map(async () => {
    const c = await RawClient.connect(port);
    try {
      while (!stop) {
        await c.write(request('/busy.txt'));
        await c.readResponse();
      }
    } finally {
      c.socket.destroy();
    }
  });
  const checker = await RawClient.connect(port);
  const stale: string[] = [];
  const deadline = Date.now() + 20_000;
  try {
    for (let k = 1; k <= 150 && Date.now() < deadline; k++) {
      if (k % 3 === 0) {
        await unlink(file);
        await checker.write(request('/busy.txt'));
        const gone = await checker.readResponse();
        if (gone.status !== 404) stale.push(`#${k}: ${gone.status} after the delete`);
      }
      await writeFile(`${file}.new`, version(k));
      await rename(`${file}.new`, file);
      await checker.write(request('/busy.txt'));
      const res = await checker.readResponse();
      if (res.body.toString() !== version(k)) stale.push(`#${k}: ${res.status} ${res.body.subarray(-6).toString()} after the save`);
    }
  } finally {
    stop = true;
    await Promise.allSettled(readers);
    checker.socket.destroy();
  }
  assert.deepEqual(stale, []);
});
