/**
 * The connection cap follows the descriptor limit (issue 10, item 11). The built CLI runs under
 * `ulimit -n 200` (bash); 250 clients connect and stay. Past the cap (derived: (200 - 64) / 2 = 68)
 * connections are closed at once, so the process keeps descriptors for its files: a client that
 * got in still gets a file (200), where a cap above the limit let the sockets take every
 * descriptor and the file was answered `404 Cannot open: EMFILE`. Linux only (/proc, ulimit).
 * Plus the pure parts: reading /proc/self/limits and the cap's formula.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connectionCapFor, FALLBACK_DESCRIPTOR_LIMIT, MAX_CONNECTIONS_CEILING } from '../../src/core/options';
import { parseDescriptorLimit, readDescriptorLimit } from '../../src/core/server/descriptor-limit';
import { makeSite, type Site } from '../fixtures/make-site';
import { RawClient, request } from '../core/raw-client';
import { runCommand, waitForLocalPort } from './run-cli';
import { startServer } from '../core/harness';

const REPO = resolve(__dirname, '..', '..', '..');
const CLI = process.env.PORTHOLE_CLI ?? join(REPO, 'dist', 'cli.js');
const linux = process.platform === 'linux';
const DESCRIPTORS = 200;
const CLIENTS = 250;

let site: Site;
let child: ChildProcess | undefined;

before(async () => {
  site = await makeSite({ bigSize: 1024 });
});

after(async () => {
  child?.kill('SIGKILL');
  await site.cleanup();
});

test('/proc/self/limits is read for the soft limit; the cap keeps a socket and a file per connection', () => {
  const text = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max processes             127431               127431               processes ',
    'Max open files            1024                 524288               files     ',
  ].join('\n');
  assert.equal(parseDescriptorLimit(text), 1024);
  assert.equal(parseDescriptorLimit('Max open files            unlimited            unlimited            files\n'), undefined);
  assert.equal(parseDescriptorLimit(''), undefined);
  assert.equal(connectionCapFor(1024), 480);
  assert.equal(connectionCapFor(300), 118);
  assert.equal(connectionCapFor(50), 16, 'never below 16');
  assert.equal(connectionCapFor(10_000_000), MAX_CONNECTIONS_CEILING);
  assert.equal(connectionCapFor(Number.NaN), connectionCapFor(FALLBACK_DESCRIPTOR_LIMIT));
  if (linux) assert.ok((readDescriptorLimit() ?? 0) > 0);
});

test('a server without maxConnections takes its cap from the descriptor limit', async () => {
  const srv = await startServer({ root: site.root, reload: { enabled: false } });
  try {
    assert.equal(srv.server.maxConnections, connectionCapFor(readDescriptorLimit() ?? Number.NaN));
    assert.ok(srv.server.maxConnections < MAX_CONNECTIONS_CEILING || (readDescriptorLimit() ?? 0) > 2 * MAX_CONNECTIONS_CEILING);
  } finally {
    await srv.close();
  }
  const given = await startServer({ root: site.root, maxConnections: 7, reload: { enabled: false } });
  try {
    assert.equal(given.server.maxConnections, 7);
  } finally {
    await given.close();
  }
});

/** Starts the CLI under ulimit -n DESCRIPTORS; CLIENTS clients connect and stay; files must still be served. Returns the CLI's output. */
async function filesServedWhileClientsStay(): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const cli = runCommand('bash', ['-c', `ulimit -n ${DESCRIPTORS} && exec "$0" "$@"`, process.execPath, CLI, site.root, '--port', '0', '--quiet', '--no-host-names'], site.root);
  child = cli.child;
  const port = await waitForLocalPort(cli);
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const c = await RawClient.connect(port).catch(() => undefined);
      if (c !== undefined) clients.push(c);
    }
    const first = clients[0];
    assert.ok(first !== undefined);
    // Each request needs a descriptor for its file: hello.txt, then files not yet cached.
    for (const target of ['/hello.txt', '/digits.txt', `/${site.bigName}`]) {
      await first.write(request(target));
      const res = await first.readResponse({ timeoutMs: 5_000 });
      assert.equal(res.status, 200, `${target}: ${res.body.toString().slice(0, 200)}`);
    }
  } finally {
    for (const c of clients) c.destroy();
    child.kill('SIGKILL');
  }
  return cli.stdout + cli.stderr;
}

test(`under ulimit -n ${DESCRIPTORS}, ${CLIENTS} clients that stay do not take the descriptors files need`, { skip: !linux }, async () => {
  await filesServedWhileClientsStay();
});

test('a maxConnections the descriptor limit cannot hold is lowered to what it can, and said (helper-50: a config file\'s 100000)', { skip: !linux }, async () => {
  const config = join(site.root, 'porthole.config.json');
  await writeFile(config, JSON.stringify({ maxConnections: 100_000 }));
  try {
    const output = await filesServedWhileClientsStay();
    assert.match(output, /maxConnections 100000 is more than this process's descriptor limit can hold \(ulimit -n 200\): at most 68 connections/);
  } finally {
    await rm(config, { force: true });
  }
});
