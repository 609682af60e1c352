/**
 * Content negotiation and representation metadata at their edges, over real sockets: `.br`/`.gz`
 * files beside a file in a mounted folder (judged against the mount, as the file is), and the
 * other cases found by comparing the answers with RFC 9110 and nginx.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { decodeChunked } from '../fixtures/backend';
import type { RequestRecord } from '../../src/core';
import { startServer, type Running } from './harness';
import { fetchOnce, request, type RawResponse } from './raw-client';

let base = '';
let root = '';
let lib = '';
let srv: Running;

function script(lines: number, tag: string): Buffer {
  let s = '';
  for (let i = 0; i < lines; i++) s += `console.log("${tag} line ${i}", ${i * 7});\n`;
  return Buffer.from(s, 'utf8');
}

const LIB = script(300, 'lib');
// Told apart from a copy compressed on the fly by their bytes: the sibling is what is on disk.
const LIB_BR = brotliCompressSync(LIB);
const LIB_GZ = gzipSync(LIB, { level: 1 });
const BIN = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256));
const BIN_GZ = gzipSync(BIN);
// Over the file cache's bound: streamed from its descriptor.
const BIG = Buffer.alloc(1024 * 1024 + 10, 'x');
const BIG_GZ = gzipSync(BIG);
const SVG = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">${'<rect width="1" height="1" fill="red"/>'.repeat(200)}</svg>`);
// Over 1 KiB stored: text of a type compressed on the fly, were it taken for plain SVG.
const SVGZ = gzipSync(Buffer.concat([SVG, Buffer.from(`<!-- ${Array.from({ length: 400 }, (_, i) => (i * 7919) % 10007).join(' ')} -->`)]));
const JSON_BODY = Buffer.from(JSON.stringify({ type: 'FeatureCollection', features: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `feature ${i}` })) }));
const JSON_FILES = ['map.geojson', 'data.jsonld', 'scene.gltf', 'notes.ipynb'];
const ROOT_SECRET_GZ = gzipSync(Buffer.from('IN THE SERVED ROOT, NOT THE MOUNT\n'.repeat(50)));

async function get(port: number, target: string, headers: readonly string[] = [], method = 'GET'): Promise<RawResponse> {
  return fetchOnce(port, request(target, { method, headers: [...headers, 'Connection: close'] }), { head: method === 'HEAD' });
}

async function recordOf(running: Running, target: string, nth: number): Promise<RequestRecord> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = running.records.filter((r) => r.target === target)[nth - 1];
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no record #${nth} for ${target}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-negotiation-'));
  root = join(base, 'site');
  lib = join(base, 'lib');
  await mkdir(join(root, 'docs'), { recursive: true });
  await mkdir(join(lib, 'dist'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><p>root</p>');
  await writeFile(join(root, 'secret.gz'), ROOT_SECRET_GZ);
  await writeFile(join(root, 'pic.svgz'), SVGZ);
  await writeFile(join(root, 'PIC2.SVGZ'), SVGZ);
  for (const name of JSON_FILES) await writeFile(join(root, name), JSON_BODY);
  await writeFile(join(lib, 'dist', 'lib.js'), LIB);
  await writeFile(join(lib, 'dist', 'lib.js.br'), LIB_BR);
  await writeFile(join(lib, 'dist', 'lib.js.gz'), LIB_GZ);
  await writeFile(join(lib, 'data.bin'), BIN);
  await writeFile(join(lib, 'data.bin.gz'), BIN_GZ);
  await writeFile(join(lib, 'big.txt'), BIG);
  await writeFile(join(lib, 'big.txt.gz'), BIG_GZ);
  // A sibling that leads out of the mount (into the served root) is outside, as any such file.
  await writeFile(join(lib, 'linked.js'), script(100, 'linked'));
  await symlink(join(root, 'secret.gz'), join(lib, 'linked.js.gz'));
  // Siblings written after the files (a build compresses what it wrote).
  const later = new Date(Date.now() + 1000);
  for (const name of ['dist/lib.js.br', 'dist/lib.js.gz', 'data.bin.gz', 'big.txt.gz', 'linked.js.gz']) {
    await utimes(join(lib, name), later, later);
  }
  srv = await startServer({ root, configFile: false, reload: { enabled: false }, mounts: [{ prefix: '/vendor', folder: lib }] });
});

after(async () => {
  await srv.close();
  await rm(base, { recursive: true, force: true });
});

describe('.br / .gz beside a file in a mounted folder', () => {
  test('chosen as in the root: the sibling’s own bytes and strong tag, the file’s type', async () => {
    const br = await get(srv.port, '/vendor/dist/lib.js', ['Accept-Encoding: br, gzip']);
    assert.equal(br.status, 200);
    assert.equal(br.header('content-encoding'), 'br');
    assert.ok(br.body.equals(LIB_BR), 'the .br file on disk, not a copy compressed on the fly');
    assert.match(br.header('etag') ?? '', /^"/, 'a file on disk: strong');
    assert.equal(br.header('content-type'), 'text/javascript; charset=utf-8');
    assert.equal((await recordOf(srv, '/vendor/dist/lib.js', 1)).filePath, join(lib, 'dist', 'lib.js.br'));
    const gz = await get(srv.port, '/vendor/dist/lib.js', ['Accept-Encoding: gzip']);
    assert.equal(gz.header('content-encoding'), 'gzip');
    assert.ok(gz.body.equals(LIB_GZ), 'the .gz file on disk');
    // Asked again: from the file cache, still the sibling.
    const again = await get(srv.port, '/vendor/dist/lib.js', ['Accept-Encoding: gzip']);
    assert.ok(again.body.equals(LIB_GZ));
    const ranged = await get(srv.port, '/vendor/dist/lib.js', ['Accept-Encoding: br', 'Range: bytes=0-9']);
    assert.equal(ranged.status, 206);
    assert.equal(ranged.header('content-range'), `bytes 0-9/${LIB_BR.length}`);
  });

  test('a binary file and a file over the cache bound get their .gz too (no copy on the fly to fall back on)', async () => {
    const bin = await get(srv.port, '/vendor/data.bin', ['Accept-Encoding: gzip']);
    assert.equal(bin.header('content-encoding'), 'gzip');
    assert.ok(bin.body.equals(BIN_GZ));
    const big = await get(srv.port, '/vendor/big.txt', ['Accept-Encoding: gzip']);
    assert.equal(big.header('content-encoding'), 'gzip');
    assert.equal(big.header('content-length'), String(BIG_GZ.length));
    assert.ok(big.body.equals(BIG_GZ));
    const head = await get(srv.port, '/vendor/big.txt', ['Accept-Encoding: gzip'], 'HEAD');
    assert.equal(head.header('content-length'), String(BIG_GZ.length));
  });

  test('a sibling that leads out of the mount (into the served root) is never served', async () => {
    const res = await get(srv.port, '/vendor/linked.js', ['Accept-Encoding: gzip']);
    assert.equal(res.status, 200);
    assert.ok(!res.body.equals(ROOT_SECRET_GZ), 'not the file in the served root');
  });
});

describe('.svgz: gzip-compressed SVG by its name', () => {
  test('image/svg+xml with Content-Encoding: gzip, the bytes as stored (never compressed again)', async () => {
    assert.ok(SVGZ.length > 1024, 'big enough to be compressed on the fly if taken for plain SVG');
    for (const target of ['/pic.svgz', '/PIC2.SVGZ']) {
      for (const accept of ['gzip, deflate, br', 'br, gzip', 'gzip']) {
        const res = await get(srv.port, target, [`Accept-Encoding: ${accept}`]);
        assert.equal(res.status, 200, target);
        assert.equal(res.header('content-type'), 'image/svg+xml; charset=utf-8', `${target} [${accept}]`);
        assert.equal(res.header('content-encoding'), 'gzip', `${target} [${accept}]: a browser decodes it, then draws the SVG`);
        assert.equal(res.header('vary'), 'Accept-Encoding');
        assert.ok(res.body.equals(SVGZ), `${target} [${accept}]: the stored bytes`);
        assert.ok(gunzipSync(res.body).subarray(0, 4).equals(Buffer.from('<svg')));
      }
    }
    const head = await get(srv.port, '/pic.svgz', ['Accept-Encoding: gzip'], 'HEAD');
    assert.equal(head.header('content-encoding'), 'gzip');
    assert.equal(head.header('content-length'), String(SVGZ.length));
  });

  test('to a client that does not accept gzip: decoded to the SVG', async () => {
    const res = await get(srv.port, '/pic.svgz');
    assert.equal(res.status, 200);
    assert.equal(res.header('content-encoding'), undefined);
    assert.equal(res.header('content-type'), 'image/svg+xml; charset=utf-8');
    const body = res.header('transfer-encoding') === 'chunked' ? decodeChunked(res.body)?.body : res.body;
    assert.ok(body?.equals(gunzipSync(SVGZ)), 'the decoded SVG');
  });
});

describe('JSON by its +json suffix (RFC 6839 §3.1)', () => {
  test('GeoJSON, JSON-LD, glTF and notebooks over 1 KiB are compressed as application/json is', async () => {
    assert.ok(JSON_BODY.length > 1024);
    for (const name of JSON_FILES) {
      const res = await get(srv.port, `/${name}`, ['Accept-Encoding: br, gzip']);
      assert.equal(res.status, 200, name);
      assert.match(res.header('content-type') ?? '', /\+json/, name);
      assert.equal(res.header('content-encoding'), 'br', name);
      assert.equal(res.header('vary'), 'Accept-Encoding', name);
      assert.ok(brotliDecompressSync(res.body).equals(JSON_BODY), name);
      const plain = await get(srv.port, `/${name}`);
      assert.equal(plain.header('vary'), 'Accept-Encoding', `${name}: the unencoded answer says it varies too`);
      assert.ok(plain.body.equals(JSON_BODY), name);
    }
  });
});

describe('Cache-Control on redirects', () => {
  test('the folder slash 301 (and a clean URL’s) is revalidated, not kept for good: the folder may become a page', async () => {
    const res = await get(srv.port, '/docs?x=1');
    assert.equal(res.status, 301);
    assert.equal(res.header('location'), '/docs/?x=1');
    assert.equal(res.header('cache-control'), 'no-cache');
    const head = await get(srv.port, '/docs', [], 'HEAD');
    assert.equal(head.status, 301);
    assert.equal(head.header('cache-control'), 'no-cache');
    const clean = await startServer({ root, configFile: false, reload: { enabled: false }, cleanUrls: true });
    try {
      await writeFile(join(root, 'about.html'), '<!doctype html><p>about</p>');
      const moved = await get(clean.port, '/about.html');
      assert.equal(moved.status, 301);
      assert.equal(moved.header('location'), '/about');
      assert.equal(moved.header('cache-control'), 'no-cache');
    } finally {
      await clean.close();
    }
  });
});
