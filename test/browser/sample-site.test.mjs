// Browser test of the sample site (htdocs-sample/) served by the built CLI (dist/cli.js).
// Run after `npm run build`:  node --test test/browser/sample-site.test.mjs
// The site is copied into a fresh temp folder, so the test never writes into the repository; the CLI
// logs into that copy's textlog.txt, which the menu links to. Screenshots of every step go to
// test-output/browser/ (gitignored). Chromium is Debian's (/usr/bin/chromium or CHROMIUM_PATH).
/* global document, HTMLImageElement -- used inside page.evaluate() callbacks, which run in the page */
import assert from 'node:assert/strict';
import { error as logError } from 'node:console';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { launchChromium, REPO_ROOT, startCli } from './chromium.mjs';

const SAMPLE_SITE = path.join(REPO_ROOT, 'htdocs-sample');
const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-output', 'browser');
const HEADING = 'Welcome to the Multi-thread Web Server.';
const STEP_TIMEOUT_MS = 30_000;
/** Bounds the wait for the request log to show a line (it is written after the response). */
const LOG_POLL_ATTEMPTS = 20;
const LOG_POLL_INTERVAL_MS = 250;

/** @type {string | undefined} */
let siteDir;
/** @type {import('./chromium.mjs').RunningCli | undefined} */
let cli;
/** @type {import('playwright-core').Browser | undefined} */
let browser;
/** @type {import('playwright-core').Page} */
let page;
/** @type {string} */
let baseUrl;
let shotNumber = 0;

/**
 * Saves a screenshot of the current page as test-output/browser/NN-name.png.
 * @param {string} name
 */
async function screenshot(name) {
  shotNumber += 1;
  const file = path.join(SCREENSHOT_DIR, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
}

/**
 * Clicks the link with this exact href and resolves to the navigation's main response.
 * @param {string} href
 * @returns {Promise<import('playwright-core').Response>}
 */
async function followLink(href) {
  const target = new URL(href, page.url()).href;
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === target && r.request().isNavigationRequest()),
    page.click(`a[href="${href}"]`),
  ]);
  await page.waitForURL(target);
  await page.waitForLoadState('load');
  return response;
}

/** Makes sure the menu is showing (a failed earlier step may have left another page open). */
async function ensureOnMenu() {
  const heading = await page.locator('h1').first().textContent({ timeout: 2_000 }).catch(() => null);
  if (heading?.trim() !== HEADING) {
    await page.goto(baseUrl, { waitUntil: 'load' });
  }
  assert.equal((await page.locator('h1').textContent())?.trim(), HEADING);
}

before(
  async () => {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    siteDir = await mkdtemp(path.join(tmpdir(), 'porthole-sample-'));
    // Copy the site, minus any log a local `npm start` left behind.
    await cp(SAMPLE_SITE, siteDir, {
      recursive: true,
      filter: (source) => path.basename(source) !== 'textlog.txt',
    });
    cli = await startCli([siteDir, '--port', '0', '--log', path.join(siteDir, 'textlog.txt')], {
      cwd: REPO_ROOT,
    });
    baseUrl = cli.url;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(10_000);
    page = await context.newPage();
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await browser?.close().catch(() => {});
    if (cli) {
      const { code, signal } = await cli.stop();
      if (code !== 0) logError(`CLI exited with code ${code}, signal ${signal}\n${cli.stderr()}`);
    }
    if (siteDir) await rm(siteDir, { recursive: true, force: true });
  },
  { timeout: 20_000 },
);

test('the menu page shows the heading and its stylesheet', { timeout: STEP_TIMEOUT_MS }, async () => {
  const response = await page.goto(baseUrl, { waitUntil: 'load' });
  assert.equal(response?.status(), 200);
  assert.equal((await page.locator('h1').textContent())?.trim(), HEADING);
  for (const href of ['helloworld.html', 'image.html', '404.html', 'textlog.txt']) {
    assert.equal(await page.locator(`a[href="${href}"]`).count(), 1, `menu links to ${href}`);
  }
  const styled = await page.evaluate(() =>
    [...document.styleSheets].some((sheet) => sheet.href?.endsWith('/style.css') && sheet.cssRules.length > 0),
  );
  assert.ok(styled, 'style.css is loaded');
  await screenshot('menu');
});

test('hello world page, then alice.txt, then back to the menu', { timeout: STEP_TIMEOUT_MS }, async () => {
  await ensureOnMenu();
  const hello = await followLink('helloworld.html');
  assert.equal(hello.status(), 200);
  assert.match((await page.locator('h1').textContent()) ?? '', /Hello, world/);
  await screenshot('helloworld');

  const alice = await followLink('alice.txt');
  assert.equal(alice.status(), 200);
  assert.match(alice.headers()['content-type'] ?? '', /^text\/plain/);
  const text = await page.locator('body').innerText();
  assert.match(text, /ALICE'S ADVENTURES IN WONDERLAND/);
  assert.match(text, /Down the Rabbit-Hole/);
  await screenshot('alice');

  await page.goBack({ waitUntil: 'load' });
  assert.match(page.url(), /\/helloworld\.html$/);
  await followLink('index.html');
  assert.equal((await page.locator('h1').textContent())?.trim(), HEADING);
  await screenshot('back-to-menu');
});

test('the image page shows a decoded JPEG', { timeout: STEP_TIMEOUT_MS }, async () => {
  await ensureOnMenu();
  const response = await followLink('image.html');
  assert.equal(response.status(), 200);
  await page.waitForFunction(() => {
    const img = document.getElementById('sample-image');
    return img instanceof HTMLImageElement && img.complete;
  });
  const image = await page.evaluate(() => {
    const img = /** @type {HTMLImageElement} */ (document.getElementById('sample-image'));
    return { complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight };
  });
  assert.ok(image.complete && image.naturalWidth > 0, `image decoded: ${JSON.stringify(image)}`);
  await screenshot('image');

  await followLink('index.html');
  assert.equal((await page.locator('h1').textContent())?.trim(), HEADING);
});

test('the missing page answers 404 with a not-found message', { timeout: STEP_TIMEOUT_MS }, async () => {
  await ensureOnMenu();
  const response = await followLink('404.html');
  assert.equal(response.status(), 404);
  assert.match(await page.locator('body').innerText(), /not found/i);
  await screenshot('not-found');
  await page.goBack({ waitUntil: 'load' });
});

test('the request log lists the pages visited', { timeout: STEP_TIMEOUT_MS }, async () => {
  await ensureOnMenu();
  const response = await followLink('textlog.txt');
  assert.equal(response.status(), 200);
  /** @type {string[]} */
  let lines = [];
  for (let attempt = 1; attempt <= LOG_POLL_ATTEMPTS; attempt += 1) {
    const text = await page.locator('body').innerText();
    lines = text.split('\n').filter((line) => line.includes('GET /helloworld.html'));
    if (lines.length > 0) break;
    await sleep(LOG_POLL_INTERVAL_MS);
    await page.reload({ waitUntil: 'load' });
  }
  await screenshot('textlog');
  assert.ok(lines.length > 0, 'textlog.txt has a line for GET /helloworld.html');
});
