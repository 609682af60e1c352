import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { BoundAddress, LanAddress, ReconfigurableOptions, ServerOptionsInput } from '../../src/core';
import { PreviewServer, createSelfSignedCertificate } from '../../src/core';
import { connect as tlsConnect } from 'node:tls';
import { DEFAULT_CONFIG, liveChanges, needsRestart, readConfig } from '../../src/extension/config/node-config';
import { isViewToHost } from '../../src/extension/requests/node-request-store';
import type { ServerHandle } from '../../src/extension/server/node-server-controller';
import { ServerController } from '../../src/extension/server/node-server-controller';
import {
  certificateNames,
  firewallHint,
  prepareTls,
  qrSvg,
  shareConfirmation,
  sharedUrls,
  sharingModeOf,
  sharingWarnings,
  toSharingServer,
} from '../../src/extension/sharing/node-sharing';
import { computeStatusView } from '../../src/extension/status/node-status-view';

const LAN: LanAddress[] = [
  { address: '192.168.1.20', family: 'IPv4', interfaceName: 'wlan0', linkLocal: false },
  { address: '10.232.7.1', family: 'IPv4', interfaceName: 'veth0', linkLocal: false },
  { address: 'fd00::20', family: 'IPv6', interfaceName: 'wlan0', linkLocal: false },
];
const folder = { folderPath: '/w/site', folderName: 'site', logDir: '/logs' };
const address = (port = 8000, scheme = 'http'): BoundAddress => ({ host: '0.0.0.0', port, url: `${scheme}://127.0.0.1:${port}/`, requestedPort: undefined });

void test('modes: loopback binds are local, anything else is shared', () => {
  for (const h of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) assert.equal(sharingModeOf(h), 'local', h);
  for (const h of ['0.0.0.0', '::', '192.168.1.20']) assert.equal(sharingModeOf(h), 'shared', h);
});

void test('network URLs: every LAN address for 0.0.0.0 (IPv4) and :: (both), the bound one otherwise', () => {
  assert.deepEqual(sharedUrls('127.0.0.1', 8000, 'http', LAN), []);
  assert.deepEqual(
    sharedUrls('0.0.0.0', 8000, 'http', LAN).map((u) => u.url),
    ['http://192.168.1.20:8000/', 'http://10.232.7.1:8000/'],
  );
  assert.deepEqual(
    sharedUrls('::', 8443, 'https', LAN).map((u) => u.url),
    ['https://192.168.1.20:8443/', 'https://10.232.7.1:8443/', 'https://[fd00::20]:8443/'],
  );
  assert.equal(sharedUrls('0.0.0.0', 8000, 'http', LAN)[0]?.label, 'wlan0 · IPv4');
  assert.deepEqual(sharedUrls('192.168.1.20', 8000, 'http', LAN).map((u) => u.url), ['http://192.168.1.20:8000/']);
});

void test('the QR code is an SVG drawn by uqr: only svg, rect and path', () => {
  const svg = qrSvg('http://192.168.1.20:8000/');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+">/);
  const tags = new Set([...svg.matchAll(/<([a-z]+)/g)].map((m) => m[1]));
  assert.deepEqual([...tags].sort(), ['path', 'rect', 'svg']);
  assert.notEqual(qrSvg('http://10.232.7.1:8000/'), svg);
});

void test('the confirmation says plainly what becomes visible to whom', () => {
  const open = shareConfirmation('site', 8000, []);
  assert.match(open.message, /Share "site" on your network\?/);
  assert.match(open.detail, /Every device on your network can read the files of "site"/);
  assert.match(open.detail, /\.env and \.git stay hidden/);
  assert.match(open.detail, /porthole\.allowedClients/);
  const limited = shareConfirmation('site', 8000, ['192.168.1.0/24']);
  assert.match(limited.detail, /Devices in 192\.168\.1\.0\/24 can read/);
});

void test('dotfiles while shared warn; dotfiles while local do not', () => {
  assert.deepEqual(sharingWarnings({ ...DEFAULT_CONFIG, dotfiles: true }), []);
  assert.deepEqual(sharingWarnings({ ...DEFAULT_CONFIG, host: '0.0.0.0' }), []);
  const w = sharingWarnings({ ...DEFAULT_CONFIG, host: '0.0.0.0', dotfiles: true });
  assert.equal(w.length, 1);
  assert.match(w[0]!, /\.git and \.env stay hidden/);
});

void test('a request log inside a shared folder is said; outside it, or while local, it is not', () => {
  const folder = { folderPath: '/work/site', folderName: 'site', logDir: '/home/u/.config/Code/logs/porthole' };
  const inside = sharingWarnings({ ...DEFAULT_CONFIG, host: '0.0.0.0', logFile: 'logs/requests.log' }, folder);
  assert.equal(inside.length, 1, inside.join('\n'));
  assert.match(inside[0]!, /request log \/work\/site\/logs\/requests\.log is inside the shared folder/);
  assert.match(inside[0]!, /other devices get 404/);
  assert.match(inside[0]!, /porthole\.log\.file/);
  assert.deepEqual(sharingWarnings({ ...DEFAULT_CONFIG, host: '0.0.0.0' }, folder), [], 'the default log lives in the log folder');
  assert.deepEqual(sharingWarnings({ ...DEFAULT_CONFIG, host: '0.0.0.0', logFile: '../requests.log' }, folder), []);
  assert.deepEqual(sharingWarnings({ ...DEFAULT_CONFIG, host: '0.0.0.0', logFile: '..requests.log' }, folder).length, 1, 'a name starting with .. is inside');
  assert.deepEqual(sharingWarnings({ ...DEFAULT_CONFIG, logFile: 'logs/requests.log' }, folder), [], 'local: nothing to say');
  // A root below the folder: a log in the folder but beside the root is not served at all.
  assert.deepEqual(sharingWarnings({ ...DEFAULT_CONFIG, host: '0.0.0.0', root: 'public', logFile: 'requests.log' }, folder), []);
});

void test('the firewall hint names the port and how to check', () => {
  assert.match(firewallHint(8123), /firewall blocks port 8123/);
  assert.match(firewallHint(8123), /ufw allow 8123\/tcp/);
});

void test('settings: allowedClients entries are checked as CIDR, each bad one a problem with its reason', () => {
  const { config, problems } = readConfig((k) =>
    ({ allowedClients: ['192.168.1.0/24', 'nonsense', '10.0.0.0/40', 'fd00::/64'], allowedHosts: ['my.test', 'a b'] })[k],
  );
  assert.deepEqual(config.allowedClients, ['192.168.1.0/24', 'fd00::/64']);
  assert.deepEqual(config.allowedHosts, ['my.test']);
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems.join('\n'), /porthole\.allowedClients: "nonsense" is not an IP address or CIDR range/);
  assert.match(problems.join('\n'), /porthole\.allowedClients: "10\.0\.0\.0\/40" has an invalid prefix length/);
  assert.match(problems.join('\n'), /porthole\.allowedHosts: "a b" contains a space/);
  const notList = readConfig((k) => (k === 'allowedClients' ? '10.0.0.0/8' : undefined));
  assert.deepEqual(notList.config.allowedClients, []);
  assert.match(notList.problems[0] ?? '', /must be a list of strings/);
});

void test('access lists, listing, dotfiles and symlinks apply live; HTTPS and the binding restart', () => {
  const base = DEFAULT_CONFIG;
  assert.equal(liveChanges(base, { ...base }), undefined);
  assert.equal(liveChanges(base, { ...base, allowedClients: [] }), undefined, 'a new but equal array is no change');
  assert.deepEqual(liveChanges(base, { ...base, allowedClients: ['10.0.0.0/8'], dotfiles: true }), { allowedClients: ['10.0.0.0/8'], dotfiles: true });
  assert.equal(needsRestart(base, { ...base, allowedClients: ['10.0.0.0/8'], allowedHosts: ['x.test'] }), false);
  assert.equal(needsRestart(base, { ...base, httpsSelfSigned: true }), true);
  assert.equal(needsRestart(base, { ...base, httpsCert: 'c.pem' }), true);
});

void test('HTTPS off: options unchanged', async () => {
  const options = { root: '/w/site' };
  const r = await prepareTls(DEFAULT_CONFIG, folder, '/unused', options);
  assert.equal(r.options, options);
  assert.equal(r.certificate, undefined);
});

void test('HTTPS files: a missing file, a lone cert, a key of another certificate fail with path and reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-tls-'));
  try {
    const a = createSelfSignedCertificate(['localhost']);
    const b = createSelfSignedCertificate(['localhost']);
    fs.writeFileSync(path.join(dir, 'cert.pem'), a.cert);
    fs.writeFileSync(path.join(dir, 'key.pem'), a.key);
    fs.writeFileSync(path.join(dir, 'other-key.pem'), b.key);
    fs.writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate');
    const ctx = { ...folder, folderPath: dir };
    const attempt = (cert: string, key: string) => () => prepareTls({ ...DEFAULT_CONFIG, httpsCert: cert, httpsKey: key }, ctx, dir, { root: dir });
    await assert.rejects(attempt('cert.pem', ''), { code: 'ERR_TLS_CONFIG', message: /porthole\.https\.key is empty/ });
    await assert.rejects(attempt('missing.pem', 'key.pem'), (err: Error) => err.message.includes(path.join(dir, 'missing.pem')) && /does not exist/.test(err.message));
    await assert.rejects(attempt('junk.pem', 'key.pem'), (err: Error) => err.message.includes(path.join(dir, 'junk.pem')) && /not a PEM certificate/.test(err.message));
    await assert.rejects(attempt('cert.pem', 'other-key.pem'), /other-key\.pem is not the private key of the certificate/);
    const ok = await prepareTls({ ...DEFAULT_CONFIG, httpsCert: 'cert.pem', httpsKey: path.join(dir, 'key.pem') }, ctx, dir, { root: dir });
    assert.equal(ok.options.tls?.cert, a.cert);
    assert.equal(ok.certificate?.kind, 'files');
    assert.equal(ok.certificate?.fingerprint256, a.fingerprint256);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('HTTPS self-signed: a file or a link loop where its folder belongs is said in words, not as Node\'s "ENOTDIR: not a directory, lstat"', async () => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-tls-storage-'));
  try {
    const tls = path.join(storage, 'tls');
    const attempt = () => prepareTls({ ...DEFAULT_CONFIG, httpsSelfSigned: true }, { ...folder, folderPath: storage }, storage, { root: storage });
    fs.writeFileSync(tls, 'not a folder\n');
    await assert.rejects(attempt(), (err: Error) => {
      assert.equal(err.message, `cannot create the self-signed certificate in ${tls}: ${tls} is a regular file, not a folder (ENOTDIR); remove or move it`);
      return true;
    });
    fs.rmSync(tls);
    fs.symlinkSync('tls', tls);
    await assert.rejects(attempt(), (err: Error) => {
      assert.match(err.message, /leads round in a loop \(ELOOP\)/);
      assert.doesNotMatch(err.message, /ELOOP: |chmod '|lstat '/);
      return true;
    });
  } finally {
    fs.rmSync(storage, { recursive: true, force: true });
  }
});

void test('HTTPS files inside the served folder: the key the settings name is a 404 over TLS, the certificate 200', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-key-served-'));
  const server = new PreviewServer();
  try {
    const made = createSelfSignedCertificate(['localhost', '127.0.0.1']);
    fs.writeFileSync(path.join(dir, 'localhost.pem'), made.cert);
    fs.writeFileSync(path.join(dir, 'localhost-key.pem'), made.key);
    const ctx = { ...folder, folderPath: dir };
    const ready = await prepareTls({ ...DEFAULT_CONFIG, httpsCert: 'localhost.pem', httpsKey: 'localhost-key.pem' }, ctx, dir, { root: dir, port: 0, host: '127.0.0.1' });
    const { port } = await server.listen(ready.options);
    const get = (target: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port, ca: made.cert, servername: 'localhost' }, () => socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (d: string) => (text += d));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
        socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer for ${target}`)));
      });
    const key = await get('/localhost-key.pem');
    assert.match(key, /^HTTP\/1\.1 404 /);
    assert.ok(!key.includes('PRIVATE KEY'));
    assert.match(await get('/localhost.pem'), /^HTTP\/1\.1 200 [^]*BEGIN CERTIFICATE/);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('HTTPS self-signed: made once in the storage folder, then reused with the same fingerprint', async () => {
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-storage-'));
  try {
    const config = { ...DEFAULT_CONFIG, httpsSelfSigned: true };
    const first = await prepareTls(config, folder, storage, { root: '/w/site' });
    assert.equal(first.certificate?.kind, 'self-signed');
    assert.equal(first.certificate?.created, true);
    assert.match(first.certificate?.fingerprint256 ?? '', /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(fs.existsSync(path.join(storage, 'tls', 'cert.pem')));
    const second = await prepareTls(config, folder, storage, { root: '/w/site' });
    assert.equal(second.certificate?.created, false);
    assert.equal(second.certificate?.fingerprint256, first.certificate?.fingerprint256);
    assert.ok(certificateNames(LAN, 'Box').includes('10.232.7.1'));
    assert.ok(certificateNames(LAN, 'Box').includes('box'));
  } finally {
    fs.rmSync(storage, { recursive: true, force: true });
  }
});

void test('the view model: network URLs with QR codes while shared, none while local', () => {
  const shared = toSharingServer('file:///w/site', 'site', { ...DEFAULT_CONFIG, host: '0.0.0.0', allowedClients: ['10.0.0.0/8'] }, address(), undefined, LAN);
  assert.equal(shared.mode, 'shared');
  assert.equal(shared.urls.length, 2);
  assert.match(shared.urls[0]!.qrSvg, /^<svg/);
  assert.deepEqual(shared.allowedClients, ['10.0.0.0/8']);
  assert.match(shared.hint, /firewall/);
  const local = toSharingServer('file:///w/site', 'site', DEFAULT_CONFIG, address(), undefined, LAN);
  assert.equal(local.mode, 'local');
  assert.deepEqual(local.urls, []);
});

void test('status bar while shared: a distinct icon, and the tooltip names the URLs and the firewall', () => {
  const state = { kind: 'running' as const, config: { ...DEFAULT_CONFIG, host: '0.0.0.0' }, address: address(8000), since: 1 };
  const v = computeStatusView([{ folderName: 'site', folderPath: '/w/site', state, requestCount: 0, networkUrls: ['http://192.168.1.20:8000/'] }]);
  assert.equal(v.text, '$(radio-tower) Port : 8000');
  assert.equal(v.shared, true);
  const tip = v.tooltip.join('\n');
  assert.match(tip, /Shared on the network: http:\/\/192\.168\.1\.20:8000\//);
  assert.match(tip, /firewall/);
  const local = computeStatusView([{ folderName: 'site', folderPath: '/w/site', state: { ...state, config: DEFAULT_CONFIG }, requestCount: 0 }]);
  assert.equal(local.text, '$(circle-slash) Port : 8000');
  assert.doesNotMatch(local.tooltip.join('\n'), /Shared/);
});

void test('view messages for sharing are narrowed like the others', () => {
  assert.equal(isViewToHost({ type: 'copyUrl', url: 'http://192.168.1.20:8000/' }), true);
  assert.equal(isViewToHost({ type: 'copyUrl', url: 42 }), false);
  assert.equal(isViewToHost({ type: 'shareOnNetwork', id: 'file:///w/site' }), true);
  assert.equal(isViewToHost({ type: 'shareOnNetwork', server: 'site' }), false);
  assert.equal(isViewToHost({ type: 'stopSharing' }), false);
});

class Fake extends EventEmitter implements ServerHandle {
  listened: ServerOptionsInput | undefined;
  reconfigured: ReconfigurableOptions[] = [];
  hosts: string[] = [];
  listen(options: ServerOptionsInput): Promise<BoundAddress> {
    this.listened = options;
    return Promise.resolve(address(8000));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  reconfigure(changes: ReconfigurableOptions): void {
    this.reconfigured.push(changes);
  }
  allowHost(name: string): void {
    this.hosts.push(name);
  }
  setOverlay(): void {}
  notifyChanged(): void {}
  navigate(): void {}
  connectedPages = 0;
}

void test('controller: a failing HTTPS preparation fails the start loudly; live settings reach the running server', async () => {
  const failures: string[] = [];
  const servers: Fake[] = [];
  let tlsBroken = true;
  const controller = new ServerController(
    folder,
    () => {
      const s = new Fake();
      servers.push(s);
      return s;
    },
    { log: () => undefined, failure: (summary) => failures.push(summary) },
    (_config, options) => {
      if (tlsBroken) throw Object.assign(new Error('cannot read the HTTPS certificate /w/c.pem: the file does not exist'), { code: 'ERR_TLS_CONFIG' });
      return { ...options, tls: { cert: 'C', key: 'K' } };
    },
  );
  const failed = await controller.start({ ...DEFAULT_CONFIG, httpsCert: 'c.pem', httpsKey: 'k.pem' });
  assert.equal(failed.kind, 'stopped');
  assert.equal(failed.kind === 'stopped' && failed.failure?.code, 'ERR_TLS_CONFIG');
  assert.match(failures[0] ?? '', /could not serve site: cannot read the HTTPS certificate \/w\/c\.pem: the file does not exist/);
  tlsBroken = false;
  const running = await controller.start({ ...DEFAULT_CONFIG, host: '0.0.0.0' });
  assert.equal(running.kind, 'running');
  const server = servers[servers.length - 1]!;
  assert.deepEqual(server.listened?.tls, { cert: 'C', key: 'K' });
  assert.deepEqual(server.listened?.allowedClients, []);
  assert.equal(controller.reconfigure({ ...DEFAULT_CONFIG, host: '0.0.0.0', allowedClients: ['10.232.7.0/24'] }), true);
  assert.deepEqual(server.reconfigured, [{ allowedClients: ['10.232.7.0/24'] }]);
  assert.deepEqual(controller.state.kind === 'running' && controller.state.config.allowedClients, ['10.232.7.0/24']);
  controller.allowHost('abc.tunnel.example:443');
  assert.deepEqual(server.hosts, ['abc.tunnel.example:443']);
  await controller.stop();
});
