/**
 * Input that arrives a few bytes at a time is joined with a bounded number of copies of each byte,
 * over real TCP against a real PreviewServer. Joining what waited and each new piece into a new
 * buffer copied every waiting byte again per piece: a client trickling one byte per packet made
 * the server copy (n²/2) bytes, a second of CPU for the 64 KiB a connection may buffer while its
 * answer is written. (The WebSocket frame reader had the same join: test/live-reload/socket.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient } from './raw-client';
import { connectionStats } from '../../src/core/http/connection';

let site: Site;
let srv: Running;

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  srv = await startServer({ root: site.root });
});

after(async () => {
  await srv.close();
  await site.cleanup();
});

test('a head trickled a byte per write is answered, each byte copied a bounded number of times', async () => {
  // One long field (a few lines only: the field checks of a partial head run per line, not per byte).
  const head = `GET /README HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nX-Pad: ${'a'.repeat(12_000)}\r\n\r\n`;
  const client = await RawClient.connect(srv.port);
  try {
    const before = connectionStats.inputCopiedBytes;
    await client.writePieces(head, 1);
    const res = await client.readResponse({ timeoutMs: 10_000 });
    const copied = connectionStats.inputCopiedBytes - before;
    assert.equal(res.status, 200);
    assert.ok(copied <= 4 * head.length, `${copied} bytes copied to read a head of ${head.length}`);
  } finally {
    client.destroy();
  }
});
