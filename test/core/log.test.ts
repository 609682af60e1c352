/**
 * The request log over TCP: after `close()`, the file has exactly one Combined Log Format line
 * (plus duration and host name) per request — parse errors, timeouts and aborted transfers
 * included — and a burst of 10,000 pipelined keep-alive requests loses none. `request` events
 * fire once per request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RequestRecord } from '../../src/core';
import { RequestLog, formatCombinedLine, formatSeconds, writeCombinedLine } from '../../src/core/log/request-log';
import { makeSite, type Site } from '../fixtures/make-site';
import { requestRecord } from '../fixtures/request-record';
import { startServer } from './harness';
import { RawClient, fetchOnce, request, withTimeout } from './raw-client';

/**
 * ip - - [dd/Mon/yyyy:hh:mm:ss ±hhmm] "request" status bytes "referer" "agent" seconds host
 * Logged strings escape `"`, `\` and non-printables as \xHH, so a quoted field has no raw `"`.
 */
const QUOTED = String.raw`"((?:[^"\\]|\\x[0-9A-F]{2})*)"`;
const LINE = new RegExp(
  String.raw`^(\S+) - - \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] ` +
    `${QUOTED} (\\d{3}) (\\d+) ${QUOTED} ${QUOTED} (\\d+\\.\\d{3}) (\\S+)$`,
);

interface Parsed {
  readonly ip: string;
  readonly request: string;
  readonly status: number;
  readonly bytes: number;
  readonly referer: string;
  readonly agent: string;
  readonly host: string;
}

function parseLine(line: string): Parsed {
  const m = LINE.exec(line);
  assert.ok(m !== null, `not a combined log line: ${JSON.stringify(line)}`);
  return {
    ip: m[1] ?? '',
    request: m[3] ?? '',
    status: Number(m[4]),
    bytes: Number(m[5]),
    referer: m[6] ?? '',
    agent: m[7] ?? '',
    host: m[9] ?? '',
  };
}

async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a newline');
  return text.slice(0, -1).split('\n');
}

let site: Site;

before(async () => {
  site = await makeSite();
  await mkdir(join(site.base, 'logs')); // the logs' folder must exist, as for nginx
});

after(async () => {
  await site.cleanup();
});

function waitForCount(records: RequestRecord[], server: { on(e: 'request', f: () => void): unknown; off(e: 'request', f: () => void): unknown }, count: number, timeoutMs = 10_000): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      if (records.length >= count) return resolve();
      const on = (): void => {
        if (records.length >= count) {
          server.off('request', on);
          resolve();
        }
      };
      server.on('request', on);
    }),
    timeoutMs,
    `${count} request events`,
  );
}

test('one line per request, every kind included, all in Combined Log Format', async () => {
  const logFile = join(site.base, 'logs', 'mixed.log');
  const srv = await startServer({ root: site.root, logFile, resolveHostNames: true, timeouts: { headersMs: 300 } });
  let expected = 0;
  try {
    // 200, 404, 206, HEAD, 405 with a referer and a hostile user agent.
    const client = await RawClient.connect(srv.port);
    await client.write(
      request('/hello.txt', { headers: ['Referer: http://127.0.0.1/', 'User-Agent: test "agent" \\ 1'] }) +
        request('/nope.txt') +
        request('/digits.txt', { headers: ['Range: bytes=0-9'] }) +
        request('/digits.txt', { method: 'HEAD' }) +
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc',
    );
    await client.readResponses(5, [false, false, false, true, false]);
    client.destroy();
    expected += 5;
    // A parser 400.
    assert.equal((await fetchOnce(srv.port, 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n')).status, 400);
    expected += 1;
    // A 408.
    const slow = await RawClient.connect(srv.port);
    await slow.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    assert.equal((await slow.readResponse()).status, 408);
    slow.destroy();
    expected += 1;
    // An aborted transfer.
    const partial = await RawClient.connect(srv.port);
    partial.noTranscript();
    await partial.write(request(`/${site.bigName}`));
    await partial.readResponse({ head: true });
    await partial.waitForBytes(128 * 1024);
    partial.destroy();
    expected += 1;
    await waitForCount(srv.records, srv.server, expected);
  } finally {
    await srv.close();
  }
  assert.equal(srv.records.length, expected, 'one request event per request');
  const lines = await readLines(logFile);
  assert.equal(lines.length, expected);
  const parsed = lines.map(parseLine);
  for (const p of parsed) {
    assert.equal(p.ip, '127.0.0.1');
    assert.equal(p.host, 'localhost');
  }
  const byRequest = (prefix: string): Parsed => {
    const found = parsed.find((p) => p.request.startsWith(prefix));
    assert.ok(found !== undefined, `no line for ${prefix}:\n${lines.join('\n')}`);
    return found;
  };
  const hello = byRequest('GET /hello.txt HTTP/1.1');
  assert.equal(hello.status, 200);
  assert.equal(hello.bytes, Buffer.byteLength(site.hello));
  assert.equal(hello.referer, 'http://127.0.0.1/');
  assert.equal(hello.agent, 'test \\x22agent\\x22 \\x5C 1');
  assert.equal(byRequest('GET /nope.txt').status, 404);
  const range = byRequest('GET /digits.txt');
  assert.equal(range.status, 206);
  assert.equal(range.bytes, 10);
  const head = byRequest('HEAD /digits.txt');
  assert.equal(head.status, 200);
  assert.equal(head.bytes, 0);
  assert.equal(byRequest('POST /').status, 405);
  assert.equal(parsed.filter((p) => p.status === 400).length, 1);
  const timeout = parsed.find((p) => p.status === 408);
  assert.ok(timeout !== undefined);
  assert.equal(timeout.request, 'GET /slow HTTP/1.1');
  const aborted = byRequest(`GET /${site.bigName}`);
  assert.ok(aborted.bytes < site.bigSize, `aborted transfer logged ${aborted.bytes} bytes`);
  const abortedRecord = srv.records.find((r) => r.target === `/${site.bigName}`);
  assert.equal(abortedRecord?.aborted, true);
});

test('a burst of 10,000 pipelined keep-alive requests → exactly 10,000 lines after close()', async () => {
  const logFile = join(site.base, 'logs', 'burst.log');
  const srv = await startServer({ root: site.root, logFile, resolveHostNames: true });
  const SOCKETS = 8;
  const PER_SOCKET = 1_250;
  const BATCH = 125;
  try {
    await Promise.all(
      Array.from({ length: SOCKETS }, async (_, s) => {
        const client = await RawClient.connect(srv.port);
        client.noTranscript();
        try {
          for (let sent = 0; sent < PER_SOCKET; sent += BATCH) {
            let batch = '';
            for (let i = 0; i < BATCH; i++) batch += request(`/hello.txt?s=${s}&i=${sent + i}`);
            await client.write(batch);
            const responses = await client.readResponses(BATCH, [], 10_000);
            for (const r of responses) assert.equal(r.status, 200);
          }
        } finally {
          client.destroy();
        }
      }),
    );
  } finally {
    await srv.close();
  }
  const total = SOCKETS * PER_SOCKET;
  assert.equal(srv.records.length, total);
  const lines = await readLines(logFile);
  assert.equal(lines.length, total);
  const seen = new Set<string>();
  for (const line of lines) {
    const p = parseLine(line);
    assert.equal(p.status, 200);
    seen.add(p.request);
  }
  assert.equal(seen.size, total, 'every request logged exactly once');
});

test('a running server writes its lines to the file without waiting for close() (buffered at most FILE_FLUSH_MS)', async () => {
  const logFile = join(site.base, 'logs', 'running.log');
  const srv = await startServer({ root: site.root, logFile });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await fetchOnce(srv.port, request(`/hello.txt?running=${i}`))).status, 200);
    // Polled, not timed: the lines must arrive while the server runs (within the generous deadline).
    const deadline = Date.now() + 10_000;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      lines = text.split('\n').filter((l) => l.includes('running='));
      if (lines.length === 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(
      lines.map((l) => parseLine(l).request),
      [0, 1, 2].map((i) => `GET /hello.txt?running=${i} HTTP/1.1`),
    );
  } finally {
    await srv.close();
  }
});

test('long lines and bytes above 0x7F: every line whole, escaped to ASCII and in order, across the file buffer (FILE_FLUSH_BYTES)', async () => {
  const logFile = join(site.base, 'logs', 'long.log');
  const srv = await startServer({ root: site.root, logFile });
  // 24 requests with 6,000-character targets: about 144 KB of lines, more than two file buffers,
  // so lines that no longer fit start the next one. Each user agent holds UTF-8 bytes (read as
  // latin1: obs-text, RFC 9110 §5.5), which the line must carry as \xHH, never as raw bytes.
  const COUNT = 24;
  const target = (i: number): string => `/missing-${String(i).padStart(2, '0')}-${'x'.repeat(6_000)}`;
  const agent = Buffer.from('Mözilla/5.0 ✓', 'utf8').toString('latin1');
  try {
    const client = await RawClient.connect(srv.port);
    for (let i = 0; i < COUNT; i++) {
      await client.write(request(target(i), { headers: [`User-Agent: ${agent} #${i}`] }));
      assert.equal((await client.readResponse()).status, 404);
    }
    client.destroy();
    await waitForCount(srv.records, srv.server, COUNT);
  } finally {
    await srv.close();
  }
  const raw = await readFile(logFile);
  assert.ok(raw.every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f)), 'the file is printable ASCII and LFs only');
  const lines = await readLines(logFile);
  assert.equal(lines.length, COUNT);
  lines.forEach((line, i) => {
    const p = parseLine(line);
    assert.equal(p.request, `GET ${target(i)} HTTP/1.1`);
    assert.equal(p.agent, `M\\xC3\\xB6zilla/5.0 \\xE2\\x9C\\x93 #${i}`);
  });
});

test('a refused head after empty lines (RFC 9112 §2.2) is logged with its own request line, not "-"', async () => {
  const logFile = join(site.base, 'logs', 'empty-lines.log');
  const srv = await startServer({ root: site.root, logFile, timeouts: { headersMs: 300 } });
  try {
    // Two parser 400s (a tab in the target; a request line of four parts) after empty lines.
    assert.equal((await fetchOnce(srv.port, '\r\n\r\nGET /a\tb HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).status, 400);
    assert.equal((await fetchOnce(srv.port, '\r\nGET /c d/e HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')).status, 400);
    // A 408 for a head that never completed, after an empty line.
    const slow = await RawClient.connect(srv.port);
    await slow.write('\r\nGET /slow-after-empty HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    assert.equal((await slow.readResponse()).status, 408);
    slow.destroy();
    await waitForCount(srv.records, srv.server, 3);
  } finally {
    await srv.close();
  }
  const requests = (await readLines(logFile)).map((l) => parseLine(l).request);
  assert.deepEqual(requests, ['GET /a\\x09b HTTP/1.1', 'GET /c d/e HTTP/1.1', 'GET /slow-after-empty HTTP/1.1']);
});

test('a head refused for a field or a target byte keeps its whole request line (a 600-byte URL, its version), as nginx logs $request', async () => {
  const logFile = join(site.base, 'logs', 'long-refused.log');
  const srv = await startServer({ root: site.root, logFile });
  const long = `/search?q=${'q'.repeat(600)}`;
  const big = `/${'b'.repeat(8000)}`;
  try {
    // A field line with no colon; a raw byte above 0x7F in the target; a control byte in a field of an 8 KB target.
    assert.equal((await fetchOnce(srv.port, `GET ${long} HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n`)).status, 400);
    assert.equal((await fetchOnce(srv.port, Buffer.from(`GET ${long}\xff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 'latin1'))).status, 400);
    assert.equal((await fetchOnce(srv.port, `GET ${big} HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\x01b\r\n\r\n`)).status, 400);
    // Whole lines of other shapes: no version (HTTP/0.9's form), a space inside the target.
    assert.equal((await fetchOnce(srv.port, `GET ${long}\r\nHost: 127.0.0.1\r\n\r\n`)).status, 400);
    assert.equal((await fetchOnce(srv.port, `GET ${long} x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).status, 400);
    // Beyond the parser's limit, a 414: its method and the start of its target, as before.
    assert.equal((await fetchOnce(srv.port, `GET /${'c'.repeat(9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).status, 414);
    await waitForCount(srv.records, srv.server, 6);
  } finally {
    await srv.close();
  }
  const requests = (await readLines(logFile)).map((l) => parseLine(l).request);
  assert.deepEqual(requests.slice(0, 5), [
    `GET ${long} HTTP/1.1`,
    `GET ${long}\\xFF HTTP/1.1`,
    `GET ${big} HTTP/1.1`,
    `GET ${long}`,
    `GET ${long} x HTTP/1.1`,
  ]);
  assert.equal(requests[5], `GET /${'c'.repeat(199)}... (8810 more bytes)`);
});

test('a request line that could not be parsed is logged as sent (nginx $request), never with "-" fields the client did not send', async () => {
  const logFile = join(site.base, 'logs', 'unparsed-lines.log');
  const srv = await startServer({ root: site.root, logFile });
  const lines = ['garbage', 'GET /a b HTTP/1.1', 'GET /no-version', '- /dash-method', 'GET  /two-spaces HTTP/1.1'];
  try {
    for (const line of lines) {
      assert.equal((await fetchOnce(srv.port, `${line}\r\nHost: 127.0.0.1\r\n\r\n`)).status, 400, line);
    }
    await waitForCount(srv.records, srv.server, lines.length);
  } finally {
    await srv.close();
  }
  const logged = (await readLines(logFile)).map((l) => parseLine(l).request);
  assert.deepEqual(logged, lines);
  // The records keep their parts for the views: the method when the line starts with one.
  assert.deepEqual(
    srv.records.map((r) => [r.method, r.protocol]),
    [['-', '-'], ['-', '-'], ['GET', '-'], ['-', '-'], ['-', '-']],
  );
});

test('requests the server cuts when it stops (close grace over) are logged as ended by the server, not by their clients', async () => {
  const srv = await startServer({ root: site.root, timeouts: { closeGraceMs: 200 } });
  const head = await RawClient.connect(srv.port);
  try {
    await head.write('GET /head-still-arriving HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    await srv.close();
    head.destroy();
  }
  const notes = srv.records.map((r) => [r.target, r.aborted, r.note]);
  assert.deepEqual(notes, [['/head-still-arriving', true, 'the server stopped while the request head was arriving']]);
});

test('a request refused after its head was read (413, a broken chunked body, 408 for its body) is logged with its Referer and User-Agent', async () => {
  const logFile = join(site.base, 'logs', 'refused-after-head.log');
  const srv = await startServer({ root: site.root, logFile, timeouts: { headersMs: 300 } });
  try {
    const tooLarge = await fetchOnce(srv.port, request('/hello.txt', { headers: ['Content-Length: 5000000', 'Referer: http://r/413', 'User-Agent: ua-413'] }));
    assert.equal(tooLarge.status, 413);
    const broken = await fetchOnce(
      srv.port,
      request('/hello.txt', { headers: ['Transfer-Encoding: chunked', 'Referer: http://r/chunk', 'User-Agent: ua-chunk'] }) + 'zz\r\n',
    );
    assert.equal(broken.status, 400);
    const slow = await RawClient.connect(srv.port);
    await slow.write(request('/hello.txt', { headers: ['Content-Length: 10', 'Referer: http://r/408', 'User-Agent: ua-408'] }) + 'ab');
    assert.equal((await slow.readResponse()).status, 408);
    slow.destroy();
    await waitForCount(srv.records, srv.server, 3);
  } finally {
    await srv.close();
  }
  const parsed = (await readLines(logFile)).map(parseLine);
  assert.deepEqual(
    parsed.map((p) => [p.status, p.request, p.referer, p.agent]),
    [
      [413, 'GET /hello.txt HTTP/1.1', 'http://r/413', 'ua-413'],
      [400, 'GET /hello.txt HTTP/1.1', 'http://r/chunk', 'ua-chunk'],
      [408, 'GET /hello.txt HTTP/1.1', 'http://r/408', 'ua-408'],
    ],
  );
  for (const r of srv.records) assert.ok(r.userAgent?.startsWith('ua-'), `the record's userAgent: ${r.userAgent}`);
});

test('a head the parser refuses (400, 431, 501, 505, 408 mid-head) is logged with the Referer and User-Agent lines it had, as nginx logs them', async () => {
  const logFile = join(site.base, 'logs', 'refused-head.log');
  const srv = await startServer({ root: site.root, logFile, timeouts: { headersMs: 300 } });
  const fields = (n: string): string[] => [`User-Agent: ua-${n}`, `Referer: http://r/${n}`];
  try {
    const cases: Array<[string, string, number]> = [
      ['505', request('/hello.txt', { version: '2.0', headers: fields('505') }), 505],
      ['501', request('/hello.txt', { headers: [...fields('501'), 'Transfer-Encoding: gzip'] }), 501],
      ['400', request('/hello.txt', { headers: [...fields('400'), 'Bad Name: x'] }), 400],
      ['431', request('/hello.txt', { headers: [...fields('431'), ...Array.from({ length: 120 }, (_, i) => `X-${i}: y`)] }), 431],
    ];
    for (const [name, raw, status] of cases) assert.equal((await fetchOnce(srv.port, raw)).status, status, name);
    const slow = await RawClient.connect(srv.port);
    // The head's end never comes: 408 at the head deadline, the lines before it read.
    await slow.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ua-408\r\nReferer: http://r/408\r\nX-Half: ');
    assert.equal((await slow.readResponse()).status, 408);
    slow.destroy();
    // A line broken by a lone LF or a lone CR is the fault either way (helper-157: the first was
    // logged as its value up to the LF, the second as none): neither is taken, the lines before are.
    for (const broken of ['User-Agent: ua-lf\nX-After: c', 'User-Agent: ua-cr\rb']) {
      const raw = `GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nReferer: http://r/broken\r\n${broken}\r\n\r\n`;
      assert.equal((await fetchOnce(srv.port, raw)).status, 400, JSON.stringify(broken));
    }
    // helper-159: a lone LF before the request line is the fault too. helper-163: a value refused
    // for a control byte is still a whole line: taken (escaped in the log), and the lines after it.
    for (const raw of [
      '\n\nGET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nReferer: http://r/lf-first\r\nUser-Agent: ua-lf-first\r\n\r\n',
      'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nReferer: http://r/broken\r\nUser-Agent: ua\u0001ctl\r\n\r\n',
      'GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bad\u001b[31mUA\r\nReferer: http://r/after\r\n\r\n',
    ]) {
      assert.equal((await fetchOnce(srv.port, raw)).status, 400, JSON.stringify(raw));
    }
    await waitForCount(srv.records, srv.server, 10);
  } finally {
    await srv.close();
  }
  const parsed = (await readLines(logFile)).map(parseLine);
  assert.deepEqual(
    parsed.map((p) => [p.status, p.referer, p.agent]),
    [
      ...['505', '501', '400', '431', '408'].map((n) => [Number(n), `http://r/${n}`, `ua-${n}`]),
      [400, 'http://r/broken', '-'],
      [400, 'http://r/broken', '-'],
      [400, '-', '-'],
      [400, 'http://r/broken', 'ua\\x01ctl'],
      [400, 'http://r/after', 'bad\\x1B[31mUA'],
    ],
  );
});

test('formatSeconds: milliseconds as $request_time (seconds, three decimals)', () => {
  const cases: Array<[number, string]> = [
    [0, '0.000'],
    [7, '0.007'],
    [42, '0.042'],
    [999, '0.999'],
    [1000, '1.000'],
    [1234, '1.234'],
    [86_400_005, '86400.005'],
    [-3, '-0.003'],
    [1.5, '0.002'],
  ];
  for (const [ms, text] of cases) assert.equal(formatSeconds(ms), text, `${ms} ms`);
});

test('writeCombinedLine: the same bytes as formatCombinedLine and an LF, or -1 (the caller writes formatCombinedLine\'s line instead) when the line needs escapes, a back-end part or more room', () => {
  const base = requestRecord({
    time: Date.UTC(2026, 10, 30, 20, 4, 5),
    clientIp: '127.0.0.1',
    clientPort: 50_000,
    clientHost: 'localhost',
    target: '/1k.html',
    bytes: 1024,
    durationMs: 0,
    responseStartMs: 0,
    upstream: undefined,
  });
  const written: Array<Partial<RequestRecord>> = [
    {},
    { status: 0, bytes: 0, durationMs: 7 },
    { status: 499, bytes: 9, durationMs: 1234, aborted: true },
    { bytes: 10 },
    { bytes: 99 },
    { bytes: 100 },
    { bytes: 104_857_600 },
    { bytes: Number.MAX_SAFE_INTEGER },
    { bytes: 2 ** 53 - 10 },
    { method: '-', target: '-' },
    { protocol: 'HTTP/1.0', target: '/a%20b?q=1&x=%22' },
    { referer: 'http://127.0.0.1:8000/', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131' },
    { clientHost: undefined },
    { clientHost: '' },
    { clientHost: 'host.example' },
    { clientIp: '::1' },
    { durationMs: 86_400_005 },
    { durationMs: 1.5 },
    { durationMs: -3 },
    // The line's start is kept per address and second: a new second, then the earlier one again.
    { time: Date.UTC(2026, 10, 30, 20, 4, 6) },
    { clientIp: '::1', time: Date.UTC(2026, 10, 30, 20, 4, 6, 999) },
    {},
  ];
  const notWritten: Array<Partial<RequestRecord>> = [
    { target: '/"quoted"' },
    { target: '/back\\slash' },
    { target: '/caf\u00e9' },
    { target: '/tab\there' },
    { method: 'G\u0000T' },
    { referer: 'x\u007f' },
    { userAgent: 'agent "x"' },
    { clientHost: 'has space.example' },
    { clientHost: 'bell\u0007.example' },
    { upstream: { status: 502, ms: 3, target: 'http://127.0.0.1:3000' } },
    { status: 200.5 },
    { bytes: -1 },
    { bytes: 2 ** 53 },
  ];
  const bytes = Buffer.alloc(4096, 0x7e);
  for (const change of written) {
    const r = { ...base, ...change };
    bytes.fill(0x7e);
    const end = writeCombinedLine(bytes, 10, r);
    assert.equal(bytes.toString('latin1', 10, end), `${formatCombinedLine(r)}\n`, JSON.stringify(change));
    assert.equal(bytes[9], 0x7e, 'nothing before `at` is touched');
    assert.equal(bytes[end], 0x7e, 'nothing after the LF is touched');
  }
  // Refused: -1, and the caller writes formatCombinedLine at `at` instead (fields are checked as they
  // are copied, so part of a line may lie from `at` on; nothing before it is touched).
  for (const change of notWritten) {
    bytes.fill(0x7e);
    assert.equal(writeCombinedLine(bytes, 10, { ...base, ...change }), -1, JSON.stringify(change));
    assert.ok(bytes.subarray(0, 10).every((b) => b === 0x7e), `nothing before \`at\` written for ${JSON.stringify(change)}`);
  }
  // The room asked for is exact at its largest: two 16-digit counts fill a buffer of the line's size,
  // and one byte less is refused (not a line cut short).
  const widest = { ...base, status: Number.MAX_SAFE_INTEGER, bytes: Number.MAX_SAFE_INTEGER };
  const widestLine = `${formatCombinedLine(widest)}\n`;
  const exact = Buffer.alloc(widestLine.length + 3, 0x7e);
  assert.equal(writeCombinedLine(exact, 3, widest), exact.length);
  assert.equal(exact.toString('latin1', 3), widestLine);
  const short = Buffer.alloc(widestLine.length + 2, 0x7e);
  assert.equal(writeCombinedLine(short, 3, widest), -1, 'one byte short: not started');
  assert.ok(short.every((b) => b === 0x7e));
  // A line that does not fit in what is left of the buffer is not started.
  const line = `${formatCombinedLine(base)}\n`;
  const small = Buffer.alloc(line.length + 5, 0x7e);
  assert.equal(writeCombinedLine(small, 5, base), -1);
  assert.ok(small.every((b) => b === 0x7e));
});

test('a line waits only for the lines before it: at once when none waits, in order behind a host-name lookup', async () => {
  const log = new RequestLog(true);
  const seen: string[] = [];
  log.addLineSink((r) => seen.push(r.target));
  try {
    // Loopback's name is known without asking: with nothing queued its line goes out now, in the
    // same turn (no setImmediate per request on the hot path).
    log.add(requestRecord({ clientIp: '127.0.0.1', target: '/first' }));
    assert.deepEqual(seen, ['/first']);
    // 192.0.2.1 (TEST-NET-1) needs a reverse lookup: the loopback line after it waits behind it.
    log.add(requestRecord({ clientIp: '192.0.2.1', target: '/looked-up' }));
    log.add(requestRecord({ clientIp: '127.0.0.1', target: '/behind' }));
    assert.deepEqual(seen, ['/first']);
  } finally {
    await log.close();
  }
  assert.deepEqual(seen, ['/first', '/looked-up', '/behind']);
});
