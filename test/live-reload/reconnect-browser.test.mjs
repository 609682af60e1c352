// Reconnection in headless Chromium (Debian's, via playwright-core) against the built CLI: a tab
// whose server is gone for a long while (stopped over lunch, a laptop asleep) or whose browser was
// offline reconnects once the server is back, and reloads for the new instance.
//   npm run build && node --test test/live-reload/reconnect-browser.test.mjs
// The page's timers run on Playwright's fake clock, so minutes of backoff pass in seconds. Every
// loop is bounded in count and time; nothing asserts on durations.
/* global window */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium, startCli } from '../browser/chromium.mjs';

const TEST_TIMEOUT_MS = 150_000;
const WAIT_MS = 15_000;

/** @type {string} */
let site;
/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  site = await mkdtemp(path.join(tmpdir(), 'porthole-reconnect-'));
  await writeFile(path.join(site, 'index.html'), '<!doctype html><meta charset="utf-8"><title>r</title><h1>page</h1>\n');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (site !== undefined) await rm(site, { recursive: true, force: true });
});

/**
 * Opens the CLI's page on a fake clock, waits for its stream's hello and marks its state.
 * @param {import('../browser/chromium.mjs').RunningCli} cli
 */
async function openMarked(cli) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.clock.install();
  await tab.goto(cli.url, { waitUntil: 'load' });
  await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  await tab.evaluate(() => {
    window.__marker = 'old server';
  });
  return { context, tab };
}

/**
 * Advances the page's clock in steps of `stepMs` (giving each attempt real time to fail) until
 * the client has made `attempts` attempts to reconnect, at most `maxSteps` steps and `maxMs` of
 * real time. Resolves to the attempts made.
 * @param {import('playwright-core').Page} tab
 */
async function failAttempts(tab, attempts, { stepMs = 10_000, maxSteps = 600, maxMs = 100_000 } = {}) {
  const end = Date.now() + maxMs;
  let made = 0;
  for (let i = 0; i < maxSteps && Date.now() < end; i++) {
    made = await tab.evaluate(() => window.__portholeReload.attempts);
    if (made >= attempts) break;
    await tab.clock.runFor(stepMs);
    await sleep(100);
  }
  return made;
}

/**
 * Waits until the page lost its marker (reloaded) and said hello again, advancing its clock by
 * `stepMs` per step when it is given (at most `maxSteps` steps and WAIT_MS of real time).
 * @param {import('playwright-core').Page} tab
 * @param {number} stepMs
 */
async function reloaded(tab, stepMs, maxSteps = 60) {
  const end = Date.now() + WAIT_MS;
  for (let i = 0; i < maxSteps && Date.now() < end; i++) {
    const fresh = await tab
      .evaluate(() => window.__marker === undefined && window.__portholeReload?.id != null)
      .catch(() => false); // the page is navigating
    if (fresh) return true;
    if (stepMs > 0) await tab.clock.runFor(stepMs).catch(() => undefined);
    await sleep(250);
  }
  return false;
}

test('a tab whose server was gone for minutes reconnects and reloads once the server is back', { timeout: TEST_TIMEOUT_MS }, async () => {
  const first = await startCli([site, '--port', '0', '--quiet']);
  /** @type {import('../browser/chromium.mjs').RunningCli | undefined} */
  let second;
  const { context, tab } = await openMarked(first);
  try {
    await first.stop();
    // 42 failed attempts: more than six minutes of backoff (the client gave up after 40).
    const made = await failAttempts(tab, 42);
    assert.ok(made >= 42, `the client kept trying: ${made} attempts`);
    second = await startCli([site, '--port', String(first.port), '--quiet']);
    assert.equal(second.port, first.port);
    assert.ok(await reloaded(tab, 10_000), 'the page reconnected to the new server and reloaded');
  } finally {
    await context.close();
    await first.stop();
    await second?.stop();
  }
});

test('the browser coming back online reconnects at once, without waiting out the backoff', { timeout: TEST_TIMEOUT_MS }, async () => {
  const first = await startCli([site, '--port', '0', '--quiet']);
  /** @type {import('../browser/chromium.mjs').RunningCli | undefined} */
  let second;
  const { context, tab } = await openMarked(first);
  try {
    await context.setOffline(true);
    await first.stop();
    // The backoff has grown to its longest wait; then the page's clock stands still: no timer of
    // the client fires from here on.
    await failAttempts(tab, 8);
    await tab.clock.pauseAt(await tab.evaluate(() => Date.now() + 1_000));
    second = await startCli([site, '--port', String(first.port), '--quiet']);
    await context.setOffline(false);
    assert.ok(await reloaded(tab, 0), 'the online event reconnected the page, which reloaded for the new server');
  } finally {
    await context.close();
    await first.stop();
    await second?.stop();
  }
});
