/**
 * The Requests view's store is bounded in memory, not only in entries: records a real
 * PreviewServer produced over loopback sockets for requests with heads near the 16 KiB limit (what
 * any device may send to a shared server) are kept within REQUEST_STORE_MAX_BYTES, oldest dropped
 * first; ordinary requests still fill the whole entry cap.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestRecord } from '../../src/core';
import { MAX_HEAD_BYTES, MAX_TARGET_BYTES } from '../../src/core/http/limits';
import { REQUEST_STORE_MAX_BYTES, RequestStore, entrySize, toRow } from '../../src/extension/requests/node-request-store';
import { formatRequestLine } from '../../src/extension/output/node-format';
import { MAX_MAX_ENTRIES, DEFAULT_MAX_ENTRIES } from '../../src/extension/config/node-config';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from '../core/harness';
import { fetchOnce, request, withTimeout } from '../core/raw-client';

let site: Site;
let srv: Running;

before(async () => {
  site = await makeSite();
  srv = await startServer({ root: site.root });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});

/** The server's records for `count` requests made with `headers`, once all are logged. */
async function recordsFor(count: number, tag: string, headers: readonly string[]): Promise<RequestRecord[]> {
  for (let i = 0; i < count; i++) {
    const response = await fetchOnce(srv.port, request(`/hello.txt?${tag}=${i}`, { host: `127.0.0.1:${srv.port}`, headers }));
    assert.equal(response.status, 200);
  }
  const mine = (): RequestRecord[] => srv.records.filter((r) => r.target.startsWith(`/hello.txt?${tag}=`));
  await withTimeout(
    (async () => {
      while (mine().length < count) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    `${count} records for ${tag}`,
  );
  return mine();
}

void test('requests with 15 KB heads from a network client are kept within the byte budget, newest first', async () => {
  // 90 fields of 150 bytes: a head just under MAX_HEAD_BYTES, which the server accepts and logs.
  const headers = Array.from({ length: 90 }, (_, i) => `X-Fill-${String(i).padStart(2, '0')}: ${'v'.repeat(138)}`);
  assert.ok(headers.join('\r\n').length < MAX_HEAD_BYTES - 200);
  const records = await recordsFor(20, 'big', headers);
  assert.ok(records.every((r) => r.requestHeaders.length >= 90));
  const store = new RequestStore(MAX_MAX_ENTRIES);
  const offered = 6_000;
  for (let i = 0; i < offered / records.length; i++) store.add('site', records);
  assert.ok(store.size < offered, `kept ${store.size} of ${offered} requests of ~15 KB each (nothing dropped)`);
  assert.ok(store.bytes <= REQUEST_STORE_MAX_BYTES, `${store.bytes} bytes kept`);
  assert.equal(store.size + store.dropped, offered);
  assert.equal(store.all().at(-1)?.key, offered, 'the newest request is kept');
  assert.ok(store.bytes >= REQUEST_STORE_MAX_BYTES - entrySize(store.all()[0]!), 'the budget is used, not undershot');
});

void test('ordinary requests still fill the default entry cap', async () => {
  const browserLike = [
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
    'Accept-Language: en-US,en;q=0.9',
    'Accept-Encoding: gzip, deflate, br',
    `Referer: http://127.0.0.1:${srv.port}/`,
    'Cookie: session=0123456789abcdef0123456789abcdef; theme=dark',
  ];
  const records = await recordsFor(10, 'browser', browserLike);
  const store = new RequestStore(DEFAULT_MAX_ENTRIES);
  for (let i = 0; i < (DEFAULT_MAX_ENTRIES * 2) / records.length; i++) store.add('site', records);
  assert.equal(store.size, DEFAULT_MAX_ENTRIES);
  assert.equal(store.dropped, DEFAULT_MAX_ENTRIES);
  assert.ok(store.bytes <= REQUEST_STORE_MAX_BYTES);
});

void test('a smaller budget drops the oldest, keeps the newest even when it alone is over, and clear() resets it', async () => {
  const [one] = await recordsFor(1, 'small', ['X-Small: 1']);
  assert.ok(one);
  const size = entrySize({ key: 0, server: 'site', record: one });
  const store = new RequestStore(1_000, size * 3);
  store.add('site', [one, one, one, one, one]);
  assert.equal(store.size, 3);
  assert.equal(store.dropped, 2);
  assert.deepEqual(store.all().map((s) => s.key), [3, 4, 5]);
  assert.equal(store.get(4)?.record, one);
  const tiny = new RequestStore(1_000, 1);
  tiny.add('site', [one, one]);
  assert.equal(tiny.size, 1);
  assert.equal(tiny.all()[0]?.key, 2);
  store.clear();
  assert.equal(store.bytes, 0);
  store.add('site', [one]);
  assert.equal(store.bytes, size);
});

void test('a dropped request is gone: get(), details and Copy as curl cannot reach it before the store compacts', async () => {
  const records = await recordsFor(12, 'dropped', ['X-Small: 1']);
  const store = new RequestStore(100);
  for (let i = 0; i < 10; i++) store.add('site', records);
  // 120 added, 100 kept: keys 21..120; 1..20 are dropped (their slots not yet compacted away).
  assert.equal(store.dropped, 20);
  assert.equal(store.all()[0]?.key, 21);
  for (const key of [1, 5, 20]) assert.equal(store.get(key), undefined, `dropped key ${key} still answered`);
  assert.equal(store.get(21)?.key, 21);
  assert.equal(store.get(120)?.key, 120);
  assert.equal(store.get(121), undefined);
  // What the view's append carries so that it drops the same rows (media/requests.js trim()).
  assert.equal(store.oldestKey, 21);
  store.clear();
  assert.equal(store.oldestKey, 121, 'nothing kept: the next key');
});

void test('the view\'s rows stay bounded when every kept request has an 8 KiB target of control or bidi characters', async () => {
  // A network client's request line near MAX_TARGET_BYTES, every byte one that escapeForDisplay
  // writes as 4 to 6 characters (`\x01`, `\u202e`): the parser refuses it (400) but logs it whole.
  const rawTargets = ['/' + '\u0001'.repeat(MAX_TARGET_BYTES - 64), '/' + '\u00e2\u0080\u00ae'.repeat(Math.floor((MAX_TARGET_BYTES - 64) / 3))];
  const records: RequestRecord[] = [];
  for (const raw of rawTargets) {
    const response = await fetchOnce(srv.port, `GET ${raw} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`);
    assert.notEqual(response.status, 0);
    await withTimeout(
      (async () => {
        while (!srv.records.some((r) => r.target === raw)) await new Promise((r) => setTimeout(r, 10));
      })(),
      10_000,
      'the record of the long target',
    );
    records.push(srv.records.find((r) => r.target === raw)!);
  }
  const store = new RequestStore(MAX_MAX_ENTRIES);
  for (let i = 0; i < 10_000 && store.dropped === 0; i++) store.add('site', records);
  assert.ok(store.dropped > 0, 'the byte budget was reached');
  for (const record of records) {
    const row = toRow({ key: 1, server: 'site', record });
    assert.ok(row.target.length <= 2_100, `a row's target is ${row.target.length} characters`);
    assert.match(row.target, /^\/(\\x01|\\u202e)+\.\.\.$/, 'cut after whole escapes, marked');
    const line = formatRequestLine(record, 'site');
    assert.ok(line.includes(row.target), 'the Output channel and the view cut the same');
  }
  // The snapshot the view gets when it (re)loads is posted in one message: it stays within the
  // store's own budget instead of 4 to 6 times it.
  const started = performance.now();
  const snapshot = JSON.stringify(store.all().map(toRow));
  const ms = performance.now() - started;
  assert.ok(snapshot.length * 2 <= REQUEST_STORE_MAX_BYTES, `snapshot of ${store.size} rows: ${snapshot.length} characters in ${Math.round(ms)} ms`);
});
