/**
 * Issue 11 item 10: the CLI answers every URL it prints. Bound to any loopback address, in any
 * spelling (127.0.0.2, ::1, 0:0:0:0:0:0:0:1), `Local:` names that address and a request
 * carrying the printed authority as its Host gets 200, as do the other spellings of loopback; a
 * name that is not ours still gets 403 (DNS rebinding). Raw TCP to the spawned CLI.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { makeSite, type Site } from '../fixtures/make-site';
import { RawClient, request, withTimeout } from '../core/raw-client';
import { killAllClis, requireBuiltCli, runCli, stopCli, waitForLocalUrl } from './run-cli';

let site: Site;

before(async () => {
  requireBuiltCli();
  site = await makeSite({ bigSize: 1024 });
});

after(async () => {
  killAllClis();
  await site.cleanup();
});

/** True when this machine lets us listen on `host` (::1 is missing where IPv6 is off). */
function canListen(host: string): Promise<boolean> {
  return new Promise((resolveCan) => {
    const s = createServer();
    s.once('error', () => resolveCan(false));
    s.listen({ port: 0, host }, () => s.close(() => resolveCan(true)));
  });
}

async function statusFor(connectHost: string, port: number, hostHeader: string): Promise<number> {
  const client = await RawClient.connect(port, connectHost);
  try {
    await client.write(request('/hello.txt', { host: hostHeader }));
    return (await client.readResponse()).status;
  } finally {
    client.destroy();
  }
}

// `--host 127.1` (the inet_aton shorthand) is refused by the strict option check (an address is
// four numbers); as a Host header spelling it is still answered below.
for (const bind of ['127.0.0.2', '::1', '0:0:0:0:0:0:0:1']) {
  test(`--host ${bind}: the printed Local URL is answered, other loopback spellings too`, async (t) => {
    if (!(await canListen(bind))) {
      t.skip(`cannot listen on ${bind} here`);
      return;
    }
    const cli = runCli([site.root, '--host', bind, '--port', '0', '--quiet', '--no-reload'], site.base);
    const local = await waitForLocalUrl(cli);
    const port = Number(local.url.port);
    const connectHost = local.url.hostname.replace(/^\[|\]$/g, '');
    try {
      // The URL printed names the bound address, as given.
      assert.equal(local.authority, `${bind.includes(':') ? `[${bind}]` : bind}:${port}`);
      const v6 = bind.includes(':');
      const answered = [
        local.authority, // as curl sends it
        local.url.host, // as a browser sends it (WHATWG-normalised)
        `localhost:${port}`,
        `localhost.:${port}`,
        v6 ? `[::1]:${port}` : `127.0.0.1:${port}`,
        v6 ? '[0:0:0:0:0:0:0:1]' : '127.0.0.2',
        '127.0.0.3',
        '[::1]',
        `[::ffff:127.0.0.1]:${port}`,
        '0x7f.1',
        'app.localhost',
      ];
      for (const host of answered) assert.equal(await statusFor(connectHost, port, host), 200, `Host: ${host}`);
      for (const host of ['evil.example', '10.0.0.1', '[fe80::1]', '128.0.0.1', 'localhost.evil.example']) {
        assert.equal(await statusFor(connectHost, port, host), 403, `Host: ${host}`);
      }
    } finally {
      assert.equal(await stopCli(cli), 0, cli.stderr);
    }
  });
}

test('--host 127.0.0.2 --https: the self-signed certificate names the printed address', async () => {
  const cache = join(site.base, 'xdg-cache');
  const cli = runCli([site.root, '--host', '127.0.0.2', '--port', '0', '--https', '--quiet', '--no-reload'], site.base, { XDG_CACHE_HOME: cache });
  const local = await waitForLocalUrl(cli);
  try {
    assert.equal(local.url.hostname, '127.0.0.2');
    const ca = await readFile(join(cache, 'porthole', 'cert.pem'), 'utf8');
    // No servername: Node checks the IP address against the certificate's IP subjectAltNames.
    const status = await withTimeout(
      new Promise<number>((resolveStatus, reject) => {
        const socket = connect({ host: '127.0.0.2', port: Number(local.url.port), ca }, () =>
          socket.write(`GET /hello.txt HTTP/1.1\r\nHost: ${local.authority}\r\nConnection: close\r\n\r\n`),
        );
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (d: string) => (text += d));
        socket.on('end', () => resolveStatus(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
        socket.on('error', reject);
      }),
      10_000,
      'an HTTPS response from 127.0.0.2',
    );
    assert.equal(status, 200);
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});

// The CLI's certificate named loopback and the addresses, not the machine's name, which the Host
// policy answers to while shared (and the extension's certificate names): https://<machine>:P/
// failed the TLS name check.
test('--https: the self-signed certificate names the machine, as the Host policy answers to it', async () => {
  const cache = join(site.base, 'xdg-cache-name');
  const cli = runCli([site.root, '--port', '0', '--https', '--quiet', '--no-reload'], site.base, { XDG_CACHE_HOME: cache });
  const local = await waitForLocalUrl(cli);
  try {
    const ca = await readFile(join(cache, 'porthole', 'cert.pem'), 'utf8');
    const machine = hostname().toLowerCase();
    const verified = await withTimeout(
      new Promise<string>((resolveCheck) => {
        // Node checks the servername against the certificate's DNS subjectAltNames.
        const socket = connect({ host: '127.0.0.1', port: Number(local.url.port), ca, servername: machine }, () => {
          socket.destroy();
          resolveCheck('verified');
        });
        socket.on('error', (err: Error) => resolveCheck(err.message));
      }),
      10_000,
      `a TLS handshake naming ${machine}`,
    );
    assert.equal(verified, 'verified', `servername ${machine}`);
  } finally {
    assert.equal(await stopCli(cli), 0, cli.stderr);
  }
});
