// Generates the benchmark's document root, deterministically, into .cache/bench/docroot
// (or the folder given as the first argument). Idempotent: a manifest records what was written,
// and files whose size is already right are kept (the 100 MiB file is not rewritten each run).
//
//   1k.html        1 KiB HTML page (exactly 1,024 bytes)
//   148k.txt       148 KiB of plain text (151,552 bytes)
//   37k.jpg        37 KiB (37,888 bytes) of deterministic bytes between a JPEG SOI and EOI marker.
//                  Not a decodable image: it only tests the transfer of a binary file with a .jpg
//                  name (image/jpeg). No workload fetches it today; it is there for manual runs.
//   100m.bin       100 MiB of deterministic pseudo-random bytes
//   files/NNN.EXT  1,000 small files, NNN = 000..999, EXT = css, js, txt by NNN % 3; sizes
//                  200..2,000 bytes (random-file.lua picks among them)
import { mkdirSync, writeFileSync, statSync, readFileSync, openSync, writeSync, closeSync, renameSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSION = 1;
export const SMALL_FILE_COUNT = 1000;
export const SMALL_EXTS = ['css', 'js', 'txt'];
export const smallFilePath = (i) => `/files/${String(i).padStart(3, '0')}.${SMALL_EXTS[i % 3]}`;

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_DOCROOT = resolve(here, '../../.cache/bench/docroot');

/** xorshift32: the same bytes on every machine. */
function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function randomBytes(n, seed) {
  const next = prng(seed);
  const buf = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) buf.writeUInt32LE(next(), i);
  for (; i < n; i++) buf[i] = next() & 0xff;
  return buf;
}

const WORDS = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut ' +
  'labore et dolore magna aliqua porthole preview static server socket request response header ' +
  'keep alive window harbour lighthouse tide').split(' ');

function text(n, seed) {
  const next = prng(seed);
  let out = '';
  let line = 0;
  while (out.length < n) {
    const w = WORDS[next() % WORDS.length];
    out += w;
    line += w.length + 1;
    if (line > 72) { out += '\n'; line = 0; } else out += ' ';
  }
  return out.slice(0, n - 1) + '\n';
}

function html1k() {
  const head = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Porthole bench 1 KiB</title>\n</head>\n<body>\n<h1>Porthole bench</h1>\n<p>';
  const tail = '</p>\n</body>\n</html>\n';
  const body = text(1024 - head.length - tail.length, 7).replace(/\n/g, ' ');
  const page = head + body + tail;
  if (Buffer.byteLength(page) !== 1024) throw new Error('1k.html is not 1,024 bytes');
  return page;
}

function jpeg(n) {
  const buf = randomBytes(n, 37);
  buf[0] = 0xff; buf[1] = 0xd8; buf[2] = 0xff; buf[3] = 0xe0; // SOI + APP0 marker
  buf[n - 2] = 0xff; buf[n - 1] = 0xd9; // EOI
  return buf;
}

function sizeOf(p) {
  try { return statSync(p).size; } catch { return -1; }
}

function writeIfNeeded(path, size, make, force) {
  if (!force && sizeOf(path) === size) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, make());
  return true;
}

function writeBig(path, size, seed) {
  const block = randomBytes(1024 * 1024, seed);
  const tmp = path + '.tmp';
  const fd = openSync(tmp, 'w');
  try {
    for (let written = 0; written < size; written += block.length) writeSync(fd, block, 0, Math.min(block.length, size - written));
  } finally { closeSync(fd); }
  renameSync(tmp, path);
}

export function makeDocroot(root = DEFAULT_DOCROOT) {
  const manifestPath = join(root, 'bench-manifest.json');
  let manifest;
  try { manifest = JSON.parse(readFileSync(manifestPath, 'utf8')); } catch { manifest = undefined; }
  const force = !manifest || manifest.version !== VERSION;
  mkdirSync(root, { recursive: true });
  let changed = 0;
  if (writeIfNeeded(join(root, '1k.html'), 1024, html1k, force)) changed++;
  if (writeIfNeeded(join(root, '148k.txt'), 148 * 1024, () => text(148 * 1024, 148), force)) changed++;
  if (writeIfNeeded(join(root, '37k.jpg'), 37 * 1024, () => jpeg(37 * 1024), force)) changed++;
  const bigSize = 100 * 1024 * 1024;
  if (force || sizeOf(join(root, '100m.bin')) !== bigSize) { writeBig(join(root, '100m.bin'), bigSize, 100); changed++; }
  const next = prng(1000);
  for (let i = 0; i < SMALL_FILE_COUNT; i++) {
    const size = 200 + (next() % 1801);
    const p = join(root, smallFilePath(i));
    if (writeIfNeeded(p, size, () => text(size, 5000 + i), force)) changed++;
  }
  if (changed > 0 || force) {
    writeFileSync(manifestPath, JSON.stringify({ version: VERSION, files: 4 + SMALL_FILE_COUNT }, null, 2) + '\n');
  }
  return { root, changed };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { root, changed } = makeDocroot(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_DOCROOT);
  console.log(`docroot ${root}: ${changed} file(s) written`);
}
