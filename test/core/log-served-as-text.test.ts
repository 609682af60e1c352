/**
 * The active request log holds what clients sent (targets, Referer, User-Agent), escaped for a
 * log line, not for a page. Served to this computer under a name that says HTML (`--log
 * log.html`), it was `text/html`, live reload injected into it, and a User-Agent of
 * `<script>…</script>` sent by any client ran in the site's origin when the log was opened. It is
 * plain text (nosniff) whatever its name. Real server, real sockets, real log file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

const SCRIPT = '<script>alert(document.domain)</script>';
let root = '';
let srv: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-loghtml-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><p>home</p>\n');
  srv = await startServer({ root, logFile: join(root, 'log.html') });
  await fetchOnce(srv.port, request('/no-such-page', { headers: [`User-Agent: ${SCRIPT}`] }));
  // The line is written after its answer: bounded wait until it is in the file.
  for (let i = 0; i < 100 && !(await readFile(join(root, 'log.html'), 'utf8')).includes(SCRIPT); i++) await sleep(20);
  assert.ok((await readFile(join(root, 'log.html'), 'utf8')).includes(SCRIPT), 'the client\'s User-Agent is in the log');
});

after(async () => {
  await srv?.close();
  await rm(root, { recursive: true, force: true });
});

const header = (res: { headers: ReadonlyArray<readonly [string, string]> }, name: string): string | undefined =>
  res.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];

test('the active log named log.html is plain text with nosniff, for a fetch and for a navigation (no live-reload client in it)', async () => {
  const asks = [
    ['fetch', []],
    ['navigation', ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html']],
  ] as const;
  for (const [what, headers] of asks) {
    const res = await fetchOnce(srv.port, request('/log.html', { headers }));
    assert.equal(res.status, 200, what);
    assert.equal(header(res, 'Content-Type'), 'text/plain; charset=utf-8', `${what}: the log is text, whatever its name`);
    assert.equal(header(res, 'X-Content-Type-Options'), 'nosniff', what);
    const body = res.body.toString('utf8');
    assert.ok(body.includes(SCRIPT), `${what}: the log as it is`);
    assert.ok(!body.includes('__porthole/client.js'), `${what}: no live-reload client in the log`);
  }
});

test('a log named 404.html is no 404 page: every missing path gets the built-in page, never the log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-log404-'));
  const other = await startServer({ root: dir, logFile: join(dir, '404.html') });
  try {
    await fetchOnce(other.port, request('/first-miss', { headers: [`User-Agent: ${SCRIPT}`] }));
    for (let i = 0; i < 100 && !(await readFile(join(dir, '404.html'), 'utf8')).includes(SCRIPT); i++) await sleep(20);
    assert.ok((await readFile(join(dir, '404.html'), 'utf8')).includes(SCRIPT), 'the client\'s User-Agent is in the log');
    // Twice: the second may come from the cache of the 404 page.
    for (const round of [1, 2]) {
      const res = await fetchOnce(other.port, request('/no-such-page'));
      assert.equal(res.status, 404, `round ${round}`);
      const body = res.body.toString('utf8');
      assert.ok(!body.includes(SCRIPT) && !body.includes('/first-miss'), `round ${round}: the log is not the 404 page: ${body.slice(0, 200)}`);
      assert.match(body, /404 Not Found/, `round ${round}: the built-in page`);
    }
  } finally {
    await other.close();
    await rm(dir, { recursive: true, force: true });
  }
});
