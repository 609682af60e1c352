/**
 * Strict option validation (src/core/config/validate-options.ts), the one place the CLI, the
 * extension and PreviewServer check options: a table of invalid values for every option, each
 * refused with the option, the value and the reason (never read as something else, never replaced
 * by a default); the valid spellings still pass; PreviewServer.listen and reconfigure refuse too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { PreviewServer, checkServerOptions, cidrProblem, globProblem, validateServerOptions, type OptionName, type RawServerOptions } from '../../src/core';
import { ClientFilter } from '../../src/core/access/access-policy';
import { makeSite, type Site } from '../fixtures/make-site';
import { startServer } from './harness';

let site: Site;
before(async () => {
  site = await makeSite({ bigSize: 1024 });
});
after(async () => {
  await site.cleanup();
});

const ROOT = '/srv/site';

/** [option, raw input fragment, the value as the message shows it, a pattern of the reason] */
const INVALID: Array<[OptionName, RawServerOptions, string, RegExp]> = [
  ['root', { root: '' }, '""', /is empty/],
  ['root', { root: 'relative/site' }, '"relative/site"', /absolute path/],
  ['root', { root: '/a\0b' }, '"/a\\x00b"', /NUL/],
  ['port', { root: ROOT, port: 70000 }, '70000', /whole number from 0 to 65535/],
  ['port', { root: ROOT, port: -1 }, '-1', /whole number from 0 to 65535/],
  ['port', { root: ROOT, port: 80.5 }, '80.5', /whole number/],
  ['port', { root: ROOT, port: '80a' }, '"80a"', /digits only/],
  ['port', { root: ROOT, port: ' 80' }, '" 80"', /digits only/],
  ['port', { root: ROOT, port: '0x50' }, '"0x50"', /digits only/],
  ['port', { root: ROOT, port: '8e3' }, '"8e3"', /digits only/],
  ['port', { root: ROOT, port: true }, 'true', /whole number/],
  ['host', { root: ROOT, host: '' }, '""', /is empty/],
  ['host', { root: ROOT, host: '0.0.0.0/24' }, '"0.0.0.0/24"', /is not an address/],
  ['host', { root: ROOT, host: '[::1]' }, '"[::1]"', /without brackets/],
  ['host', { root: ROOT, host: '256.1.1.1' }, '"256.1.1.1"', /not a valid IPv4 address/],
  ['host', { root: ROOT, host: 'my host' }, '"my host"', /is not an address/],
  ['host', { root: ROOT, host: '-bad-.local' }, '"-bad-.local"', /is not a host name/],
  // What --host takes, not the Host allow-list's example name (a name that resolves nowhere only fails later).
  ['host', { root: ROOT, host: 'bad!name' }, '"bad!name"', /^(?!.*mysite\.test).*is not a host name or an address \(e\.g\. 127\.0\.0\.1, 0\.0\.0\.0/],
  ['portAttempts', { root: ROOT, portAttempts: 0 }, '0', /from 1 to 100/],
  ['listing', { root: ROOT, listing: 'yes' }, '"yes"', /true or false/],
  ['dotfiles', { root: ROOT, dotfiles: 1 }, '1', /true or false/],
  ['compression', { root: ROOT, compression: 'yes' }, '"yes"', /true or false/],
  ['followSymlinks', { root: ROOT, followSymlinks: 'false' }, '"false"', /true or false/],
  ['resolveHostNames', { root: ROOT, resolveHostNames: null }, 'null', /true or false/],
  ['logFile', { root: ROOT, logFile: '' }, '""', /is empty/],
  ['logFile', { root: ROOT, logFile: 'logs/x.log' }, '"logs/x.log"', /absolute path/],
  ['timeouts.headersMs', { root: ROOT, timeouts: { headersMs: 0 } }, '0', /milliseconds from 1 to 3600000/],
  ['timeouts.idleMs', { root: ROOT, timeouts: { idleMs: -5 } }, '-5', /milliseconds/],
  ['timeouts.writeStallMs', { root: ROOT, timeouts: { writeStallMs: 1.5 } }, '1.5', /milliseconds/],
  ['timeouts.closeGraceMs', { root: ROOT, timeouts: { closeGraceMs: 120_000 } }, '120000', /from 0 to 60000/],
  ['maxConnections', { root: ROOT, maxConnections: 0 }, '0', /from 1 to/],
  ['maxBodyBytes', { root: ROOT, maxBodyBytes: -1 }, '-1', /from 0 to/],
  ['allowedHosts', { root: ROOT, allowedHosts: ['*.example.com'] }, '"*.example.com"', /wildcards/],
  ['allowedHosts', { root: ROOT, allowedHosts: ['https://my.test/'] }, '"https://my.test/"', /without scheme or path/],
  ['allowedHosts', { root: ROOT, allowedHosts: ['my.test:99999'] }, '"my.test:99999"', /./],
  ['allowedHosts', { root: ROOT, allowedHosts: ['[::g]'] }, '"[::g]"', /./],
  ['allowedHosts', { root: ROOT, allowedHosts: [''] }, '""', /is empty/],
  ['allowedHosts', { root: ROOT, allowedHosts: 'my.test' }, '"my.test"', /list of strings/],
  ['allowedClients', { root: ROOT, allowedClients: ['192.168.1.0/'] }, '"192.168.1.0/"', /no prefix length after "\/"/],
  ['allowedClients', { root: ROOT, allowedClients: ['192.168.1.0/2'] }, '"192.168.1.0/2"', /did you mean 192\.0\.0\.0\/2\?/],
  ['allowedClients', { root: ROOT, allowedClients: ['192.168.1.0/33'] }, '"192.168.1.0/33"', /from 0 to 32/],
  ['allowedClients', { root: ROOT, allowedClients: ['192.168.1.0/024'] }, '"192.168.1.0/024"', /invalid prefix length/],
  ['allowedClients', { root: ROOT, allowedClients: ['192.168.1.0/24/8'] }, '"192.168.1.0/24/8"', /invalid prefix length/],
  ['allowedClients', { root: ROOT, allowedClients: ['192.168.1.0/+24'] }, '"192.168.1.0/+24"', /invalid prefix length/],
  ['allowedClients', { root: ROOT, allowedClients: ['10.0.0.0/8,192.168.0.0/16'] }, '"10.0.0.0/8,192.168.0.0/16"', /invalid prefix length/],
  ['allowedClients', { root: ROOT, allowedClients: ['fd00::/129'] }, '"fd00::/129"', /from 0 to 128/],
  ['allowedClients', { root: ROOT, allowedClients: ['fd00::1/64'] }, '"fd00::1/64"', /did you mean fd00::\/64\?/],
  ['allowedClients', { root: ROOT, allowedClients: ['fe80::1%eth0'] }, '"fe80::1%eth0"', /zone id/],
  ['allowedClients', { root: ROOT, allowedClients: ['::ffff:192.168.1.0/120'] }, '"::ffff:192.168.1.0/120"', /IPv4-mapped/],
  ['allowedClients', { root: ROOT, allowedClients: [' 10.0.0.1'] }, '" 10.0.0.1"', /spaces/],
  ['allowedClients', { root: ROOT, allowedClients: ['*'] }, '"*"', /not an IP address or CIDR range/],
  ['allowedClients', { root: ROOT, allowedClients: [''] }, '""', /not an IP address/],
  ['allowedClients', { root: ROOT, allowedClients: [42] }, '42', /not a string/],
  ['tls', { root: ROOT, tls: { cert: '', key: 'k' } }, '"{cert, key}"', /PEM certificate and its PEM private key/],
  ['reload.enabled', { root: ROOT, reload: { enabled: 'on' } }, '"on"', /true or false/],
  ['reload.watch', { root: ROOT, reload: { watch: 0 } }, '0', /true or false/],
  ['reload.ignore', { root: ROOT, reload: { ignore: ['src/{a,b}/**'] } }, '"src/{a,b}/**"', /braces/],
  ['reload.ignore', { root: ROOT, reload: { ignore: ['[abc].js'] } }, '"[abc].js"', /character classes/],
  ['reload.ignore', { root: ROOT, reload: { ignore: ['!keep.html'] } }, '"!keep.html"', /negation/],
  ['reload.ignore', { root: ROOT, reload: { ignore: ['../outside/**'] } }, '"../outside/**"', /climbs out/],
  ['reload.ignore', { root: ROOT, reload: { ignore: [''] } }, '""', /is empty/],
  ['reload.ignore', { root: ROOT, reload: { ignore: ['a\u001bb'] } }, '"a\\x1bb"', /control character/],
  // The proxy's options and the watch folders (merged from the proxy branch): known and checked here too.
  ['reload.watchPaths', { root: ROOT, reload: { watchPaths: ['app/templates'] } }, '"app/templates"', /absolute path/],
  ['reload.watchPaths', { root: ROOT, reload: { watchPaths: '/srv/views' } }, '"/srv/views"', /list of strings/],
  ['proxy', { root: ROOT, proxy: 'http://127.0.0.1:3000' }, '"http://127.0.0.1:3000"', /must be an object/],
  ['proxy.timeout' as OptionName, { root: ROOT, proxy: { timeout: 5 } }, '5', /is not an option/],
  ['proxy.routes', { root: ROOT, proxy: { routes: '/api=http://x' as never } }, '"/api=http://x"', /list of \{prefix, target\} routes/],
  ['proxy.routes', { root: ROOT, proxy: { routes: [{ prefix: 'api', target: 'http://127.0.0.1:3000' }] } }, '"api=http://127.0.0.1:3000"', /must be a URL path/],
  ['proxy.routes', { root: ROOT, proxy: { routes: [{ prefix: '/a\u001b', target: 'http://127.0.0.1:3000' }] } }, '"/a\\x1b=http://127.0.0.1:3000"', /visible ASCII/],
  ['proxy.routes', { root: ROOT, proxy: { routes: [{ prefix: '/__porthole/x', target: 'http://127.0.0.1:3000' }] } }, '"/__porthole/x=http://127.0.0.1:3000"', /Porthole's own/],
  ['proxy.routes', { root: ROOT, proxy: { routes: [{ prefix: '/a', target: 'ftp://x' }] } }, '"/a=ftp://x"', /http:\/\/ or https:\/\//],
  ['proxy.routes', { root: ROOT, proxy: { routes: [{ prefix: '/a', target: 'http://x/app' }] } }, '"/a=http://x/app"', /origin only/],
  ['proxy.routes', { root: ROOT, proxy: { routes: [{ prefix: '/a', target: 'http://x' }, { prefix: '/a/', target: 'http://y' }] } }, '"/a/=http://y"', /given twice/],
  ['proxy.routes', { root: ROOT, proxy: { routes: ['/a=http://x'] as never } }, '"/a=http://x"', /is not a route/],
  ['proxy.rewriteHost', { root: ROOT, proxy: { rewriteHost: 'yes' as never } }, '"yes"', /true or false/],
  ['proxy.connectTimeoutMs', { root: ROOT, proxy: { connectTimeoutMs: 0 } }, '0', /whole milliseconds from 1/],
  ['proxy.responseTimeoutMs', { root: ROOT, proxy: { responseTimeoutMs: '30s' as never } }, '"30s"', /whole milliseconds/],
  ['proxy.maxBodyBytes', { root: ROOT, proxy: { maxBodyBytes: -1 } }, '-1', /whole number/],
  ['reload.debounceMs', { root: ROOT, reload: { debounceMs: 10_001 } }, '10001', /from 0 to 10000/],
  // A window past a timer's 32-bit range: Node fired the rate check every millisecond instead, and
  // every download that waited a moment was cut as a slow reader.
  ['limits.rateWindowMs', { root: ROOT, limits: { rateWindowMs: 3_000_000_000 } }, '3000000000', /whole milliseconds from 1 to 3600000 \(3600 s\)/],
  ['cleanUrls', { root: ROOT, cleanUrls: 'yes' }, '"yes"', /true or false/],
  ['mounts', { root: ROOT, mounts: '/vendor=/lib' }, '"/vendor=/lib"', /list of \{prefix, folder\} mounts/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/vendor' }] as never }, '{"prefix":"/vendor"}', /is not a mount/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/vendor', folder: 'lib' }] }, '"/vendor=lib"', /folder must be an absolute path/],
  ['mounts', { root: ROOT, mounts: [{ prefix: 'vendor', folder: '/lib' }] }, '"vendor=/lib"', /must be a URL path starting with \//],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/', folder: '/lib' }] }, '"/=/lib"', /is the root itself/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a//b', folder: '/lib' }] }, '"/a//b=/lib"', /empty segment/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a/%2e%2e', folder: '/lib' }] }, '"/a/%2e%2e=/lib"', /dot segment/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a%2fb', folder: '/lib' }] }, '"/a%2fb=/lib"', /encodes a separator/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a%zz', folder: '/lib' }] }, '"/a%zz=/lib"', /malformed percent-encoding/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a%ff', folder: '/lib' }] }, '"/a%ff=/lib"', /percent-escapes that are not UTF-8/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a b', folder: '/lib' }] }, '"/a b=/lib"', /visible ASCII/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a\u001b', folder: '/lib' }] }, '"/a\\x1b=/lib"', /visible ASCII/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/%5F_porthole', folder: '/lib' }] }, '"/%5F_porthole=/lib"', /Porthole's own/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/a', folder: '/x' }, { prefix: '/a/', folder: '/y' }] }, '"/a/=/y"', /given twice/],
  ['mounts', { root: ROOT, mounts: [{ prefix: '/app', folder: '/x' }], proxy: { routes: [{ prefix: '/', target: 'http://127.0.0.1:1' }] } }, '"/app=/x"', /lies under the proxy route "\/"/],
  ['consoleForward', { root: ROOT, consoleForward: 'warnings' }, '"warnings"', /"off", "errors" or "all"/],
  ['consoleForward', { root: ROOT, consoleForward: false }, 'false', /"off", "errors" or "all"/],
];

void test('every invalid value of every option is refused with the option, the value and the reason', () => {
  for (const [option, raw, value, reason] of INVALID) {
    const problems = checkServerOptions(raw);
    const label = JSON.stringify(raw);
    assert.equal(problems.length, 1, `${label}: ${JSON.stringify(problems)}`);
    const [p] = problems;
    assert.ok(p);
    assert.equal(p.option, option, label);
    assert.equal(p.value, value, label);
    assert.match(p.reason, reason, label);
    assert.throws(() => validateServerOptions(raw), (err: Error & { code?: string }) => err.code === 'EINVALIDOPTION' && err.message.includes(value), label);
  }
});

void test('a misspelt option name is refused, not ignored', () => {
  const problems = checkServerOptions({ root: ROOT, allowedClient: ['10.0.0.0/8'] } as RawServerOptions);
  assert.deepEqual(problems, [{ option: 'allowedClient', value: '["10.0.0.0/8"]', reason: 'is not an option' }]);
  assert.match(checkServerOptions({ root: ROOT, timeouts: { idle: 5 } })[0]?.reason ?? '', /is not an option/);
});

void test('valid spellings pass, and decimal text becomes numbers', () => {
  const raw: RawServerOptions = {
    root: ROOT,
    port: '8080',
    host: '0.0.0.0',
    portAttempts: 1,
    listing: false,
    logFile: '/tmp/x.log',
    timeouts: { idleMs: '5000', headersMs: 10_000 },
    allowedHosts: ['my.test', 'my.test:8443', 'localhost', '192.168.1.20', '[fd00::1]:8000', 'tunnel-1.example.app.', 'my_box.lan'],
    allowedClients: ['192.168.1.0/24', '192.168.1.7', '10.0.0.0/8', '0.0.0.0/0', 'fd00::/64', '::1', '2001:db8::/32'],
    reload: { enabled: true, ignore: ['.git/**', 'dist/**', '*.map', '/build', 'a?c'], debounceMs: '0' },
  };
  assert.deepEqual(checkServerOptions(raw), []);
  const typed = validateServerOptions(raw);
  assert.equal(typed.port, 8080);
  assert.equal(typed.timeouts?.idleMs, 5000);
  assert.equal(typed.reload?.debounceMs, 0);
  for (const host of ['127.0.0.1', '::1', '::', 'localhost', 'fe80::1%eth0', 'my-machine.local']) {
    assert.deepEqual(checkServerOptions({ root: ROOT, host }), [], host);
  }
  // Absent options are left to their defaults, not set to undefined.
  assert.deepEqual(Object.keys(validateServerOptions({ root: ROOT, logFile: undefined })), ['root']);
  // The proxy's options: routes kept as given, timeouts as decimal text become numbers.
  const proxied = validateServerOptions({
    root: ROOT,
    reload: { watchPaths: ['/srv/app/templates'] },
    proxy: { routes: [{ prefix: '/api', target: 'http://127.0.0.1:3000' }, { prefix: '/', target: 'https://localhost:5000' }], rewriteHost: true, responseTimeoutMs: '2500' },
  });
  assert.deepEqual(proxied.proxy, { routes: [{ prefix: '/api', target: 'http://127.0.0.1:3000' }, { prefix: '/', target: 'https://localhost:5000' }], rewriteHost: true, responseTimeoutMs: 2500 });
  assert.deepEqual(proxied.reload?.watchPaths, ['/srv/app/templates']);
});

void test('CIDR: a typo never widens the range; the filter matches what the text says', () => {
  assert.equal(cidrProblem('192.168.1.0/24'), undefined);
  assert.match(cidrProblem('192.168.1.0/') ?? '', /no prefix length/);
  assert.throws(() => new ClientFilter(['192.168.1.0/']), /"192\.168\.1\.0\/" has no prefix length/);
  const filter = new ClientFilter(['192.168.1.0/24', 'fd00::/64']);
  assert.equal(filter.allows('192.168.1.77'), true);
  assert.equal(filter.allows('192.168.2.1'), false);
  assert.equal(filter.allows('::ffff:192.168.1.5'), true);
  assert.equal(filter.allows('fd00::abcd'), true);
  assert.equal(filter.allows('fd01::1'), false);
  assert.equal(filter.allows('8.8.8.8'), false);
});

void test('globs: the grammar\'s own patterns pass, what it would read literally is refused', () => {
  for (const ok of ['.git/**', 'node_modules/**', '*.map', 'dist', '/build/**', './x', 'a/**/b', 'file?.txt']) assert.equal(globProblem(ok), undefined, ok);
  for (const bad of ['', '  ', '!x', 'x/{a,b}', '[ab]', '../x', 'a/../../b']) assert.notEqual(globProblem(bad), undefined, bad);
});

void test('PreviewServer.listen refuses an invalid option before binding (EINVALIDOPTION, value and reason)', async () => {
  const server = new PreviewServer();
  const logServer = new PreviewServer();
  try {
    await assert.rejects(
      server.listen({ root: site.root, port: 0, host: '127.0.0.1', allowedClients: ['192.168.1.0/'] }),
      (err: Error & { code?: string }) =>
        err.code === 'EINVALIDOPTION' && err.message.includes('allowedClients "192.168.1.0/"') && /no prefix length/.test(err.message),
    );
    assert.equal(server.address, undefined, 'nothing listens');
    await assert.rejects(logServer.listen({ root: site.root, port: 0, logFile: join('relative', 'x.log') }), { code: 'EINVALIDOPTION' });
  } finally {
    // Closed whatever happened, so a server that wrongly started does not keep the test alive.
    await Promise.all([server.close(), logServer.close()]);
  }
});

void test('PreviewServer.reconfigure refuses an invalid access list and keeps the one in force', async () => {
  const running = await startServer({ root: site.root, allowedClients: ['10.0.0.0/8'] });
  try {
    assert.throws(() => running.server.reconfigure({ allowedClients: ['192.168.1.0/'] }), (err: Error & { code?: string }) => err.code === 'EINVALIDOPTION' && err.message.includes('"192.168.1.0/"'));
    assert.throws(() => running.server.reconfigure({ allowedHosts: ['*.evil'] }), { code: 'EINVALIDOPTION' });
    assert.throws(() => running.server.reconfigure({ dotfiles: 'yes' as unknown as boolean }), { code: 'EINVALIDOPTION' });
    assert.deepEqual(running.server.options.allowedClients, ['10.0.0.0/8']);
    assert.equal(running.server.options.dotfiles, false);
  } finally {
    await running.close();
  }
});
