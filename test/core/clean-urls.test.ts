/**
 * Clean URLs over real sockets: `/about` finds `about.html` when nothing named `about` exists;
 * `/about.html` (GET/HEAD) moves (301) to `/about`, the query kept and the Location encoded;
 * `index.html` moves to its folder; a file or folder named `about` wins; hidden names stay hidden
 * (`/.secret` never finds `.secret.html`); inside mounts; before the SPA fallback (whose own file
 * is never redirected); live reload injected; off by default; reconfigurable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerOptionsInput } from '../../src/core';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

const NAV = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html,*/*;q=0.8'];
let base = '';
let root = '';
let lib = '';
const servers: Running[] = [];

async function serve(input: Omit<ServerOptionsInput, 'root'> = {}): Promise<Running> {
  const running = await startServer({ root, configFile: false, cleanUrls: true, reload: { enabled: false }, ...input });
  servers.push(running);
  return running;
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-clean-'));
  root = join(base, 'site');
  lib = join(base, 'lib');
  await mkdir(join(root, 'docs'), { recursive: true });
  await mkdir(join(root, 'both'), { recursive: true });
  await mkdir(lib, { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><p>home</p>');
  await writeFile(join(root, 'about.html'), '<!doctype html><html><head><title>a</title></head><body>about page</body></html>');
  await writeFile(join(root, 'café.html'), '<!doctype html><p>café</p>');
  await writeFile(join(root, 'a b.html'), '<!doctype html><p>space</p>');
  await writeFile(join(root, 'docs', 'index.html'), '<!doctype html><p>docs index</p>');
  await writeFile(join(root, 'docs', 'guide.html'), '<!doctype html><p>guide</p>');
  await writeFile(join(root, 'both.html'), '<!doctype html><p>both.html</p>');
  await writeFile(join(root, 'both', 'index.html'), '<!doctype html><p>both folder</p>');
  await writeFile(join(root, 'plain'), 'a file named plain');
  await writeFile(join(root, 'plain.html'), '<!doctype html><p>plain.html</p>');
  await writeFile(join(root, '.secret.html'), 'SECRET-PAGE');
  await writeFile(join(lib, 'widget.html'), '<!doctype html><p>mounted widget</p>');
  await writeFile(join(root, 'release.v2.html'), '<!doctype html><html><head><title>r</title></head><body>release two</body></html>');
  await writeFile(join(root, 'docs', 'node.js.html'), '<!doctype html><html><head><title>n</title></head><body>node page</body></html>');
  await writeFile(join(lib, 'v1.2.html'), '<!doctype html><p>mounted v1.2</p>');
  await writeFile(join(root, 'notes.txt'), 'plain notes');
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(base, { recursive: true, force: true });
});

test('/about serves about.html, with validators; a trailing slash or another extension does not', async () => {
  const s = await serve();
  const r = await fetchOnce(s.port, request('/about'));
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /about page/);
  assert.match(r.header('content-type') ?? '', /^text\/html/);
  const etag = r.header('etag');
  assert.ok(etag !== undefined && r.header('last-modified') !== undefined);
  assert.equal((await fetchOnce(s.port, request('/about', { headers: [`If-None-Match: ${etag}`] }))).status, 304);
  assert.equal((await fetchOnce(s.port, request('/about', { headers: ['Range: bytes=0-8'] }))).status, 206);
  assert.equal((await fetchOnce(s.port, request('/about/'))).status, 404);
  assert.equal((await fetchOnce(s.port, request('/docs/guide?x=1'))).status, 200);
  assert.equal((await fetchOnce(s.port, request('/caf%C3%A9'))).status, 200);
  assert.equal((await fetchOnce(s.port, request('/missing'))).status, 404);
});

test('/about.html moves (301) to /about, query kept, Location encoded; HEAD too; other methods are not redirected', async () => {
  const s = await serve();
  for (const [path, location] of [
    ['/about.html', '/about'],
    ['/about.html?tab=2&x=%20', '/about?tab=2&x=%20'],
    ['/caf%C3%A9.html', '/caf%C3%A9'],
    ['/a%20b.html', '/a%20b'],
    ['/docs/guide.html', '/docs/guide'],
    ['/index.html', '/'],
    ['/docs/index.html?q', '/docs/?q'],
  ] as const) {
    const r = await fetchOnce(s.port, request(path));
    assert.equal(r.status, 301, path);
    assert.equal(r.header('location'), location, path);
  }
  const head = await fetchOnce(s.port, request('/about.html', { method: 'HEAD' }), { head: true });
  assert.equal(head.status, 301);
  assert.equal(head.header('location'), '/about');
  assert.equal((await fetchOnce(s.port, request('/about.html', { method: 'POST', headers: ['Content-Length: 0'] }))).status, 405);
});

test('a file or folder named like the clean URL wins, and then x.html is not redirected', async () => {
  const s = await serve();
  const folder = await fetchOnce(s.port, request('/both'));
  assert.equal(folder.status, 301);
  assert.equal(folder.header('location'), '/both/');
  assert.match((await fetchOnce(s.port, request('/both.html'))).body.toString(), /both\.html/);
  assert.equal((await fetchOnce(s.port, request('/plain'))).body.toString(), 'a file named plain');
  const plainHtml = await fetchOnce(s.port, request('/plain.html'));
  assert.equal(plainHtml.status, 200);
  assert.match(plainHtml.body.toString(), /plain\.html/);
});

test('hidden rules apply: /.secret never finds .secret.html', async () => {
  const s = await serve();
  for (const path of ['/.secret', '/%2esecret', '/.secret.html']) {
    const r = await fetchOnce(s.port, request(path));
    assert.equal(r.status, 404, path);
    assert.ok(!r.body.includes('SECRET-PAGE'), path);
  }
});

test('inside a mount: /vendor/widget serves widget.html, /vendor/widget.html moves to /vendor/widget', async () => {
  const s = await serve({ mounts: [{ prefix: '/vendor', folder: lib }] });
  assert.match((await fetchOnce(s.port, request('/vendor/widget'))).body.toString(), /mounted widget/);
  const moved = await fetchOnce(s.port, request('/vendor/widget.html'));
  assert.equal(moved.status, 301);
  assert.equal(moved.header('location'), '/vendor/widget');
});

test('with the SPA fallback: the clean URL first, then the fallback (whose own index.html is never redirected)', async () => {
  const s = await serve({ spa: 'index.html', reload: { enabled: true, watch: false } });
  const about = await fetchOnce(s.port, request('/about', { headers: NAV }));
  assert.equal(about.status, 200);
  assert.match(about.body.toString(), /about page/);
  assert.match(about.body.toString(), /__porthole\/client\.js/, 'live reload injected into the clean URL page');
  const deep = await fetchOnce(s.port, request('/users/42', { headers: NAV }));
  assert.equal(deep.status, 200);
  assert.match(deep.body.toString(), /home/);
  const noReload = await serve({ spa: 'index.html' });
  const plainDeep = await fetchOnce(noReload.port, request('/users/42', { headers: NAV }));
  assert.equal(plainDeep.status, 200, 'the fallback file is served, not redirected to /');
  assert.match(plainDeep.body.toString(), /home/);
  // The browser asking for /index.html itself still moves to /.
  assert.equal((await fetchOnce(noReload.port, request('/index.html', { headers: NAV }))).status, 301);
});

test('live reload: a page whose name has a dot before .html (release.v2.html at /release.v2) is injected like any clean URL', async () => {
  // The request path's last segment decided whether a navigation might be a page: `/release.v2`
  // ends in `.v2`, so the page went out without the client and never reloaded.
  const s = await serve({ reload: { enabled: true, watch: false }, mounts: [{ prefix: '/vendor', folder: lib }] });
  for (const [path, text] of [
    ['/release.v2', 'release two'],
    ['/docs/node.js', 'node page'],
    ['/vendor/v1.2', 'mounted v1.2'],
  ] as const) {
    const page = await fetchOnce(s.port, request(path, { headers: NAV }));
    assert.equal(page.status, 200, path);
    assert.match(page.body.toString(), new RegExp(text), path);
    assert.match(page.body.toString(), /__porthole\/client\.js/, `${path}: live reload injected`);
    assert.equal(page.body.length, Number(page.header('content-length')), path);
    const fetched = await fetchOnce(s.port, request(path, { headers: ['Sec-Fetch-Dest: empty', 'Sec-Fetch-Mode: cors'] }));
    assert.doesNotMatch(fetched.body.toString(), /__porthole/, `${path}: a fetch() gets the file as it is`);
  }
  // Redirected there from its .html name; other files asked for by a navigation are as they are.
  const moved = await fetchOnce(s.port, request('/release.v2.html', { headers: NAV }));
  assert.equal(moved.status, 301);
  assert.equal(moved.header('location'), '/release.v2');
  const notes = await fetchOnce(s.port, request('/notes.txt', { headers: NAV }));
  assert.equal(notes.body.toString(), 'plain notes');
  assert.match(notes.header('content-type') ?? '', /^text\/plain/);
});

test('the editor\'s unsaved text of a page (an overlay) is what its clean URL serves, to a fetch() as to a navigation', async () => {
  const s = await serve({ reload: { enabled: true, watch: false } });
  const live = s.server.liveReload;
  assert.ok(live);
  live.setOverlay(join(root, 'release.v2.html'), '<!doctype html><p>unsaved release</p>');
  live.setOverlay(join(root, 'docs', 'guide.html'), '<!doctype html><p>unsaved guide</p>');
  try {
    for (const [path, text] of [
      ['/release.v2', 'unsaved release'],
      ['/docs/guide', 'unsaved guide'],
    ] as const) {
      const fetched = await fetchOnce(s.port, request(path, { headers: ['Sec-Fetch-Dest: empty', 'Sec-Fetch-Mode: cors'] }));
      assert.equal(fetched.body.toString(), `<!doctype html><p>${text}</p>`, `${path}: fetch()`);
      const nav = await fetchOnce(s.port, request(path, { headers: NAV }));
      assert.match(nav.body.toString(), new RegExp(text), `${path}: navigation`);
    }
  } finally {
    live.setOverlay(join(root, 'release.v2.html'), undefined);
    live.setOverlay(join(root, 'docs', 'guide.html'), undefined);
  }
});

test('off by default; reconfigurable while running', async () => {
  const s = await serve({ cleanUrls: undefined });
  assert.equal((await fetchOnce(s.port, request('/about'))).status, 404);
  assert.equal((await fetchOnce(s.port, request('/about.html'))).status, 200);
  s.server.reconfigure({ cleanUrls: true });
  assert.equal((await fetchOnce(s.port, request('/about'))).status, 200);
  assert.equal((await fetchOnce(s.port, request('/about.html'))).status, 301);
});

test('with live reload, what says a path may be a page follows the settings as they change: /notes.txt names what chooses its answer (Vary) once clean URLs are on, and /.secret.html once dotfiles are', async () => {
  // The page Vary (a navigation gets the page with the tag, a fetch the bytes on disk) is decided
  // from the path and the settings; kept by path, it must be made again when a setting changes.
  const s = await serve({ cleanUrls: undefined, reload: { enabled: true } });
  const vary = async (target: string): Promise<string | undefined> => (await fetchOnce(s.port, request(target))).header('vary');
  assert.equal(await vary('/notes.txt'), undefined, 'a name with no page extension, clean URLs off');
  s.server.reconfigure({ cleanUrls: true });
  assert.match((await vary('/notes.txt')) ?? '', /Sec-Fetch-Dest/, 'with clean URLs, /notes.txt may be notes.txt.html');
  s.server.reconfigure({ cleanUrls: false });
  assert.equal(await vary('/notes.txt'), undefined, 'clean URLs off again');
  // Hidden: the file is no page answered there, but the 404 page in its place is one (a
  // navigation gets it with the tag): it says so too (helper-178).
  const hidden = await fetchOnce(s.port, request('/.secret.html', { headers: NAV }));
  assert.equal(hidden.status, 404, 'hidden: refused as missing');
  assert.doesNotMatch(hidden.body.toString(), /SECRET-PAGE/, 'hidden: not the file');
  assert.match(hidden.header('vary') ?? '', /Sec-Fetch-Dest/, 'hidden: the 404 page varies as any page');
  s.server.reconfigure({ dotfiles: true });
  const shown = await fetchOnce(s.port, request('/.secret.html', { headers: NAV }));
  assert.equal(shown.status, 200, 'dotfiles on: a page like any');
  assert.match(shown.header('vary') ?? '', /Sec-Fetch-Dest/, 'dotfiles on: a page like any');
});

test('a name the server refuses (a link out of the root, or to a hidden file) is as missing: its page.html answers /page, and /page.html moves there, whatever the link leads to', async () => {
  // Before: /linked was a 404 beside a served linked.html, and /linked.html answered 200 when the
  // link's target out of the root existed and 301 when it did not (an existence oracle).
  const outside = join(base, 'outside-of-site');
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'there.txt'), 'OUTSIDE-SECRET');
  const made: string[] = [];
  const page = async (name: string, linkTo: string): Promise<void> => {
    await writeFile(join(root, `${name}.html`), `<!doctype html><p>${name} page</p>`);
    await symlink(linkTo, join(root, name));
    made.push(join(root, `${name}.html`), join(root, name));
  };
  try {
    await page('out-there', join(outside, 'there.txt'));
    await page('out-none', join(outside, 'none.txt'));
    await page('to-hidden', '.secret.html');
    await page('to-hidden-none', '.none.html');
    const s = await serve();
    for (const name of ['out-there', 'out-none', 'to-hidden', 'to-hidden-none']) {
      const clean = await fetchOnce(s.port, request(`/${name}`, { headers: NAV }));
      assert.equal(clean.status, 200, `/${name}`);
      assert.match(clean.body.toString(), new RegExp(`${name} page`), `/${name}`);
      assert.doesNotMatch(clean.body.toString(), /SECRET/, `/${name}`);
      const moved = await fetchOnce(s.port, request(`/${name}.html`, { headers: NAV }));
      assert.equal(moved.status, 301, `/${name}.html`);
      assert.equal(moved.header('location'), `/${name}`, `/${name}.html`);
    }
  } finally {
    for (const path of made) await rm(path, { force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('a page whose clean URL is a mount (vendor.html beside a mount at /vendor) is served by its name, never moved into the mount', async () => {
  // Before: /vendor.html moved (301) to /vendor, which the mount answers (its folder's listing):
  // the root's vendor.html, linked from the root's listing, could not be reached at all.
  await writeFile(join(root, 'vendor.html'), '<!doctype html><p>vendor page of the root</p>');
  try {
    const s = await serve({ mounts: [{ prefix: '/vendor', folder: lib }] });
    const page = await fetchOnce(s.port, request('/vendor.html'));
    assert.equal(page.status, 200, `/vendor.html: ${page.status} ${page.header('location') ?? ''}`);
    assert.match(page.body.toString(), /vendor page of the root/);
    const mount = await fetchOnce(s.port, request('/vendor'));
    assert.equal(mount.status, 301);
    assert.equal(mount.header('location'), '/vendor/', 'the mount keeps its own URL');
    // Inside the mount, the rule is unchanged.
    assert.equal((await fetchOnce(s.port, request('/vendor/widget.html'))).header('location'), '/vendor/widget');
  } finally {
    await rm(join(root, 'vendor.html'), { force: true });
  }
});

test('a link that leads round in a loop is as missing: /loop.html moves to /loop, which serves loop.html', async () => {
  // Before: the stem counted as existing (its stat failed with ELOOP, not ENOENT), so /loop.html
  // answered 200 beside /loop answering the same page: two URLs for one page, where a dangling
  // link's page moves.
  const made = [join(root, 'loop.html'), join(root, 'loop')];
  try {
    await writeFile(join(root, 'loop.html'), '<!doctype html><p>loop page</p>');
    await symlink('loop', join(root, 'loop'));
    const s = await serve();
    const loop = await fetchOnce(s.port, request('/loop'));
    assert.equal(loop.status, 200);
    assert.match(loop.body.toString(), /loop page/);
    const moved = await fetchOnce(s.port, request('/loop.html'));
    assert.equal(moved.status, 301, '/loop.html');
    assert.equal(moved.header('location'), '/loop');
  } finally {
    for (const path of made) await rm(path, { force: true });
  }
});

test('a page whose clean URL is a proxied route (api.html beside a route /api) is served by its name, never moved to the back-end', async () => {
  // Before: /api.html moved (301) to /api, which the proxy passes to the back-end (here none
  // listens: 502), so the folder's api.html could not be reached at all.
  await writeFile(join(root, 'api.html'), '<!doctype html><p>api page of the root</p>');
  try {
    const s = await serve({ proxy: { routes: [{ prefix: '/api', target: 'http://127.0.0.1:1' }] } });
    const page = await fetchOnce(s.port, request('/api.html'));
    assert.equal(page.status, 200, `/api.html: ${page.status} ${page.header('location') ?? ''}`);
    assert.match(page.body.toString(), /api page of the root/);
    // Other pages still move to their clean URL.
    assert.equal((await fetchOnce(s.port, request('/about.html'))).header('location'), '/about');
  } finally {
    await rm(join(root, 'api.html'), { force: true });
  }
});
