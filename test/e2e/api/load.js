// Loopback load generator for the event-loop measurement, run as a child process (so its own work
// never lands on the extension host's thread). N keep-alive connections each send GET requests
// back to back for a bounded time, then it prints {"requests":…, "errors":…} and exits.
//   node load.js PORT DURATION_MS CONNECTIONS [PATH]
/* global require */
'use strict';
const net = require('node:net');

const [port, durationMs, connections, target = '/index.html'] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
const deadline = Date.now() + Math.min(durationMs, 60_000);
const request = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: porthole-load\r\n\r\n`;
let requests = 0;
let errors = 0;
let open = 0;

function connect() {
  if (Date.now() >= deadline) return;
  open++;
  const socket = net.connect({ port, host: '127.0.0.1' });
  let buffer = Buffer.alloc(0);
  let expected = -1;
  const send = () => {
    if (Date.now() >= deadline) return socket.end();
    buffer = Buffer.alloc(0);
    expected = -1;
    socket.write(request);
  };
  socket.on('connect', send);
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (expected < 0) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      expected = end + 4 + (m ? Number(m[1]) : 0);
    }
    if (buffer.length >= expected) {
      requests++;
      send();
    }
  });
  socket.on('error', () => errors++);
  socket.on('close', () => {
    open--;
    if (Date.now() < deadline) setTimeout(connect, 10);
    else if (open === 0) finish();
  });
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  process.stdout.write(`${JSON.stringify({ requests, errors, connections })}\n`);
  process.exit(0);
}

for (let i = 0; i < connections; i++) connect();
setTimeout(finish, Math.min(durationMs, 60_000) + 5_000).unref();
