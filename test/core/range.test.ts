/**
 * Range requests over TCP (RFC 9110 §14): single ranges, suffixes, clamping, multipart/byteranges,
 * 416, unparsable headers (full 200), If-Range by ETag and by date, HEAD ignoring Range.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, patternBytes, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request, type RawResponse } from './raw-client';

let site: Site;
let srv: Running;

before(async () => {
  site = await makeSite({ bigSize: 1024 * 1024 });
  srv = await startServer({ root: site.root });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});

function get(target: string, headers: string[], head = false): Promise<RawResponse> {
  return fetchOnce(srv.port, request(target, { method: head ? 'HEAD' : 'GET', headers }), { head });
}

const size = 1000;

test('single ranges: a-b, a-, -n, past the end clamped', async () => {
  const cases: Array<[string, number, number]> = [
    ['bytes=0-9', 0, 9],
    ['bytes=10-19', 10, 19],
    ['bytes=990-', 990, 999],
    ['bytes=-5', 995, 999],
    ['bytes=-5000', 0, 999],
    ['bytes=995-5000', 995, 999],
    ['bytes=999-999', 999, 999],
    ['bytes=0-', 0, 999],
    ['BYTES = 3-4', 3, 4],
    ['bytes=5-9, 0-4', 0, 9], // adjacent ranges merge into one
    ['bytes=00000000000000000000001-0000000000000000000000000002', 1, 2], // leading zeros are digits (1*DIGIT)
    ['bytes=-0000000000000000000003', 997, 999],
  ];
  for (const [range, start, end] of cases) {
    const res = await get('/digits.txt', [`Range: ${range}`]);
    assert.equal(res.status, 206, range);
    assert.equal(res.header('content-range'), `bytes ${start}-${end}/${size}`, range);
    assert.equal(res.header('content-length'), String(end - start + 1), range);
    assert.equal(res.body.toString(), site.digits.slice(start, end + 1), range);
  }
});

test('a range of a big (streamed) file is byte-exact', async () => {
  const res = await get('/big.bin', ['Range: bytes=300000-700000']);
  assert.equal(res.status, 206);
  assert.ok(res.body.equals(patternBytes(300000, 400001)));
  const suffix = await get('/big.bin', ['Range: bytes=-100']);
  assert.ok(suffix.body.equals(patternBytes(site.bigSize - 100, 100)));
});

test('multiple ranges → multipart/byteranges with each part’s Content-Range and bytes', async () => {
  const res = await get('/digits.txt', ['Range: bytes=0-2, 10-14, -3']);
  assert.equal(res.status, 206);
  const type = res.header('content-type') ?? '';
  const m = /^multipart\/byteranges; boundary=(.+)$/.exec(type);
  assert.ok(m !== null, type);
  const boundary = m[1] ?? '';
  assert.equal(res.header('content-range'), undefined);
  assert.equal(Number(res.header('content-length')), res.body.length);
  const text = res.body.toString('latin1');
  const parts = text.split(`--${boundary}`);
  // '' or CRLF before the first delimiter, three parts, then '--\r\n'.
  assert.equal(parts.length, 5, text);
  assert.equal(parts[4], '--\r\n');
  const expected: Array<[number, number]> = [
    [0, 2],
    [10, 14],
    [997, 999],
  ];
  for (let i = 0; i < 3; i++) {
    const part = parts[i + 1] ?? '';
    const [start, end] = expected[i] ?? [0, 0];
    const [headText = '', body = ''] = part.split('\r\n\r\n');
    assert.match(headText, /Content-Type: text\/plain; charset=utf-8/);
    assert.match(headText, new RegExp(`Content-Range: bytes ${start}-${end}/${size}`));
    assert.equal(body, site.digits.slice(start, end + 1) + '\r\n');
  }
});

/** The parts of a multipart/byteranges answer, in the order sent: each part's Content-Range and body. */
function multipartParts(res: RawResponse): Array<{ range: string; body: string }> {
  const m = /^multipart\/byteranges; boundary=(.+)$/.exec(res.header('content-type') ?? '');
  assert.ok(m !== null, res.header('content-type'));
  const parts = res.body.toString('latin1').split(`--${m[1] ?? ''}`).slice(1, -1);
  return parts.map((part) => {
    const [headText = '', body = ''] = part.split('\r\n\r\n');
    return { range: /Content-Range: (.*)/.exec(headText)?.[1] ?? '', body: body.replace(/\r\n$/, '') };
  });
}

test('multiple ranges come in the order asked for (RFC 9110 §14.6); merged ones where their first was', async () => {
  const cases: Array<[string, Array<[number, number]>]> = [
    ['bytes=10-12, 0-2', [[10, 12], [0, 2]]],
    ['bytes=5-5,0-0,3-3', [[5, 5], [0, 0], [3, 3]]],
    ['bytes=-3, 0-1', [[997, 999], [0, 1]]],
    // 4–6 and 6–8 overlap: one part, 4–8, where 6–8 (the first of the two) was asked for.
    ['bytes=6-8, 20-21, 4-6, 0-1', [[4, 8], [20, 21], [0, 1]]],
  ];
  for (const [range, expected] of cases) {
    const res = await get('/digits.txt', [`Range: ${range}`]);
    assert.equal(res.status, 206, range);
    assert.deepEqual(
      multipartParts(res),
      expected.map(([start, end]) => ({ range: `bytes ${start}-${end}/${size}`, body: site.digits.slice(start, end + 1) })),
      range,
    );
  }
  // A streamed file (not in the cache) keeps the order too.
  const big = await get('/big.bin', ['Range: bytes=1000-1009, 0-9']);
  assert.deepEqual(
    multipartParts(big).map((p) => p.range),
    [`bytes 1000-1009/${site.bigSize}`, `bytes 0-9/${site.bigSize}`],
  );
});

test('at most 32 ranges after merging (README: more is abuse, answered with the whole file); merged ones count once', async () => {
  // 32 separate one-byte ranges (every other byte): a multipart answer of 32 parts, in order.
  const spaced = (n: number, from = 0): Array<[number, number]> => Array.from({ length: n }, (_, i) => [from + 2 * i, from + 2 * i]);
  const header = (ranges: Array<[number, number]>): string => `Range: bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(',')}`;
  const at32 = await get('/digits.txt', [header(spaced(32))]);
  assert.equal(at32.status, 206);
  assert.deepEqual(
    multipartParts(at32).map((p) => p.range),
    spaced(32).map(([a, b]) => `bytes ${a}-${b}/${size}`),
  );
  // One more separate range: the whole file, 200, no Content-Range; the same for a streamed file.
  for (const target of ['/digits.txt', '/big.bin']) {
    const over = await get(target, [header(spaced(33))]);
    assert.equal(over.status, 200, target);
    assert.equal(over.header('content-range'), undefined, target);
    assert.equal(Number(over.header('content-length')), target === '/digits.txt' ? size : site.bigSize, target);
  }
  // 500 ranges that overlap into two: counted after merging, so a 206 of two parts.
  const overlapping: Array<[number, number]> = [
    ...Array.from({ length: 250 }, (_, i): [number, number] => [i, i + 1]),
    ...Array.from({ length: 250 }, (_, i): [number, number] => [600 + i, 601 + i]),
  ];
  const merged = await get('/digits.txt', [header(overlapping)]);
  assert.equal(merged.status, 206);
  assert.deepEqual(
    multipartParts(merged).map((p) => p.range),
    [`bytes 0-250/${size}`, `bytes 600-850/${size}`],
  );
});

test('unsatisfiable → 416 with Content-Range: bytes */size', async () => {
  for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0', 'bytes=1000-1001, 2000-']) {
    const res = await get('/digits.txt', [`Range: ${range}`]);
    assert.equal(res.status, 416, range);
    assert.equal(res.header('content-range'), `bytes */${size}`, range);
  }
});

test('unparsable or foreign ranges → 200 with the whole file', async () => {
  for (const range of ['bytes=abc', 'bytes=5-2', 'items=0-5', 'bytes', 'bytes=1-2-3', 'bytes=--5', 'bytes=0x1-2', 'bytes=']) {
    const res = await get('/digits.txt', [`Range: ${range}`]);
    assert.equal(res.status, 200, range);
    assert.equal(res.body.toString(), site.digits, range);
  }
});

test('a spec whose last-pos is below its first-pos is invalid at any length: the whole header is ignored (200), never 416 or a 206 of the rest', async () => {
  // RFC 9110 §14.1.1: last-pos < first-pos makes the range-spec invalid, and an invalid one makes
  // the field ignorable; numbers too long for a double were clamped before that check was made.
  for (const range of [
    'bytes=1000000000000000000-5',
    'bytes=0-1,1000000000000000000-5',
    'bytes=1000000000000000000-99999999999999999',
    'bytes=10000000000000000-9999999999999999',
    'bytes=000000000000000000000000000000005-3',
  ]) {
    const res = await get('/digits.txt', [`Range: ${range}`]);
    assert.equal(res.status, 200, range);
    assert.equal(res.body.toString(), site.digits, range);
  }
  // A long first-pos with a longer (or open) last-pos is merely past the end: 416.
  for (const range of ['bytes=1000000000000000000-', 'bytes=1000000000000000000-10000000000000000000']) {
    const res = await get('/digits.txt', [`Range: ${range}`]);
    assert.equal(res.status, 416, range);
    assert.equal(res.header('content-range'), `bytes */${size}`, range);
  }
});

test('If-Range: matching ETag → 206, other ETag → 200, exact Last-Modified → 206, other date → 200, weak → 200', async () => {
  const full = await get('/digits.txt', []);
  const etag = full.header('etag') ?? '';
  const lm = full.header('last-modified') ?? '';
  const other = new Date(Date.parse(lm) - 60_000).toUTCString();
  const cases: Array<[string, number]> = [
    [etag, 206],
    ['"something-else"', 200],
    [`W/${etag}`, 200],
    [lm, 206],
    [other, 200],
    ['garbage', 200],
  ];
  for (const [ifRange, status] of cases) {
    const res = await get('/digits.txt', ['Range: bytes=0-4', `If-Range: ${ifRange}`]);
    assert.equal(res.status, status, ifRange);
    assert.equal(res.body.toString(), status === 206 ? '01234' : site.digits, ifRange);
  }
});

test('HEAD ignores Range: 200 with the full length; the next pipelined response is clean', async () => {
  const head = await get('/digits.txt', ['Range: bytes=0-4'], true);
  assert.equal(head.status, 200);
  assert.equal(head.header('content-length'), String(size));
  const client = await RawClient.connect(srv.port);
  try {
    await client.write(
      request('/digits.txt', { method: 'HEAD', headers: ['Range: bytes=0-4'] }) +
        request('/digits.txt', { headers: ['Range: bytes=0-2, 5-6'] }) +
        request('/digits.txt', { headers: ['Range: bytes=-2'] }),
    );
    const [h, multi, last] = await client.readResponses(3, [true]);
    assert.equal(h?.status, 200);
    assert.equal(multi?.status, 206);
    assert.equal(last?.status, 206);
    assert.equal(last?.body.toString(), '89');
  } finally {
    client.destroy();
  }
});

test('a range of an empty file is ignored (200, empty)', async () => {
  const res = await get('/empty.txt', ['Range: bytes=0-10']);
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 0);
});
