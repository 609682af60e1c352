/**
 * Encoded separators over TCP (issue 11, item 3): `%2F` is data inside one path segment
 * (RFC 3986 §2.2), never a separator, on every path that decodes a request target: the static
 * files, and live reload's page filter (navigations). `%5C` and encoded NUL are refused. The file
 * the split path would name must never appear in an answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { fetchWithTranscript, request } from './raw-client';

const INNER = 'INNER-FILE-foo-slash-bar';
const LITERAL = 'literal name with a percent-2F in it';
const NAV = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];

let root: string;
let plain: Running;
let live: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-sep-'));
  await mkdir(join(root, 'foo'));
  await writeFile(join(root, 'foo', 'bar.txt'), `${INNER}\n`);
  await writeFile(join(root, 'foo', 'page.html'), `<!doctype html><title>x</title><p>${INNER}</p>\n`);
  // A file whose name really is `foo%2Fbar.txt` (a `%` is legal in a name): reached by `%252F`.
  await writeFile(join(root, 'foo%2Fbar.txt'), `${LITERAL}\n`);
  plain = await startServer({ root, reload: { enabled: false } });
  live = await startServer({ root, reload: { enabled: true } });
});

after(async () => {
  await Promise.all([plain.close(), live.close()]);
  await rm(root, { recursive: true, force: true });
});

describe('an encoded slash never splits a segment', () => {
  const cases: Array<[string, number]> = [
    ['/foo%2Fbar.txt', 404],
    ['/foo%2fbar.txt', 404],
    ['/%2Ffoo/bar.txt', 404],
    ['/foo%2F', 404],
    ['/foo%2Fpage.html', 404],
    ['/foo%2F%2E%2E%2Ffoo%2Fbar.txt', 404],
    ['/foo%5Cbar.txt', 400],
    ['/foo%5cbar.txt', 400],
    ['/foo%00/bar.txt', 400],
    ['/foo/bar.txt%00', 400],
  ];
  for (const [target, status] of cases) {
    test(`${target} → ${status}, for a plain and a navigation request, and foo/bar.txt never appears`, async () => {
      for (const srv of [plain, live]) {
        for (const headers of [[], NAV]) {
          const { response, transcript } = await fetchWithTranscript(srv.port, request(target, { headers: [...headers, 'Connection: close'] }));
          assert.equal(response.status, status, `${target} ${headers.join(',')}`);
          assert.ok(!transcript.includes(INNER), `${target}: the file named by the split path leaked`);
          // helper-50: the 404 page said "no file at /foo/bar.txt", a path that exists.
          if (status === 404) assert.doesNotMatch(transcript, /no file at <code>\/foo\/bar\.txt<\/code>/, `${target}: the 404 page names the split path`);
        }
      }
    });
  }

  test('the 404 says why in the request record', async () => {
    const before = plain.records.length;
    await fetchWithTranscript(plain.port, request('/foo%2Fbar.txt', { headers: ['Connection: close'] }));
    const record = plain.records.slice(before).find((r) => r.status === 404);
    assert.match(record?.note ?? '', /encoded slash/);
  });

  test('the unsplit paths still work: foo/bar.txt, and the file literally named foo%2Fbar.txt via %252F', async () => {
    for (const srv of [plain, live]) {
      const inner = await fetchWithTranscript(srv.port, request('/foo/bar.txt', { headers: ['Connection: close'] }));
      assert.equal(inner.response.status, 200);
      assert.equal(inner.response.body.toString(), `${INNER}\n`);
      const literal = await fetchWithTranscript(srv.port, request('/foo%252Fbar.txt', { headers: ['Connection: close'] }));
      assert.equal(literal.response.status, 200);
      assert.equal(literal.response.body.toString(), `${LITERAL}\n`);
      // Dot segments still resolve after an encoded slash that is dropped with its segment.
      const back = await fetchWithTranscript(srv.port, request('/x%2Fy/../foo/bar.txt', { headers: ['Connection: close'] }));
      assert.equal(back.response.status, 200);
    }
  });
});
