/**
 * What a client claims about itself through the reverse proxy, end to end over loopback: a
 * raw-`net` back-end, Porthole in front with `--proxy /api=…`, raw clients. Porthole drops a
 * client's X-Real-IP, True-Client-IP, X-Forwarded-Proto and the like, or sets them itself
 * (proxy-headers.ts); CGI-style back-ends (WSGI, Rack, PHP) read `X_Real_IP` and `X-Real-IP` as
 * one variable (HTTP_X_REAL_IP), so the same claims spelt with underscores are dropped too (nginx
 * drops every field name with an underscore by default, `underscores_in_headers off`). A client's
 * `Proxy` field is dropped as well: such back-ends read it as HTTP_PROXY (httpoxy, CVE-2016-5385).
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

test("a client's claims of its address, scheme or host spelt with underscores (X_Real_IP, X-Forwarded_For) never reach the back-end", async () => {
  const claims = [
    'X_Real_IP: 6.6.6.6',
    'True_Client_IP: 6.6.6.6',
    'X_Client_IP: 6.6.6.6',
    'X-Cluster_Client_IP: 6.6.6.6',
    'X-Forwarded_For: 6.6.6.6',
    'X_Forwarded_Proto: https',
    'X-Forwarded_Host: evil.example',
    'X_Forwarded_Port: 1',
    'X_Forwarded_Server: evil.example',
    'X-Kept_Field: yes',
  ];
  const res = await fetchOnce(ps.srv.port, request('/api/headers?claims=underscore', { headers: claims }));
  assert.equal(res.status, 200);
  const seen = ps.backend.requests.filter((r) => r.target === '/api/headers?claims=underscore');
  assert.equal(seen.length, 1);
  const fields = seen[0]?.headers ?? [];
  const underscored = fields.map(([n]) => n.toLowerCase()).filter((n) => n.includes('_'));
  assert.deepEqual(underscored, ['x-kept_field'], 'only the field that claims nothing goes on');
  const value = (n: string): string | undefined => fields.find(([k]) => k.toLowerCase() === n)?.[1];
  assert.equal(value('x-real-ip'), '127.0.0.1');
  assert.equal(value('x-forwarded-for'), '127.0.0.1');
  assert.equal(value('x-forwarded-proto'), 'http');
  assert.equal(value('x-kept_field'), 'yes');
});

test('a client\'s Proxy field never reaches the back-end (httpoxy: CGI-style back-ends read it as HTTP_PROXY, their own outbound proxy)', async () => {
  const res = await fetchOnce(ps.srv.port, request('/api/headers?claims=httpoxy', { headers: ['Proxy: http://evil.example:8080', 'PROXY: http://evil.example:8081'] }));
  assert.equal(res.status, 200);
  const seen = ps.backend.requests.filter((r) => r.target === '/api/headers?claims=httpoxy');
  assert.equal(seen.length, 1);
  const names = (seen[0]?.headers ?? []).map(([n]) => n.toLowerCase());
  assert.ok(!names.includes('proxy'), `no Proxy field: ${names.join(', ')}`);
});

test("a client's framing and hop-by-hop fields spelt with underscores (Transfer_Encoding, Content_Length, Proxy_Authorization) never reach the back-end", async () => {
  // CGI-style back-ends read `Transfer_Encoding` as HTTP_TRANSFER_ENCODING, the variable of the
  // field Porthole framed the body by: a body Porthole read by its Content-Length would be
  // announced chunked there.
  const spelt = [
    'Transfer_Encoding: chunked',
    'Content_Length: 99',
    'Keep_Alive: timeout=1',
    'Proxy_Authorization: Basic eDp5',
    'Proxy_Connection: keep-alive',
    'X-Kept_Field: yes',
  ];
  const res = await fetchOnce(ps.srv.port, request('/api/echo?spelt=underscore', { method: 'POST', headers: [...spelt, 'Content-Length: 3'] }) + 'abc');
  assert.equal(res.status, 200);
  const seen = ps.backend.requests.filter((r) => r.target === '/api/echo?spelt=underscore');
  assert.equal(seen.length, 1);
  const underscored = (seen[0]?.headers ?? []).map(([n]) => n.toLowerCase()).filter((n) => n.includes('_'));
  assert.deepEqual(underscored, ['x-kept_field'], 'only the field that frames and claims nothing goes on');
});
