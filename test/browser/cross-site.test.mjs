// Cross-site loads in a real browser (issue 10, item 7). Run after `npm run build`:
//   node --test test/browser/cross-site.test.mjs
// Porthole (the built CLI) serves app-config.js on 127.0.0.1; a page from "another site" is served
// by a tiny raw-socket responder in this test on 127.0.0.2 (another IP address is another site).
// That page tries <script src> of Porthole's app-config.js and reports whether it could read the
// global it defines. By default Chromium must get nothing; a page served by Porthole itself reads
// it; with --allow-cross-site the other site reads it too (what any site could do before).
/* global window, document, getComputedStyle -- used inside page.evaluate() callbacks, which run in the page */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from './chromium.mjs';

const SECRET = 'api-key-7f3a91';
const STEP_TIMEOUT_MS = 20_000;

/** @type {string | undefined} */
let siteDir;
/** @type {import('playwright-core').Browser | undefined} */
let browser;
/** @type {import('node:net').Server | undefined} */
let other;
let otherPort = 0;
/** The port of Porthole the "other site" page points its script at (set per test). */
let targetPort = 0;

/** The other site's page: loads Porthole's script and puts what it saw in document.title. */
function otherSitePage() {
  return `<!doctype html><html><head><title>pending</title></head><body>
<script>
  window.addEventListener('load', () => {
    const s = document.createElement('script');
    s.src = 'http://127.0.0.1:${targetPort}/app-config.js';
    s.onload = () => { document.title = window.APP_CONFIG ? 'read:' + window.APP_CONFIG.apiKey : 'loaded-without-global'; };
    s.onerror = () => { document.title = 'blocked'; };
    document.body.appendChild(s);
  });
</script></body></html>`;
}

before(async () => {
  siteDir = await mkdtemp(path.join(tmpdir(), 'porthole-cross-site-'));
  await writeFile(path.join(siteDir, 'app-config.js'), `window.APP_CONFIG = { apiKey: '${SECRET}' };\n`);
  await writeFile(
    path.join(siteDir, 'index.html'),
    `<!doctype html><html><head><title>pending</title><script src="/app-config.js"></script></head>
<body><script>document.title = window.APP_CONFIG ? 'read:' + window.APP_CONFIG.apiKey : 'missing';</script></body></html>\n`,
  );
  // One fixed page for any request; a raw HTTP/1.1 answer is enough for a test page.
  other = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => {
      const body = Buffer.from(otherSitePage(), 'utf8');
      socket.end(
        `HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  });
  await new Promise((resolve, reject) => {
    other?.once('error', reject);
    other?.listen({ port: 0, host: '127.0.0.2' }, () => resolve(undefined));
  });
  const address = other.address();
  otherPort = typeof address === 'object' && address !== null ? address.port : 0;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (other ? other.close(() => resolve(undefined)) : resolve(undefined)));
  if (siteDir) await rm(siteDir, { recursive: true, force: true });
});

/**
 * Runs Porthole with `flags`, opens `url(port)` in a fresh page and resolves with the title the
 * page settled on (anything but "pending").
 * @param {string[]} flags
 * @param {(port: number) => string} url
 */
async function titleOf(flags, url) {
  const cli = await startCli([siteDir ?? '', '--port', '0', '--quiet', '--no-reload', ...flags]);
  const context = await browser?.newContext();
  try {
    targetPort = cli.port;
    const page = await context?.newPage();
    assert.ok(page);
    await page.goto(url(cli.port), { timeout: STEP_TIMEOUT_MS });
    await page.waitForFunction(() => document.title !== 'pending', undefined, { timeout: STEP_TIMEOUT_MS });
    return await page.title();
  } finally {
    await context?.close();
    await cli.stop();
  }
}

test('a page on another site cannot run a served script and read its globals', async () => {
  const title = await titleOf([], () => `http://127.0.0.2:${otherPort}/`);
  assert.equal(title, 'blocked');
});

test('a page served by Porthole itself loads the same script', async () => {
  const title = await titleOf([], (port) => `http://127.0.0.1:${port}/`);
  assert.equal(title, `read:${SECRET}`);
});

test('with --allow-cross-site the other site can load it (the option works, and the test can see a leak)', async () => {
  const title = await titleOf(['--allow-cross-site'], () => `http://127.0.0.2:${otherPort}/`);
  assert.equal(title, `read:${SECRET}`);
});

test("a sandboxed frame of Porthole's own page is refused its files as another site's, and the 403 says why: a sandboxed frame (helper-147)", async () => {
  // A frame sandboxed without allow-same-origin has an opaque origin: Chromium sends its loads as
  // Sec-Fetch-Site: cross-site with no Referer. The refusal said "another site may not load files"
  // of a page the user had just opened from this server.
  await writeFile(path.join(siteDir ?? '', 'framed.html'), '<!doctype html><title>framed</title><script src="/app-config.js"></script>\n');
  await writeFile(path.join(siteDir ?? '', 'sandboxed.html'), '<!doctype html><title>host</title><iframe sandbox="allow-scripts" src="/framed.html"></iframe>\n');
  const cli = await startCli([siteDir ?? '', '--port', '0', '--no-reload']);
  const context = await browser?.newContext();
  try {
    const page = await context?.newPage();
    assert.ok(page);
    await page.goto(`${cli.url}sandboxed.html`, { timeout: STEP_TIMEOUT_MS });
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    const refused = () => cli.stdoutLines.find((l) => /GET \/app-config\.js 403 /.test(l));
    while (refused() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(refused() ?? cli.stdoutLines.join('\n'), /sent no address of its own .* as a sandboxed frame does; allow-same-origin in its sandbox, or --allow-cross-site/);
  } finally {
    await context?.close();
    await cli.stop();
  }
});

test('a page loads stylesheets and images from Porthole on another port of the same IP address: same-site (helper-151)', async () => {
  // Chromium calls 127.0.0.1:A and 127.0.0.1:B the same site (Sec-Fetch-Site: same-site), yet it
  // refused their answers while they said Cross-Origin-Resource-Policy: same-site
  // (ERR_BLOCKED_BY_RESPONSE.NotSameSite); the log said 200.
  const assets = await mkdtemp(path.join(tmpdir(), 'porthole-same-site-'));
  await writeFile(path.join(assets, 'x.css'), '#p { color: rgb(1, 2, 3); }\n');
  await writeFile(path.join(assets, 'x.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="17" height="9"><rect width="17" height="9"/></svg>\n');
  const assetCli = await startCli([assets, '--port', '0', '--quiet', '--no-reload']);
  await writeFile(
    path.join(siteDir ?? '', 'same-site.html'),
    `<!doctype html><html><head><title>same-site</title><link rel="stylesheet" href="http://127.0.0.1:${assetCli.port}/x.css"></head><body><p id="p">p</p><img id="i" src="http://127.0.0.1:${assetCli.port}/x.svg"></body></html>\n`,
  );
  try {
    // And from a page under COEP require-corp (helper-156: an answer without CORP failed there).
    for (const flags of [[], ['--cross-origin-isolation']]) {
      const pageCli = await startCli([siteDir ?? '', '--port', '0', '--quiet', '--no-reload', ...flags]);
      const context = await browser?.newContext();
      try {
        const page = await context?.newPage();
        assert.ok(page);
        /** @type {string[]} */
        const failed = [];
        page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
        await page.goto(`http://127.0.0.1:${pageCli.port}/same-site.html`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
        assert.deepEqual(failed, [], flags.join(' '));
        assert.equal(await page.evaluate(() => window.crossOriginIsolated), flags.length > 0);
        assert.equal(await page.evaluate(() => document.getElementById('i')?.naturalWidth), 17);
        assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('p') ?? document.body).color), 'rgb(1, 2, 3)');
      } finally {
        await context?.close();
        await pageCli.stop();
      }
    }
  } finally {
    await assetCli.stop();
    await rm(assets, { recursive: true, force: true });
  }
});
