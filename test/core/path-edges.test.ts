/**
 * Path edges over real sockets.
 * - A path ending in `/` names a folder: a regular file there is a 404 (nginx and Apache answer
 *   404; the OS gives ENOTDIR), the same page and log line as any missing path — in the root, in a
 *   mount, with `.br` siblings, through live reload's page path, under clean URLs (`/about.html/`
 *   is not redirected, `/about/` does not find about.html); the SPA fallback treats such a path as
 *   missing (a navigation gets the fallback page, an asset request a 404).
 * - Clean URLs: `/index` and `/docs/index` move (301) to `/` and `/docs/`, the query kept.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync } from 'node:zlib';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerOptionsInput } from '../../src/core';
import { startServer, type Running } from './harness';
import { fetchOnce, request, type RawResponse } from './raw-client';

const NAV = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html,*/*;q=0.8'];
const NOT_FOUND_PAGE = '<!doctype html><p>custom not found</p>';
const APP_JS = 'console.log("app");\n'.repeat(40);
let base = '';
let root = '';
let lib = '';
const servers: Running[] = [];

async function serve(input: Omit<ServerOptionsInput, 'root'> = {}): Promise<Running> {
  const running = await startServer({
    root,
    configFile: false,
    reload: { enabled: false },
    mounts: [{ prefix: '/vendor', folder: lib }],
    ...input,
  });
  servers.push(running);
  return running;
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-path-edges-'));
  root = join(base, 'site');
  lib = join(base, 'lib');
  await mkdir(join(root, 'docs'), { recursive: true });
  await mkdir(lib, { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><html><head><title>home</title></head><body>home page</body></html>');
  await writeFile(join(root, 'about.html'), '<!doctype html><html><head><title>a</title></head><body>about page</body></html>');
  await writeFile(join(root, 'page.html'), '<!doctype html><html><head><title>p</title></head><body>plain page</body></html>');
  await writeFile(join(root, 'docs', 'index.html'), '<!doctype html><p>docs index</p>');
  await writeFile(join(root, 'app.js'), APP_JS);
  // Written after app.js, so it is a fresh sibling (static-files.ts serves it for br).
  await writeFile(join(root, 'app.js.br'), brotliCompressSync(Buffer.from(APP_JS)));
  await writeFile(join(root, '404.html'), NOT_FOUND_PAGE);
  await writeFile(join(lib, 'lib.js'), 'export const lib = 1;\n');
  await writeFile(join(lib, 'index.html'), '<!doctype html><p>vendor index</p>');
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(base, { recursive: true, force: true });
});

/** The 404 answered for a path that never existed, to compare a trailing-slash 404 with. */
async function plainNotFound(s: Running): Promise<RawResponse> {
  const r = await fetchOnce(s.port, request('/no-such-thing'));
  assert.equal(r.status, 404);
  return r;
}

/**
 * `r` is the root's 404 page, as `reference` (a plain request's): for a navigation with live
 * reload on, with the live-reload client in it (the tab shows the page once it is made), which
 * is the one difference allowed.
 */
function assertSameNotFound(r: RawResponse, reference: RawResponse, what: string): void {
  assert.equal(r.status, 404, what);
  const withoutClient = r.body.toString().replace(/<script src="[^"]*__porthole\/client\.js"[^>]*><\/script>/, '');
  assert.equal(withoutClient, reference.body.toString(), `${what}: the same 404 page`);
  assert.equal(r.header('content-type'), reference.header('content-type'), what);
}

test('a file asked for with a trailing slash is a 404 (root, mount, .br sibling, dot segment), logged as one', async () => {
  const s = await serve({ compression: true });
  const reference = await plainNotFound(s);
  // The files themselves are served: the 404s below are about the slash alone.
  assert.equal((await fetchOnce(s.port, request('/app.js'))).status, 200);
  assert.equal((await fetchOnce(s.port, request('/vendor/lib.js'))).status, 200);
  const brotli = await fetchOnce(s.port, request('/app.js', { headers: ['Accept-Encoding: br'] }));
  assert.equal(brotli.header('content-encoding'), 'br');
  for (const [path, headers] of [
    ['/app.js/', []],
    ['/app.js/?v=1', []],
    ['/app.js/.', []],
    ['/app.js/', ['Accept-Encoding: br, gzip']],
    ['/app.js.br/', ['Accept-Encoding: br']],
    ['/vendor/lib.js/', []],
    ['/page.html/', []],
    ['/404.html/', []],
  ] as const) {
    // Twice: a cached file must not answer for the slashed path either.
    for (let i = 0; i < 2; i++) {
      const r = await fetchOnce(s.port, request(path, { headers }));
      assertSameNotFound(r, reference, `${path} ${headers.join(' ')}`);
      assert.equal(r.header('content-encoding'), undefined, path);
    }
  }
  const record = s.records.find((rec) => rec.target === '/vendor/lib.js/');
  assert.equal(record?.status, 404);
  assert.equal(record?.filePath, undefined);
  assert.match(record?.note ?? '', /not a folder/i);
  // Folders keep their slash and index.
  assert.equal((await fetchOnce(s.port, request('/docs/'))).status, 200);
  assert.equal((await fetchOnce(s.port, request('/vendor/'))).status, 200);
});

test('live reload page path: a navigation to a page with a trailing slash is a 404, not the page injected', async () => {
  const s = await serve({ reload: { enabled: true } });
  const reference = await plainNotFound(s);
  const page = await fetchOnce(s.port, request('/page.html', { headers: NAV }));
  assert.equal(page.status, 200);
  assert.match(page.body.toString(), /__porthole\/client\.js/);
  for (const path of ['/page.html/', '/index.html/', '/vendor/index.html/', '/app.js/']) {
    assertSameNotFound(await fetchOnce(s.port, request(path, { headers: NAV })), reference, path);
  }
});

test('clean URLs: /about.html/ is a 404 (not redirected), /about/ does not find about.html', async () => {
  for (const reload of [false, true]) {
    const s = await serve({ cleanUrls: true, reload: { enabled: reload } });
    const reference = await plainNotFound(s);
    assert.equal((await fetchOnce(s.port, request('/about', { headers: NAV }))).status, 200);
    for (const path of ['/about.html/', '/about/', '/index.html/', '/docs/index.html/', '/docs/index/', '/vendor/lib.js/']) {
      const r = await fetchOnce(s.port, request(path, { headers: NAV }));
      assert.equal(r.header('location'), undefined, `${path} (reload ${reload})`);
      assertSameNotFound(r, reference, `${path} (reload ${reload})`);
    }
  }
});

test('clean URLs: /index and /docs/index move (301) to their folder, the query kept; in mounts too', async () => {
  for (const reload of [false, true]) {
    const s = await serve({ cleanUrls: true, reload: { enabled: reload } });
    for (const [path, location] of [
      ['/index', '/'],
      ['/index?x=1&y=2', '/?x=1&y=2'],
      ['/docs/index', '/docs/'],
      ['/docs/index?q=a%20b', '/docs/?q=a%20b'],
      ['/vendor/index', '/vendor/'],
    ] as const) {
      for (const method of ['GET', 'HEAD']) {
        const r = await fetchOnce(s.port, request(path, { method, headers: NAV }), { head: method === 'HEAD' });
        assert.equal(r.status, 301, `${method} ${path} (reload ${reload})`);
        assert.equal(r.header('location'), location, `${method} ${path}`);
      }
    }
    // Where they lead is the page itself.
    const home = await fetchOnce(s.port, request('/', { headers: NAV }));
    assert.match(home.body.toString(), /home page/);
  }
  // Without clean URLs nothing named `index` exists: 404 as before.
  const off = await serve({ cleanUrls: false });
  assert.equal((await fetchOnce(off.port, request('/index'))).status, 404);
  assert.equal((await fetchOnce(off.port, request('/docs/index'))).status, 404);
});

test('SPA fallback: a navigation to a file path with a trailing slash is a missing path (the fallback page); an asset request stays 404', async () => {
  const s = await serve({ spa: 'index.html' });
  for (const path of ['/app.js/', '/vendor/lib.js/', '/page.html/']) {
    const nav = await fetchOnce(s.port, request(path, { headers: NAV }));
    assert.equal(nav.status, 200, path);
    assert.match(nav.body.toString(), /home page/, path);
    const asset = await fetchOnce(s.port, request(path, { headers: ['Sec-Fetch-Dest: script', 'Accept: */*'] }));
    assert.equal(asset.status, 404, path);
  }
  const record = s.records.find((rec) => rec.target === '/app.js/' && rec.status === 200);
  assert.equal(record?.spaFallback, '/index.html');
});
