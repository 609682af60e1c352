/**
 * Via on requests through the reverse proxy (RFC 9110 §7.6.3), end to end over loopback: a
 * raw-`net` back-end, Porthole in front with `--proxy /api=…`, raw clients. "An HTTP-to-HTTP
 * gateway MUST send an appropriate Via header field in each inbound request message": the
 * protocol the request came in with (`1.1`, `1.0`: the name omitted for HTTP) and a pseudonym,
 * appended to any Via the client sent (each intermediary adds its own entry, in order).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxiedSite, type ProxiedSite } from './proxied-site';
import { fetchOnce, request } from './raw-client';

let ps: ProxiedSite;

before(async () => {
  ps = await startProxiedSite();
});

after(() => ps.close());

/** Every Via line the back-end got for `target`. */
function viaLines(target: string): string[] {
  const seen = ps.backend.requests.filter((r) => r.target === target);
  assert.equal(seen.length, 1, `the back-end got ${target} once`);
  return (seen[0]?.headers ?? []).filter(([n]) => n.toLowerCase() === 'via').map(([, v]) => v);
}

/** This server's Via pseudonym: `porthole-` and 8 hex digits, one per server (its loop check's mark). */
const PSEUDONYM = /^porthole-[0-9a-f]{8}$/;
let pseudonym = '';

test('a proxied HTTP/1.1 request reaches the back-end with Via: 1.1 porthole-<8 hex digits>', async () => {
  const res = await fetchOnce(ps.srv.port, request('/api/headers?via=11'));
  assert.equal(res.status, 200);
  const [line, ...more] = viaLines('/api/headers?via=11');
  assert.deepEqual(more, []);
  assert.equal(line?.slice(0, 4), '1.1 ');
  pseudonym = line?.slice(4) ?? '';
  assert.match(pseudonym, PSEUDONYM);
});

test('a proxied HTTP/1.0 request says 1.0, the protocol it came in with', async () => {
  const res = await fetchOnce(ps.srv.port, request('/api/headers?via=10', { version: '1.0' }));
  assert.equal(res.status, 200);
  assert.deepEqual(viaLines('/api/headers?via=10'), [`1.0 ${pseudonym}`]);
});

test("the client's own Via entries are kept, in order, and Porthole's is appended as one list", async () => {
  const res = await fetchOnce(ps.srv.port, request('/api/headers?via=chain', { headers: ['Via: 1.0 fred', 'Via: 1.1 p.example (Thing/1)'] }));
  assert.equal(res.status, 200);
  assert.deepEqual(viaLines('/api/headers?via=chain'), [`1.0 fred, 1.1 p.example (Thing/1), 1.1 ${pseudonym}`]);
});

test("a proxied page's own Vary and the page Vary go out as one field, each name once (RFC 9110 §12.5.5)", async () => {
  ps.backend.pageFields = 'Vary: Cookie, accept\r\nVary: Accept-Language\r\n';
  try {
    const res = await fetchOnce(ps.srv.port, request('/api/page'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.headerAll('vary'), ['Cookie, accept, Accept-Language, Sec-Fetch-Dest, Sec-Fetch-Mode']);
  } finally {
    ps.backend.pageFields = '';
  }
});
