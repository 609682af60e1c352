/**
 * makeRoomForClient: room for the live-reload client in a page's Content-Security-Policy, and
 * nothing wider (issue 11, item 9). Pure; the browser side is in pages.test.mjs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRoomForClient, type ClientRoom } from '../../src/core/reload/live-reload-csp';

const ROOM: ClientRoom = {
  nonce: 'bm9uY2U=',
  host: '127.0.0.1:8000',
  secure: false,
  scriptUrl: 'http://127.0.0.1:8000/__porthole/client.js',
  socketUrl: 'ws://127.0.0.1:8000/__porthole/socket',
};
const NONCE = "'nonce-bm9uY2U='";

function room(policy: string, r: ClientRoom = ROOM): string {
  const out = makeRoomForClient(policy, r);
  assert.equal(out.blocked, undefined, policy);
  return out.policy;
}

test("default-src 'none': a script-src and a connect-src of our own, every other type as before", () => {
  assert.equal(
    room("default-src 'none'; style-src 'self'"),
    `default-src 'none'; style-src 'self'; script-src ${NONCE}; connect-src ws://127.0.0.1:8000/__porthole/socket`,
  );
  assert.equal(
    room("default-src 'self' cdn.example"),
    `default-src 'self' cdn.example; script-src 'self' cdn.example ${NONCE}; connect-src 'self' cdn.example ws://127.0.0.1:8000/__porthole/socket`,
  );
});

test('the directive that governs script elements gets the nonce: script-src-elem before script-src', () => {
  assert.equal(room("script-src 'self'"), `script-src 'self' ${NONCE}`);
  assert.equal(room("script-src 'none'; script-src-elem 'self'"), `script-src 'none'; script-src-elem 'self' ${NONCE}`);
  assert.equal(room("script-src 'nonce-abc' 'strict-dynamic'"), `script-src 'nonce-abc' 'strict-dynamic' ${NONCE}`);
  assert.equal(room("script-src 'sha256-AAAA' 'unsafe-inline'"), `script-src 'sha256-AAAA' 'unsafe-inline' ${NONCE}`);
  // Only the first of duplicate directives counts.
  assert.equal(room("script-src 'self'; script-src 'none'"), `script-src 'self' ${NONCE}; script-src 'none'`);
});

test("'unsafe-inline' alone: our script's exact URL, never a nonce (which would switch inline scripts off)", () => {
  assert.equal(room("script-src 'unsafe-inline'"), "script-src 'unsafe-inline' http://127.0.0.1:8000/__porthole/client.js");
  assert.equal(
    room("default-src 'self' 'unsafe-inline'"),
    "default-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline' http://127.0.0.1:8000/__porthole/client.js; connect-src 'self' 'unsafe-inline' ws://127.0.0.1:8000/__porthole/socket",
  );
});

test('connect-src gets our endpoint only; wss over TLS', () => {
  assert.equal(room("connect-src 'none'"), 'connect-src ws://127.0.0.1:8000/__porthole/socket');
  const secure = { ...ROOM, secure: true, scriptUrl: 'https://127.0.0.1:8000/__porthole/client.js', socketUrl: 'wss://127.0.0.1:8000/__porthole/socket' };
  assert.equal(room('connect-src https://api.example', secure), 'connect-src https://api.example wss://127.0.0.1:8000/__porthole/socket');
});

test('a policy that restricts neither scripts nor connections is left as it is, byte for byte', () => {
  for (const p of ["style-src 'self'", "img-src *;  frame-ancestors 'none'", '', 'report-uri /r']) {
    assert.equal(makeRoomForClient(p, ROOM).policy, p);
  }
});

test('where no room can be made: said, and the policy left alone', () => {
  const named = { ...ROOM, host: 'mysite.test:8000' };
  const uir = makeRoomForClient("upgrade-insecure-requests; default-src 'self'", named);
  assert.match(uir.blocked ?? '', /upgrade-insecure-requests/);
  assert.equal(uir.policy, "upgrade-insecure-requests; default-src 'self'");
  // Loopback is never upgraded by browsers, nor is a page served over TLS.
  for (const host of ['127.0.0.1:8000', 'localhost:8000', 'app.localhost:8000', '127.0.0.2', '[::1]:8000']) {
    assert.equal(makeRoomForClient('upgrade-insecure-requests', { ...ROOM, host }).blocked, undefined, host);
  }
  assert.equal(makeRoomForClient('upgrade-insecure-requests', { ...named, secure: true }).blocked, undefined);
  // A CSP source cannot name an IPv6 literal.
  const v6 = makeRoomForClient("default-src 'none'", { ...ROOM, host: '[fd00::1]:8000' });
  assert.match(v6.blocked ?? '', /cannot name the host/);
});

// A host no CSP source can name (an IPv6 literal) needs no source of ours where the directive
// already allows the client: its script's src and its socket are the page's own origin, which
// 'self' covers (CSP3 §6.7.2.8), as do *, a scheme-source and a host-source of host *. Before, any
// directive on such a host said "cannot name the host", though Chromium ran and reloaded the page.
const V6: ClientRoom = {
  ...ROOM,
  host: '[::1]:8000',
  scriptUrl: 'http://[::1]:8000/__porthole/client.js',
  socketUrl: 'ws://[::1]:8000/__porthole/socket',
};

test("an IPv6 literal host: 'self', *, ws: or ws://*:* already allow the client; only the nonce is added", () => {
  assert.equal(room("default-src 'self'", V6), `default-src 'self'; script-src 'self' ${NONCE}`);
  assert.equal(room("default-src 'SELF' 'unsafe-inline'", V6), "default-src 'SELF' 'unsafe-inline'");
  assert.equal(room("script-src 'self'; connect-src 'self'", V6), `script-src 'self' ${NONCE}; connect-src 'self'`);
  assert.equal(room("script-src 'none'; connect-src 'self'", V6), `script-src ${NONCE}; connect-src 'self'`);
  // A source's path is matched as written after percent-decoding, and a query it carries is
  // dropped, as Chromium does (helper-143: these were said to block the client Chromium let in).
  for (const connect of ['*', 'ws:', 'ws://*:*', 'ws://*:8000', 'ws://*:*/__porthole/', "https://api.example 'self'", 'WS://*:*/%5F%5Fporthole/', 'ws://*:*/__porthole/socke%74', 'ws://*:*/__porthole/socket?x']) {
    assert.equal(room(`connect-src ${connect}`, V6), `connect-src ${connect}`, connect);
  }
  for (const script of ["'self'", '*', 'http:', 'http://*:*', '*:*']) {
    assert.equal(room(`script-src ${script} 'unsafe-inline'; connect-src 'self'`, V6), `script-src ${script} 'unsafe-inline'; connect-src 'self'`, script);
  }
  // A header's list of policies: each one on its own.
  assert.equal(makeRoomForClient("default-src 'self', connect-src ws:", V6, 'header').blocked, undefined);
  // Over TLS: wss from an https page, by 'self', wss: or ws:.
  const tls = { ...V6, secure: true, scriptUrl: 'https://[::1]:8000/__porthole/client.js', socketUrl: 'wss://[::1]:8000/__porthole/socket' };
  for (const connect of ["'self'", 'wss:', 'ws:', 'wss://*:*', 'ws://*:*']) {
    assert.equal(room(`connect-src ${connect}`, tls), `connect-src ${connect}`, connect);
  }
  assert.equal(room("script-src http: 'unsafe-inline'; connect-src 'self'", tls), "script-src http: 'unsafe-inline'; connect-src 'self'");
});

test('an IPv6 literal host: a directive that does not allow the client says which, and what would', () => {
  const cases: Array<[string, RegExp]> = [
    ["default-src 'self'; connect-src 'none'", /^its connect-src does not allow ws:\/\/\[::1\]:8000\/__porthole\/socket, and a CSP source cannot name the host \[::1\]:8000 .*add 'self' to connect-src/],
    ["default-src 'none'", /^its default-src \(no connect-src\) does not allow ws:\/\/\[::1\]:8000\/__porthole\/socket.*add 'self' to default-src/],
    // Chromium refuses these for a socket (checked in a browser): http: is not ws:, nor is a
    // scheme-less *:* (the page's scheme), nor a port other than the server's.
    ['connect-src http:', /its connect-src does not allow ws:/],
    ['connect-src *:*', /its connect-src does not allow ws:/],
    ['connect-src ws://*:9', /its connect-src does not allow ws:/],
    ['connect-src ws://*', /its connect-src does not allow ws:/],
    ['connect-src ws://*/other/', /its connect-src does not allow ws:/],
    ["connect-src https://api.example", /its connect-src does not allow ws:/],
    // Paths are case-sensitive (helper-143: these were taken for allowing the client Chromium refuses).
    ["default-src 'self'; connect-src ws://*:*/__PORTHOLE/socket", /its connect-src does not allow ws:/],
    ["script-src 'unsafe-inline' http://*:*/__PORTHOLE/; connect-src 'self'", /^its script-src does not allow http:/],
    // 'unsafe-inline' alone needs our script's URL (a nonce would switch inline scripts off).
    ["script-src 'unsafe-inline'; connect-src 'self'", /^its script-src does not allow http:\/\/\[::1\]:8000\/__porthole\/client\.js.*add 'self' to script-src/],
    ["script-src-elem https: 'unsafe-inline'", /^its script-src-elem does not allow http:\/\/\[::1\]:8000\/__porthole\/client\.js/],
    ["default-src 'unsafe-inline'; connect-src 'self'", /^its default-src \(no script-src\) does not allow http:/],
  ];
  for (const [policy, said] of cases) {
    const out = makeRoomForClient(policy, V6);
    assert.match(out.blocked ?? '', said, policy);
    assert.equal(out.policy, policy);
  }
  const tls = { ...V6, secure: true, scriptUrl: 'https://[::1]:8000/__porthole/client.js', socketUrl: 'wss://[::1]:8000/__porthole/socket' };
  assert.match(makeRoomForClient('connect-src https:', tls).blocked ?? '', /does not allow wss:/);
  // No port in the Host: the scheme's default, which ws://* names.
  assert.equal(makeRoomForClient('connect-src ws://*', { ...V6, host: '[::1]', socketUrl: 'ws://[::1]/__porthole/socket' }).blocked, undefined);
});

test('hosts a CSP source cannot or can name: zones and odd Hosts never throw; a trailing dot is named', () => {
  for (const host of ['[fe80::1%25eth0]:8000', '[::ffff:127.0.0.1]:8000', 'under_score:8000', '', 'a..b:8000', '.a:8000']) {
    const r = { ...V6, host, scriptUrl: `http://${host}/__porthole/client.js`, socketUrl: `ws://${host}/__porthole/socket` };
    assert.equal(makeRoomForClient("default-src 'self'", r).blocked, undefined, host);
    assert.match(makeRoomForClient("default-src 'none'", r).blocked ?? '', /cannot name the host/, host);
  }
  // Chromium takes `localhost.` in a host-source, and needs it for a page opened at localhost.
  const dot = { ...ROOM, host: 'localhost.:8000', scriptUrl: 'http://localhost.:8000/__porthole/client.js', socketUrl: 'ws://localhost.:8000/__porthole/socket' };
  assert.equal(room("connect-src 'none'", dot), 'connect-src ws://localhost.:8000/__porthole/socket');
});
