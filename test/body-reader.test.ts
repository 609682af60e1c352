/**
 * BodyReader: Content-Length and chunked bodies are consumed exactly, whatever the input split,
 * and the next pipelined request starts at the right byte. Malformed chunked framing is 400,
 * bodies over the limit 413.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyReader, checkContentLength, type BodyFraming, type BodyPushResult } from '../src/core/http/body-reader';
import { parseRequestHead } from '../src/core/http/http-parser';
import { MAX_CHUNK_EXTENSION_BYTES, MAX_TRAILER_BYTES } from '../src/core/http/limits';

const CHUNKED: BodyFraming = { kind: 'chunked' };
const LIMIT = 1024 * 1024;

/** Feeds `pieces` in order (each push sees a fresh buffer) and sums what was consumed. */
function feed(reader: BodyReader, pieces: Buffer[]): { result: BodyPushResult; consumed: number; pieceIndex: number } {
  let consumed = 0;
  let result: BodyPushResult = { kind: 'more', consumed: 0 };
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k] ?? Buffer.alloc(0);
    result = reader.push(piece, 0);
    if (result.kind === 'error') return { result, consumed, pieceIndex: k };
    consumed += result.consumed;
    if (result.kind === 'done') return { result, consumed, pieceIndex: k };
    assert.equal(result.consumed, piece.length, 'more must consume the whole piece');
  }
  return { result, consumed, pieceIndex: pieces.length };
}

function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function readAll(framing: BodyFraming, raw: string, maxBodyBytes = LIMIT): BodyPushResult {
  return new BodyReader(framing, maxBodyBytes).push(bytes(raw), 0);
}

// ---- Content-Length ----

void test('length: whole body in one push', () => {
  assert.deepEqual(readAll({ kind: 'length', length: 5 }, 'hello'), { kind: 'done', consumed: 5 });
});

void test('length: stops at the end of the body, the next request is left', () => {
  assert.deepEqual(readAll({ kind: 'length', length: 5 }, 'helloGET / HTTP/1.1\r\n'), { kind: 'done', consumed: 5 });
});

void test('length: zero-length body is done at once', () => {
  assert.deepEqual(readAll({ kind: 'length', length: 0 }, 'GET'), { kind: 'done', consumed: 0 });
});

void test('length: split into pieces', () => {
  const reader = new BodyReader({ kind: 'length', length: 10 }, LIMIT);
  assert.deepEqual(reader.push(bytes('abc'), 0), { kind: 'more', consumed: 3 });
  assert.deepEqual(reader.push(bytes(''), 0), { kind: 'more', consumed: 0 });
  assert.deepEqual(reader.push(bytes('defg'), 0), { kind: 'more', consumed: 4 });
  assert.deepEqual(reader.push(bytes('hijNEXT'), 0), { kind: 'done', consumed: 3 });
  assert.deepEqual(reader.push(bytes('more'), 0), { kind: 'done', consumed: 0 });
});

void test('length: honours the offset', () => {
  const reader = new BodyReader({ kind: 'length', length: 4 }, LIMIT);
  assert.deepEqual(reader.push(bytes('HEADbodyNEXT'), 4), { kind: 'done', consumed: 4 });
});

void test('length: out-of-range offsets never throw', () => {
  const reader = new BodyReader({ kind: 'length', length: 4 }, LIMIT);
  assert.deepEqual(reader.push(bytes('ab'), 10), { kind: 'more', consumed: 0 });
  assert.deepEqual(reader.push(bytes('ab'), -1), { kind: 'more', consumed: 0 });
  assert.deepEqual(reader.push(bytes('abcd'), 0), { kind: 'done', consumed: 4 });
});

void test('length: over the limit → 413 from checkContentLength and from push', () => {
  assert.equal(checkContentLength(10, 10), undefined);
  assert.equal(checkContentLength(0, 10), undefined);
  const err = checkContentLength(11, 10);
  assert.equal(err?.status, 413);
  assert.equal(err?.code, 'ERR_BODY_TOO_LARGE');
  const r = readAll({ kind: 'length', length: 11 }, 'x'.repeat(11), 10);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.equal(r.status, 413);
  assert.equal(checkContentLength(-1, 10)?.status, 400);
  assert.equal(checkContentLength(1.5, 10)?.status, 400);
});

// ---- chunked: valid bodies ----

interface ChunkedCase {
  description: string;
  raw: string;
}

const validChunked: ChunkedCase[] = [
  { description: 'one chunk', raw: '5\r\nhello\r\n0\r\n\r\n' },
  { description: 'only the last chunk', raw: '0\r\n\r\n' },
  { description: 'several chunks', raw: '3\r\nabc\r\n1\r\nd\r\n2\r\nef\r\n0\r\n\r\n' },
  { description: 'upper- and lower-case hex', raw: 'A\r\n0123456789\r\na\r\n0123456789\r\n1F\r\n' + 'x'.repeat(31) + '\r\n0\r\n\r\n' },
  { description: 'leading zeros in sizes', raw: '0005\r\nhello\r\n000\r\n\r\n' },
  // chunk-size = 1*HEXDIG (RFC 9112 §7.1): leading zeros are no digits of magnitude (helper-171:
  // 17 digits with 16 zeros were a 400; nginx and Node take them).
  { description: 'more leading zeros than significant digits allowed', raw: '00000000000000005\r\nhello\r\n0000000000000000000000\r\n\r\n' },
  { description: 'a last chunk written with 32 zeros', raw: '00000000000000000000000000000000\r\n\r\n' },
  { description: 'chunk data containing CRLF and 0\\r\\n', raw: '7\r\n0\r\n\r\nab\r\n0\r\n\r\n' },
  { description: 'chunk extensions', raw: '5;name=value\r\nhello\r\n3;a;b=c\r\nabc\r\n0;last\r\n\r\n' },
  { description: 'quoted chunk extension value', raw: '5;n="a b;c"\r\nhello\r\n0\r\n\r\n' },
  { description: 'BWS before an extension', raw: '5 ;n=v\r\nhello\r\n0\t;x\r\n\r\n' },
  { description: 'BWS around an extension\'s name, "=" and value', raw: '5; n = v ; m\r\nhello\r\n0;\tq =\t"x" ;r="a\\"b"\r\n\r\n' },
  { description: 'quoted-pair and obs-text in a quoted extension value', raw: '5;n="\\\\ \\q caf\u00e9\t"\r\nhello\r\n0\r\n\r\n' },
  { description: 'trailer section', raw: '5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:\tv w \r\n\r\n' },
  { description: 'trailer with an empty value and obs-text', raw: '0\r\nX-A:\r\nX-B: caf\u00e9\r\n\r\n' },
  { description: 'binary chunk data', raw: '4\r\n\u0000\r\n\u00ff\r\n0\r\n\r\n' },
];

for (const c of validChunked) {
  void test(`chunked: ${c.description}`, () => {
    assert.deepEqual(readAll(CHUNKED, c.raw), { kind: 'done', consumed: bytes(c.raw).length });
  });
}

void test('chunked: every valid body split at every offset (and with a next request after it)', () => {
  const next = 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n';
  for (const c of validChunked) {
    const body = bytes(c.raw);
    const all = Buffer.concat([body, bytes(next)]);
    for (let cut = 0; cut <= all.length; cut++) {
      const reader = new BodyReader(CHUNKED, LIMIT);
      const { result, consumed } = feed(reader, [all.subarray(0, cut), all.subarray(cut)]);
      assert.equal(result.kind, 'done', `${c.description} cut ${cut}`);
      assert.equal(consumed, body.length, `${c.description} cut ${cut}`);
    }
  }
});

void test('chunked: every valid body fed one byte at a time', () => {
  for (const c of validChunked) {
    const body = bytes(c.raw);
    const pieces: Buffer[] = [];
    for (let k = 0; k < body.length; k++) pieces.push(body.subarray(k, k + 1));
    const reader = new BodyReader(CHUNKED, LIMIT);
    const { result, consumed, pieceIndex } = feed(reader, pieces);
    assert.equal(result.kind, 'done', c.description);
    assert.equal(consumed, body.length, c.description);
    assert.equal(pieceIndex, body.length - 1, 'done exactly at the last byte');
  }
});

void test('chunked: never done before the last byte', () => {
  for (const c of validChunked) {
    const body = bytes(c.raw);
    for (let n = 0; n < body.length; n++) {
      assert.deepEqual(new BodyReader(CHUNKED, LIMIT).push(body.subarray(0, n), 0), { kind: 'more', consumed: n });
    }
  }
});

void test('chunked: honours the offset and pushes after done consume nothing', () => {
  const reader = new BodyReader(CHUNKED, LIMIT);
  assert.deepEqual(reader.push(bytes('xx1\r\na\r\n0\r\n\r\nyy'), 2), { kind: 'done', consumed: 11 });
  assert.deepEqual(reader.push(bytes('1\r\na\r\n'), 0), { kind: 'done', consumed: 0 });
});

void test('pipelined: head, chunked body, next head', () => {
  const first = 'POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
  const body = '4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n';
  const second = 'GET /b HTTP/1.1\r\nHost: a\r\n\r\n';
  const buf = bytes(first + body + second);
  const h1 = parseRequestHead(buf, 0);
  assert.equal(h1.kind, 'complete');
  if (h1.kind !== 'complete') return;
  assert.equal(h1.head.chunked, true);
  const reader = new BodyReader(CHUNKED, LIMIT);
  const r = reader.push(buf, h1.consumed);
  assert.equal(r.kind, 'done');
  if (r.kind !== 'done') return;
  const nextStart = h1.consumed + r.consumed;
  assert.equal(nextStart, first.length + body.length);
  const h2 = parseRequestHead(buf.subarray(nextStart), 0);
  assert.equal(h2.kind, 'complete');
  if (h2.kind === 'complete') assert.equal(h2.head.path, '/b');
});

void test('pipelined: head, Content-Length body, next head', () => {
  const first = 'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n';
  const buf = bytes(first + 'hello world' + 'GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
  const h1 = parseRequestHead(buf, 0);
  assert.equal(h1.kind, 'complete');
  if (h1.kind !== 'complete' || h1.head.contentLength === undefined) return assert.fail('no length');
  const reader = new BodyReader({ kind: 'length', length: h1.head.contentLength }, LIMIT);
  const r = reader.push(buf, h1.consumed);
  assert.deepEqual(r, { kind: 'done', consumed: 11 });
  const h2 = parseRequestHead(buf.subarray(h1.consumed + 11), 0);
  assert.equal(h2.kind === 'complete' && h2.head.path, '/b');
});

// ---- chunked: errors ----

interface ChunkedErrorCase {
  description: string;
  raw: string;
  status: number;
  code?: string;
  limit?: number;
}

const invalidChunked: ChunkedErrorCase[] = [
  { description: 'empty chunk size', raw: '\r\nhello\r\n0\r\n\r\n', status: 400, code: 'ERR_INVALID_CHUNK_SIZE' },
  { description: 'extension without a size', raw: ';x\r\n', status: 400, code: 'ERR_INVALID_CHUNK_SIZE' },
  { description: 'non-hex size', raw: 'g\r\n', status: 400, code: 'ERR_INVALID_CHUNK_SIZE' },
  { description: 'negative size', raw: '-5\r\nhello\r\n', status: 400 },
  { description: '0x prefix', raw: '0x5\r\nhello\r\n', status: 400 },
  { description: 'leading space before the size', raw: ' 5\r\nhello\r\n', status: 400 },
  { description: 'trailing space without an extension', raw: '5 \r\nhello\r\n', status: 400 },
  { description: 'too many significant hex digits (after leading zeros)', raw: '00010000000000000000\r\nhello\r\n', status: 400 },
  { description: 'size beyond 2^53 - 1', raw: 'fffffffffffffff\r\n', status: 400 },
  { description: 'bare LF after the size', raw: '5\nhello\r\n0\r\n\r\n', status: 400, code: 'ERR_INVALID_CHUNK' },
  { description: 'CR without LF after the size', raw: '5\rhello\r\n', status: 400 },
  { description: 'data longer than the size', raw: '5\r\nhelloX\r\n0\r\n\r\n', status: 400, code: 'ERR_INVALID_CHUNK' },
  { description: 'data shorter than the size', raw: '5\r\nhell\r\n0\r\n\r\n', status: 400 },
  { description: 'bare LF after the data', raw: '5\r\nhello\n0\r\n\r\n', status: 400 },
  { description: 'no CRLF at all after the data', raw: '5\r\nhello0\r\n\r\n', status: 400 },
  { description: 'NUL in an extension', raw: '5;a\u0000b\r\nhello\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'bare LF in an extension', raw: '5;a\nb\r\nhello\r\n', status: 400 },
  // RFC 9112 §7.1.1's grammar (helper-160: each of the first three was taken).
  { description: 'an extension with no name', raw: '3;\r\nabc\r\n0\r\n\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'an extension with "=" and no value', raw: '3;a=\r\nabc\r\n0\r\n\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'an unclosed quoted extension value', raw: '3;a="x\r\nabc\r\n0\r\n\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'an extension name that is no token', raw: '3;a@b\r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'an extension value that is no token', raw: '3;a=b@c\r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'two names with only space between them', raw: '3;a b\r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'a second "=" in an extension', raw: '3;a=b=c\r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'a byte after a quoted value', raw: '3;a="b"c\r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'whitespace before the chunk line\'s CR', raw: '3;a=b \r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'a control byte in a quoted extension value', raw: '3;a="b\u0001"\r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'an empty extension between two', raw: '3;a;;b\r\nabc\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'the last chunk\'s malformed extension', raw: '0;=x\r\n\r\n', status: 400, code: 'ERR_INVALID_CHUNK_EXTENSION' },
  { description: 'last chunk followed by a non-token byte', raw: '0\r\n@: x\r\n\r\n', status: 400 },
  { description: 'last chunk followed by bare LF', raw: '0\r\n\n', status: 400 },
  { description: 'final CR followed by something else', raw: '0\r\n\rX', status: 400 },
  { description: 'obs-fold in the trailer', raw: '0\r\nA: b\r\n c\r\n\r\n', status: 400, code: 'ERR_INVALID_TRAILER' },
  { description: 'space before a trailer colon', raw: '0\r\nA : b\r\n\r\n', status: 400, code: 'ERR_INVALID_TRAILER' },
  { description: 'trailer line without a colon', raw: '0\r\nAb\r\n\r\n', status: 400 },
  { description: 'NUL in a trailer value', raw: '0\r\nA: \u0000\r\n\r\n', status: 400 },
  { description: 'bare LF ending a trailer line', raw: '0\r\nA: b\n\r\n', status: 400 },
  { description: 'one chunk over the limit', raw: 'b\r\nhello world\r\n0\r\n\r\n', status: 413, code: 'ERR_BODY_TOO_LARGE', limit: 10 },
  { description: 'chunks summing over the limit', raw: '6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n', status: 413, limit: 10 },
  { description: 'huge chunk size with a small limit', raw: 'ffffffff\r\n', status: 413, limit: 10 },
];

for (const c of invalidChunked) {
  void test(`chunked error: ${c.description} → ${c.status}`, () => {
    const r = readAll(CHUNKED, c.raw, c.limit ?? LIMIT);
    assert.equal(r.kind, 'error', JSON.stringify(r));
    if (r.kind !== 'error') return;
    assert.equal(r.status, c.status);
    if (c.code !== undefined) assert.equal(r.code, c.code);
  });
}

void test('a chunk size too large says so; one that is no hex number says that (helper-46)', () => {
  for (const raw of ['ffffffffffffffffff\r\n', '000000000000000010000000000000000\r\nx\r\n', '20000000000000\r\n']) {
    const r = readAll(CHUNKED, raw, LIMIT);
    assert.ok(r.kind === 'error', raw);
    assert.equal(r.status, 400, raw);
    assert.match(r.message, /^A chunk size is larger than this server can take \(at most 16 hex digits after any leading zeros/, raw);
  }
  const r = readAll(CHUNKED, 'g\r\n', LIMIT);
  assert.ok(r.kind === 'error');
  assert.equal(r.message, 'A chunk size is not a valid hexadecimal number.');
});

void test('chunked errors: the same result whatever the split, and the error sticks', () => {
  for (const c of invalidChunked) {
    const raw = bytes(c.raw);
    for (let cut = 0; cut <= raw.length; cut++) {
      const reader: BodyReader = new BodyReader(CHUNKED, c.limit ?? LIMIT);
      const { result } = feed(reader, [raw.subarray(0, cut), raw.subarray(cut)]);
      assert.equal(result.kind, 'error', `${c.description} cut ${cut}`);
      if (result.kind === 'error') assert.equal(result.status, c.status, `${c.description} cut ${cut}`);
      assert.deepEqual(reader.push(bytes('0\r\n\r\n'), 0), result, 'sticky');
    }
  }
});

void test('chunked: a body of exactly the limit is accepted', () => {
  assert.deepEqual(readAll(CHUNKED, '5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n', 10), { kind: 'done', consumed: 25 });
});

void test('chunked: 413 comes with the chunk size, before its data', () => {
  const reader = new BodyReader(CHUNKED, 10);
  const r = reader.push(bytes('b\r'), 0);
  assert.equal(r.kind === 'error' && r.status, 413);
});

void test('chunked: extensions are bounded over the whole body → 413', () => {
  const ext = ';' + 'e'.repeat(1023);
  let raw = '';
  const chunks = Math.ceil(MAX_CHUNK_EXTENSION_BYTES / ext.length) + 1;
  for (let k = 0; k < chunks; k++) raw += `1${ext}\r\nx\r\n`;
  const r = readAll(CHUNKED, raw + '0\r\n\r\n');
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.deepEqual([r.status, r.code], [413, 'ERR_CHUNK_EXTENSIONS_TOO_LARGE']);
  // Just under the bound is fine.
  const ok = `1;${'e'.repeat(MAX_CHUNK_EXTENSION_BYTES - 1)}\r\nx\r\n0\r\n\r\n`;
  assert.deepEqual(readAll(CHUNKED, ok), { kind: 'done', consumed: ok.length });
});

void test('chunked: leading zeros of chunk sizes share the extensions\' bound over the whole body → 413, so a line of zeros cannot go on for ever', () => {
  const r = readAll(CHUNKED, `${'0'.repeat(MAX_CHUNK_EXTENSION_BYTES + 2)}5\r\nhello\r\n0\r\n\r\n`);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') {
    assert.deepEqual([r.status, r.code], [413, 'ERR_CHUNK_EXTENSIONS_TOO_LARGE']);
    assert.match(r.message, /extensions and the leading zeros of their sizes come to more than 16 KiB/);
  }
  // The first zero is the size's own digit; the bound counts those after it.
  const ok = `${'0'.repeat(MAX_CHUNK_EXTENSION_BYTES + 1)}5\r\nhello\r\n0\r\n\r\n`;
  assert.deepEqual(readAll(CHUNKED, ok), { kind: 'done', consumed: ok.length });
});

void test('chunked: the trailer section is bounded → 431', () => {
  const trailer = `X-Big: ${'v'.repeat(MAX_TRAILER_BYTES)}\r\n`;
  const r = readAll(CHUNKED, `0\r\n${trailer}\r\n`);
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.deepEqual([r.status, r.code], [431, 'ERR_TRAILER_TOO_LARGE']);
});

void test('chunked: a large body split into uneven pieces', () => {
  let raw = '';
  let data = 0;
  for (let size = 1; size < 5000; size = size * 3 + 1) {
    raw += `${size.toString(16)}\r\n${'d'.repeat(size)}\r\n`;
    data += size;
  }
  raw += '0\r\n\r\n';
  const body = bytes(raw);
  const pieces: Buffer[] = [];
  for (let at = 0, step = 1; at < body.length; at += step, step = (step * 7) % 97 + 1) {
    pieces.push(body.subarray(at, at + step));
  }
  const { result, consumed } = feed(new BodyReader(CHUNKED, data), pieces);
  assert.equal(result.kind, 'done');
  assert.equal(consumed, body.length);
});
