/**
 * Plain HTTP on the HTTPS port (http:// typed for https://, or a script that forgot TLS): every
 * such request gets the plain-HTTP 400 that says to use https:// (as nginx answers "The plain HTTP
 * request was sent to HTTPS port"), whatever its method, and is logged like any other 400 — its
 * method, target and User-Agent as sent. Before, only GET, HEAD, POST and PUT (the request lines
 * OpenSSL itself recognises) got the 400; OPTIONS, DELETE, PATCH and CONNECT got an empty reply
 * (curl: "Empty reply from server"), and no plain request left a line in the log.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { fetchOnce, RawClient, tlsGetStatus } from './raw-client';

let site: Site;
let srv: Running;
let logFile: string;
const cert = createSelfSignedCertificate(['127.0.0.1', 'localhost']);

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  logFile = join(site.root, 'requests.log');
  srv = await startServer({
    root: site.root,
    tls: { cert: cert.cert, key: cert.key },
    timeouts: { headersMs: 1_000 },
    reload: { enabled: false },
    logFile,
  });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});


async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const REQUESTS: ReadonlyArray<readonly [method: string, target: string, raw: string]> = [
  ['GET', '/hello.txt', 'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: plain-GET\r\n\r\n'],
  ['OPTIONS', '/hello.txt', 'OPTIONS /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: plain-OPTIONS\r\n\r\n'],
  ['DELETE', '/hello.txt', 'DELETE /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: plain-DELETE\r\n\r\n'],
  ['PATCH', '/x', 'PATCH /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: plain-PATCH\r\nContent-Length: 3\r\n\r\nabc'],
  ['CONNECT', '127.0.0.1:443', 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\nUser-Agent: plain-CONNECT\r\n\r\n'],
];

test('every plain-HTTP request on the HTTPS port gets the 400 that says to use https://, whatever its method', async () => {
  for (const [method, , raw] of REQUESTS) {
    const res = await fetchOnce(srv.port, raw);
    assert.equal(res.status, 400, method);
    assert.match(res.body.toString('utf8'), /https:\/\//, method);
    assert.equal(res.header('connection'), 'close', method);
  }
  assert.equal(await tlsGetStatus(srv.port, cert.cert), 200);
});

test('a plain-HTTP request on the HTTPS port is logged as a 400 with its method, target and User-Agent', async () => {
  const before = srv.records.length;
  for (const [, , raw] of REQUESTS) await fetchOnce(srv.port, raw);
  await waitFor(() => srv.records.length >= before + REQUESTS.length, 'a record per plain request');
  const mine = srv.records.slice(before);
  for (const [method, target] of REQUESTS) {
    const r = mine.find((x) => x.method === method);
    assert.ok(r !== undefined, `a record for ${method}: ${JSON.stringify(mine.map((x) => [x.method, x.target, x.status]))}`);
    assert.equal(r.status, 400, method);
    assert.equal(r.target, target, method);
    assert.equal(r.secure, false, method);
    assert.match(r.note ?? '', /HTTPS/, method);
  }
  // And in the log file, one Combined Log Format line each.
  await waitFor(async () => {
    const text = await readFile(logFile, 'latin1').catch(() => '');
    return REQUESTS.every(([method, target]) => text.includes(`"${method} ${target} HTTP/1.1" 400 `) && text.includes(`"plain-${method}"`));
  }, 'the log lines');
});

test('a TLS client is not held back by the look at its first byte; a client that sends nothing is closed at the deadline', async () => {
  assert.equal(await tlsGetStatus(srv.port, cert.cert), 200);
  const silent = await fetchOnce(srv.port, '', { timeoutMs: 4_000 }).catch((err: Error) => err);
  // No bytes, no answer: the socket is closed without a response.
  assert.ok(silent instanceof Error);
  await waitFor(() => srv.server.connectionCount === 0, 'the silent client to be closed');
});

test('requests pipelined behind a plain-HTTP request on the HTTPS port are each logged as not answered', async () => {
  // Before: the first got its 400 line and the ones behind it, read whole, none.
  const before = srv.records.length;
  const res = await fetchOnce(
    srv.port,
    'GET /hello.txt?plain=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + 'GET /hello.txt?plain=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: plain-behind\r\n\r\n' + 'HEAD /hello.txt?plain=3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  );
  assert.equal(res.status, 400);
  await waitFor(() => srv.records.length >= before + 3, 'a record per request');
  const mine = srv.records.slice(before);
  assert.deepEqual(
    mine.map((r) => [r.method, r.target, r.status]),
    [
      ['GET', '/hello.txt?plain=1', 400],
      ['GET', '/hello.txt?plain=2', 503],
      ['HEAD', '/hello.txt?plain=3', 503],
    ],
  );
  assert.equal(mine[1]?.userAgent, 'plain-behind');
  assert.equal(mine[1]?.note, 'not answered: the server closes the connection (the request before it was refused (400)); a client sends the request again on a new connection');
});

test('a request pipelined behind a plain-HTTP request with a body on the HTTPS port is logged as not answered, its body passed over', async () => {
  // Before: a refused head with a body (here one that reads as a request) dropped everything
  // after it unlogged, though the body's length said where the next request starts.
  const before = srv.records.length;
  const forged = 'GET /forged-in-body HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const res = await fetchOnce(
    srv.port,
    `POST /hello.txt?plain-body=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${forged.length}\r\n\r\n${forged}` + 'GET /hello.txt?plain-body=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  );
  assert.equal(res.status, 400);
  await waitFor(() => srv.records.length >= before + 2, 'a record per request');
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    srv.records.slice(before).map((r) => [r.method, r.target, r.status]),
    [
      ['POST', '/hello.txt?plain-body=1', 400],
      ['GET', '/hello.txt?plain-body=2', 503],
    ],
  );
});

test('requests pipelined behind a plain-HTTP request that arrived in two reads are each logged as not answered', async () => {
  // The refused head came in two reads, so the parser had searched the first (93 bytes) for its
  // end; what follows it was then searched from that offset, past the first follower's end, and
  // the two followers were read as one malformed head.
  const before = srv.records.length;
  const first = `GET /hello.txt?split=1&${'x'.repeat(40)} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  const followers = 'GET /hello.txt?split=2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + 'HEAD /hello.txt?split=3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  assert.ok(followers.length > first.length && followers.indexOf('\r\n\r\n') < first.length - 3, 'the case the test is for');
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(first);
    await new Promise((r) => setTimeout(r, 150));
    await client.write(`\r\n${followers}`);
    const res = await client.readResponse();
    assert.equal(res.status, 400);
  } finally {
    client.destroy();
  }
  await waitFor(() => srv.records.length >= before + 3, 'a record per request');
  assert.deepEqual(
    srv.records.slice(before).map((r) => [r.method, r.target, r.status]),
    [
      ['GET', `/hello.txt?split=1&${'x'.repeat(40)}`, 400],
      ['GET', '/hello.txt?split=2', 503],
      ['HEAD', '/hello.txt?split=3', 503],
    ],
  );
});
