// Opens N keep-alive connections to a server on loopback; each sends one GET (the 1 KiB file by
// default), reads the whole response, then idles. Used by workloads.mjs to read the server's RSS while
// it holds them.
//
//   node idle-connections.mjs --port P [--host 127.0.0.1] [--count 10000] [--path /1k.html]
//                             [--concurrency 256] [--open-ms 15000] [--timeout-ms 30000] [--max-ms 120000]
//
// --open-ms: no new connection is started after this (ready then reports opened < count);
// --timeout-ms: a connection without a whole response by then counts as failed;
// --max-ms bounds the script's whole life.
//
// stdout, one JSON line each:
//   {"type":"ready", opened, responded, failed, open, ms}   once every connection responded or failed
//   {"type":"status", open}                                  answer to a "status" line on stdin
//   {"type":"skipped", reason}                               the fd limit is too low (exit code 3)
// stdin: "status" asks for the count still open; "close" (or EOF, SIGTERM, SIGINT) closes all and
// exits. The script exits on its own after --max-ms whatever happens, so it never lingers.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const host = opt('host', '127.0.0.1');
const port = Number(opt('port', '0'));
const count = Number(opt('count', '10000'));
const path = opt('path', '/1k.html');
const concurrency = Number(opt('concurrency', '256'));
const timeoutMs = Number(opt('timeout-ms', '30000'));
const openMs = Number(opt('open-ms', '15000'));
const maxMs = Number(opt('max-ms', '120000'));
if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
  console.error('idle-connections: loopback only');
  process.exit(2);
}
if (!port) {
  console.error('idle-connections: --port is required');
  process.exit(2);
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function fdLimit() {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? (m[1] === 'unlimited' ? Infinity : Number(m[1])) : Infinity;
  } catch {
    return Infinity;
  }
}
const limit = fdLimit();
if (limit < count + 64) {
  out({ type: 'skipped', reason: `open-file limit ${limit} < ${count + 64} needed by the client` });
  process.exit(3);
}

const hardStop = setTimeout(() => finish(4), maxMs);
hardStop.unref();

const sockets = new Set();
let started = 0;
let responded = 0;
let failed = 0;
let inflight = 0;
let readySent = false;
const t0 = Date.now();
const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: porthole-bench-idle\r\nAccept: */*\r\n\r\n`);

function done(ok) {
  inflight--;
  if (ok) responded++;
  else failed++;
  pump();
}

function openOne() {
  started++;
  inflight++;
  const sock = net.connect({ host, port });
  sockets.add(sock);
  let finished = false;
  let head = '';
  let bodyLeft = -1; // -1: headers not complete
  let chunked = false;
  let tail = '';
  const settle = (ok) => {
    if (finished) return;
    finished = true;
    pending.delete(sock);
    done(ok);
  };
  sock.setNoDelay(true);
  sock.on('connect', () => sock.write(request));
  sock.on('data', (buf) => {
    if (finished) return; // idle phase: nothing more is expected
    let body = buf;
    if (bodyLeft < 0) {
      head += buf.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 65536) settle(false);
        return;
      }
      const headers = head.slice(0, end).toLowerCase();
      body = Buffer.from(head.slice(end + 4), 'latin1');
      const cl = /\r\ncontent-length:\s*(\d+)/.exec(headers);
      chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(headers);
      bodyLeft = cl ? Number(cl[1]) : 0;
      if (/^http\/1\.[01] (1\d\d|204|304)/.test(headers)) bodyLeft = 0;
    }
    if (chunked) {
      tail = (tail + body.toString('latin1')).slice(-16);
      if (tail.endsWith('0\r\n\r\n')) settle(true);
    } else {
      bodyLeft -= body.length;
      if (bodyLeft <= 0) settle(true);
    }
  });
  sock.on('error', () => settle(false));
  sock.on('close', () => {
    sockets.delete(sock);
    settle(false);
  });
  pending.set(sock, settle);
}

// One timer for all: connections that got no whole response within --timeout-ms count as failed.
const pending = new Map();
const deadline = setTimeout(() => {
  for (const [sock, settle] of pending) {
    settle(false);
    sock.destroy();
  }
}, timeoutMs);
deadline.unref();

let target = count;
const stopOpening = setTimeout(() => {
  target = started;
  pump();
}, openMs);
stopOpening.unref();

function pump() {
  while (inflight < concurrency && started < target) openOne();
  if (!readySent && started === target && inflight === 0) {
    readySent = true;
    clearTimeout(deadline);
    clearTimeout(stopOpening);
    out({ type: 'ready', opened: started, responded, failed, open: sockets.size, ms: Date.now() - t0 });
  }
}

let finishing = false;
function finish(code = 0) {
  if (finishing) return;
  finishing = true;
  for (const s of sockets) s.destroy();
  // Give the kernel a moment to send the FINs, then leave.
  setTimeout(() => process.exit(code), 50).unref();
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'status') out({ type: 'status', open: sockets.size, responded, failed });
  else if (cmd === 'close') finish(0);
});
rl.on('close', () => finish(0));
process.on('SIGTERM', () => finish(0));
process.on('SIGINT', () => finish(0));

pump();
