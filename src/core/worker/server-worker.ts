/**
 * The server's own thread (bundled to dist/server-worker.js). Runs a PreviewServer and talks to
 * its host (the extension host, the benchmark) through WorkerToHost / HostToWorker messages.
 * Request records and pages' console entries are batched (BATCH_MS) so heavy traffic costs the
 * host a few messages a second.
 */
import { parentPort } from 'node:worker_threads';
import { PreviewServer, ServerError } from '../server/server';
import type { RequestRecord } from '../http/request-record';
import type { ConsoleEntry } from '../reload/console-forward';
import { MAX_CONSOLE_ENTRIES_PER_BATCH, MAX_RECORDS_PER_BATCH, type HostToWorker, type WorkerToHost } from './worker-protocol';

const BATCH_MS = 100;

const port = parentPort;
if (port === null) throw new Error('server-worker must run in a worker thread');

const server = new PreviewServer();
let batch: RequestRecord[] = [];
let dropped = 0;
let consoleBatch: ConsoleEntry[] = [];
let consoleDropped = 0;
let timer: NodeJS.Timeout | undefined;

function post(message: WorkerToHost): void {
  port?.postMessage(message);
}

function flush(): void {
  timer = undefined;
  if (consoleBatch.length > 0 || consoleDropped > 0) {
    post({ type: 'console', entries: consoleBatch, dropped: consoleDropped });
    consoleBatch = [];
    consoleDropped = 0;
  }
  if (batch.length === 0 && dropped === 0) return;
  const records = batch;
  batch = [];
  post({ type: 'requests', records, dropped });
  dropped = 0;
}

server.on('request', (record) => {
  if (batch.length < MAX_RECORDS_PER_BATCH) batch.push(record);
  else dropped++;
  timer ??= setTimeout(flush, BATCH_MS);
});
server.on('console', (entry) => {
  if (consoleBatch.length < MAX_CONSOLE_ENTRIES_PER_BATCH) consoleBatch.push(entry);
  else consoleDropped++;
  timer ??= setTimeout(flush, BATCH_MS);
});
server.on('hostname', (ip, name) => post({ type: 'hostname', ip, name }));
server.on('diagnostic', (level, message) => post({ type: 'diagnostic', level, message }));
server.on('config', (change) => post({ type: 'config', change }));

/**
 * A host's message that throws is said as an error diagnostic and the server serves on: thrown
 * out of the 'message' listener, it ended the thread (an allow-host during a start did).
 */
port.on('message', (message: HostToWorker) => {
  try {
    handle(message);
  } catch (err) {
    post({ type: 'diagnostic', level: 'error', message: `${message.type} not applied: ${(err as Error).message}` });
  }
});

function handle(message: HostToWorker): void {
  switch (message.type) {
    case 'listen':
      server.listen(message.options).then(
        (address) => {
          if (server.liveReload !== undefined) server.liveReload.onPagesChanged = (connected) => post({ type: 'pages', connected });
          post({ type: 'listening', address });
        },
        (err: unknown) => {
          const code = err instanceof ServerError ? err.code : 'ELISTEN';
          post({ type: 'listen-failed', code, message: (err as Error).message });
        },
      );
      return;
    case 'reconfigure':
      try {
        server.reconfigure(message.changes);
      } catch (err) {
        post({ type: 'diagnostic', level: 'error', message: `settings not applied: ${(err as Error).message}` });
      }
      return;
    case 'allow-host':
      server.allowHost(message.name);
      return;
    case 'close':
      server.close().then(
        () => {
          if (timer !== undefined) clearTimeout(timer);
          flush();
          port?.close();
        },
        (err: unknown) => post({ type: 'diagnostic', level: 'error', message: `close failed: ${String(err)}` }),
      );
      return;
    case 'overlay':
    case 'changed':
    case 'navigate':
      if (server.liveReload === undefined) {
        server.emit('diagnostic', 'trace', `live reload message ${message.type} ignored: live reload is not started`);
      } else if (message.type === 'overlay') {
        server.liveReload.setOverlay(message.path, message.text);
      } else if (message.type === 'changed') {
        server.liveReload.notifyChanged(message.paths);
      } else {
        server.liveReload.navigate(message.path);
      }
      return;
  }
}
