/**
 * Pages are planned (parsed to place the live-reload tag) off the server's thread, each within
 * PLAN_TIME_LIMIT_MS: a page whose parse is pathological (deep nesting) never stalls other
 * requests, and is served as it is, with the reason in its log note. Over raw TCP, a real server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreviewServer } from '../../src/core/server/server';
import type { RequestRecord } from '../../src/core/http/request-record';
import { MAX_WAITING_PLANS, PLAN_TIME_LIMIT_MS, PLAN_WAIT_LIMIT_MS } from '../../src/core/reload/page-planner';
import { planPage } from '../../src/core/reload/live-reload-inject';
import { MAX_INJECT_BYTES } from '../../src/core/reload/live-reload-pages';

const NAV = 'Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nAccept: text/html\r\n';

let root: string;
let server: PreviewServer;
let port: number;
const records: RequestRecord[] = [];

/** One request on its own connection; resolves with the status and body once the server closes. */
function get(path: string, extra = ''): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      resolve({ status: Number(all.subarray(0, split).toString('latin1').split(' ')[1]), body: all.subarray(split + 4) });
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: close\r\n\r\n`);
  });
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-planner-'));
  // 200,000 nested elements (1 MB): parse5's tree construction is quadratic in the depth here
  // (almost five minutes on the server's thread before the planner thread).
  await writeFile(join(root, 'nested.html'), `<!doctype html><title>n</title><body>${'<div>'.repeat(200_000)}`);
  // Formatting elements that the adoption agency keeps reopening: as slow, another shape.
  await writeFile(join(root, 'formatting.html'), `<!doctype html><body>${'<a><b><i><u><s>x</a>'.repeat(50_000)}`);
  await writeFile(join(root, 'a.txt'), 'a\n');
  server = new PreviewServer();
  server.on('request', (r) => records.push(r));
  // The tag before `</body>` (console forwarding off): each page is parsed whole, so these slow
  // pages are slow to plan. In the head (the default), a long page is parsed only up to its body's
  // start (the last test).
  port = (await server.listen({ root, port: 0, resolveHostNames: false, consoleForward: 'off' })).port;
});

after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

for (const name of ['nested.html', 'formatting.html']) {
  test(`${name}: other requests are answered while it is planned; then it is served as it is, with the reason`, async () => {
    const order: string[] = [];
    const page = get(`/${name}`, NAV).then((r) => {
      order.push('page');
      return r;
    });
    // Requests made while the page is being planned: each answered before the page.
    for (let i = 0; i < 3; i++) {
      const other = await get('/a.txt');
      assert.equal(other.status, 200);
      order.push('a.txt');
    }
    const answer = await page;
    assert.deepEqual(order, ['a.txt', 'a.txt', 'a.txt', 'page']);
    assert.equal(answer.status, 200);
    assert.ok(answer.body.equals(await readFile(join(root, name))), 'the page as it is on disk, no tag');
    // The planner thread that ran out of time was ended; the next page gets a new one.
    await writeFile(join(root, `plain-${name}`), '<!doctype html><title>p</title><body><p>plain</p></body>');
    const injected = await get(`/plain-${name}`, NAV);
    assert.match(injected.body.toString(), /data-porthole-client/, 'a page planned after the slow one gets the tag');
    const record = records.find((r) => r.target === `/${name}`);
    assert.match(record?.note ?? '', new RegExp(`could not be parsed within ${PLAN_TIME_LIMIT_MS / 1000} s`));
  });
}

test('slow pages asked for and abandoned do not hold a fresh page: it is answered within the limit, never dropped', async () => {
  // Ten different slow pages, each client gone at once (before: each still planned for 5 s in
  // turn, and a fresh page behind them waited 50 s, dropped by the 30 s write timeout as a 499).
  const slow = Array.from({ length: 10 }, (_, i) => `jam-${i}.html`);
  for (const name of slow) await writeFile(join(root, name), `<!doctype html><body>${'<div>'.repeat(60_000)}${name}`);
  await writeFile(join(root, 'fresh.html'), '<!doctype html><title>f</title><body><p>fresh</p></body>');
  for (const name of slow) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.end(`GET /${name} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${NAV}\r\n`);
    socket.destroy();
  }
  const fresh = await get('/fresh.html', NAV);
  assert.equal(fresh.status, 200);
  assert.match(fresh.body.toString(), /<p>fresh<\/p>/);
  const record = records.filter((r) => r.target === '/fresh.html').at(-1);
  assert.equal(record?.status, 200);
  assert.equal(record?.aborted, false);
  // Waiting behind others says so, and is not kept as the page's plan: asked again, it is injected.
  if (!fresh.body.includes('data-porthole-client')) {
    assert.match(record?.note ?? '', /other pages were being parsed/);
    const again = await get('/fresh.html', NAV);
    assert.match(again.body.toString(), /data-porthole-client/);
  }
});

test('an ordinary page planned while the machine is busy gets the tag: a thread starved of the CPU is not a slow page (Linux)', async (t) => {
  // CI failure (server.test 'at the limit they are injected', 2 of 3 runs under load): a 4 MiB page
  // of text needs about 1 s of CPU to plan; on two busy cores it took 5.7 s, the planner ended it
  // at 5 s, and the page was served without live reload, its plan kept as "too slow" until edited.
  if (process.platform !== 'linux' || spawnSync('taskset', ['-V']).status !== 0) {
    t.skip('needs Linux and taskset');
    return;
  }
  const head = Buffer.from('<!doctype html><html><head><title>big</title></head><body><p>');
  const tail = Buffer.from('</p></body></html>\n');
  const pageOf = (fill: number): Buffer => Buffer.concat([head, Buffer.alloc(MAX_INJECT_BYTES - head.length - tail.length, fill), tail]);
  assert.equal(planPage(pageOf(0x61), '<script data-porthole-client src="/x"></script>', 'head').kind, 'inject');
  // Pages of the same size and shape, each its own content (a plan is kept by content): five to
  // warm the planner thread and measure it, three for the load. All written now, so that none is
  // asked for within the settle window of its write (a second read would count in its duration).
  const warmFills = [0x62, 0x63, 0x64, 0x65, 0x66];
  const busyFills = [0x61, 0x67, 0x68];
  for (const fill of [...warmFills, ...busyFills]) await writeFile(join(root, `big-${fill}.html`), pageOf(fill));
  // The plan's cost on the planner thread itself, warm, with the machine otherwise idle: the
  // duration of the second of two pages in a row that were given the tag (one given up on waited
  // behind a page the test before left). (CI failure: the cost was measured on this thread, and a
  // planner thread started cold under the load below took longer than the load was sized for.)
  let costMs = 0;
  let inRow = 0;
  for (const fill of warmFills) {
    const warm = await get(`/big-${fill}.html`, NAV);
    inRow = warm.body.includes('data-porthole-client') ? inRow + 1 : 0;
    costMs = records.filter((r) => r.target === `/big-${fill}.html`).at(-1)?.durationMs ?? 0;
    if (inRow === 2) break;
  }
  assert.equal(inRow, 2, 'two 4 MiB pages in a row planned on an idle machine, to measure the planner');
  const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'latin1'))?.[1] ?? '0';
  const cpu = allowed.split(',')[0]?.split('-')[0] ?? '0';
  const unpin = (): void => void spawnSync('taskset', ['-a', '-p', '-c', allowed, String(process.pid)]);
  if (spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)]).status !== 0) {
    unpin();
    t.skip('this process cannot be pinned to one CPU');
    return;
  }
  unpin();
  // Busy threads pinned with this process to one CPU, enough for the plan to take about `loadMs`
  // of wall time: 8 s, past PLAN_TIME_LIMIT_MS (5 s) and within PLAN_WAIT_LIMIT_MS (15 s). A load
  // that turned out too light (planned within 5 s: nothing was tested) is doubled, on a new page.
  let loadMs = 8_000;
  for (const fill of busyFills) {
    const threads = Math.max(1, Math.ceil(loadMs / Math.max(100, costMs)) - 1);
    spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)]);
    // Each thread bounded: 40 s.
    const hog = spawn('taskset', ['-c', cpu, process.execPath, '-e', `
      const { Worker } = require('node:worker_threads');
      const spin = 'const end = Date.now() + 40000; while (Date.now() < end);';
      for (let i = 1; i < ${threads}; i++) new Worker(spin, { eval: true });
      eval(spin);`], { stdio: 'ignore' });
    hog.on('error', () => undefined);
    let took = 0;
    let answer: { status: number; body: Buffer };
    try {
      const started = Date.now();
      answer = await get(`/big-${fill}.html`, NAV);
      took = Date.now() - started;
    } finally {
      unpin();
      hog.kill();
    }
    assert.equal(answer.status, 200);
    const note = records.filter((r) => r.target === `/big-${fill}.html`).at(-1)?.note ?? '';
    const detail = `planned in ${took} ms (planner cost ${Math.round(costMs)} ms idle, ${threads} busy threads): ${note}`;
    t.diagnostic(detail);
    if (answer.body.includes('data-porthole-client')) {
      // Past 5 s and still given the tag: the starved planner was waited for. Within 5 s: the
      // load was too light to tell, so again with twice the load.
      if (took > PLAN_TIME_LIMIT_MS) return;
      loadMs *= 2;
      continue;
    }
    // A machine busier still than the load (the planner had less than its share of the CPU for
    // all of PLAN_WAIT_LIMIT_MS): then it must have waited that long, said it was not the page's
    // fault, and not kept that as the page's plan. Judged slow (the fault this test is for), or
    // given up on at PLAN_TIME_LIMIT_MS, fails here.
    assert.ok(took >= PLAN_WAIT_LIMIT_MS - 50, detail);
    assert.match(note, /other pages were being parsed/, detail);
    const again = await get(`/big-${fill}.html`, NAV);
    assert.ok(again.body.includes('data-porthole-client'), `asked again on an idle machine: ${detail}`);
    return;
  }
  assert.fail(`three loads, up to ${loadMs / 2} ms of planning each, never held the planner past ${PLAN_TIME_LIMIT_MS} ms: nothing was tested`);
});

test(`at most ${MAX_WAITING_PLANS} pages wait for the planner: one more is sent as it is at once, saying why`, async () => {
  // README: "At most 16 pages wait (MAX_WAITING_PLANS; more are sent as they are at once)". No
  // test filled the line, so the bound could go or grow unseen.
  await writeFile(join(root, 'hold.html'), `<!doctype html><body>${'<div>'.repeat(60_000)}hold`);
  const pages = Array.from({ length: MAX_WAITING_PLANS + 1 }, (_, i) => `wait-${i}.html`);
  // Each its own content: a plan is kept by content, so none is planned twice.
  for (const name of pages) await writeFile(join(root, name), `<!doctype html><title>${name}</title><body><p>${name}</p></body>`);
  const holding = get('/hold.html', NAV);
  // The slow page goes to the planner thread before the others ask: its file is read and posted
  // within a few milliseconds; a request answered after it and 200 ms more leave it ample time.
  await get('/a.txt?hold');
  await new Promise((r) => setTimeout(r, 200));
  const answers = await Promise.all(pages.map((name) => get(`/${name}`, NAV)));
  await holding;
  for (const a of answers) assert.equal(a.status, 200);
  const notes = pages.map((name) => records.filter((r) => r.target === `/${name}`).at(-1)?.note ?? '');
  const refused = notes.filter((n) => n.includes(`over ${MAX_WAITING_PLANS} pages waiting to be parsed`));
  assert.equal(refused.length, 1, notes.join('\n'));
});

test('with the tag in the head (the default), a long page is parsed only up to its body\'s start: the slow pages above get it at once (helper-139)', async () => {
  // A 2.7 MB report took 0.9-1.5 s to plan on every save; these pages took the whole time limit
  // and were sent without the tag. Their heads are a few bytes long.
  const early = new PreviewServer();
  try {
    const earlyPort = (await early.listen({ root, port: 0, resolveHostNames: false })).port;
    for (const name of ['nested.html', 'formatting.html']) {
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect(earlyPort, '127.0.0.1');
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', reject);
        socket.on('end', () => resolve(Buffer.concat(chunks)));
        socket.write(`GET /${name}?early HTTP/1.1\r\nHost: 127.0.0.1:${earlyPort}\r\n${NAV}Connection: close\r\n\r\n`);
      });
      const text = answer.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 /);
      const tagAt = text.indexOf('data-porthole-client');
      assert.ok(tagAt > 0 && tagAt < text.indexOf('\r\n\r\n') + 200, `${name}: the tag near the page's start`);
    }
  } finally {
    await early.close();
  }
});
