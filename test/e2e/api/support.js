// Helpers shared by the API-level suites that run INSIDE code-server's extension host
// (index.js, reload.js): a bounded poll and one raw HTTP/1.1 GET over loopback TCP.
/* global require, exports */
'use strict';
const net = require('node:net');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (at most `timeout` ms). */
async function waitFor(what, fn, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * One raw HTTP/1.1 GET over a TCP socket (Connection: close), with extra header lines;
 * resolves {status, head, body}.
 */
function get(port, target, headers = []) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks = [];
    const extra = headers.map((h) => `${h}\r\n`).join('');
    socket.setTimeout(5000, () => socket.destroy(new Error('GET timed out')));
    socket.on('connect', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: close\r\n\r\n`));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), head: text.slice(0, end), body: text.slice(end + 4) });
    });
  });
}

/**
 * A raw live-reload event stream (what a page's client opens): `events()` parses what arrived so
 * far into {event, data}; `close()` ends it. Counts as a connected page on the server.
 */
function openEvents(port) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('connect', () => socket.write(`GET /__porthole/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`));
  socket.on('data', (d) => { text += d; });
  socket.on('error', () => {});
  return {
    events: () => [...text.matchAll(/event: (\w+)\ndata: ([^\n]*)\n/g)].map((m) => ({ event: m[1], data: m[2] })),
    close: () => socket.destroy(),
  };
}

/**
 * Runs [name, fn] pairs in order, logging `ok`/`not ok` lines and the plain `N passed, N failed`
 * summary; rejects when any failed (runExtensionTests reports that as the exit code).
 */
async function runTests(title, tests) {
  let failed = 0;
  console.log(`${title}: ${tests.length} in VS Code ${require('vscode').version}, Node ${process.version}`);
  for (const [name, fn] of tests) {
    const t0 = Date.now();
    try {
      await fn();
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (err) {
      failed++;
      console.error(`not ok - ${name}: ${(err && err.stack) || err}`);
    }
  }
  console.log(`${tests.length - failed} passed, ${failed} failed`);
  if (failed) throw new Error(`${failed} test(s) failed`);
}

exports.runTests = runTests;
exports.sleep = sleep;
exports.waitFor = waitFor;
exports.get = get;
exports.openEvents = openEvents;
