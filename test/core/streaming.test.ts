/**
 * Big bodies over TCP: byte-exact delivery, clients that leave mid-transfer, files that shrink or
 * vanish mid-stream, and bounded memory while several slow clients download a big file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, truncate, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { MIB, makeSite, patternBytes, writePatternFile, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request, withTimeout } from './raw-client';

let site: Site;
let srv: Running;

before(async () => {
  site = await makeSite();
  // A long idle timeout, so that a connection left hanging is a failure, not a timeout rescue.
  srv = await startServer({ root: site.root, timeouts: { idleMs: 60_000 } });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});

/** Sends a GET and reads the head; the body is left to the caller. */
async function startDownload(name: string): Promise<{ client: RawClient; length: number }> {
  const client = await RawClient.connect(srv.port);
  client.noTranscript();
  await client.write(request(`/${name}`));
  // Read the head only: a HEAD-style read leaves the body bytes buffered.
  const res = await client.readResponse({ head: true });
  assert.equal(res.status, 200);
  return { client, length: Number(res.header('content-length')) };
}

function waitForRecords(count: number, timeoutMs = 5_000): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      if (srv.records.length >= count) return resolve();
      const on = (): void => {
        if (srv.records.length >= count) {
          srv.server.off('request', on);
          resolve();
        }
      };
      srv.server.on('request', on);
    }),
    timeoutMs,
    `${count} request records`,
  );
}

test('the 10 MiB file arrives byte-exact', async () => {
  const client = await RawClient.connect(srv.port);
  client.noTranscript();
  try {
    await client.write(request(`/${site.bigName}`));
    const res = await client.readResponse({ timeoutMs: 20_000 });
    assert.equal(res.status, 200);
    assert.equal(res.header('content-length'), String(site.bigSize));
    assert.equal(res.body.length, site.bigSize);
    assert.ok(res.body.equals(patternBytes(0, site.bigSize)), 'bytes differ');
    // The connection is reusable afterwards.
    await client.write(request('/hello.txt'));
    assert.equal((await client.readResponse()).body.toString(), site.hello);
  } finally {
    client.destroy();
  }
});

test('several ranges of the streamed file, read by a client that stalls, arrive byte-exact in one multipart body', async () => {
  // The file's ranges go out through two reused read buffers: pieces of one range, and the next
  // range, must never overwrite bytes the socket has not sent yet. The client stops reading for a
  // while first, so that the kernel's buffers fill and the server's writes wait in memory.
  // More than the kernel's socket buffers on loopback hold (several MiB), so that writes wait.
  const name = 'ranges-32m.bin';
  const size = 32 * MIB;
  await writePatternFile(join(site.root, name), size);
  const ranges: Array<[number, number]> = [
    [1, 12_000_000],
    [13_000_000, 13_000_000 + 3 * 262_144],
    [size - 9_555_555, size - 1],
  ];
  const socket = connect({ host: '127.0.0.1', port: srv.port });
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  socket.pause();
  socket.write(request(`/${name}`, { headers: ['Connection: close', `Range: bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(', ')}`] }));
  await new Promise((r) => setTimeout(r, 300));
  socket.resume();
  await withTimeout(ended, 20_000, 'the whole response');
  socket.destroy();
  const all = Buffer.concat(chunks);
  const headEnd0 = all.indexOf('\r\n\r\n', 0, 'latin1');
  const head = all.subarray(0, headEnd0).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 206 /);
  const boundary = /boundary=(\S+)/.exec(head)?.[1] ?? '';
  assert.notEqual(boundary, '');
  const res = { body: all.subarray(headEnd0 + 4) };
  let at = 0;
  for (const [start, end] of ranges) {
    at = res.body.indexOf(`--${boundary}\r\n`, at, 'latin1');
    assert.ok(at >= 0, 'a part delimiter');
    const headEnd = res.body.indexOf('\r\n\r\n', at, 'latin1');
    assert.match(res.body.subarray(at, headEnd).toString('latin1'), new RegExp(`Content-Range: bytes ${start}-${end}/${size}`));
    const body = res.body.subarray(headEnd + 4, headEnd + 4 + (end - start + 1));
    assert.ok(body.equals(patternBytes(start, end - start + 1)), `bytes ${start}-${end} differ`);
    at = headEnd + 4 + body.length;
  }
  await unlink(join(site.root, name));
});

test('a client that reads part of the file and leaves: logged as aborted, next client served', async () => {
  const before = srv.records.length;
  const { client } = await startDownload(site.bigName);
  await client.waitForBytes(256 * 1024);
  client.destroy();
  await waitForRecords(before + 1);
  const record = srv.records[before];
  assert.ok(record !== undefined);
  assert.equal(record.aborted, true);
  assert.ok(record.bytes < site.bigSize, `logged ${record.bytes} bytes`);
  const next = await fetchOnce(srv.port, request('/hello.txt'));
  assert.equal(next.status, 200);
});

test('a file truncated mid-stream ends that socket only (no hang, no bogus keep-alive)', async () => {
  const name = 'shrinking.bin';
  const path = join(site.root, name);
  await writePatternFile(path, 32 * MIB);
  const { client, length } = await startDownload(name);
  try {
    assert.equal(length, 32 * MIB);
    await client.waitForBytes(64 * 1024);
    client.socket.pause();
    await truncate(path, MIB);
    client.socket.resume();
    // The server must end the connection: fewer bytes than Content-Length, then EOF.
    await client.waitForEof(10_000);
    assert.ok(client.buffered < length, `got ${client.buffered} of ${length}`);
    const other = await fetchOnce(srv.port, request('/hello.txt'));
    assert.equal(other.status, 200);
  } finally {
    client.destroy();
  }
});

test('a file deleted mid-stream: that transfer completes from the open descriptor or ends; others unaffected', async () => {
  const name = 'vanishing.bin';
  const path = join(site.root, name);
  await copyFile(join(site.root, site.bigName), path);
  const { client, length } = await startDownload(name);
  try {
    await client.waitForBytes(64 * 1024);
    client.socket.pause();
    await unlink(path);
    client.socket.resume();
    // POSIX keeps an unlinked open file readable, so the body may complete; if it does, it must
    // be byte-exact, and if it does not, the connection must end (not hang).
    const body = await client.readBytes(length, 15_000).catch((err: unknown) => {
      if (!client.ended) throw err;
      return undefined;
    });
    if (body !== undefined) {
      assert.ok(body.equals(patternBytes(0, length)), 'bytes differ');
    }
    assert.equal((await fetchOnce(srv.port, request(`/${name}`))).status, 404);
    assert.equal((await fetchOnce(srv.port, request('/hello.txt'))).status, 200);
  } finally {
    client.destroy();
  }
});

test('memory stays bounded while 10 slow clients download a 64 MiB file', async () => {
  const name = 'huge.bin';
  const size = 64 * MIB;
  await writePatternFile(join(site.root, name), size);
  const clients: RawClient[] = [];
  let received = 0;
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  try {
    for (let i = 0; i < 10; i++) {
      const client = await RawClient.connect(srv.port);
      client.noTranscript();
      // Count and drop the bytes: the client keeps nothing.
      client.socket.removeAllListeners('data');
      client.socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      client.socket.pause();
      await client.write(request(`/${name}`));
      clients.push(client);
    }
    // ~2 s of slow reading: every 100 ms each client takes one turn of whatever is waiting.
    for (let tick = 0; tick < 20; tick++) {
      for (const c of clients) c.socket.resume();
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (const c of clients) c.socket.pause();
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
  } finally {
    for (const c of clients) c.destroy();
  }
  const growth = rssMax - rssBefore;
  assert.ok(received > 0, 'the slow clients received something');
  assert.ok(received < size * clients.length, 'they did not get everything (they were slow)');
  // 10 × 64 MiB would be 640 MiB if the server buffered whole files; allow a small fraction.
  assert.ok(growth < 128 * MIB, `rss grew by ${(growth / MIB).toFixed(1)} MiB`);
  assert.equal((await fetchOnce(srv.port, request('/hello.txt'))).status, 200);
});
