/**
 * A page served at an IPv6 literal ([::1]), over a real socket: a CSP host-source cannot name
 * that host, yet a policy whose 'self' (or *, or a scheme-source) already allows the client needs
 * no source of ours, and nothing is said. Before, every such policy, meta or header, was reported
 * as blocking live reload ("a CSP source cannot name the host [::1]:PORT"), though Chromium loads
 * the client and reloads the page. A policy that does refuse the client is still said, precisely.
 * Skipped where ::1 cannot be bound.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { RawClient } from '../core/raw-client';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer } from '../../src/core/server/server';

const NAV = 'Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nAccept: text/html,*/*;q=0.8\r\n';

/** ::1 can be bound here (an IPv6 loopback is configured). */
async function ipv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

let HAS_V6 = false;
/** Skips `t` where ::1 cannot be bound; true when it was skipped. */
function noV6(t: { skip(message: string): void }): boolean {
  if (!HAS_V6) t.skip('::1 cannot be bound here');
  return !HAS_V6;
}

let root: string;
let server: PreviewServer;
let port: number;
const said: string[] = [];

/**
 * One request to [::1]:port on its own connection, with Host [::1]:port and `extra` header lines
 * (each ending in CRLF); the answer (raw-client's), its body as latin1 text.
 */
async function request(path: string, extra = ''): Promise<{ readonly status: number; readonly header: (name: string) => string | undefined; readonly body: string }> {
  const client = await RawClient.connect(port, '::1');
  try {
    await client.write(`GET ${path} HTTP/1.1\r\nHost: [::1]:${port}\r\n${extra}Connection: close\r\n\r\n`);
    const answer = await client.readResponse();
    return { status: answer.status, header: (name) => answer.header(name), body: answer.body.toString('latin1') };
  } finally {
    client.destroy();
  }
}

const page = (policy: string): string =>
  `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="${policy}"><title>t</title></head><body><p>p</p></body></html>\n`;
const plain = '<!doctype html><html><head><title>h</title></head><body><p>h</p></body></html>\n';

before(async () => {
  HAS_V6 = await ipv6Loopback();
  if (!HAS_V6) return;
  root = await mkdtemp(join(tmpdir(), 'porthole-csp-v6-'));
  await writeFile(join(root, 'csp.html'), page("default-src 'self'"));
  await writeFile(join(root, 'inline.html'), page("default-src 'self' 'unsafe-inline'"));
  await writeFile(join(root, 'none.html'), page("default-src 'self'; connect-src 'none'"));
  await writeFile(join(root, 'inline-only.html'), page("script-src 'unsafe-inline'; connect-src 'self'"));
  await writeFile(join(root, 'header-self.html'), plain);
  await writeFile(join(root, 'header-none.html'), plain);
  server = new PreviewServer();
  server.on('diagnostic', (level: string, message: string) => {
    if (level === 'warn' && message.includes('Content-Security-Policy')) said.push(message);
  });
  const address = await server.listen({
    root,
    host: '::1',
    port: 0,
    resolveHostNames: false,
    reload: { watch: false },
    headers: [
      { source: 'header-self.html', headers: { 'Content-Security-Policy': "default-src 'self', connect-src ws: 'self'" } },
      { source: 'header-none.html', headers: { 'Content-Security-Policy': "default-src 'none'" } },
    ],
  });
  port = address.port;
});

after(async () => {
  if (!HAS_V6) return;
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** The warnings said about `pagePath` so far. */
const about = (pagePath: string): string[] => said.filter((m) => m.includes(`Content-Security-Policy of ${pagePath}:`));

test("at [::1], a page whose CSP meta says default-src 'self' gets the client, no warning, and the client loads", async (t) => {
  if (noV6(t)) return;
  const a = await request('/csp.html', NAV);
  assert.equal(a.status, 200);
  const nonce = /<script src="\.\/__porthole\/client\.js" nonce="([A-Za-z0-9+/=]+)" data-porthole-client /.exec(a.body)?.[1];
  assert.ok(nonce, a.body);
  // 'self' already allows the socket (ws to the page's own host and port): no source of ours.
  assert.match(a.body, new RegExp(`content="default-src 'self'; script-src 'self' 'nonce-${nonce.replace(/[+/=]/g, '\\$&')}'"`));
  const client = await request('/__porthole/client.js');
  assert.equal(client.status, 200);
  assert.match(client.header('content-type') ?? '', /javascript/);
  // 'unsafe-inline' left as it is: 'self' allows the script's URL too.
  const inline = await request('/inline.html', NAV);
  assert.match(inline.body, /content="default-src 'self' 'unsafe-inline'"/);
  assert.deepEqual(about('/csp.html'), []);
  assert.deepEqual(about('/inline.html'), []);
});

test('at [::1], a Content-Security-Policy header whose policies allow the client by self or ws: is not said', async (t) => {
  if (noV6(t)) return;
  const a = await request('/header-self.html', NAV);
  assert.equal(a.status, 200);
  const nonce = /nonce="([A-Za-z0-9+/=]+)" data-porthole-client /.exec(a.body)?.[1];
  assert.ok(nonce, a.body);
  assert.equal(a.header('content-security-policy'), `default-src 'self'; script-src 'self' 'nonce-${nonce}', connect-src ws: 'self'`);
  assert.deepEqual(about('/header-self.html'), []);
});

test('at [::1], a policy that does refuse the client is still said: which directive, what it refuses, what would do', async (t) => {
  if (noV6(t)) return;
  await request('/none.html', NAV);
  await request('/inline-only.html', NAV);
  await request('/header-none.html', NAV);
  const port6 = `\\[::1\\]:${port}`;
  assert.equal(about('/none.html').length, 1, said.join('\n'));
  assert.match(
    about('/none.html')[0] ?? '',
    new RegExp(`its connect-src does not allow ws://${port6}/__porthole/socket, and a CSP source cannot name the host ${port6} to allow it \\(add 'self' to connect-src`),
  );
  assert.match(about('/inline-only.html')[0] ?? '', new RegExp(`its script-src does not allow http://${port6}/__porthole/client\\.js`));
  assert.match(about('/header-none.html')[0] ?? '', /its default-src \(no connect-src\) does not allow ws:/);
});
