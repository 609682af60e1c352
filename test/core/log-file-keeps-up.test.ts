/**
 * The request log file keeps up with the requests, over a real file: a pipelining client that makes
 * more than one 64 KiB chunk of lines per event-loop turn must not leave the lines waiting in memory
 * (a write took one chunk per turn: a flood of 4.4 million requests left 194 MB of lines waiting,
 * the server's RSS 97 → 303 MB, growing as long as the flood lasted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestLog, formatCombinedLine } from '../../src/core/log/request-log';
import { requestRecord } from '../fixtures/request-record';

/** Turns of the event loop, each adding LINES_PER_TURN lines (about 3 chunks of 64 KiB). */
const TURNS = 150;
const LINES_PER_TURN = 2_000;

test('lines made faster than one chunk per turn are written as they come, not queued without bound', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'porthole-log-keeps-up-'));
  const path = join(dir, 'access.log');
  const log = new RequestLog(false);
  try {
    await log.openFile(path);
    let made = 0;
    for (let turn = 0; turn < TURNS; turn++) {
      for (let i = 0; i < LINES_PER_TURN; i++) {
        const record = requestRecord({ clientIp: '127.0.0.1', target: `/a.css?${turn}-${i}` });
        made += formatCombinedLine(record).length + 1;
        log.add(record);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Still serving: what the file holds now is what the lines waiting in memory are not. One
    // chunk per turn left two thirds of them waiting; all that waits now was made in the last
    // turns, while the last writes ran.
    const waiting = made - (await stat(path)).size;
    assert.ok(waiting <= made / 10, `${waiting} of ${made} bytes of lines still wait in memory`);
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('lines written through the reused file buffers: every line whole, once and in order, however the writes and the lines interleave', async () => {
  // Buffers the file has written whole are filled again (RequestLog.spareFileBytes): one taken
  // back before its write ended would send some lines twice and lose others, or cut them. Turns
  // of a few lines (a write ends between most of them) alternate with turns of several buffers'
  // worth (writes still under way when the next buffer is wanted), with lines of every length.
  const dir = await mkdtemp(join(tmpdir(), 'porthole-log-reuse-'));
  const path = join(dir, 'access.log');
  const log = new RequestLog(false);
  const expected: string[] = [];
  try {
    await log.openFile(path);
    for (let turn = 0; turn < 60; turn++) {
      const lines = turn % 3 === 0 ? 3 : 1_500;
      for (let i = 0; i < lines; i++) {
        const record = requestRecord({ clientIp: '127.0.0.1', target: `/t${turn}/l${i}/${'x'.repeat((turn * 7 + i) % 90)}` });
        expected.push(formatCombinedLine(record));
        log.add(record);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    await log.close();
  }
  const lines = (await readFile(path, 'latin1')).split('\n');
  await rm(dir, { recursive: true, force: true });
  assert.equal(lines.pop(), '', 'the file ends with an LF');
  assert.equal(lines.length, expected.length);
  const wrong = lines.findIndex((line, i) => line !== expected[i]);
  assert.equal(wrong, -1, `line ${wrong + 1}: ${JSON.stringify(lines[wrong]?.slice(0, 120))}, expected ${JSON.stringify(expected[wrong]?.slice(0, 120))}`);
});
