/**
 * Containment on what was actually opened (issue 10, item 5). A child process swaps a folder of the
 * root with a symlink to an outside folder as fast as it can while clients ask for a file in it:
 * no outside byte may be served. And a cached file whose folder moved out of the root (replaced by
 * a symlink to where it went: same inode, same times) is dropped from the cache, not served, also
 * once the cache's folder records (MAX_FOLDER_RECORDS) have started over.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { MAX_FOLDER_RECORDS } from '../../src/core/files/file-cache';
import { RawClient, fetchOnce, request } from './raw-client';

const OUTSIDE = 'OUTSIDE-BYTES-9f3a';
let base = '';
let root = '';
let srv: Running;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'porthole-race-'));
  root = join(base, 'site');
  await mkdir(join(root, 'swap'), { recursive: true });
  await mkdir(join(root, 'moved'), { recursive: true });
  await mkdir(join(base, 'outside'), { recursive: true });
  await writeFile(join(root, 'swap', 'f.txt'), 'inside file, same size as outside\n');
  await writeFile(join(base, 'outside', 'f.txt'), `${OUTSIDE} outside file, same size\n`);
  await writeFile(join(root, 'moved', 'a.txt'), `${OUTSIDE} cached while inside\n`);
  await mkdir(join(root, 'upper', 'lower'), { recursive: true });
  await writeFile(join(root, 'upper', 'lower', 'b.txt'), `${OUTSIDE} cached two folders down\n`);
  srv = await startServer({ root });
});

after(async () => {
  await srv.close();
  await rm(base, { recursive: true, force: true });
});

/** The swapper: folder ⇄ symlink to the outside folder, until the deadline or the count. */
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

test('a folder swapped for a symlink to an outside folder during requests: zero outside bytes served', async (t) => {
  const swapper = spawn(process.execPath, ['-e', SWAPPER, join(root, 'swap'), join(root, 'swap-held'), join(base, 'outside'), '3000', '2000000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let swaps = '';
  swapper.stdout.setEncoding('utf8').on('data', (t: string) => (swaps += t));
  const swapperDone = new Promise<void>((resolve) => swapper.once('exit', () => resolve()));
  let running = true;
  void swapperDone.then(() => (running = false));
  const statuses = new Map<number, number>();
  let outsideHits = 0;
  let answers = 0;
  const MAX_ANSWERS = 200_000;
  const client = async (): Promise<void> => {
    let c = await RawClient.connect(srv.port);
    c.noTranscript();
    try {
      while (running && answers < MAX_ANSWERS) {
        await c.write(request('/swap/f.txt'));
        const res = await c.readResponse();
        answers++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.body.includes(OUTSIDE)) outsideHits++;
        if (res.header('connection') === 'close') {
          c.destroy();
          c = await RawClient.connect(srv.port);
          c.noTranscript();
        }
      }
    } finally {
      c.destroy();
    }
  };
  await Promise.all([client(), client(), client(), client()]);
  await swapperDone;
  const summary = `${answers} answers ${JSON.stringify([...statuses])}, ${swaps} swaps`;
  t.diagnostic(summary);
  assert.ok(Number(swaps) > 100, `the swapper ran (${summary})`);
  assert.ok((statuses.get(200) ?? 0) > 0, `the inside file was served at times (${summary})`);
  assert.equal(outsideHits, 0, `no outside byte may be served (${outsideHits} did; ${summary})`);
  // After the race: the inside file again, from the cache or not.
  const res = await fetchOnce(srv.port, request('/swap/f.txt'));
  assert.equal(res.status, 200);
  assert.ok(!res.body.includes(OUTSIDE));
});

/**
 * Asks `path` twice while the folder `moved` (root-relative) is inside (served, then cached), moves
 * that folder out of the root and puts a symlink to it in its place (same file system: the file
 * keeps its inode, size, mtime and ctime), then asks once more: that answer must not be the file.
 */
async function askedAfterFolderMovedOut(path: string, moved: string): Promise<void> {
  assert.equal((await fetchOnce(srv.port, request(path))).status, 200, 'served while inside (and cached)');
  assert.equal((await fetchOnce(srv.port, request(path))).status, 200);
  await rename(join(root, moved), join(base, `${moved}-out`));
  await symlink(join(base, `${moved}-out`), join(root, moved));
  const res = await fetchOnce(srv.port, request(path));
  assert.equal(res.status, 404, 'its real path is outside the root now');
  assert.ok(!res.body.includes(OUTSIDE));
}

test('a cached file whose folder moved out of the root (a symlink now leads there) is no longer served', async () => {
  await askedAfterFolderMovedOut('/moved/a.txt', 'moved');
});

test('a cached file two folders down whose upper folder moved out of the root is no longer served', async () => {
  // The file's own folder is still a real folder (inside the moved one): only a check of every
  // folder between the root and the file sees the symlink.
  await askedAfterFolderMovedOut('/upper/lower/b.txt', 'upper');
});

test(`a cached file whose folder moved out of the root is no longer served after files in more than ${MAX_FOLDER_RECORDS} other folders were asked for (the folder records started over)`, async () => {
  await mkdir(join(root, 'kept'));
  await writeFile(join(root, 'kept', 'c.txt'), `${OUTSIDE} cached before the records started over\n`);
  assert.equal((await fetchOnce(srv.port, request('/kept/c.txt'))).status, 200, 'served while inside (and cached)');
  // More folders than MAX_FOLDER_RECORDS, four to a file (so the files stay well under the
  // cache's 4,096 entries and /kept/c.txt stays cached), asked for over one connection in batches.
  const count = Math.ceil(MAX_FOLDER_RECORDS / 4) + 8;
  const name = (i: number): string => `/many/${String(i).padStart(5, '0')}/a/b/c/x.txt`;
  for (let i = 0; i < count; i++) {
    await mkdir(join(root, name(i), '..'), { recursive: true });
    await writeFile(join(root, name(i)), 'x\n');
  }
  const c = await RawClient.connect(srv.port);
  c.noTranscript();
  try {
    const batch = 64;
    for (let i = 0; i < count; i += batch) {
      const n = Math.min(batch, count - i);
      await c.write(Array.from({ length: n }, (_, k) => request(name(i + k))).join(''));
      const answers = await c.readResponses(n);
      assert.ok(answers.every((r) => r.status === 200), `every file of the batch from ${name(i)} was served`);
    }
  } finally {
    c.destroy();
  }
  await askedAfterFolderMovedOut('/kept/c.txt', 'kept');
});
