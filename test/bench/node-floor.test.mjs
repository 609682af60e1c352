// The benchmark's "Node's floor + log" (scripts/bench/node-floor.mjs --log FILE): one Combined Log
// Format line per request, as Porthole writes it, with the client's bytes escaped. A real floor
// process on loopback, real sockets, a real log file.
//   node --test test/bench/node-floor.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const FLOOR = join(dirname(fileURLToPath(import.meta.url)), '../../scripts/bench/node-floor.mjs');

/** Starts the floor on a free loopback port; resolves { port, stop() } once it accepts. */
async function startFloor(root, extra) {
  const port = await new Promise((res) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
  const child = spawn(process.execPath, [FLOOR, '--port', String(port), '--root', root, ...extra], { stdio: 'ignore' });
  const exited = new Promise((res) => child.once('exit', res));
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((res) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); res(true); });
      c.once('error', () => res(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { port, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

/** Sends `bytes` on one connection and resolves the whole answer once the floor closes it. */
function exchange(port, bytes) {
  return new Promise((res, rej) => {
    const chunks = [];
    const c = net.connect(port, '127.0.0.1', () => c.write(bytes));
    c.on('data', (d) => chunks.push(d));
    c.once('error', rej);
    c.once('close', () => res(Buffer.concat(chunks).toString('latin1')));
  });
}

test('with --log, the floor writes one Combined Log Format line per request, client bytes escaped', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'floor-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'a.html'), 'x'.repeat(1024));
  const log = join(root, '..', `${root.split('/').pop()}.log`);
  t.after(() => rmSync(log, { force: true }));
  const floor = await startFloor(root, ['--log', log]);
  // Two requests pipelined on one connection (the second asks for the close), then one of its own.
  const answers = await exchange(floor.port, Buffer.concat([
    Buffer.from('GET /a.html HTTP/1.1\r\nHost: x\r\nuser-agent: wrk\r\n\r\n'),
    Buffer.from('GET /missing?q=1 HTTP/1.1\r\nHost: x\r\nREFERER: http://x/"q\\\r\nUser-Agent: Mozilla '),
    Buffer.from([0xc3, 0xa9, 0x1b]),
    Buffer.from('[31m\r\nConnection: close\r\n\r\n'),
  ]));
  assert.match(answers, /^HTTP\/1\.1 200 OK\r\n[^]*HTTP\/1\.1 404 Not Found\r\n/);
  await exchange(floor.port, Buffer.from('GET /a.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  await floor.stop(); // flushes the buffer on exit
  const lines = readFileSync(log, 'latin1').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 3, lines.join('\n'));
  const clf = /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "([^"\\]|\\x[0-9a-f]{2})*" \d{3} \d+ "([^"\\]|\\x[0-9a-f]{2})*" "([^"\\]|\\x[0-9a-f]{2})*" \d+\.\d{3} -$/;
  for (const line of lines) {
    assert.match(line, clf);
    // No raw control or non-ASCII byte reaches the file.
    assert.ok([...line].every((ch) => ch >= ' ' && ch <= '~'), JSON.stringify(line));
  }
  assert.match(lines[0], /\] "GET \/a\.html HTTP\/1\.1" 200 1024 "-" "wrk" \d+\.\d{3} -$/);
  assert.match(lines[1], /\] "GET \/missing\?q=1 HTTP\/1\.1" 404 \d+ "http:\/\/x\/\\x22q\\x5c" "Mozilla \\xc3\\xa9\\x1b\[31m" \d+\.\d{3} -$/);
  assert.match(lines[2], /\] "GET \/a\.html HTTP\/1\.1" 200 1024 "-" "-" /);
  const notFoundBody = answers.slice(answers.lastIndexOf('\r\n\r\n') + 4);
  assert.equal(lines[1].split('" ')[1].split(' ')[1], String(Buffer.byteLength(notFoundBody, 'latin1')));
});

