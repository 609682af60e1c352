/**
 * Static files over TCP: the headers of a 200, HEAD, index.html / index.htm, folder redirects,
 * listings (order, escaping, dotfiles), awkward names, and traversal payloads that must never
 * serve anything from outside the root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSite, NAMES, type Site } from '../fixtures/make-site';
import { startServer, type Running } from './harness';
import { RawClient, fetchOnce, fetchWithTranscript, request } from './raw-client';

let site: Site;
let srv: Running;
let srvDot: Running;
let srvNoList: Running;
let srvFollow: Running;

before(async () => {
  site = await makeSite({ bigSize: 256 * 1024 });
  srv = await startServer({ root: site.root });
  srvDot = await startServer({ root: site.root, dotfiles: true });
  srvNoList = await startServer({ root: site.root, listing: false });
  srvFollow = await startServer({ root: site.root, followSymlinks: true });
});

after(async () => {
  await Promise.all([srv.close(), srvDot.close(), srvNoList.close(), srvFollow.close()]);
  await site.cleanup();
});

const enc = (name: string): string => '/' + encodeURIComponent(name);

describe('headers', () => {
  test('a 200 carries Date, Server, Content-Type, exact Content-Length, validators, no-cache, Accept-Ranges, nosniff', async () => {
    const res = await fetchOnce(srv.port, request('/hello.txt'));
    assert.equal(res.status, 200);
    assert.equal(res.version, 'HTTP/1.1');
    assert.equal(res.reason, 'OK');
    assert.ok(!Number.isNaN(Date.parse(res.header('date') ?? '')));
    assert.match(res.header('date') ?? '', /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.equal(res.header('server'), 'Porthole');
    assert.equal(res.header('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.header('content-length'), String(Buffer.byteLength(site.hello)));
    assert.equal(res.body.toString(), site.hello);
    assert.match(res.header('last-modified') ?? '', /GMT$/);
    assert.match(res.header('etag') ?? '', /^"[^"]+"$/, 'strong ETag (no W/)');
    assert.equal(res.header('cache-control'), 'no-cache');
    assert.equal(res.header('accept-ranges'), 'bytes');
    assert.equal(res.header('x-content-type-options'), 'nosniff');
    for (const name of ['date', 'server', 'content-type', 'content-length', 'etag', 'last-modified']) {
      assert.equal(res.headerAll(name).length, 1, `one ${name}`);
    }
  });

  test('Content-Type: charset for UTF-8 text, the bytes decide without extension, octet-stream for .bin', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/index.html', /^text\/html; charset=utf-8$/],
      ['/style.css', /^text\/css; charset=utf-8$/],
      [enc(NAMES.japaneseHtml), /^text\/html; charset=utf-8$/],
      ['/README', /^text\/plain; charset=utf-8$/],
      ['/big.bin', /^application\/octet-stream$/],
    ];
    for (const [target, type] of cases) {
      const res = await fetchOnce(srv.port, request(target));
      assert.equal(res.status, 200, target);
      assert.match(res.header('content-type') ?? '', type, target);
    }
  });

  test('empty file: 200 with Content-Length 0', async () => {
    const res = await fetchOnce(srv.port, request('/empty.txt'));
    assert.equal(res.status, 200);
    assert.equal(res.header('content-length'), '0');
    assert.equal(res.body.length, 0);
  });

  test('HEAD: the same headers as GET, no body; the next pipelined response parses cleanly', async () => {
    for (const target of ['/hello.txt', '/big.bin', '/no-index/', '/nope.txt']) {
      const client = await RawClient.connect(srv.port);
      try {
        await client.write(request(target) + request(target, { method: 'HEAD' }) + request('/hello.txt'));
        const [get, head, next] = await client.readResponses(3, [false, true, false]);
        assert.ok(get !== undefined && head !== undefined && next !== undefined);
        assert.equal(head.status, get.status, target);
        assert.equal(head.body.length, 0);
        for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control', 'accept-ranges']) {
          assert.equal(head.header(name), get.header(name), `${target} ${name}`);
        }
        assert.equal(next.status, 200);
        assert.equal(next.body.toString(), site.hello);
        assert.equal(client.buffered, 0);
      } finally {
        client.destroy();
      }
    }
  });

  test('304 has no body and the next pipelined response parses cleanly', async () => {
    const etag = (await fetchOnce(srv.port, request('/hello.txt'))).header('etag') ?? '';
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(request('/hello.txt', { headers: [`If-None-Match: ${etag}`] }) + request('/digits.txt'));
      const [notModified, next] = await client.readResponses(2);
      assert.equal(notModified?.status, 304);
      assert.equal(notModified?.header('content-length'), undefined);
      assert.equal(next?.status, 200);
      assert.equal(next?.body.toString(), site.digits);
    } finally {
      client.destroy();
    }
  });
});

describe('folders', () => {
  test('index.html wins over index.htm; index.htm alone is served', async () => {
    const a = await fetchOnce(srv.port, request('/with-index/'));
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), '<p>with index.html</p>\n');
    const b = await fetchOnce(srv.port, request('/with-htm/'));
    assert.equal(b.status, 200);
    assert.equal(b.body.toString(), '<p>only index.htm</p>\n');
    assert.match(b.header('content-type') ?? '', /^text\/html/);
    const root = await fetchOnce(srv.port, request('/'));
    assert.equal(root.status, 200);
    assert.match(root.body.toString(), /<h1>home<\/h1>/);
  });

  test('a folder without slash → 301 to the slash form, query kept', async () => {
    const res = await fetchOnce(srv.port, request('/no-index?sort=name'));
    assert.equal(res.status, 301);
    assert.equal(res.header('location'), '/no-index/?sort=name');
  });

  test('listing: folders first, names escaped, dotfiles hidden', async () => {
    const res = await fetchOnce(srv.port, request('/no-index/'));
    assert.equal(res.status, 200);
    assert.match(res.header('content-type') ?? '', /^text\/html; charset=utf-8$/);
    const html = res.body.toString();
    const zdir = html.indexOf('>zdir/<');
    const a = html.indexOf('>a.txt<');
    const b = html.indexOf('>b.txt<');
    assert.ok(zdir >= 0 && a >= 0 && b >= 0, html);
    assert.ok(zdir < a && a < b, 'folders first, then names in order');
    assert.ok(!html.includes('<b onmouseover'), 'the raw name never reaches the HTML');
    assert.ok(html.includes('&lt;b onmouseover=&quot;x&quot;&gt;&amp;&#39;.txt'), 'the name is escaped');
    assert.ok(html.includes(`href="${encodeURIComponent(NAMES.hostile).replace(/'/g, '%27')}"`) || html.includes(`href="${encodeURIComponent(NAMES.hostile)}"`));
    assert.ok(!html.includes('.dotfile'));
    const rootListing = await fetchOnce(srvNoList.port, request('/no-index/'));
    assert.equal(rootListing.status, 404, 'listing off → 404');
  });

  test('listing links work: the escaped href fetches the hostile-named file', async () => {
    const res = await fetchOnce(srv.port, request('/no-index' + enc(NAMES.hostile).replace(/'/g, '%27')));
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hostile name\n');
  });

  test('with dotfiles on: dotfiles listed and served, .git never', async () => {
    const listing = (await fetchOnce(srvDot.port, request('/no-index/'))).body.toString();
    assert.ok(listing.includes('.dotfile'));
    assert.ok(!listing.includes('.git'), '.git never listed');
    assert.ok(!(await fetchOnce(srv.port, request('/no-index/'))).body.toString().includes('.git'));
    for (const [target, body] of [['/.env', 'DOTENV=1\n'], ['/.hidden/x.txt', 'hidden x\n'], ['/no-index/.dotfile', 'dot\n']] as const) {
      const res = await fetchOnce(srvDot.port, request(target));
      assert.equal(res.status, 200, target);
      assert.equal(res.body.toString(), body);
    }
    for (const target of ['/.git/config', '/.git/', '/.GIT/config']) {
      const res = await fetchOnce(srvDot.port, request(target));
      assert.equal(res.status, 404, target);
      assert.ok(!res.body.toString().includes('[core]'));
    }
  });

  test('.well-known/security.txt is served with dotfiles off', async () => {
    const res = await fetchOnce(srv.port, request('/.well-known/security.txt'));
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /^Contact:/);
    // Only a leading .well-known is special.
    assert.equal((await fetchOnce(srv.port, request('/with-index/.well-known/security.txt'))).status, 404);
  });

  test('unicode, space and % names via percent-encoded requests', async () => {
    const cases: Array<[string, string]> = [
      [NAMES.unicodeTxt, 'unicode file\n'],
      [NAMES.japaneseHtml, '<p>日本語</p>\n'],
      [NAMES.withSpace, 'space file\n'],
      [NAMES.percent, 'percent file\n'],
    ];
    for (const [name, body] of cases) {
      const res = await fetchOnce(srv.port, request(enc(name)));
      assert.equal(res.status, 200, name);
      assert.equal(res.body.toString('utf8'), body, name);
    }
    // The listing links to them in the same encoding.
    const listing = (await fetchOnce(srv.port, request('/'))).body.toString('utf8');
    assert.ok(listing.length > 0);
  });

  test('a symlink inside the root is served; one leading out is served only with followSymlinks', async () => {
    assert.equal((await fetchOnce(srv.port, request('/hello-link.txt'))).status, 200);
    const refused = await fetchOnce(srv.port, request('/escape'));
    assert.equal(refused.status, 404);
    // The log's note names the flag and the setting that change it, not the option's key alone (helper-151).
    const note = [...srv.records].reverse().find((r) => r.target === '/escape')?.note ?? '';
    assert.match(note, /followSymlinks is off: --follow-symlinks, porthole\.followSymlinks/);
    const out = await fetchOnce(srvFollow.port, request('/escape'));
    assert.equal(out.status, 200);
    assert.ok(out.body.toString().includes(site.secret));
  });
});

describe('traversal', () => {
  const H = 'Host: 127.0.0.1';
  const payloads: Array<[string, number]> = [
    [`GET /../secret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /%2e%2e/secret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /%2E%2E/secret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /%2e%2e%2fsecret HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /..%2fsecret HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /..%5csecret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /..%5c..%5csecret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /%252e%252e/secret HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /%252e%252e%252fsecret HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /foo%00.txt HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /with-index/../../secret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /./../secret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /../site2/secret.txt HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /%2e%2e/site2/secret.txt HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /../outside/secret.txt HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET http://127.0.0.1/../secret HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET http://127.0.0.1/%2e%2e/site2/secret.txt HTTP/1.1\r\n${H}\r\n\r\n`, 400],
    [`GET /sibling HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /sibling-dir/secret.txt HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /sibling-dir/ HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /escape HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /..;/secret HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET /secret HTTP/1.1\r\n${H}\r\n\r\n`, 404],
    [`GET //secret HTTP/1.1\r\n${H}\r\n\r\n`, 404],
  ];
  for (const [raw, status] of payloads) {
    const line = raw.slice(0, raw.indexOf('\r\n'));
    test(`${line} → ${status}, and the secret never appears`, async () => {
      for (const port of [srv.port, srvDot.port]) {
        const { response, transcript } = await fetchWithTranscript(port, raw);
        assert.equal(response.status, status);
        assert.ok(!transcript.includes(site.secret), 'secret leaked');
      }
    });
  }

  test('the whole batch pipelined on one socket leaks nothing either', async () => {
    const client = await RawClient.connect(srv.port);
    try {
      await client.write(payloads.map(([raw]) => raw).join(''));
      const responses = await client.readResponses(payloads.length);
      assert.deepEqual(
        responses.map((r) => r.status),
        payloads.map(([, s]) => s),
      );
      assert.ok(!client.transcriptText().includes(site.secret));
    } finally {
      client.destroy();
    }
  });
});
