import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestStore, isViewToHost, requestKeyOf, toDetails, toRow } from '../../src/extension/requests/node-request-store';
import { formatRequestLine } from '../../src/extension/output/node-format';
import { record } from './helpers';

const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => record({ id: from + i, target: `/${from + i}` }));

void test('keeps the last `capacity` entries and counts the dropped', () => {
  const store = new RequestStore(100);
  store.add('site', many(60));
  const added = store.add('site', many(60, 60));
  assert.equal(added.length, 60);
  assert.equal(store.size, 100);
  assert.equal(store.dropped, 20);
  assert.equal(store.all()[0]?.record?.target, '/20');
  assert.equal(store.all()[99]?.record?.target, '/119');
});

void test('a batch larger than the capacity returns only what is kept', () => {
  const store = new RequestStore(10);
  const added = store.add('site', many(25));
  assert.equal(added.length, 10);
  assert.equal(added[0]?.record?.target, '/15');
  assert.equal(store.dropped, 15);
});

void test('lookup by key across compaction, clear, capacity change', () => {
  const store = new RequestStore(50);
  for (let i = 0; i < 20; i++) store.add('site', many(10, i * 10));
  const last = store.all().at(-1)!;
  assert.equal(store.get(last.key)?.record?.target, '/199');
  assert.equal(store.get(1), undefined);
  assert.equal(store.get(last.key - 49)?.record?.target, '/150');
  store.setCapacity(10);
  assert.equal(store.size, 10);
  assert.equal(store.get(last.key - 10), undefined);
  store.clear();
  assert.equal(store.size, 0);
  assert.equal(store.dropped, 0);
  const next = store.add('site', many(1));
  assert.ok(next[0]!.key > last.key, 'keys keep increasing after clear');
});

void test('pause ignores new requests', () => {
  const store = new RequestStore(10);
  store.setPaused(true);
  assert.deepEqual(store.add('site', many(3)), []);
  store.setPaused(false);
  assert.equal(store.add('site', many(3)).length, 3);
});

void test('host names arrive later and update retained requests', () => {
  const store = new RequestStore(10);
  store.add('site', [record({ clientIp: '10.0.0.2' }), record({ clientIp: '127.0.0.1' })]);
  assert.equal(store.setHostname('10.0.0.2', 'laptop.lan'), 1);
  assert.equal(store.all()[0]?.record?.clientHost, 'laptop.lan');
});

void test('rows are formatted once; details carry headers and timing', () => {
  const store = new RequestStore(10);
  const [item] = store.add('site', [record({ status: 304, note: 'not modified' })]);
  const row = toRow(item!);
  assert.equal(row.statusClass, '3xx');
  assert.equal(row.bytesText, '1.2 KB');
  assert.equal(row.hasFile, true);
  assert.equal(row.server, 'site');
  const details = toDetails(item!);
  assert.deepEqual(details.requestHeaders, [['Host', '127.0.0.1:8000']]);
  assert.ok(details.timing.some(([k, v]) => k === 'Note' && v === 'not modified'));
});

void test('the target and header values are shown as the UTF-8 text their bytes are, as the Output shows them; other bytes as \\xHH', () => {
  const store = new RequestStore(10);
  // One char per byte, as the parser keeps them: /café?<U+202E> and café in UTF-8, then 0xFF 0xFE.
  const [item] = store.add('site', [
    record({ target: '/caf\u00c3\u00a9?\u00e2\u0080\u00ae', requestHeaders: [['X-Name', 'caf\u00c3\u00a9'], ['X-Bytes', '\u00ff\u00fe']] }),
  ]);
  assert.equal(toRow(item!).target, '/caf\u00e9?\\u202e');
  assert.equal(formatRequestLine(item!.record!).includes(' /caf\u00e9?\\u202e '), true, 'the Output says the same');
  assert.deepEqual(toDetails(item!).requestHeaders, [
    ['X-Name', 'caf\u00e9'],
    ['X-Bytes', '\\xff\\xfe'],
  ]);
});

void test('messages from the webview are narrowed', () => {
  assert.equal(isViewToHost({ type: 'ready' }), true);
  assert.equal(isViewToHost({ type: 'openFile', key: 3 }), true);
  assert.equal(isViewToHost({ type: 'openFile', key: '/etc/passwd' }), false);
  assert.equal(isViewToHost({ type: 'setPaused', paused: 'yes' }), false);
  assert.equal(isViewToHost({ type: 'eval' }), false);
  assert.equal(isViewToHost(null), false);
  assert.equal(isViewToHost({ type: 'copyCurl', key: 7 }), true);
  assert.equal(isViewToHost({ type: 'copyCurl', key: 1.5 }), false);
  assert.equal(isViewToHost({ type: 'copyCurl', command: 'rm -rf ~' }), false);
});

void test('Copy as curl takes a request key from a number or the view context menu’s object, nothing else', () => {
  assert.equal(requestKeyOf(4), 4);
  assert.equal(requestKeyOf({ webviewSection: 'request', requestKey: 9, webview: 'porthole.requests' }), 9);
  assert.equal(requestKeyOf({ requestKey: '9' }), undefined);
  assert.equal(requestKeyOf(Number.NaN), undefined);
  assert.equal(requestKeyOf(undefined), undefined);
});

void test('a proxied request’s details name the back-end, its status and its time', () => {
  const store = new RequestStore(10);
  const [item] = store.add('site', [record({ upstream: { target: 'http://127.0.0.1:3000', status: 0, ms: 30_000 } })]);
  const timing = toDetails(item!).timing;
  assert.ok(timing.some(([k, v]) => k === 'Back-end' && v === 'http://127.0.0.1:3000'));
  assert.ok(timing.some(([k, v]) => k === 'Back-end status' && v === 'no answer'));
  assert.ok(timing.some(([k, v]) => k === 'Back-end time' && v === '30.00 s'));
});
