/**
 * Live reload's WebSocket channel (RFC 6455) through a real PreviewServer, over raw TCP with a
 * client written here (masking, framing): the opening handshake and its refusals, hello and
 * events as text frames, ping/pong, the closing handshake, protocol violations closed with the
 * RFC's codes, close() ending every channel; and many channels at once, which is the point of a
 * WebSocket (browsers cap HTTP/1.1 connections per host at 6, not WebSockets).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer } from '../../src/core/server/server';
import { acceptKey, closePayload, FrameReader, frameReaderStats } from '../../src/core/http/websocket';
import { frame, openWebSocket, type Client } from './ws-client';

let root: string;
let server: PreviewServer;
let port: number;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-socket-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>x</p>\n');
  server = new PreviewServer();
  const address = await server.listen({ root, port: 0, resolveHostNames: false, reload: { debounceMs: 30 } });
  port = address.port;
});

after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** A WebSocket client of this server (ws-client.ts). */
function open(extra = '', key = randomBytes(16).toString('base64')): Client {
  return openWebSocket(port, extra, key);
}

test('the opening handshake: 101 with the RFC 6455 accept key, then hello as a text frame', async () => {
  // RFC 6455 §1.3's own example.
  assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  const c = open('', 'dGhlIHNhbXBsZSBub25jZQ==');
  const head = await c.head();
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nupgrade: websocket\r\n/i);
  assert.match(head, /\r\nconnection: upgrade/i);
  assert.match(head, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  assert.doesNotMatch(head, /content-length/i);
  const hello = await c.message();
  assert.equal(hello.type, 'hello');
  assert.equal(hello.id, server.liveReload?.instanceId);
  assert.equal(typeof hello.generation, 'number');
  c.socket.destroy();
});

test('a file write arrives as an event frame; ping gets its pong; Close gets Close and the end', async () => {
  const c = open();
  const hello = await c.message();
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>y</p>\n');
  const event = await c.message();
  assert.deepEqual(event, { type: 'reload', generation: (hello.generation as number) + 1, paths: ['/index.html'] });
  c.socket.write(frame(0x9, 'are you there'));
  const pong = await c.next();
  assert.equal(pong.opcode, 0xa);
  assert.equal(pong.payload.toString(), 'are you there');
  // A fragmented text message and unknown JSON are taken quietly.
  c.socket.write(Buffer.concat([frame(0x1, '{"type":', { fin: false }), frame(0x0, '"nothing"}')]));
  const code = Buffer.alloc(2);
  code.writeUInt16BE(1000);
  c.socket.write(frame(0x8, code));
  const close = await c.next();
  assert.equal(close.opcode, 0x8);
  assert.equal(close.payload.readUInt16BE(0), 1000);
  await c.ended;
});

test('navigate reaches WebSocket pages as a text frame; connectedPages and onPagesChanged count WebSocket channels', async () => {
  const live = server.liveReload;
  assert.ok(live);
  const counts: number[] = [];
  live.onPagesChanged = (n) => counts.push(n);
  const before = live.connectedPages;
  const a = open();
  const b = open();
  const hello = await a.message();
  await b.message();
  assert.equal(live.connectedPages, before + 2);
  assert.equal(live.navigate('/sub/page.html?x=1'), before + 2);
  for (const c of [a, b]) assert.deepEqual(await c.message(), { type: 'navigate', path: '/sub/page.html?x=1' });
  // Not a change of the site: the next event's generation follows the hello's directly.
  await writeFile(join(root, 'index.html'), '<!doctype html><title>t</title><p>navigate</p>\n');
  assert.deepEqual(await a.message(), { type: 'reload', generation: (hello.generation as number) + 1, paths: ['/index.html'] });
  a.socket.destroy();
  await a.ended;
  for (let i = 0; i < 100 && live.connectedPages !== before + 1; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(live.connectedPages, before + 1);
  b.socket.destroy();
  await b.ended;
  for (let i = 0; i < 100 && live.connectedPages !== before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(live.connectedPages, before);
  assert.deepEqual(counts.slice(0, 2), [before + 1, before + 2]);
  assert.equal(counts.at(-1), before);
  live.onPagesChanged = undefined;
});

test('protocol violations close with the code RFC 6455 names', async () => {
  const cases: Array<[string, Buffer, number]> = [
    ['an unmasked frame', frame(0x1, '{}', { masked: false }), 1002],
    ['a reserved bit', Buffer.from([0xc1, 0x80, 0, 0, 0, 0]), 1002],
    ['an unknown opcode', frame(0x3, ''), 1002],
    ['a fragmented ping', frame(0x9, 'x', { fin: false }), 1002],
    ['a continuation with no message', frame(0x0, 'x'), 1002],
    ['text that is not UTF-8', frame(0x1, Buffer.from([0xff, 0xfe])), 1007],
    ['a binary message', frame(0x2, Buffer.from([1, 2, 3])), 1003],
    ['a message over the limit', frame(0x1, Buffer.alloc(70 * 1024, 0x20)), 1009],
    // §5.2: a 64-bit length's most significant bit must be 0 (a malformed frame, not a big one).
    ['a 64-bit length with its top bit set', Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), 1002],
    // §5.2: "The minimal number of bytes MUST be used to encode the length" (a zero mask: the
    // payload `{}` as it is). A ping so encoded was refused (over 125 by its 7-bit field); text was read.
    ['a length of 2 in 16 bits', Buffer.from([0x81, 0xfe, 0, 2, 0, 0, 0, 0, 0x7b, 0x7d]), 1002],
    ['a length of 2 in 64 bits', Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0x7b, 0x7d]), 1002],
    ['a length of 200 in 64 bits', Buffer.concat([Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 0]), Buffer.alloc(200, 0x20)]), 1002],
    ['a ping of 2 bytes in 16 bits', Buffer.from([0x89, 0xfe, 0, 2, 0, 0, 0, 0, 0x7b, 0x7d]), 1002],
    // Close frames (RFC 6455 §5.5.1, §7.4): a 1-byte payload, codes no endpoint may send, a reason
    // that is not UTF-8.
    ['a close frame with a 1-byte payload', frame(0x8, Buffer.from([0x03])), 1002],
    ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code): [string, Buffer, number] => [`a close frame with status ${code}`, frame(0x8, closeBody(code)), 1002]),
    ['a close reason that is not UTF-8', frame(0x8, closeBody(1000, Buffer.from([0xce, 0xba, 0xff]))), 1007],
  ];
  for (const [name, bytes, expected] of cases) {
    const c = open();
    await c.message();
    c.socket.write(bytes);
    const f = await c.next();
    assert.equal(f.opcode, 0x8, name);
    assert.equal(f.payload.readUInt16BE(0), expected, name);
    await c.ended;
  }
});

/** A Close frame's payload: the status code, then the reason's bytes. */
function closeBody(code: number, reason: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, reason]);
}

test('a close frame with a valid status code and a UTF-8 reason is answered with 1000', async () => {
  for (const code of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
    const c = open();
    await c.message();
    c.socket.write(frame(0x8, closeBody(code, Buffer.from('bye κόσμε', 'utf8'))));
    const f = await c.next();
    assert.equal(f.opcode, 0x8, String(code));
    assert.equal(f.payload.readUInt16BE(0), 1000, String(code));
    await c.ended;
  }
  // An empty Close (no status at all) is valid too.
  const c = open();
  await c.message();
  c.socket.write(frame(0x8, Buffer.alloc(0)));
  const f = await c.next();
  assert.equal(f.payload.readUInt16BE(0), 1000);
  await c.ended;
});

test('closePayload trims a long reason at a character boundary: what we send is UTF-8 a peer accepts', () => {
  for (const reason of ['é'.repeat(70), '€'.repeat(50), '😀'.repeat(40), 'a' + 'é'.repeat(70)]) {
    const payload = closePayload(1001, reason);
    assert.ok(payload.length <= 125, reason);
    assert.equal(payload.readUInt16BE(0), 1001);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(2));
    assert.ok(reason.startsWith(text) && text.length > 0, reason);
    // The reader takes our own Close frame's reason as valid.
    assert.deepEqual(new FrameReader().push(frame(0x8, payload)), [{ kind: 'close', code: 1001 }]);
  }
});

/**
 * A GET of the socket endpoint with the head fields `lines` (each ending in CRLF) on a connection
 * of its own, then `body` 100 ms later when given; resolves with all the server sent (Latin-1)
 * once it closes the connection.
 */
async function askSocket(lines: string, body?: Buffer): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => (text += c));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.write(`GET /__porthole/socket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${lines}\r\n`);
  if (body !== undefined) {
    await new Promise((r) => setTimeout(r, 100));
    socket.write(body);
  }
  await closed;
  return text;
}

test('refusals: not a WebSocket request (426), another version (426), a bad key (400), a foreign Origin (403)', async () => {
  const ask = (lines: string): Promise<string> => askSocket(`${lines}Connection: close\r\n`);
  const key = `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`;
  const plain = await ask('');
  assert.match(plain, /^HTTP\/1\.1 426 /);
  assert.match(plain, /\r\nsec-websocket-version: 13\r\n/i);
  // RFC 9110 §7.8: "A sender of Upgrade MUST also send an 'upgrade' connection option in the
  // Connection header field", so no intermediary passes it on as the origin's own.
  const upgradeOption = (text: string): boolean =>
    text.split('\r\n\r\n')[0]?.split('\r\n').some((line) => /^connection:/i.test(line) && /(^|[:,])\s*upgrade\s*(,|$)/i.test(line)) ?? false;
  assert.ok(upgradeOption(plain), plain);
  const old = await ask(`Upgrade: websocket\r\nConnection: Upgrade\r\n${key}Sec-WebSocket-Version: 8\r\n`);
  assert.match(old, /^HTTP\/1\.1 426 /);
  assert.ok(upgradeOption(old), old);
  // One Connection field, naming both the upgrade and the close (helper-163: two lines, which a
  // recipient reading the first alone takes for a connection kept open).
  for (const answer of [plain, old]) {
    const lines = answer.split('\r\n\r\n')[0]?.split('\r\n').filter((line) => /^connection:/i.test(line));
    assert.deepEqual(lines, ['Connection: Upgrade, close'], answer);
  }
  assert.match(await ask('Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n'), /^HTTP\/1\.1 400 /);
  const evil = await ask(`Upgrade: websocket\r\nConnection: Upgrade\r\n${key}Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n`);
  assert.match(evil, /^HTTP\/1\.1 403 /);
});

test('a handshake that declares a body is refused (400) and the connection closed: its body is never read as frames', async () => {
  // helper-175: with `Expect: 100-continue` the 101 came at once, and the body sent after it, a
  // masked text frame, was taken for the page's console message and printed.
  const origin = `Origin: http://127.0.0.1:${port}\r\n`;
  const handshake = `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${origin}`;
  const message = frame(0x1, JSON.stringify({ type: 'console', level: 'error', text: 'FROM-HTTP-REQUEST-BODY' }));
  for (const framing of [`Expect: 100-continue\r\nContent-Length: ${message.length}\r\n`, 'Transfer-Encoding: chunked\r\n', `Content-Length: ${message.length}\r\n`]) {
    const body = framing.includes('chunked') ? Buffer.concat([Buffer.from(`${message.length.toString(16)}\r\n`), message, Buffer.from('\r\n0\r\n\r\n')]) : message;
    const text = await askSocket(`${handshake}${framing}`, body);
    assert.match(text, /^HTTP\/1\.1 400 /, framing);
    assert.doesNotMatch(text, /101 Switching/, framing);
    assert.match(text, /carries no body/, framing);
  }
});

test('forty channels at once all get the same event; close() ends them all with Going Away', async () => {
  const other = new PreviewServer();
  const address = await other.listen({ root, port: 0, resolveHostNames: false, reload: { watch: false, debounceMs: 10 },
    // Forty from one address: above the default per-address cap (32), which has its own test.
    limits: { maxEventStreamsPerClient: 64 },
  });
  const saved = port;
  port = address.port;
  try {
    const clients = Array.from({ length: 40 }, () => open());
    for (const c of clients) assert.equal((await c.message()).type, 'hello');
    other.liveReload?.notifyChanged([join(root, 'index.html')]);
    for (const c of clients) assert.deepEqual((await c.message()).paths, ['/index.html']);
    const closing = other.close();
    for (const [i, c] of clients.entries()) {
      const f = await c.next().catch((e: Error) => {
        throw new Error(`client ${i}: ${e.message}`);
      });
      assert.equal(f.opcode, 0x8);
      assert.equal(f.payload.readUInt16BE(0), 1001);
      await c.ended;
    }
    await closing;
  } finally {
    port = saved;
    await other.close();
  }
});

test('FrameReader: frames split at every byte boundary still read whole', () => {
  const bytes = Buffer.concat([frame(0x1, '{"a":1}'), frame(0x9, 'p'), frame(0x1, 'x'.repeat(300))]);
  const reader = new FrameReader();
  const events = [];
  for (let i = 0; i < bytes.length; i++) events.push(...reader.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(
    events.map((e) => e.kind),
    ['text', 'ping', 'text'],
  );
});

test('FrameReader: a frame fed a byte at a time is joined with a few copies of its bytes, not a copy of all so far per byte', () => {
  // A client trickling a 60 KB frame one byte per packet made the reader join everything waiting
  // with each byte (2 GB copied, 1.3 s of the server's CPU for one frame). Each byte is now
  // copied a bounded number of times: the store grows by doubling.
  const big = 'x'.repeat(60_000);
  const bytes = Buffer.concat([frame(0x1, big), frame(0x9, 'p'), frame(0x1, '{"a":1}')]);
  const reader = new FrameReader();
  const events = [];
  const before = frameReaderStats.copiedBytes;
  for (let i = 0; i < bytes.length; i++) events.push(...reader.push(bytes.subarray(i, i + 1)));
  const copied = frameReaderStats.copiedBytes - before;
  assert.deepEqual(
    events.map((e) => (e.kind === 'text' ? e.text.length : e.kind)),
    [big.length, 'ping', 7],
  );
  assert.ok(copied <= 4 * bytes.length, `${copied} bytes copied to read ${bytes.length}`);
});

/** Waits for the pong that carries `data`, skipping other frames. */
async function pong(c: Client, data: string): Promise<void> {
  for (;;) {
    const f = await c.next();
    if (f.opcode === 0xa) {
      assert.equal(f.payload.toString(), data);
      return;
    }
  }
}

/** A full garbage collection, so that heapUsed counts only what is still referenced. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

test('empty continuation frames hold no memory: a message is bounded by its bytes, not by its frames (RFC 6455 §10.4)', async () => {
  const c = open();
  await c.message();
  // A text message opened and kept open by 200,000 empty continuation frames (6 bytes each, all
  // legal, RFC 6455 §5.4): 1.2 MB on the wire, far under the 64 KiB message limit's reach.
  c.socket.write(frame(0x1, '{"type":', { fin: false }));
  const empty = Buffer.concat(Array.from({ length: 10_000 }, () => frame(0x0, '', { fin: false })));
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 20; i++) {
    if (!c.socket.write(empty)) await new Promise((r) => c.socket.once('drain', r));
  }
  // A ping between the fragments (allowed, RFC 6455 §5.4) is answered once every frame before it
  // was read: the message is still open, its fragments held.
  c.socket.write(frame(0x9, 'after'));
  await pong(c, 'after');
  collectGarbage();
  const grown = process.memoryUsage().heapUsed - before;
  // Before: one Buffer object kept per frame, about 36 MB for these 200,000 (3 million: 580 MB).
  assert.ok(grown < 8 * 1024 * 1024, `the server's heap grew by ${(grown / 1048576).toFixed(1)} MB for one open message`);
  // The message completes and the channel goes on.
  c.socket.write(Buffer.concat([frame(0x0, '"x"}'), frame(0x9, 'done')]));
  await pong(c, 'done');
  c.socket.end();
  await c.ended;
});

test('FrameReader: a message in fragments of every size, empty ones and a ping between them, reads whole', () => {
  const text = '{"a":"' + 'é'.repeat(3000) + '"}';
  const bytes = Buffer.from(text);
  const parts = [bytes.subarray(0, 1), Buffer.alloc(0), bytes.subarray(1, 2000), bytes.subarray(2000, 2001), Buffer.alloc(0), bytes.subarray(2001)];
  const wire = Buffer.concat(parts.map((p, i) => frame(i === 0 ? 0x1 : 0x0, p, { fin: i === parts.length - 1 })).flatMap((f, i) => (i === 2 ? [frame(0x9, 'p'), f] : [f])));
  const events = new FrameReader().push(wire);
  assert.deepEqual(events.map((e) => e.kind), ['ping', 'text']);
  assert.equal((events[1] as { text: string }).text, text);
});

test('a frame no message may have is 1002 whatever length it announces, not 1009, and is refused before its payload', async () => {
  /** A frame head alone: FIN and opcode, masked, a 64-bit length of 100,000 (over the 64 KiB limit), the mask. */
  const bigHead = (b0: number): Buffer => {
    const head = Buffer.alloc(14);
    head[0] = b0;
    head[1] = 0xff;
    head.writeBigUInt64BE(100_000n, 2);
    return head;
  };
  const cases: Array<[string, Buffer]> = [
    ['a ping announcing 100,000 bytes (RFC 6455 §5.5: at most 125)', bigHead(0x89)],
    ['a close announcing 100,000 bytes', bigHead(0x88)],
    ['an unknown data opcode announcing 100,000 bytes (§5.2)', bigHead(0x83)],
    ['an unknown control opcode announcing 100,000 bytes', bigHead(0x8b)],
    ['a continuation with no message announcing 100,000 bytes (§5.4)', bigHead(0x80)],
    ['a new message inside a fragmented one announcing 100,000 bytes (§5.4)', Buffer.concat([frame(0x1, '{', { fin: false }), bigHead(0x81)])],
    // Under the limit: refused at its head, not once the 1,000 bytes it announces have come.
    ['an unknown opcode announcing 1,000 bytes, none sent', Buffer.from([0x83, 0xfe, 0x03, 0xe8, 1, 2, 3, 4])],
  ];
  for (const [name, bytes] of cases) {
    const c = open();
    await c.message();
    // Only the head is sent: the answer must not wait for a payload that is never coming.
    c.socket.write(bytes);
    const f = await c.next();
    assert.equal(f.opcode, 0x8, name);
    assert.equal(f.payload.readUInt16BE(0), 1002, name);
    await c.ended;
  }
});
