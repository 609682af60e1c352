/**
 * Where the request log may be written (helper-69 §10), whoever names it (a CLI flag, the editor's
 * setting, porthole.config.json): as nginx, the log's folder must exist (a missing one stops the
 * start, and nothing is created), and an existing file is appended to only when it is a request
 * log already (or empty): a typo such as `--log site/index.html` stops the start and leaves the
 * page as it was. Real PreviewServers, real files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer, ServerError } from '../../src/core';
import { startServer } from './harness';
import { fetchOnce, request, withTimeout } from './raw-client';

let root = '';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-log-place-'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>site</title><p>page</p>\n');
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The ServerError a start with `logFile` rejects with (the server is closed either way). */
async function refusedStart(logFile: string): Promise<ServerError> {
  const server = new PreviewServer();
  try {
    await server.listen({ root, port: 0, host: '127.0.0.1', resolveHostNames: false, logFile });
  } catch (err) {
    assert.ok(err instanceof ServerError, String(err));
    return err;
  } finally {
    await server.close().catch(() => undefined);
  }
  assert.fail(`the start with logFile ${logFile} should have failed`);
}

test('a log file in a folder that does not exist stops the start, and no folder is made', async () => {
  const logFile = join(root, 'missing', 'deeper', 'access.log');
  const err = await refusedStart(logFile);
  assert.equal(err.code, 'ELOGFILE');
  assert.match(err.message, /folder .*missing[/\\]deeper does not exist/, err.message);
  assert.match(err.message, /create it/, `says what to do: ${err.message}`);
  assert.equal(existsSync(join(root, 'missing')), false, 'no folder is created');
});

test('an existing file that is not a request log is never appended to', async () => {
  const page = join(root, 'index.html');
  const before = await readFile(page);
  const err = await refusedStart(page);
  assert.equal(err.code, 'ELOGFILE');
  assert.match(err.message, /not a request log/, err.message);
  assert.match(err.message, /name a new file/, `says what to do: ${err.message}`);
  assert.deepEqual(await readFile(page), before, 'the page is as it was');
});

test('an existing request log, or an empty file, is appended to', async () => {
  const old = '127.0.0.1 - - [02/Dec/2026:04:18:50 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8"\n';
  const logged = join(root, 'old.log');
  const empty = join(root, 'empty.log');
  await writeFile(logged, old);
  await writeFile(empty, '');
  for (const [logFile, start] of [[logged, old], [empty, '']] as const) {
    const srv = await startServer({ root, logFile });
    try {
      assert.equal((await fetchOnce(srv.port, request('/index.html'))).status, 200);
    } finally {
      await srv.close();
    }
    const text = await withTimeout(readFile(logFile, 'utf8'), 5_000, 'the log');
    assert.ok(text.startsWith(start), text);
    assert.match(text.slice(start.length), /"GET \/index\.html HTTP\/1\.1" 200 /, text);
  }
});

test('a device is no log file: /dev/full and /dev/null alike, said as a device, not as "not a request log"', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('/dev/full is Linux');
    return;
  }
  // Before: /dev/full (reads give zeros) was "a file that is not a request log", and /dev/null
  // (reads give nothing, like an empty file) was taken as a log: every line went nowhere.
  for (const device of ['/dev/full', '/dev/null']) {
    const err = await refusedStart(device);
    assert.equal(err.code, 'ELOGFILE');
    assert.equal(
      err.message,
      `cannot write the log file ${device}: it is a character device, not a regular file: the request log is a regular file; name one (e.g. access.log in a folder that exists)`,
    );
  }
});
