/**
 * A proxied page the back-end streams — a shell first, the rest after a pause (streamed
 * server-side rendering, a progress or log page) — reaches the browser as it comes, without the
 * live-reload client, and the reason is said; a page the back-end sends whole, even in many
 * chunks, still gets the client. Before (helper-120): the page was read whole before anything was
 * sent, so the tab stayed blank until the back-end's last byte (4 s for a "Loading…" shell), or
 * for ever for a page that never ends.
 * Real sockets: a raw `net` back-end that holds the rest of its page until the test has seen the
 * shell arrive through Porthole, the server over TCP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { makeSite, type Site } from '../fixtures/make-site';
import { rawBackend, startServer, type Running } from './harness';
import { WAIT_MS } from '../cli/run-cli';
import { PAGE_HOLD_MS, PAGE_PAUSE_MS } from '../../src/core/proxy/reverse-proxy';

const NAV = 'Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nAccept: text/html\r\n';
const SHELL = '<!doctype html><html><head><title>s</title></head><body><p>Loading the report</p>';
const REST = '<p>the full report</p></body></html>';

const chunk = (text: string): string => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

let site: Site;
let backend: Server;
let srv: Running;
const warnings: string[] = [];
/** Ends the streamed page (the back-end's socket waiting for it). */
let release: (() => void) | undefined;
/** Breaks the broken page off (the back-end's socket destroyed mid-body). */
let breakOff: (() => void) | undefined;
/** Ends the trickling page (its chunks stop and the page ends). */
let stopTrickle: (() => void) | undefined;
/** A chunk of the trickling page every this many ms: well under PAGE_PAUSE_MS, so it never pauses. */
const TRICKLE_MS = 50;
/** The trickling page ends by itself after this many chunks (bounded: longer than WAIT_MS). */
const TRICKLE_CHUNKS = Math.ceil((2 * WAIT_MS) / TRICKLE_MS);

before(async () => {
  site = await makeSite();
  const back = await rawBackend((target, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n');
    if (target === '/api/stream') {
      socket.write(chunk(SHELL));
      release = () => socket.write(`${chunk(REST)}0\r\n\r\n`);
    } else if (target === '/api/trickle') {
      // A progress page: a line every TRICKLE_MS, never a pause, until the test or the count ends it.
      socket.write(chunk(SHELL));
      let sent = 0;
      const timer = setInterval(() => {
        sent += 1;
        if (sent < TRICKLE_CHUNKS) socket.write(chunk(`<p>step ${sent}</p>`));
        else stopTrickle?.();
      }, TRICKLE_MS);
      stopTrickle = () => {
        clearInterval(timer);
        stopTrickle = undefined;
        if (!socket.destroyed) socket.end(`${chunk(REST)}0\r\n\r\n`);
      };
      socket.on('close', () => clearInterval(timer));
    } else if (target === '/api/slow-start') {
      // A development server that answers its head and then works (compiles) for longer than
      // PAGE_HOLD_MS before it sends the whole page in one go.
      const timer = setTimeout(() => {
        if (!socket.destroyed) socket.end(`${chunk(SHELL + REST)}0\r\n\r\n`);
      }, PAGE_HOLD_MS + 300);
      socket.on('close', () => clearTimeout(timer));
    } else if (target === '/api/broken') {
      socket.write(chunk(SHELL));
      breakOff = () => socket.destroy();
    } else {
      // A page sent whole, in many chunks one after another (no pause).
      for (const piece of [SHELL.slice(0, 20), SHELL.slice(20), REST]) socket.write(chunk(piece));
      socket.write('0\r\n\r\n');
    }
  });
  backend = back.server;
  srv = await startServer({ root: site.root, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${back.port}` }] } });
  srv.server.on('diagnostic', (level, message) => {
    if (level === 'warn') warnings.push(message);
  });
});

after(async () => {
  await srv.close();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  await site.cleanup();
});

/** Sends a navigation for `path`; resolves with the bytes received once `until` holds of them (bounded: rejects after WAIT_MS), the socket still open. */
async function navigate(path: string, until: (text: string) => boolean): Promise<{ socket: Socket; text: () => string }> {
  const socket = connect(srv.port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
  });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${NAV}\r\n`);
  const end = Date.now() + WAIT_MS;
  while (!until(received)) {
    if (Date.now() > end) {
      socket.destroy();
      throw new Error(`${path}: not there after ${WAIT_MS} ms; received ${JSON.stringify(received)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { socket, text: () => received };
}

test(`a page the back-end streams reaches the client as it comes, once the back-end pauses for ${PAGE_PAUSE_MS} ms, without the live-reload client`, async () => {
  const { socket, text } = await navigate('/api/stream', (t) => t.includes('Loading the report'));
  try {
    assert.match(text(), /^HTTP\/1\.1 200 /);
    // The rest only now: the shell came while the back-end still held it.
    release?.();
    const end = Date.now() + WAIT_MS;
    while (!text().includes('the full report') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(text().includes('<p>the full report</p></body></html>'), JSON.stringify(text()));
    assert.doesNotMatch(text(), /__porthole\/client\.js/, 'a streamed page goes without the client');
  } finally {
    socket.destroy();
  }
  assert.ok(
    warnings.some((w) => w.includes('/api/stream') && w.includes(`the back-end paused for more than ${PAGE_PAUSE_MS} ms while sending it (a streamed page)`)),
    warnings.join('\n'),
  );
});

test(`a page the back-end goes on sending without a pause reaches the client as it comes, once it is still arriving ${PAGE_HOLD_MS} ms after its first bytes, without the live-reload client`, async () => {
  // Before (helper-168): only a pause of PAGE_PAUSE_MS passed a page on; one that trickled with
  // shorter gaps was held whole until its end, and the tab stayed blank all that time, or for ever.
  const { socket, text } = await navigate('/api/trickle', (t) => t.includes('Loading the report') && t.includes('<p>step '));
  try {
    assert.match(text(), /^HTTP\/1\.1 200 /);
    assert.ok(stopTrickle !== undefined, 'the back-end was still sending the page when its first bytes reached the client');
    stopTrickle?.();
    const end = Date.now() + WAIT_MS;
    while (!text().includes('the full report') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(text().includes('<p>the full report</p></body></html>'), JSON.stringify(text().slice(-200)));
    assert.doesNotMatch(text(), /__porthole\/client\.js/, 'a streamed page goes without the client');
  } finally {
    stopTrickle?.();
    socket.destroy();
  }
  assert.ok(
    warnings.some((w) => w.includes('/api/trickle') && w.includes(`it was still arriving ${PAGE_HOLD_MS} ms after its first bytes (a streamed page)`)),
    warnings.join('\n'),
  );
});

test(`a page whose head came ${PAGE_HOLD_MS} ms and more before its body, sent whole, still gets the client: the hold counts from the first bytes`, async () => {
  const { socket, text } = await navigate('/api/slow-start', (t) => t.includes('</html>'));
  socket.destroy();
  assert.match(text(), /__porthole\/client\.js/);
  assert.ok(!warnings.some((w) => w.includes('/api/slow-start')), warnings.join('\n'));
});

test('a page the back-end sends whole, in several chunks, still gets the client', async () => {
  const { socket, text } = await navigate('/api/whole', (t) => t.includes('</html>'));
  socket.destroy();
  assert.match(text(), /__porthole\/client\.js/);
  assert.ok(!warnings.some((w) => w.includes('/api/whole')), warnings.join('\n'));
});

test('a back-end that breaks off a page being passed on as it comes is noted with how much of its body came (the note of a streamed answer)', async () => {
  // Before (helper-122): the page's first error listener stayed on after the hand-off, and the
  // note said only "closed the connection", not "after N bytes of its body".
  const { socket, text } = await navigate('/api/broken', (t) => t.includes('Loading the report'));
  try {
    breakOff?.();
    const end = Date.now() + WAIT_MS;
    while (!srv.records.some((r) => r.target === '/api/broken') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const record = srv.records.find((r) => r.target === '/api/broken');
    assert.equal(record?.aborted, true, JSON.stringify(record));
    assert.match(record?.note ?? '', /after \d+ bytes of its body/, `${record?.note}; received ${JSON.stringify(text())}`);
  } finally {
    socket.destroy();
  }
});

test(`a page whose back-end sent its rest while Porthole's own thread was busy past ${PAGE_PAUSE_MS} ms is no streamed page: it still gets the client`, async () => {
  // Before (helper-122): the pause timer fired first when the thread came back, though the rest
  // was already waiting in the socket, and the page went without the client, the back-end blamed.
  // The back-end runs on a thread of its own, so it sends while this one is blocked.
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const net = require('node:net');
     const chunk = (t) => Buffer.byteLength(t).toString(16) + '\\r\\n' + t + '\\r\\n';
     const server = net.createServer((socket) => {
       socket.once('data', () => {
         socket.write('HTTP/1.1 200 OK\\r\\nContent-Type: text/html\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n' + chunk(${JSON.stringify(SHELL)}));
         parentPort.postMessage('sent');
         setTimeout(() => socket.end(chunk(${JSON.stringify(REST)}) + '0\\r\\n\\r\\n'), 200);
       });
       socket.on('error', () => {});
     });
     server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
     parentPort.on('message', () => server.close());`,
    { eval: true },
  );
  try {
    const port = await new Promise<number>((resolve) => worker.once('message', resolve));
    const busy = await startServer({ root: site.root, proxy: { routes: [{ prefix: '/late', target: `http://127.0.0.1:${port}` }] } });
    try {
      worker.once('message', () => {
        // The shell is on its way in; this thread is busy for 400 ms from a moment after, in a
        // callback of the check phase (setImmediate): the next turn of the loop runs its timers
        // before it reads the socket.
        setTimeout(() => {
          setImmediate(() => {
            const until = Date.now() + 400;
            while (Date.now() < until) {
              // busy: a long callback of this thread
            }
          });
        }, 30);
      });
      const socket = connect(busy.port, '127.0.0.1');
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      socket.write(`GET /late/page HTTP/1.1\r\nHost: 127.0.0.1\r\n${NAV}\r\n`);
      const end = Date.now() + WAIT_MS;
      while (!received.includes('</html>') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      socket.destroy();
      assert.match(received, /__porthole\/client\.js/, received);
    } finally {
      await busy.close();
    }
  } finally {
    worker.postMessage('stop');
    await worker.terminate();
  }
});
