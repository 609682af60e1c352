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
import { RawClient, fetchOnce, request } from './raw-client';

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
 * Saves `path` with each of `versions` in turn, in another process (so this one's event loop, the
 * server's, is not blocked), for `ms` at most; resolves when it has stopped. `in-place`: rewritten
 * (truncated, then written); `atomic`: written to a temporary name beside it, then renamed over
 * it, as editors save.
 */
function saveFor(path: string, versions: readonly string[], ms: number, save: 'in-place' | 'atomic'): { readonly done: Promise<void> } {
  const target = JSON.stringify(path);
  const tmp = JSON.stringify(`${path}.tmp~`);
  const once = save === 'in-place' ? `fs.writeFileSync(${target}, data)` : `fs.writeFileSync(${tmp}, data); fs.renameSync(${tmp}, ${target})`;
  const script = `const fs = require('fs'); const v = JSON.parse(process.argv[1]); const end = Date.now() + ${ms};
    for (let i = 0; Date.now() < end && i < 1e6; i++) { const data = v[i % v.length]; ${once}; }`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify(versions)], { stdio: 'ignore' });
  return { done: new Promise((resolve) => child.once('exit', () => resolve())) };
}

/** A page's live-reload tag with its generation (which every save moves on) made constant. */
const steadyTag = (body: string): string => body.replace(/data-porthole-generation="\d+"/, 'data-porthole-generation="*"');

/**
 * Asks for `name` over and over while another process saves it with each of `versions` in turn
 * (`save`: in place, or atomically), for 2 s at most. Each answer must be one whole version (as
 * `exact` has it, when given: the page with its tag where that version takes it), an empty file
 * for an in-place save, or a 503 with Retry-After; returns what was seen, counted.
 */
async function askWhileRewritten(
  name: string,
  versions: readonly string[],
  headers: readonly string[],
  method = 'GET',
  save: 'in-place' | 'atomic' = 'in-place',
  exact?: readonly string[],
  clients = 1,
): Promise<Map<string, number>> {
  const path = join(root, name);
  await writeFile(path, versions[0] ?? '');
  const writer = saveFor(path, versions, 2_000, save);
  const seen = new Map<string, number>();
  let stop = false;
  void writer.done.then(() => (stop = true));
  // `clients` connections asking at once: two requests for the same version in flight together.
  const ask = async (): Promise<void> => {
    let client = await RawClient.connect(running.port);
    client.noTranscript();
    try {
      for (let i = 0; i < 2_000 && !stop; i++) {
        await client.write(request(`/${name}`, { method, headers }));
        const res = await client.readResponse({ head: method === 'HEAD' });
        const body = res.body.toString('latin1');
        let kind: string;
        if (res.status === 503) {
          assert.match(res.header('retry-after') ?? '', /^[12]$/);
          kind = '503';
        } else {
          assert.equal(res.status, 200, `${method} /${name} #${i}: ${res.status} ${body.slice(0, 80)}`);
          if (method === 'HEAD') kind = `200 ${res.header('content-length') ?? '?'}`;
          else {
            // The page's live-reload tag taken out; an empty file is a state it has too (truncated).
            const text = body.replace(/<script [^>]*data-porthole-client[^>]*><\/script>/, '');
            const version = text === '' ? -2 : versions.indexOf(text);
            assert.ok(version !== -1, `${method} /${name} #${i}: a body that is no one version (${body.length} bytes)`);
            if (exact !== undefined && version >= 0) {
              assert.equal(steadyTag(body), exact[version], `${method} /${name} #${i}: version ${version} with its tag elsewhere`);
            }
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
    }
  };
  try {
    await Promise.all(Array.from({ length: clients }, ask));
  } finally {
    stop = true;
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

/** Two versions of a page of the same length whose tags go to different places (head and body end alike). */
function sameSizePages(): [string, string] {
  const a = `<!DOCTYPE html><!--${'x'.repeat(10)}--><html><head><title>t</title></head><body><p>${'a'.repeat(60)}</p></body></html>\n`;
  const b = `<!DOCTYPE html><!--${'x'.repeat(40)}--><html><head><title>t</title></head><body><p>${'a'.repeat(10)}</p></body></html><!--${'z'.repeat(13)}-->\n`;
  assert.equal(a.length, b.length);
  return [a, b];
}

const NAVIGATION = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate'];

/** Each version as the server injects it when it is left alone (the tag's generation made constant). */
async function injectedAlone(name: string, versions: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const v of versions) {
    await writeFile(join(root, name), v);
    const res = await fetchOnce(running.port, request(`/${name}`, { headers: NAVIGATION }));
    assert.equal(res.status, 200);
    out.push(steadyTag(res.body.toString('latin1')));
  }
  assert.notEqual(out[0]?.indexOf('data-porthole-client'), out[1]?.indexOf('data-porthole-client'), 'the tags go to different places');
  return out;
}

test('a page rewritten in place with versions of the same length: every 200 has the tag where its own version takes it', async () => {
  const versions = sameSizePages();
  const exact = await injectedAlone('same-size.html', versions);
  const seen = await askWhileRewritten('same-size.html', versions, NAVIGATION, 'GET', 'in-place', exact, 8);
  assert.ok([...seen.keys()].some((k) => k.startsWith('200 v')), JSON.stringify([...seen]));
});

test('a file saved atomically (a temporary renamed over it) while asked for: one whole version or 503, never 404', async () => {
  const seen = await askWhileRewritten('atomic.txt', ['a'.repeat(3_000), 'b'.repeat(9_000)], [], 'GET', 'atomic');
  assert.ok([...seen.keys()].some((k) => k.startsWith('200 v')), JSON.stringify([...seen]));
});

test('a page saved atomically while asked for: one whole version with its tag in place, or 503, never 404', async () => {
  const versions = sameSizePages();
  const exact = await injectedAlone('atomic.html', versions);
  const seen = await askWhileRewritten('atomic.html', versions, NAVIGATION, 'GET', 'atomic', exact, 8);
  assert.ok([...seen.keys()].some((k) => k.startsWith('200 v')), JSON.stringify([...seen]));
});
