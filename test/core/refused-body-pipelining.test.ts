/**
 * Requests pipelined behind a request refused before its body was read (405/501 for the method,
 * 413 for its length) never vanish where their framing is known. Found by an attacker:
 *
 *   POST /a.txt (Content-Length: 5, "hello") + GET /a.txt?after-post, in one write
 *
 * got its 405 and `Connection: close`; the GET was neither answered nor logged (the log promises a
 * line per request). Now a refused request whose whole body came with its head (within
 * maxBodyBytes) has that body passed over and the connection goes on, as nginx discards it: the
 * GET is answered. One whose body is still arriving is answered at once and the connection closes,
 * as before, but its body is passed over as it comes and each request after it is logged as not
 * answered (503, the note says why), as behind a `Connection: close` answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { once } from 'node:events';
import type { RequestRecord } from '../../src/core';
import { startServer, type Running } from './harness';
import { RawClient, withTimeout } from './raw-client';

let root = '';
let srv: Running;
/** The static-file body limit (413 beyond it), small enough to send past it in one write. */
const MAX_BODY = 1_000;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-refused-body-'));
  await writeFile(join(root, 'a.txt'), 'a\n');
  srv = await startServer({ root, reload: { enabled: false }, maxBodyBytes: MAX_BODY });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

const H = 'Host: localhost\r\n';
const GET_AFTER = `GET /a.txt?after-post HTTP/1.1\r\n${H}\r\n`;
const CLOSED_NOTE = /^not answered: the server closes the connection \(.*\); a client sends the request again on a new connection$/;

/** The records `srv` adds while `run` goes, once the connection's lines are all in (bounded wait for `count`). */
async function recordsOf(run: () => Promise<void>, count: number, on: Running = srv): Promise<RequestRecord[]> {
  const before = on.records.length;
  await run();
  for (let i = 0; i < 100 && on.records.length - before < count; i++) await new Promise((r) => setTimeout(r, 20));
  // Any line more than expected would come now.
  await new Promise((r) => setTimeout(r, 100));
  return on.records.slice(before);
}

/**
 * On a half-open client (it keeps sending after the server's FIN, as a pipelining client whose
 * bytes were under way does): writes `first`, waits for the answer's head, then writes each of
 * `later`, half-closes, and waits for the server to close. Returns the answer's status, its
 * Connection field, and every byte received.
 */
async function exchange(first: string, later: readonly string[] = [], port = srv.port): Promise<{ status: number; connection: string | undefined; received: string }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => undefined);
  let received = '';
  let headSeen: () => void = () => undefined;
  const head = new Promise<void>((resolve) => (headSeen = resolve));
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    if (received.includes('\r\n\r\n')) headSeen();
  });
  const closed = once(socket, 'close');
  try {
    await once(socket, 'connect');
    socket.write(first);
    await withTimeout(head, 3_000, 'the answer');
    for (const bytes of later) {
      await new Promise((r) => setTimeout(r, 50));
      socket.write(bytes);
    }
    socket.end();
    await withTimeout(closed, 8_000, 'the close');
  } finally {
    socket.destroy();
  }
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1]);
  const connection = /\r\nConnection: ([^\r]*)\r\n/i.exec(received)?.[1];
  return { status, connection, received };
}

test('a refused POST whose body came whole with its head: its body is passed over and the GET behind it answered', async () => {
  const added = await recordsOf(async () => {
    const client = await RawClient.connect(srv.port);
    await client.write(`POST /a.txt HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello${GET_AFTER}`);
    const [refused, answered] = await client.readResponses(2, [], 3_000);
    assert.equal(refused?.status, 405);
    assert.notEqual(refused?.header('connection'), 'close', 'the connection goes on');
    assert.equal(answered?.status, 200);
    assert.equal(answered?.body.toString(), 'a\n');
    // Still open and in step: a third request on it is answered too.
    await client.write(`GET /a.txt?third HTTP/1.1\r\n${H}\r\n`);
    assert.equal((await client.readResponse({ timeoutMs: 3_000 })).status, 200);
    client.destroy();
  }, 3);
  assert.deepEqual(
    added.map((r) => [r.method, r.target, r.status]),
    [
      ['POST', '/a.txt', 405],
      ['GET', '/a.txt?after-post', 200],
      ['GET', '/a.txt?third', 200],
    ],
  );
});

test('a refused body that reads as a request is passed over, never answered or logged as one', async () => {
  const forged = `GET /forged-in-body HTTP/1.1\r\n${H}\r\n`;
  const added = await recordsOf(async () => {
    const client = await RawClient.connect(srv.port);
    await client.write(`DELETE /a.txt HTTP/1.1\r\n${H}Content-Length: ${forged.length}\r\n\r\n${forged}${GET_AFTER}`);
    const statuses = (await client.readResponses(2, [], 3_000)).map((r) => r.status);
    assert.deepEqual(statuses, [405, 200]);
    client.destroy();
  }, 2);
  assert.deepEqual(
    added.map((r) => [r.target, r.status]),
    [
      ['/a.txt', 405],
      ['/a.txt?after-post', 200],
    ],
  );
});

test('a refused method with a chunked body that came whole, and one with Content-Length: 0: the GET behind is answered', async () => {
  for (const refused of [
    `PUT /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n`,
    `POST /a.txt HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
    `BREW /pot HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`,
  ]) {
    const added = await recordsOf(async () => {
      const client = await RawClient.connect(srv.port);
      await client.write(refused + GET_AFTER);
      const res = await client.readResponses(2, [], 3_000);
      assert.deepEqual(
        res.map((r) => r.status),
        [refused.startsWith('BREW') ? 501 : 405, 200],
        refused,
      );
      client.destroy();
    }, 2);
    assert.deepEqual(
      added.map((r) => r.target),
      [refused.startsWith('BREW') ? '/pot' : '/a.txt', '/a.txt?after-post'],
      refused,
    );
  }
});

test('a refused body split across two writes: answered at once and closed; the GET behind the rest of it is logged as not answered', async () => {
  const added = await recordsOf(async () => {
    // The 405 comes before the rest of the body is sent: the answer never waits for a body.
    const { status, connection, received } = await exchange(`POST /a.txt HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhel`, [`lo${GET_AFTER}`]);
    assert.equal(status, 405);
    assert.equal(connection, 'close');
    assert.equal(received.split('HTTP/1.1 ').length, 2, 'one answer: nothing answers the GET');
  }, 2);
  assert.deepEqual(
    added.map((r) => [r.method, r.target, r.status]),
    [
      ['POST', '/a.txt', 405],
      ['GET', '/a.txt?after-post', 503],
    ],
  );
  const line = added[1];
  assert.equal(line?.bytes, 0);
  assert.deepEqual(line?.responseHeaders, []);
  assert.match(line?.note ?? '', CLOSED_NOTE);
});

test('a refused chunked body still arriving: its last chunk passed over as it comes, the GET behind it logged as not answered', async () => {
  const added = await recordsOf(async () => {
    const { status, connection } = await exchange(`PUT /a.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhel`, [
      `lo\r\n0\r\n\r\n${GET_AFTER}`,
    ]);
    assert.equal(status, 405);
    assert.equal(connection, 'close');
  }, 2);
  assert.deepEqual(
    added.map((r) => [r.target, r.status]),
    [
      ['/a.txt', 405],
      ['/a.txt?after-post', 503],
    ],
  );
  assert.match(added[1]?.note ?? '', CLOSED_NOTE);
});

test('a refused body over maxBodyBytes, all in one write: the connection closes, and the GET behind it is logged as not answered', async () => {
  const body = 'x'.repeat(MAX_BODY + 1);
  const added = await recordsOf(async () => {
    const { status, connection } = await exchange(`POST /a.txt HTTP/1.1\r\n${H}Content-Length: ${body.length}\r\n\r\n${body}${GET_AFTER}`);
    assert.equal(status, 405);
    assert.equal(connection, 'close');
  }, 2);
  assert.deepEqual(
    added.map((r) => [r.target, r.status]),
    [
      ['/a.txt', 405],
      ['/a.txt?after-post', 503],
    ],
  );
});

test('413 for a body over maxBodyBytes: its body passed over (whole or as it comes), the GET behind it logged as not answered', async () => {
  const body = 'x'.repeat(MAX_BODY + 1);
  for (const [name, first, later] of [
    ['whole', `OPTIONS /a.txt HTTP/1.1\r\n${H}Content-Length: ${body.length}\r\n\r\n${body}${GET_AFTER}`, []],
    ['split', `GET /a.txt HTTP/1.1\r\n${H}Content-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`, [`${body.slice(10)}${GET_AFTER}`]],
  ] as const) {
    const added = await recordsOf(async () => {
      const { status, connection } = await exchange(first, later);
      assert.equal(status, 413, name);
      assert.equal(connection, 'close', name);
    }, 2);
    assert.deepEqual(
      added.map((r) => [r.target, r.status]),
      [
        ['/a.txt', 413],
        ['/a.txt?after-post', 503],
      ],
      name,
    );
    assert.equal(added[1]?.note, 'not answered: the server closes the connection (the request before it was refused (413)); a client sends the request again on a new connection', name);
  }
});

test('a refused request that asked for 100-continue and sent no body: what follows is not known to be requests, and is not logged as such', async () => {
  // RFC 9110 §10.1.1: refused without a 100, its client may send the body or not; where the next
  // request starts is unknown, so nothing after it is taken for one.
  const forged = `GET /forged HTTP/1.1\r\n${H}\r\n`;
  const added = await recordsOf(async () => {
    const { status, connection } = await exchange(`POST /a.txt HTTP/1.1\r\n${H}Content-Length: ${forged.length}\r\nExpect: 100-continue\r\n\r\n`, [forged]);
    assert.equal(status, 405);
    assert.equal(connection, 'close');
  }, 1);
  assert.deepEqual(
    added.map((r) => r.target),
    ['/a.txt'],
  );
});

test('a body too slow (408): the rest of it passed over while the connection lingers, the GET behind it logged as not answered', async () => {
  const slow = await startServer({ root, reload: { enabled: false }, timeouts: { headersMs: 300 } });
  try {
    const added = await recordsOf(
      async () => {
        // OPTIONS with a body: read and discarded before its answer; 3 of its 10 bytes, then nothing.
        const { status, connection } = await exchange(`OPTIONS /a.txt HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`, [`defghij${GET_AFTER}`], slow.port);
        assert.equal(status, 408);
        assert.equal(connection, 'close');
      },
      2,
      slow,
    );
    assert.deepEqual(
      added.map((r) => [r.target, r.status]),
      [
        ['/a.txt', 408],
        ['/a.txt?after-post', 503],
      ],
    );
    assert.equal(added[1]?.note, 'not answered: the server closes the connection (the request before it was refused (408)); a client sends the request again on a new connection');
  } finally {
    await slow.close();
  }
});
