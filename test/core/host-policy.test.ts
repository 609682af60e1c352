/**
 * Issue 11 item 10, the pure part: HostPolicy answers every URL Porthole prints for a bind (the
 * Local URL and every Network URL from networkUrls), whatever the spelling of the address, and
 * still refuses names that are not ours. (The spawned-CLI TCP test is test/cli/bound-host.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostPolicy, canonicalHostName, isLoopbackBind } from '../../src/core/access/access-policy';
import { lanAddresses, networkUrls, urlFor } from '../../src/core/access/network-addresses';

test('canonicalHostName: one spelling per address, as browsers send it', () => {
  const cases: Array<[string, string]> = [
    ['LOCALHOST.:8000', 'localhost'],
    ['127.1', '127.0.0.1'],
    ['0x7f.0.0.1:80', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['[0:0:0:0:0:0:0:1]:8000', '[::1]'],
    ['[FE80::1%25eth0]', '[fe80::1]'],
    ['[::ffff:127.0.0.1]', '[::ffff:7f00:1]'],
    ['Example.Test', 'example.test'],
    ['face.bad', 'face.bad'],
    ['[::1', ''],
    ['[nope]', ''],
    ['host:port', ''],
    // An empty port is the default one (RFC 3986 §3.2.3: port = *DIGIT; helper-46's input).
    ['127.0.0.1:', '127.0.0.1'],
    ['localhost:', 'localhost'],
    ['[::1]:', '[::1]'],
    // Any number of digits, as RFC 3986's grammar and nginx (helper-150: a 403 about DNS rebinding).
    ['127.0.0.1:123456', '127.0.0.1'],
    ['localhost:000009401', 'localhost'],
    ['[::1]:0000080', '[::1]'],
    ['localhost:80a', ''],
    ['localhost:-1', ''],
  ];
  for (const [input, want] of cases) assert.equal(canonicalHostName(input), want, input);
});

test('isLoopbackBind: every spelling of loopback, nothing else', () => {
  for (const h of ['localhost', 'LocalHost.', '127.0.0.2', '127.1', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.ok(isLoopbackBind(h), h);
  for (const h of ['0.0.0.0', '::', '192.0.2.2', 'fe80::1', 'example.test', '128.0.0.1']) assert.ok(!isLoopbackBind(h), h);
});

test('every URL printed for a bind is a Host the policy answers', () => {
  const lan = lanAddresses();
  const binds = ['127.0.0.1', '127.0.0.2', '::1', '0.0.0.0', '::', ...lan.map((a) => a.address)];
  for (const bind of binds) {
    const policy = new HostPolicy(bind, []);
    const shown = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
    const urls = [urlFor('http', shown, 8000), urlFor('http', bind, 8000), ...networkUrls(bind, 8000, 'https').map((u) => u.url)];
    for (const url of urls) {
      const authority = /^[a-z]+:\/\/([^/]+)\//.exec(url)?.[1] ?? '';
      assert.ok(policy.allows(authority), `bound to ${bind}: ${url} as printed`);
      assert.ok(policy.allows(new URL(url).host), `bound to ${bind}: ${url} as a browser sends it`);
    }
    assert.ok(!policy.allows('evil.example'), `bound to ${bind}: evil.example`);
    assert.ok(!policy.allows('198.51.100.7'), `bound to ${bind}: an address not of this machine`);
  }
});

test('a zone id is written %25 in a URL (RFC 6874) and dropped for the Host check', () => {
  assert.equal(urlFor('http', 'fe80::1%eth0', 8000), 'http://[fe80::1%25eth0]:8000/');
  assert.ok(new HostPolicy('fe80::1%eth0', []).allows('[fe80::1%25eth0]:8000'));
});

// `--host 0:0:0:0:0:0:0:0` (or `::0`, `0::`) listens on every interface as `::` does, yet it was
// printed, and put in the QR code, as the one "bound address" http://[0:0:0:0:0:0:0:0]:P/: a phone
// that opens it opens itself, and the LAN addresses were not listed at all.
test('every spelling of the unspecified address lists the LAN addresses, never itself', () => {
  const lan = [
    { address: '192.0.2.20', family: 'IPv4', interfaceName: 'wlan0', linkLocal: false },
    { address: 'fd00::20', family: 'IPv6', interfaceName: 'wlan0', linkLocal: false },
  ] as const;
  const want = networkUrls('::', 8000, 'http', lan);
  assert.deepEqual(want.map((u) => u.url), ['http://192.0.2.20:8000/', 'http://[fd00::20]:8000/']);
  for (const bind of ['0:0:0:0:0:0:0:0', '::0', '0::', '0000::0000']) {
    assert.deepEqual(networkUrls(bind, 8000, 'http', lan), want, `bound to ${bind}`);
  }
  for (const bind of ['::1', 'fd00::20', 'fe80::1%eth0']) assert.equal(networkUrls(bind, 8000, 'http', lan).length, bind === '::1' ? 0 : 1, bind);
});
