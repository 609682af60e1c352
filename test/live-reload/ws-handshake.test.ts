/**
 * Live reload's WebSocket opening handshake, field by field, through a real PreviewServer over raw
 * TCP (and TLS): a field sent on several lines gets the answer its comma-joined line gets
 * (RFC 9110 §5.3), a repeated Sec-WebSocket-Key is refused (RFC 6455 §11.3.1), and `Origin` must
 * be this server's own origin — scheme, host and port (RFC 6454 §4–5) — for the WebSocket and the
 * event stream alike.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { createSelfSignedCertificate } from '../../src/core';
import { PreviewServer } from '../../src/core/server/server';
import { askStatus, startSocketSite, type SocketSite } from './ws-client';

let site: SocketSite;
let root: string;
let port: number;

before(async () => {
  site = await startSocketSite('porthole-ws-handshake-');
  ({ root, port } = site);
});

after(() => site.close());

const key = (): string => `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`;
const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\n';
const V13 = 'Sec-WebSocket-Version: 13\r\n';

test('a handshake field on several lines gets the answer of its comma-joined line (RFC 9110 §5.3, RFC 6455 §11.3.1); a second Origin line is a 400', async () => {
  const k1 = randomBytes(16).toString('base64');
  const k2 = randomBytes(16).toString('base64');
  // [what, several lines, the same on one line, the expected status, the status on several lines when another]
  const cases: Array<[string, string, string, number, number?]> = [
    ['two different keys', `${UPGRADE}${V13}Sec-WebSocket-Key: ${k1}\r\nSec-WebSocket-Key: ${k2}\r\n`, `${UPGRADE}${V13}Sec-WebSocket-Key: ${k1}, ${k2}\r\n`, 400],
    ['the same key twice', `${UPGRADE}${V13}Sec-WebSocket-Key: ${k1}\r\nSec-WebSocket-Key: ${k1}\r\n`, `${UPGRADE}${V13}Sec-WebSocket-Key: ${k1}, ${k1}\r\n`, 400],
    ['versions 13 and 8', `${UPGRADE}${key()}${V13}Sec-WebSocket-Version: 8\r\n`, `${UPGRADE}${key()}Sec-WebSocket-Version: 13, 8\r\n`, 426],
    ['versions 8 and 13', `${UPGRADE}${key()}Sec-WebSocket-Version: 8\r\n${V13}`, `${UPGRADE}${key()}Sec-WebSocket-Version: 8, 13\r\n`, 426],
    ['version 13 twice', `${UPGRADE}${key()}${V13}${V13}`, `${UPGRADE}${key()}Sec-WebSocket-Version: 13, 13\r\n`, 426],
    ['Upgrade: h2c, then websocket', `Upgrade: h2c\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key()}${V13}`, `Upgrade: h2c, websocket\r\nConnection: Upgrade\r\n${key()}${V13}`, 101],
    ['Connection: keep-alive, then Upgrade', `Upgrade: websocket\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n${key()}${V13}`, `Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n${key()}${V13}`, 101],
    // Origin is refused on one line (not an origin) and, on two, by the parser: a request carries
    // one Origin at most (RFC 6454 §7.3), and a second line let the first decide (helper-157).
    ['our Origin, then a foreign one', `${UPGRADE}${key()}${V13}Origin: http://127.0.0.1:${port}\r\nOrigin: http://evil.example\r\n`, `${UPGRADE}${key()}${V13}Origin: http://127.0.0.1:${port}, http://evil.example\r\n`, 403, 400],
    ['our Origin twice', `${UPGRADE}${key()}${V13}Origin: http://127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\n`, `${UPGRADE}${key()}${V13}Origin: http://127.0.0.1:${port}, http://127.0.0.1:${port}\r\n`, 403, 400],
  ];
  for (const [what, lines, joined, expected, onLines = expected] of cases) {
    assert.equal(await askStatus(port, joined), expected, `${what}, on one line`);
    assert.equal(await askStatus(port, lines), onLines, `${what}, on separate lines`);
  }
});

test('Origin must be this server: scheme, host and port (RFC 6454 §4–5); none at all is a tool, not a page', async () => {
  const ask = (origin: string | undefined, host?: string): Promise<number> =>
    askStatus(port, `${UPGRADE}${key()}${V13}${origin === undefined ? '' : `Origin: ${origin}\r\n`}`, host === undefined ? {} : { host });
  // Other local web apps: another port, another loopback address's port, a *.localhost name's port.
  for (const origin of ['http://localhost:3000', 'http://127.0.0.2:1', 'http://evil.localhost:1234', `http://127.0.0.1:${port + 1}`, 'http://127.0.0.1', 'http://localhost']) {
    assert.equal(await ask(origin), 403, origin);
  }
  // Not an origin, or not a web one.
  for (const origin of ['null', 'http://evil.example', `ftp://127.0.0.1:${port}`, `http://127.0.0.1:${port}/page`, `http://user@127.0.0.1:${port}`]) {
    assert.equal(await ask(origin), 403, origin);
  }
  // This server, under any name it answers to, on its port, when the page came by that name.
  for (const name of ['127.0.0.1', 'localhost', 'app.localhost', '[::1]', 'LocalHost']) {
    assert.equal(await ask(`http://${name}:${port}`, `${name}:${port}`), 101, name);
  }
  // Another name than the request's Host, even one the server answers to on the same port: another
  // origin (a different program serving 127.0.0.2:P could otherwise listen in).
  for (const name of ['127.0.0.2', '[::1]', 'evil.localhost', 'localhost']) {
    assert.equal(await ask(`http://${name}:${port}`, `127.0.0.1:${port}`), 403, `${name} with Host 127.0.0.1`);
  }
  // Reached through a forwarded port (ssh -L 8080:…, a tunnel): the Host the request came with.
  assert.equal(await ask('http://localhost:8080', 'localhost:8080'), 101);
  assert.equal(await ask('http://localhost:8080', `localhost:${port}`), 403);
  assert.equal(await ask(`http://localhost:${port}`, 'localhost:8080'), 403);
  // Host without a port: the scheme's default port (a TLS proxy in front keeps the Host).
  assert.equal(await ask('http://localhost', 'localhost'), 101);
  assert.equal(await ask('https://localhost', 'localhost'), 101);
  assert.equal(await ask('http://localhost:3000', 'localhost'), 403);
  // No Origin: not a browser (browsers always send it on a WebSocket handshake, RFC 6455 §4.1).
  assert.equal(await ask(undefined), 101);
  // The event stream takes the same rule.
  const events = (origin: string): Promise<number> => askStatus(port, `Accept: text/event-stream\r\nOrigin: ${origin}\r\n`, { path: '/__porthole/events' });
  assert.equal(await events('http://localhost:3000'), 403);
  assert.equal(await events('http://evil.localhost:1234'), 403);
  assert.equal(await events(`http://127.0.0.1:${port}`), 200);
});

test('over TLS, only an https Origin on the server port is its own', async () => {
  const cert = createSelfSignedCertificate(['127.0.0.1', 'localhost']);
  const secure = new PreviewServer();
  const address = await secure.listen({ root, port: 0, resolveHostNames: false, reload: { watch: false }, tls: { cert: cert.cert, key: cert.key } });
  try {
    const ask = (origin: string): Promise<number> =>
      askStatus(address.port, `${UPGRADE}${key()}${V13}Origin: ${origin}\r\n`, {
        socket: tlsConnect({ port: address.port, host: '127.0.0.1', rejectUnauthorized: false }),
      });
    assert.equal(await ask(`https://127.0.0.1:${address.port}`), 101, 'https, server port');
    // Another name than the Host the request came with: another origin.
    assert.equal(await ask(`https://localhost:${address.port}`), 403, 'https, another name than Host, server port');
    assert.equal(await ask(`http://127.0.0.1:${address.port}`), 403, 'http Origin on a TLS server');
    assert.equal(await ask('https://localhost:3000'), 403, 'https, another port');
  } finally {
    await secure.close();
  }
});
