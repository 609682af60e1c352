/**
 * A listing offers exactly what the server serves: with dotfiles off the root's `.well-known`
 * (served, RFC 8615) is listed and linked, and no other dot name is; a `.well-known` below the
 * top (a subfolder's, a mount's) is neither served nor listed. Checked over real sockets both
 * ways: every link a listing offers is fetched (never a 404), and every name on disk the listing
 * leaves out is asked for by name (always a 404), with dotfiles off and on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './harness';
import { fetchOnce, request } from './raw-client';

let base = '';
let root = '';
let lib = '';

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-listing-wk-'));
  root = join(base, 'site');
  lib = join(base, 'lib');
  for (const d of [join(root, '.well-known', 'acme'), join(root, '.hidden'), join(root, 'docs', '.well-known'), join(root, '.git'), join(lib, '.well-known')]) {
    await mkdir(d, { recursive: true });
  }
  await writeFile(join(root, 'index.txt'), 'not an index page\n');
  await writeFile(join(root, '.well-known', 'security.txt'), 'Contact: mailto:security@example.com\n');
  await writeFile(join(root, '.well-known', '.secret'), 'hidden below the top\n');
  await writeFile(join(root, '.env'), 'TOKEN=1\n');
  await writeFile(join(root, '.hidden', 'a.txt'), 'a\n');
  await writeFile(join(root, 'docs', 'a.txt'), 'a\n');
  await writeFile(join(root, 'docs', '.well-known', 'x.txt'), 'not the site top\n');
  await writeFile(join(root, '.git', 'config'), '[core]\n');
  await writeFile(join(lib, 'lib.js'), 'lib\n');
  await writeFile(join(lib, '.well-known', 'token'), 'a mount is not the site top\n');
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The hrefs of a listing page's entries (`../` left out), as the page writes them. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/<td><a href="([^"]+)">/g)].map((m) => m[1] ?? '').filter((h) => h !== '../');
}

test('with dotfiles off the root listing links .well-known/, the one dot name the server serves there', async () => {
  const srv = await startServer({ root, configFile: false, reload: { enabled: false }, mounts: [{ prefix: '/vendor', folder: lib }] });
  try {
    assert.equal((await fetchOnce(srv.port, request('/.well-known/security.txt'))).status, 200, 'the server serves /.well-known/');
    const top = await fetchOnce(srv.port, request('/'));
    assert.equal(top.status, 200);
    const links = hrefs(top.body.toString());
    assert.ok(links.includes('.well-known/'), `the root listing links .well-known/: ${links.join(' ')}`);
    assert.deepEqual(links.filter((h) => h.startsWith('.') && h !== '.well-known/'), [], 'no other dot name is listed');
    const wk = await fetchOnce(srv.port, request('/.well-known/'));
    assert.equal(wk.status, 200, 'the link it offers is served');
    assert.deepEqual(hrefs(wk.body.toString()).sort(), ['acme/', 'security.txt'], 'a dot name inside .well-known is not listed');
    // Below the top, .well-known is hidden as any dot name: neither served nor listed.
    assert.equal((await fetchOnce(srv.port, request('/docs/.well-known/x.txt'))).status, 404);
    assert.deepEqual(hrefs((await fetchOnce(srv.port, request('/docs/'))).body.toString()), ['a.txt']);
    assert.equal((await fetchOnce(srv.port, request('/vendor/.well-known/token'))).status, 404);
    assert.deepEqual(hrefs((await fetchOnce(srv.port, request('/vendor/'))).body.toString()), ['lib.js']);
  } finally {
    await srv.close();
  }
});

test('every listing offers what the server serves and hides what it refuses, dotfiles off and on', async () => {
  // [URL of a folder, its folder on disk], walked for every name in it.
  const folders: ReadonlyArray<readonly [string, string]> = [
    ['/', root],
    ['/.well-known/', join(root, '.well-known')],
    ['/docs/', join(root, 'docs')],
    ['/vendor/', lib],
  ];
  for (const dotfiles of [false, true]) {
    const srv = await startServer({ root, dotfiles, configFile: false, reload: { enabled: false }, mounts: [{ prefix: '/vendor', folder: lib }] });
    try {
      for (const [url, dir] of folders) {
        const page = await fetchOnce(srv.port, request(url));
        assert.equal(page.status, 200, `dotfiles ${dotfiles}: ${url}`);
        const linked = new Set(hrefs(page.body.toString()));
        for (const entry of await readdir(dir, { withFileTypes: true })) {
          const href = encodeURIComponent(entry.name) + (entry.isDirectory() ? '/' : '');
          const status = (await fetchOnce(srv.port, request(url + href))).status;
          if (linked.has(href)) assert.equal(status, 200, `dotfiles ${dotfiles}: ${url} links ${href}, which is a ${status}`);
          else assert.equal(status, 404, `dotfiles ${dotfiles}: ${url} leaves out ${href}, which is a ${status}`);
        }
      }
    } finally {
      await srv.close();
    }
  }
});
