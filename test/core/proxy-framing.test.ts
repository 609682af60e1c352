/**
 * The reverse proxy and a back-end whose answer's framing or status line is not what RFC 9110 /
 * RFC 9112 allow: a 204 or 304 (or an answer to HEAD) whose head announces a body, a status
 * outside 100..599. Over loopback: a raw-`net` back-end started here answers each path with the
 * exact bytes the test chose, Porthole in front of it, raw clients. Every wait is bounded.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request, withTimeout } from './raw-client';
import { formatShortLine } from '../../src/core/log/request-log';
import { escapeHtml } from '../../src/core/text/html';

/**
 * Far below the 30 s a wedged exchange waits (the response timeout) and far above a loopback
 * round trip on a busy machine: an answer that takes longer than this is an answer that never came.
 */
const PROMPT_MS = 3_000;

/** The back-end's answer to each path (query ignored): the exact bytes it writes. */
const ANSWERS: Readonly<Record<string, string>> = {
  '/api/304-length': 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 50\r\n\r\n',
  '/api/304-chunked': 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nTransfer-Encoding: chunked\r\n\r\n',
  '/api/204-length': 'HTTP/1.1 204 No Content\r\nX-Kept: yes\r\nContent-Length: 50\r\n\r\n',
  '/api/204-chunked': 'HTTP/1.1 204 No Content\r\nX-Kept: yes\r\nTransfer-Encoding: chunked\r\n\r\n',
  // The announced 50 bytes do follow: they are no body of a 304 (RFC 9112 §6.3), never forwarded.
  '/api/304-bytes': `HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 50\r\n\r\n${'z'.repeat(50)}`,
  // Answers to HEAD: no body whatever the head says, chunked or a length.
  '/api/head-chunked': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n',
  '/api/head-length': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n\r\n',
  '/api/ok': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  // A WebSocket endpoint asked without an upgrade: 426 naming the protocol (RFC 9110 §15.5.22).
  '/api/426': 'HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 2\r\n\r\nno',
  '/api/status-999': 'HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok',
  '/api/status-600': 'HTTP/1.1 600 Weird\r\nContent-Length: 2\r\n\r\nok',
  '/api/status-099': 'HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok',
  '/api/status-000': 'HTTP/1.1 000 Weird\r\nContent-Length: 2\r\n\r\nok',
  // Field values with bytes above 0x7F (obs-text, RFC 9110 §5.5), written latin1 so each char is one
  // byte: UTF-8 é (C3 A9), a Latin-1 é (E9), both in a Content-Disposition beside a Content-Length.
  '/api/bytes':
    'HTTP/1.1 200 OK\r\nX-Utf8: caf\u00c3\u00a9\r\nX-Latin1: caf\u00e9\r\nLocation: /api/caf\u00c3\u00a9\r\n' +
    'Content-Disposition: attachment; filename="r\u00e9sum\u00c3\u00a9.pdf"\r\nContent-Length: 2\r\n\r\nok',
  '/api/bytes-chunked': 'HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename="r\u00c3\u00a9sum\u00e9.pdf"\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  // A framework's own Date (an hour off, so it cannot pass for Porthole's) and Server.
  '/api/dated': 'HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: gunicorn\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok',
  '/api/dated-304': 'HTTP/1.1 304 Not Modified\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: gunicorn\r\nX-Kept: yes\r\n\r\n',
  // Field values in UTF-8 (each `\xHH` here is one byte on the wire: the answer is written latin1).
  '/api/utf8-fields':
    'HTTP/1.1 302 Found\r\nLocation: /caf\xc3\xa9\r\nSet-Cookie: day=\xe6\x97\xa5\r\nX-Title: \xc3\xa9t\xc3\xa9\r\n' +
    'Content-Disposition: attachment; filename="\xc3\xa9.txt"\r\nContent-Length: 2\r\n\r\nok',
  '/api/utf8-chunked': 'HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename="\xc3\xa9.txt"\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  // Whitespace between a field name and its colon, and a name with a space inside (RFC 9112 §5.1).
  '/api/spaced-names': 'HTTP/1.1 200 OK\r\nX-Before-Colon : 1\r\nX Y: 2\r\nProxy-Authenticate : Basic\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok',
  // Answers that break off mid-body: the back-end closes its connection right after these bytes.
  '/api/cut-length': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nshort',
  '/api/cut-chunked': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n',
  '/api/bad-chunk': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n',
  // Answers that cannot be passed on, each for its own reason (the 502's words must name it).
  '/api/unasked-101': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  '/api/unasked-100': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/api/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nokabc',
  '/api/length-and-chunked': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
  '/api/big-head': `HTTP/1.1 200 OK\r\nSet-Cookie: a=${'c'.repeat(17 * 1024)}\r\nContent-Length: 2\r\n\r\nok`,
  '/api/bare-cr': 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok',
  // Lines ended by LF alone (RFC 9112 §2.2: a recipient MAY take them; undici does not): the 502
  // blamed a second Content-Length, or an invalid character, never the line endings (helper-116).
  '/api/bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
  '/api/bare-lf-unframed': 'HTTP/1.1 200 OK\nX-A: a\n\nok',
  // A body chunked twice (RFC 9112 §6.1 forbids it): `2\r\nok\r\n0\r\n\r\n` is the content once
  // chunked, itself chunked again. Taken off once, that inner framing would pass for content.
  '/api/chunked-twice-list': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\nc\r\n2\r\nok\r\n0\r\n\r\n\r\n0\r\n\r\n',
  // Refresh naming the back-end's own address ({port}: the back-end's), as Location may.
  '/api/refresh-own': 'HTTP/1.1 200 OK\r\nRefresh: 0; url=http://127.0.0.1:{port}/api/next?x=1\r\nContent-Length: 2\r\n\r\nok',
  // The back-end's own address with bytes above 0x7F in the path: UTF-8 é (C3 A9), and a Latin-1 é (E9).
  '/api/location-bytes':
    'HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/api/caf\xc3\xa9?q=\xc3\xa9#\xe9\r\nContent-Location: http://127.0.0.1:{port}/api/r\xe9sum\xc3\xa9\r\n' +
    'Refresh: 0; url=http://127.0.0.1:{port}/api/caf\xe9\r\nContent-Length: 2\r\n\r\nok',
  '/api/refresh-quoted': "HTTP/1.1 200 OK\r\nRefresh: 5;URL='http://127.0.0.1:{port}/api/next'\r\nContent-Length: 2\r\n\r\nok",
  '/api/refresh-slashes': 'HTTP/1.1 200 OK\r\nRefresh: 0; url=http://127.0.0.1:{port}//evil.example/\r\nContent-Length: 2\r\n\r\nok',
  '/api/refresh-other': 'HTTP/1.1 200 OK\r\nRefresh: 0; url=http://other.example/api/next\r\nContent-Length: 2\r\n\r\nok',
  '/api/refresh-unrouted': 'HTTP/1.1 200 OK\r\nRefresh: 0; url=http://127.0.0.1:{port}/elsewhere\r\nContent-Length: 2\r\n\r\nok',
  '/api/refresh-delay': 'HTTP/1.1 200 OK\r\nRefresh: 30\r\nContent-Length: 2\r\n\r\nok',
  // Whitespace alone may part the delay from the URL (HTML §7.11.1, shared declarative refresh steps).
  '/api/refresh-space': 'HTTP/1.1 200 OK\r\nRefresh: 0 http://127.0.0.1:{port}/api/next\r\nContent-Length: 2\r\n\r\nok',
  '/api/refresh-space-url': 'HTTP/1.1 200 OK\r\nRefresh: 3\turl=http://127.0.0.1:{port}/api/next\r\nContent-Length: 2\r\n\r\nok',
  '/api/refresh-glued': 'HTTP/1.1 200 OK\r\nRefresh: 0http://127.0.0.1:{port}/api/next\r\nContent-Length: 2\r\n\r\nok',
  // A trailer section naming a Content-Length (forbidden in trailers: RFC 9110 §6.5.1): the
  // content is whole; the trailers are dropped.
  '/api/trailer-length': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n2\r\nok\r\n0\r\nContent-Length: 99\r\n\r\n',
  // A part of a page, although no Range was asked: not a page to rewrite.
  '/api/page-206': 'HTTP/1.1 206 Partial Content\r\nContent-Type: text/html\r\nContent-Range: bytes 0-39/100\r\nContent-Length: 40\r\n\r\n<html><head></head><body>x</body></html>',
  // A page with digests of its bytes (RFC 9530), which the rewritten page no longer has.
  '/api/page-digest':
    'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Digest: sha-256=:AAAA:\r\nRepr-Digest: sha-256=:AAAA:\r\nX-Kept: yes\r\nContent-Length: 40\r\n\r\n<html><head></head><body>x</body></html>',
  '/api/chunked-twice-lines': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\nc\r\n2\r\nok\r\n0\r\n\r\n\r\n0\r\n\r\n',
};

/** Paths whose answer the back-end follows by closing the connection (ANSWERS' `cut-*`, `bad-chunk`). */
const CLOSE_AFTER: ReadonlySet<string> = new Set(['/api/cut-length', '/api/cut-chunked', '/api/bad-chunk']);

interface ScriptedBackend {
  readonly port: number;
  readonly targets: string[];
  close(): Promise<void>;
}

/** A keep-alive back-end on raw `net` that answers each request head (no bodies) from ANSWERS. */
async function startScriptedBackend(): Promise<ScriptedBackend> {
  const sockets = new Set<Socket>();
  const targets: string[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const target = buf.slice(0, end).split(' ')[1] ?? '';
        buf = buf.slice(end + 4);
        targets.push(target);
        const path = target.split('?')[0] ?? '';
        const own = server.address();
        const answer = (ANSWERS[path] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n').replaceAll('{port}', String(typeof own === 'object' && own !== null ? own.port : 0));
        socket.write(answer, 'latin1');
        if (CLOSE_AFTER.has(path)) socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let site: Site;
let backend: ScriptedBackend;
let srv: Running;

before(async () => {
  site = await makeSite();
  backend = await startScriptedBackend();
  srv = await startServer({
    root: site.root,
    timeouts: { idleMs: 60_000 },
    proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backend.port}` }] },
  });
});

after(async () => {
  await srv.close();
  await backend.close();
  await site.cleanup();
});

test('a 204, 304 or HEAD answer whose back-end head announces a body ends at its head; the next request is answered at once', async () => {
  const cases: ReadonlyArray<{ path: string; method: string; status: number; length?: string }> = [
    { path: '/api/304-length', method: 'GET', status: 304 },
    { path: '/api/304-chunked', method: 'GET', status: 304 },
    { path: '/api/204-length', method: 'GET', status: 204 },
    { path: '/api/204-chunked', method: 'GET', status: 204 },
    { path: '/api/304-bytes', method: 'GET', status: 304 },
    { path: '/api/head-chunked', method: 'HEAD', status: 200 },
    { path: '/api/head-length', method: 'HEAD', status: 200, length: '50' },
  ];
  for (const c of cases) {
    const client = await RawClient.connect(srv.port);
    try {
      // Pipelined: a static file and a proxied answer behind the bodiless one, in one write.
      await client.write(request(c.path, { method: c.method, headers: ['If-None-Match: "x"'] }) + request('/hello.txt') + request('/api/ok'));
      const first = await client.readResponse({ head: c.method === 'HEAD', timeoutMs: PROMPT_MS });
      assert.equal(first.status, c.status, c.path);
      // RFC 9110 §8.6: no Content-Length in a 204; RFC 9112 §6.1: Transfer-Encoding on no 204/304.
      if (c.status === 204) assert.equal(first.header('content-length'), undefined, `${c.path}: no Content-Length on a 204`);
      if (c.status !== 200) assert.equal(first.header('transfer-encoding'), undefined, `${c.path}: no Transfer-Encoding on a ${c.status}`);
      if (c.length !== undefined) assert.equal(first.header('content-length'), c.length, `${c.path}: HEAD keeps the back-end's length`);
      if (c.status === 204) assert.equal(first.header('x-kept'), 'yes');
      if (c.status === 304) assert.equal(first.header('etag'), '"x"');
      // Parsing the next response straight after the head proves nothing came between them.
      const second = await client.readResponse({ timeoutMs: PROMPT_MS }).catch((err: Error) => assert.fail(`${c.path}: the pipelined GET /hello.txt: ${err.message}`));
      assert.equal(second.status, 200, `${c.path}: the next request`);
      assert.equal(second.body.toString('utf8'), site.hello);
      const third = await client.readResponse({ timeoutMs: PROMPT_MS }).catch((err: Error) => assert.fail(`${c.path}: the pipelined GET /api/ok: ${err.message}`));
      assert.equal(`${third.status} ${third.body.toString('latin1')}`, '200 ok', `${c.path}: the back-end's next answer is its own, not leftover bytes`);
    } finally {
      client.destroy();
    }
    const record = srv.records.filter((r) => r.target === c.path).at(-1);
    assert.equal(record?.aborted, false, `${c.path}: logged as complete`);
    assert.equal(record?.bytes, 0);
  }
});

test('an HTTP/1.0 client gets a 204 or 304 that announced a body as its head alone, at once', async () => {
  for (const path of ['/api/304-length', '/api/304-chunked', '/api/204-length', '/api/204-chunked']) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request(path, { version: '1.0' }));
      const res = await client.readResponse({ timeoutMs: PROMPT_MS }).catch((err: Error) => assert.fail(`${path}: ${err.message}`));
      assert.ok(res.status === 204 || res.status === 304, path);
      assert.equal(res.header('transfer-encoding'), undefined, path);
      if (res.status === 204) assert.equal(res.header('content-length'), undefined, path);
      // No keep-alive asked for: the connection ends after the head, not after a timeout.
      await client.waitForEof(PROMPT_MS).catch((err: Error) => assert.fail(`${path}: ${err.message}`));
      assert.equal(client.buffered, 0, `${path}: nothing after the head`);
    } finally {
      client.destroy();
    }
  }
});

/** The log note of a back-end answer whose status is outside 100..599. */
const invalidStatusNote = (code: string): RegExp =>
  new RegExp(`^proxy http://127\\.0\\.0\\.1:\\d+: answered with status ${code}, which is not a valid HTTP status \\(RFC 9110 §15: 100–599\\)$`);

test('a back-end status outside 100..599 (999, 600, 099, 000) → 502 whose log note names it', async () => {
  for (const [path, code] of [
    ['/api/status-999', '999'],
    ['/api/status-600', '600'],
    ['/api/status-099', '99'],
    ['/api/status-000', '0'],
  ] as const) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request(path));
      const res = await withTimeout(client.readResponse({ timeoutMs: PROMPT_MS }), PROMPT_MS + 1_000, path);
      assert.equal(`${res.status} ${res.reason}`, '502 Bad Gateway', path);
      assert.match(res.body.toString('utf8'), new RegExp(`status ${code}\\b`), `${path}: the page names the status`);
    } finally {
      client.destroy();
    }
    const record = srv.records.filter((r) => r.target === path).at(-1);
    assert.match(record?.note ?? '', invalidStatusNote(code), path);
  }
});

test('a back-end status outside 100..599 for a WebSocket upgrade is named as invalid too, not as a refusal of the upgrade', async () => {
  // Before: "did not accept the upgrade to WebSocket: it answered 99 instead of 101", as if 099
  // were a status it could have chosen.
  const upgrade = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
  for (const [path, code] of [
    ['/api/status-999', '999'],
    ['/api/status-099', '99'],
    ['/api/status-000', '0'],
  ] as const) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request(path, { headers: upgrade }));
      const res = await withTimeout(client.readResponse({ timeoutMs: PROMPT_MS }), PROMPT_MS + 1_000, path);
      assert.equal(`${res.status} ${res.reason}`, '502 Bad Gateway', path);
    } finally {
      client.destroy();
    }
    const record = srv.records.filter((r) => r.target === path).at(-1);
    assert.match(record?.note ?? '', invalidStatusNote(code), `${path} upgrade`);
  }
});

test("a back-end's 426 keeps its Upgrade: websocket, said for this hop with Connection: Upgrade (RFC 9110 §15.5.22: a 426 must name the protocol)", async () => {
  for (const version of ['1.1', '1.0'] as const) {
    const res = await fetchOnce(srv.port, request('/api/426', { version }));
    assert.equal(res.status, 426, version);
    assert.equal(res.header('upgrade'), 'websocket', version);
    const connection = res.headers.filter(([name]) => name.toLowerCase() === 'connection');
    assert.equal(connection.length, 1, `${version}: one Connection field`);
    assert.match(connection[0]?.[1] ?? '', /^Upgrade(, (close|keep-alive))?$/, version);
    assert.equal(res.body.toString(), 'no', version);
  }
});

test("a back-end's own Date and Server are replaced by Porthole's, never sent beside them (one Date: RFC 9110 §6.6.1)", async () => {
  for (const path of ['/api/dated', '/api/dated-304']) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request(path));
      const res = await client.readResponse({ timeoutMs: PROMPT_MS });
      assert.equal(res.headerAll('date').length, 1, `${path}: one Date, got ${JSON.stringify(res.headerAll('date'))}`);
      assert.notEqual(res.header('date'), 'Mon, 01 Jan 2024 00:00:00 GMT', `${path}: the Date is Porthole's, of now`);
      assert.deepEqual(res.headerAll('server'), ['Porthole'], path);
      assert.equal(res.header('x-kept'), 'yes', `${path}: the back-end's other fields are kept`);
    } finally {
      client.destroy();
    }
  }
});

test("a back-end's field values go to the client as the bytes it sent: UTF-8 and Latin-1 alike, never re-encoded or dropped", async () => {
  const cases: ReadonlyArray<[string, readonly string[]]> = [
    ['/api/bytes', ['x-utf8: caf\u00c3\u00a9', 'x-latin1: caf\u00e9', 'location: /api/caf\u00c3\u00a9', 'content-disposition: attachment; filename="r\u00e9sum\u00c3\u00a9.pdf"']],
    ['/api/bytes-chunked', ['content-disposition: attachment; filename="r\u00c3\u00a9sum\u00e9.pdf"']],
  ];
  for (const [path, lines] of cases) {
    const client = await RawClient.connect(srv.port);
    try {
      // Connection: close: the chunked answer's body ends with the connection (this client reads no chunks).
      await client.write(request(path, { headers: ['Connection: close'] }));
      const res = await client.readResponse({ timeoutMs: PROMPT_MS });
      assert.equal(res.status, 200, path);
      assert.match(res.body.toString('latin1'), /ok/, path);
      // The head as bytes (latin1: one char per byte), field names lower-cased as undici gives them.
      const head = res.headText.split('\r\n').map((l) => l.replace(/^[^:]+/, (n) => n.toLowerCase()));
      for (const line of lines) assert.ok(head.includes(line), `${path}: ${JSON.stringify(line)} in ${JSON.stringify(head)}`);
    } finally {
      client.destroy();
    }
  }
});

/** The value bytes of every field `name` in a raw head (latin1 text, one character per byte), as hex. */
function fieldBytes(headText: string, name: string): string[] {
  return headText
    .split('\r\n')
    .filter((line) => line.toLowerCase().startsWith(`${name}:`))
    .map((line) => Buffer.from(line.slice(name.length + 1).trim(), 'latin1').toString('hex'));
}

test('a back-end\'s field values in UTF-8 reach the client as the bytes it sent (Location, Set-Cookie, Content-Disposition)', async () => {
  const hex = (text: string): string => Buffer.from(text, 'utf8').toString('hex');
  const res = await withTimeout(fetchOnce(srv.port, request('/api/utf8-fields'), { timeoutMs: PROMPT_MS }), PROMPT_MS + 1_000, '/api/utf8-fields');
  assert.equal(res.status, 302);
  assert.deepEqual(fieldBytes(res.headText, 'location'), [hex('/café')]);
  assert.deepEqual(fieldBytes(res.headText, 'set-cookie'), [hex('day=日')]);
  assert.deepEqual(fieldBytes(res.headText, 'x-title'), [hex('été')]);
  assert.deepEqual(fieldBytes(res.headText, 'content-disposition'), [hex('attachment; filename="é.txt"')]);
  // Without a Content-Length (chunked): undici leaves this one in UTF-8 as every other field. The
  // head alone is read (the raw client frames no chunked body).
  const chunked = await withTimeout(fetchOnce(srv.port, request('/api/utf8-chunked'), { head: true, timeoutMs: PROMPT_MS }), PROMPT_MS + 1_000, '/api/utf8-chunked');
  assert.equal(chunked.status, 200);
  assert.deepEqual(fieldBytes(chunked.headText, 'content-disposition'), [hex('attachment; filename="é.txt"')]);
});

test('a back-end\'s field name with spaces before its colon goes on without them; a name with a space inside is dropped; a hop-by-hop one so named is dropped too', async () => {
  const res = await withTimeout(fetchOnce(srv.port, request('/api/spaced-names'), { timeoutMs: PROMPT_MS }), PROMPT_MS + 1_000, '/api/spaced-names');
  assert.equal(`${res.status} ${res.body.toString('latin1')}`, '200 ok');
  const lines = res.headText.split('\r\n').slice(1);
  for (const line of lines) {
    if (line === '') continue;
    assert.match(line, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+: /, `every header line is a token, a colon and a value: ${JSON.stringify(line)}`);
  }
  assert.equal(res.header('x-before-colon'), '1');
  assert.equal(res.header('x-kept'), 'yes');
  assert.ok(!lines.some((line) => line.toLowerCase().startsWith('x y')), 'the field named "x y" is not passed on');
  // Named with a space, a hop-by-hop field is still one (meant for Porthole, never the browser).
  assert.ok(!lines.some((line) => line.toLowerCase().startsWith('proxy-authenticate')), 'Proxy-Authenticate is not passed on');
});

test('a back-end that breaks off its body (closes short of its Content-Length or chunks, or sends a broken chunk) cuts the client short, and the log says it was the back-end', async () => {
  for (const [path, sentBytes, reason] of [
    ['/api/cut-length', 5, /: closed the connection after 5 of the 100 bytes its Content-Length announced \(UND_ERR_SOCKET\); the answer was cut short$/],
    ['/api/cut-chunked', 2, /: closed the connection after 2 bytes of its body \(UND_ERR_SOCKET\); the answer was cut short$/],
    ['/api/bad-chunk', 2, /: sent a body whose framing is not valid HTTP\/1\.1 after 2 bytes of its body: Invalid character in chunk size \(HPE_INVALID_CHUNK_SIZE\); the answer was cut short$/],
  ] as const) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request(path));
      // The status went out before the body broke: the client sees a 200 whose body never completes.
      await client.waitForEof(PROMPT_MS).catch((err: Error) => assert.fail(`${path}: ${err.message}`));
      const got = (await client.readBytes(client.buffered)).toString('latin1');
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/, path);
      assert.ok(!got.endsWith('0\r\n\r\n'), `${path}: no last chunk makes the cut body look complete`);
    } finally {
      client.destroy();
    }
    const record = await withTimeout(
      (async () => {
        for (;;) {
          const found = srv.records.filter((r) => r.target === path).at(-1);
          if (found !== undefined) return found;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })(),
      PROMPT_MS,
      `${path}: its log record`,
    );
    assert.equal(record.aborted, true, path);
    assert.equal(record.bytes, sentBytes, path);
    assert.match(record.note ?? '', new RegExp(`^proxy http://127\\.0\\.0\\.1:${backend.port}${reason.source}`), `${path}: the note says what the back-end did`);
    // The terminal line shows it beside "aborted", not "aborted" alone as for a client that left.
    assert.match(formatShortLine(record), new RegExp(` aborted — proxy http://127\\.0\\.0\\.1:${backend.port}${reason.source}`), path);
  }
});

/** What a raw client saw of `bytes` sent on a fresh connection: everything read, and how the connection ended (a FIN or a reset). */
async function endOf(bytes: string): Promise<{ got: string; ending: string }> {
  return withTimeout(
    new Promise((resolve) => {
      const socket = connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.write(bytes));
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      // A reset that comes while data waits to be read is read as an end now and then (Linux: the
      // reset's error is not always the next read's), so an end is told by a write after it: the
      // socket a reset closed refuses it at once (EPIPE); one the server ended with a FIN and a
      // close takes it (the server's reset to it comes later).
      socket.on('end', () => {
        socket.write('x', (err) => {
          socket.destroy();
          resolve({ got, ending: err === undefined || err === null ? 'fin' : 'reset' });
        });
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve({ got, ending: err.code === 'ECONNRESET' ? 'reset' : (err.code ?? err.message) }));
    }),
    PROMPT_MS,
    `the end of ${JSON.stringify(bytes.slice(0, 40))}`,
  );
}

test('a back-end answer broken off mid-body ends the client\'s connection with a reset, never a FIN that makes a close-delimited body whole; requests behind it are logged as the server\'s doing', async () => {
  // helper-160: HTTP/1.0 got `200 … Connection: close` and "hello", then a clean FIN: a whole answer
  // to it and to a cache. The static side's broken answers were reset already (Connection.cut).
  for (const path of ['/api/cut-length', '/api/cut-chunked', '/api/bad-chunk']) {
    for (const version of ['1.0', '1.1'] as const) {
      const { got, ending } = await endOf(request(path, { version }));
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/, `${path} HTTP/${version}`);
      assert.equal(ending, 'reset', `${path} HTTP/${version}: the connection ends with a reset`);
    }
  }
  const behind = '/behind-a-cut-answer.txt';
  const { ending } = await endOf(request('/api/cut-length') + request(behind));
  assert.equal(ending, 'reset');
  const record = await withTimeout(
    (async () => {
      for (;;) {
        const found = srv.records.find((r) => r.target === behind);
        if (found !== undefined) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })(),
    PROMPT_MS,
    'the pipelined request\'s record',
  );
  assert.match(record.note ?? '', /the server cut the connection: the answer before it could not be completed/, 'not "the client closed the connection"');
});

test('a back-end answer that cannot be passed on → 502 whose words name what it sent, never another failure\'s (an unasked 101 or 100, two lengths, a head too big, chunked twice)', async () => {
  for (const [path, words] of [
    ['/api/unasked-101', 'answered 101 Switching Protocols to a request that asked for no upgrade (RFC 9110 §15.2.2)'],
    ['/api/unasked-100', 'answered 100 Continue to a request that did not ask for it (no Expect: 100-continue), which Porthole cannot pass on'],
    ['/api/two-lengths', 'sent a head whose Content-Length cannot frame its body: a second Content-Length, one beside Transfer-Encoding, or a field after it that is not valid HTTP/1.1 (RFC 9112 §6.3; lines ended by LF alone, not CRLF (RFC 9112 §2.2), are refused so too: end each line of the head with \\r\\n) (UND_ERR_RES_CONTENT_LENGTH_MISMATCH)'],
    ['/api/length-and-chunked', 'sent a head whose Content-Length cannot frame its body: a second Content-Length, one beside Transfer-Encoding, or a field after it that is not valid HTTP/1.1 (RFC 9112 §6.3; lines ended by LF alone, not CRLF (RFC 9112 §2.2), are refused so too: end each line of the head with \\r\\n) (UND_ERR_RES_CONTENT_LENGTH_MISMATCH)'],
    ['/api/big-head', 'sent a response head larger than 16 KiB, more than Porthole takes (UND_ERR_HEADERS_OVERFLOW)'],
    ['/api/bare-cr', 'sent an answer that is not valid HTTP/1.1: Missing expected LF after header value (HPE_LF_EXPECTED)'],
    ['/api/bare-lf', 'sent a head whose Content-Length cannot frame its body: a second Content-Length, one beside Transfer-Encoding, or a field after it that is not valid HTTP/1.1 (RFC 9112 §6.3; lines ended by LF alone, not CRLF (RFC 9112 §2.2), are refused so too: end each line of the head with \\r\\n) (UND_ERR_RES_CONTENT_LENGTH_MISMATCH)'],
    ['/api/bare-lf-unframed', 'sent an answer that is not valid HTTP/1.1: Invalid header value char (lines ended by LF alone, not CRLF (RFC 9112 §2.2), are refused so too: end each line of the head with \\r\\n) (HPE_INVALID_HEADER_TOKEN)'],
    // The request parser refuses the same Transfer-Encoding with 400; the inner chunks never pass for content.
    ['/api/chunked-twice-list', 'sent its body chunked 2 times over (Transfer-Encoding: chunked more than once, which RFC 9112 §6.1 forbids): Porthole takes off one layer, and the rest would pass for content'],
    ['/api/chunked-twice-lines', 'sent its body chunked 2 times over (Transfer-Encoding: chunked more than once, which RFC 9112 §6.1 forbids): Porthole takes off one layer, and the rest would pass for content'],
  ] as const) {
    const client = await RawClient.connect(srv.port);
    try {
      // A keep-alive request, then another: the 502 ends its exchange and the next is answered.
      await client.write(request(path) + request('/hello.txt'));
      const res = await withTimeout(client.readResponse({ timeoutMs: PROMPT_MS }), PROMPT_MS + 1_000, path);
      assert.equal(`${res.status} ${res.reason}`, '502 Bad Gateway', path);
      assert.ok(res.body.toString('utf8').includes(escapeHtml(words)), `${path}: the page says ${words}`);
      const next = await client.readResponse({ timeoutMs: PROMPT_MS });
      assert.equal(`${next.status} ${next.body.toString('utf8')}`, `200 ${site.hello}`, `${path}: the next request`);
    } finally {
      client.destroy();
    }
    const record = srv.records.filter((r) => r.target === path).at(-1);
    assert.equal(record?.note, `proxy http://127.0.0.1:${backend.port}: ${words}`, path);
  }
});

test('a back-end that answers before the request body has all come: the answer says Connection: close, and the connection closes after it (RFC 9112 §9.6)', async () => {
  // The body is announced (a length, or chunks) and only begun: the back-end answers at once.
  for (const framing of ['Content-Length: 100', 'Transfer-Encoding: chunked']) {
    const client = await RawClient.connect(srv.port);
    try {
      const start = framing.startsWith('Content-Length') ? 'abc' : '3\r\nabc\r\n';
      await client.write(request('/api/ok?early', { method: 'POST', headers: [framing] }) + start);
      const res = await client.readResponse({ timeoutMs: PROMPT_MS });
      assert.equal(`${res.status} ${res.body.toString('latin1')}`, '200 ok', framing);
      // Where the next request would start is unknown until the body ends: the server closes, and says so.
      assert.equal(res.header('connection'), 'close', `${framing}: the answer says the connection closes`);
      await client.waitForEof(PROMPT_MS);
    } finally {
      client.destroy();
    }
  }
  // A body that has all come before the answer: the connection stays open for the next request.
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(request('/api/ok?whole', { method: 'POST', headers: ['Content-Length: 3'] }) + 'abc');
    const res = await client.readResponse({ timeoutMs: PROMPT_MS });
    assert.equal(res.status, 200);
    assert.equal(res.header('connection'), undefined, 'kept alive');
    await client.write(request('/hello.txt'));
    assert.equal((await client.readResponse({ timeoutMs: PROMPT_MS })).status, 200);
  } finally {
    client.destroy();
  }
});

test('a 502 for an answer that cannot be passed on says the back-end runs and to fix its answer, never to start it', async () => {
  // Each came from a back-end that is running: it answered, with something Porthole refuses.
  for (const path of ['/api/unasked-101', '/api/unasked-100', '/api/status-999', '/api/two-lengths', '/api/big-head']) {
    const res = await fetchOnce(srv.port, request(path), { timeoutMs: PROMPT_MS });
    assert.equal(res.status, 502, path);
    const page = res.body.toString('utf8');
    assert.doesNotMatch(page, /Start the back-end/, `${path}: the back-end runs; starting it is no advice`);
    assert.match(page, /The back-end is running and answered/, path);
  }
  // A WebSocket upgrade the back-end refused (it answered 200, not 101).
  const refused = await fetchOnce(
    srv.port,
    request('/api/ok?upgrade', { headers: ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='] }),
    { timeoutMs: PROMPT_MS },
  );
  assert.equal(refused.status, 502);
  assert.match(refused.body.toString('utf8'), /answered 200 instead of 101/);
  assert.doesNotMatch(refused.body.toString('utf8'), /Start the back-end/, 'a refused upgrade: the back-end runs');
});

test("a back-end's Refresh naming its own address comes back as the same path on Porthole, as its Location does (nginx's proxy_redirect rewrites both)", async () => {
  const own = `http://127.0.0.1:${backend.port}`;
  for (const [path, sent] of [
    ['/api/refresh-own', '0; url=/api/next?x=1'],
    ['/api/refresh-quoted', "5;URL='/api/next'"],
    // A space or tab alone parts the delay from the URL in the browser too, which followed the
    // back-end's own address out of Porthole.
    ['/api/refresh-space', '0 /api/next'],
    ['/api/refresh-space-url', '3\turl=/api/next'],
    // Left as they are: a path that would read as another host, another origin, a path Porthole
    // does not route to that back-end, a delay alone.
    ['/api/refresh-slashes', `0; url=${own}//evil.example/`],
    ['/api/refresh-other', '0; url=http://other.example/api/next'],
    ['/api/refresh-unrouted', `0; url=${own}/elsewhere`],
    ['/api/refresh-delay', '30'],
    // No separator at all: the browser reads no URL (the steps return), so nothing is rewritten.
    ['/api/refresh-glued', `0${own}/api/next`],
  ] as const) {
    const res = await fetchOnce(srv.port, request(path), { timeoutMs: PROMPT_MS });
    assert.equal(res.status, 200, path);
    assert.deepEqual(res.headerAll('refresh'), [sent], path);
  }
});

test("a back-end's own address in Location, Content-Location and Refresh with bytes above 0x7F: rewritten with each byte percent-encoded as a browser takes it, or, for a path that is not UTF-8, left as the back-end sent it (helper-173: a Latin-1 é became %EF%BF%BD)", async () => {
  const res = await fetchOnce(srv.port, request('/api/location-bytes'), { timeoutMs: PROMPT_MS });
  assert.equal(res.status, 302);
  const own = `http://127.0.0.1:${backend.port}`;
  assert.deepEqual(res.headerAll('location'), ['/api/caf%C3%A9?q=%C3%A9#%E9']);
  // A path that is not UTF-8 names no route (matchRoute: such escapes may climb), so no rewrite:
  // the bytes go as they came, never a U+FFFD's.
  assert.deepEqual(fieldBytes(res.headText, 'content-location'), [Buffer.from(`${own}/api/r\u00e9sum\u00c3\u00a9`, 'latin1').toString('hex')]);
  assert.deepEqual(fieldBytes(res.headText, 'refresh'), [Buffer.from(`0; url=${own}/api/caf\u00e9`, 'latin1').toString('hex')]);
});

test('a chunked answer whose trailers name a Content-Length comes whole, not cut short', async () => {
  // Connection: close, so the raw client reads the chunked body as it comes, to the connection's end.
  const res = await fetchOnce(srv.port, request('/api/trailer-length', { headers: ['Connection: close'] }), { timeoutMs: PROMPT_MS });
  assert.equal(res.status, 200);
  assert.equal(res.header('transfer-encoding'), 'chunked');
  assert.equal(res.body.toString('latin1'), '2\r\nok\r\n0\r\n\r\n', 'the content, then the last chunk; no trailer passed on');
  const record = srv.records.filter((r) => r.target === '/api/trailer-length').at(-1);
  assert.equal(record?.aborted, false);
  assert.equal(record?.bytes, 2);
  assert.equal(record?.note, undefined);
});

test("a back-end's 206 to a page navigation is passed on as it came, never rewritten under a Content-Range that names other bytes (RFC 9110 §14.4)", async () => {
  const navigate = ['Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: document', 'Accept: text/html'];
  const res = await fetchOnce(srv.port, request('/api/page-206', { headers: navigate }), { timeoutMs: PROMPT_MS });
  assert.equal(res.status, 206);
  assert.equal(res.header('content-range'), 'bytes 0-39/100');
  assert.equal(res.body.toString('latin1'), '<html><head></head><body>x</body></html>', 'the 40 bytes the Content-Range names');
  assert.equal(res.header('content-length'), '40');
});

test('a rewritten page loses the digests of the bytes it no longer has (Content-Digest, Repr-Digest: RFC 9530), as it loses its ETag', async () => {
  const navigate = ['Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: document', 'Accept: text/html'];
  const res = await fetchOnce(srv.port, request('/api/page-digest', { headers: navigate }), { timeoutMs: PROMPT_MS });
  assert.equal(res.status, 200);
  assert.match(res.body.toString('latin1'), /__porthole\/client\.js/, 'the page was rewritten');
  assert.equal(res.header('content-digest'), undefined);
  assert.equal(res.header('repr-digest'), undefined);
  assert.equal(res.header('x-kept'), 'yes');
});
