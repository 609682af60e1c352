/**
 * Connection behaviour over TCP: keep-alive, HTTP/1.0, Connection: close, the idle timeout,
 * pipelining (with a body and a HEAD in the batch), requests split into tiny writes, and
 * `Expect: 100-continue`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { LINGER_MAX_MS, LINGER_MS } from '../../src/core/http/connection';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, request, waitForClose } from './raw-client';

let site: Site;
let srv: Running;
let srvIdle: Running;

before(async () => {
  site = await makeSite({ bigSize: 128 * 1024 });
  // Larger than a first flight: 1,000,000 bytes (cached, written whole) and 3 MiB (streamed).
  await writeFile(join(site.root, 'mid.bin'), pattern(1_000_000));
  await writeFile(join(site.root, 'large.bin'), pattern(3 * 1024 * 1024));
  srv = await startServer({ root: site.root });
  srvIdle = await startServer({ root: site.root, timeouts: { idleMs: 300 } });
});

after(async () => {
  await Promise.all([srv.close(), srvIdle.close()]);
  await site.cleanup();
});

test('several requests on one keep-alive socket', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    for (let i = 0; i < 5; i++) {
      await client.write(request(i % 2 === 0 ? '/hello.txt' : '/digits.txt'));
      const res = await client.readResponse();
      assert.equal(res.status, 200);
      assert.equal(res.header('connection'), undefined, 'HTTP/1.1 persists without a Connection header');
      assert.equal(res.body.toString(), i % 2 === 0 ? site.hello : site.digits);
    }
    assert.ok(!client.ended);
  } finally {
    client.destroy();
  }
});

test('HTTP/1.0 closes after the response unless Connection: keep-alive', async () => {
  const plain = await RawClient.connect(srv.port);
  try {
    await plain.write('GET /hello.txt HTTP/1.0\r\n\r\n');
    const res = await plain.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.header('connection'), 'close');
    await plain.waitForEof();
  } finally {
    plain.destroy();
  }
  const kept = await RawClient.connect(srv.port);
  try {
    for (let i = 0; i < 3; i++) {
      await kept.write('GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      const res = await kept.readResponse();
      assert.equal(res.status, 200);
      assert.equal(res.header('connection'), 'keep-alive');
    }
    assert.ok(!kept.ended);
  } finally {
    kept.destroy();
  }
});

test('Connection: close is honoured, and what follows it in the pipeline is not answered', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(request('/hello.txt', { headers: ['Connection: close'] }) + request('/digits.txt'));
    const res = await client.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.header('connection'), 'close');
    await client.waitForEof();
    assert.equal(client.buffered, 0, 'nothing after the closing response');
  } finally {
    client.destroy();
  }
});

test('a client that said Connection: close and left its side open: the server closes fully at once, the whole answer first', async () => {
  // RFC 9112 §9.6: a client that sends "close" sends no further request, so the server need not
  // half-close and wait for the client's FIN (as nginx, it closes once the kernel has the answer).
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(request('/digits.txt', { headers: ['Connection: close'] }));
    const res = await client.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), site.digits);
    await client.waitForEof();
    // The client has not closed its side, yet the server's FIN came with its connection gone:
    // it closed fully (a half-close would keep it until the client's FIN or the linger time).
    assert.equal(srv.server.connectionCount, 0, 'closed without waiting for the client');
  } finally {
    client.destroy();
  }
});

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + (i >> 11)) & 0xff;
  return b;
}

test('bytes sent after Connection: close cannot cut a large answer short (no close(2) with it still queued)', async () => {
  // RFC 9112 §9.6: the client should send nothing more, but a stray CRLF or request must not turn
  // the close into a reset that drops what the kernel still holds of the answer (helper-51: 36 of
  // 50 tries cut a 1 MB answer). Only an answer within the first flight is closed at once.
  for (const [path, size] of [['/mid.bin', 1_000_000], ['/large.bin', 3 * 1024 * 1024]] as const) {
    for (let i = 0; i < 20; i++) {
      const client = await RawClient.connect(srv.port);
      client.noTranscript();
      try {
        // The extra bytes 0–2 ms after the request, as a second segment (the old close(2) came
        // in between: the kernel answered them with a reset).
        const asked = client.write(request(path, { headers: ['Connection: close'] }));
        // (On a loaded machine the whole answer and its FIN may be in before the timer fires:
        // the client has then ended its side, and the write fails; what it got is still checked.)
        const extra = new Promise<void>((resolve) => setTimeout(resolve, i % 3))
          .then(() => client.write(i % 2 === 0 ? '\r\n' : request('/hello.txt')))
          .catch(() => undefined);
        await Promise.all([asked, extra]);
        const res = await client.readResponse({ timeoutMs: 10_000 });
        assert.equal(res.status, 200);
        assert.equal(res.body.length, size, `${path}, try ${i}: the whole body`);
        await client.waitForEof();
      } finally {
        client.destroy();
      }
    }
  }
});

test('answers still queued when the connection closes are not cut by the linger: a client that reads late gets them all', async () => {
  // Pipelined, the last asking to close; the client reads nothing for longer than the 2 s linger
  // (helper-51: 4 of 6 answers arrived). maxQueuedBytes is raised so that every answer is made
  // while the client waits and most of the 12 MB waits in the server's queue, not the kernel's.
  const big = await startServer({ root: site.root, limits: { maxQueuedBytes: 64 * 1024 * 1024 } });
  const client = await RawClient.connect(big.port);
  client.noTranscript();
  try {
    client.socket.pause();
    await client.write(request('/mid.bin').repeat(11) + request('/mid.bin', { headers: ['Connection: close'] }));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    client.socket.resume();
    const answers = await client.readResponses(12, [], 20_000);
    assert.deepEqual(
      answers.map((r) => [r.status, r.body.length]),
      Array.from({ length: 12 }, () => [200, 1_000_000]),
    );
    await client.waitForEof();
  } finally {
    client.destroy();
    await big.close();
  }
});

test('after a timeout fired, its timer watches on: a 408 for a stalled body lingers LINGER_MS when the header timeout is as long (helper-136)', async () => {
  // The body's inactivity timeout (headersMs) fires: 408, half-close, then the linger sets the
  // connection's timeout to LINGER_MS, which it already was. A timer that fired and stopped
  // watching left the client, silent and never closing its side, to the 30 s cap (LINGER_MAX_MS).
  const same = await startServer({ root: site.root, timeouts: { headersMs: LINGER_MS } });
  const socket = connect({ port: same.port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    socket.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc');
    await ended;
    const answered = Date.now();
    assert.match(Buffer.concat(received).toString('latin1'), /^HTTP\/1\.1 408 /);
    // Bounded by LINGER_MAX_MS and a margin: the wait ends either way.
    while (same.server.connectionCount > 0 && Date.now() - answered < LINGER_MAX_MS + 5_000) await sleep(100);
    const heldMs = Date.now() - answered;
    assert.ok(heldMs < (LINGER_MS + LINGER_MAX_MS) / 2, `the connection was held ${heldMs} ms after the 408 (linger ${LINGER_MS} ms)`);
  } finally {
    socket.destroy();
    await same.close();
  }
});

test('an error answer reaches a client that keeps uploading for 3 s and reads after (a lingering close, as nginx)', async () => {
  // 405 is answered from the head alone and the connection closes; the client goes on sending
  // its 50 MB body and reads only later. The close waits until the client has been silent for
  // 5 s (30 s at most): closed while it still sent, the kernel reset the connection and the
  // answer was lost (helper-52: 25 of 25 with a fixed 2 s linger).
  const socket = connect({ port: srv.port, host: '127.0.0.1' });
  const received: Buffer[] = [];
  let failed: Error | undefined;
  socket.on('error', (err) => (failed = err));
  try {
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write('POST /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50000000\r\n\r\n');
    const junk = Buffer.alloc(32 * 1024, 0x78);
    const until = Date.now() + 3_000;
    while (Date.now() < until && failed === undefined) {
      socket.write(junk);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume();
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    const text = Buffer.concat(received).toString('latin1');
    assert.equal(failed, undefined, `no reset or broken pipe (${String(failed)})`);
    assert.match(text, /^HTTP\/1\.1 405 /);
  } finally {
    socket.destroy();
  }
});

test('the idle timeout closes a keep-alive socket', async () => {
  const client = await RawClient.connect(srvIdle.port);
  try {
    await client.write(request('/hello.txt'));
    assert.equal((await client.readResponse()).status, 200);
    await waitForClose(client.socket, 5_000);
    assert.equal(client.buffered, 0);
  } finally {
    client.destroy();
  }
});

test('pipelining: 5 requests in one write (with a body and a HEAD) are answered in order', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    const batch =
      request('/hello.txt') +
      'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n\r\nhello=world' +
      request('/digits.txt', { method: 'HEAD' }) +
      'OPTIONS /x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
      request('/digits.txt', { headers: ['Range: bytes=0-2'] });
    await client.write(batch);
    const res = await client.readResponses(5, [false, false, true, false, false]);
    assert.deepEqual(
      res.map((r) => r.status),
      [200, 200, 200, 204, 206],
    );
    assert.equal(res[0]?.body.toString(), site.hello);
    assert.equal(res[2]?.header('content-length'), '1000');
    assert.equal(res[2]?.body.length, 0);
    assert.equal(res[4]?.body.toString(), '012');
    assert.ok(!client.ended);
  } finally {
    client.destroy();
  }
});

test('pipelining: 50 requests in one write, responses in order', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    const targets = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? '/hello.txt' : i % 3 === 1 ? '/digits.txt' : '/nope'));
    await client.write(targets.map((t) => request(t)).join(''));
    const res = await client.readResponses(targets.length);
    assert.deepEqual(
      res.map((r) => r.status),
      targets.map((t) => (t === '/nope' ? 404 : 200)),
    );
  } finally {
    client.destroy();
  }
});

test('a request split across many tiny writes', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    const raw = request('/hello.txt', { headers: ['User-Agent: tiny-writes', 'Accept: */*'] });
    await client.writePieces(raw, 1);
    const res = await client.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), site.hello);
    // A body split too, then a second request split at odd offsets.
    await client.writePieces('OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nabcde' + request('/digits.txt'), 3);
    const [post, next] = await client.readResponses(2);
    assert.equal(post?.status, 204);
    assert.equal(next?.status, 200);
  } finally {
    client.destroy();
  }
});

test('Expect: 100-continue with its body sent anyway, whole with the head: the body is passed over and the connection goes on', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    await client.write('OPTIONS /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n12345' + request('/hello.txt'));
    const [options, next] = await client.readResponses(2);
    assert.equal(options?.status, 204);
    assert.equal(next?.status, 200);
    assert.equal(next?.body.toString(), site.hello);
  } finally {
    client.destroy();
  }
});

test('Expect: a list holding 100-continue (RFC 9110 §10.1.1: Expect = #expectation) is that expectation too, not a wait for a body that waits for it', async () => {
  for (const expect of ['100-continue, x-other', 'x-other , 100-CONTINUE', '100-continue,']) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(`OPTIONS /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: ${expect}\r\n\r\n`);
      const res = await client.readResponse({ timeoutMs: 2_000 });
      assert.equal(res.status, 204, expect);
      assert.equal(res.header('connection'), 'close', expect);
    } finally {
      client.destroy();
    }
  }
});

test('Expect: 100-continue with a body over the limit gets no 100 either: answered, and closed', async () => {
  const small = await startServer({ root: site.root, maxBodyBytes: 10 });
  const client = await RawClient.connect(small.port);
  try {
    await client.write('OPTIONS /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n');
    const res = await client.readResponse();
    assert.notEqual(res.status, 100);
    assert.equal(res.header('connection'), 'close');
    await client.waitForEof();
  } finally {
    client.destroy();
    await small.close();
  }
});

test('a client half-close after complete requests still gets every answer, then EOF', async () => {
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(request('/hello.txt') + request('/digits.txt'));
    client.end();
    const res = await client.readResponses(2);
    assert.deepEqual(
      res.map((r) => r.status),
      [200, 200],
    );
    await client.waitForEof();
  } finally {
    client.destroy();
  }
});

test('empty lines after the last request (RFC 9112 §2.2) are no request: a half-close or the head deadline ends the connection without a 400, a 408 or a log record', async () => {
  // An old client's extra CRLF after a request (RFC 9112 §2.2), then its FIN; then empty lines
  // alone on a fresh connection; then an extra CRLF left on a connection kept open past the head
  // deadline. Each is an idle connection: the answers asked for, EOF, nothing more.
  const quick = await startServer({ root: site.root, timeouts: { headersMs: 300 } });
  try {
    const cases: Array<{ raw: string; answers: number; halfClose: boolean }> = [
      { raw: request('/hello.txt') + '\r\n', answers: 1, halfClose: true },
      { raw: request('/hello.txt') + '\r\n\r\n\r', answers: 1, halfClose: true },
      { raw: '\r\n\r\n', answers: 0, halfClose: true },
      { raw: request('/hello.txt') + '\r\n', answers: 1, halfClose: false },
    ];
    for (const { raw, answers, halfClose } of cases) {
      const before = quick.records.length;
      const client = await RawClient.connect(quick.port);
      try {
        await client.write(raw);
        if (halfClose) client.end();
        const res = await client.readResponses(answers);
        assert.deepEqual(res.map((r) => r.status), new Array<number>(answers).fill(200), JSON.stringify(raw));
        await client.waitForEof();
        assert.equal(client.buffered, 0, `${JSON.stringify(raw)}: nothing after the answers, got ${JSON.stringify(client.transcriptText())}`);
      } finally {
        client.destroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(quick.records.slice(before).map((r) => r.status), new Array<number>(answers).fill(200), JSON.stringify(raw));
    }
  } finally {
    await quick.close();
  }
});

test('a client that resets its connection with only an extra CRLF after its request left no request behind: no "mid-request" record', async () => {
  const client = await RawClient.connect(srv.port);
  const before = srv.records.length;
  try {
    await client.write(request('/hello.txt') + '\r\n');
    assert.equal((await client.readResponse()).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.socket.resetAndDestroy();
    await waitForClose(client.socket);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(srv.records.slice(before).map((r) => `${r.status} ${r.note ?? ''}`), ['200 ']);
  } finally {
    client.destroy();
  }
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
