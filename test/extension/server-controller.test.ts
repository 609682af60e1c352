import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { BoundAddress, ReconfigurableOptions, RequestRecord, ServerOptionsInput } from '../../src/core';
import { DEFAULT_CONFIG } from '../../src/extension/config/node-config';
import type { ControllerLog, ServerHandle } from '../../src/extension/server/node-server-controller';
import { ServerController, withTimeout } from '../../src/extension/server/node-server-controller';

/** A WorkerServer stand-in whose listen/close the test settles by hand. */
class FakeServer extends EventEmitter implements ServerHandle {
  options: ServerOptionsInput | undefined;
  closed = 0;
  private settle: { resolve: (a: BoundAddress) => void; reject: (e: Error) => void } | undefined;
  listen(options: ServerOptionsInput): Promise<BoundAddress> {
    this.options = options;
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
  reconfigured: ReconfigurableOptions[] = [];
  allowedHosts: string[] = [];
  reconfigure(changes: ReconfigurableOptions): void {
    this.reconfigured.push(changes);
  }
  allowHost(name: string): void {
    this.allowedHosts.push(name);
  }
  overlays: Array<[string, string | undefined]> = [];
  changed: string[][] = [];
  setOverlay(path: string, text: string | undefined): void {
    this.overlays.push([path, text]);
  }
  notifyChanged(paths: readonly string[]): void {
    this.changed.push([...paths]);
  }
  connectedPages = 0;
  navigated: string[] = [];
  navigate(path: string): void {
    this.navigated.push(path);
  }
  succeed(port = 8000, requestedPort?: number): void {
    this.settle?.resolve({ host: '127.0.0.1', port, url: `http://127.0.0.1:${port}/`, requestedPort });
  }
  fail(code: string, message: string): void {
    this.settle?.reject(Object.assign(new Error(message), { code }));
  }
}

function setup() {
  const servers: FakeServer[] = [];
  const logs: string[] = [];
  const failures: string[] = [];
  const out: ControllerLog = {
    log: (level, message) => logs.push(`${level}: ${message}`),
    failure: (summary) => failures.push(summary),
  };
  const controller = new ServerController(
    { folderPath: '/site', folderName: 'site', logDir: '/logs' },
    () => {
      const s = new FakeServer();
      servers.push(s);
      return s;
    },
    out,
  );
  const kinds: string[] = [];
  controller.onDidChangeState((s) => kinds.push(s.kind));
  return { controller, servers, logs, failures, kinds };
}

const tick = () => new Promise((r) => setImmediate(r));

void test('start → running → stop → stopped, in that order, with the options from the settings', async () => {
  const { controller, servers, kinds } = setup();
  const started = controller.start(DEFAULT_CONFIG);
  await tick();
  assert.equal(controller.state.kind, 'starting');
  servers[0]!.succeed();
  assert.equal((await started).kind, 'running');
  assert.equal(servers[0]!.options?.root, '/site');
  assert.equal(servers[0]!.options?.port, null);
  await controller.stop();
  assert.equal(servers[0]!.closed, 1);
  assert.deepEqual(kinds, ['starting', 'running', 'stopping', 'stopped']);
});

void test('a second start while starting or running starts nothing', async () => {
  const { controller, servers } = setup();
  const a = controller.start(DEFAULT_CONFIG);
  const b = controller.start(DEFAULT_CONFIG);
  await tick();
  servers[0]!.succeed();
  await a;
  assert.equal((await b).kind, 'running');
  assert.equal(servers.length, 1);
});

void test('stop during start is queued: the server starts, then stops', async () => {
  const { controller, servers, kinds } = setup();
  const started = controller.start(DEFAULT_CONFIG);
  const stopped = controller.stop();
  await tick();
  servers[0]!.succeed();
  await started;
  assert.equal((await stopped).kind, 'stopped');
  assert.deepEqual(kinds, ['starting', 'running', 'stopping', 'stopped']);
});

void test('settings changed while the server starts, or while a restart for an earlier change runs, are applied once it runs', async () => {
  const { controller, servers, logs } = setup();
  const shared = { ...DEFAULT_CONFIG, host: '0.0.0.0' };
  const started = controller.start(shared);
  await tick();
  // Stop Sharing while starting (e.g. the HTTPS passphrase being typed): back to loopback.
  const stopSharing = controller.applySettings({ ...shared, host: '127.0.0.1' });
  servers[0]!.succeed();
  await started;
  await tick();
  assert.equal(servers.length, 2, 'the server restarted for the change made while it started');
  assert.equal(servers[0]!.closed, 1, 'the 0.0.0.0 listener was closed');
  assert.equal(servers[1]!.options?.host, '127.0.0.1');
  servers[1]!.succeed();
  const state = await stopSharing;
  assert.equal(state.kind === 'running' && state.config.host, '127.0.0.1');

  // A port change restarts; the host changed again during that restart is not lost either.
  const portChange = controller.applySettings({ ...DEFAULT_CONFIG, port: 9001 });
  await tick();
  assert.equal(controller.state.kind, 'starting');
  const hostChange = controller.applySettings({ ...DEFAULT_CONFIG, port: 9001, host: '0.0.0.0' });
  servers[2]!.succeed(9001);
  await portChange;
  await tick();
  servers[3]!.succeed(9001);
  const last = await hostChange;
  assert.equal(last.kind === 'running' && last.config.host, '0.0.0.0');
  assert.equal(servers[3]!.options?.host, '0.0.0.0');
  assert.deepEqual(servers.map((s) => s.closed), [1, 1, 1, 0]);
  assert.equal(logs.filter((l) => l.includes('changed: restarting')).length, 3, logs.join('\n'));

  // Only live settings: no restart, reconfigured; stopped: nothing (the next start reads them).
  await controller.applySettings({ ...DEFAULT_CONFIG, port: 9001, host: '0.0.0.0', listing: !DEFAULT_CONFIG.listing });
  assert.equal(servers.length, 4);
  assert.equal(servers[3]!.reconfigured.length, 1);
  await controller.stop();
  assert.equal((await controller.applySettings({ ...DEFAULT_CONFIG, port: 1234 })).kind, 'stopped');
  assert.equal(servers.length, 4);
});

void test('a busy port: running on the other port, said in the log', async () => {
  const { controller, servers, logs } = setup();
  const started = controller.start(DEFAULT_CONFIG);
  await tick();
  servers[0]!.succeed(8001, 8000);
  const state = await started;
  assert.equal(state.kind === 'running' && state.address.port, 8001);
  assert.ok(logs.some((l) => l.startsWith('warn') && l.includes('Port 8000 is busy; using 8001')), logs.join('\n'));
});

void test('listen failure: stopped with the failure, reported once, worker closed', async () => {
  const { controller, servers, failures } = setup();
  const started = controller.start(DEFAULT_CONFIG);
  await tick();
  servers[0]!.fail('EACCES', 'Permission denied for port 80');
  const state = await started;
  assert.equal(state.kind, 'stopped');
  assert.equal(state.kind === 'stopped' && state.failure?.code, 'EACCES');
  assert.equal(failures.length, 1);
  assert.match(failures[0]!, /could not serve site: Permission denied for port 80/);
  assert.equal(servers[0]!.closed, 1);
});

void test('the worker dying while running: stopped with a failure, reported; a new start works', async () => {
  const { controller, servers, failures } = setup();
  const started = controller.start(DEFAULT_CONFIG);
  await tick();
  servers[0]!.succeed();
  await started;
  servers[0]!.emit('exit', new Error('worker crashed'));
  assert.equal(controller.state.kind, 'stopped');
  assert.equal(failures.length, 1);
  const again = controller.start(DEFAULT_CONFIG);
  await tick();
  servers[1]!.succeed();
  assert.equal((await again).kind, 'running');
});

void test('requests are counted and forwarded; restart resets the count', async () => {
  const { controller, servers } = setup();
  const batches: number[] = [];
  controller.onRequests((r) => batches.push(r.length));
  const started = controller.start(DEFAULT_CONFIG);
  await tick();
  servers[0]!.succeed();
  await started;
  servers[0]!.emit('requests', [{} as RequestRecord, {} as RequestRecord], 0);
  assert.equal(controller.requestCount, 2);
  assert.deepEqual(batches, [2]);
  // Requests beyond the worker's per-batch cap arrive as a count and are counted too.
  servers[0]!.emit('requests', [{} as RequestRecord], 7);
  assert.equal(controller.requestCount, 10);
  assert.deepEqual(batches, [2, 1]);
  const restarted = controller.restart({ ...DEFAULT_CONFIG, port: 9000 });
  await tick();
  await tick();
  servers[1]!.succeed(9000);
  assert.equal((await restarted).kind, 'running');
  assert.equal(controller.requestCount, 0);
  // Events of the old server are ignored.
  servers[0]!.emit('requests', [{} as RequestRecord], 0);
  assert.equal(controller.requestCount, 0);
});

void test('live reload: overlays and changes reach the server only while it runs', async () => {
  const { controller, servers } = setup();
  controller.setOverlay('/site/a.html', 'early');
  const started = controller.start(DEFAULT_CONFIG);
  await tick();
  controller.notifyChanged(['/site/a.html']);
  servers[0]!.succeed();
  await started;
  controller.setOverlay('/site/a.html', 'typed');
  controller.notifyChanged(['/site/b.css']);
  controller.notifyChanged([]);
  await controller.stop();
  controller.setOverlay('/site/a.html', undefined);
  assert.deepEqual(servers[0]!.overlays, [['/site/a.html', 'typed']]);
  assert.deepEqual(servers[0]!.changed, [['/site/b.css']]);
  assert.deepEqual(servers[0]!.options?.reload, { enabled: true, ignore: ['**/.git/**', '**/node_modules/**', '.vscode/**'], debounceMs: 100, watch: false, watchPaths: [] });
});

void test('navigate: sent only while running with a page connected; the count is 0 otherwise', async () => {
  const { controller, servers } = setup();
  assert.equal(controller.navigate('/a.html'), 0);
  const started = controller.start(DEFAULT_CONFIG);
  await tick();
  servers[0]!.connectedPages = 2;
  assert.equal(controller.connectedPages, 0, 'starting: no pages yet');
  servers[0]!.succeed();
  await started;
  assert.equal(controller.connectedPages, 2);
  assert.equal(controller.navigate('/b.html'), 2);
  servers[0]!.connectedPages = 0;
  assert.equal(controller.navigate('/c.html'), 0);
  await controller.stop();
  servers[0]!.connectedPages = 3;
  assert.equal(controller.connectedPages, 0);
  assert.equal(controller.navigate('/d.html'), 0);
  assert.deepEqual(servers[0]!.navigated, ['/b.html']);
});

void test('withTimeout: an answer that came in time wins though the timeout fell due while the loop was held up', async () => {
  // The answer is a socket's bytes, written before the loop is held past the timeout: they wait in
  // the kernel when the timer falls due, and are read in that turn's poll. (The worker's
  // 'listening' comes through its port the same way.)
  const server = createServer((s) => {
    s.on('error', () => undefined);
    setImmediate(() => {
      s.write('listening');
      const end = Date.now() + 1_000;
      while (Date.now() < end);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  try {
    const answer = new Promise<string>((resolve) => client.once('data', (d: Buffer) => resolve(d.toString())));
    assert.equal(await withTimeout(answer, 300, 'ETIMEDOUT', 'The server did not start in time.'), 'listening');
    // And silence is still a timeout.
    await assert.rejects(withTimeout(new Promise(() => undefined), 50, 'ETIMEDOUT', 'no answer'), { code: 'ETIMEDOUT' });
  } finally {
    client.destroy();
    await new Promise((r) => server.close(r));
  }
});
