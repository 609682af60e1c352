/**
 * Console forwarding (porthole.console.forward, --console, `consoleForward`) through a real
 * PreviewServer over raw TCP: a WebSocket client sends the page's console messages as the injected
 * client does, and the server's `console` events are checked — the mode (hello, the injected tag,
 * live changes broadcast to pages, `off` ignoring everything, `errors` ignoring console.log), the
 * per-page rate limit and its "dropped" summary, the size caps, the escaping of every string, and
 * the 64 KiB frame cap. PageConsole's window is also checked on its own with an injected clock.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer } from '../../src/core/server/server';
import {
  ConsoleBudget,
  MAX_CONSOLE_ADDRESSES,
  MAX_CONSOLE_ENTRIES_PER_SECOND,
  MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL,
  MAX_CONSOLE_STACK_LINES,
  MAX_CONSOLE_TEXT_CHARS,
  PageConsole,
  formatConsoleLines,
  type ConsoleEntry,
} from '../../src/core/reload/console-forward';
import { frame, openWebSocket, type Client } from './ws-client';

const WAIT_MS = 10_000;
let root: string;
let server: PreviewServer;
let port: number;
const received: ConsoleEntry[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-console-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>x</p>\n');
  server = new PreviewServer();
  server.on('console', (entry) => received.push(entry));
  const address = await server.listen({ root, port: 0, resolveHostNames: false, configFile: false, reload: { debounceMs: 30, watch: false } });
  port = address.port;
});

after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** Polls `ok` until true (bounded by WAIT_MS: a failure, not a hang). */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A page's console message, as the client sends it (a masked text frame). */
function send(c: Client, message: unknown): void {
  c.socket.write(frame(0x1, JSON.stringify(message)));
}

/** A connected page: its hello read. */
async function page(): Promise<{ c: Client; hello: Record<string, unknown> }> {
  const c = openWebSocket(port);
  const hello = await c.message();
  assert.equal(hello.type, 'hello');
  return { c, hello };
}

/** GET / as a navigation: the injected tag. */
async function pageTag(): Promise<string> {
  return (await pageWithTag()).tag;
}

/** GET / as a navigation: the injected tag and the page's body around it. */
async function pageWithTag(): Promise<{ tag: string; before: string; after: string }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n`);
  await new Promise((r) => socket.on('close', r));
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const tag = /<script[^>]*data-porthole-client[^>]*><\/script>/.exec(body);
  assert.ok(tag, `no client tag in ${text}`);
  return { tag: tag[0], before: body.slice(0, tag.index), after: body.slice(tag.index + tag[0].length) };
}

test('errors (the default): hello and the tag say so; console.error, uncaught errors and rejections arrive, console.log does not', async () => {
  received.length = 0;
  assert.equal(server.options.consoleForward, 'errors');
  assert.match(await pageTag(), /data-porthole-console="errors"/);
  const { c, hello } = await page();
  assert.equal(hello.console, 'errors');
  send(c, {
    type: 'console',
    page: `http://127.0.0.1:${port}/index.html`,
    dropped: 0,
    entries: [
      { kind: 'console', level: 'log', text: 'not forwarded in errors mode' },
      { kind: 'console', level: 'error', text: 'boom 42', source: `http://127.0.0.1:${port}/app.js`, line: 12, column: 5 },
      { kind: 'error', level: 'error', text: 'Uncaught TypeError: x is not a function', source: `http://127.0.0.1:${port}/app.js`, line: 3, column: 9, stack: 'TypeError: x is not a function\n    at f (app.js:3:9)' },
      { kind: 'rejection', level: 'error', text: 'Uncaught (in promise) nope' },
      { kind: 'nonsense', level: 'error', text: 'an unknown kind is dropped' },
      { kind: 'console', level: 'shout', text: 'an unknown level is dropped' },
    ],
  });
  await until(() => received.length >= 3, 'three entries');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    received.map((e) => [e.kind, e.level, e.text]),
    [
      ['console', 'error', 'boom 42'],
      ['error', 'error', 'Uncaught TypeError: x is not a function'],
      ['rejection', 'error', 'Uncaught (in promise) nope'],
    ],
  );
  const uncaught = received[1] as ConsoleEntry;
  assert.equal(uncaught.clientIp, '127.0.0.1');
  assert.equal(uncaught.page, `http://127.0.0.1:${port}/index.html`);
  assert.equal(uncaught.source, `http://127.0.0.1:${port}/app.js`);
  assert.equal(uncaught.line, 3);
  assert.equal(uncaught.column, 9);
  assert.equal(uncaught.stack, 'TypeError: x is not a function\n    at f (app.js:3:9)');
  assert.deepEqual(formatConsoleLines(uncaught), [
    `uncaught error 127.0.0.1 http://127.0.0.1:${port}/index.html: Uncaught TypeError: x is not a function (http://127.0.0.1:${port}/app.js:3:9)`,
    '    TypeError: x is not a function',
    '    at f (app.js:3:9)',
  ]);
  c.socket.destroy();
});

test('every string is cut to its cap and escaped: no control character, escape sequence or bidi override gets through', async () => {
  received.length = 0;
  const { c } = await page();
  send(c, {
    type: 'console',
    page: `http://127.0.0.1:${port}/\x1b]0;pwned\x07`,
    entries: [
      { kind: 'console', level: 'error', text: `red \x1b[31malert\x1b[0m \u202eevil\u202c bell\x07 first\r\nsecond\u2028third`, source: 'http://x/\x1b[2Japp.js', line: 1.5, column: -2 },
      { kind: 'console', level: 'error', text: 'y'.repeat(MAX_CONSOLE_TEXT_CHARS * 5), stack: Array.from({ length: 200 }, (_, i) => `  at f${i}`).join('\n') },
      { kind: 'console', level: 'error', text: Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') },
    ],
  });
  await until(() => received.length >= 3, 'three entries');
  const [escaped, long, tall] = received as [ConsoleEntry, ConsoleEntry, ConsoleEntry];
  assert.equal(escaped.text, 'red \\x1b[31malert\\x1b[0m \\u202eevil\\u202c bell\\x07 first\nsecond\nthird');
  assert.equal(escaped.page, `http://127.0.0.1:${port}/\\x1b]0;pwned\\x07`);
  assert.equal(escaped.source, 'http://x/\\x1b[2Japp.js');
  assert.equal(escaped.line, undefined, 'a line that is not a whole number is dropped');
  assert.equal(escaped.column, undefined, 'a negative column is dropped');
  for (const e of received) {
    for (const line of formatConsoleLines(e)) {
      // eslint-disable-next-line no-control-regex -- control characters are what is checked
      assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    }
  }
  assert.ok(long.text.startsWith('y'.repeat(MAX_CONSOLE_TEXT_CHARS)));
  assert.match(long.text, new RegExp(`^y{${MAX_CONSOLE_TEXT_CHARS}} … \\(${MAX_CONSOLE_TEXT_CHARS * 4} more characters\\)$`));
  const stackLines = (long.stack ?? '').split('\n');
  assert.equal(stackLines.length, MAX_CONSOLE_STACK_LINES + 1);
  assert.equal(stackLines[stackLines.length - 1], `… (${200 - MAX_CONSOLE_STACK_LINES} more lines)`);
  assert.equal(tall.text.split('\n').length, 21, '20 lines and the "more lines" note');
  c.socket.destroy();
});

test('a lone surrogate is shown escaped and a cut never splits a pair: no U+FFFD stands for what a page sent', async () => {
  received.length = 0;
  const { c } = await page();
  // JSON carries a lone half as "\ud800"; an emoji is two UTF-16 units, so a cut at an odd unit fell inside one.
  send(c, {
    type: 'console',
    page: `http://127.0.0.1:${port}/\ud800x`,
    entries: [
      { kind: 'console', level: 'error', text: 'half \udc00 and \ud83d alone', source: 'http://x/\udbff.js' },
      { kind: 'console', level: 'error', text: `y${'\u{1f600}'.repeat(MAX_CONSOLE_TEXT_CHARS)}` },
    ],
  });
  await until(() => received.length >= 2, 'two entries');
  const [lone, long] = received as [ConsoleEntry, ConsoleEntry];
  assert.equal(lone.text, 'half \\udc00 and \\ud83d alone');
  assert.equal(lone.page, `http://127.0.0.1:${port}/\\ud800x`);
  assert.equal(lone.source, 'http://x/\\udbff.js');
  // 'y' and 999 whole emoji (1,999 units): the 1,000th emoji's first half is not kept alone.
  assert.equal(long.text, `y${'\u{1f600}'.repeat(999)} … (1001 more characters)`);
  for (const e of received) {
    for (const line of formatConsoleLines(e)) {
      assert.ok(!/[\ud800-\udfff]/u.test(line), `a lone surrogate in ${JSON.stringify(line)}`);
      assert.ok(!Buffer.from(line, 'utf8').toString('utf8').includes('\ufffd'), `U+FFFD in ${JSON.stringify(line)}`);
    }
  }
  c.socket.destroy();
});

/** A server of its own (a fresh console budget), closed by the caller. */
async function freshServer(): Promise<{ server: PreviewServer; port: number; got: ConsoleEntry[] }> {
  const own = new PreviewServer();
  const got: ConsoleEntry[] = [];
  own.on('console', (entry) => got.push(entry));
  const address = await own.listen({ root, port: 0, resolveHostNames: false, configFile: false, reload: { debounceMs: 30, watch: false } });
  return { server: own, port: address.port, got };
}

test('rate limit: an address passes 50 entries a second; the rest come back as one "dropped" summary, with what the page itself dropped', async () => {
  const own = await freshServer();
  try {
    const c = openWebSocket(own.port);
    assert.equal((await c.message()).type, 'hello');
    const entries = Array.from({ length: 100 }, (_, i) => ({ kind: 'console', level: 'error', text: `flood ${i}` }));
    // 100 entries in one message, plus 7 the page's own queue could not hold.
    send(c, { type: 'console', page: 'http://127.0.0.1/flood', entries, dropped: 7 });
    await until(() => own.got.some((e) => e.kind === 'dropped'), 'the dropped summary');
    const passed = own.got.filter((e) => e.kind === 'console');
    assert.ok(passed.length <= MAX_CONSOLE_ENTRIES_PER_SECOND);
    assert.deepEqual(
      passed.map((e) => e.text),
      entries.slice(0, passed.length).map((e) => e.text),
    );
    const summaries = own.got.filter((e) => e.kind === 'dropped');
    // The server's own count, and apart from it what the page says it dropped (its word, labelled).
    assert.equal(summaries.reduce((n, e) => n + (e.dropped ?? 0), 0), 100 - passed.length);
    assert.equal(summaries.reduce((n, e) => n + (e.pageSaysDropped ?? 0), 0), 7);
    assert.equal(summaries[0]?.level, 'warn');
    assert.equal(summaries[0]?.page, 'http://127.0.0.1/flood');
    assert.match(summaries[0]?.text ?? '', /^\d+ console messages dropped/);
    c.socket.destroy();
  } finally {
    await own.server.close();
  }
});

test('a page\'s own "dropped" field is the page\'s word: never shown as the server\'s count of messages over its limit', async () => {
  // Before: {"dropped":5} alone came back as "5 console messages dropped (over the limit of 50 a
  // second per address, 200 for all)", dropped: 5, as if the server had counted and refused them.
  const own = await freshServer();
  try {
    const c = openWebSocket(own.port);
    assert.equal((await c.message()).type, 'hello');
    send(c, { type: 'console', page: 'http://127.0.0.1/claims', entries: [], dropped: 5 });
    await until(() => own.got.some((e) => e.kind === 'dropped'), 'the summary');
    const summary = own.got.find((e) => e.kind === 'dropped');
    assert.ok(summary !== undefined);
    assert.equal(summary?.dropped, undefined, 'the server dropped nothing');
    assert.equal(summary?.pageSaysDropped, 5);
    assert.equal(summary?.text, 'the page says it dropped 5 console messages itself (its own queue was full); the server dropped none');
    assert.doesNotMatch(formatConsoleLines(summary).join('\n'), /over the limit/);
    c.socket.destroy();
  } finally {
    await own.server.close();
  }
});

test('reconnect churn: one address opening a socket per message gets no more than its budget per second through, and one summary per second', async () => {
  const own = await freshServer();
  try {
    const CONNECTIONS = 60;
    const entries = Array.from({ length: 100 }, () => ({ kind: 'console', level: 'error', text: 'CHURN' }));
    const start = Date.now();
    for (let i = 0; i < CONNECTIONS; i++) {
      const c = openWebSocket(own.port);
      assert.equal((await c.message()).type, 'hello');
      send(c, { type: 'console', page: 'http://127.0.0.1/churn', entries });
      c.socket.end(frame(0x8, Buffer.from([0x03, 0xe8])));
      await c.ended;
    }
    const sent = CONNECTIONS * entries.length;
    // Every entry is either passed or counted in a summary (which comes when its second is over).
    const total = (): number => own.got.reduce((n, e) => n + (e.kind === 'dropped' ? (e.dropped ?? 0) : 1), 0);
    await until(() => total() === sent, 'every entry passed or reported dropped');
    const end = Date.now();
    // Seconds (budget windows) the loop could have touched: an upper bound from the measured span.
    const windows = Math.ceil((end - start) / 1_000) + 1;
    const passed = own.got.filter((e) => e.kind === 'console').length;
    const summaries = own.got.filter((e) => e.kind === 'dropped').length;
    assert.ok(passed <= MAX_CONSOLE_ENTRIES_PER_SECOND * windows, `${passed} entries passed in at most ${windows} seconds (${CONNECTIONS} connections)`);
    assert.ok(passed > 0, 'the budget passes entries');
    assert.ok(summaries <= windows, `${summaries} summaries in at most ${windows} seconds`);
  } finally {
    await own.server.close();
  }
});

test('ConsoleBudget: per address across its pages, per second; a new second passes entries again and reports the dropped ones first', () => {
  let now = 10_000;
  const out: ConsoleEntry[] = [];
  const budget = new ConsoleBudget((e) => out.push(e), () => 'phone.lan', () => now);
  const make = (): PageConsole => new PageConsole('192.0.2.7', () => 'all', (e) => out.push(e), budget, () => 'phone.lan');
  const batch = (n: number, tag: string): Record<string, unknown> => ({
    type: 'console',
    page: 'http://h/',
    entries: Array.from({ length: n }, (_, i) => ({ kind: 'console', level: 'log', text: `${tag}${i}` })),
  });
  make().receive(batch(30, 'a'));
  // A second connection of the same address (a reload, or a script reconnecting) shares the budget.
  make().receive(batch(30, 'a'));
  assert.equal(out.length, MAX_CONSOLE_ENTRIES_PER_SECOND);
  now += 999;
  make().receive(batch(1, 'b'));
  assert.equal(out.length, MAX_CONSOLE_ENTRIES_PER_SECOND, 'still the same second');
  now += 1;
  make().receive(batch(1, 'c'));
  assert.deepEqual(
    out.slice(MAX_CONSOLE_ENTRIES_PER_SECOND).map((e) => [e.kind, e.text, e.dropped, e.page]),
    [
      ['dropped', '11 console messages dropped (over the limit of 50 a second per address, 200 for all)', 11, 'http://h/'],
      ['console', 'c0', undefined, 'http://h/'],
    ],
  );
  assert.equal(out[0]?.clientHost, 'phone.lan');
  budget.close();
  assert.equal(out.length, MAX_CONSOLE_ENTRIES_PER_SECOND + 2, 'nothing left to report');
});

test('ConsoleBudget: many addresses share the server-wide cap; addresses beyond the tracked cap are summarised together', () => {
  let now = 50_000;
  const out: ConsoleEntry[] = [];
  const budget = new ConsoleBudget((e) => out.push(e), undefined, () => now);
  const batch = { type: 'console', page: 'http://h/', entries: Array.from({ length: 100 }, () => ({ kind: 'console', level: 'error', text: 'x' })) };
  const ADDRESSES = MAX_CONSOLE_ADDRESSES + 50;
  for (let i = 0; i < ADDRESSES; i++) new PageConsole(`2001:db8::${i.toString(16)}`, () => 'errors', (e) => out.push(e), budget).receive(batch);
  assert.equal(out.length, MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL, 'the server-wide cap binds many addresses');
  assert.ok(budget.trackedAddresses <= MAX_CONSOLE_ADDRESSES + 1, `${budget.trackedAddresses} addresses tracked`);
  now += 1_000;
  budget.close();
  const summaries = out.filter((e) => e.kind === 'dropped');
  assert.equal(summaries.length, MAX_CONSOLE_ADDRESSES + 1, 'one per tracked address and one for the rest');
  assert.equal(summaries.reduce((n, e) => n + (e.dropped ?? 0), 0), ADDRESSES * 100 - MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL);
  assert.match(summaries.at(-1)?.text ?? '', /more than 128 addresses sending at once/);
});

test('all, then off, live: pages are told at once; off ignores every console message and the tag says off', async () => {
  const { c } = await page();
  server.reconfigure({ consoleForward: 'all' });
  assert.deepEqual(await c.message(), { type: 'console', forward: 'all' });
  assert.match(await pageTag(), /data-porthole-console="all"/);
  received.length = 0;
  send(c, { type: 'console', page: 'http://h/', entries: [{ kind: 'console', level: 'log', text: 'now forwarded' }, { kind: 'console', level: 'warn', text: 'and this' }] });
  await until(() => received.length >= 2, 'log and warn');
  assert.deepEqual(received.map((e) => [e.level, e.text]), [['log', 'now forwarded'], ['warn', 'and this']]);

  server.reconfigure({ consoleForward: 'off' });
  assert.deepEqual(await c.message(), { type: 'console', forward: 'off' });
  assert.match(await pageTag(), /data-porthole-console="off"/);
  const { c: late, hello } = await page();
  assert.equal(hello.console, 'off');
  received.length = 0;
  for (const client of [c, late]) send(client, { type: 'console', page: 'http://h/', entries: [{ kind: 'error', level: 'error', text: 'ignored' }] });
  // The channel still answers (ping → pong) after the messages: they were read, and ignored.
  for (const client of [c, late]) {
    client.socket.write(frame(0x9, 'after'));
    let f = await client.next();
    while (f.opcode !== 0xa) f = await client.next();
  }
  assert.deepEqual(received, []);
  server.reconfigure({ consoleForward: 'errors' });
  c.socket.destroy();
  late.socket.destroy();
});

test('the tag goes first in the page while forwarding is on (errors during load are seen), last when off; the mode switches it live', async () => {
  const page = '<!doctype html><title>t</title><p>x</p>\n';
  // errors: no <head> start tag and no charset meta, so right after the doctype.
  assert.deepEqual(await pageWithTag().then((p) => [p.before, p.after]), ['<!doctype html>', page.slice('<!doctype html>'.length)]);
  server.reconfigure({ consoleForward: 'off' });
  try {
    // off: at the end as before (no </body>), not the head plan cached for the same page version.
    assert.deepEqual(await pageWithTag().then((p) => [p.before, p.after]), [page, '']);
  } finally {
    server.reconfigure({ consoleForward: 'errors' });
  }
  assert.equal((await pageWithTag()).before, '<!doctype html>');
});

test('a console message over the 64 KiB frame cap closes the channel with 1009 and forwards nothing', async () => {
  received.length = 0;
  const { c } = await page();
  send(c, { type: 'console', page: 'http://h/', entries: [{ kind: 'console', level: 'error', text: 'z'.repeat(70_000) }] });
  let f = await c.next();
  while (f.opcode !== 0x8) f = await c.next();
  assert.equal(f.payload.readUInt16BE(0), 1009);
  await c.ended;
  assert.deepEqual(received, []);
});
