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
