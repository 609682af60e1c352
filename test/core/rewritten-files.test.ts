/**
 * A file rewritten in place while it is asked for (an editor that truncates and writes, as
 * writeFileSync does): every answer is one whole version of it (the empty file between the
 * truncation and the write is one), or a 503 that says to ask again (Retry-After: 1); never a
 * 500 and never a mix of two versions. Before: about one request in ten
 * got `500 The server failed to answer this request.` (a fresh attacker), and a file that grew
 * while read was sent as the first bytes of the new version under the old length.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { RawClient, request } from './raw-client';

let root = '';
let running: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-rewritten-'));
  running = await startServer({ root });
});

after(async () => {
  await running.close();
  await rm(root, { recursive: true, force: true });
});

/**
 * Rewrites `path` in place with each of `versions` in turn, in another process (so this one's
 * event loop, the server's, is not blocked), for `ms` at most; resolves when it has stopped.
 */
function rewriteFor(path: string, versions: readonly string[], ms: number): { readonly done: Promise<void> } {
  const script = `const fs = require('fs'); const v = JSON.parse(process.argv[1]); const end = Date.now() + ${ms};
    for (let i = 0; Date.now() < end && i < 1e6; i++) fs.writeFileSync(${JSON.stringify(path)}, v[i % v.length]);`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(versions)], { stdio: 'ignore' });
  return { done: new Promise((resolve) => child.once('exit', () => resolve())) };
}

async function askWhileRewritten(name: string, versions: readonly string[], headers: readonly string[], method = 'GET'): Promise<Map<string, number>> {
  const path = join(root, name);
  await writeFile(path, versions[0] ?? '');
  const writer = rewriteFor(path, versions, 2_000);
  const seen = new Map<string, number>();
  let client = await RawClient.connect(running.port);
  client.noTranscript();
  let stop = false;
  void writer.done.then(() => (stop = true));
  try {
    for (let i = 0; i < 2_000 && !stop; i++) {
      await client.write(request(`/${name}`, { method, headers }));
      const res = await client.readResponse({ head: method === 'HEAD' });
      const body = res.body.toString('latin1');
      let kind: string;
      if (res.status === 503) {
        assert.equal(res.header('retry-after'), '1');
        kind = '503';
      } else {
        assert.equal(res.status, 200, `${method} /${name} #${i}: ${res.status} ${body.slice(0, 80)}`);
        if (method === 'HEAD') kind = `200 ${res.header('content-length') ?? '?'}`;
        else {
          // The page's live-reload tag taken out; an empty file is a state it has too (truncated).
          const text = body.replace(/<script [^>]*data-porthole-client[^>]*><\/script>/, '');
          const version = text === '' ? -2 : versions.indexOf(text);
          assert.ok(version !== -1, `${method} /${name} #${i}: a body that is no one version (${body.length} bytes)`);
          kind = version === -2 ? '200 empty' : `200 v${version}`;
        }
      }
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      if (client.ended) {
        client.destroy();
        client = await RawClient.connect(running.port);
        client.noTranscript();
      }
    }
  } finally {
    client.destroy();
    await writer.done;
  }
  return seen;
}

test('a small file rewritten in place, shorter and longer in turn: each answer one whole version or 503', async () => {
  const seen = await askWhileRewritten('data.txt', ['a'.repeat(3_000), 'b'.repeat(9_000), 'c'.repeat(500)], []);
  assert.ok([...seen.keys()].some((k) => k.startsWith('200')), JSON.stringify([...seen]));
});

test('HEAD of a file rewritten in place: 200 or 503, never 500', async () => {
  const seen = await askWhileRewritten('head.txt', ['a'.repeat(3_000), 'b'.repeat(9_000)], [], 'HEAD');
  assert.ok([...seen.keys()].some((k) => k.startsWith('200')), JSON.stringify([...seen]));
});

test('a page (live-reload tag injected) rewritten in place: each answer one whole version or 503', async () => {
  const page = (fill: string, n: number): string => `<!DOCTYPE html><title>t</title><p>${fill.repeat(n)}</p>\n`;
  const seen = await askWhileRewritten('page.html', [page('a', 3_000), page('b', 9_000)], ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate']);
  assert.ok([...seen.keys()].some((k) => k.startsWith('200')), JSON.stringify([...seen]));
});
