/**
 * The log file is nginx's `combined` format plus two fields: GoAccess, a real reader of that
 * format, must parse every line with --log-format=COMBINED — including lines for a 400, a 404, a
 * user agent and referer with quotes and backslashes, and non-ASCII targets.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './harness';
import { fetchOnce, request } from './raw-client';

const goaccessMissing = spawnSync('goaccess', ['--version']).status === 0 ? undefined : 'goaccess is not installed (npm run test:deps installs it)';
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porthole-goaccess-'));
  await writeFile(join(dir, 'index.html'), '<h1>hi</h1>\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('GoAccess reads every line of the log file as COMBINED', { skip: goaccessMissing }, async () => {
  const logFile = join(dir, 'access.log');
  const running = await startServer({ root: dir, logFile, reload: { enabled: false }, spa: 'index.html' });
  await fetchOnce(running.port, request('/'));
  // An SPA fallback answer: its line ends with spa-fallback=/index.html after the host name.
  await fetchOnce(running.port, request('/deep/link', { headers: ['Accept: text/html'] }));
  await fetchOnce(running.port, request('/missing.html'));
  await fetchOnce(running.port, request('/%C3%BCber.html?q="x"'));
  await fetchOnce(running.port, request('/', { headers: ['User-Agent: Tool "quoted" \\ back', 'Referer: http://127.0.0.1/a"b'] }));
  await fetchOnce(running.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n');
  await fetchOnce(running.port, request('/', { method: 'POST' }));
  await running.close();
  const lines = (await readFile(logFile, 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, 7);
  assert.ok(lines.some((line) => line.includes('"GET /deep/link HTTP/1.1" 200 ') && line.endsWith(' spa-fallback=/index.html')), lines.join('\n'));
  const report = join(dir, 'report.json');
  await new Promise<void>((resolve, reject) => {
    execFile('goaccess', [logFile, '--log-format=COMBINED', '-o', report], { timeout: 30_000 }, (err) => (err === null ? resolve() : reject(new Error(`goaccess failed: ${err.message}`))));
  });
  const general = (JSON.parse(await readFile(report, 'utf8')) as { general: Record<string, number> }).general;
  assert.equal(general.total_requests, 7);
  assert.equal(general.valid_requests, 7);
  assert.equal(general.failed_requests, 0);
});
