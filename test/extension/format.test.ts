import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeListening, formatBytes, formatDuration, formatRequestLine, sanitizeOneLine, statusClassOf } from '../../src/extension/output/node-format';
import { LineBudget } from '../../src/extension/output/node-line-budget';
import { fileUrl } from '../../src/extension/reload/node-urls';
import { record } from './helpers';
import { toDetails, toRow } from '../../src/extension/requests/node-request-store';
import { toHarEntry } from '../../src/extension/requests/node-har';


void test('bytes, durations and status classes', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1234), '1.2 KB');
  assert.equal(formatBytes(20 * 1024 * 1024), '20 MB');
  assert.equal(formatDuration(0.42), '0.4 ms');
  assert.equal(formatDuration(3.2), '3 ms');
  assert.equal(formatDuration(1250), '1.25 s');
  assert.deepEqual([101, 204, 304, 404, 503, 0].map(statusClassOf), ['1xx', '2xx', '3xx', '4xx', '5xx', 'other']);
});

void test('a request line: time, client, method, path, status, bytes, duration', () => {
  assert.equal(formatRequestLine(record()), '14:03:07.123 127.0.0.1 GET /index.html 200 1.2 KB 3 ms');
  assert.equal(
    formatRequestLine(record({ clientHost: 'localhost', status: 404, aborted: true, note: 'no such file' }), 'site'),
    '14:03:07.123 [site] 127.0.0.1 (localhost) GET /index.html 404 1.2 KB 3 ms (aborted) - no such file',
  );
});

void test('hostile request data stays on one line', () => {
  const line = formatRequestLine(record({ target: '/a\r\nFAKE 200 line\u2028x' }));
  assert.ok(!/[\r\n\u2028]/.test(line));
  assert.match(line, /\/a\\x0d\\x0aFAKE/);
  assert.equal(sanitizeOneLine('x'.repeat(5000)).length, 2003);
});

void test('the busy-port note', () => {
  assert.equal(describeListening('site', { host: '127.0.0.1', port: 8000, url: 'http://127.0.0.1:8000/', requestedPort: undefined }), 'Serving site at http://127.0.0.1:8000/');
  assert.match(describeListening('site', { host: '127.0.0.1', port: 8001, url: 'http://127.0.0.1:8001/', requestedPort: 8000 }), /port 8000 was busy, so port 8001 is used for this session/);
});

void test('the Output line budget: at most N lines a window, the rest summarised', () => {
  const budget = new LineBudget(200, 1000);
  assert.deepEqual(budget.take(150, 0), { write: 150, skip: 0 });
  assert.deepEqual(budget.take(100, 100), { write: 50, skip: 50 });
  assert.deepEqual(budget.take(100, 900), { write: 0, skip: 100 });
  assert.deepEqual(budget.take(100, 1000), { write: 100, skip: 0 });
});

void test('file URLs: encoded segments, only inside the root', () => {
  assert.equal(fileUrl('http://127.0.0.1:8000/', '/site', '/site/a b/ü#.html'), 'http://127.0.0.1:8000/a%20b/%C3%BC%23.html');
  assert.equal(fileUrl('http://127.0.0.1:8000/', '/site', '/site'), 'http://127.0.0.1:8000/');
  assert.equal(fileUrl('http://127.0.0.1:8000/', '/site', '/site2/x.html'), undefined);
  assert.equal(fileUrl('http://127.0.0.1:8000/', '/site', '/etc/passwd'), undefined);
  // A name that merely starts with two dots is inside the root.
  assert.equal(fileUrl('http://127.0.0.1:8000/', '/site', '/site/..notes.html'), 'http://127.0.0.1:8000/..notes.html');
});

void test('a proxied request line shows the back-end’s status and time apart from Porthole’s', () => {
  assert.equal(
    formatRequestLine(record({ status: 502, upstream: { target: 'http://127.0.0.1:3000', status: 0, ms: 2 } })),
    '14:03:07.123 127.0.0.1 GET /index.html 502 1.2 KB 3 ms (back-end - in 2 ms)',
  );
  assert.equal(
    formatRequestLine(record({ upstream: { target: 'http://127.0.0.1:3000', status: 201, ms: 1250 } })),
    '14:03:07.123 127.0.0.1 GET /index.html 200 1.2 KB 3 ms (back-end 201 in 1.25 s)',
  );
});

void test('an SPA fallback answer says so in the Output line, the Requests view row and details, and the HAR entry', () => {
  // Before: `GET /users/42 200` read as a file at /users/42; the fallback's note could be replaced
  // by a later stage's (here compression's).
  const r = record({ target: '/users/42', spaFallback: '/index.html', note: 'compressed with br: 2 KB → 1 KB, kept for the next requests' });
  assert.equal(
    formatRequestLine(r),
    '14:03:07.123 127.0.0.1 GET /users/42 200 1.2 KB 3 ms (SPA fallback /index.html) - compressed with br: 2 KB → 1 KB, kept for the next requests',
  );
  const item = { key: 1, server: 'site', record: r };
  assert.match(toRow(item).note ?? '', /^SPA fallback \/index\.html; compressed/);
  assert.deepEqual(
    toDetails(item).timing.find(([label]) => label === 'SPA fallback'),
    ['SPA fallback', '/index.html, sent in place of the missing path asked for'],
  );
  const entry = toHarEntry({ server: 'site', record: r }) as unknown as Record<string, unknown>;
  assert.equal(entry._spaFallback, '/index.html');
  assert.doesNotMatch(formatRequestLine(record()), /SPA fallback/);
});
