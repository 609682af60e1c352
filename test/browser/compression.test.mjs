// Content codings in a real Chromium, through the built CLI (dist/cli.js). Run after
// `npm run build`:  node --test test/browser/compression.test.mjs
// - a `.wasm.br` (a tiny valid module built here, brotli'd with zlib) requested by its own name
//   instantiates via WebAssembly.instantiateStreaming(fetch(...)), as a Unity WebGL build does,
//   both from http://127.0.0.1 (a potentially trustworthy origin: Chromium lists br there) and
//   from a plain-HTTP name that is not (`porthole-lan.test`, mapped to 127.0.0.1 inside Chromium
//   only: how a phone or a LAN address reaches the server). Chromium lists no br there and
//   refuses a br body ("Failed to fetch"), so Porthole sends it decoded;
// - a script compressed on the fly runs, and a page with live reload (compressed after the client
//   is injected) still reloads on a change.
/* global document, window, WebAssembly -- used inside page.evaluate() callbacks */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { brotliCompressSync } from 'node:zlib';
import { launchChromium, REPO_ROOT, startCli } from './chromium.mjs';

const STEP_TIMEOUT_MS = 30_000;

/** A WebAssembly module exporting `answer`: () => i32 returning 42 (spelled out, section by section). */
const WASM = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: one type, () -> i32
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x07, 0x0a, 0x01, 0x06, 0x61, 0x6e, 0x73, 0x77, 0x65, 0x72, 0x00, 0x00, // export "answer" = func 0
  0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x2a, 0x0b, // code: no locals, i32.const 42, end
]);

const SCRIPT = `window.scriptRan = true;\n${'// a comment line that makes this script worth compressing\n'.repeat(60)}`;
const PAGE = (marker) =>
  `<!DOCTYPE html>\n<html><head><title>${marker}</title><script src="app.js"></script></head><body>\n${'<p>filler paragraph</p>\n'.repeat(120)}</body></html>\n`;

/** @type {string | undefined} */
let siteDir;
/** @type {import('playwright-core').Browser | undefined} */
let browser;
/** @type {import('playwright-core').Browser | undefined} */
let lanBrowser;
/** @type {import('./chromium.mjs').RunningCli | undefined} */
let cli;
/** A host name that is not loopback to Chromium's eyes; its resolver maps it to 127.0.0.1. */
const LAN_NAME = 'porthole-lan.test';

before(
  async () => {
    siteDir = await mkdtemp(path.join(tmpdir(), 'porthole-compression-'));
    await writeFile(path.join(siteDir, 'game.wasm.br'), brotliCompressSync(WASM));
    await writeFile(path.join(siteDir, 'app.js'), SCRIPT);
    await writeFile(path.join(siteDir, 'index.html'), PAGE('first'));
    cli = await startCli([siteDir, '--port', '0', '--allowed-host', LAN_NAME], { cwd: REPO_ROOT });
    browser = await launchChromium();
    lanBrowser = await launchChromium({ extraArgs: [`--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`] });
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await browser?.close().catch(() => {});
    await lanBrowser?.close().catch(() => {});
    await cli?.stop();
    if (siteDir) await rm(siteDir, { recursive: true, force: true });
  },
  { timeout: 20_000 },
);

async function newPage(on = browser) {
  assert.ok(on);
  const context = await on.newContext();
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(10_000);
  const page = await context.newPage();
  return { page, close: () => context.close() };
}

/** Loads `base`, instantiates game.wasm.br there; returns what the page saw and Chromium's Accept-Encoding. */
async function instantiateAt(on, base) {
  const { page, close } = await newPage(on);
  try {
    /** @type {Record<string, string>} */
    const listed = {};
    page.on('request', async (request) => {
      listed[new URL(request.url()).pathname] = (await request.allHeaders())['accept-encoding'] ?? '';
    });
    await page.goto(base, { waitUntil: 'load' });
    const result = await page.evaluate(async () => {
      try {
        const response = await fetch('game.wasm.br');
        const { instance } = await WebAssembly.instantiateStreaming(response);
        return { answer: instance.exports.answer(), type: response.headers.get('content-type'), coding: response.headers.get('content-encoding') };
      } catch (err) {
        return { error: String(err) };
      }
    });
    return { result, acceptEncoding: listed['/game.wasm.br'] ?? listed['/'] ?? '' };
  } finally {
    await close();
  }
}

test('a .wasm.br instantiates with instantiateStreaming(fetch()) from http://127.0.0.1 (br listed)', { timeout: STEP_TIMEOUT_MS }, async () => {
  assert.ok(cli);
  const { result, acceptEncoding } = await instantiateAt(browser, cli.url);
  console.log(`# Chromium's Accept-Encoding to ${cli.url}: ${acceptEncoding}`);
  assert.match(acceptEncoding, /\bbr\b/);
  assert.deepEqual(result, { answer: 42, type: 'application/wasm', coding: 'br' });
});

test('from a plain-HTTP origin that is not loopback, Chromium does not list br; the .wasm.br is sent decoded and instantiates', { timeout: STEP_TIMEOUT_MS }, async () => {
  assert.ok(cli);
  const base = `http://${LAN_NAME}:${cli.port}/`;
  const { result, acceptEncoding } = await instantiateAt(lanBrowser, base);
  console.log(`# Chromium's Accept-Encoding to ${base}: ${acceptEncoding}`);
  assert.match(acceptEncoding, /gzip/);
  assert.doesNotMatch(acceptEncoding, /\bbr\b/);
  // Decoded by Porthole: Chromium refuses a br body on such an origin ("Failed to fetch").
  assert.deepEqual(result, { answer: 42, type: 'application/wasm', coding: null });
});

test('a script compressed on the fly runs; the page (compressed after the client is injected) reloads on a change', { timeout: STEP_TIMEOUT_MS }, async () => {
  assert.ok(cli && siteDir);
  const { page, close } = await newPage();
  try {
    /** @type {Record<string, string | undefined>} */
    const codings = {};
    page.on('response', (response) => {
      codings[new URL(response.url()).pathname] = response.headers()['content-encoding'];
    });
    await page.goto(cli.url, { waitUntil: 'load' });
    assert.equal(await page.title(), 'first');
    assert.equal(await page.evaluate(() => window.scriptRan), true);
    assert.match(codings['/app.js'] ?? '', /^(br|gzip)$/, 'the script came compressed');
    assert.match(codings['/'] ?? '', /^(br|gzip)$/, 'the page came compressed');
    assert.equal(await page.locator('script[data-porthole-client]').count(), 1, 'the reload client is in the page');
    // Connected (the client has its id) before the edit, so the change cannot be missed.
    await page.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: 10_000 });
    await writeFile(path.join(siteDir, 'index.html'), PAGE('second'));
    await page.waitForFunction(() => document.title === 'second', undefined, { timeout: 15_000 });
  } finally {
    await close();
  }
});
