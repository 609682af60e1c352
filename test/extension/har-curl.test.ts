/**
 * Issue 13 item 7: "Export as HAR" and "Copy as curl" from the Requests view, built from records a
 * real PreviewServer produced over loopback sockets (files, a redirect, a 404, a proxied back-end,
 * a POST with a body, a keep-alive connection, a request line that does not parse). The HAR is
 * checked against the published HAR 1.2 JSON Schema (har-schema, with ajv) and read back by a
 * HAR consumer from the registry (httpsnippet); every curl command is run with `sh -c` and the
 * real curl against the same server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { HTTPSnippet } from 'httpsnippet';
import { createSelfSignedCertificate, type RequestRecord } from '../../src/core';
import { buildHar, defaultHarFileName, harTimings, requestUrl, toHarEntry } from '../../src/extension/requests/node-har';
import { buildCurl, shellQuote, shellWord } from '../../src/extension/requests/node-curl';
import { makeSite, type Site } from '../fixtures/make-site';
import { startBackend, type Backend } from '../fixtures/backend';
import { startServer, type Running } from '../core/harness';
import { RawClient, fetchOnce, request as rawRequest, withTimeout } from '../core/raw-client';

let site: Site;
let backend: Backend;
let srv: Running;
let scratch: string;

before(async () => {
  site = await makeSite({ bigSize: 1024 });
  backend = await startBackend();
  scratch = mkdtempSync(join(tmpdir(), 'porthole-har-'));
  srv = await startServer({
    root: site.root,
    timeouts: { idleMs: 60_000 },
    headers: [{ source: '**/*.txt', headers: { 'Set-Cookie': 'sid=SETCOOKIE-SECRET; Path=/; HttpOnly' } }],
    proxy: { routes: [{ prefix: '/api', target: `http://127.0.0.1:${backend.port}` }], responseTimeoutMs: 5_000, maxBodyBytes: 1024 * 1024 },
  });
});

after(async () => {
  await srv.close();
  await backend.close();
  await site.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** The record of the n-th request for `target` (1 = first) once the server logged it. */
async function recordFor(target: string, nth = 1): Promise<RequestRecord> {
  const find = (): RequestRecord | undefined => srv.records.filter((r) => r.target === target)[nth - 1];
  await withTimeout(
    (async () => {
      while (find() === undefined) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    `a record for ${target}`,
  );
  const found = find();
  assert.ok(found);
  return found;
}

/** Runs `command` with `sh -c` (stdin from `input`); resolves with stdout as bytes. */
function runShell(command: string, input?: Buffer): Promise<{ stdout: Buffer; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sh -c did not end within 15 s: ${command}`));
    }, 15_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: err, code });
    });
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

const harSchemaFile = (name: string): object => JSON.parse(readFileSync(join(require.resolve('har-schema'), '..', name), 'utf8')) as object;

/** An ajv validator for HAR 1.2 from the har-schema package (JSON Schema draft-06). */
function harValidator(): (data: unknown) => boolean {
  // har-schema uses `min` (not a JSON Schema keyword) beside its real ones: strict off for it.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addMetaSchema(JSON.parse(readFileSync(require.resolve('ajv/lib/refs/json-schema-draft-06.json'), 'utf8')) as object);
  const names = ['afterRequest', 'beforeRequest', 'browser', 'cache', 'content', 'cookie', 'creator', 'entry', 'header', 'log', 'page', 'pageTimings', 'postData', 'query', 'request', 'response', 'timings'];
  for (const name of names) ajv.addSchema(harSchemaFile(`${name}.json`));
  const validate = ajv.compile(harSchemaFile('har.json'));
  return (data) => {
    const ok = validate(data);
    if (!ok) assert.fail(`HAR does not validate: ${ajv.errorsText(validate.errors)}`);
    return ok;
  };
}

/** A request as a browser writes it: Host with the port the client connected to. */
const request = (target: string, opts: Parameters<typeof rawRequest>[1] = {}): string => rawRequest(target, { host: `127.0.0.1:${srv.port}`, ...opts });

let exchanged: Array<{ server: string; record: RequestRecord }> = [];
const helloBody = (): string => site.hello;

test('records from a real server become a HAR 1.2 file that validates against har-schema and reads back in httpsnippet', async () => {
  // A file, with a query, credentials and a cookie the sanitised export must drop.
  const hello = await fetchOnce(
    srv.port,
    request('/hello.txt?x=1&y=a%20b', { headers: ['Authorization: Bearer AUTH-SECRET', 'Cookie: sid=COOKIE-SECRET; theme=dark', 'User-Agent: har-test'] }),
  );
  assert.equal(hello.status, 200);
  // Two requests on one keep-alive connection, then one on another: connection ids follow sockets.
  const client = await RawClient.connect(srv.port);
  await client.write(request('/digits.txt', { method: 'HEAD' }));
  await client.readResponse({ head: true });
  await client.write(request('/missing.txt'));
  assert.equal((await client.readResponse()).status, 404);
  client.destroy();
  const redirect = await fetchOnce(srv.port, request('/with-index'));
  assert.ok(redirect.status >= 300 && redirect.status < 400, `a folder without '/' redirects (got ${redirect.status})`);
  // Proxied, and a POST whose body went to the back-end.
  assert.equal((await fetchOnce(srv.port, request('/api/headers'))).status, 200);
  const body = Buffer.from('posted bytes\n');
  const posted = await fetchOnce(srv.port, request('/api/echo', { method: 'POST', headers: [`Content-Length: ${body.length}`, 'Content-Type: text/plain'] }) + body.toString());
  assert.equal(posted.status, 200);
  // A request line that does not parse: recorded, but it has no URL.
  assert.equal((await fetchOnce(srv.port, 'NOT A REQUEST\r\n\r\n')).status, 400);
  await withTimeout(
    (async () => {
      while (srv.records.length < 7) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    'seven records',
  );
  exchanged = srv.records.map((record) => ({ server: 'site', record }));

  const har = buildHar(exchanged, { creatorVersion: '9.9.9' });
  const file = join(scratch, defaultHarFileName(new Date()));
  writeFileSync(file, JSON.stringify(har, null, 2));
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof har;
  harValidator()(parsed);
  assert.equal(parsed.log.version, '1.2');
  assert.deepEqual(parsed.log.creator, { name: 'Porthole', version: '9.9.9' });
  assert.equal(parsed.log.entries.length, 6, 'every parsed request is an entry; the unparsable one is left out');
  assert.match(parsed.log.comment ?? '', /1 request\(s\) whose request line could not be parsed/);

  // The sanitised file holds none of the credentials, in any field.
  const text = readFileSync(file, 'utf8');
  for (const secret of ['AUTH-SECRET', 'COOKIE-SECRET', 'SETCOOKIE-SECRET']) assert.ok(!text.includes(secret), `${secret} left out`);

  // A HAR consumer from the registry reads the same requests back.
  const snippet = new HTTPSnippet(parsed);
  assert.equal(snippet.requests.length, parsed.log.entries.length);
  snippet.requests.forEach((req, i) => {
    const entry = parsed.log.entries[i];
    assert.ok(entry);
    assert.equal(req.method, entry.request.method);
    assert.equal(req.fullUrl, entry.request.url);
    assert.deepEqual(req.headers, entry.request.headers);
  });

  const byTarget = (target: string) => {
    const entry = parsed.log.entries.find((e) => new URL(e.request.url).pathname === target);
    assert.ok(entry, `an entry for ${target}`);
    return entry;
  };
  const h = byTarget('/hello.txt');
  const helloRecord = await recordFor('/hello.txt?x=1&y=a%20b');
  assert.equal(h.request.url, `http://127.0.0.1:${srv.port}/hello.txt?x=1&y=a%20b`, 'scheme, the Host the client used, and the target');
  assert.deepEqual(h.request.queryString, [
    { name: 'x', value: '1' },
    { name: 'y', value: 'a b' },
  ]);
  assert.equal(h.request.httpVersion, 'HTTP/1.1');
  assert.deepEqual(
    h.request.headers.map((x) => x.name.toLowerCase()),
    ['host', 'user-agent'],
  );
  assert.equal(h.response.status, 200);
  assert.equal(h.response.statusText, 'OK');
  assert.equal(h.response.content.size, Buffer.byteLength(helloBody()));
  assert.match(h.response.content.mimeType, /^text\/plain/);
  assert.equal(h.response.content.text, undefined, 'bodies are not kept');
  assert.match(h.response.content.comment ?? '', /does not keep bodies/);
  assert.ok(!h.response.headers.some((x) => x.name.toLowerCase() === 'set-cookie'));
  assert.match(h.comment ?? '', /authorization, cookie, set-cookie/i);
  assert.equal(h.startedDateTime, new Date(helloRecord.time).toISOString());
  assert.equal(h.serverIPAddress, '127.0.0.1');
  const t = h.timings;
  assert.equal((t.send ?? 0) + (t.wait ?? 0) + (t.receive ?? 0), h.time);
  assert.equal(h.time, helloRecord.durationMs);
  assert.deepEqual([t.blocked, t.dns, t.connect, t.ssl], [-1, -1, -1, -1]);

  const head = byTarget('/digits.txt');
  const missing = byTarget('/missing.txt');
  assert.equal(head.request.method, 'HEAD');
  assert.equal(missing.response.status, 404);
  assert.equal(head.connection, missing.connection, 'one keep-alive connection, one id');
  assert.notEqual(head.connection, h.connection, 'another socket, another id');

  const moved = byTarget('/with-index');
  assert.equal(moved.response.redirectURL, redirect.header('location'));
  assert.ok(moved.response.redirectURL !== '');

  const proxied = byTarget('/api/headers') as typeof h & { _upstream?: { url: string; status: number; time: number } };
  assert.deepEqual(
    { url: proxied._upstream?.url, status: proxied._upstream?.status },
    { url: `http://127.0.0.1:${backend.port}`, status: 200 },
  );
  assert.equal(typeof proxied._upstream?.time, 'number');
  const post = byTarget('/api/echo');
  assert.equal(post.request.bodySize, body.length);
  assert.equal(post.request.postData, undefined);
  assert.match(post.request.comment ?? '', /does not keep bodies/);
});

test('the export with sensitive data keeps Authorization, Cookie and Set-Cookie, and their cookies', () => {
  const source = exchanged.find((s) => s.record.target.startsWith('/hello.txt'));
  assert.ok(source);
  const entry = toHarEntry(source, { includeSensitive: true });
  assert.ok(entry);
  const names = entry.request.headers.map((x) => x.name.toLowerCase());
  assert.ok(names.includes('authorization') && names.includes('cookie'));
  assert.deepEqual(entry.request.cookies, [
    { name: 'sid', value: 'COOKIE-SECRET' },
    { name: 'theme', value: 'dark' },
  ]);
  assert.deepEqual(entry.response.cookies, [{ name: 'sid', value: 'SETCOOKIE-SECRET', path: '/', httpOnly: true }]);
  assert.equal(entry.comment, undefined);
  harValidator()(buildHar([source], { creatorVersion: '1', includeSensitive: true }));
});

test('HAR URLs: TLS gives https, a request without Host uses the address the client connected to, IPv6 in brackets', () => {
  const base = exchanged[0]?.record;
  assert.ok(base);
  const other = (o: Partial<RequestRecord>): RequestRecord => ({ ...base, ...o });
  assert.equal(requestUrl(other({ secure: true, requestHeaders: [['Host', 'localhost:8443']], target: '/a?b' })), 'https://localhost:8443/a?b');
  assert.equal(requestUrl(other({ requestHeaders: [], protocol: 'HTTP/1.0', serverIp: '::1', serverPort: 8000, target: '/' })), 'http://[::1]:8000/');
  // A Host value that is not just an authority cannot move the URL elsewhere.
  assert.equal(requestUrl(other({ requestHeaders: [['Host', 'evil.example/x?']], serverIp: '127.0.0.1', serverPort: 9, target: '/p' })), 'http://127.0.0.1:9/p');
  assert.equal(requestUrl(other({ method: '-', target: '-' })), undefined);
  // Timings never go negative and always add up to the duration.
  const t = harTimings(other({ durationMs: 10, requestMs: -1, responseStartMs: -1 }));
  assert.deepEqual([t.send, t.wait, t.receive], [10, 0, 0]);
});

test('Copy as curl: the command, run with sh -c and the real curl, gets the same response, and the server sees the same request', async () => {
  const source = exchanged.find((s) => s.record.target.startsWith('/hello.txt'));
  assert.ok(source);
  const curl = buildCurl(source.record);
  assert.ok(curl);
  assert.equal(curl.needsBody, false);
  const before = srv.records.length;
  const run = await runShell(curl.command);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.toString(), helloBody());
  const replay = srv.records.slice(before).find((r) => r.target === source.record.target);
  assert.ok(replay, 'the server saw the replayed request');
  const strip = (r: RequestRecord) => r.requestHeaders.filter(([n]) => !['user-agent', 'accept'].includes(n.toLowerCase()));
  assert.deepEqual(strip(replay).map(([n, v]) => [n.toLowerCase(), v]), strip(source.record).map(([n, v]) => [n.toLowerCase(), v]));
  assert.equal(replay.requestHeaders.find(([n]) => n.toLowerCase() === 'user-agent')?.[1], 'har-test');
});

test('Copy as curl: HEAD becomes --head, and a POST reads its body (not kept) from stdin: same answer from the back-end', async () => {
  const head = exchanged.find((s) => s.record.method === 'HEAD');
  assert.ok(head);
  const headCurl = buildCurl(head.record);
  assert.ok(headCurl);
  assert.match(headCurl.command, /--head/);
  const headRun = await runShell(headCurl.command);
  assert.equal(headRun.code, 0, headRun.stderr);
  assert.match(headRun.stdout.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/);

  const post = exchanged.find((s) => s.record.method === 'POST');
  assert.ok(post);
  const postCurl = buildCurl(post.record);
  assert.ok(postCurl);
  assert.equal(postCurl.needsBody, true);
  assert.match(postCurl.command, /--data-binary @-/);
  const run = await runShell(postCurl.command, Buffer.from('posted bytes\n'));
  assert.equal(run.code, 0, run.stderr);
  const echoed = JSON.parse(run.stdout.toString()) as { method: string; length: number; sha256: string };
  const original = await fetchOnce(
    srv.port,
    request('/api/echo', { method: 'POST', headers: ['Content-Length: 13', 'Content-Type: text/plain'] }) + 'posted bytes\n',
  );
  assert.deepEqual(echoed, JSON.parse(original.body.toString()));
  assert.equal(echoed.method, 'POST');
});

test('Copy as curl: hostile header values (quotes, $(), backticks, ;) stay one argument and reach the server unchanged', async () => {
  const marker = join(scratch, 'pwned');
  const values = [
    `'; touch ${marker}; echo '`,
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `"; touch ${marker}; echo "`,
    `'\\''$(touch ${marker})'`,
    `a\\'b ${'$'}{HOME} & | > ${marker} < *`,
    // HTAB and obs-text (bytes 0x80-0xFF; 0x9B is a C1 CSI to a terminal): sent as bytes, shown as none.
    `tab\there \u00e9 \u009b[2J \u00ff'`,
  ];
  const headers = values.map((v, i) => `X-Evil-${i}: ${v}`);
  const target = '/hello.txt?evil=1';
  assert.equal((await fetchOnce(srv.port, request(target, { headers }))).status, 200);
  const original = await recordFor(target);
  const curl = buildCurl(original);
  assert.ok(curl);
  assert.match(curl.command, /^[\x20-\x7e]+$/, 'printable ASCII only: safe to paste into a terminal');
  const run = await runShell(curl.command);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.toString(), helloBody());
  assert.ok(!existsSync(marker), 'no command in a header value ran');
  const replay = await recordFor(target, 2);
  for (let i = 0; i < values.length; i++) {
    assert.equal(replay.requestHeaders.find(([n]) => n.toLowerCase() === `x-evil-${i}`)?.[1], values[i], `header ${i} reached the server as sent`);
  }
});

test('Copy as curl: a Host or an absolute-form target naming another server still replays to this one (--connect-to), never elsewhere', async () => {
  // The back-end is "another server" on this machine: before, the command went to whatever the
  // client wrote in Host or in the target, with every header of the request.
  const elsewhere = `127.0.0.1:${backend.port}`;
  const cases = [
    { target: '/hello.txt?elsewhere=host', raw: request('/hello.txt?elsewhere=host', { host: elsewhere }) },
    { target: '/hello.txt?elsewhere=name', raw: request('/hello.txt?elsewhere=name', { host: 'attacker.invalid' }) },
    { target: `http://${elsewhere}/hello.txt?elsewhere=absolute`, raw: request(`http://${elsewhere}/hello.txt?elsewhere=absolute`) },
  ];
  for (const { target, raw } of cases) {
    const first = await fetchOnce(srv.port, raw);
    const original = await recordFor(target);
    const curl = buildCurl(original);
    assert.ok(curl);
    const seenByBackend = backend.requests.length;
    const run = await runShell(`${curl.command} --silent --show-error --output /dev/null --write-out '%{http_code}'`);
    assert.equal(run.code, 0, `${curl.command}: ${run.stderr}`);
    assert.equal(backend.requests.length, seenByBackend, `${target}: nothing reached the other server`);
    const replay = srv.records.filter((r) => r.target.endsWith(target.replace(/^http:\/\/[^/]+/, ''))).at(-1);
    assert.ok(replay && replay !== original, `${target}: this server saw the replay`);
    assert.equal(Number(run.stdout.toString()), first.status, `${target}: same answer`);
    const host = (r: RequestRecord): string | undefined => r.requestHeaders.find(([n]) => n.toLowerCase() === 'host')?.[1];
    assert.equal(host(replay), host(original) ?? elsewhere, `${target}: the same Host`);
    assert.match(curl.command, new RegExp(`--connect-to '::127\\.0\\.0\\.1:${srv.port}'`), curl.command);
  }
  // The server's own address needs no --connect-to.
  const own = exchanged.find((s) => s.record.target.startsWith('/hello.txt'));
  assert.ok(own);
  assert.doesNotMatch(buildCurl(own.record)?.command ?? '', /--connect-to/);
});

test('Copy as curl: an absolute-form target whose scheme is not the connection\'s still replays (the command speaks what the connection spoke)', async () => {
  // Porthole answers `GET https://…` on a plain connection (RFC 9112 §3.2.2: the authority is what
  // it routes on); the command must not then try a TLS handshake with a plain server.
  const target = `https://127.0.0.1:${srv.port}/hello.txt?scheme=https-on-plain`;
  const first = await fetchOnce(srv.port, request(target));
  assert.equal(first.status, 200);
  const curl = buildCurl(await recordFor(target));
  assert.ok(curl);
  const run = await runShell(`${curl.command} --silent --show-error`);
  assert.equal(run.code, 0, `${curl.command}: ${run.stderr}`);
  assert.equal(run.stdout.toString(), helloBody());
  // And over TLS, `GET http://…`: the command speaks TLS to the TLS server.
  const cert = createSelfSignedCertificate(['127.0.0.1']);
  const certFile = join(scratch, 'scheme-cert.pem');
  writeFileSync(certFile, cert.cert);
  const tls = await startServer({ root: site.root, tls: { cert: cert.cert, key: cert.key }, reload: { enabled: false } });
  try {
    const plainTarget = `http://127.0.0.1:${tls.port}/hello.txt?scheme=http-on-tls`;
    const made = await runShell(
      `curl --silent --show-error --cacert ${shellQuote(certFile)} --request-target ${shellQuote(plainTarget)} ${shellQuote(`https://127.0.0.1:${tls.port}/`)}`,
    );
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stdout.toString(), helloBody());
    await withTimeout(
      (async () => {
        while (!tls.records.some((r) => r.target === plainTarget)) await new Promise((r) => setTimeout(r, 10));
      })(),
      10_000,
      'the TLS record',
    );
    const tlsCurl = buildCurl(tls.records.find((r) => r.target === plainTarget)!);
    assert.ok(tlsCurl);
    const again = await runShell(`${tlsCurl.command} --silent --show-error --cacert ${shellQuote(certFile)}`);
    assert.equal(again.code, 0, `${tlsCurl.command}: ${again.stderr}`);
    assert.equal(again.stdout.toString(), helloBody());
  } finally {
    await tls.close();
  }
});

test('Copy as curl and the HAR URL keep the target\'s dot segments as sent: the replay gets the same answer (a 400 stays a 400)', async () => {
  // A WHATWG URL parser removes dot segments (RFC 3986 §5.2.4), literal or %2e-encoded; the server
  // answered the target as it came.
  for (const target of ['/../hello.txt?dots=literal', '/x/%2e%2e/%2E%2E/hello.txt?dots=encoded', '/x/../hello.txt?dots=inside']) {
    const first = await fetchOnce(srv.port, request(target));
    const original = await recordFor(target);
    const entry = toHarEntry({ server: 'site', record: original });
    assert.equal(entry?.request.url, `http://127.0.0.1:${srv.port}${target}`, `${target}: the HAR url is the target asked for`);
    const curl = buildCurl(original);
    assert.ok(curl);
    const run = await runShell(`${curl.command} --silent --show-error --output /dev/null --write-out '%{http_code}'`);
    assert.equal(run.code, 0, `${curl.command}: ${run.stderr}`);
    assert.equal(Number(run.stdout.toString()), first.status, `${target}: ${curl.command} got another answer than the request it repeats`);
    assert.equal(srv.records.filter((r) => r.target === target).length, 2, `${target}: the server saw the same target again`);
  }
});

test('Copy as curl: the replay carries the fields the request had and no others (no Host, User-Agent, Accept or Content-Type of curl\'s own; chunked stays chunked)', async () => {
  const post = (target: string, fields: readonly string[], body: string): string =>
    `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n${body}`;
  const cases: Array<{ target: string; raw: string; body?: Buffer }> = [
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400; its replay must be one too.
    { target: '/hello.txt?fields=no-host', raw: 'GET /hello.txt?fields=no-host HTTP/1.1\r\n\r\n' },
    { target: '/hello.txt?fields=http10-bare', raw: 'GET /hello.txt?fields=http10-bare HTTP/1.0\r\n\r\n' },
    // A Host in capitals is the same authority to a URL parser, but not the same bytes.
    { target: '/hello.txt?fields=host-case', raw: request('/hello.txt?fields=host-case', { host: `LOCALHOST:${srv.port}` }) },
    { target: '/api/echo?fields=post-untyped', raw: post('/api/echo?fields=post-untyped', ['Content-Length: 5'], 'hello'), body: Buffer.from('hello') },
    {
      target: '/api/echo?fields=post-chunked',
      raw: post('/api/echo?fields=post-chunked', ['Transfer-Encoding: chunked', 'Content-Type: text/plain'], '5\r\nhello\r\n0\r\n\r\n'),
      body: Buffer.from('hello'),
    },
  ];
  for (const { target, raw, body } of cases) {
    const first = await fetchOnce(srv.port, raw);
    const original = await recordFor(target);
    const curl = buildCurl(original);
    assert.ok(curl);
    const run = await runShell(`${curl.command} --silent --show-error --output /dev/null --write-out '%{http_code}'`, body);
    assert.equal(run.code, 0, `${curl.command}: ${run.stderr}`);
    const replay = await recordFor(target, 2);
    assert.deepEqual(replay.requestHeaders, original.requestHeaders, `${target}: ${curl.command} sent other fields than the request it repeats`);
    assert.equal(Number(run.stdout.toString()), first.status, `${target}: ${curl.command} got another answer than the request it repeats`);
  }
});

test('Copy as curl: OPTIONS * is repeated as OPTIONS *, not as OPTIONS / (RFC 9112 §3.2.4: the server, not its root)', async () => {
  const before = srv.records.length;
  const first = await fetchOnce(srv.port, request('*', { method: 'OPTIONS' }));
  await withTimeout(
    (async () => {
      while (!srv.records.slice(before).some((r) => r.method === 'OPTIONS')) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    'the OPTIONS * record',
  );
  const original = srv.records.slice(before).find((r) => r.method === 'OPTIONS');
  assert.ok(original);
  assert.equal(original.target, '*');
  const curl = buildCurl(original);
  assert.ok(curl);
  const seen = srv.records.length;
  const run = await runShell(`${curl.command} --silent --show-error --output /dev/null --write-out '%{http_code}'`);
  assert.equal(run.code, 0, `${curl.command}: ${run.stderr}`);
  assert.equal(Number(run.stdout.toString()), first.status);
  await withTimeout(
    (async () => {
      while (srv.records.length === seen) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    'the replay',
  );
  const replay = srv.records.slice(seen).find((r) => r.method === 'OPTIONS');
  assert.equal(replay?.target, '*', `${curl.command} asked for another target`);
});

test('Copy as curl: Accept-Encoding goes as sent, so the replay gets the representation the request got (identity stays identity, gzip gzip)', async () => {
  writeFileSync(join(site.root, 'coded.txt'), 'text to compress, '.repeat(200));
  for (const coding of ['identity', 'gzip']) {
    const target = `/coded.txt?accept=${coding}`;
    const first = await fetchOnce(srv.port, request(target, { headers: [`Accept-Encoding: ${coding}`] }));
    assert.equal(first.status, 200);
    const original = await recordFor(target);
    const curl = buildCurl(original);
    assert.ok(curl);
    const run = await runShell(curl.command);
    assert.equal(run.code, 0, `${curl.command}: ${run.stderr}`);
    assert.equal(run.stdout.toString(), 'text to compress, '.repeat(200), 'curl decodes what it got');
    const replay = await recordFor(target, 2);
    assert.deepEqual(replay.requestHeaders.filter(([n]) => n === 'accept-encoding'), [['accept-encoding', coding]], `${curl.command}: the Accept-Encoding sent`);
    const encoding = (r: RequestRecord): string | undefined => r.responseHeaders.find(([n]) => n.toLowerCase() === 'content-encoding')?.[1];
    assert.equal(encoding(replay), first.header('content-encoding'), `${curl.command}: the replay got another representation than the request`);
  }
});

test('a CONNECT (host:port target, RFC 9112 §3.2.3): the HAR comment says why it is left out, not that its line did not parse; Copy as curl repeats it', async () => {
  const tunnelTarget = `127.0.0.1:${backend.port}`;
  const before = srv.records.length;
  const first = await fetchOnce(srv.port, request(tunnelTarget, { method: 'CONNECT' }));
  await withTimeout(
    (async () => {
      while (!srv.records.slice(before).some((r) => r.method === 'CONNECT')) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    'the CONNECT record',
  );
  const original = srv.records.slice(before).find((r) => r.method === 'CONNECT');
  assert.ok(original);
  assert.equal(original.target, tunnelTarget);
  const har = buildHar([{ server: 'site', record: original }], { creatorVersion: '1' });
  harValidator()(har);
  assert.equal(har.log.entries.length, 0);
  assert.doesNotMatch(har.log.comment ?? '', /could not be parsed/, 'a CONNECT line parsed');
  assert.match(har.log.comment ?? '', /1 CONNECT request\(s\) are left out: their target is a host and port, not a URL/);
  const curl = buildCurl(original);
  assert.ok(curl, 'a CONNECT can be copied as curl');
  const seen = srv.records.length;
  const seenByBackend = backend.requests.length;
  const run = await runShell(`${curl.command} --silent --show-error --output /dev/null --write-out '%{http_code}'`);
  assert.equal(run.code, 0, `${curl.command}: ${run.stderr}`);
  assert.equal(Number(run.stdout.toString()), first.status, `${curl.command}: the same answer`);
  assert.equal(backend.requests.length, seenByBackend, 'nothing went to the host the target named');
  await withTimeout(
    (async () => {
      while (!srv.records.slice(seen).some((r) => r.method === 'CONNECT')) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    'the replayed CONNECT',
  );
  const replay = srv.records.slice(seen).find((r) => r.method === 'CONNECT');
  assert.equal(replay?.target, tunnelTarget);
  assert.deepEqual(replay?.requestHeaders, original.requestHeaders);
});

test('raw bytes above 0x7F: the HAR URL and the curl command carry the bytes sent (%E2%80%AE, not %C3%A2%C2%80%C2%AE); header values are their UTF-8 text', async () => {
  // Written as latin1, one char per byte: /café.txt?q=<U+202E> and X-Name: café as UTF-8 bytes.
  const rawTarget = '/caf\u00c3\u00a9.txt?q=\u00e2\u0080\u00ae';
  const sent = await fetchOnce(srv.port, request(rawTarget));
  const original = await recordFor(rawTarget);
  const url = `http://127.0.0.1:${srv.port}/caf%C3%A9.txt?q=%E2%80%AE`;
  assert.equal(requestUrl(original), url);
  const entry = toHarEntry({ server: 'site', record: original });
  assert.equal(entry?.request.url, url);
  assert.deepEqual(entry?.request.queryString, [{ name: 'q', value: '\u202e' }]);
  const curl = buildCurl(original);
  assert.ok(curl);
  const run = await runShell(`${curl.command} --silent --output /dev/null --write-out '%{http_code}'`);
  assert.equal(run.code, 0, run.stderr);
  const replay = await recordFor('/caf%C3%A9.txt?q=%E2%80%AE');
  assert.ok(replay, 'the replay asked for the same bytes, percent-encoded');
  assert.notEqual(sent.status, 0);

  const target = '/hello.txt?field=utf8';
  assert.equal((await fetchOnce(srv.port, request(target, { headers: ['X-Name: caf\u00c3\u00a9', 'X-Bytes: \u00ff\u00fe'] }))).status, 200);
  const withFields = toHarEntry({ server: 'site', record: await recordFor(target) });
  const header = (name: string): string | undefined => withFields?.request.headers.find((h) => h.name.toLowerCase() === name)?.value;
  assert.equal(header('x-name'), 'caf\u00e9', 'UTF-8 bytes are the text they encode');
  assert.equal(header('x-bytes'), '\u00ff\u00fe', 'bytes that are no UTF-8 stay one char each');
});

test('a target with [ ] | ^ { } ` or a lone %: the HAR URL is still an RFC 3986 URI, so the export validates; the query reads as sent', async () => {
  const target = '/[Open](command:x)|^.txt?q=[1]{2}|^`&p=%zz';
  await fetchOnce(srv.port, request(target));
  const record = await recordFor(target);
  const har = buildHar([{ server: 'site', record }], { creatorVersion: '1' });
  harValidator()(har);
  const entry = har.log.entries[0];
  assert.equal(entry?.request.url, `http://127.0.0.1:${srv.port}/%5BOpen%5D(command:x)%7C%5E.txt?q=%5B1%5D%7B2%7D%7C%5E%60&p=%25zz`);
  assert.deepEqual(entry?.request.queryString, [
    { name: 'q', value: '[1]{2}|^`' },
    { name: 'p', value: '%zz' },
  ]);
});

test('shellQuote and shellWord: any string comes back byte for byte through sh (printf %s)', () => {
  const samples = ['plain', "it's", "''", "'\\''", '$(id)`id`${HOME}\\n', ' \t leading and trailing ', '!history', '', 'caf\u00e9\u009b\t\u00ff', "x'\u0085'y"];
  for (const s of samples) {
    const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
    assert.deepEqual(execFileSync('sh', ['-c', `printf %s ${shellWord(s)}`], { timeout: 10_000 }), latin1(s), `shellWord(${JSON.stringify(s)})`);
    assert.match(shellWord(s), /^[\x20-\x7e]*$/);
    if (/^[\x20-\x7e]*$/.test(s)) assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote(s)}`], { encoding: 'utf8', timeout: 10_000 }), s);
  }
  // Up to U+00FF a char is its byte (latin1, as header values are decoded); above, its UTF-8 bytes.
  assert.deepEqual(execFileSync('sh', ['-c', `printf %s ${shellWord('\u00fc\u2713')}`], { timeout: 10_000 }), Buffer.from([0xfc, 0xe2, 0x9c, 0x93]));
});

test('over TLS: the record says so, the HAR URL is https with the Host the client used, and the curl command (plus --cacert) gets the same page', async () => {
  const cert = createSelfSignedCertificate(['127.0.0.1', 'localhost']);
  const certFile = join(scratch, 'cert.pem');
  writeFileSync(certFile, cert.cert);
  const tls = await startServer({ root: site.root, tls: { cert: cert.cert, key: cert.key }, reload: { enabled: false } });
  try {
    // The real curl is the client: the record holds what it sent.
    const first = await runShell(`curl --silent --show-error --cacert ${shellQuote(certFile)} ${shellQuote(`https://127.0.0.1:${tls.port}/hello.txt?tls=1`)}`);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.toString(), helloBody());
    await withTimeout(
      (async () => {
        while (tls.records.length < 1) await new Promise((r) => setTimeout(r, 10));
      })(),
      10_000,
      'the TLS record',
    );
    const record = tls.records[0];
    assert.ok(record);
    assert.equal(record.secure, true);
    const har = buildHar([{ server: 'site', record }], { creatorVersion: '1' });
    harValidator()(har);
    const entry = har.log.entries[0];
    assert.equal(entry?.request.url, `https://127.0.0.1:${tls.port}/hello.txt?tls=1`);
    assert.equal(entry?.serverIPAddress, '127.0.0.1');
    const curl = buildCurl(record);
    assert.ok(curl);
    const again = await runShell(`${curl.command} --silent --show-error --cacert ${shellQuote(certFile)}`);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.toString(), helloBody());
  } finally {
    await tls.close();
  }
});

test('a compressed response: content.size is the encoded count and the comment says so; curl --compressed gets the decoded page', async () => {
  const page = 'compressible text, '.repeat(200);
  writeFileSync(join(site.root, 'compressible.txt'), page);
  const target = '/compressible.txt';
  const res = await fetchOnce(srv.port, request(target, { headers: ['Accept-Encoding: gzip'] }));
  assert.equal(res.status, 200);
  assert.equal(res.header('content-encoding'), 'gzip');
  const record = await recordFor(target);
  const entry = toHarEntry({ server: 'site', record });
  assert.ok(entry);
  assert.equal(entry.response.content.size, res.body.length);
  assert.ok(entry.response.content.size < Buffer.byteLength(page));
  assert.match(entry.response.content.comment ?? '', /Content-Encoding: gzip; size is the encoded byte count/);
  const curl = buildCurl(record);
  assert.ok(curl);
  assert.match(curl.command, /--compressed/);
  assert.match(curl.command, /--header 'accept-encoding: gzip'/i, 'the Accept-Encoding sent, not curl\'s own list');
  const run = await runShell(curl.command);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.toString(), page);
});
