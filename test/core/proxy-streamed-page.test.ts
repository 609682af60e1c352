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
import { connect, createServer, type Server, type Socket } from 'node:net';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { WAIT_MS } from '../cli/run-cli';
import { PAGE_PAUSE_MS } from '../../src/core/proxy/reverse-proxy';

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

before(async () => {
  site = await makeSite();
  backend = createServer((socket: Socket) => {
    let head = '';
    socket.on('data', (data: Buffer) => {
      head += data.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const target = head.split(' ')[1] ?? '';
      head = head.slice(end + 4);
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n');
      if (target === '/api/stream') {
        socket.write(chunk(SHELL));
        release = () => socket.write(`${chunk(REST)}0\r\n\r\n`);
      } else {
        // A page sent whole, in many chunks one after another (no pause).
        for (const piece of [SHELL.slice(0, 20), SHELL.slice(20), REST]) socket.write(chunk(piece));
        socket.write('0\r\n\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const address = backend.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  srv = await startServer({ root: site.root, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${port}` }] } });
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

test('a page the back-end sends whole, in several chunks, still gets the client', async () => {
  const { socket, text } = await navigate('/api/whole', (t) => t.includes('</html>'));
  socket.destroy();
  assert.match(text(), /__porthole\/client\.js/);
  assert.ok(!warnings.some((w) => w.includes('/api/whole')), warnings.join('\n'));
});
