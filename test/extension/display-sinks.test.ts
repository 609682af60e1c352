/**
 * Every human-facing sink of the extension shows client-controlled text through the core's one
 * sanitiser (escapeForDisplay): the Output channel's request lines and diagnostics, the Requests
 * view's rows, details and host-name updates, notifications, and the sharing panel's QR captions.
 * No C0/C1 control, DEL, bidi override or isolate survives; each is shown escaped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BoundAddress, LanAddress } from '../../src/core';
import { DEFAULT_CONFIG } from '../../src/extension/config/node-config';
import { formatRequestLine, messageText, sanitizeLines, sanitizeOneLine } from '../../src/extension/output/node-format';
import { RequestStore, toDetails, toHostnameMessage, toRow } from '../../src/extension/requests/node-request-store';
import { shareConfirmation, toSharingServer } from '../../src/extension/sharing/node-sharing';
import { record } from './helpers';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const ATTACK = '/.\u001b]0;X\u0007\u001b[2J\u001b[H\u202e\u2066\u009b';
const SHOWN = '/.\\x1b]0;X\\x07\\x1b[2J\\x1b[H\\u202e\\u2066\\x9b';

const hostile = record({
  clientIp: '192.168.1.7',
  clientHost: 'ptr\u001b]8;;http://evil\u001b\\.example',
  method: 'GET',
  target: ATTACK,
  status: 404,
  note: `Dotfiles are not served: ${ATTACK}`,
  userAgent: `ua${ATTACK}`,
  referer: `http://r${ATTACK}`,
  requestHeaders: [
    ['Host', '127.0.0.1:8000'],
    ['User-Agent', `ua${ATTACK}`],
    ['Referer', `http://r${ATTACK}`],
    [`X-${'\u202e'}`, 'v'],
  ],
});

/** Every string inside a value (rows, details, messages), depth first. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

void test('Output channel: the request line escapes target, method, host name and note', () => {
  const line = formatRequestLine(hostile, 'site');
  assert.ok(!UNSAFE.test(line), JSON.stringify(line));
  assert.ok(line.includes(` GET ${SHOWN} 404 `), line);
  assert.ok(line.includes(`- Dotfiles are not served: ${SHOWN}`), line);
  assert.ok(line.includes('(ptr\\x1b]8;;http://evil\\x1b\\.example)'), line);
});

void test('Output channel and Requests view: a method\'s raw bytes are \\xhh and no space but the space is drawn as one, so no row reads as another request (helper-119)', () => {
  const fake = record({ method: 'GET\u00a0/.env\u00a0200', target: Buffer.from('/x\u3000y', 'utf8').toString('latin1'), status: 400 });
  const line = formatRequestLine(fake, 'site');
  assert.ok(line.includes(' GET\\xa0/.env\\xa0200 /x\\u3000y 400 '), line);
  const store = new RequestStore(100);
  const [item] = store.add('site', [fake]);
  assert.ok(item);
  const row = toRow(item);
  assert.equal(row.method, 'GET\\xa0/.env\\xa0200');
  assert.equal(row.target, '/x\\u3000y');
  const mojibake = toRow(store.add('site', [record({ method: 'G\u00c3\u00a9T', status: 400 })])[0]!);
  assert.equal(mojibake.method, 'G\\xc3\\xa9T');
});

void test('Output channel: diagnostics and error stacks are escaped line by line', () => {
  assert.equal(sanitizeOneLine(`live reload: changed ${ATTACK}`), `live reload: changed ${SHOWN}`);
  assert.equal(sanitizeLines(`Error: bad ${ATTACK}\n    at x (y.js:1:2)`), `Error: bad ${SHOWN}\n    at x (y.js:1:2)`);
});

void test('Requests view: rows, details and host-name updates carry no raw control or bidi character', () => {
  const store = new RequestStore(100);
  const [item] = store.add('site', [hostile]);
  assert.ok(item);
  const row = toRow(item);
  assert.equal(row.target, SHOWN);
  assert.equal(row.note, `Dotfiles are not served: ${SHOWN}`);
  assert.equal(row.clientHost, 'ptr\\x1b]8;;http://evil\\x1b\\.example');
  const details = toDetails(item);
  for (const text of [...strings(row), ...strings(details)]) assert.ok(!UNSAFE.test(text), JSON.stringify(text));
  const ua = details.requestHeaders.find(([name]) => name === 'User-Agent');
  assert.deepEqual(ua, ['User-Agent', `ua${SHOWN}`]);
  assert.ok(details.requestHeaders.some(([name]) => name === 'X-\\u202e'));
  assert.ok(details.timing.some(([label, value]) => label === 'Note' && value === `Dotfiles are not served: ${SHOWN}`));
  const message = toHostnameMessage('192.168.1.7', 'a\u202eb\u001b[2J');
  assert.deepEqual(message, { type: 'hostname', ip: '192.168.1.7', name: 'a\\u202eb\\x1b[2J' });
});

void test('notifications and QR captions: folder names and interface names are escaped', () => {
  const { message, detail } = shareConfirmation('my\u202esite\u001b]0;X\u0007', 8000, ['10.0.0.0/8']);
  for (const text of [message, detail]) assert.ok(!UNSAFE.test(text), JSON.stringify(text));
  assert.ok(message.includes('"my\\u202esite\\x1b]0;X\\x07"'), message);
  const lan: LanAddress[] = [{ address: '192.168.1.20', family: 'IPv4', interfaceName: 'wl\u202ean\u001b[2J', linkLocal: false }];
  const address: BoundAddress = { host: '0.0.0.0', port: 8000, url: 'http://127.0.0.1:8000/', requestedPort: undefined };
  const shared = toSharingServer('file:///w/site', 'site', { ...DEFAULT_CONFIG, host: '0.0.0.0' }, address, undefined, lan);
  assert.equal(shared.urls.length, 1);
  const caption = shared.urls[0]?.label ?? '';
  assert.ok(!UNSAFE.test(caption), JSON.stringify(caption));
  assert.ok(caption.includes('wl\\u202ean\\x1b[2J'), caption);
  assert.equal(shared.urls[0]?.url, 'http://192.168.1.20:8000/');
});

void test('notifications and status bar messages: a client’s [label](command:…) forms no link and $(icon) no icon', () => {
  const target = '/[Open_settings](command:workbench.action.openSettings)?$(check)x';
  const text = messageText(`POST ${target}`);
  // VS Code's notification link syntax (parseLinkedText) and the status bar's icon syntax.
  assert.doesNotMatch(text, /\[[^\]]+\]\((?:https?:|command:|file:)/);
  assert.doesNotMatch(text, /\$\([a-z-]+/);
  assert.equal(text, 'POST /[Open_settings] (command:workbench.action.openSettings)?$ (check)x');
  assert.equal(messageText(`x${'y'.repeat(500)}`).length, 203, 'bounded: 200 characters and ...');
  assert.equal(messageText('a\u202eb\u001b[2J'), 'a\\u202eb\\x1b[2J');
  const { message, detail } = shareConfirmation('[site](https://evil.example/)', 8000, ['[x](command:y)']);
  for (const m of [message, detail]) assert.doesNotMatch(m, /\]\(/, m);
});

void test('the folder name in the sharing panel, request rows and console details is escaped like every outside text', () => {
  const folder = `app${ATTACK}`;
  const address: BoundAddress = { host: '127.0.0.1', port: 8000, url: 'http://127.0.0.1:8000/', requestedPort: undefined };
  const panel = toSharingServer('file:///w/app', folder, DEFAULT_CONFIG, address, undefined, []);
  assert.equal(panel.server, `app${SHOWN}`);
  assert.equal(panel.id, 'file:///w/app', 'the id stays the URI the buttons name');
  const store = new RequestStore(10);
  const [request] = store.add(folder, [record()]);
  const [message] = store.addConsole(folder, [
    { time: 0, clientIp: '127.0.0.1', clientHost: undefined, page: 'http://127.0.0.1:8000/', kind: 'console', level: 'error', text: 'x', source: undefined, line: undefined, column: undefined, stack: undefined, dropped: undefined, pageSaysDropped: undefined },
  ]);
  for (const item of [request!, message!]) {
    for (const text of [...strings(toRow(item)), ...strings(toDetails(item))]) assert.ok(!UNSAFE.test(text), JSON.stringify(text));
  }
});
