/**
 * Every status the server answers, over real TCP against a real PreviewServer (port 0, fixture
 * root), with raw-socket clients: 200, 204, 301, 304, 400, 403, 404, 405, 408, 412, 413, 414, 416,
 * 431, 501, 505.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request, withTimeout } from './raw-client';

let site: Site;
let srv: Running;
let srvTimeout: Running;
let srv404: Running;

before(async () => {
  site = await makeSite({ bigSize: 1024 * 1024 });
  srv = await startServer({ root: site.root, maxBodyBytes: 1024 });
  srvTimeout = await startServer({ root: site.root, timeouts: { headersMs: 300 } });
  srv404 = await startServer({ root: site.root404 });
});

after(async () => {
  await Promise.all([srv.close(), srvTimeout.close(), srv404.close()]);
  await site.cleanup();
});

/** Sends raw bytes on a fresh socket; expects `status` and (for errors) `Connection: close` + EOF. */
async function expectStatus(raw: string | Buffer, status: number, opts: { closes?: boolean; port?: number } = {}): Promise<string> {
  const client = await RawClient.connect(opts.port ?? srv.port);
  try {
    await client.write(raw);
    const res = await client.readResponse();
    assert.equal(res.status, status, `expected ${status} for ${JSON.stringify(raw.toString().slice(0, 80))}, got ${res.status}`);
    if (opts.closes === true) {
      assert.equal(res.header('connection'), 'close');
      await client.waitForEof();
    }
    return res.body.toString('utf8');
  } finally {
    client.destroy();
  }
}

describe('2xx and 3xx', () => {
  test('200 for a file', async () => {
    const res = await fetchOnce(srv.port, request('/hello.txt'));
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), site.hello);
  });

  test('206 for a range', async () => {
    const res = await fetchOnce(srv.port, request('/digits.txt', { headers: ['Range: bytes=0-4'] }));
    assert.equal(res.status, 206);
    assert.equal(res.body.toString(), '01234');
  });

  test('204 with Allow for OPTIONS, also OPTIONS *', async () => {
    for (const target of ['/hello.txt', '*']) {
      const res = await fetchOnce(srv.port, request(target, { method: 'OPTIONS' }));
      assert.equal(res.status, 204, target);
      assert.equal(res.header('allow'), 'GET, HEAD, OPTIONS');
      assert.equal(res.header('content-length'), undefined);
    }
  });

  test('301 for a folder without slash; Location is a path, never //host', async () => {
    const cases: Array<[string, string]> = [
      ['/with-index', '/with-index/'],
      ['/with-index?x=1&y=2', '/with-index/?x=1&y=2'],
      ['//evil.example', '/evil.example/'],
      ['//evil.example/dir', '/evil.example/dir/'],
      ['///evil.example//dir', '/evil.example/dir/'],
      ['/.//evil.example/dir', '/evil.example/dir/'],
    ];
    for (const [target, location] of cases) {
      const res = await fetchOnce(srv.port, request(target));
      assert.equal(res.status, 301, target);
      assert.equal(res.header('location'), location, target);
      assert.ok(!(res.header('location') ?? '').startsWith('//'), target);
    }
  });

  test('304 for If-None-Match: exact, list, weak, *', async () => {
    const first = await fetchOnce(srv.port, request('/hello.txt'));
    const etag = first.header('etag') ?? '';
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    for (const inm of [etag, `"nope", ${etag}`, `W/${etag}`, '*']) {
      const res = await fetchOnce(srv.port, request('/hello.txt', { headers: [`If-None-Match: ${inm}`] }));
      assert.equal(res.status, 304, inm);
      assert.equal(res.body.length, 0);
      assert.equal(res.header('etag'), etag);
    }
    const miss = await fetchOnce(srv.port, request('/hello.txt', { headers: ['If-None-Match: "other"'] }));
    assert.equal(miss.status, 200);
  });

  test('If-Modified-Since: equal and newer → 304, older → 200, later than now or unparsable ignored, ignored when INM present', async () => {
    const first = await fetchOnce(srv.port, request('/hello.txt'));
    const lm = first.header('last-modified') ?? '';
    const lmMs = Date.parse(lm);
    assert.ok(!Number.isNaN(lmMs));
    // Newer than Last-Modified, but not later than now (Last-Modified is never later than now).
    const newer = new Date(Math.floor(Date.now() / 1000) * 1000).toUTCString();
    const older = new Date(lmMs - 3600_000).toUTCString();
    const future = new Date(Date.now() + 3600_000).toUTCString();
    const get = (headers: string[]): Promise<number> => fetchOnce(srv.port, request('/hello.txt', { headers })).then((r) => r.status);
    assert.equal(await get([`If-Modified-Since: ${lm}`]), 304);
    assert.equal(await get([`If-Modified-Since: ${newer}`]), 304);
    assert.equal(await get([`If-Modified-Since: ${older}`]), 200);
    assert.equal(await get([`If-Modified-Since: ${future}`]), 200, 'a date later than now proves nothing');
    assert.equal(await get(['If-Modified-Since: not a date at all, really']), 200);
    assert.equal(await get(['If-Modified-Since: yesterday']), 200);
    // If-None-Match present and not matching: If-Modified-Since is not consulted (RFC 9110 §13.1.3).
    assert.equal(await get(['If-None-Match: "other"', `If-Modified-Since: ${newer}`]), 200);
  });
});

describe('4xx', () => {
  const H = 'Host: 127.0.0.1\r\n';
  const parserCases: Array<[string, string, number, 'parser' | 'path']> = [
    ['bad request line (two spaces)', `GET  / HTTP/1.1\r\n${H}\r\n`, 400, 'parser'],
    ['bad request line (no version)', `GET /\r\n${H}\r\n`, 400, 'parser'],
    ['bad request line (bare LF)', `GET / HTTP/1.1\n${H}\n`, 400, 'parser'],
    ['bad version', `GET / HTTQ/1.1\r\n${H}\r\n`, 400, 'parser'],
    ['bad header (space before colon)', `GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n`, 400, 'parser'],
    ['bad header (no colon)', `GET / HTTP/1.1\r\n${H}garbage\r\n\r\n`, 400, 'parser'],
    ['bad header (obs-fold)', `GET / HTTP/1.1\r\n${H}X-A: b\r\n c\r\n\r\n`, 400, 'parser'],
    ['bad header (control char in value)', `GET / HTTP/1.1\r\n${H}X-A: b\x01c\r\n\r\n`, 400, 'parser'],
    ['missing Host on 1.1', 'GET / HTTP/1.1\r\n\r\n', 400, 'parser'],
    ['two Hosts', `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, 'parser'],
    ['invalid Host', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 'parser'],
    ['CL + TE', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, 'parser'],
    ['bad CL (sign)', `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\n`, 400, 'parser'],
    ['bad CL (hex)', `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\n`, 400, 'parser'],
    ['bad CL (differing repeats)', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\n`, 400, 'parser'],
    ['TE chunked twice', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`, 400, 'parser'],
    ['raw non-ASCII byte in target', `GET /\xe4 HTTP/1.1\r\n${H}\r\n`, 400, 'parser'],
    ['bad percent-encoding', `GET /%zz HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['truncated percent-encoding', `GET /100% HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['percent-encoded invalid UTF-8', `GET /%ff%fe HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['NUL (encoded)', `GET /hello.txt%00 HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['NUL (raw)', `GET /hello\x00.txt HTTP/1.1\r\n${H}\r\n`, 400, 'parser'],
    ['backslash (encoded)', `GET /..%5chello.txt HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['backslash (raw)', `GET /a\\b HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['climbing above root', `GET /../hello.txt HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['climbing above root (deeper)', `GET /with-index/../../hello.txt HTTP/1.1\r\n${H}\r\n`, 400, 'path'],
    ['asterisk-form for GET', `GET * HTTP/1.1\r\n${H}\r\n`, 400, 'parser'],
    ['userinfo in absolute-form', `GET http://u@127.0.0.1/ HTTP/1.1\r\n${H}\r\n`, 400, 'parser'],
    ['request not starting with a token', `\x16\x03\x01\x00`, 400, 'parser'],
  ];
  for (const [name, raw, status, kind] of parserCases) {
    // Parser errors are answered from the fixed table and close; path refusals (decided after
    // parsing, by resolveRequestPath) are ordinary answers on a connection that stays open.
    test(`${status} (${kind}): ${name}`, async () => {
      const body = await expectStatus(raw, status, { closes: kind === 'parser' });
      assert.ok(body.length > 0);
    });
  }

  test('400 for a path that cannot be decoded says which fault it is: a malformed escape, or escapes that are not UTF-8 (helper-54)', async () => {
    const malformed = /malformed percent-encoding: each "%" must be followed by two hex digits/;
    const notUtf8 = /percent-escapes that are not UTF-8/;
    const cases: Array<[string, RegExp]> = [
      ['/%zz', malformed],
      ['/100%', malformed],
      ['/a%2/b.txt', malformed],
      ['/%FF', notUtf8],
      ['/%ff%fe', notUtf8],
      ['/%C0%AE', notUtf8],
      ['/%E2%82', notUtf8],
      ['/%E2%82%AC%80.txt', notUtf8],
    ];
    for (const [path, reason] of cases) {
      const res = await fetchOnce(srv.port, request(path));
      assert.equal(res.status, 400, path);
      assert.match(res.body.toString('utf8'), reason, path);
    }
  });

  test('a malformed target is the same 400 for every method: OPTIONS, a CORS preflight, POST, PUT, an unknown one (helper-150)', async () => {
    // OPTIONS answered 204 and the refused methods 405/501 to targets GET refuses with 400.
    const preflight = ['Origin: http://a.example', 'Access-Control-Request-Method: GET'];
    for (const path of ['/../x', '/%00', '/a%5Cb', '/%C0%AE', '/%zz']) {
      const get = await fetchOnce(srv.port, request(path));
      assert.equal(get.status, 400, path);
      for (const [method, headers] of [['OPTIONS', []], ['OPTIONS', preflight], ['POST', []], ['PUT', []], ['DELETE', []], ['BREW', []]] as const) {
        const res = await fetchOnce(srv.port, request(path, { method, headers: [...headers] }));
        assert.equal(res.status, 400, `${method} ${path}`);
        assert.equal(res.body.toString('utf8'), get.body.toString('utf8'), `${method} ${path}: the same words as GET`);
      }
    }
    // A well-formed target keeps its answers: 204, 405, 501.
    assert.equal((await fetchOnce(srv.port, request('/hello.txt', { method: 'OPTIONS' }))).status, 204);
    assert.equal((await fetchOnce(srv.port, request('*', { method: 'OPTIONS' }))).status, 204);
    assert.equal((await fetchOnce(srv.port, request('/hello.txt', { method: 'POST' }))).status, 405);
    assert.equal((await fetchOnce(srv.port, request('/hello.txt', { method: 'BREW' }))).status, 501);
  });

  test('400 for a request the client half-closes mid-head', async () => {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write('GET /hello.txt HTTP/1.1\r\nHost: 127');
      client.end();
      const res = await client.readResponse();
      assert.equal(res.status, 400);
      await client.waitForEof();
    } finally {
      client.destroy();
    }
  });

  test('403 for a Host that is not ours (DNS rebinding)', async () => {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request('/hello.txt', { host: 'evil.example' }));
      const res = await client.readResponse();
      assert.equal(res.status, 403);
      assert.ok(!res.body.toString().includes(site.hello));
      // It names what adds a host for real: the flag and the setting, not a bare `allowedHosts`
      // that porthole.config.json refuses.
      assert.match(res.body.toString(), /--allowed-host NAME \(CLI\) or the porthole\.allowedHosts setting \(VS Code\); porthole\.config\.json cannot add one\./);
      // Loopback names and ports are accepted.
      // A port of any number of digits (RFC 3986 §3.2.3) is a port, not another host (helper-150).
      for (const host of ['localhost', `localhost:${srv.port}`, `127.0.0.1:${srv.port}`, '[::1]', 'app.localhost', `localhost:000${srv.port}`, '127.0.0.1:123456']) {
        await client.write(request('/hello.txt', { host }));
        assert.equal((await client.readResponse()).status, 200, host);
      }
    } finally {
      client.destroy();
    }
  });

  test('403 for an unreadable file (EACCES)', async (t) => {
    if (process.getuid?.() === 0) {
      t.skip('running as root: EACCES cannot be produced');
      return;
    }
    const res = await fetchOnce(srv.port, request('/locked.txt'));
    assert.equal(res.status, 403);
  });

  test('404: missing file, dotfiles, .git, symlinks out of the root', async () => {
    for (const target of ['/nope.txt', '/nope/', '/.env', '/.git/config', '/.hidden/x.txt', '/.hidden/', '/escape', '/sibling', '/sibling-dir/secret.txt']) {
      const { status, body } = await fetchOnce(srv.port, request(target)).then((r) => ({ status: r.status, body: r.body.toString() }));
      assert.equal(status, 404, target);
      assert.ok(!body.includes(site.secret), target);
      assert.ok(!body.includes('DOTENV') && !body.includes('[core]'), target);
    }
  });

  test('404 page escapes the requested path', async () => {
    const res = await fetchOnce(srv.port, request('/%3Cscript%3Ealert(1)%3C%2Fscript%3E'));
    assert.equal(res.status, 404);
    assert.ok(!res.body.toString().includes('<script>'));
    assert.ok(res.body.toString().includes('&lt;script&gt;'));
  });

  test('custom 404.html is served, still with status 404', async () => {
    for (const target of ['/missing.html', '/no-index/nope.txt']) {
      const res = await fetchOnce(srv404.port, request(target));
      assert.equal(res.status, 404);
      assert.equal(res.body.toString(), site.custom404);
      assert.match(res.header('content-type') ?? '', /^text\/html/);
    }
    const head = await fetchOnce(srv404.port, request('/missing.html', { method: 'HEAD' }), { head: true });
    assert.equal(head.status, 404);
    assert.equal(head.header('content-length'), String(Buffer.byteLength(site.custom404)));
  });

  test('405 with Allow for POST, PUT, DELETE, PATCH, TRACE, CONNECT; TRACE echoes nothing', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE']) {
      const res = await fetchOnce(
        srv.port,
        request('/hello.txt', { method, headers: ['X-Secret-Header: sekrit-value-123', 'Cookie: session=abc'] }),
      );
      assert.equal(res.status, 405, method);
      assert.equal(res.header('allow'), 'GET, HEAD, OPTIONS');
      const text = res.body.toString();
      assert.ok(!text.includes('sekrit-value-123') && !text.includes('session=abc'), method);
      assert.ok(!res.headText.includes('sekrit-value-123'), method);
    }
    const connect = await fetchOnce(srv.port, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n');
    assert.equal(connect.status, 405);
    assert.equal(connect.header('allow'), 'GET, HEAD, OPTIONS');
  });

  test('408 for a head that does not arrive in time, then close', async () => {
    const client = await RawClient.connect(srvTimeout.port);
    try {
      await client.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      const res = await client.readResponse({ timeoutMs: 5_000 });
      assert.equal(res.status, 408);
      assert.equal(res.header('connection'), 'close');
      await client.waitForEof();
    } finally {
      client.destroy();
    }
  });

  test('408 (not a hang) for a body that stops arriving', async () => {
    const client = await RawClient.connect(srvTimeout.port);
    try {
      await client.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc');
      const res = await client.readResponse({ timeoutMs: 5_000 });
      assert.equal(res.status, 408);
      await client.waitForEof();
    } finally {
      client.destroy();
    }
  });

  test('a connection that sends nothing is closed quietly after the head timeout', async () => {
    const client = await RawClient.connect(srvTimeout.port);
    try {
      await client.waitForEof(5_000);
      assert.equal(client.buffered, 0);
    } finally {
      client.destroy();
    }
  });

  test('412 for If-Match mismatch and If-Unmodified-Since older', async () => {
    const first = await fetchOnce(srv.port, request('/hello.txt'));
    const etag = first.header('etag') ?? '';
    const lmMs = Date.parse(first.header('last-modified') ?? '');
    const older = new Date(lmMs - 3600_000).toUTCString();
    const newer = new Date(lmMs + 3600_000).toUTCString();
    const get = (headers: string[]): Promise<number> => fetchOnce(srv.port, request('/hello.txt', { headers })).then((r) => r.status);
    assert.equal(await get(['If-Match: "nope"']), 412);
    assert.equal(await get([`If-Match: W/${etag}`]), 412, 'If-Match uses the strong comparison');
    assert.equal(await get([`If-Match: ${etag}`]), 200);
    assert.equal(await get(['If-Match: *']), 200);
    assert.equal(await get([`If-Unmodified-Since: ${older}`]), 412);
    assert.equal(await get([`If-Unmodified-Since: ${newer}`]), 200);
    // 412 is decided before 304 (RFC 9110 §13.2.2).
    assert.equal(await get(['If-Match: "nope"', `If-None-Match: ${etag}`]), 412);
  });

  test('413 for Content-Length over maxBodyBytes, and for a chunked body over it', async () => {
    await expectStatus(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n`, 413, { closes: true });
    const chunk = 'x'.repeat(800);
    const chunked =
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `${(800).toString(16)}\r\n${chunk}\r\n${(800).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
    await expectStatus(chunked, 413, { closes: true });
    // Under the limit: the body is discarded and the method answered.
    await expectStatus(`OPTIONS / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n0123456789`, 204);
  });

  test('414 for a target over 8 KiB, logged with its method and the start of its target', async () => {
    await expectStatus(`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 414, { closes: true });
    // The line is cut before its version for the log: before, the record said method `-` and a
    // request field of `GET /aaa…` with a space in it.
    const record = [...srv.records].reverse().find((r) => r.status === 414);
    assert.ok(record !== undefined);
    assert.equal(record.method, 'GET');
    // Cut, and said so: before, the target ended after 200 characters with no mark (it read as a
    // whole request for /aaa…a). The line was `GET /` + 9000 a + ` HTTP/1.1`: 9014 bytes, 204 kept.
    assert.equal(record.target, `/${'a'.repeat(199)}... (8810 more bytes)`);
    assert.equal(record.protocol, '-');
    // A line whose end never came: how much more is known only as a lower bound.
    await expectStatus(`GET /${'d'.repeat(9000)}`, 414, { closes: true });
    const open = [...srv.records].reverse().find((r) => r.status === 414);
    assert.match(open?.target ?? '', new RegExp(`^/d{199}\\.\\.\\. \\(at least \\d+ more bytes\\)$`));
    // Just past the limit (a target of 8,193 bytes, its line read whole): cut the same, not kept
    // whole as a line the parser took (helper-163).
    await expectStatus(`GET /${'e'.repeat(8192)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 414, { closes: true });
    const just = [...srv.records].reverse().find((r) => r.status === 414);
    assert.equal(just?.target, `/${'e'.repeat(199)}... (8002 more bytes)`);
    assert.equal(just?.method, 'GET');
    // Lines of other shapes just past it: no version, a word after the target (helper-165).
    for (const [line, more] of [[`GET /${'g'.repeat(8192)}`, 7993], [`GET /${'h'.repeat(8192)} b HTTP/1.1`, 8004]] as const) {
      await expectStatus(`${line}\r\nHost: 127.0.0.1\r\n\r\n`, 414, { closes: true });
      const record = [...srv.records].reverse().find((r) => r.status === 414);
      assert.equal(record?.target, `/${line.charAt(5).repeat(199)}... (${more} more bytes)`, line.slice(0, 8));
    }
  });

  test('416 with Content-Range: bytes */size', async () => {
    const res = await fetchOnce(srv.port, request('/digits.txt', { headers: ['Range: bytes=5000-6000'] }));
    assert.equal(res.status, 416);
    assert.equal(res.header('content-range'), `bytes */${site.digits.length}`);
  });

  test('431 for a head over 16 KiB and for more than 100 fields', async () => {
    const big = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-Fill: ' + 'y'.repeat(1000) + '\r\n'}`.repeat(1) +
      Array.from({ length: 20 }, (_, i) => `X-F${i}: ${'y'.repeat(1000)}\r\n`).join('') + '\r\n';
    await expectStatus(big, 431, { closes: true });
    // A browser's head is too large because of its cookies above all: the answer says what to do.
    const cookies = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${Array.from({ length: 400 }, (_, i) => `c${i}=${'v'.repeat(40)}`).join('; ')}\r\n\r\n`;
    assert.match(await expectStatus(cookies, 431, { closes: true }), /The request head is too large\. .*cookies.*clear this site's cookies, then reload\./);
    const many = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n` + Array.from({ length: 101 }, (_, i) => `X-F${i}: v\r\n`).join('') + '\r\n';
    await expectStatus(many, 431, { closes: true });
    const hundred = `GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n` + Array.from({ length: 99 }, (_, i) => `X-F${i}: v\r\n`).join('') + '\r\n';
    await expectStatus(hundred, 200);
  });

  // RFC 9112 §3 (helper-157): a 20,000-letter method got the 431 that blames cookies.
  test('501 for a method longer than any implemented, with words that say so, logged once', async () => {
    const before = srv.records.length;
    const body = await expectStatus(`${'A'.repeat(20_000)} / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 501, { closes: true });
    assert.match(body, /The request method is longer than any this server implements/);
    assert.doesNotMatch(body, /cookies/);
    // Before its line ends too: the 501 comes without the rest of the head.
    await expectStatus('B'.repeat(33), 501, { closes: true });
    // The line is written when the connection ends: waited for, at most 2 s.
    for (let i = 0; i < 100 && srv.records.length < before + 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(srv.records.slice(before).map((r) => r.status), [501, 501]);
  });
});

describe('HEAD', () => {
  /** Sends `raw`, reads the answer's head as a HEAD's, then every byte until the server closes. */
  async function headAnswer(raw: string, port = srv.port): Promise<{ status: number; after: string }> {
    const client = await RawClient.connect(port);
    try {
      await client.write(raw);
      const res = await client.readResponse({ head: true, timeoutMs: 5_000 });
      assert.equal(res.header('connection'), 'close', raw);
      await client.waitForEof();
      const all = client.transcriptText();
      return { status: res.status, after: all.slice(all.indexOf('\r\n\r\n') + 4) };
    } finally {
      client.destroy();
    }
  }

  // RFC 9110 §9.3.2: "the server MUST NOT send content in the response" to HEAD; RFC 9112 §6.3: a
  // response to HEAD ends at its head, so content after it would be read as the next response.
  const cases: ReadonlyArray<readonly [name: string, raw: string, status: number, timeout?: boolean]> = [
    ['413 for a body over the limit', 'HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n', 413],
    ['400 for a broken chunked body', 'HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['501 for Transfer-Encoding gzip', 'HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
    ['400 for a folded field', 'HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: b\r\n c\r\n\r\n', 400],
    ['400 for a missing Host', 'HEAD /hello.txt HTTP/1.1\r\n\r\n', 400],
    ['431 for too many fields', `HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n${'X-F: 1\r\n'.repeat(101)}\r\n`, 431],
    ['408 for a body that stops arriving', 'HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc', 408, true],
    ['408 for a head that stops arriving', 'HEAD /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 408, true],
  ];
  for (const [name, raw, status, timeout] of cases) {
    test(`a ${name} answers HEAD with its head only, no content`, async () => {
      const got = await headAnswer(raw, timeout === true ? srvTimeout.port : srv.port);
      assert.equal(got.status, status);
      assert.equal(got.after, '', `content after the head of a HEAD's ${status}`);
    });
  }

  test('the same refusals to GET still carry their words', async () => {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n');
      const res = await client.readResponse();
      assert.equal(res.status, 501);
      assert.match(res.body.toString('utf8'), /chunked/);
    } finally {
      client.destroy();
    }
  });
});

describe('5xx', () => {
  test('501 for an unknown method token', async () => {
    await expectStatus(request('/hello.txt', { method: 'BREW' }), 501);
  });

  test('501 for Transfer-Encoding gzip', async () => {
    await expectStatus(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n`, 501, { closes: true });
  });

  test('505 for HTTP/2.0', async () => {
    await expectStatus(`GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n`, 505, { closes: true });
  });

  test('HTTP/1.2 is answered as HTTP/1.1 (RFC 9110 §2.5), not 505, and logged with the version it was sent with', async () => {
    const before = srv.records.length;
    const client = await RawClient.connect(srv.port);
    try {
      await client.write('GET /hello.txt HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\n' + request('/hello.txt'));
      const res = await client.readResponses(2);
      assert.deepEqual(res.map((r) => r.status), [200, 200]);
      assert.equal(res[0]?.header('connection'), undefined, 'kept alive, as HTTP/1.1');
    } finally {
      client.destroy();
    }
    assert.deepEqual(srv.records.slice(before, before + 2).map((r) => r.protocol), ['HTTP/1.2', 'HTTP/1.1']);
  });

  test('error answers a cache may keep without being told (RFC 9110 §15.1: 405, 414, 501) say no-store, as every refusal does', async () => {
    // A shared cache keeping GET /hello.txt's 501 (a client's Transfer-Encoding: gzip) would give
    // it to everyone asking for the file after: a denial of service through the cache.
    const cases: Array<[string, number]> = [
      [`GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n`, 501],
      [request('/hello.txt', { method: 'BREW' }), 501],
      [request(`/${'a'.repeat(9000)}`), 414],
      [request('/hello.txt', { method: 'DELETE' }), 405],
      [request('/hello.txt', { headers: ['Transfer-Encoding: chunked', 'Content-Length: 3'] }), 400],
      [request('/hello.txt', { host: 'evil.example' }), 403],
      // The other places a refusal is made: a path the files refuse, a CORS preflight with CORS
      // off, live reload's stream asked from another origin.
      [request('/a%00b'), 400],
      [request('/hello.txt', { method: 'OPTIONS', headers: ['Origin: http://evil.example', 'Access-Control-Request-Method: GET'] }), 403],
      [request('/__porthole/events', { headers: ['Origin: http://evil.example'] }), 403],
    ];
    for (const [raw, status] of cases) {
      const res = await fetchOnce(srv.port, raw);
      assert.equal(res.status, status, raw.slice(0, 40));
      assert.equal(res.header('cache-control'), 'no-store', `${status}: ${raw.slice(0, 40)}`);
    }
    // And the proxy's: CONNECT under a route is never passed on.
    const proxied = await startServer({ root: site.root, proxy: { routes: [{ prefix: '/', target: 'http://127.0.0.1:9' }] } });
    try {
      const connect = await fetchOnce(proxied.port, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n');
      assert.equal(connect.status, 405);
      assert.equal(connect.header('cache-control'), 'no-store');
    } finally {
      await proxied.close();
    }
  });

  test('the server still answers after all of the above', async () => {
    const res = await withTimeout(fetchOnce(srv.port, request('/hello.txt')), 5_000, 'a final GET');
    assert.equal(res.status, 200);
  });
});
