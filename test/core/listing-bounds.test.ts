/**
 * Listings at a bounded cost (issue 10, item 9): a folder of 20,000 files gives a page of the first
 * LISTING_MAX_ENTRIES entries and "N more", built once per state of the folder (concurrent
 * requests share one build; a new file builds again); and a symlink out of the root is listed
 * without its target's size or date.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statSync, symlinkSync, writeFileSync } from 'node:fs';
import { LISTING_CACHE_MAX_AGE_MS, LISTING_MAX_BUILDS, LISTING_MAX_ENTRIES, LISTING_MAX_SCAN, LISTING_MAX_WAITING, listFolder, listingStats } from '../../src/core/files/listing';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, request } from './raw-client';

const FILES = 20_000;
let base = '';
let root = '';
let srv: Running;

const nameOf = (i: number): string => `f${String(i).padStart(5, '0')}.txt`;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-listing-'));
  root = join(base, 'site');
  await mkdir(join(root, 'many'), { recursive: true });
  await mkdir(join(root, 'links'), { recursive: true });
  await mkdir(join(base, 'outside'), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(root, 'many', nameOf(i)), '');
  await writeFile(join(root, 'many', 'a-folder-sorts-first.txt'), 'x');
  await mkdir(join(root, 'many', 'zz-dir'));
  // An outside file with a size and a date nobody else has.
  await writeFile(join(base, 'outside', 'secret.bin'), Buffer.alloc(123_457));
  await utimes(join(base, 'outside', 'secret.bin'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
  await symlink(join(base, 'outside', 'secret.bin'), join(root, 'links', 'out.bin'));
  await symlink(join(base, 'outside'), join(root, 'links', 'out-dir'));
  await writeFile(join(root, 'links', 'inside.txt'), 'inside\n');
  await symlink('inside.txt', join(root, 'links', 'in-link.txt'));
  srv = await startServer({ root });
});

after(async () => {
  await srv.close();
  await rm(base, { recursive: true, force: true });
});

test('a folder of 20,000 files: a bounded page with the first entries in order and "N more"', async () => {
  const res = await fetchOnce(srv.port, request('/many/'), { timeoutMs: 15_000 });
  assert.equal(res.status, 200);
  const html = res.body.toString();
  assert.ok(res.body.length < 300_000, `the page is bounded: ${res.body.length} bytes`);
  const rows = html.match(/<tr><td><a href="(?!\.\.\/)/g)?.length ?? 0;
  assert.equal(rows, LISTING_MAX_ENTRIES, 'exactly the cap of linked rows (besides ../)');
  const total = FILES + 2;
  assert.match(html, new RegExp(`${(total - LISTING_MAX_ENTRIES).toLocaleString('en-US')} more entries not shown`));
  // Folders first, then names in order: the first names are there, the last are not.
  assert.ok(html.indexOf('>zz-dir/<') >= 0 && html.indexOf('>zz-dir/<') < html.indexOf('>a-folder-sorts-first.txt<'));
  assert.ok(html.includes(`>${nameOf(0)}<`) && html.includes(`>${nameOf(LISTING_MAX_ENTRIES - 3)}<`));
  assert.ok(!html.includes(`>${nameOf(FILES - 1)}<`));
  const rec = srv.records.find((r) => r.target === '/many/');
  assert.match(rec?.note ?? '', /listing shows 1000 of 20002 entries/);
});

test('built once per state of the folder: repeated and concurrent requests share a build; a new file builds again', async () => {
  await fetchOnce(srv.port, request('/many/'), { timeoutMs: 15_000 });
  const before = listingStats.builds;
  const clients = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(srv.port)));
  try {
    await Promise.all(clients.map((c) => c.write(request('/many/'))));
    for (const c of clients) assert.equal((await c.readResponse({ timeoutMs: 15_000 })).status, 200);
  } finally {
    for (const c of clients) c.destroy();
  }
  assert.equal(listingStats.builds, before, 'served from the page built for this state of the folder');
  await writeFile(join(root, 'many', '0-new.txt'), 'new');
  const clients2 = await Promise.all(Array.from({ length: 6 }, () => RawClient.connect(srv.port)));
  try {
    await Promise.all(clients2.map((c) => c.write(request('/many/'))));
    for (const c of clients2) {
      const res = await c.readResponse({ timeoutMs: 15_000 });
      assert.equal(res.status, 200);
      assert.match(res.body.toString(), />0-new\.txt</);
    }
  } finally {
    for (const c of clients2) c.destroy();
  }
  assert.equal(listingStats.builds, before + 1, 'six concurrent requests after a change: one build');
});

test(`a built page is reused for at most LISTING_CACHE_MAX_AGE_MS (${LISTING_CACHE_MAX_AGE_MS} ms): a file grown in place, which moves no folder time, shows its new size after that`, async () => {
  // README: "reused for up to 5 s". Without the age bound a page would keep a file's old size for
  // as long as its folder is unchanged.
  await mkdir(join(root, 'aging'));
  await writeFile(join(root, 'aging', 'grows.txt'), 'x'.repeat(10));
  const first = (await fetchOnce(srv.port, request('/aging/'))).body.toString();
  assert.match(first, /grows\.txt<\/a><\/td><td class="n">10 B</);
  const built = listingStats.builds;
  await writeFile(join(root, 'aging', 'grows.txt'), 'x'.repeat(2000));
  // Waits past the bound (not a measure of speed: the page may only be rebuilt once it is older).
  await new Promise((r) => setTimeout(r, LISTING_CACHE_MAX_AGE_MS + 200));
  const later = (await fetchOnce(srv.port, request('/aging/'))).body.toString();
  assert.match(later, /grows\.txt<\/a><\/td><td class="n">2\.0 KiB</, 'the new size');
  assert.equal(listingStats.builds, built + 1);
});

test('a symlink leading outside the root is listed without its target size or date', async () => {
  const res = await fetchOnce(srv.port, request('/links/'));
  assert.equal(res.status, 200);
  const html = res.body.toString();
  assert.match(html, /<td>out\.bin<\/td><td class="n">link<\/td><td><\/td>/);
  assert.match(html, /<td>out-dir<\/td><td class="n">link<\/td><td><\/td>/);
  assert.ok(!html.includes('2001-02-03'), 'no outside date');
  assert.ok(!/120(\.\d)? Ki?B|123,?457/.test(html), 'no outside size');
  assert.match(html, /<a href="in-link\.txt">in-link\.txt<\/a><\/td><td class="n">7 B<\/td>/, 'a link inside is described through it');
});

test('names with control or bidi characters are shown escaped (U+202E cannot show exe.txt as txt.exe); links keep the real name and open the file', async () => {
  const folder = join(root, 'shown');
  await mkdir(folder, { recursive: true });
  const names = ['bidi\u202etxt.exe', 'esc\u001b[2Jx.txt', 'c1\u009bx.txt', 'isolate\u2066y.txt', 'caf\u00e9 \u65e5\u672c.txt'];
  for (const name of names) await writeFile(join(folder, name), name);
  const html = (await fetchOnce(srv.port, request('/shown/'))).body.toString('utf8');
  // eslint-disable-next-line no-control-regex
  assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(html), 'no raw control or bidi character in the page');
  assert.ok(html.includes('>bidi\\u202etxt.exe</a>'), html);
  assert.ok(html.includes('>esc\\x1b[2Jx.txt</a>'), html);
  assert.ok(html.includes('>c1\\x9bx.txt</a>'), html);
  assert.ok(html.includes('>isolate\\u2066y.txt</a>'), html);
  assert.ok(html.includes('>caf\u00e9 \u65e5\u672c.txt</a>'), 'printable Unicode is shown as it is');
  for (const name of names) {
    const href = `/shown/${encodeURIComponent(name)}`;
    assert.ok(html.includes(`href="${encodeURIComponent(name)}"`), `the link keeps ${JSON.stringify(name)}`);
    const res = await fetchOnce(srv.port, request(href));
    assert.equal(res.status, 200, href);
    assert.equal(res.body.toString('utf8'), name);
  }
});

// helper-158: the title (the tab, history, bookmarks) was the percent-encoded path, `Index of
// /my%20files/`, while the heading showed the folder's name; nginx's title shows the name.
test('a listing\'s title shows the folder path as its heading does, decoded and escaped, not percent-encoded', async () => {
  const folder = join(root, 'my th\u00e8me <b>', 'sub\u202efolder');
  await mkdir(folder, { recursive: true });
  const html = (await fetchOnce(srv.port, request(`/${encodeURIComponent('my th\u00e8me <b>')}/${encodeURIComponent('sub\u202efolder')}/`))).body.toString('utf8');
  const shown = '/my th\u00e8me &lt;b&gt;/sub\\u202efolder/';
  assert.ok(html.includes(`<title>Index of ${shown}</title>`), html.slice(0, 400));
  assert.ok(html.includes(`<h1>Index of ${shown}</h1>`), html.slice(0, 600));
});

test('at most LISTING_MAX_SCAN names are read per folder, hidden ones included: a folder of more hidden names says "only N names were read"', async () => {
  // Before, only the names a listing shows were counted: hidden ones (never listed) were read on
  // without a bound, so the README's "at most 200,000 names read per folder" held only for
  // folders of visible names. Symlinks: one system call each, quick to make.
  const dir = await mkdtemp(join(tmpdir(), 'porthole-listing-scan-'));
  const folder = join(dir, 'hidden-many');
  await mkdir(folder);
  for (const name of ['a.txt', 'b.txt', 'c.txt']) writeFileSync(join(folder, name), 'x');
  for (let i = 0; i < LISTING_MAX_SCAN + 100; i++) symlinkSync('a.txt', join(folder, `.h${i}`));
  const scanning = await startServer({ root: dir, reload: { enabled: false } });
  try {
    const res = await fetchOnce(scanning.port, request('/hidden-many/'), { timeoutMs: 30_000 });
    assert.equal(res.status, 200);
    const html = res.body.toString();
    assert.ok(!html.includes('.h0<'), 'hidden names are not listed');
    assert.match(html, new RegExp(`Perhaps more entries not shown: only ${LISTING_MAX_SCAN.toLocaleString('en-US')} names were read \\(a listing reads no more, hidden ones included\\)\\.`));
  } finally {
    await scanning.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('builds are bounded: at most LISTING_MAX_BUILDS run, LISTING_MAX_WAITING wait, the rest are busy (503)', async () => {
  const folder = join(root, 'many');
  const st = statSync(folder);
  const options = { rootReal: root, dotfiles: false, followSymlinks: false };
  const asked = LISTING_MAX_BUILDS + LISTING_MAX_WAITING + 6;
  // Distinct request paths for the same folder: distinct pages, so nothing is shared.
  const results = await Promise.all(
    Array.from({ length: asked }, (_, i) => listFolder({ real: folder, stat: st, handle: undefined, segments: ['many', String(i)] }, options)),
  );
  const kinds = results.map((r) => r.kind);
  assert.equal(kinds.filter((k) => k === 'page').length, LISTING_MAX_BUILDS + LISTING_MAX_WAITING);
  assert.equal(kinds.filter((k) => k === 'busy').length, 6);
});

test('over HTTP, listings past the builds running and waiting get 503 with Retry-After: 2 and words that say to try again', async () => {
  // The bound above, as a client meets it: 40 links to the folder of 20,000 files are 40 pages.
  const aliases = Array.from({ length: 40 }, (_, i) => `alias-${i}`);
  for (const a of aliases) await symlink('many', join(root, a));
  const clients = await Promise.all(aliases.map(() => RawClient.connect(srv.port)));
  try {
    await Promise.all(clients.map((c, i) => c.write(request(`/${aliases[i] ?? ''}/`))));
    const answers = await Promise.all(clients.map((c) => c.readResponse({ timeoutMs: 30_000 })));
    const busy = answers.filter((r) => r.status === 503);
    assert.deepEqual(answers.filter((r) => r.status !== 200 && r.status !== 503).map((r) => r.status), []);
    assert.ok(busy.length >= 1 && busy.length <= aliases.length - LISTING_MAX_BUILDS - LISTING_MAX_WAITING, `${busy.length} answered 503`);
    for (const r of busy) {
      assert.equal(r.header('retry-after'), '2');
      assert.equal(r.body.toString('utf8'), 'Service unavailable: too many folder listings are being built right now; try again shortly.\n');
    }
  } finally {
    for (const c of clients) c.destroy();
  }
});

test('a listing links only to what is then served: a backslash or a name that is no UTF-8 is listed without a link (helper-48)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-unreachable-'));
  const srv = await startServer({ root: dir, reload: { enabled: false } });
  try {
    await writeFile(join(dir, 'fine.txt'), 'x');
    await writeFile(join(dir, '<b>x<\\b>.txt'), 'x');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/hi`), Buffer.from([0xff]), Buffer.from('byte')]), 'x');
    const page = (await fetchOnce(srv.port, request('/'))).body.toString('utf8');
    const hrefs = [...page.matchAll(/href="([^"]*)"/g)].map((m) => m[1] ?? '');
    assert.ok(hrefs.includes('fine.txt'), page);
    for (const href of hrefs) {
      if (href === '../' || href === '/') continue;
      const res = await fetchOnce(srv.port, request(`/${href}`));
      assert.equal(res.status, 200, `the listing links to /${href}, which answers ${res.status}`);
    }
    assert.match(page, /not served: a backslash in a name is refused/);
    assert.match(page, /not served: the name is not UTF-8/);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a name that is UTF-8 and holds U+FFFD itself is linked and served; one that is not UTF-8 is described by its own bytes', async () => {
  // Before: no UTF-8 was told by a U+FFFD in the decoded name, so `rep\uFFFD.txt` (valid UTF-8,
  // EF BF BD) was listed as "not served: the name is not UTF-8" while /rep%EF%BF%BD.txt answered
  // 200; and a name that is no UTF-8 was described by the lstat of its decoded spelling: the size
  // of another file (the valid one) or "?".
  const dir = await mkdtemp(join(tmpdir(), 'porthole-replacement-'));
  const srv = await startServer({ root: dir, reload: { enabled: false } });
  try {
    await writeFile(join(dir, 'rep\uFFFD.txt'), 'valid utf-8 name');
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/rep`), Buffer.from([0xff]), Buffer.from('.txt')]), 'seven b');
    const page = (await fetchOnce(srv.port, request('/'))).body.toString('utf8');
    const rows = page.split('\n').filter((line) => line.includes('rep\uFFFD.txt') || line.includes('rep\\xff.txt'));
    assert.equal(rows.length, 2, page);
    const linked = rows.filter((row) => row.includes('href="rep%EF%BF%BD.txt"'));
    assert.equal(linked.length, 1, `the UTF-8 name is linked: ${rows.join('\n')}`);
    assert.match(linked[0] ?? '', /16 B/);
    const served = await fetchOnce(srv.port, request('/rep%EF%BF%BD.txt'));
    assert.equal(served.status, 200);
    assert.equal(served.body.toString(), 'valid utf-8 name');
    const unlinked = rows.filter((row) => !row.includes('href='));
    assert.equal(unlinked.length, 1, rows.join('\n'));
    assert.match(unlinked[0] ?? '', /not served: the name is not UTF-8/);
    assert.match(unlinked[0] ?? '', /7 B/, 'its own size, not the other file\'s');
    // Shown by its own bytes (helper-116): decoded, it read as the valid name did.
    assert.ok((unlinked[0] ?? '').includes('rep\\xff.txt'), unlinked[0]);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('two names that are no UTF-8 and differ in a byte are two rows that differ (\\xfe, \\xff), not twice bad\uFFFDname (helper-116)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-bytes-'));
  const srv = await startServer({ root: dir, reload: { enabled: false } });
  try {
    for (const b of [0xfe, 0xff]) writeFileSync(Buffer.concat([Buffer.from(`${dir}/bad`), Buffer.from([b]), Buffer.from('name')]), 'x');
    // A valid character beside an invalid byte is kept as text: é (C3 A9), then 0x80 alone.
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/caf\u00e9`), Buffer.from([0x80])]), 'x');
    const page = (await fetchOnce(srv.port, request('/'))).body.toString('utf8');
    for (const shown of ['bad\\xfename', 'bad\\xffname', 'caf\u00e9\\x80']) assert.equal(page.split('\n').filter((l) => l.includes(shown)).length, 1, `${shown}: ${page}`);
    assert.ok(!page.includes('\uFFFD'), 'no replacement character');
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('with live reload on, a file of the folder at /__porthole/client.js is listed without a link: that URL is Porthole\'s client', async () => {
  // Before: /__porthole/ listed the folder's client.js (14 B, linked), and the link opened
  // Porthole's own live-reload client instead. Off, the file is the folder's and is linked.
  const dir = await mkdtemp(join(tmpdir(), 'porthole-own-prefix-'));
  await mkdir(join(dir, '__porthole'));
  await writeFile(join(dir, '__porthole', 'client.js'), 'MY OWN CLIENT\n');
  await writeFile(join(dir, '__porthole', 'other.js'), 'mine\n');
  const on = await startServer({ root: dir, configFile: false, reload: { enabled: true, watch: false } });
  const off = await startServer({ root: dir, configFile: false, reload: { enabled: false } });
  try {
    const page = (await fetchOnce(on.port, request('/__porthole/'))).body.toString();
    assert.doesNotMatch(page, /href="client\.js"/, page);
    assert.match(page, /client\.js <small>\(not served here: its URL is answered by a proxied route or by Porthole itself\)<\/small>/);
    assert.match(page, /href="other\.js"/);
    assert.equal((await fetchOnce(on.port, request('/__porthole/other.js'))).body.toString(), 'mine\n');
    const offPage = (await fetchOnce(off.port, request('/__porthole/'))).body.toString();
    assert.match(offPage, /href="client\.js"/);
    assert.equal((await fetchOnce(off.port, request('/__porthole/client.js'))).body.toString(), 'MY OWN CLIENT\n');
  } finally {
    await on.close();
    await off.close();
    await rm(dir, { recursive: true, force: true });
  }
});
