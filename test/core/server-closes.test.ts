/**
 * "Loses no log line": requests the server has read on a connection it closes after an answer get
 * one line each, however that close came about: pipelined behind a request that asked to close,
 * behind an answer whose framing ends the connection, or arriving while the connection lingers
 * after its last answer. Before, only the server's stop logged them; every other close dropped
 * them unseen. What is not known to be a request (the unread body of a refused request, a
 * tunnel's bytes) is never logged as one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { RequestRecord } from '../../src/core';
import { MAX_UNANSWERED_LOGGED } from '../../src/core/http/connection';
import { rawBackend, startServer, type Running } from './harness';
import { RawClient } from './raw-client';

let root = '';
let running: Running;
/** Larger than the first flight: its close half-closes and lingers rather than closing at once. */
const BIG_SIZE = 200_000;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-server-closes-'));
  await writeFile(join(root, 'a.txt'), 'a\n');
  await writeFile(join(root, 'big.txt'), 'b'.repeat(BIG_SIZE));
  running = await startServer({ root, reload: { enabled: false } });
});

after(async () => {
  await running.close();
  await rm(root, { recursive: true, force: true });
});

function get(target: string, extra = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
}

/** Waits (bounded, 5 s) until `running` has recorded a request whose target matches `target`. */
async function recordFor(srv: Running, target: string): Promise<RequestRecord | undefined> {
  for (let i = 0; i < 250; i++) {
    const found = srv.records.find((r) => r.target === target);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

/**
 * A half-open client on `running` whose request for /big.txt says `Connection: close` (an answer
 * larger than the first flight, so the close lingers), with `behind` sent in the same write
 * ('pipelined') or once the server has closed its side ('while it lingers').
 */
async function behindClosingAnswer(when: 'pipelined' | 'while it lingers', behind: string): Promise<Socket> {
  const socket = connect({ port: running.port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('data', () => undefined);
  const ended = once(socket, 'end');
  await once(socket, 'connect');
  if (when === 'pipelined') socket.write(get('/big.txt', 'Connection: close\r\n') + behind);
  else {
    socket.write(get('/big.txt', 'Connection: close\r\n'));
    await ended;
    socket.write(behind);
  }
  return socket;
}

/**
 * Once the server has closed its side: `forged` (a request head) is sent on, then the client's
 * FIN; `srv` must have logged exactly `targets`, in order (what followed was not requests).
 */
async function sendsAfterCloseUnlogged(srv: Running, socket: Socket, forged: string, targets: readonly string[]): Promise<void> {
  socket.write(forged);
  await new Promise((r) => setTimeout(r, 300));
  socket.end();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    srv.records.map((r) => r.target),
    targets,
    JSON.stringify(srv.records.map((r) => [r.target, r.status])),
  );
}

test('requests pipelined behind one that asked to close are each logged as not answered', async () => {
  const client = await RawClient.connect(running.port);
  try {
    const sentAt = Date.now();
    await client.write(get('/a.txt?closing=1', 'Connection: close\r\n') + get('/a.txt?behind=1') + get('/a.txt?behind=2'));
    const res = await client.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.header('connection'), 'close');
    await client.waitForEof();
    assert.equal(client.buffered, 0, 'nothing answered after the closing response');
    for (const target of ['/a.txt?behind=1', '/a.txt?behind=2']) {
      const line = await recordFor(running, target);
      assert.ok(line !== undefined, `${target} has a line`);
      assert.equal(line.status, 503);
      assert.equal(line.bytes, 0);
      assert.equal(line.aborted, false);
      assert.equal(line.note, 'not answered: the server closes the connection (the request before it asked to close the connection); a client sends the request again on a new connection');
      assert.ok(line.time - sentAt < 1_000, `stamped ${line.time - sentAt} ms after it was sent`);
    }
    assert.equal(running.records.filter((r) => r.target.startsWith('/a.txt?behind=')).length, 2, 'one line each');
  } finally {
    client.destroy();
  }
});

test('HTTP/1.0 without keep-alive: a request pipelined behind it is logged as not answered', async () => {
  const client = await RawClient.connect(running.port);
  try {
    await client.write('GET /a.txt?one-zero=1 HTTP/1.0\r\n\r\n' + 'GET /a.txt?one-zero=2 HTTP/1.0\r\n\r\n');
    assert.equal((await client.readResponse()).status, 200);
    await client.waitForEof();
    const line = await recordFor(running, '/a.txt?one-zero=2');
    assert.equal(line?.status, 503);
    assert.match(line?.note ?? '', /\(the request before it asked to close the connection\)/);
  } finally {
    client.destroy();
  }
});

test('requests arriving while the connection lingers after its last answer are logged as they come; a head cut short there, when it ends', async () => {
  // A socket that stays open for writing after the server's FIN (the linger reads on).
  const socket = connect({ port: running.port, host: '127.0.0.1', allowHalfOpen: true });
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const ended = once(socket, 'end');
  try {
    await once(socket, 'connect');
    socket.write(get('/big.txt', 'Connection: close\r\n'));
    await ended;
    const answer = Buffer.concat(received).toString('latin1');
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(answer.length - answer.indexOf('\r\n\r\n') - 4, BIG_SIZE, 'the whole answer');
    // The server half-closed and reads on (the linger): what the client sends now is read.
    const sentAt = Date.now();
    socket.write(get('/a.txt?late=1', 'User-Agent: late-client\r\n') + get('/a.txt?late=2'));
    const first = await recordFor(running, '/a.txt?late=1');
    assert.equal(first?.status, 503, 'logged while the connection still lingers');
    assert.equal(first.userAgent, 'late-client');
    assert.equal(first.note, 'not answered: the server closes the connection (the request before it asked to close the connection); a client sends the request again on a new connection');
    assert.ok(first.time - sentAt < 1_000, `stamped ${first.time - sentAt} ms after it was sent`);
    assert.equal((await recordFor(running, '/a.txt?late=2'))?.status, 503);
    // A head trickled in a byte at a time, after empty lines (each piece its own read): one line
    // once its end comes (the search goes on from where it stopped; the empty lines are no request).
    for (const byte of `\r\n\r\n${get('/a.txt?late=4')}`) {
      socket.write(byte);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal((await recordFor(running, '/a.txt?late=4'))?.status, 503);
    assert.equal(running.records.filter((r) => r.target === '/a.txt?late=4').length, 1);
    socket.write('GET /a.txt?late=3 HTTP/1.1\r\nHo');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(running.records.some((r) => r.target === '/a.txt?late=3'), false, 'not logged before it can be whole');
    socket.end();
    const cut = await recordFor(running, '/a.txt?late=3');
    assert.equal(cut?.status, 499);
    assert.equal(cut.aborted, true);
    assert.equal(cut.note, 'the connection closed while the request head was arriving (the request before it asked to close the connection)');
  } finally {
    socket.destroy();
  }
});

test('at most MAX_UNANSWERED_LOGGED (1,000) requests a connection are logged as not answered: a client cannot have a lingering connection write lines without end', async () => {
  const socket = connect({ port: running.port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('data', () => undefined);
  const ended = once(socket, 'end');
  const before = running.records.length;
  try {
    await once(socket, 'connect');
    socket.write(get('/big.txt', 'Connection: close\r\n'));
    await ended;
    socket.write(get('/a.txt?flood').repeat(MAX_UNANSWERED_LOGGED + 200));
    for (let i = 0; i < 250 && running.records.length < before + MAX_UNANSWERED_LOGGED + 1; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const flood = running.records.slice(before).filter((r) => r.target === '/a.txt?flood');
    assert.equal(flood.length, MAX_UNANSWERED_LOGGED);
    assert.ok(flood.every((r) => r.status === 503));
    // The last line says that later ones have none (helper-131: 500 left no trace).
    assert.match(flood.at(-1)?.note ?? '', /the last of 1000 logged not answered on this connection: later ones are not logged/);
    assert.doesNotMatch(flood.at(-2)?.note ?? '', /the last of/);
    socket.end();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(running.records.slice(before).filter((r) => r.target === '/a.txt?flood').length, MAX_UNANSWERED_LOGGED, 'nothing more when it ends');
  } finally {
    socket.destroy();
  }
});

test('a close-delimited answer to an HTTP/1.0 client: the request pipelined behind it is logged as not answered', async () => {
  // The back-end's chunked answer has no length to give an HTTP/1.0 client: its end is the
  // connection's close, so the request behind it cannot be answered on this connection.
  const back = await rawBackend((_target, socket) => {
    socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  });
  const srv = await startServer({ root, reload: { enabled: false }, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${back.port}` }] } });
  const client = await RawClient.connect(srv.port);
  try {
    await client.write('GET /api/stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' + 'GET /a.txt?after-stream=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const res = await client.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello');
    const line = await recordFor(srv, '/a.txt?after-stream=1');
    assert.equal(line?.status, 503);
    assert.equal(line.note, 'not answered: the server closes the connection (the answer before it (200) ends the connection); a client sends the request again on a new connection');
  } finally {
    client.destroy();
    await srv.close();
    back.server.close();
  }
});

test('what follows a refused request with an unread body, or a CONNECT, is never logged as a request', async () => {
  const fake = get('/fake-behind-body');
  for (const [name, bytes] of [
    // Its body still arriving when it is answered (the rest of it is the second `fake` below):
    // passed over, never read as requests.
    ['refused method, body unread', `DELETE /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${fake.length * 2}\r\n\r\n${fake}`],
    ['CONNECT, tunnel bytes', `CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n${fake}`],
  ] as const) {
    const before = running.records.length;
    const client = await RawClient.connect(running.port);
    try {
      await client.write(bytes);
      const res = await client.readResponse();
      assert.ok(res.status >= 400, `${name}: ${res.status}`);
      // More of the same after the answer, while the connection lingers.
      await client.write(fake).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      client.socket.end();
      await client.waitForEof().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      const added = running.records.slice(before);
      assert.deepEqual(
        added.map((r) => r.target),
        [name.startsWith('CONNECT') ? '127.0.0.1:9' : '/a.txt'],
        name,
      );
    } finally {
      client.destroy();
    }
  }
});

test('at the stop, the body of a proxied upload answered before its end is not logged as requests', async () => {
  // The back-end stops reading after the head, then answers while the server is stopping. What
  // the client sends after that answer, while the connection closes, is the rest of that body
  // (here, text that reads as requests): read and dropped, never kept and logged as requests,
  // though the stop logs whole heads that arrive on a closing connection otherwise.
  const held: Socket[] = [];
  const backend = createServer((s) => {
    held.push(s);
    s.on('error', () => undefined);
    s.once('data', () => {
      s.pause();
      setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n'), 600);
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as { port: number }).port;
  const srv = await startServer({ root, reload: { enabled: false }, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${port}` }] }, timeouts: { closeGraceMs: 5_000 } });
  const client = await RawClient.connect(srv.port);
  client.noTranscript();
  try {
    const fake = get('/fake-in-body');
    const body = fake.repeat(Math.ceil((8 * 1024 * 1024) / fake.length));
    client.socket.write(`POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`);
    client.socket.write(body);
    await new Promise((r) => setTimeout(r, 300));
    const closed = srv.close();
    const res = await client.readResponse({ timeoutMs: 5_000 });
    assert.equal(res.status, 200);
    client.destroy();
    await closed;
    assert.deepEqual(
      srv.records.map((r) => r.target),
      ['/api/upload'],
      JSON.stringify(srv.records.slice(0, 3).map((r) => [r.target, r.status, r.note])),
    );
  } finally {
    client.destroy();
    for (const s of held) s.destroy();
    await srv.close().catch(() => undefined);
    await new Promise((r) => backend.close(r));
  }
});

test('behind an answer that closes: a CONNECT or an upgrade pipelined there is logged, what follows it is not (a tunnel, another protocol); a whole chunked body is passed over', async () => {
  const forged = get('/forged-in-tunnel', 'User-Agent: forged\r\n');
  const chunked = 'POST /a.txt?chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n';
  for (const [name, behind, expected] of [
    ['CONNECT', `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n${forged}`, ['127.0.0.1:22']],
    ['upgrade', `GET /a.txt?upgrade HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n${forged}`, ['/a.txt?upgrade']],
    ['a whole chunked body', `${chunked}${get('/a.txt?after-chunked')}`, ['/a.txt?chunked', '/a.txt?after-chunked']],
  ] as const) {
    for (const when of ['pipelined', 'while it lingers'] as const) {
      const before = running.records.length;
      const socket = await behindClosingAnswer(when, behind);
      try {
        await recordFor(running, expected[expected.length - 1] ?? '');
        await new Promise((r) => setTimeout(r, 200));
        socket.end();
        await new Promise((r) => setTimeout(r, 100));
        const added = running.records.slice(before).filter((r) => r.target !== '/big.txt');
        assert.deepEqual(
          added.map((r) => [r.target, r.status]),
          expected.map((t) => [t, 503]),
          `${name}, ${when}`,
        );
      } finally {
        socket.destroy();
      }
    }
  }
});

test('a body split across reads, behind the closing answer or while it lingers, is passed over: the request after it has its line', async () => {
  for (const when of ['pipelined', 'while it lingers'] as const) {
    const tag = when === 'pipelined' ? 'p' : 'l';
    const socket = await behindClosingAnswer(when, `POST /a.txt?split-${tag} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n12345`);
    try {
      assert.equal((await recordFor(running, `/a.txt?split-${tag}`))?.status, 503, when);
      await new Promise((r) => setTimeout(r, 50));
      // The rest of the body, a request after it (the body's bytes read as a head would be a 400).
      socket.write(`67890${get(`/a.txt?after-split-${tag}`)}`);
      const after = await recordFor(running, `/a.txt?after-split-${tag}`);
      assert.equal(after?.status, 503, `${when}: the request after the split body`);
      socket.end();
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        running.records.filter((r) => r.target.includes(`split-${tag}`)).map((r) => [r.target, r.status]),
        [
          [`/a.txt?split-${tag}`, 503],
          [`/a.txt?after-split-${tag}`, 503],
        ],
        when,
      );
    } finally {
      socket.destroy();
    }
  }
});

test('the server stops while a connection lingers: what comes then is logged as not answered because of the stop', async () => {
  const srv = await startServer({ root, reload: { enabled: false }, timeouts: { closeGraceMs: 1_000 } });
  const socket = connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  const ended = once(socket, 'end');
  try {
    await once(socket, 'connect');
    socket.write(get('/big.txt', 'Connection: close\r\n'));
    await ended;
    const closed = srv.close();
    socket.write(get('/a.txt?during-stop') + 'GET /a.txt?cut-by-stop HTTP/1.1\r\nHo');
    const line = await recordFor(srv, '/a.txt?during-stop');
    assert.equal(line?.status, 503);
    assert.match(line.note ?? '', /^not answered: the server was stopping/);
    await closed;
    const cut = srv.records.find((r) => r.target === '/a.txt?cut-by-stop');
    assert.equal(cut?.status, 499);
    assert.equal(cut.note, 'the server stopped while the request head was arriving');
  } finally {
    socket.destroy();
    await srv.close().catch(() => undefined);
  }
});

test('after a WebSocket closes, what its client sends is not logged as requests', async () => {
  const srv = await startServer({ root });
  const socket = connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
  });
  socket.on('error', () => undefined);
  const ended = once(socket, 'end');
  try {
    await once(socket, 'connect');
    socket.write(
      `GET /__porthole/socket HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${srv.port}\r\n\r\n`,
    );
    for (let i = 0; i < 100 && !received.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
    // A masked close frame with no payload (RFC 6455 §5.5.1): the server answers it and closes.
    socket.write(Buffer.from([0x88, 0x80, 1, 2, 3, 4]));
    await ended;
    await sendsAfterCloseUnlogged(srv, socket, get('/forged-after-websocket'), ['/__porthole/socket']);
  } finally {
    socket.destroy();
    await srv.close();
  }
});

test('after a proxied body that broke its framing is refused, what its client sends is not logged as requests', async () => {
  const held: Socket[] = [];
  const backend = createServer((s) => {
    held.push(s);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as { port: number }).port;
  const srv = await startServer({ root, reload: { enabled: false }, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${port}` }] } });
  const socket = connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => undefined);
  const ended = once(socket, 'end');
  try {
    await once(socket, 'connect');
    socket.write('POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n');
    await new Promise((r) => setTimeout(r, 200));
    // A chunk size that is no number: the body's framing is lost, the request refused (400).
    socket.write('zz\r\n');
    await ended;
    assert.match(received, /^HTTP\/1\.1 400 /);
    await sendsAfterCloseUnlogged(srv, socket, get('/forged-after-broken-body'), ['/api/upload']);
  } finally {
    socket.destroy();
    for (const s of held) s.destroy();
    await srv.close();
    await new Promise((r) => backend.close(r));
  }
});
