/**
 * CONNECT over a real loopback socket. Porthole opens no tunnels: every CONNECT is refused (405),
 * by the static server and under a proxied prefix alike. A client sends CONNECT to get a tunnel,
 * and what it writes after the head is the tunnel's bytes (RFC 9110 §9.3.6: "the interpretation
 * of data sent after the header section of the CONNECT request message is specific to the
 * version of HTTP in use"; a client may send them before it has the answer), never a next
 * request: read as one, an HTTP request hidden in them would be answered as if the client had
 * sent it on its own (the smuggling shape of a front end that forwards CONNECT and relays the
 * rest as opaque), and a TLS ClientHello there got a second, unasked 400. So the refusal closes
 * the connection, as nginx does, and nothing after the CONNECT head is read as HTTP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, request } from './raw-client';

let site: Site;
let srv: Running;
let proxied: Running;

before(async () => {
  site = await makeSite();
  srv = await startServer({ root: site.root });
  // Port 9 (discard) is never contacted: CONNECT is refused before any back-end is asked.
  proxied = await startServer({ root: site.root, proxy: { routes: [{ prefix: '/', target: 'http://127.0.0.1:9' }] } });
});

after(async () => {
  await Promise.all([srv.close(), proxied.close()]);
  await site.cleanup();
});

const CONNECT_HEAD = 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n';
/** The start of a TLS ClientHello, as a client that does not wait for the 200 sends it. */
const CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]);

/** Sends `bytes` on a fresh connection; returns the one answer and everything received until EOF. */
async function exchange(port: number, bytes: Buffer): Promise<{ status: number; connection: string | undefined; transcript: string }> {
  const client = await RawClient.connect(port);
  try {
    await client.write(bytes);
    const res = await client.readResponse();
    await client.waitForEof();
    return { status: res.status, connection: res.header('connection'), transcript: client.transcriptText() };
  } finally {
    client.destroy();
  }
}

for (const [name, port] of [
  ['the static server', (): number => srv.port],
  ['a proxied prefix', (): number => proxied.port],
] as const) {
  test(`${name}: a request written after CONNECT is tunnel data, never answered: one 405, then the connection closes`, async () => {
    const got = await exchange(port(), Buffer.from(CONNECT_HEAD + request('/hello.txt'), 'latin1'));
    assert.equal(got.status, 405);
    assert.equal(got.connection, 'close', 'the refusal says the connection ends');
    assert.equal(got.transcript.split('HTTP/1.1 ').length - 1, 1, `one answer only, got:\n${got.transcript}`);
    assert.ok(!got.transcript.includes(site.hello), 'the GET inside the would-be tunnel was not served');
  });

  test(`${name}: a TLS ClientHello sent after CONNECT gets no second, unasked answer`, async () => {
    const got = await exchange(port(), Buffer.concat([Buffer.from(CONNECT_HEAD, 'latin1'), CLIENT_HELLO]));
    assert.equal(got.status, 405);
    assert.equal(got.transcript.split('HTTP/1.1 ').length - 1, 1, `one answer only, got:\n${got.transcript}`);
  });

  test(`${name}: a CONNECT alone is refused and its connection closed`, async () => {
    const got = await exchange(port(), Buffer.from(CONNECT_HEAD, 'latin1'));
    assert.equal(got.status, 405);
    assert.equal(got.connection, 'close');
  });
}
