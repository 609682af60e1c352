// Issue 11 item 12: projects previewed one after the other never share an origin by default.
// Run after `npm run build`:  node --test test/browser/folder-origin.test.mjs
// Folder A stores localStorage and registers a service worker; A's CLI stops; folder B is served
// with the default port, in the same browser profile (one context, as a user's browser is). B's
// page must see neither A's localStorage nor A's service worker, because B has a port (an origin)
// of its own: the one derived from B's real path (SHA-256, first 4 bytes mod 1000, above 8000, as
// the README says). A served again gets its port back, and with it its own state.
/* global document, localStorage, navigator -- used inside page.evaluate(), which runs in the page */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from './chromium.mjs';

const STEP_TIMEOUT_MS = 20_000;

/** The documented derivation (README, "Ports"): what the CLI must print without --port. */
function documentedPort(realPath) {
  return 8000 + (createHash('sha256').update(realPath, 'utf8').digest().readUInt32BE(0) % 1000);
}

const A_INDEX = `<!DOCTYPE html><title>A</title><h1>Project A</h1>
<script>
  localStorage.setItem('project', 'A');
  navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready).then(() => { document.title = 'A ready'; });
</script>`;
const A_WORKER = `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  if (new URL(e.request.url).pathname === '/probe.txt') e.respondWith(new Response('from A service worker'));
});`;
const B_INDEX = `<!DOCTYPE html><title>B</title><h1>Project B</h1>`;

/** @type {string[]} */
const dirs = [];
/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('./chromium.mjs').RunningCli[]} */
const clis = [];

/** A fresh folder with `files`; its real path. */
async function project(files) {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'porthole-origin-')));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** Serves `dir` with the default port (no --port). */
async function serve(dir) {
  const cli = await startCli([dir, '--quiet', '--no-reload'], { cwd: dir });
  clis.push(cli);
  return cli;
}

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  for (const cli of clis) await cli.stop();
  await browser?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('two folders served one after the other: B sees none of A\'s origin state; A keeps its port', { timeout: 120_000 }, async () => {
  const a = await project({ 'index.html': A_INDEX, 'sw.js': A_WORKER, 'probe.txt': 'from A disk' });
  let b = await project({ 'index.html': B_INDEX, 'probe.txt': 'from B disk' });
  // A clash of two derived ports is possible (1 in 1000): pick another B folder then (bounded).
  for (let i = 0; i < 5 && documentedPort(b) === documentedPort(a); i++) b = await project({ 'index.html': B_INDEX, 'probe.txt': 'from B disk' });
  assert.notEqual(documentedPort(b), documentedPort(a));

  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);

  const firstA = await serve(a);
  // Busy ports fall forward; on this shared machine the derived one is normally free.
  assert.equal(firstA.port, documentedPort(a), firstA.stderr());
  await page.goto(firstA.url);
  await page.waitForFunction(() => document.title === 'A ready');
  assert.equal(await page.evaluate(() => fetch('/probe.txt').then((r) => r.text())), 'from A service worker');
  await firstA.stop();

  const servedB = await serve(b);
  assert.equal(servedB.port, documentedPort(b), servedB.stderr());
  assert.notEqual(servedB.port, firstA.port);
  await page.goto(servedB.url);
  const seenByB = await page.evaluate(async () => ({
    heading: document.querySelector('h1')?.textContent,
    stored: localStorage.getItem('project'),
    workers: (await navigator.serviceWorker.getRegistrations()).length,
    controlled: navigator.serviceWorker.controller !== null,
    probe: await fetch('/probe.txt').then((r) => r.text()),
  }));
  assert.deepEqual(seenByB, { heading: 'Project B', stored: null, workers: 0, controlled: false, probe: 'from B disk' });
  await servedB.stop();

  const againA = await serve(a);
  assert.equal(againA.port, firstA.port, 'A gets the same port on every start (bookmarks stay valid)');
  await page.goto(againA.url);
  const seenByA = await page.evaluate(async () => ({
    stored: localStorage.getItem('project'),
    workers: (await navigator.serviceWorker.getRegistrations()).length,
  }));
  assert.deepEqual(seenByA, { stored: 'A', workers: 1 });
  await againA.stop();
  await context.close();
});
