/**
 * Mounts over real sockets: a folder served under a URL prefix gets every rule of the root —
 * validators, conditional requests, ranges, content types, index files, listings, the folder
 * slash redirect, hidden names, containment on the real path per mount folder (a symlink from the
 * mount into the served root is "outside" too), the swap-race guard, live reload (injected into
 * mounted pages; a change in a mounted folder reloads). Longest prefix wins; encoded separators
 * and dot segments never climb out; a mount that clashes with Porthole's own prefix or a proxy
 * route, or whose folder is missing, stops the start with a message naming it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer, ServerError, type ServerOptionsInput } from '../../src/core';
import type { ReloadEvent } from '../../src/core/reload/live-reload';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request, withTimeout } from './raw-client';

const OUTSIDE = 'OUTSIDE-OF-THE-MOUNT-5c1e';
const NAV = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html,*/*;q=0.8'];
let base = '';
let root = '';
let lib = '';
let deep = '';
const servers: Running[] = [];

async function serve(input: Omit<ServerOptionsInput, 'root'> = {}): Promise<Running> {
  const running = await startServer({
    root,
    configFile: false,
    // No watchers unless a test asks: one on a folder the swap race churns would flood this
    // process's event loop for every server in it.
    reload: { enabled: false },
    mounts: [
      { prefix: '/vendor', folder: lib },
      { prefix: '/vendor/deep/', folder: deep },
    ],
    ...input,
  });
  servers.push(running);
  return running;
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-mounts-'));
  root = join(base, 'site');
  lib = join(base, 'lib');
  deep = join(base, 'other');
  await mkdir(join(root, 'shared'), { recursive: true });
  await mkdir(join(lib, 'docs'), { recursive: true });
  await mkdir(join(lib, 'deep'), { recursive: true });
  await mkdir(join(lib, 'bare'), { recursive: true });
  await mkdir(join(lib, 'swap'), { recursive: true });
  await mkdir(join(lib, '.git'), { recursive: true });
  await mkdir(deep, { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><p>root</p>');
  await writeFile(join(root, 'shared', 'f.txt'), `${OUTSIDE} in the served root, not in the mount\n`);
  await writeFile(join(base, 'secret.txt'), `${OUTSIDE} next to the mount\n`);
  await writeFile(join(lib, 'app.js'), 'export const fromMount = 1;\n');
  await writeFile(join(lib, 'style.css'), 'p { color: red }\n');
  await writeFile(join(lib, 'page.html'), '<!doctype html><html><head><title>m</title></head><body>mounted page</body></html>');
  await writeFile(join(lib, 'docs', 'index.html'), '<!doctype html><p>mounted docs index</p>');
  await writeFile(join(lib, 'bare', 'one.txt'), 'one\n');
  await writeFile(join(lib, 'bare', 'a b.txt'), 'two\n');
  await writeFile(join(lib, 'bare', '.hidden'), 'hidden\n');
  await writeFile(join(lib, 'deep', 'which.txt'), 'lib/deep\n');
  await writeFile(join(deep, 'which.txt'), 'the other folder\n');
  await writeFile(join(lib, '.env'), `${OUTSIDE} SECRET=1\n`);
  await writeFile(join(lib, '.git', 'config'), `${OUTSIDE} git\n`);
  await writeFile(join(lib, 'swap', 'f.txt'), 'inside the mount, same size as the root one!\n');
  await writeFile(join(lib, 'inner.txt'), 'reached through an inner link\n');
  await symlink(join(root, 'shared'), join(lib, 'to-root'));
  await symlink(join(base, 'secret.txt'), join(lib, 'secret-link.txt'));
  await symlink(join(lib, 'inner.txt'), join(lib, 'inner-link.txt'));
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(base, { recursive: true, force: true });
});

test('a mounted file is served with its type, validators, conditional requests and ranges', async () => {
  const s = await serve();
  const r = await fetchOnce(s.port, request('/vendor/app.js'));
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'export const fromMount = 1;\n');
  assert.match(r.header('content-type') ?? '', /^text\/javascript/);
  const etag = r.header('etag');
  const lastModified = r.header('last-modified');
  assert.ok(etag !== undefined && lastModified !== undefined);
  assert.equal((await fetchOnce(s.port, request('/vendor/app.js', { headers: [`If-None-Match: ${etag}`] }))).status, 304);
  assert.equal((await fetchOnce(s.port, request('/vendor/app.js', { headers: [`If-Modified-Since: ${lastModified}`] }))).status, 304);
  const part = await fetchOnce(s.port, request('/vendor/app.js', { headers: ['Range: bytes=7-11'] }));
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), 'const');
  assert.equal(part.header('content-range'), 'bytes 7-11/28');
  assert.equal((await fetchOnce(s.port, request('/vendor/style.css'))).header('content-type'), 'text/css; charset=utf-8');
  // The root is still the root.
  assert.match((await fetchOnce(s.port, request('/'))).body.toString(), /root/);
});

test('a mount folder: slash redirect with the prefix, index.html, a listing with the mount path and no hidden names', async () => {
  const s = await serve();
  const moved = await fetchOnce(s.port, request('/vendor/docs?x=1'));
  assert.equal(moved.status, 301);
  assert.equal(moved.header('location'), '/vendor/docs/?x=1');
  const top = await fetchOnce(s.port, request('/vendor'));
  assert.equal(top.status, 301);
  assert.equal(top.header('location'), '/vendor/');
  assert.match((await fetchOnce(s.port, request('/vendor/docs/'))).body.toString(), /mounted docs index/);
  const listing = await fetchOnce(s.port, request('/vendor/bare/'));
  assert.equal(listing.status, 200);
  const html = listing.body.toString();
  assert.match(html, /\/vendor\/bare\//, 'the listing names the URL path, prefix included');
  assert.match(html, /href="one\.txt"/);
  assert.match(html, /href="a%20b\.txt"/);
  assert.doesNotMatch(html, /\.hidden/);
  const mountTop = (await fetchOnce(s.port, request('/vendor/'))).body.toString();
  assert.match(mountTop, /app\.js/);
  assert.doesNotMatch(mountTop, /\.env|\.git/, 'hidden names are not listed');
  // Links that leave the mount (into the served root, too) are shown unlinked, as in the root.
  assert.doesNotMatch(mountTop, /href="to-root|href="secret-link/);
  assert.match(mountTop, /<td>to-root<\/td>/);
  assert.match(mountTop, /inner-link\.txt/, 'a link inside the mount is listed');
  const off = await serve({ listing: false });
  assert.equal((await fetchOnce(off.port, request('/vendor/bare/'))).status, 404);
});

test('the longest prefix wins; /vendorx is not /vendor', async () => {
  const s = await serve();
  assert.equal((await fetchOnce(s.port, request('/vendor/deep/which.txt'))).body.toString(), 'the other folder\n');
  assert.equal((await fetchOnce(s.port, request('/vendor/app.js'))).status, 200);
  assert.equal((await fetchOnce(s.port, request('/vendorx/app.js'))).status, 404);
  // Percent-encoded prefix letters name the same path (matched on decoded segments).
  assert.equal((await fetchOnce(s.port, request('/v%65ndor/app.js'))).status, 200);
});

test('encoded separators, dot segments, backslashes, symlinks and hidden names never leave the mount', async () => {
  const s = await serve();
  const cases: Array<[string, number]> = [
    ['/vendor/../secret.txt', 404],
    ['/vendor/%2e%2e/secret.txt', 404],
    ['/vendor/%2E%2E/%2e%2e/secret.txt', 400],
    ['/vendor/..%2fsecret.txt', 404],
    ['/vendor/..%2Fsite%2Fshared%2Ff.txt', 404],
    ['/vendor%2f..%2fsecret.txt', 404],
    ['/vendor/..\\secret.txt', 400],
    ['/vendor/..%5csecret.txt', 400],
    ['/vendor/to-root/f.txt', 404],
    ['/vendor/secret-link.txt', 404],
    ['/vendor/.env', 404],
    ['/vendor/.git/config', 404],
    ['/vendor/%2eenv', 404],
  ];
  for (const [path, status] of cases) {
    const r = await fetchOnce(s.port, request(path));
    assert.equal(r.status, status, path);
    assert.ok(!r.body.includes(OUTSIDE), `${path}: no byte from outside the mount`);
  }
  // `..` resolved before matching is just another path of the root (the browser does the same).
  assert.match((await fetchOnce(s.port, request('/vendor/../index.html'))).body.toString(), /root/);
  assert.equal((await fetchOnce(s.port, request('/vendor/inner-link.txt'))).status, 200, 'a symlink inside the mount is served');
  // followSymlinks lets a link out of the mount through, as for the root; hidden names stay hidden.
  const follow = await serve({ followSymlinks: true });
  assert.equal((await fetchOnce(follow.port, request('/vendor/secret-link.txt'))).status, 200);
  assert.equal((await fetchOnce(follow.port, request('/vendor/.env'))).status, 404);
});

/** The swapper: a folder of the mount ⇄ a symlink to a folder of the served root (outside the mount). */
const SWAPPER = `
const fs = require('fs');
const [dir, held, outside, ms, max] = process.argv.slice(1);
const end = Date.now() + Number(ms);
let n = 0;
while (Date.now() < end && n < Number(max)) {
  fs.renameSync(dir, held);
  fs.symlinkSync(outside, dir);
  fs.unlinkSync(dir);
  fs.renameSync(held, dir);
  n++;
}
process.stdout.write(String(n));
`;

test('a mounted folder swapped for a symlink into the served root during requests: zero bytes from outside the mount', async (t) => {
  const s = await serve();
  await writeFile(join(root, 'shared', 'f.txt'), `${OUTSIDE} in the served root, same size!\n`);
  const swapper = spawn(process.execPath, ['-e', SWAPPER, join(lib, 'swap'), join(lib, 'swap-held'), join(root, 'shared'), '1500', '1000000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let swaps = '';
  swapper.stdout.setEncoding('utf8').on('data', (text: string) => (swaps += text));
  const swapperDone = new Promise<void>((resolve) => swapper.once('exit', () => resolve()));
  let running = true;
  void swapperDone.then(() => (running = false));
  let answers = 0;
  let served = 0;
  let outsideHits = 0;
  const client = async (): Promise<void> => {
    let c = await RawClient.connect(s.port);
    c.noTranscript();
    try {
      while (running && answers < 100_000) {
        await c.write(request('/vendor/swap/f.txt'));
        const res = await c.readResponse();
        answers++;
        if (res.status === 200) served++;
        if (res.body.includes(OUTSIDE)) outsideHits++;
        if (res.header('connection') === 'close') {
          c.destroy();
          c = await RawClient.connect(s.port);
          c.noTranscript();
        }
      }
    } finally {
      c.destroy();
    }
  };
  await Promise.all([client(), client()]);
  await swapperDone;
  t.diagnostic(`${answers} answers, ${served} served, ${swaps} swaps`);
  assert.ok(Number(swaps) > 10, 'the swapper ran');
  assert.equal(outsideHits, 0, 'no byte from outside the mount');
});

test('live reload: mounted pages get the client, and a change in a mounted folder reloads', async () => {
  const s = await serve({ reload: { enabled: true, debounceMs: 20 } });
  servers.splice(servers.indexOf(s), 1);
  try {
    const page = await fetchOnce(s.port, request('/vendor/page.html', { headers: NAV }));
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /mounted page/);
    const src = /<script src="([^"]*)"[^>]*data-porthole-client/.exec(page.body.toString())?.[1];
    assert.equal(src, '../__porthole/client.js');
    assert.equal(new URL(src ?? '', `http://127.0.0.1/vendor/page.html`).pathname, '/__porthole/client.js');
    const live = s.server.liveReload;
    assert.ok(live);
    const event = new Promise<ReloadEvent>((resolve) => {
      live.onEvent = resolve;
    });
    // Re-written until the watcher reports it (a watch may take a moment to arm), bounded.
    let got: ReloadEvent | undefined;
    void event.then((e) => (got = e));
    for (let i = 0; i < 100 && got === undefined; i++) {
      await writeFile(join(lib, 'app.js'), `export const fromMount = ${i};\n`);
      await Promise.race([event, new Promise((r) => setTimeout(r, 100))]);
    }
    assert.equal(got?.kind, 'reload');
  } finally {
    await s.close();
  }
});

test('the editor\'s unsaved text of a mounted file (an overlay) is served and reaches pages, as in the root', async () => {
  // The extension's way: no watcher of its own on the root; it reports edits (setOverlay).
  const s = await serve({ reload: { enabled: true, watch: false, debounceMs: 20 } });
  const live = s.server.liveReload;
  assert.ok(live);
  const event = new Promise<ReloadEvent>((resolve) => {
    live.onEvent = resolve;
  });
  live.setOverlay(join(lib, 'style.css'), 'p { color: blue }\n');
  // As in the root: a stylesheet is swapped in place, named by the URL path pages load it by.
  assert.deepEqual(await withTimeout(event, 10_000, 'the event'), { kind: 'css', paths: ['/vendor/style.css'] });
  const css = await fetchOnce(s.port, request('/vendor/style.css', { headers: ['Sec-Fetch-Dest: style', 'Accept: text/css'] }));
  assert.equal(css.status, 200);
  assert.equal(css.body.toString(), 'p { color: blue }\n');
  live.setOverlay(join(lib, 'style.css'), undefined);
});

test('a mount clashing with Porthole\'s own prefix or a proxy route, or with a missing folder, stops the start naming it', async () => {
  const attempt = async (input: Omit<ServerOptionsInput, 'root'>): Promise<ServerError> => {
    const server = new PreviewServer();
    try {
      await server.listen({ root, port: 0, configFile: false, resolveHostNames: false, ...input });
    } catch (err) {
      assert.ok(err instanceof ServerError);
      return err;
    } finally {
      await server.close();
    }
    assert.fail('the server started');
  };
  const reserved = await attempt({ mounts: [{ prefix: '/__porthole', folder: lib }] });
  assert.match(reserved.message, /mount prefix "\/__porthole" is Porthole's own/);
  const underReserved = await attempt({ mounts: [{ prefix: '/__porthole/x', folder: lib }] });
  assert.match(underReserved.message, /Porthole's own/);
  const proxied = await attempt({ mounts: [{ prefix: '/api/v1', folder: lib }], proxy: { routes: [{ prefix: '/api', target: 'http://127.0.0.1:9' }] } });
  assert.match(proxied.message, /lies under the proxy route "\/api"/);
  const same = await attempt({ mounts: [{ prefix: '/api', folder: lib }], proxy: { routes: [{ prefix: '/api/', target: 'http://127.0.0.1:9' }] } });
  assert.match(same.message, /proxy route/);
  const missing = await attempt({ mounts: [{ prefix: '/vendor', folder: join(base, 'no-such-folder') }] });
  assert.equal(missing.code, 'EMOUNT');
  assert.match(missing.message, /no-such-folder mounted at \/vendor does not exist/);
  const file = await attempt({ mounts: [{ prefix: '/vendor', folder: join(lib, 'app.js') }] });
  assert.match(file.message, /is not a folder/);
  const twice = await attempt({ mounts: [{ prefix: '/a', folder: lib }, { prefix: '/a/', folder: deep }] });
  assert.match(twice.message, /given twice/);
  const hidden = await attempt({ mounts: [{ prefix: '/.vendor', folder: lib }] });
  assert.match(hidden.message, /hidden segment/);
  // A proxy route below a mount is allowed: the longer prefix (the route) wins for its paths.
  const ok = await serve({ proxy: { routes: [{ prefix: '/vendor/api', target: 'http://127.0.0.1:9' }] } });
  assert.equal((await fetchOnce(ok.port, request('/vendor/app.js'))).status, 200);
});

test('a mount\'s .well-known is hidden as any dot name below the site\'s top: by name, through a link in the mount, and in its listing', async () => {
  // Before: /vendor/.well-known/token was a 404 (it is not at the site's top, RFC 8615), yet a
  // link in the mount to it (/vendor/wk/token) answered 200: the real path was judged as if the
  // mount's folder were the site's top, where `.well-known` is let through.
  const wk = join(lib, '.well-known');
  await mkdir(wk, { recursive: true });
  await writeFile(join(wk, 'token'), `${OUTSIDE} well-known of the mount\n`);
  await symlink('.well-known', join(lib, 'wk'));
  await symlink('.well-known/token', join(lib, 'wk-token'));
  try {
    const s = await serve();
    for (const path of ['/vendor/.well-known/token', '/vendor/%2ewell-known/token', '/vendor/wk/token', '/vendor/wk-token', '/vendor/wk/']) {
      const r = await fetchOnce(s.port, request(path));
      assert.equal(r.status, 404, path);
      assert.ok(!r.body.includes(OUTSIDE), path);
    }
    const listing = (await fetchOnce(s.port, request('/vendor/'))).body.toString();
    assert.doesNotMatch(listing, /href="wk/, 'the links are listed without a link, as refused ones');
    // The served root's own .well-known is still served, by name and through a link.
    await mkdir(join(root, '.well-known'), { recursive: true });
    await writeFile(join(root, '.well-known', 'security.txt'), 'Contact: x\n');
    await symlink('.well-known', join(root, 'wk'));
    assert.equal((await fetchOnce(s.port, request('/.well-known/security.txt'))).status, 200);
    assert.equal((await fetchOnce(s.port, request('/wk/security.txt'))).status, 200);
  } finally {
    await rm(wk, { recursive: true, force: true });
    await rm(join(lib, 'wk'), { force: true });
    await rm(join(lib, 'wk-token'), { force: true });
    await rm(join(root, '.well-known'), { recursive: true, force: true });
    await rm(join(root, 'wk'), { force: true });
  }
});

test('live reload: a change in a mount\'s .well-known, or through a link in the mount to it, is named to no page', async () => {
  // Before: writing lib/.well-known/token sent every page {"paths":["/vendor/.well-known/token",
  // "/vendor/wk/token"]}: two paths whose requests are 404s, judged as if the mount's folder were
  // the site's top, where `.well-known` is let through.
  const wk = join(lib, '.well-known');
  await mkdir(wk, { recursive: true });
  await writeFile(join(wk, 'token'), 'token 0\n');
  await symlink('.well-known', join(lib, 'wk'));
  const s = await serve({ reload: { enabled: true, debounceMs: 20 } });
  servers.splice(servers.indexOf(s), 1);
  try {
    const live = s.server.liveReload;
    assert.ok(live);
    const events: ReloadEvent[] = [];
    live.onEvent = (e) => events.push(e);
    const named = (): string[] => events.flatMap((e) => e.paths);
    // Re-written until the watcher reports the served file (a watch may take a moment to arm), bounded.
    for (let i = 0; i < 60 && !named().some((p) => p.endsWith('app.js')); i++) {
      await writeFile(join(wk, 'token'), `token ${i}\n`);
      await new Promise((r) => setTimeout(r, 120));
      await writeFile(join(lib, 'app.js'), `export const fromMount = ${i};\n`);
      await new Promise((r) => setTimeout(r, 120));
    }
    assert.ok(named().some((p) => p.endsWith('app.js')), `the served file's change is sent: ${JSON.stringify(events)}`);
    assert.deepEqual(named().filter((p) => /well-known|\/wk\//.test(p)), [], JSON.stringify(events));
  } finally {
    await s.close();
    await rm(wk, { recursive: true, force: true });
    await rm(join(lib, 'wk'), { force: true });
  }
});

test('a listing links no entry whose URL a mount or a proxied route answers: it says so, and each link it keeps opens that entry', async () => {
  // Before: /vendor/ listed lib's own deep/ (its date, a link), and the link opened the other
  // folder mounted at /vendor/deep; a folder under a proxied route's prefix linked to the back-end.
  const s = await serve({ proxy: { routes: [{ prefix: '/vendor/bare', target: 'http://127.0.0.1:1' }] } });
  const page = await fetchOnce(s.port, request('/vendor/'));
  assert.equal(page.status, 200);
  const html = page.body.toString();
  // The row is the mount's (its date, its link), saying lib's own deep/ is not served; helper-117:
  // lib's row alone, unlinked, left the mount that answers /vendor/deep/ with no link at all.
  assert.equal([...html.matchAll(/>deep\/</g)].length, 1, 'one row for the name');
  assert.match(html, /<a href="deep\/">deep\/<\/a> <small>\(a mount of another folder: this folder's own entry deep is not served\)<\/small>/);
  assert.doesNotMatch(html, /href="bare\/"/, '/vendor/bare/ goes to the back-end');
  assert.match(html, /bare\/ <small>\(not served here: its URL is answered by a proxied route or by Porthole itself\)<\/small>/);
  assert.match(html, /href="app\.js"/, 'the rest is linked as before');
  // The root's own listing: a folder named like a mount's prefix is the mount's URL.
  const plainRoot = await mkdtemp(join(base, 'plain-root-'));
  await mkdir(join(plainRoot, 'vendor'));
  await writeFile(join(plainRoot, 'vendor', 'own.txt'), 'the root\'s own vendor folder\n');
  await writeFile(join(plainRoot, 'file.txt'), 'f\n');
  await writeFile(join(plainRoot, 'other'), 'a file named as a mount\n');
  const r = await startServer({
    root: plainRoot,
    configFile: false,
    reload: { enabled: false },
    mounts: [
      { prefix: '/vendor', folder: lib },
      { prefix: '/other', folder: deep },
    ],
  });
  servers.push(r);
  const rootHtml = (await fetchOnce(r.port, request('/'))).body.toString();
  assert.match(rootHtml, /<a href="vendor\/">vendor\/<\/a> <small>\(a mount of another folder: this folder's own entry vendor is not served\)<\/small>/, rootHtml);
  assert.match(rootHtml, /<a href="other\/">other\/<\/a> <small>\(a mount of another folder: this folder's own entry other is not served\)<\/small>/, rootHtml);
  assert.doesNotMatch(rootHtml, /href="other"/, 'the file named as the mount is not linked');
  assert.match(rootHtml, /href="file\.txt"/);
  for (const href of [...rootHtml.matchAll(/href="([^"]*)"/g)].map((m) => m[1] ?? '')) {
    assert.equal((await fetchOnce(r.port, request(`/${href}`))).status, 200, href);
  }
});

test('a listing shows the mounts directly under the folder it lists, as folders that open them', async () => {
  // Before: / answered without newtop/, and /sub/ without deep/, though /newtop/ and /sub/deep/
  // answered 200: a mount where the folder has no entry of that name was nowhere in a listing.
  const top = await mkdtemp(join(base, 'listed-mounts-'));
  await mkdir(join(top, 'sub'));
  await writeFile(join(top, 'sub', 'own.txt'), 'sub\'s own file\n');
  await writeFile(join(top, 'file.txt'), 'f\n');
  const r = await startServer({
    root: top,
    configFile: false,
    reload: { enabled: false },
    mounts: [
      { prefix: '/newtop', folder: lib },
      { prefix: '/sub/deep', folder: deep },
      // Two levels below /: listed in /far/'s listing, which does not exist, so not in /'s.
      { prefix: '/far/away', folder: deep },
    ],
  });
  servers.push(r);
  const rootHtml = (await fetchOnce(r.port, request('/'))).body.toString();
  assert.match(rootHtml, /<a href="newtop\/">newtop\/<\/a>/, rootHtml);
  assert.doesNotMatch(rootHtml, /far\/|away/, 'a mount two levels down is not listed at the top');
  assert.match(rootHtml, /href="sub\/"/);
  const subHtml = (await fetchOnce(r.port, request('/sub/'))).body.toString();
  assert.match(subHtml, /<a href="deep\/">deep\/<\/a>/, subHtml);
  assert.match(subHtml, /href="own\.txt"/);
  // Folders first, as every folder of a listing: deep/ comes before own.txt.
  assert.ok(subHtml.indexOf('deep/') < subHtml.indexOf('own.txt'));
  for (const html of [rootHtml, subHtml]) {
    for (const href of [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1] ?? '')) {
      if (href === '../') continue;
      const at = html === rootHtml ? `/${href}` : `/sub/${href}`;
      assert.equal((await fetchOnce(r.port, request(at))).status, 200, at);
    }
  }
});
