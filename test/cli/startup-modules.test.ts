/**
 * What a plain start of the CLI loads before it listens (issue 14's start-up target: listening
 * within 150 ms of the command). Node's built-in modules that the start itself never uses are
 * loaded on first use: node:crypto (an ETag, a page's nonce, the live-reload client's version, a
 * WebSocket handshake, a certificate) and node:perf_hooks (the connection timers). Each cost the
 * start 1–3 ms (`require` timed after node:net in a fresh `node`). A module of the core that
 * imports a value from either again brings it back into every start: this test names it.
 *
 * Seen from inside the CLI's own process: a module given with `--require` records Node's list of
 * loaded built-ins when the server starts listening, and again after the first page is served
 * (which needs both), so the test also shows that it sees them when they are loaded.
 * (`--require` makes the launcher load the bundle with Node's own `require` instead of from the
 * code cache: the bundle's modules load the same built-ins either way.) Needs `npm run build`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchOnce } from '../core/raw-client';
import { requireBuiltCli, runCommand, CLI, stopCli, waitForLocalPort } from './run-cli';

/** The built-ins a start must not load before it listens. */
const LOADED_ON_FIRST_USE = ['crypto', 'perf_hooks'];

let work: string;

before(async () => {
  requireBuiltCli();
  work = await mkdtemp(join(tmpdir(), 'porthole-startup-modules-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The built-ins (`NativeModule <name>`) in `list`, by name, among `names`. */
const loaded = (list: readonly string[], names: readonly string[]): string[] => names.filter((n) => list.includes(`NativeModule ${n}`));

test('a plain start listens without node:crypto or node:perf_hooks; serving its first page loads them', async () => {
  const root = join(work, 'site');
  await rm(root, { recursive: true, force: true });
  await mkdir(root);
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>hello</p>');
  const record = join(work, 'modules.json');
  const hook = join(work, 'record-modules.js');
  // On the first 'listening' of a server: the built-ins loaded so far; on exit: all of them.
  await writeFile(
    hook,
    `const fs = require('fs'); const net = require('net'); const seen = {};
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => { seen.listening ??= [...process.moduleLoadList]; fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(seen)); });
  return listen.apply(this, args);
};
process.on('exit', () => { seen.exit = [...process.moduleLoadList]; fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(seen)); });
`,
  );
  const cli = runCommand(process.execPath, ['--require', hook, CLI, root, '--port', '0', '--quiet'], work);
  const port = await waitForLocalPort(cli);
  const atListening = (JSON.parse(await readFile(record, 'utf8')) as { listening: string[] }).listening;
  const page = await fetchOnce(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/html\r\nSec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n`);
  assert.equal(page.status, 200);
  assert.match(page.body.toString(), /hello/);
  assert.equal(await stopCli(cli), 0, cli.stderr);
  const atExit = (JSON.parse(await readFile(record, 'utf8')) as { exit: string[] }).exit;
  assert.ok(atListening.includes('NativeModule net'), 'the list holds what was loaded');
  assert.deepEqual(loaded(atListening, LOADED_ON_FIRST_USE), [], 'loaded before the server listened');
  assert.deepEqual(loaded(atExit, LOADED_ON_FIRST_USE), LOADED_ON_FIRST_USE, 'the first page (its ETag, its nonce, its timers) loads them');
});
