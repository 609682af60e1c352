/**
 * close() while listen() is under way, as the extension does when a start outlives its timeout or
 * VS Code quits during a start: the server it was starting must not stay bound, and the worker
 * thread must exit at once (not when its host terminates it CLOSE_TIMEOUT_MS later). A second
 * listen() during a start is refused, not a second socket. allowHost() and reconfigure() during a
 * start apply once it has started (the first ended the worker thread, the second was lost).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { PreviewServer, ServerError, WorkerServer } from '../../src/core';
import { makeSite, type Site } from '../fixtures/make-site';
import { fetchOnce, request } from './raw-client';

/** The worker as tsc compiled it beside this test (out/src/core/worker/server-worker.js). */
const WORKER_SCRIPT = resolve(__dirname, '..', '..', 'src', 'core', 'worker', 'server-worker.js');

let site: Site;

before(async () => {
  site = await makeSite();
});

after(async () => {
  await site.cleanup();
});

/** Resolves with the connect's outcome on 127.0.0.1:`port`: 'connected' or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((done) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

test('PreviewServer: close() during listen() leaves no socket bound once it resolves', async () => {
  const server = new PreviewServer();
  const listening = server.listen({ root: site.root, host: '127.0.0.1', port: 0 });
  await server.close();
  const address = await listening;
  assert.equal(server.address, undefined, 'no address once closed');
  assert.equal(await tryConnect(address.port), 'ECONNREFUSED', 'the port no longer answers after close() resolved');
});

test('PreviewServer: closeNow() during listen() leaves no socket bound once it resolves', async () => {
  const server = new PreviewServer();
  const listening = server.listen({ root: site.root, host: '127.0.0.1', port: 0 });
  await server.closeNow();
  const address = await listening;
  assert.equal(await tryConnect(address.port), 'ECONNREFUSED');
});

test('PreviewServer: a second listen() while the first is under way is refused, not a second socket', async () => {
  const server = new PreviewServer();
  const first = server.listen({ root: site.root, host: '127.0.0.1', port: 0 });
  const second = server.listen({ root: site.root, host: '127.0.0.1', port: 0 });
  const [a, b] = await Promise.allSettled([first, second]);
  await server.close();
  assert.equal(a.status, 'fulfilled');
  assert.equal(b.status, 'rejected', 'the second listen() is refused');
  assert.match(String(b.reason), /already started/);
});

test('PreviewServer: close() during a listen() that fails resolves, and the server is closed', async () => {
  const server = new PreviewServer();
  const listening = server.listen({ root: resolve(site.root, 'no-such-folder'), host: '127.0.0.1', port: 0 });
  await server.close();
  await assert.rejects(listening);
  assert.equal(server.closing, true);
});

test('WorkerServer: close() right after listen() ends the worker promptly and frees the port', async () => {
  const server = new WorkerServer(WORKER_SCRIPT);
  const exits: (Error | undefined)[] = [];
  server.on('exit', (err) => exits.push(err));
  const listening = server.listen({ root: site.root, host: '127.0.0.1', port: 0 });
  const started = Date.now();
  await server.close();
  const took = Date.now() - started;
  const outcome = await listening.then(
    (a) => a,
    (err: unknown) => err as Error,
  );
  assert.ok(took < 5_000, `close() took ${took} ms (the worker never exited; its host terminated it)`);
  assert.ok(!(outcome instanceof Error), `listen() rejected: ${outcome instanceof Error ? outcome.message : ''}`);
  assert.equal(await tryConnect(outcome.port), 'ECONNREFUSED');
  assert.deepEqual(exits, [undefined], 'the exit asked for is no failure');
});

test('WorkerServer: allowHost() and reconfigure() sent while it starts apply once it listens', async () => {
  const server = new WorkerServer(WORKER_SCRIPT);
  const errors: string[] = [];
  server.on('diagnostic', (level, message) => {
    if (level === 'error') errors.push(message);
  });
  const listening = server.listen({ root: site.root, host: '127.0.0.1', port: 0 });
  server.allowHost('tunnel.example');
  server.reconfigure({ crossOriginIsolation: true });
  try {
    const address = await listening;
    const response = await fetchOnce(address.port, request('/hello.txt', { host: 'tunnel.example', headers: ['Connection: close'] }));
    assert.equal(response.status, 200, 'the name allowed during the start is answered');
    assert.equal(response.header('cross-origin-opener-policy'), 'same-origin', 'the change sent during the start is applied');
    assert.deepEqual(errors, []);
  } finally {
    await server.close();
  }
});

test('PreviewServer: reconfigure() during listen() refuses an invalid change at once, and applies a valid one after', async () => {
  const server = new PreviewServer();
  const listening = server.listen({ root: site.root, host: '127.0.0.1', port: 0 });
  assert.throws(() => server.reconfigure({ allowedClients: ['not-a-cidr'] }), (err: unknown) => err instanceof ServerError && err.code === 'EINVALIDOPTION');
  server.reconfigure({ crossOriginIsolation: true });
  try {
    await listening;
    assert.equal(server.options.crossOriginIsolation, true);
    assert.deepEqual(server.options.allowedClients, []);
  } finally {
    await server.close();
  }
});
