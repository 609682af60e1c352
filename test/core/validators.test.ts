/**
 * Validators over TCP (issue 11, item 4): a changed file never keeps its ETag or Last-Modified,
 * even when the change put the old size and mtime back (`cp -p`, `rsync -t`, unzip: a same-size
 * rewrite followed by utimes), or replaced the file by renaming another one over it; a date two
 * saves in one second share matches no date condition. Both for a
 * cached file (tagged by content) and a file streamed from disk (tagged by inode and ctime).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdirSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type Running } from './harness';
import { DATED_VERSIONS_MAX, DatedVersions, URL_DATES_MAX, UrlDates } from '../../src/core/files/validators';
import type { Validators } from '../../src/core/files/preconditions';
import { fetchOnce, request, type RawResponse } from './raw-client';

let root: string;
let srv: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-validators-'));
  srv = await startServer({ root, reload: { enabled: false } });
});

after(async () => {
  await srv.close();
  await rm(root, { recursive: true, force: true });
});

/** Small (cached, tagged by content) and big (streamed, tagged by inode and ctime). */
const SIZES: Array<[string, number]> = [
  ['cached', 4 * 1024],
  ['streamed', 1536 * 1024],
];

function bytesOf(letter: string, size: number): Buffer {
  const buf = Buffer.alloc(size, letter);
  buf.write(`/* version ${letter} */\n`);
  return buf;
}

/** A whole-second mtime in the past, as unzip, FAT and `rsync -t` leave them (utimes keeps it exact). */
const OLD_MTIME_SEC = 1_700_000_000;

/** Writes `bytes` and stamps the old mtime on them; returns the Stats. */
function writeOld(path: string, bytes: Buffer): Stats {
  writeFileSync(path, bytes);
  utimesSync(path, OLD_MTIME_SEC, OLD_MTIME_SEC);
  return statSync(path);
}

function get(name: string, headers: string[] = []): Promise<RawResponse> {
  return fetchOnce(srv.port, request(`/${name}`, { headers }));
}

/**
 * Runs `change` until `done(stat)` holds: the kernel stamps ctime from a coarse clock, so two
 * writes within one tick share it, and that clock may still be in the second Date.now() left.
 * Bounded: 400 tries, 5 ms apart.
 */
async function changeUntil(path: string, change: () => void, done: (st: Stats) => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    change();
    if (done(statSync(path))) return;
    await sleep(5);
  }
  assert.fail('the change never showed in ctime');
}

const secondOf = (ms: number): number => Math.floor(ms / 1000);

/** Waits until the wall clock is in a later second than `ms` (at most ~1 s). */
async function nextSecondAfter(ms: number): Promise<void> {
  while (Math.floor(Date.now() / 1000) <= Math.floor(ms / 1000)) await sleep(20);
}

describe('a changed file gets new validators', () => {
  for (const [kind, size] of SIZES) {
    test(`${kind}: same-size rewrite with the old mtime put back (utimes) → 200, new ETag, new Last-Modified`, async () => {
      const name = `app-${kind}.js`;
      const path = join(root, name);
      const old = writeOld(path, bytesOf('a', size));
      const first = await get(name);
      assert.equal(first.status, 200);
      const etag = first.header('etag') ?? '';
      const lastModified = first.header('last-modified') ?? '';
      assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
      assert.equal((await get(name, [`If-None-Match: ${etag}`])).status, 304, 'unchanged: 304');
      // Date validators have whole seconds: the rewrite must fall in a later second to be told apart.
      await nextSecondAfter(Math.max(old.mtimeMs, old.ctimeMs));
      await changeUntil(
        path,
        () => writeOld(path, bytesOf('b', size)),
        (st) => secondOf(st.ctimeMs) > secondOf(Math.max(old.mtimeMs, old.ctimeMs)),
      );
      const now = statSync(path);
      assert.equal(now.size, old.size);
      assert.equal(now.mtimeMs, old.mtimeMs, 'the old mtime is back');
      for (const headers of [[`If-None-Match: ${etag}`], [`If-Modified-Since: ${lastModified}`], [`If-None-Match: ${etag}`, `If-Modified-Since: ${lastModified}`]]) {
        const res = await get(name, headers);
        assert.equal(res.status, 200, `${headers.join(' + ')}: the browser must get the new bytes`);
        assert.ok(res.body.subarray(0, 20).toString().includes('version b'), 'the new bytes');
        assert.notEqual(res.header('etag'), etag, 'a new ETag');
      }
      // If-Range with the old tag: the whole new file, not a range of it.
      const ranged = await get(name, ['Range: bytes=0-9', `If-Range: ${etag}`]);
      assert.equal(ranged.status, 200);
    });

    test(`${kind}: a file renamed over it (new inode) with the same size and mtime → 200, new ETag`, async () => {
      const name = `swap-${kind}.js`;
      const path = join(root, name);
      const old = writeOld(path, bytesOf('a', size));
      const etag = (await get(name)).header('etag') ?? '';
      const tmp = join(root, `.${name}.tmp`);
      writeOld(tmp, bytesOf('c', size));
      renameSync(tmp, path);
      const now = statSync(path);
      assert.notEqual(now.ino, old.ino, 'a new inode');
      assert.equal(now.mtimeMs, old.mtimeMs);
      const res = await get(name, [`If-None-Match: ${etag}`]);
      assert.equal(res.status, 200);
      assert.ok(res.body.subarray(0, 20).toString().includes('version c'));
      assert.notEqual(res.header('etag'), etag);
    });
  }

  for (const [kind, size] of SIZES) {
    test(`${kind}: saved twice in one second, its date names no one version (If-Modified-Since, If-Range, If-Unmodified-Since)`, async () => {
      // The client holds the first save and names its Last-Modified; the second save, in the
      // same second, keeps that date with other bytes (RFC 9110 §8.8.2.2).
      // Not text: a file with encodings (a copy compressed on the fly) takes no If-Range date at all
      // (if-range-date-coding.test.ts), and this test is about one coding's versions.
      const name = `twice-${kind}.bin`;
      const path = join(root, name);
      let lastModified = '';
      for (let attempt = 0; attempt < 20 && lastModified === ''; attempt++) {
        writeFileSync(path, bytesOf('a', size));
        const first = await get(name);
        assert.equal(first.status, 200);
        const date = first.header('last-modified') ?? '';
        writeFileSync(path, bytesOf('b', size));
        const st = statSync(path);
        // Both saves in one second, so that the date is the same: else try again.
        if (secondOf(Math.max(st.mtimeMs, st.ctimeMs)) * 1000 === Date.parse(date)) lastModified = date;
      }
      assert.notEqual(lastModified, '', 'two saves in one second');
      const b = bytesOf('b', size);
      const ims = await get(name, [`If-Modified-Since: ${lastModified}`]);
      assert.equal(ims.status, 200, 'If-Modified-Since: the client may hold the first save (a 304 keeps it)');
      assert.ok(ims.body.equals(b), 'the second save');
      assert.equal(ims.header('last-modified'), lastModified, 'the same date, other bytes');
      const ranged = await get(name, ['Range: bytes=0-9', `If-Range: ${lastModified}`]);
      assert.equal(ranged.status, 200, 'If-Range: no range of the second save to splice into the first');
      assert.ok(ranged.body.equals(b), 'the whole second save');
      const resumed = await get(name, ['Range: bytes=0-9', `If-Unmodified-Since: ${lastModified}`]);
      assert.equal(resumed.status, 412, 'If-Unmodified-Since: not known to be unmodified');
      // A save in a later second names one version again.
      await changeUntil(
        path,
        () => writeFileSync(path, bytesOf('c', size)),
        (st) => secondOf(Math.max(st.mtimeMs, st.ctimeMs)) * 1000 > Date.parse(lastModified),
      );
      const date = (await get(name)).header('last-modified') ?? '';
      assert.notEqual(date, lastModified);
      assert.equal((await get(name, [`If-Modified-Since: ${date}`])).status, 304, 'a date that names one version');
      const part = await get(name, ['Range: bytes=0-9', `If-Range: ${date}`]);
      assert.equal(part.status, 206);
      assert.ok(part.body.equals(bytesOf('c', size).subarray(0, 10)));
    });
  }

  for (const [kind, size] of SIZES) {
    test(`${kind}: a file dated in the future states no Last-Modified after Date, and an edit is seen by date (helper-48)`, async () => {
      const name = `future-${kind}.js`;
      const path = join(root, name);
      const FUTURE = Date.UTC(2099, 0, 1) / 1000;
      writeFileSync(path, bytesOf('a', size));
      utimesSync(path, FUTURE, FUTURE);
      const first = await get(name);
      const stated = Date.parse(first.header('last-modified') ?? '');
      assert.ok(stated <= Date.parse(first.header('date') ?? ''), `Last-Modified ${first.header('last-modified')} after Date ${first.header('date')}`);
      // An edit that keeps the future mtime (cp -p, an archive): a client revalidating by date alone
      // must get the new bytes.
      await changeUntil(
        path,
        () => {
          writeFileSync(path, bytesOf('b', size));
          utimesSync(path, FUTURE, FUTURE);
        },
        (st) => secondOf(st.ctimeMs) * 1000 > stated,
      );
      const again = await get(name, [`If-Modified-Since: ${first.header('last-modified') ?? ''}`]);
      assert.equal(again.status, 200, 'the edit is seen');
      assert.ok(again.body.subarray(0, 20).toString().includes('version b'));
      // A date in the future, or one that is no HTTP-date (ISO 8601), proves nothing: 200.
      for (const date of ['Thu, 01 Jan 2099 00:00:00 GMT', '2099-12-01T19:13:10Z']) {
        assert.equal((await get(name, [`If-Modified-Since: ${date}`])).status, 200, date);
      }
    });
  }

  test('cached: the tag follows the content — a touch or a save of the same bytes keeps it (304)', async () => {
    const name = 'same.js';
    const path = join(root, name);
    writeFileSync(path, bytesOf('a', 2048));
    const old = statSync(path);
    const etag = (await get(name)).header('etag') ?? '';
    await changeUntil(
      path,
      () => {
        writeFileSync(path, bytesOf('a', 2048));
        utimesSync(path, new Date(), new Date());
      },
      (st) => st.ctimeMs !== old.ctimeMs,
    );
    const res = await get(name, [`If-None-Match: ${etag}`]);
    assert.equal(res.status, 304);
    assert.equal(res.header('etag'), etag);
  });
});

describe('a URL that goes back to an older file', () => {
  for (const [kind, size] of SIZES) {
    test(`${kind}: a link re-pointed back (ln -sfn v1 current): the newer version's date gets 200 and the older bytes, never a 304; its own date still 304`, async () => {
      // The client holds v2 and names its Last-Modified; v1's is earlier, so "not modified since"
      // held and a 304 kept v2's bytes (nginx, if_modified_since exact, answers 200).
      const dir = join(root, `rollback-${kind}`);
      mkdirSync(join(dir, 'v1'), { recursive: true });
      mkdirSync(join(dir, 'v2'));
      writeFileSync(join(dir, 'v1', 'app.js'), bytesOf('a', size));
      const v1 = statSync(join(dir, 'v1', 'app.js'));
      const v2Path = join(dir, 'v2', 'app.js');
      await changeUntil(
        v2Path,
        () => writeFileSync(v2Path, bytesOf('b', size)),
        (st) => secondOf(Math.max(st.mtimeMs, st.ctimeMs)) > secondOf(Math.max(v1.mtimeMs, v1.ctimeMs)),
      );
      symlinkSync('v2', join(dir, 'current'));
      const url = `rollback-${kind}/current/app.js`;
      const newer = await get(url);
      assert.equal(newer.status, 200);
      assert.ok(newer.body.subarray(0, 20).toString().includes('version b'));
      const newerDate = newer.header('last-modified') ?? '';
      // ln -sfn v1 current: a new link renamed over the old one.
      symlinkSync('v1', join(dir, 'next'));
      renameSync(join(dir, 'next'), join(dir, 'current'));
      const back = await get(url, [`If-Modified-Since: ${newerDate}`]);
      assert.equal(back.status, 200, 'the client holds v2: not "not modified"');
      assert.ok(back.body.subarray(0, 20).toString().includes('version a'), 'v1, the file the URL names now');
      const resumed = await get(url, ['Range: bytes=0-9', `If-Unmodified-Since: ${newerDate}`]);
      assert.equal(resumed.status, 412, 'If-Unmodified-Since v2\'s date: no range of v1 to splice into v2');
      const ownDate = back.header('last-modified') ?? '';
      assert.notEqual(ownDate, newerDate);
      assert.equal((await get(url, [`If-Modified-Since: ${ownDate}`])).status, 304, 'v1\'s own date names v1');
    });
  }
});

test('a clean URL (cleanUrls: /current/about → about.html) that goes back to an older file: the newer version\'s date gets 200, never a 304', async () => {
  // The clean URL's answer was never noted by UrlDates (no cache placement): a 304 kept v2's bytes.
  const site = await mkdtemp(join(tmpdir(), 'porthole-clean-rollback-'));
  const clean = await startServer({ root: site, reload: { enabled: false }, cleanUrls: true });
  try {
    mkdirSync(join(site, 'v1'));
    mkdirSync(join(site, 'v2'));
    writeFileSync(join(site, 'v1', 'about.html'), 'version a');
    const v1 = statSync(join(site, 'v1', 'about.html'));
    const v2Path = join(site, 'v2', 'about.html');
    await changeUntil(
      v2Path,
      () => writeFileSync(v2Path, 'version b'),
      (st) => secondOf(Math.max(st.mtimeMs, st.ctimeMs)) > secondOf(Math.max(v1.mtimeMs, v1.ctimeMs)),
    );
    symlinkSync('v2', join(site, 'current'));
    const at = (headers: string[] = []): Promise<RawResponse> => fetchOnce(clean.port, request('/current/about', { headers }));
    const newer = await at();
    assert.equal(newer.status, 200);
    assert.equal(newer.body.toString(), 'version b');
    const newerDate = newer.header('last-modified') ?? '';
    symlinkSync('v1', join(site, 'next'));
    renameSync(join(site, 'next'), join(site, 'current'));
    const back = await at([`If-Modified-Since: ${newerDate}`]);
    assert.equal(back.status, 200, 'the client holds v2: not "not modified"');
    assert.equal(back.body.toString(), 'version a');
    const ownDate = back.header('last-modified') ?? '';
    assert.equal((await at([`If-Modified-Since: ${ownDate}`])).status, 304, 'v1\'s own date names v1');
  } finally {
    await clean.close();
    await rm(site, { recursive: true, force: true });
  }
});

test('UrlDates remembers URL_DATES_MAX URLs: the oldest is forgotten first, a URL answered again is kept', () => {
  const dates = new UrlDates();
  const at = (sec: number): Validators => ({ etag: `"${sec}"`, lastModifiedSec: sec, lastModified: new Date(sec * 1000).toUTCString() });
  dates.note('/first', at(200));
  dates.note('/kept', at(200));
  for (let i = 0; i < URL_DATES_MAX - 2; i++) dates.note(`/u${i}`, at(100));
  // Full: /first is the oldest; /kept answered again moves to the newest end.
  dates.note('/kept', at(200));
  dates.note('/one-more', at(100));
  assert.equal(dates.note('/first', at(100)).lastModifiedWentBack, undefined, 'forgotten: its earlier date is not known');
  assert.equal(dates.note('/kept', at(100)).lastModifiedWentBack, true, 'kept: went back from 200 to 100');
});

test('UrlDates: a URL answered again while it is gone back is kept too (it was the first forgotten, and its older bytes then got a 304 for the newer date)', () => {
  const dates = new UrlDates();
  const at = (sec: number): Validators => ({ etag: `"${sec}"`, lastModifiedSec: sec, lastModified: new Date(sec * 1000).toUTCString() });
  dates.note('/current/app.js', at(200));
  assert.equal(dates.note('/current/app.js', at(100)).lastModifiedWentBack, true);
  // The went-back URL answered between every other URL: it is the most recently answered throughout.
  for (let i = 0; i < URL_DATES_MAX; i++) {
    dates.note(`/u${i}`, at(100));
    dates.note('/current/app.js', at(100));
  }
  assert.equal(dates.note('/current/app.js', at(100)).lastModifiedWentBack, true, 'kept: answered most recently, still gone back from 200');
});

test('DatedVersions: a file answered again while its second is shared is kept (it was the first forgotten, and the shared date matched again)', () => {
  const versions = new DatedVersions();
  const at = (sec: number, etag: string): Validators => ({ etag, lastModifiedSec: sec, lastModified: new Date(sec * 1000).toUTCString() });
  versions.note('/srv/app.js', at(100, '"a"'));
  assert.equal(versions.note('/srv/app.js', at(100, '"b"')).lastModifiedAmbiguous, true);
  for (let i = 0; i < DATED_VERSIONS_MAX; i++) {
    versions.note(`/srv/u${i}`, at(100, `"u${i}"`));
    versions.note('/srv/app.js', at(100, '"b"'));
  }
  assert.equal(versions.note('/srv/app.js', at(100, '"b"')).lastModifiedAmbiguous, true, 'kept: answered most recently, its second still shared');
});
