/**
 * Bytes that already break the request are refused as they arrive, with the status and message of
 * the rule they break, over real TCP against a real PreviewServer: a control byte in a head still
 * arriving (not a 408 at the head deadline, as if the client had been slow), and a malformed
 * chunk line whatever size it names (not a 413). nginx answers both 400 at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient } from './raw-client';
import { MAX_CHUNK_EXTENSION_BYTES, MAX_HEADER_FIELDS, MAX_TRAILER_BYTES } from '../../src/core/http/limits';

let site: Site;
let srv: Running;

/** Half the head deadline (headersMs, 10 s): an answer that waits for it fails the test; a loaded CI machine still answers a 400 in far less. */
const ANSWER_WITHIN_MS = 5_000;

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  srv = await startServer({ root: site.root });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});

/** Sends `raw` (never a whole head) and expects `status` with `message` at once, logged once. */
async function expectRefusal(raw: string, status: number, message: string): Promise<void> {
  const before = srv.records.length;
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(Buffer.from(raw, 'latin1'));
    const res = await client.readResponse({ timeoutMs: ANSWER_WITHIN_MS });
    assert.equal(res.status, status, JSON.stringify(raw));
    assert.equal(res.body.toString('utf8'), `${message}\n`, JSON.stringify(raw));
    assert.equal(res.header('connection'), 'close');
    await client.waitForEof();
  } finally {
    client.destroy();
  }
  const records = srv.records.slice(before);
  assert.equal(records.length, 1, `one record for ${JSON.stringify(raw)}`);
  assert.equal(records[0]?.status, status);
}

const METHOD = 'The request method is missing or is not a valid token.';
/** A byte no target may hold raw, named with what to send (before: "The request target is malformed or has a form this method does not allow."). */
const TARGET = (hex: string, what = 'a control character'): string => `The request target holds ${what} (0x${hex}): a URL sends every such byte percent-encoded (0x${hex} as %${hex}), as browsers do (RFC 3986 §2.1).`;
const VERSION = 'The HTTP version is malformed.';
const NAME = 'A header field name is missing or is not a valid token.';
const VALUE = 'A header field value contains control characters.';

test('a control byte in a head still arriving is a 400 for the part it breaks, at once (RFC 9112 §3, §5; RFC 9110 §5.5)', async () => {
  const cases: Array<[string, string]> = [
    ['GE\x01T /a.txt HTTP/1.1', METHOD],
    ['GET\t/a.txt', METHOD],
    ['GET /a\x00b HTTP/1.1', TARGET('00')],
    ['GET /a\x7fb', TARGET('7F')],
    ['GET /a.txt HTTP/1.\x00', VERSION],
    ['GET /a.txt HTTP/1.1\r\nX\x00', NAME],
    ['GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\x00b', VALUE],
    ['GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: \x1b[31m', VALUE],
    // A whole field line with a NUL, the head not ended yet.
    ['GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\x00b\r\n', VALUE],
  ];
  for (const [raw, message] of cases) await expectRefusal(raw, 400, message);
});

test('any byte that breaks a head still arriving is a 400 at once, not only control bytes', async () => {
  const cases: Array<[string, string]> = [
    ['GE(T /a.txt', METHOD],
    ['GET /\xe9t\xe9', TARGET('E9', 'a byte that is not ASCII')],
    ['GET  /a.txt', 'The request line must be a method, one space, a target, one space and the HTTP version.'],
    ['GET /a.txt HTTX', VERSION],
    ['GET /a.txt HTTP/1.1x', VERSION],
    ['GET /a.txt HTTP/1.1\r\nX(Y', NAME],
    ['GET /a.txt HTTP/1.1\r\nX(Y: v\r\n', NAME],
    ['GET /a.txt HTTP/1.1\r\nX-A : v', 'A header field name must not be followed by whitespace.'],
    ['GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\tfolded', 'Header lines must not start with whitespace (line folding is not allowed).'],
  ];
  for (const [raw, message] of cases) await expectRefusal(raw, 400, message);
});

test('a raw space in the target is said to be one, not a malformed version: whole or still arriving', async () => {
  const SPACE = 'The request target holds a space, or no HTTP version follows it: a space in a URL is sent as %20.';
  // Still arriving: refused at the byte after the second space.
  await expectRefusal('GET /my file', 400, SPACE);
  // A whole head in one write.
  await expectRefusal('GET /my file.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, SPACE);
  // A version that is one, misspelt, or with a trailing space, is still a malformed version.
  await expectRefusal('GET /a.txt http/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, VERSION);
  await expectRefusal('GET /a.txt HTTP/1.1 \r\nHost: 127.0.0.1\r\n\r\n', 400, VERSION);
});

test('a raw non-ASCII or control byte in a whole target names the byte and its percent-encoding (curl sends /café.html raw)', async () => {
  // Before: "The request target is malformed or has a form this method does not allow."
  await expectRefusal(Buffer.from('GET /caf\u00e9.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'utf8').toString('latin1'), 400, TARGET('C3', 'a byte that is not ASCII'));
  await expectRefusal('GET /a\tb HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, TARGET('09'));
});

test('what a head may hold still waits for the rest: a tab or obs-text in a field value', async () => {
  for (const raw of ['GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\tb', 'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nX: \xff']) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(Buffer.from(raw, 'latin1'));
      await client.write('\r\n\r\n');
      const res = await client.readResponse({ timeoutMs: ANSWER_WITHIN_MS });
      assert.equal(res.status, 200, JSON.stringify(raw));
    } finally {
      client.destroy();
    }
  }
});

test('a malformed chunk line is a 400 whatever size it names, not a 413 (RFC 9112 §7.1)', async () => {
  const head = 'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n';
  // Sizes over the 1 MiB body limit, each ended by a byte no chunk line may have there.
  await expectRefusal(`${head}fffffff\n`, 400, 'A chunk line or chunk data must end with CR LF.');
  await expectRefusal(`${head}fffffffz\r\n`, 400, 'A chunk size is not a valid hexadecimal number.');
  // Well formed and over the limit: still 413 before any of its data.
  await expectRefusal(`${head}fffffff\r\n`, 413, 'The request body is larger than this server accepts.');
  // Extensions that break RFC 9112 §7.1.1's grammar (helper-160: each was taken, and the GET behind answered).
  const words = 'A chunk extension is malformed: after the chunk size, each extension is ";" and a name (a token), optionally "=" and a token or a quoted string (RFC 9112 §7.1.1).';
  for (const line of ['3;', '3;a=', '3;a="x']) await expectRefusal(`${head}${line}\r\nabc\r\n0\r\n\r\nGET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 400, words);
});

test('every byte of a chunk line and of a trailer section counts toward its bound: whitespace before a `;`, and each trailer line\'s CRLF (RFC 9112 §7.1)', async () => {
  const head = 'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n';
  // Spaces after a chunk size, without end: they were not counted anywhere, so the line went on
  // for as long as the client sent them (nothing but the body's deadlines ended it).
  await expectRefusal(`${head}1${' '.repeat(MAX_CHUNK_EXTENSION_BYTES + 1)}`, 413, 'The chunk extensions of the request body are too large.');
  // Trailer lines of four bytes: their LFs were not counted, so a third more than the bound passed.
  const lines = Math.ceil((MAX_TRAILER_BYTES + 1) / 4);
  await expectRefusal(`${head}0\r\n${'a:\r\n'.repeat(lines)}`, 431, 'The trailer section of the request body is too large.');
  // At the bound exactly (one field line of MAX_TRAILER_BYTES with its CRLF, then the final CRLF) the body is read and the request answered.
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(`${head}0\r\nX: ${'v'.repeat(MAX_TRAILER_BYTES - 5)}\r\n\r\n`);
    assert.equal((await client.readResponse({ timeoutMs: ANSWER_WITHIN_MS })).status, 200);
    await client.write(`${head}0\r\nX: ${'v'.repeat(MAX_TRAILER_BYTES - 4)}\r\n\r\n`);
    assert.equal((await client.readResponse({ timeoutMs: ANSWER_WITHIN_MS })).status, 431);
  } finally {
    client.destroy();
  }
});

test('a field line that breaks the head with the lines before it is refused when it ends, not at the head deadline (RFC 9112 §3.2, §5; RFC 9110 §8.6; RFC 6585 §5)', async () => {
  const head = 'GET /index.html HTTP/1.1\r\n';
  const cases: Array<[string, number, string]> = [
    // One field line more than the limit, the head not ended: the whole head would be a 431 too.
    [`${head}Host: 127.0.0.1\r\n${'X-A: b\r\n'.repeat(MAX_HEADER_FIELDS)}`, 431, 'The request has too many header fields.'],
    [`${head}Host: 127.0.0.1\r\nHost: 127.0.0.1\r\n`, 400, 'The request has more than one Host header.'],
    [`${head}Host: a b\r\n`, 400, 'The Host header is not a valid host name and port.'],
    [`${head}Host: 127.0.0.1\r\nContent-Length: 1x\r\n`, 400, 'Content-Length must be a decimal number, identical when repeated.'],
    [`${head}Host: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n`, 400, 'Content-Length must be a decimal number, identical when repeated.'],
    // Both framings (the smuggling shape), in either order.
    [`${head}Host: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n`, 400, 'A request must not have both Transfer-Encoding and Content-Length.'],
    [`${head}Transfer-Encoding: chunked\r\nContent-Length: 5\r\nHost: 127.0.0.1\r\n`, 400, 'A request must not have both Transfer-Encoding and Content-Length.'],
  ];
  for (const [raw, status, message] of cases) await expectRefusal(raw, status, message);
});

test('a Transfer-Encoding that no later line can mend is refused when its line ends: malformed, or in HTTP/1.0 (RFC 9112 §6.1)', async () => {
  // Each was held until the head deadline and answered 408, as if the client had been slow; the
  // whole head is a 400 whatever lines follow (a Content-Length after it: 400 too).
  const cases: Array<[string, number, string]> = [
    ['GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked;x=1\r\n', 400, 'The Transfer-Encoding header is malformed.'],
    ['GET /index.html HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\nHost: 127.0.0.1\r\n', 400, 'The Transfer-Encoding header is malformed.'],
    ['POST /index.html HTTP/1.0\r\nTransfer-Encoding: chunked\r\n', 400, 'Transfer-Encoding is not allowed in an HTTP/1.0 request.'],
  ];
  for (const [raw, status, message] of cases) await expectRefusal(raw, status, message);
});

test('a Transfer-Encoding a later line may still change waits for the head: chunked twice (a later gzip makes it a 501), a coding not supported', async () => {
  for (const te of ['chunked, chunked', 'gzip']) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(Buffer.from(`POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: ${te}\r\n`, 'latin1'));
      await client.write('Transfer-Encoding: gzip\r\n\r\n');
      const res = await client.readResponse({ timeoutMs: ANSWER_WITHIN_MS });
      assert.equal(res.status, 501, `${te}, then gzip: the whole head's answer`);
    } finally {
      client.destroy();
    }
  }
});

test('field lines that break nothing yet still wait for the rest: exactly the limit, one Host, agreeing Content-Lengths', async () => {
  const head = 'GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n';
  for (const raw of [`${head}${'X-A: b\r\n'.repeat(MAX_HEADER_FIELDS - 1)}`, `${head}Content-Length: 0\r\nContent-Length: 0\r\n`]) {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(Buffer.from(raw, 'latin1'));
      await client.write('\r\n');
      const res = await client.readResponse({ timeoutMs: ANSWER_WITHIN_MS });
      assert.equal(res.status, 200, JSON.stringify(raw.slice(0, 80)));
    } finally {
      client.destroy();
    }
  }
});
