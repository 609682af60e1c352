#!/usr/bin/env node
// "Node's floor": the least work a server on Node's sockets can do for each benchmark workload.
//
//   node scripts/bench/node-floor.mjs --port P --host 127.0.0.1 --root DOCROOT
//
// A bare `net` server written for the benchmark, not a web server. What "porthole ÷ floor" means:
// how much of what Node itself allows Porthole reaches, doing the same job. So the floor does what
// each workload's answer needs, and nothing more:
//
//   framing     find the end of each head (CRLF CRLF); keep the connection or not (`Connection:
//               close`, or HTTP/1.0 without `Connection: keep-alive`); answer pipelined requests in
//               order, the small answers of one chunk read in one write; on the client's close,
//               close(2) once the kernel holds the answer (as nginx and Porthole). No header parse beyond
//               that: the method is not read (the benchmark sends GET only), nor Host, nor a body
//               (a request with one is not expected; its bytes would be read as the next head).
//   path        the request-target's path as sent (up to `?`), no percent-decoding (the benchmark
//               sends none), appended to DOCROOT; a target not starting with `/` or holding `..`
//               gets a prepared 400. Header names are matched as the benchmark's clients write them
//               ("Connection:", "If-Modified-Since:" or all lower case), not case-folded.
//   stat        one fs.statSync per path and per turn of the event loop, as any server must to see
//               an edit: the requests read in one turn had all arrived before the stat, so its
//               answer holds for each of them (Porthole's file cache does the same; nginx: one open
//               + fstat per request). A missing path, or one that is not a regular file → a
//               prepared 404 (nginx's short HTML body).
//   small file  (≤ 1 MiB) bytes read once and cached by path with the size and mtime they were
//               read at; a stat that disagrees rereads them. The whole reply (head with nginx's
//               fields — Server, Date, Content-Type, Content-Length, Last-Modified, Connection,
//               ETag, Accept-Ranges — and body, one Buffer) is prepared per file and per second.
//   304         `If-Modified-Since` byte-equal to the file's Last-Modified (nginx's default
//               `if_modified_since exact`) → a prepared 304. If-None-Match is not read.
//   big file    (> 1 MiB, the 100 MiB one) opened per request, its head prepared, its bytes sent
//               through two 256 KiB buffers of the connection's own, reused: fs.read fills one
//               while the kernel takes the other, each reused only after its socket.write callback
//               (the kernel has the bytes). Node has no sendfile(2) on sockets, so this is the least
//               copying it allows: page cache → buffer → socket, one fs.read and one write per
//               256 KiB. (Porthole sends a file range the same way.) While a big answer is being
//               sent, reading the connection is paused; pipelined requests wait their turn.
//   Date        refreshed once a second; a prepared reply is rebuilt the first time it is used in a
//               new second. No compression (148k-gz-50 is not run: gzip per request or a cached .br
//               is the work that row measures, and a floor without it answers another question).
//   log         none, unless `--log FILE` ("Node's floor + log": the same answers, plus the least a
//               server can do to keep the request log Porthole must keep, so a target Porthole misses
//               can be read against Node's floor doing the same work). Per request, one Combined Log
//               Format line as Porthole writes it (client address, time, request line, status, body
//               bytes, Referer, User-Agent, then the seconds taken and the host name "-"), written
//               byte by byte into one buffer: the client address read once per connection
//               (getpeername), the time's text built once a second, the request line and the two
//               fields copied from the head with `\xHH` for each byte to escape (as Porthole's log),
//               Referer and User-Agent found in one pass over the head's lines, case-insensitively.
//               The buffer goes to the file with one write(2) when it holds 64 KiB, and every 100 ms
//               (Porthole's figures); a synchronous write, the least work for it (the page cache
//               takes it).
//
// Limits: at most 10,000 cached paths (then the cache starts over: the benchmark asks for about
// 1,004), a head of at most 16 KiB. Stops on SIGTERM/SIGINT.
import net from 'node:net';
import { readFileSync, statSync, openSync, closeSync, read, writeSync } from 'node:fs';
import { resolve, extname } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, root: { type: 'string' }, log: { type: 'string' } } });
if (!values.port || !values.root) {
  process.stderr.write('usage: node-floor.mjs --port P [--host H] --root DOCROOT [--log FILE]\n');
  process.exit(2);
}
const ROOT = resolve(values.root).replace(/\/+$/, '');

/** Files up to this size are cached whole; bigger ones are streamed. */
const SMALL_MAX = 1024 * 1024;
/** One fs.read and one socket.write per this many bytes of a big file (Porthole's figure too). */
const CHUNK = 256 * 1024;
const MAX_HEAD = 16 * 1024;
const MAX_CACHED = 10_000;
// Needles as Buffers: a string needle is encoded again at each indexOf.
const CRLF2 = Buffer.from('\r\n\r\n');
const ONNECTION = Buffer.from('onnection:'); // "Connection:" and "connection:" alike
const ODIFIED_SINCE = Buffer.from('odified-'); // "If-Modified-Since:" and "if-modified-since:" alike
const STAT_OPTIONS = { throwIfNoEntry: false };

/** nginx's types for the docroot's extensions. */
const TYPES = { '.html': 'text/html', '.txt': 'text/plain', '.css': 'text/css', '.js': 'application/javascript', '.jpg': 'image/jpeg' };

// ---------------------------------------------------------------------------------------------
// Date: one string per second; `second` tells a prepared reply it is stale.

let second = 0;
let date = new Date().toUTCString();
let logTime = clfTime(new Date()); // the log's "[02/Dec/2026:06:26:11 +0000] \"", as bytes
setInterval(() => {
  second++;
  const now = new Date();
  date = now.toUTCString();
  logTime = clfTime(now);
}, 1000).unref();

/** " - - [dd/Mon/yyyy:hh:mm:ss +0000] \"": the text between a log line's address and its request line. */
function clfTime(d) {
  const [, day, mon, year, time] = d.toUTCString().split(' '); // "Wed, 02 Dec 2026 06:26:11 GMT"
  return Buffer.from(` - - [${day}/${mon}/${year}:${time} +0000] "`, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// The request log (--log FILE only): Combined Log Format lines into one buffer, to the file at 64 KiB
// and every 100 ms.

const LOG_FD = values.log ? openSync(values.log, 'a') : -1;
const LOG_FLUSH_AT = 64 * 1024;
/** Room for the longest line: the head's request line is at most MAX_HEAD, escaped ×4, + the rest. */
const logBuf = Buffer.allocUnsafe(LOG_FLUSH_AT + 4 * 16 * 1024 + 4096);
let logAt = 0;

function flushLog() {
  if (logAt > 0) {
    writeSync(LOG_FD, logBuf, 0, logAt);
    logAt = 0;
  }
}
if (LOG_FD >= 0) {
  setInterval(flushLog, 100).unref();
  process.on('exit', flushLog);
}

/** Writes printable ASCII `text` (the floor's own: an address, digits, punctuation) into the log. */
function put(text) {
  for (let i = 0; i < text.length; i++) logBuf[logAt++] = text.charCodeAt(i);
}

/** Writes a whole number ≥ 0 in decimal into the log. */
function putCount(n) {
  if (n >= 10) putCount(Math.floor(n / 10));
  logBuf[logAt++] = 0x30 + (n % 10);
}

const HEX = '0123456789abcdef';

/** Copies buf[from, to) into the log, `\xHH` for a byte that is not printable ASCII or is `"` or `\`. */
function logBytes(buf, from, to) {
  for (let i = from; i < to; i++) {
    const b = buf[i];
    if (b < 0x20 || b > 0x7e || b === 0x22 || b === 0x5c) {
      logBuf[logAt++] = 0x5c;
      logBuf[logAt++] = 0x78;
      logBuf[logAt++] = HEX.charCodeAt(b >> 4);
      logBuf[logAt++] = HEX.charCodeAt(b & 15);
    } else logBuf[logAt++] = b;
  }
}

/** Writes the value of the header line at buf[line] (its name `nameLength` bytes and a colon), up to CR. */
function logFieldValue(buf, line, nameLength) {
  let v = line + nameLength + 1;
  while (buf[v] === 0x20) v++;
  logBytes(buf, v, buf.indexOf(13, v));
}

/** Whether the header line at buf[at] is named `name` (lower case), case-insensitively, with its colon. */
function named(buf, at, name) {
  for (let i = 0; i < name.length; i++) if ((buf[at + i] | 0x20) !== name.charCodeAt(i)) return false;
  return buf[at + name.length] === 0x3a;
}

/**
 * Appends the request's Combined Log Format line, as Porthole writes it: the head is buf[start, end)
 * (end: its CRLF CRLF); one pass over its lines finds Referer and User-Agent.
 */
function logLine(conn, buf, start, end, status, bytes, startedAt) {
  put(conn.address);
  logAt += logTime.copy(logBuf, logAt);
  let line = buf.indexOf(13, start);
  logBytes(buf, start, line);
  put('" ');
  putCount(status);
  logBuf[logAt++] = 0x20;
  putCount(bytes);
  put(' "');
  let referer = -1;
  let userAgent = -1;
  while (line < end) {
    line += 2; // past CRLF: the next header line
    const first = buf[line] | 0x20;
    if (first === 0x72 && named(buf, line, 'referer')) referer = line;
    else if (first === 0x75 && named(buf, line, 'user-agent')) userAgent = line;
    line = buf.indexOf(13, line);
  }
  if (referer < 0) logBuf[logAt++] = 0x2d;
  else logFieldValue(buf, referer, 7);
  put('" "');
  if (userAgent < 0) logBuf[logAt++] = 0x2d;
  else logFieldValue(buf, userAgent, 10);
  put('" ');
  const ms = Math.round(performance.now() - startedAt);
  putCount(Math.floor(ms / 1000));
  logBuf[logAt++] = 0x2e;
  const frac = ms % 1000;
  logBuf[logAt++] = 0x30 + Math.floor(frac / 100);
  logBuf[logAt++] = 0x30 + (Math.floor(frac / 10) % 10);
  logBuf[logAt++] = 0x30 + (frac % 10);
  put(' -\n');
  if (logAt >= LOG_FLUSH_AT) flushLog();
}

// ---------------------------------------------------------------------------------------------
// Prepared replies. Each kind has a keep-alive and a close variant (index 0 and 1).

const KA = 0;
const CLOSE = 1;
const connField = ['keep-alive', 'close'];

/** A status answer with a short HTML body (nginx's), rebuilt once a second. */
function statusReply(code, reason) {
  const body = Buffer.from(`<html>\r\n<head><title>${code} ${reason}</title></head>\r\n<body>\r\n<center><h1>${code} ${reason}</h1></center>\r\n<hr><center>node-floor</center>\r\n</body>\r\n</html>\r\n`, 'latin1');
  let at = -1;
  let replies;
  const replyFor = (c) => {
    if (at !== second) {
      at = second;
      replies = [KA, CLOSE].map((k) => Buffer.concat([Buffer.from(
        `HTTP/1.1 ${code} ${reason}\r\nServer: node-floor\r\nDate: ${date}\r\nContent-Type: text/html\r\n` +
        `Content-Length: ${body.length}\r\nConnection: ${connField[k]}\r\n\r\n`, 'latin1'), body]));
    }
    return replies[c];
  };
  replyFor.bodyBytes = body.length; // for the log
  return replyFor;
}
const notFound = statusReply(404, 'Not Found');
const badRequest = statusReply(400, 'Bad Request');

/**
 * What is known of one path, by path: { full (the file-system path), found, size, mtimeMs, statTurn
 * (the turn of its last stat), big, body (small files), lastModified (bytes, for If-Modified-Since),
 * fields200 / fields304 / tail / tail304 (the head's fields around Date and Connection), at (the
 * second `replies` were built in), replies ([200 keep-alive, 200 close, 304 keep-alive, 304 close],
 * each built on first use) }.
 */
const cache = new Map();

/** The turn of the event loop (ended by setImmediate once a stat was made in it). */
let turn = 0;
let turnEnding = false;
const endTurn = () => {
  turn++;
  turnEnding = false;
};

/**
 * The entry for `path`, revalidated by one stat per turn (a changed size or mtime rereads a small
 * file).
 */
function lookup(path) {
  let e = cache.get(path);
  if (e === undefined) {
    if (cache.size >= MAX_CACHED) cache.clear();
    e = { full: ROOT + path, found: false, size: -1, mtimeMs: -1, statTurn: -1 };
    cache.set(path, e);
  }
  if (e.statTurn === turn) return e;
  e.statTurn = turn;
  if (!turnEnding) {
    turnEnding = true;
    setImmediate(endTurn);
  }
  let st;
  try { st = statSync(e.full, STAT_OPTIONS); } catch { st = undefined; } // ENOTDIR, a NUL byte…
  if (st === undefined || !st.isFile()) {
    e.found = false;
    return e;
  }
  if (e.found && st.size === e.size && st.mtimeMs === e.mtimeMs) return e;
  // New, or edited: read it again (small) and rebuild the fixed fields.
  e.found = true;
  e.size = st.size;
  e.mtimeMs = st.mtimeMs;
  e.big = st.size > SMALL_MAX;
  if (!e.big) {
    try { e.body = readFileSync(e.full); } catch { e.found = false; return e; }
    if (e.body.length !== st.size) { e.size = -1; e.found = false; return e; } // changed while read: next stat rereads
  } else e.body = undefined;
  const lm = st.mtime.toUTCString();
  e.lastModified = Buffer.from(lm, 'latin1');
  const etag = `"${Math.floor(st.mtimeMs / 1000).toString(16)}-${st.size.toString(16)}"`;
  e.fields200 = `Content-Type: ${TYPES[extname(path)] || 'application/octet-stream'}\r\nContent-Length: ${st.size}\r\nLast-Modified: ${lm}\r\n`;
  e.tail = `ETag: ${etag}\r\nAccept-Ranges: bytes\r\n\r\n`;
  e.tail304 = `ETag: ${etag}\r\n\r\n`;
  e.fields304 = `Last-Modified: ${lm}\r\n`;
  e.at = -1;
  return e;
}

/** 200 with the body (small files) or the head only (big ones), or the 304; kind 0 = 200, 1 = 304. */
function reply(e, kind, c) {
  if (e.at !== second) {
    e.at = second;
    e.replies = [undefined, undefined, undefined, undefined];
  }
  const slot = kind * 2 + c;
  let r = e.replies[slot];
  if (r === undefined) {
    const start = `HTTP/1.1 ${kind === 0 ? '200 OK' : '304 Not Modified'}\r\nServer: node-floor\r\nDate: ${date}\r\n`;
    const head = kind === 0
      ? `${start}${e.fields200}Connection: ${connField[c]}\r\n${e.tail}`
      : `${start}${e.fields304}Connection: ${connField[c]}\r\n${e.tail304}`;
    r = kind === 0 && !e.big ? Buffer.concat([Buffer.from(head, 'latin1'), e.body]) : Buffer.from(head, 'latin1');
    e.replies[slot] = r;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// The request head: only what the answer depends on.

/** KA or CLOSE for the head in buf[start, end): HTTP/1.1 unless `Connection: close`; 1.0 only with keep-alive. */
function connectionOf(buf, start, end) {
  const lineEnd = buf.indexOf(13, start);
  const http10 = lineEnd > 8 && buf[lineEnd - 1] === 0x30 && buf[lineEnd - 3] === 0x31; // "…HTTP/1.0"
  let at = buf.indexOf(ONNECTION, start);
  if (at < 0 || at >= end) return http10 ? CLOSE : KA;
  at += 10;
  while (buf[at] === 0x20 || buf[at] === 0x09) at++;
  const first = buf[at] | 0x20; // lower-case
  if (first === 0x63) return CLOSE; // "close"
  if (first === 0x6b) return KA; // "keep-alive"
  return http10 ? CLOSE : KA;
}

/** The request-target's path (up to `?`), or undefined when it does not start with `/` or holds `..`. */
function pathOf(buf, start) {
  const sp = buf.indexOf(0x20, start);
  if (sp < 0 || buf[sp + 1] !== 0x2f) return undefined; // "/"
  const sp2 = buf.indexOf(0x20, sp + 1);
  if (sp2 < 0) return undefined;
  let path = buf.latin1Slice(sp + 1, sp2);
  const q = path.indexOf('?');
  if (q >= 0) path = path.slice(0, q);
  return path.includes('..') ? undefined : path;
}

/** True when the head's If-Modified-Since is byte-equal to the file's Last-Modified. */
function notModified(buf, start, end, e) {
  // "\nIf-M" before the needle, "Since:" after it (so "If-Unmodified-Since" is passed over).
  let at = buf.indexOf(ODIFIED_SINCE, start);
  while (at >= 0 && at < end) {
    if (buf[at - 5] === 0x0a && (buf[at - 4] | 0x20) === 0x69 && (buf[at - 3] | 0x20) === 0x66 && buf[at - 2] === 0x2d &&
        (buf[at - 1] | 0x20) === 0x6d && (buf[at + 8] | 0x20) === 0x73 && buf[at + 13] === 0x3a) {
      at += 14;
      while (buf[at] === 0x20) at++;
      const lm = e.lastModified;
      const after = buf[at + lm.length];
      return at + lm.length <= end && buf.compare(lm, 0, lm.length, at, at + lm.length) === 0 && (after === 13 || after === 0x20);
    }
    at = buf.indexOf(ODIFIED_SINCE, at + 8);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Connections

const server = net.createServer({ noDelay: true }, (socket) => {
  // fd: the big file being sent (-1: none); reading: an fs.read into one of `buffers` is in flight.
  // address: the client's, for the log (getpeername once per connection, as Porthole).
  const conn = { socket, pending: undefined, streaming: false, buffers: undefined, fd: -1, reading: false, address: LOG_FD >= 0 ? socket.remoteAddress ?? '-' : '' };
  socket.on('data', (chunk) => {
    const buf = conn.pending === undefined ? chunk : Buffer.concat([conn.pending, chunk]);
    conn.pending = undefined;
    if (!conn.streaming) answer(conn, buf);
    else if (buf.length > MAX_HEAD) socket.destroy();
    else conn.pending = buf; // paused, but a chunk may already have been on its way
  });
  socket.on('error', () => socket.destroy());
  // A read in flight closes the file itself when it returns (its fd number must not be reused first).
  socket.on('close', () => { if (!conn.reading) closeFile(conn); });
});

function closeFile(conn) {
  if (conn.fd >= 0) closeSync(conn.fd);
  conn.fd = -1;
}

/** Answers the whole heads in buf, in order; keeps an unfinished head for the next chunk. */
function answer(conn, buf) {
  const { socket } = conn;
  let start = 0;
  const out = [];
  let close = false;
  let big;
  const startedAt = LOG_FD >= 0 ? performance.now() : 0;
  for (;;) {
    const end = buf.indexOf(CRLF2, start);
    if (end < 0) break;
    const c = connectionOf(buf, start, end);
    const path = pathOf(buf, start);
    let r;
    let status;
    let bytes;
    if (path === undefined) {
      r = badRequest(c);
      status = 400;
      bytes = badRequest.bodyBytes;
    } else {
      const e = lookup(path);
      if (!e.found) {
        r = notFound(c);
        status = 404;
        bytes = notFound.bodyBytes;
      } else {
        const kind = notModified(buf, start, end, e) ? 1 : 0;
        r = reply(e, kind, c);
        status = kind === 0 ? 200 : 304;
        bytes = kind === 0 ? e.size : 0;
        if (kind === 0 && e.big) big = e;
      }
    }
    if (LOG_FD >= 0) logLine(conn, buf, start, end, status, bytes, startedAt);
    out.push(r);
    start = end + 4;
    if (c === CLOSE) { close = true; break; }
    if (big !== undefined) break;
  }
  if (!close && start < buf.length) {
    if (buf.length - start > MAX_HEAD) { socket.destroy(); return; }
    conn.pending = buf.subarray(start);
  }
  if (out.length === 1) socket.write(out[0]);
  else if (out.length > 1) socket.write(Buffer.concat(out));
  if (big !== undefined) sendFile(conn, big, close);
  else if (close) closeAfterAnswer(socket);
}

/**
 * The client asked for the close (the floor never closes on its own), so it sends nothing more
 * (RFC 9112 §9.6): once the kernel holds the whole answer, close(2) at once and let it send the
 * FIN after the bytes, as nginx and Porthole do; else half-close after the queued bytes.
 */
function closeAfterAnswer(socket) {
  if (socket.writableLength === 0) socket.destroy();
  else socket.end();
}

/** The body of a big file after its head: two reused buffers, a read into one while the other is written. */
function sendFile(conn, e, close) {
  const { socket } = conn;
  try { conn.fd = openSync(e.full, 'r'); } catch { socket.destroy(); return; } // its head is gone already
  conn.streaming = true;
  socket.pause();
  conn.buffers ??= [Buffer.allocUnsafeSlow(CHUNK), Buffer.allocUnsafeSlow(CHUNK)];
  const fd = conn.fd;
  const size = e.size;
  let position = 0;
  let turn = 0;
  let inSocket = 0;
  const finish = () => {
    closeFile(conn);
    conn.streaming = false;
    if (close) { closeAfterAnswer(socket); return; }
    socket.resume();
    if (conn.pending !== undefined) {
      const p = conn.pending;
      conn.pending = undefined;
      answer(conn, p);
    }
  };
  const pump = () => {
    if (socket.destroyed || conn.reading || inSocket > 1) return;
    if (position >= size) {
      if (inSocket === 0) finish();
      return;
    }
    const buffer = conn.buffers[turn];
    turn ^= 1;
    conn.reading = true;
    read(fd, buffer, 0, Math.min(CHUNK, size - position), position, (err, n) => {
      conn.reading = false;
      if (socket.destroyed) { closeFile(conn); return; }
      if (err !== null || n === 0) { socket.destroy(); return; } // shrank after its Content-Length went out
      position += n;
      inSocket++;
      socket.write(n === CHUNK ? buffer : buffer.subarray(0, n), () => {
        inSocket--;
        pump();
      });
      pump();
    });
  };
  pump();
}

server.listen(Number(values.port), values.host);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
