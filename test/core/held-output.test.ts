/**
 * Answers held to the end of the event-loop turn (connection.ts, heldOutput): while more than one
 * connection is open, a small answer on a connection that stays open is corked and handed to the
 * kernel with the turn's others. Whatever is held must still go out, in order, before any close;
 * a close decided in the same turn must not drop it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, type Site } from '../fixtures/make-site';
import { rawBackend, startServer, type Running } from './harness';
import { RawClient, request } from './raw-client';

let site: Site;
let srv: Running;

before(async () => {
  site = await makeSite({ bigSize: 128 * 1024 });
  srv = await startServer({ root: site.root });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});

/** Opens `n` connections; the first is the one a test talks on, the others keep answers held. */
async function connections(n: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < n; i++) clients.push(await RawClient.connect(srv.port));
  return clients;
}

test('held answers go out in order, a large body among them, then the closing answer and EOF', async () => {
  const clients = await connections(3);
  const [client] = clients;
  assert.ok(client);
  try {
    // One write, so one read: the server answers all six in one turn. The last says close: the
    // connection ends in that turn too, after what is held.
    await client.write(
      request('/hello.txt') +
        request('/big.bin') +
        request('/digits.txt', { method: 'HEAD' }) +
        request('/nope') +
        request('/digits.txt', { headers: ['Range: bytes=5-7'] }) +
        request('/hello.txt', { headers: ['Connection: close'] }),
    );
    const res = await client.readResponses(6, [false, false, true, false, false, false]);
    assert.deepEqual(
      res.map((r) => r.status),
      [200, 200, 200, 404, 206, 200],
    );
    assert.equal(res[0]?.body.toString(), site.hello);
    assert.equal(res[1]?.body.length, 128 * 1024);
    assert.equal(res[2]?.body.length, 0);
    assert.equal(res[4]?.body.toString(), '567');
    assert.equal(res[5]?.header('connection'), 'close');
    assert.equal(res[5]?.body.toString(), site.hello);
    await client.waitForEof();
    assert.equal(client.buffered, 0, 'nothing after the closing answer');
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('answers asked for on several connections in the same turn all arrive, and each connection stays open', async () => {
  const clients = await connections(8);
  try {
    // Written back to back: the server reads them in one or a few turns.
    await Promise.all(clients.map((c, i) => c.write(request(i % 2 === 0 ? '/hello.txt' : '/digits.txt'))));
    const answers = await Promise.all(clients.map((c) => c.readResponse()));
    answers.forEach((res, i) => {
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), i % 2 === 0 ? site.hello : site.digits);
    });
    // A second round on the same sockets: holding left none of them corked.
    await Promise.all(clients.map((c) => c.write(request('/digits.txt'))));
    for (const res of await Promise.all(clients.map((c) => c.readResponse()))) {
      assert.equal(res.body.toString(), site.digits);
    }
    assert.ok(clients.every((c) => !c.ended));
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('a client that leaves with answers held: the server goes on answering the others', async () => {
  const clients = await connections(2);
  const [client] = clients;
  assert.ok(client);
  try {
    await client.write(request('/hello.txt') + request('/digits.txt'));
    client.socket.destroy();
    // The server goes on answering the other connection.
    const other = clients[1];
    assert.ok(other);
    await other.write(request('/hello.txt'));
    assert.equal((await other.readResponse()).body.toString(), site.hello);
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('a cached answer held alone (not corked) keeps its place before whatever the turn writes next on its connection', async () => {
  // The first answer of a turn that is a prepared one (a cached file, the 404 page) is held
  // outside the socket (heldWire); anything the connection writes next in that turn (another
  // answer, a large body, a 100 Continue, a refusal, the close) must come after it.
  const clients = await connections(2);
  const [client] = clients;
  assert.ok(client);
  try {
    // Cached first (prepared answers from then on).
    await client.write(request('/hello.txt') + request('/digits.txt') + request('/nope'));
    await client.readResponses(3);
    const followers: ReadonlyArray<readonly [string, string, boolean, number]> = [
      ['a large body', request('/big.bin'), false, 200],
      ['a 100 Continue', `GET /digits.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc`, false, 200],
      ['a cached HEAD', request('/digits.txt', { method: 'HEAD' }), true, 200],
      ['the 404 page', request('/nope'), false, 404],
      ['a refusal', 'GET /\u0001 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', false, 400],
    ];
    const bodies: Record<string, string | undefined> = { 'a 100 Continue': site.digits, 'a cached HEAD': '' };
    for (const [name, follower, head, status] of followers) {
      const expectedBody = bodies[name];
      const c: RawClient = name === 'a refusal' ? await RawClient.connect(srv.port) : client;
      try {
        await c.write(request('/hello.txt') + follower);
        const [first, second] = await c.readResponses(2, [false, head]).catch((e: unknown) => { throw new Error(`${name}: ${String(e)}`); });
        assert.equal(first?.status, 200, name);
        assert.equal(first?.body.toString(), site.hello, `${name}: the held answer first, whole`);
        // A 100 Continue may come before the final answer: skip it.
        const final = second?.status === 100 ? await c.readResponse() : second;
        assert.equal(final?.status, status, name);
        if (expectedBody !== undefined) assert.equal(final?.body.toString(), expectedBody, `${name}: its body`);
      } finally {
        if (c !== client) c.destroy();
      }
    }
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('a cached answer held alone, then the client\'s FIN: the close comes after it', async () => {
  // The FIN arrives while a slower request before it is answered (a proxied one); when that
  // answer comes, the cached one behind it is held, nothing more is pending, and the connection
  // closes in the same turn (helper-132: with the held answer not put in the socket before
  // end(), it was lost 50 times of 50).
  const back = await rawBackend((_target, socket) => {
    setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nslow'), 30);
  });
  const proxied = await startServer({ root: site.root, reload: { enabled: false }, proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${back.port}` }] } });
  const other = await RawClient.connect(proxied.port);
  try {
    const warm = await RawClient.connect(proxied.port);
    await warm.write(request('/hello.txt'));
    assert.equal((await warm.readResponse()).body.toString(), site.hello);
    warm.destroy();
    for (let i = 0; i < 10; i++) {
      const client = await RawClient.connect(proxied.port);
      try {
        await client.write(request('/api/slow') + request('/hello.txt'));
        await new Promise((r) => setTimeout(r, 5));
        client.socket.end();
        const [slow, cached] = await client.readResponses(2);
        assert.equal(slow?.body.toString(), 'slow', `round ${i}`);
        assert.equal(cached?.status, 200, `round ${i}`);
        assert.equal(cached?.body.toString(), site.hello, `round ${i}: the held answer, whole, before the close`);
        await client.waitForEof();
      } finally {
        client.destroy();
      }
    }
  } finally {
    other.destroy();
    await proxied.close();
    back.server.close();
  }
});
