/**
 * Stored `.br`/`.gz` files decoded for a client that does not take the coding (a phone on plain
 * HTTP gets no br) are bounded (helper-50, issue 10 items 1 and 9's kind): at most
 * DECODES_MAX_AT_ONCE decodes run at once (past it 503 with Retry-After), and a body that decodes
 * to more than 256 times its stored file and 16 MiB (a bomb) is a 500 when decoded in memory, or
 * cut when streamed. Over TCP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { startServer, type Running } from './harness';
import { connect } from 'node:net';
import { fetchOnce, request, unreadClients, withTimeout } from './raw-client';

const MIB = 1024 * 1024;
let root = '';
let srv: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-decode-'));
  // 64 MiB of zeros: 106 bytes of brotli, 65 KB of gzip (~1,000×): both past 256 times their size.
  const fast = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };
  await writeFile(join(root, 'bomb.txt.br'), brotliCompressSync(Buffer.alloc(64 * MIB), fast));
  await writeFile(join(root, 'bomb.json.gz'), gzipSync(Buffer.alloc(64 * MIB)));
  // 16 MiB of base64 text: a decode that lasts while its client does not read. It must be more
  // than the kernel takes for a reader that reads nothing (Linux's default tcp_wmem maximum, 4 MiB,
  // plus the reader's window): at 4 MiB the whole body sometimes went into the kernel, the eight
  // decodes ended, and the ninth was served 200 (a keep-alive chunked answer read to an EOF that
  // never came), not the 503 asked for.
  await writeFile(join(root, 'real.js.br'), brotliCompressSync(Buffer.from(randomBytes(12 * MIB).toString('base64')), fast));
  srv = await startServer({ root, reload: { enabled: false } });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

/** GETs `target` with `Connection: close`; resolves with the status line and the bytes received until the close (bounded). */
function download(target: string): Promise<{ statusLine: string; bytes: number }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = connect(srv.port, '127.0.0.1');
      let first = '';
      let bytes = 0;
      socket.on('data', (b: Buffer) => {
        if (first.length < 64) first += b.subarray(0, 64).toString('latin1');
        bytes += b.length;
      });
      socket.on('close', () => resolve({ statusLine: first.split('\r\n')[0] ?? '', bytes }));
      // An answer the server cuts ends with a reset (Connection.cut): the bytes before it count.
      socket.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ECONNRESET') reject(e);
      });
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    }),
    20_000,
    `the download of ${target}`,
  );
}

test('a stored file in memory that decodes to more than 256 times its size and 16 MiB is a complete 500 that says so, never sent whole', async () => {
  // 106 bytes of brotli, 65 KB of gzip: both in memory, decoded before the answer starts.
  for (const name of ['/bomb.txt.br', '/bomb.json.gz']) {
    const refused = await fetchOnce(srv.port, request(name, { headers: ['Connection: close'] }));
    assert.equal(refused.status, 500, name);
    assert.equal(Number(refused.header('content-length')), refused.body.length, name);
    assert.match(refused.body.toString('utf8'), /bomb\.(txt\.br|json\.gz) .*decodes to more than 16(\.0)? MiB/, name);
    const record = srv.records.find((r) => r.target === name);
    assert.match(record?.note ?? '', /not decoded from .*: it decodes to more than/, name);
  }
});

test('at most 8 decodes at once: the next gets 503 with Retry-After, and a decode is served again once one ends', async () => {
  const holders = await unreadClients(srv.port, 8, (i) => request(`/real.js.br?hold=${i}`));
  try {
    await new Promise((r) => setTimeout(r, 300));
    const busy = await fetchOnce(srv.port, request('/real.js.br?ninth'));
    assert.equal(busy.status, 503);
    assert.equal(busy.header('retry-after'), '2');
    assert.equal(busy.body.toString('utf8'), 'Service unavailable: too many compressed files are being decoded right now; try again shortly.\n');
  } finally {
    for (const c of holders) c.destroy();
  }
  let status = 0;
  for (let i = 0; i < 40 && status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const { statusLine } = await download('/real.js.br?again');
    status = Number(statusLine.split(' ')[1]);
  }
  assert.equal(status, 200);
});
