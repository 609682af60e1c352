/**
 * HEAD answers as GET does (RFC 9110 §9.3.2) for an empty file that keeps changing: the empty
 * file is one version and is sent as it is (README, "A file written while it is read"), so a GET
 * is 200 with Content-Length 0, and a HEAD must be too — it used to wait for the file to settle
 * and answer 503 when its stat moved, which an empty body cannot be torn by.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

let root: string;
let srv: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-head-empty-'));
  srv = await startServer({ root });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

test('an empty file whose stat keeps moving: HEAD is 200 with Content-Length 0, as GET is', async () => {
  const file = join(root, 'saving.txt');
  await writeFile(file, '');
  // An editor's saves in a row: each moves ctime (the kernel's), so the file is always "changed
  // within the last 20 ms" and its stat never the one the answer was made from.
  let touching = true;
  const touch = async (): Promise<void> => {
    for (let i = 0; touching && i < 2000; i++) {
      const now = new Date();
      await utimes(file, now, now);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const toucher = touch();
  try {
    for (let i = 0; i < 3; i++) {
      const get = await fetchOnce(srv.port, request('/saving.txt'));
      const head = await fetchOnce(srv.port, request('/saving.txt', { method: 'HEAD' }), { head: true });
      assert.equal(get.status, 200);
      assert.equal(get.header('content-length'), '0');
      assert.equal(head.status, get.status, `HEAD answered ${head.status} where GET answered ${get.status}`);
      assert.equal(head.header('content-length'), '0');
      assert.ok(head.header('etag') !== undefined, 'the HEAD states the empty version\'s validators');
    }
  } finally {
    touching = false;
    await toucher;
  }
});
