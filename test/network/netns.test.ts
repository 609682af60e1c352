/**
 * A real second host: a network namespace of our own, joined to this one by a veth pair, with a
 * client (curl) running inside it. The server runs here, in the root namespace. Traffic goes only
 * to the two addresses this test gives the veth ends. The namespace and the veth are removed in
 * after(), also when a test fails; without root or iproute2 the suite says so and is skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync, mkdirSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer, type RequestRecord } from '../../src/core';
import { createSelfSignedCertificate } from '../../src/core/access/self-signed';
import { startBackend } from '../fixtures/backend';
import { IP, createVethNamespace, ip, namespaceUnavailable, removeVethNamespace, vethNamespaceNames } from './veth-namespace';

const NET = vethNamespaceNames('a', 231, 200);
const { ns: NS, hostIp: HOST_IP, clientIp: CLIENT_IP } = NET;

/** Why the suite cannot run here, or undefined when it can. */
function cannotRun(): string | undefined {
  const why = namespaceUnavailable();
  if (why !== undefined) return why;
  if (spawnSync('curl', ['--version']).status !== 0) return 'curl is not installed';
  return undefined;
}

interface CurlResult {
  readonly exitCode: number;
  readonly status: number;
  readonly body: Buffer;
}

/** curl inside the namespace, bounded by --max-time (async: the server shares this thread). */
async function curlFromNamespace(url: string, extra: string[] = []): Promise<CurlResult> {
  const out = join(workDir, `body-${Math.random().toString(36).slice(2)}`);
  const r = await new Promise<{ status: number; stdout: string }>((resolve) => {
    execFile(
      IP as string,
      ['netns', 'exec', NS, 'curl', '-sS', '--noproxy', '*', '--max-time', '5', '-o', out, '-w', '%{http_code}', ...extra, url],
      { encoding: 'utf8', timeout: 15_000 },
      (err, stdout) => resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout }),
    );
  });
  let body = Buffer.alloc(0);
  try {
    body = readFileSync(out);
    rmSync(out);
  } catch {
    // no body written (connection refused)
  }
  return { exitCode: r.status, status: Number(r.stdout) || 0, body };
}

/** curl on this host with `extra` arguments, bounded: the HTTP status, 0 when there was no answer. */
async function curlFromHostWith(url: string, extra: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--noproxy', '*', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', ...extra, url], { encoding: 'utf8', timeout: 15_000 }, (_err, stdout) =>
      resolve(Number(stdout) || 0),
    );
  });
}

/** curl on this host (loopback), bounded: the HTTP status, 0 when there was no answer. */
async function curlFromHost(url: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--noproxy', '*', '--max-time', '5', '-o', '/dev/null', '-w', '%{http_code}', url], { encoding: 'utf8', timeout: 15_000 }, (_err, stdout) =>
      resolve(Number(stdout) || 0),
    );
  });
}

let workDir = '';
let root = '';
const skipReason = cannotRun();

describe('a second host on a veth pair', { skip: skipReason }, () => {
  before(() => {
    workDir = mkdtempSync(join(tmpdir(), 'porthole-netns-'));
    root = join(workDir, 'site');
    mkdirSync(root);
    const sample = join(process.cwd(), 'htdocs-sample');
    for (const f of ['index.html', 'image.html', 'image.jpg', 'style.css', 'helloworld.html']) {
      copyFileSync(join(sample, f), join(root, f));
    }
    writeFileSync(join(root, '.env'), 'SECRET=1\n');
    createVethNamespace(NET);
  });

  after(() => {
    removeVethNamespace(NET);
    if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
  });

  async function withServer(
    options: Partial<Parameters<PreviewServer['listen']>[0]>,
    body: (port: number, records: RequestRecord[]) => Promise<void> | void,
  ): Promise<void> {
    const server = new PreviewServer();
    const records: RequestRecord[] = [];
    server.on('request', (r) => records.push(r));
    const address = await server.listen({ root, port: 0, resolveHostNames: false, ...options });
    try {
      await body(address.port, records);
    } finally {
      await server.close();
    }
  }

  test('bound to loopback, the other host cannot connect', async () => {
    await withServer({ host: '127.0.0.1' }, async (port) => {
      const r = await curlFromNamespace(`http://${HOST_IP}:${port}/`);
      assert.equal(r.status, 0, 'no HTTP answer may come back');
      assert.notEqual(r.exitCode, 0, 'curl must fail to connect');
    });
  });

  test('shared, the other host loads the page and the image, and the log names it', async () => {
    await withServer({ host: '0.0.0.0' }, async (port, records) => {
      const page = await curlFromNamespace(`http://${HOST_IP}:${port}/`);
      assert.equal(page.status, 200);
      assert.match(page.body.toString(), /Welcome to the Multi-thread Web Server\./);
      const image = await curlFromNamespace(`http://${HOST_IP}:${port}/image.jpg`);
      assert.equal(image.status, 200);
      assert.deepEqual(image.body, readFileSync(join(root, 'image.jpg')));
      const env = await curlFromNamespace(`http://${HOST_IP}:${port}/.env`);
      assert.equal(env.status, 404, '.env stays denied while shared');
      const fromClient = records.filter((r) => r.clientIp === CLIENT_IP);
      assert.deepEqual(
        fromClient.map((r) => `${r.method} ${r.target} ${r.status}`),
        ['GET / 200', 'GET /image.jpg 200', 'GET /.env 404'],
      );
    });
  });

  test('allowedClients not covering the other host → 403 before any file is touched', async () => {
    await withServer({ host: '0.0.0.0', allowedClients: ['192.0.2.0/24'] }, async (port, records) => {
      const r = await curlFromNamespace(`http://${HOST_IP}:${port}/index.html`);
      assert.equal(r.status, 403);
      const rec = records.find((x) => x.clientIp === CLIENT_IP);
      assert.ok(rec?.note?.includes('allowedClients'), `the log line says why: ${rec?.note}`);
      assert.equal(rec?.filePath, undefined);
    });
    await withServer({ host: '0.0.0.0', allowedClients: [`${NET.prefix}.0/24`] }, async (port) => {
      assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/index.html`)).status, 200);
    });
  });

  test('over HTTPS, allowedClients not covering the other host closes its connection before any handshake', async () => {
    const cert = createSelfSignedCertificate(['localhost', '127.0.0.1', HOST_IP]);
    const caFile = join(workDir, 'porthole-refused-cert.pem');
    writeFileSync(caFile, cert.cert);
    await withServer({ host: '0.0.0.0', allowedClients: ['192.0.2.0/24'], tls: { cert: cert.cert, key: cert.key } }, async (port, records) => {
      const r = await curlFromNamespace(`https://${HOST_IP}:${port}/index.html`, ['--cacert', caFile]);
      assert.equal(r.status, 0, 'no HTTP answer: the TLS handshake never happens');
      assert.notEqual(r.exitCode, 0);
      assert.equal(records.filter((x) => x.clientIp === CLIENT_IP).length, 0, 'no request was ever parsed');
    });
  });

  test('this computer through its own network address is this computer: allowedClients and a config edit of it never refuse it', async () => {
    // helper-148: bound to the veth address with a list that names only another network, the
    // banner's own URL answered this computer 403 ("this device (10.x.y.1) is not in this
    // server's allowedClients").
    for (const host of [HOST_IP, '0.0.0.0']) {
      await withServer({ host, allowedClients: ['192.0.2.0/24'] }, async (port, records) => {
        assert.equal(await curlFromHost(`http://${HOST_IP}:${port}/index.html`), 200, `bound to ${host}`);
        assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/index.html`)).status, 403, 'the other host is still refused');
        assert.ok(records.some((r) => r.clientIp === HOST_IP && r.status === 200));
      });
    }
  });

  test('a Host that is not on the list → 403', async () => {
    await withServer({ host: '0.0.0.0' }, async (port, records) => {
      const r = await curlFromNamespace(`http://${HOST_IP}:${port}/`, ['-H', 'Host: rebind.example']);
      assert.equal(r.status, 403);
      assert.match(r.body.toString(), /host name/);
      assert.ok(records.some((x) => x.status === 403 && x.note?.includes('rebind.example') === true));
    });
    await withServer({ host: '0.0.0.0', allowedHosts: ['tunnel.example'] }, async (port) => {
      assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/`, ['-H', 'Host: tunnel.example'])).status, 200);
    });
  });

  test('proxied, the other host cannot put an address of its own before its own in X-Forwarded-For or Forwarded', async () => {
    // helper-148: a device on the network sent `X-Forwarded-For: 127.0.0.1` and `Forwarded:
    // for=127.0.0.1;host=evil.example;proto=https`, and the back-end got them first in each list,
    // where Express (trust proxy), Spring and Quarkus read the client and the links' host.
    const backend = await startBackend();
    try {
      await withServer({ host: '0.0.0.0', proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backend.port}` }] } }, async (port) => {
        const claims = ['-H', 'X-Forwarded-For: 127.0.0.1', '-H', 'Forwarded: for=127.0.0.1;host=evil.example;proto=https'];
        const r = await curlFromNamespace(`http://${HOST_IP}:${port}/api/headers`, claims);
        assert.equal(r.status, 200);
        const seen = (): Array<[string, string]> => backend.requests.at(-1)?.headers ?? [];
        const field = (name: string): string[] => seen().filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
        assert.deepEqual(field('x-forwarded-for'), [CLIENT_IP]);
        assert.deepEqual(field('forwarded'), [`for=${CLIENT_IP};proto=http;host="${HOST_IP}:${port}"`]);
        assert.deepEqual(field('x-real-ip'), [CLIENT_IP]);
        // This computer through its own address (a forwarder on it pointed at the LAN URL) keeps
        // the chain it wrote, as a loopback client does (helper-149).
        const own = await curlFromHostWith(`http://${HOST_IP}:${port}/api/headers`, ['-H', 'X-Forwarded-For: 203.0.113.9', '-H', 'Forwarded: for=203.0.113.9']);
        assert.equal(own, 200);
        assert.deepEqual(field('x-forwarded-for'), [`203.0.113.9, ${HOST_IP}`]);
        assert.match(field('forwarded')[0] ?? '', /^for=203\.0\.113\.9, for=/);
      });
    } finally {
      await backend.close();
    }
  });

  test('the active request log inside the root is 404 for the other host, 200 for this computer', async () => {
    const logFile = join(root, 'logs', 'requests.log');
    mkdirSync(join(root, 'logs'), { recursive: true }); // the log's folder must exist, as for nginx
    await withServer({ host: '0.0.0.0', logFile }, async (port) => {
      // This computer reads it first (the log is never cached: a cached copy must not reach the other host either).
      const local = await curlFromHost(`http://127.0.0.1:${port}/logs/requests.log`);
      assert.equal(local, 200);
      // Let the line for that request reach the file.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const r = await curlFromNamespace(`http://${HOST_IP}:${port}/logs/requests.log`);
      assert.equal(r.status, 404);
      assert.ok(!r.body.toString().includes('127.0.0.1 - -'), 'no log line in the answer');
      // The same file under another name (a hard link) is the same file.
      linkSync(logFile, join(root, 'logs', 'alias.txt'));
      try {
        assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/logs/alias.txt`)).status, 404);
        assert.equal(await curlFromHost(`http://127.0.0.1:${port}/logs/alias.txt`), 200);
      } finally {
        rmSync(join(root, 'logs', 'alias.txt'));
      }
      // Other files in the same folder are served to the other host.
      writeFileSync(join(root, 'logs', 'notes.txt'), 'notes\n');
      assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/logs/notes.txt`)).status, 200);
      // The log removed while the server writes it is made again at its path (a new file, a new
      // inode): still the active log, still 404 for the other host, 200 for this computer.
      rmSync(logFile);
      for (let i = 0; i < 50 && !existsSync(logFile); i++) {
        await curlFromHost(`http://127.0.0.1:${port}/logs/notes.txt`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(existsSync(logFile), 'the removed log is made again');
      const again = await curlFromNamespace(`http://${HOST_IP}:${port}/logs/requests.log`);
      assert.equal(again.status, 404, 'the log made again is the active log too');
      assert.ok(!again.body.toString().includes('127.0.0.1 - -'), 'no log line in the answer');
      assert.equal(await curlFromHost(`http://127.0.0.1:${port}/logs/requests.log`), 200);
    });
  });

  // helper-158: the root's porthole.config.json (allowed clients, proxy targets, headers) was
  // served to every device on the network.
  test('the root\'s porthole.config.json is 404 for the other host and left out of its listing, 200 for this computer; with configFile off it is a file like any other', async () => {
    // A root of its own, with no index page: its listing is what the other host gets for /.
    const configRoot = join(workDir, 'configured');
    mkdirSync(configRoot, { recursive: true });
    writeFileSync(join(configRoot, 'notes.txt'), 'notes\n');
    const configPath = join(configRoot, 'porthole.config.json');
    writeFileSync(configPath, JSON.stringify({ headers: [{ source: '**', headers: { 'X-Config': 'secret-route' } }] }));
    try {
      await withServer({ root: configRoot, host: '0.0.0.0', listing: true }, async (port, records) => {
        const r = await curlFromNamespace(`http://${HOST_IP}:${port}/porthole.config.json`);
        assert.equal(r.status, 404);
        assert.ok(!r.body.toString().includes('X-Config'), 'nothing of the file in the answer');
        const rec = records.find((x) => x.target === '/porthole.config.json' && x.status === 404);
        assert.match(rec?.note ?? '', /configuration file \(porthole\.config\.json\) is served only to this computer/);
        const listing = await curlFromNamespace(`http://${HOST_IP}:${port}/`);
        assert.equal(listing.status, 200);
        assert.ok(listing.body.toString().includes('notes.txt'), 'a listing');
        assert.ok(!listing.body.toString().includes('porthole.config.json'), 'not in the other host\'s listing');
        assert.equal(await curlFromHost(`http://127.0.0.1:${port}/porthole.config.json`), 200);
        // helper-159: another name for the same file (a hard link) is the same file.
        linkSync(configPath, join(configRoot, 'hard.json'));
        assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/hard.json`)).status, 404, 'a hard link to it');
        assert.equal(await curlFromHost(`http://127.0.0.1:${port}/hard.json`), 200);
        // Saved again as an editor saves (a new file renamed over it): still guarded by its path.
        writeFileSync(`${configPath}.tmp`, JSON.stringify({ headers: [{ source: '**', headers: { 'X-Config': 'secret-route-2' } }] }));
        renameSync(`${configPath}.tmp`, configPath);
        assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/porthole.config.json`)).status, 404);
        // And the file made a link to another one while the server runs: that one is guarded once
        // the change is read (a bounded wait), and the file it replaced no longer is.
        mkdirSync(join(configRoot, 'conf'));
        writeFileSync(join(configRoot, 'conf', 'dev.json'), JSON.stringify({ headers: [{ source: '**', headers: { 'X-Config': 'dev' } }] }));
        rmSync(configPath);
        symlinkSync('conf/dev.json', configPath);
        let status = 0;
        for (let i = 0; i < 40 && status !== 404; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          status = (await curlFromNamespace(`http://${HOST_IP}:${port}/conf/dev.json`)).status;
        }
        assert.equal(status, 404, 'the file the configuration now leads to');
        assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/hard.json`)).status, 200, 'the file the first save replaced is a file like any other');
      });
      await withServer({ root: configRoot, host: '0.0.0.0', configFile: false }, async (port) => {
        assert.equal((await curlFromNamespace(`http://${HOST_IP}:${port}/porthole.config.json`)).status, 200);
      });
    } finally {
      rmSync(configRoot, { recursive: true, force: true });
    }
  });

  test('an address this machine gains while shared is answered (Host check follows the interfaces)', async () => {
    const later = `${NET.prefix}.5`;
    await withServer({ host: '0.0.0.0' }, async (port) => {
      ip('addr', 'add', `${later}/24`, 'dev', NET.hostDevice);
      try {
        // The interface list is re-read at most every 2 s, on a Host the server does not know.
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        const r = await curlFromNamespace(`http://${later}:${port}/`);
        assert.equal(r.status, 200);
      } finally {
        ip('addr', 'del', `${later}/24`, 'dev', NET.hostDevice);
      }
    });
  });

  test('over HTTPS with a generated certificate the client trusts, the page loads', async () => {
    const cert = createSelfSignedCertificate(['localhost', '127.0.0.1', HOST_IP]);
    const caFile = join(workDir, 'porthole-cert.pem');
    writeFileSync(caFile, cert.cert);
    await withServer({ host: '0.0.0.0', tls: { cert: cert.cert, key: cert.key } }, async (port, records) => {
      const r = await curlFromNamespace(`https://${HOST_IP}:${port}/`, ['--cacert', caFile]);
      assert.equal(r.status, 200);
      assert.match(r.body.toString(), /Welcome to the Multi-thread Web Server\./);
      const untrusted = await curlFromNamespace(`https://${HOST_IP}:${port}/`);
      assert.notEqual(untrusted.exitCode, 0, 'without the certificate, curl refuses the connection');
      assert.ok(records.some((x) => x.clientIp === CLIENT_IP && x.status === 200));
    });
  });
});

if (skipReason !== undefined) {
  test('network namespace tests', { skip: `skipped: ${skipReason}` }, () => undefined);
}
