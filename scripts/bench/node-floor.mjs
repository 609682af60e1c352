#!/usr/bin/env node
// "Node's floor": the most any server on Node's sockets can do for the 1 KiB workloads.
//
//   node scripts/bench/node-floor.mjs --port P --host 127.0.0.1 --file DOCROOT/1k.html
//
// A bare `net` server written for the benchmark, not a web server: it reads the file once, prepares
// the whole reply (head and body, one Buffer, with the same fields nginx sends: Server, Date,
// Content-Type, Content-Length, Last-Modified, Connection, ETag, Accept-Ranges), and answers every
// request with it. Per request it does only what HTTP/1.1 framing needs: find the end of the head
// (CRLF CRLF), see whether the connection stays open (`Connection: close`, or HTTP/1.0 without
// `Connection: keep-alive`), answer pipelined requests in order with one write per chunk read. No
// path, no method, no log, no body (a request with a body is not expected and its bytes would be
// read as the next head). Date is refreshed once a second. Stops on SIGTERM/SIGINT.
import net from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, file: { type: 'string' } } });
if (!values.port || !values.file) {
  process.stderr.write('usage: node-floor.mjs --port P [--host H] --file FILE\n');
  process.exit(2);
}
const body = readFileSync(values.file);
const mtime = statSync(values.file).mtime;
const etag = `"${Math.floor(mtime.getTime() / 1000).toString(16)}-${body.length.toString(16)}"`;

/** The whole reply for `Connection: keep-alive` and `close`, rebuilt when the Date changes. */
let replies;
function prepare() {
  const head = (conn) => Buffer.from(
    'HTTP/1.1 200 OK\r\nServer: node-floor\r\n' +
    `Date: ${new Date().toUTCString()}\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\n` +
    `Last-Modified: ${mtime.toUTCString()}\r\nConnection: ${conn}\r\nETag: ${etag}\r\nAccept-Ranges: bytes\r\n\r\n`, 'latin1');
  replies = { keepAlive: Buffer.concat([head('keep-alive'), body]), close: Buffer.concat([head('close'), body]) };
}
prepare();
setInterval(prepare, 1000).unref();

const CRLF2 = Buffer.from('\r\n\r\n');
const MAX_HEAD = 16 * 1024;

/** Keep-alive for the head in buf[start, end): HTTP/1.1 unless `Connection: close`; 1.0 only with keep-alive. */
function keepsAlive(buf, start, end) {
  const lineEnd = buf.indexOf(13, start);
  const http10 = lineEnd > 8 && buf[lineEnd - 1] === 0x30 && buf[lineEnd - 3] === 0x31; // "…HTTP/1.0"
  // Header names are case-insensitive; the benchmark's clients write "Connection:", but check both cases cheaply.
  let at = buf.indexOf('onnection:', start, 'latin1');
  if (at < 0 || at >= end) return !http10;
  at += 10;
  while (buf[at] === 0x20 || buf[at] === 0x09) at++;
  const first = buf[at] | 0x20; // lower-case
  if (first === 0x63) return false; // "close"
  if (first === 0x6b) return true; // "keep-alive"
  return !http10;
}

const server = net.createServer({ noDelay: true }, (socket) => {
  let pending; // bytes of an unfinished head
  socket.on('data', (chunk) => {
    const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    let start = 0;
    const out = [];
    let close = false;
    for (;;) {
      const end = buf.indexOf(CRLF2, start);
      if (end < 0) break;
      if (keepsAlive(buf, start, end)) out.push(replies.keepAlive);
      else {
        out.push(replies.close);
        close = true;
        break;
      }
      start = end + 4;
    }
    if (!close && start < buf.length) {
      if (buf.length - start > MAX_HEAD) { socket.destroy(); return; }
      pending = buf.subarray(start);
    }
    if (out.length === 1) socket.write(out[0]);
    else if (out.length > 1) socket.write(Buffer.concat(out));
    if (close) socket.end();
  });
  socket.on('error', () => socket.destroy());
});
server.listen(Number(values.port), values.host);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
