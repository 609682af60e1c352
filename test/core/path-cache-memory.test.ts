/**
 * The caches kept by request path (the file cache and its URL dates, live reload's page shapes,
 * the configured header lists) hold what their bounds say, whatever heads the paths came in: a
 * path sliced from its decoded head keeps the whole head alive in V8 while the slice lives, so a
 * key kept as it came held up to 16 KiB of head per path (1,000 paths with a 15 KB field: 16.4 MB
 * kept after a full collection). The parser copies each new target out of its head.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PreviewServer } from '../../src/core';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** One GET with a 15 KB field, on its own connection, read to the end. */
function get(port: number, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'p'.repeat(15_000)}\r\nConnection: close\r\n\r\n`);
  });
}

/** The heap grown by `work` after two full collections before and after it (bytes). */
async function heapKept(work: () => Promise<void>): Promise<number> {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  await work();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
  gc();
  return process.memoryUsage().heapUsed - before;
}

const LONG = 'q'.repeat(200);

test('1,000 files and 1,000 query strings asked with 15 KB heads leave the path caches holding their paths, not their heads', async () => {
  const root = await mkdtemp(join(tmpdir(), 'porthole-path-cache-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><p>x</p>');
  // 1,000 files with 205-character names: each one a file-cache entry and a URL date of its own.
  for (let i = 0; i < 1_000; i++) await writeFile(join(root, `${String(i).padStart(4, '0')}${LONG}.txt`), `file ${i}\n`);
  // Not the test harness: it keeps every request record (and so every head) for its assertions.
  const server = new PreviewServer();
  try {
    const { port } = await server.listen({
      port: 0,
      host: '127.0.0.1',
      root,
      configFile: false,
      resolveHostNames: false,
      reload: { enabled: true, watch: false },
      headers: [{ source: '**', headers: { 'X-Frame-Options': 'DENY' } }],
    });
    for (let i = 0; i < 20; i++) await get(port, '/index.html');
    // 1,000 files first (the file cache keeps each, 1,000 < its 4,096 entries, and its URL date;
    // the page shapes too, 1,020 < their 1,024).
    const files = await heapKept(async () => {
      for (let i = 0; i < 1_000; i++) await get(port, `/${String(i).padStart(4, '0')}${LONG}.txt`);
    });
    // Then one page by 1,000 query strings (the configured header lists: 1,000 < their 1,024 paths,
    // each 215 characters, under their 256; the page shapes start over once, at 1,024).
    const queries = await heapKept(async () => {
      for (let i = 0; i < 1_000; i++) await get(port, `/index.html?${String(i).padStart(4, '0')}${LONG}`);
    });
    // Measured with each target copied out of its head: 6.8 MB for the files (their cache entries:
    // bodies, heads, validators) and 0.0 MB for the query strings (the page shapes started over,
    // giving back what the files' shapes held); with targets kept as sliced, 21.4 and 15.3 MB.
    const grew = `the heap grew by ${(files / 1e6).toFixed(1)} MB for 1,000 cached files with 205-character names, by ${(queries / 1e6).toFixed(1)} MB for 1,000 query strings of 215 characters`;
    assert.ok(files < 12_000_000 && queries < 6_000_000, grew);
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
});
