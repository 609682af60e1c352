/**
 * PreviewServer lifecycle over TCP: busy ports (next one taken, or EADDRINUSE in plain words),
 * a missing root, and close() with idle, busy and slow connections.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PreviewServer, ServerError } from '../../src/core';
import { makeSite, patternBytes, type Site } from '../fixtures/make-site';
import { startServer } from './harness';
import { RawClient, request, waitForClose, withTimeout } from './raw-client';

let site: Site;

before(async () => {
  site = await makeSite();
});

after(async () => {
  await site.cleanup();
});

function occupy(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen({ port, host: '127.0.0.1' }, () => resolve(s));
  });
}

function release(s: Server | undefined): Promise<void> {
  return new Promise((resolve) => (s === undefined ? resolve() : s.close(() => resolve())));
}

/** Occupies `count` consecutive ports (bounded retries); returns the servers and the first port. */
async function occupyConsecutive(count: number): Promise<{ servers: Server[]; first: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await occupy(0);
    const address = first?.address();
    if (first === undefined || address === null || typeof address !== 'object') continue;
    const servers = [first];
    for (let i = 1; i < count; i++) {
      if (address.port + i > 65535) break;
      const next = await occupy(address.port + i);
      if (next === undefined) break;
      servers.push(next);
    }
    if (servers.length === count) return { servers, first: address.port };
    await Promise.all(servers.map(release));
  }
  throw new Error(`could not occupy ${count} consecutive ports`);
}

test('a busy port: the next one is taken and requestedPort reports the asked one', async () => {
  const { servers, first } = await occupyConsecutive(1);
  const server = new PreviewServer();
  const warnings: string[] = [];
  server.on('diagnostic', (level, message) => {
    if (level === 'warn') warnings.push(message);
  });
  try {
    const address = await server.listen({ root: site.root, port: first, host: '127.0.0.1', portAttempts: 10, resolveHostNames: false });
    assert.ok(address.port > first && address.port < first + 10, `bound ${address.port}`);
    assert.equal(address.requestedPort, first);
    assert.equal(address.url, `http://127.0.0.1:${address.port}/`);
    assert.ok(warnings.some((w) => w === `port ${first} is in use; using ${address.port}`), warnings.join('; '));
    const client = await RawClient.connect(address.port);
    await client.write(request('/hello.txt'));
    assert.equal((await client.readResponse()).status, 200);
    client.destroy();
  } finally {
    await server.close();
    await Promise.all(servers.map(release));
  }
});

test('every attempted port busy → ServerError EADDRINUSE with a plain message', async () => {
  const { servers, first } = await occupyConsecutive(3);
  const server = new PreviewServer();
  try {
    await assert.rejects(
      server.listen({ root: site.root, port: first, host: '127.0.0.1', portAttempts: 3, resolveHostNames: false }),
      (err: unknown) => {
        assert.ok(err instanceof ServerError);
        assert.equal(err.code, 'EADDRINUSE');
        assert.match(err.message, new RegExp(`^port ${first} is in use on 127\\.0\\.0\\.1`));
        assert.ok(err.message.includes(`${first}–${first + 2}`), err.message);
        assert.ok(!err.message.includes('\n') && !/at \w+ \(/.test(err.message), 'no stack in the message');
        return true;
      },
    );
  } finally {
    await server.close();
    await Promise.all(servers.map(release));
  }
});

test('a missing root → ServerError ENOENT; a file as root → ENOTDIR', async () => {
  const missing = join(site.base, 'does-not-exist');
  await assert.rejects(new PreviewServer().listen({ root: missing, port: 0 }), (err: unknown) => {
    assert.ok(err instanceof ServerError);
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.message, `the root folder ${missing} does not exist; check the path, or create the folder (mkdir -p)`);
    return true;
  });
  await assert.rejects(new PreviewServer().listen({ root: join(site.root, 'hello.txt'), port: 0 }), (err: unknown) => {
    assert.ok(err instanceof ServerError);
    assert.equal(err.code, 'ENOTDIR');
    return true;
  });
});

test('close() with an idle keep-alive socket resolves and the socket sees EOF', async () => {
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 30_000 } });
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(request('/hello.txt'));
    assert.equal((await client.readResponse()).status, 200);
    // The grace period is long: only the idle socket being ended at once lets close() resolve.
    await withTimeout(srv.close(), 5_000, 'close() with an idle socket');
    await client.waitForEof();
    assert.equal(srv.server.connectionCount, 0);
    await assert.rejects(RawClient.connect(srv.port), 'no longer accepting');
  } finally {
    client.destroy();
  }
});

test('close() with an idle client that never closes its side: no linger, our side is closed once our FIN is out', async () => {
  // helper-49: a browser tab's kept-alive socket held every Ctrl-C for LINGER_MS (2 s). Nothing of
  // ours is unread on an idle connection, so there is nothing to linger for.
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 30_000 } });
  const socket = connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('data', () => undefined);
  const eof = new Promise<void>((resolve) => socket.once('end', () => resolve()));
  try {
    socket.write(request('/hello.txt'));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await withTimeout(srv.close(), 5_000, 'close() with a half-open idle socket');
    const tookMs = Date.now() - started;
    assert.ok(tookMs < 1_000, `close() took ${tookMs} ms: it waited for the client's FIN (LINGER_MS is 2,000)`);
    await withTimeout(eof, 5_000, 'our FIN');
    assert.equal(srv.server.connectionCount, 0, 'the connection is gone on our side');
  } finally {
    socket.destroy();
  }
});

test('close() with a keep-alive socket holding only an extra CRLF after its request (RFC 9112 §2.2) ends it at once, without a 499 record', async () => {
  // Empty lines begin no request: the connection is idle, not one "while the request head was
  // arriving" that close() waits closeGraceMs for and then logs as an aborted request "-".
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 30_000 } });
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(request('/hello.txt') + '\r\n');
    assert.equal((await client.readResponse()).status, 200);
    await new Promise((r) => setTimeout(r, 100));
    await withTimeout(srv.close(), 5_000, 'close() with a socket holding an empty line');
    await client.waitForEof();
    assert.deepEqual(srv.records.map((r) => r.status), [200]);
  } finally {
    client.destroy();
  }
});

test('close() twice returns the same promise; close() before listen() resolves', async () => {
  const srv = await startServer({ root: site.root });
  const a = srv.close();
  const b = srv.close();
  assert.equal(a, b);
  await a;
  await new PreviewServer().close();
});

test('close() during a download that keeps reading lets it finish byte-exact, then ends the socket', async () => {
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 30_000 } });
  const client = await RawClient.connect(srv.port);
  client.noTranscript();
  try {
    await client.write(request(`/${site.bigName}`));
    const head = await client.readResponse({ head: true });
    assert.equal(head.status, 200);
    const closed = srv.close();
    const body = await client.readBytes(site.bigSize, 20_000);
    assert.ok(body.equals(patternBytes(0, site.bigSize)), 'bytes differ');
    await client.waitForEof();
    await withTimeout(closed, 10_000, 'close() after the download');
    assert.equal(srv.server.connectionCount, 0);
  } finally {
    client.destroy();
  }
});

test('close() during a download with requests pipelined behind it: the download finishes, the others are logged as not answered (503, no bytes)', async () => {
  // Before: the two requests already read behind the download were closed unanswered and were in
  // no record. Now each is a record: status 503, 0 bytes, no response head, a note saying why.
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 30_000 } });
  const client = await RawClient.connect(srv.port);
  client.noTranscript();
  try {
    // Not read for a while: the download stalls with the kernel's buffers full, still unfinished.
    client.socket.pause();
    const sentAt = Date.now();
    await client.write(request(`/${site.bigName}`) + request('/hello.txt?behind=1') + request('/hello.txt?behind=2'));
    await new Promise((r) => setTimeout(r, 200));
    const closed = srv.close();
    assert.deepEqual(srv.server.unfinished(), { responses: 1, requests: 0 }, 'what the stop waits for');
    // Their lines are written when the download ends, a second later at least: they carry the time
    // the requests came (helper-128: the stop's time, and 0 s).
    await new Promise((r) => setTimeout(r, 1_000));
    client.socket.resume();
    const head = await client.readResponse({ head: true });
    assert.equal(head.status, 200);
    const body = await client.readBytes(site.bigSize, 20_000);
    assert.ok(body.equals(patternBytes(0, site.bigSize)), 'bytes differ');
    await client.waitForEof();
    await withTimeout(closed, 10_000, 'close() after the download');
    assert.deepEqual(srv.server.cutOnStop, { responses: 0, requests: 0 }, 'nothing was cut');
    const behind = srv.records.filter((r) => r.target.startsWith('/hello.txt?behind='));
    assert.deepEqual(
      behind.map((r) => [r.target, r.status, r.bytes, r.responseHeaders.length]),
      [
        ['/hello.txt?behind=1', 503, 0, 0],
        ['/hello.txt?behind=2', 503, 0, 0],
      ],
    );
    assert.match(behind[0]?.note ?? '', /^not answered: the server was stopping/);
    for (const r of behind) {
      assert.ok(r.time - sentAt < 500, `stamped ${r.time - sentAt} ms after it was sent`);
      assert.ok(r.durationMs >= 1_000, `${r.durationMs} ms from its arrival to the end`);
    }
  } finally {
    client.destroy();
  }
});

test('close() during a download: a malformed or half-sent request pipelined behind the others is logged too, with its own status (helper-117)', async () => {
  // Before: the 503 lines were written for the whole requests, and the loop stopped at the first
  // head the parser refused or that had not all come, which was logged nowhere.
  const longTarget = `/${'a'.repeat(9_000)}`;
  for (const [tail, target, status, aborted, note] of [
    [`GET /\u001b[31mred HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, '/\u001b[31mred', 400, false, /^not answered \(the server was stopping\): /],
    [`GET ${longTarget} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, undefined, 414, false, /^not answered \(the server was stopping\): /],
    ['GET /partial HTTP/1.1\r\nHo', '/partial', 499, true, /^the server stopped while the request head was arriving$/],
  ] as const) {
    const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 30_000 } });
    const client = await RawClient.connect(srv.port);
    client.noTranscript();
    try {
      client.socket.pause();
      await client.write(request(`/${site.bigName}`) + request('/hello.txt?behind=1') + tail);
      await new Promise((r) => setTimeout(r, 200));
      const closed = srv.close();
      client.socket.resume();
      const head = await client.readResponse({ head: true });
      assert.equal(head.status, 200);
      await client.readBytes(site.bigSize, 20_000);
      await client.waitForEof();
      await withTimeout(closed, 10_000, 'close() after the download');
      const after = srv.records.slice(srv.records.findIndex((r) => r.target === '/hello.txt?behind=1'));
      assert.equal(after.length, 2, `${status}: ${JSON.stringify(after.map((r) => [r.target.slice(0, 40), r.status]))}`);
      assert.equal(after[0]?.status, 503);
      const last = after[1];
      if (target !== undefined) assert.equal(last?.target, target);
      else assert.ok(last?.target.startsWith('/aaaa'), 'the 414 target, cut');
      assert.equal(last?.status, status);
      assert.equal(last?.aborted, aborted);
      assert.equal(last?.bytes, 0);
      assert.match(last?.note ?? '', note);
    } finally {
      client.destroy();
    }
  }
});

test('a head still arriving when the server stops at once is logged with the time it began, not the stop (helper-128)', async () => {
  const srv = await startServer({ root: site.root, timeouts: { headersMs: 30_000 } });
  const client = await RawClient.connect(srv.port);
  client.noTranscript();
  try {
    const sentAt = Date.now();
    await client.write('GET /partial HTTP/1.1\r\nUser-Agent: stop-partial-head\r\nHo');
    await new Promise((r) => setTimeout(r, 1_200));
    await withTimeout(srv.server.closeNow(), 10_000, 'closeNow() with a head arriving');
    const line = srv.records.find((r) => r.target === '/partial');
    assert.equal(line?.status, 499);
    assert.equal(line?.note, 'the server stopped while the request head was arriving');
    assert.equal(line?.userAgent, 'stop-partial-head');
    assert.ok(line.time - sentAt < 500, `stamped ${line.time - sentAt} ms after it was sent`);
    assert.ok(line.durationMs >= 1_000, `${line.durationMs} ms from its start to the stop`);
  } finally {
    client.destroy();
  }
});

test('close() during a stalled download destroys it after closeGraceMs and resolves when all sockets are gone', async () => {
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 300 } });
  const client = await RawClient.connect(srv.port);
  client.noTranscript();
  const idle = await RawClient.connect(srv.port);
  try {
    await client.write(request(`/${site.bigName}`));
    await client.readResponse({ head: true });
    client.socket.pause();
    await withTimeout(srv.close(), 10_000, 'close() with a stalled download');
    assert.equal(srv.server.connectionCount, 0);
    // A paused socket does not read, so it cannot see the close until it reads again.
    client.socket.resume();
    await waitForClose(client.socket);
    await idle.waitForEof();
    assert.ok(client.buffered < site.bigSize, 'the stalled download did not complete');
  } finally {
    client.destroy();
    idle.destroy();
  }
});

test('close() with a half-sent request head does not wait for ever', async () => {
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 300 } });
  const client = await RawClient.connect(srv.port);
  try {
    await client.write('GET /hello.txt HTTP/1.1\r\nHost: 127');
    // Wait until the server has the bytes: a connection with unparsed bytes is not idle.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await withTimeout(srv.close(), 10_000, 'close() with a half-sent head');
    assert.equal(srv.server.connectionCount, 0);
    await client.waitForEof();
  } finally {
    client.destroy();
  }
});
