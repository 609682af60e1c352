/**
 * A streamed file whose metadata changes while it is sent, its bytes not: moved away (`mv`),
 * removed (`rm`), `chmod`, a new file renamed over its path (an atomic save), a hard link added.
 * The server reads from the descriptor it opened, whose bytes none of these change, so the whole
 * body goes out, byte for byte, logged as a 200 (206) of every byte, as nginx sends it. Before:
 * the check before the last piece compared the descriptor's ctime too, which each of these moves,
 * and the download was cut off near its end (`mv` of a 50 MB file: 48 MB, curl exit 56, logged
 * "aborted — the file changed while it was sent"). A write to the same inode (an in-place
 * rewrite of the same length, `cat other > file`, an append) still ends the answer short, never a
 * whole-length mix of two versions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, link, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request } from './raw-client';
import { decodeChunked } from '../fixtures/backend';
import type { RequestRecord } from '../../src/core';

let root = '';
let running: Running;
/** Streamed (over the file cache's 1 MiB), and far over what loopback's socket buffers hold. */
const SIZE = 16 * 1024 * 1024;
let first: Buffer;
let second: Buffer;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-metadata-'));
  running = await startServer({ root });
  first = randomBytes(SIZE);
  second = randomBytes(SIZE);
});

after(async () => {
  await running.close();
  await rm(root, { recursive: true, force: true });
});

/**
 * Asks for `target` (Connection: close, with `headers`) with `content` in `name`; once 1 MiB of
 * the answer has arrived, stops reading (the server's writes then wait on the socket, its last
 * piece unread), runs `change` on the file's path, reads on. Returns the head, the body bytes
 * (all that came until the server closed) and the request's log record.
 */
async function changedWhileSent(
  target: string,
  name: string,
  content: Buffer,
  change: (path: string) => Promise<void>,
  headers: readonly string[] = [],
): Promise<{ head: string; body: Buffer; record: RequestRecord }> {
  const path = join(root, name);
  await writeFile(path, content);
  // Past the settle window (WRITE_SETTLE_MS, 20 ms from the ctime): the answer starts at once.
  await new Promise((resolve) => setTimeout(resolve, 40));
  const before = running.records.length;
  const client = await RawClient.connect(running.port);
  client.noTranscript();
  let all: Buffer;
  try {
    await client.write(request(target, { headers: ['Connection: close', ...headers] }));
    await client.waitForBytes(1024 * 1024);
    client.socket.pause();
    await change(path);
    client.socket.resume();
    await client.waitForEof(30_000);
    all = await client.readBytes(client.buffered, 1_000);
  } finally {
    client.destroy();
  }
  // The record is made as the exchange ends: at most 5 s after the client saw the end.
  const deadline = Date.now() + 5_000;
  let record: RequestRecord | undefined;
  for (let i = 0; i < 250 && record === undefined && Date.now() < deadline; i++) {
    record = running.records.slice(before).find((r) => r.target === target);
    if (record === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(record !== undefined, `a log record for ${target}`);
  const bodyStart = all.indexOf('\r\n\r\n') + 4;
  assert.ok(bodyStart > 4, 'a response head');
  return { head: all.subarray(0, bodyStart).toString('latin1'), body: all.subarray(bodyStart), record };
}

/** Asserts a 200 of `content` whole, byte for byte, logged with every byte and not aborted. */
function assertWhole(got: { head: string; body: Buffer; record: RequestRecord }, content: Buffer): void {
  assert.match(got.head, /^HTTP\/1\.1 200 /);
  assert.match(got.head, new RegExp(`\r\ncontent-length: ${content.length}\r\n`, 'i'));
  assert.equal(got.body.length, content.length, `${got.body.length} of ${content.length} bytes arrived (${got.record.note ?? 'no note'})`);
  assert.ok(got.body.equals(content), 'the bytes of the version the answer began with');
  assert.equal(got.record.status, 200);
  assert.equal(got.record.bytes, content.length);
  assert.equal(got.record.aborted, false, `logged as aborted: ${got.record.note ?? ''}`);
}

/** Asserts the answer was cut short (no whole-length body), logged as a file that changed while sent. */
function assertCut(got: { head: string; body: Buffer; record: RequestRecord }): void {
  assert.match(got.head, /^HTTP\/1\.1 200 /);
  assert.ok(got.body.length < SIZE, `a whole ${got.body.length}-byte body after an in-place rewrite`);
  assert.equal(got.record.aborted, true);
  assert.equal(got.record.note, 'the file changed while it was sent');
}

test('a file moved away (mv) while it is sent: the whole body arrives, logged 200 with every byte', async () => {
  const got = await changedWhileSent('/moved.bin', 'moved.bin', first, (path) => rename(path, `${path}.renamed`));
  assertWhole(got, first);
});

test('a file removed (rm) while it is sent: the whole body arrives', async () => {
  const got = await changedWhileSent('/removed.bin', 'removed.bin', first, (path) => rm(path));
  assertWhole(got, first);
});

test('a file chmod-ed while it is sent: the whole body arrives', async () => {
  const got = await changedWhileSent('/chmodded.bin', 'chmodded.bin', first, (path) => chmod(path, 0o600));
  assertWhole(got, first);
});

test('a new file renamed over the path while it is sent (an atomic save): the old version arrives whole', async () => {
  const got = await changedWhileSent('/replaced.bin', 'replaced.bin', first, async (path) => {
    await writeFile(`${path}.tmp~`, second);
    await rename(`${path}.tmp~`, path);
  });
  assertWhole(got, first);
});

test('a hard link added to a file while it is sent (its link count moves): the whole body arrives', async () => {
  const got = await changedWhileSent('/linked.bin', 'linked.bin', first, (path) => link(path, `${path}.link`));
  assertWhole(got, first);
});

test('a Range request whose file is moved away while it is sent: the whole range arrives, a 206', async () => {
  const from = 1000;
  const got = await changedWhileSent('/ranged.bin', 'ranged.bin', first, (path) => rename(path, `${path}.renamed`), [`Range: bytes=${from}-`]);
  const part = first.subarray(from);
  assert.match(got.head, /^HTTP\/1\.1 206 /);
  assert.match(got.head, new RegExp(`\r\ncontent-range: bytes ${from}-${SIZE - 1}/${SIZE}\r\n`, 'i'));
  assert.equal(got.body.length, part.length, `${got.body.length} of ${part.length} bytes arrived`);
  assert.ok(got.body.equals(part));
  assert.equal(got.record.status, 206);
  assert.equal(got.record.bytes, part.length);
  assert.equal(got.record.aborted, false, `logged as aborted: ${got.record.note ?? ''}`);
});

test('a multipart Range request whose file is removed while it is sent: every part arrives whole', async () => {
  const ranges: Array<[number, number]> = [
    [0, 99],
    [4096, SIZE - 4097],
    [SIZE - 10, SIZE - 1],
  ];
  const spec = ranges.map(([a, b]) => `${a}-${b}`).join(',');
  const got = await changedWhileSent('/parts.bin', 'parts.bin', first, (path) => rm(path), [`Range: bytes=${spec}`]);
  assert.match(got.head, /^HTTP\/1\.1 206 /);
  assert.match(got.head, /\r\ncontent-type: multipart\/byteranges; boundary=/i);
  const length = Number(/\r\ncontent-length: (\d+)\r\n/i.exec(got.head)?.[1]);
  assert.equal(got.body.length, length, `${got.body.length} of ${length} bytes arrived (${got.record.note ?? 'no note'})`);
  let at = 0;
  for (const [a, b] of ranges) {
    const header = `\r\nContent-Range: bytes ${a}-${b}/${SIZE}\r\n`;
    const headerAt = got.body.indexOf(header, at, 'latin1');
    assert.ok(headerAt >= 0, `the part ${a}-${b}`);
    const partStart = got.body.indexOf('\r\n\r\n', headerAt, 'latin1') + 4;
    assert.ok(got.body.subarray(partStart, partStart + b - a + 1).equals(first.subarray(a, b + 1)), `the bytes of the part ${a}-${b}`);
    at = partStart + b - a + 1;
  }
  assert.equal(got.record.status, 206);
  assert.equal(got.record.bytes, length);
  assert.equal(got.record.aborted, false, `logged as aborted: ${got.record.note ?? ''}`);
});

test('a stored .gz decoded for a client, moved away while it is sent: the whole decoded body arrives', async () => {
  // Gzip members of 256 KiB (stored, level 0), 64 of them: far over the socket buffers.
  const member = gzipSync(Buffer.alloc(262_091, 'a'), { level: 0 });
  const gz = Buffer.concat(Array.from({ length: 64 }, () => member));
  // No Accept-Encoding: the server decodes it (chunked).
  const got = await changedWhileSent('/decoded.txt.gz', 'decoded.txt.gz', gz, (path) => rename(path, `${path}.renamed`));
  assert.match(got.head, /^HTTP\/1\.1 200 [^]*\r\ntransfer-encoding: chunked\r\n/i);
  const decoded = decodeChunked(got.body);
  assert.ok(decoded !== undefined, `the decoded body cut short after ${got.body.length} bytes (${got.record.note ?? 'no note'})`);
  assert.equal(decoded.body.length, 64 * 262_091);
  assert.ok(decoded.body.every((b) => b === 0x61));
  assert.equal(got.record.aborted, false, `logged as aborted: ${got.record.note ?? ''}`);
});

test('a file rewritten in place with other bytes of its length while it is sent: still cut short', async () => {
  const got = await changedWhileSent('/rewritten.bin', 'rewritten.bin', first, (path) => writeFile(path, second, { flag: 'r+' }));
  assertCut(got);
});

test('a file truncated and written again (cat other > file) while it is sent: still cut short, never a mix', async () => {
  const got = await changedWhileSent('/catted.bin', 'catted.bin', first, (path) => writeFile(path, second));
  assert.match(got.head, /^HTTP\/1\.1 200 /);
  assert.ok(got.body.length < SIZE, `a whole ${got.body.length}-byte body after an in-place rewrite`);
  assert.equal(got.record.aborted, true);
});

test('a file appended to while it is sent: still cut short', async () => {
  const got = await changedWhileSent('/appended.bin', 'appended.bin', first, (path) => appendFile(path, 'more'));
  assertCut(got);
});

/**
 * Changes `path`'s mode back and forth about every 2 ms for `ms` (at most 500 changes): its ctime
 * keeps moving (the kernel's coarse clock ticks every 4 ms or so), its bytes and mtime never.
 */
function chmodFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  return (async () => {
    for (let i = 0; i < 500 && Date.now() < end; i++) {
      await chmod(path, i % 2 === 0 ? 0o600 : 0o644);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
}

/**
 * Asks for `target` (with `headers`) while `name`, holding `content`, is chmod-ed over and over:
 * each request is made within the server's settle window (20 ms from the ctime), so the server
 * waits it out and looks at the descriptor's stat again, which only the ctime moved. Each answer
 * must be a 200 (before: 503 "the file changed while it was read"). Returns the bodies.
 */
async function askWhileChmodded(target: string, name: string, content: Buffer, headers: readonly string[] = []): Promise<Buffer[]> {
  const path = join(root, name);
  await writeFile(path, content);
  // Once, so a cache fill, a plan or a type sniffed are not what is tested: the answers while chmod-ed are.
  await fetchOnce(running.port, request(target, { headers }));
  const storm = chmodFor(path, 400);
  const bodies: Buffer[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      const res = await fetchOnce(running.port, request(target, { headers }), { timeoutMs: 10_000 });
      assert.equal(res.status, 200, `#${i}: ${res.status} ${res.body.subarray(0, 100).toString('latin1')}`);
      bodies.push(res.body);
    }
  } finally {
    await storm;
    await chmod(path, 0o644);
  }
  return bodies;
}

test('a streamed file chmod-ed over and over while asked for: every answer a 200 of its bytes, never 503', async () => {
  const content = first.subarray(0, 2 * 1024 * 1024);
  for (const body of await askWhileChmodded('/chmod-streamed.bin', 'chmod-streamed.bin', content)) assert.ok(body.equals(content));
});

test('a small file chmod-ed over and over while asked for (read whole): every answer a 200 of its bytes, never 503', async () => {
  const content = first.subarray(0, 64 * 1024);
  // Under the file cache's 1 MiB: read whole (a changed ctime makes the cache read it again).
  for (const body of await askWhileChmodded('/chmod-small.bin', 'chmod-small.bin', content)) assert.ok(body.equals(content));
});

test('a page chmod-ed over and over while a tab asks for it (live-reload tag injected): every answer a 200, never 503', async () => {
  const page = Buffer.from(`<!doctype html><html><head><title>t</title></head><body>${'p'.repeat(4_000)}</body></html>`);
  const bodies = await askWhileChmodded('/chmod-page.html', 'chmod-page.html', page, ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate']);
  for (const body of bodies) assert.ok(body.toString('latin1').includes('p'.repeat(4_000)));
});
