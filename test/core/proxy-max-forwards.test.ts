/**
 * Max-Forwards through the reverse proxy (RFC 9110 §7.6.2), end to end over loopback: a raw-`net`
 * back-end, Porthole in front of it with `--proxy /api=…`, raw clients. Porthole is a gateway, an
 * intermediary (RFC 9110 §3.7), so for OPTIONS and TRACE it "MUST check and update" the field: at
 * 0 it answers as the final recipient and forwards nothing; above 0 the back-end gets one less.
 * Other methods pass the field on as it came (§7.6.2: a recipient MAY ignore it there).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxiedSite, type ProxiedSite } from './proxied-site';
import { RawClient, fetchOnce, request } from './raw-client';

let ps: ProxiedSite;

before(async () => {
  ps = await startProxiedSite();
});

after(() => ps.close());

/** The Max-Forwards values the back-end saw for `target` (one per request it got). */
function forwardedValues(target: string): Array<string | undefined> {
  return ps.backend.requests.filter((r) => r.target === target).map((r) => r.headers.find(([n]) => n.toLowerCase() === 'max-forwards')?.[1]);
}

test('OPTIONS or TRACE with Max-Forwards: 0 under a proxied prefix is answered by Porthole, never forwarded', async () => {
  const options = await fetchOnce(ps.srv.port, request('/api/headers?mf=options0', { method: 'OPTIONS', headers: ['Max-Forwards: 0'] }));
  assert.equal(options.status, 204, 'Porthole answers OPTIONS as the final recipient');
  // Allow lists what the route takes (RFC 9110 §10.2.1), not the static server's three methods:
  // a DELETE there is passed on (helper-171: `Allow: GET, HEAD, OPTIONS` beside a DELETE that got 200).
  assert.equal(options.header('allow'), 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  const trace = await fetchOnce(ps.srv.port, request('/api/headers?mf=trace0', { method: 'TRACE', headers: ['Max-Forwards: 0'] }));
  assert.equal(trace.status, 405, 'Porthole answers TRACE as the final recipient: it does not echo requests');
  assert.equal(trace.header('allow'), 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  // Outside the route, the static server's own.
  const own = await fetchOnce(ps.srv.port, request('/index.html', { method: 'OPTIONS', headers: ['Max-Forwards: 0'] }));
  assert.equal(own.header('allow'), 'GET, HEAD, OPTIONS');
  assert.ok(!trace.body.toString('latin1').includes('Max-Forwards'), 'the refusal echoes nothing of the request');
  // Leading zeros are still zero (1*DIGIT).
  const zeros = await fetchOnce(ps.srv.port, request('/api/headers?mf=options00', { method: 'OPTIONS', headers: ['Max-Forwards: 000'] }));
  assert.equal(zeros.status, 204);
  assert.deepEqual(forwardedValues('/api/headers?mf=options0'), [], 'the back-end never saw the OPTIONS');
  assert.deepEqual(forwardedValues('/api/headers?mf=trace0'), [], 'the back-end never saw the TRACE');
  assert.deepEqual(forwardedValues('/api/headers?mf=options00'), []);
});

test('OPTIONS or TRACE with Max-Forwards above 0 reach the back-end with one less, however many digits it has', async () => {
  const cases: Array<[method: string, sent: string, expected: string]> = [
    ['OPTIONS', '3', '2'],
    ['TRACE', '1', '0'],
    ['OPTIONS', '010', '9'],
    ['OPTIONS', '100000000000000000000000000000', '99999999999999999999999999999'],
  ];
  for (const [i, [method, sent, expected]] of cases.entries()) {
    const target = `/api/headers?mf=dec${i}`;
    const res = await fetchOnce(ps.srv.port, request(target, { method, headers: [`Max-Forwards: ${sent}`] }));
    assert.equal(res.status, 200, `${method} Max-Forwards: ${sent} is forwarded`);
    assert.deepEqual(forwardedValues(target), [expected], `${method} Max-Forwards: ${sent} → ${expected}`);
  }
});

test('Max-Forwards on another method, or malformed, goes to the back-end as it came', async () => {
  const cases: Array<[method: string, sent: string]> = [
    ['GET', '0'],
    ['GET', '5'],
    ['OPTIONS', 'ten'],
    ['OPTIONS', '-1'],
  ];
  for (const [i, [method, sent]] of cases.entries()) {
    const target = `/api/headers?mf=kept${i}`;
    const res = await fetchOnce(ps.srv.port, request(target, { method, headers: [`Max-Forwards: ${sent}`] }));
    assert.equal(res.status, 200, `${method} Max-Forwards: ${sent} is forwarded`);
    assert.deepEqual(forwardedValues(target), [sent], `${method} Max-Forwards: ${sent} unchanged`);
  }
});

test('an answer given under a proxied prefix before the request body was read says Connection: close, as the connection then ends (RFC 9112 §9.6)', async () => {
  for (const [what, head] of [
    ['OPTIONS with Max-Forwards: 0', request('/api/headers?mf=body0', { method: 'OPTIONS', headers: ['Max-Forwards: 0', 'Content-Length: 10'] })],
    ['a cross-site POST (403)', request('/api/echo?mf=xsite', { method: 'POST', headers: ['Sec-Fetch-Site: cross-site', 'Sec-Fetch-Mode: no-cors', 'Sec-Fetch-Dest: script', 'Content-Length: 10'] })],
  ] as const) {
    const client = await RawClient.connect(ps.srv.port);
    try {
      // The head alone: the body is still to come when the answer is given.
      await client.write(head);
      const res = await client.readResponse();
      assert.ok(res.status === 204 || res.status === 403, `${what}: ${res.status}`);
      assert.equal(res.header('connection'), 'close', `${what}: the answer says the connection ends`);
      await client.waitForEof();
    } finally {
      client.destroy();
    }
  }
});
