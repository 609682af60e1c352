// Console forwarding in headless Chromium against the built CLI (`--console`):
//   npm run build && node --test test/live-reload/console-browser.test.mjs
// A page calls console.error with a circular object and an Error, logs, rejects a promise and
// throws; the CLI prints the errors with the line and column the browser itself reports, and not
// the log line (errors mode). The page's console keeps working (same output, same return value).
// With --console off the page's console is not touched at all. A script in <head> that fails while
// the page loads is reported too (forwarding on: the client is the head's first script); with
// --console off the client stays before </body>. Every wait is bounded.
/* global window, document -- used inside page callbacks, which run in the page */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, startCli } from '../browser/chromium.mjs';

const TEST_TIMEOUT_MS = 60_000;
const WAIT_MS = 15_000;

// The page's script: everything happens on `load`, after the live-reload client (injected at the
// end of <body>) has hooked the console.
const APP = `window.addEventListener('load', function () {
  const loop = { name: 'loop', list: [1, 'two', null] };
  loop.self = loop;
  window.returned = console.error('circular', loop, new RangeError('inner'));
  console.log('a log line, not forwarded in errors mode');
  Promise.reject(new Error('nope'));
  setTimeout(function later() {
    throw new TypeError('thrown later');
  }, 0);
});
`;

// A page whose own script in <head> fails while the page loads (before <body> exists).
const EARLY_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>early</title>
<script>console.error('early'); undefinedFunction();</script>
</head><body><p>early</p></body></html>
`;

/** 1-based line and column of the first `needle` in `text` (APP by default). */
function positionOf(needle, text = APP) {
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  assert.ok(line >= 0, needle);
  return { line: line + 1, column: (lines[line] ?? '').indexOf(needle) + 1 };
}

/** @type {string} */
let site;
/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  site = await mkdtemp(path.join(tmpdir(), 'porthole-console-'));
  await writeFile(path.join(site, 'index.html'), '<!doctype html>\n<html><head><meta charset="utf-8"><title>console</title></head>\n<body><p>console</p><script src="app.js"></script></body></html>\n');
  await writeFile(path.join(site, 'app.js'), APP);
  await writeFile(path.join(site, 'early.html'), EARLY_PAGE);
  await writeFile(path.join(site, 'favicon.ico'), '');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (site !== undefined) await rm(site, { recursive: true, force: true });
});

/**
 * Polls the CLI's output until `pred` holds for some line (bounded).
 * @param {string[]} lines
 * @param {(line: string) => boolean} pred
 * @param {string} what
 */
async function lineWhere(lines, pred, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const i = lines.findIndex(pred);
    if (i >= 0) return i;
    if (Date.now() > deadline) throw new Error(`no ${what} in the CLI's output:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('errors mode: console.error, the uncaught error and the rejection are printed with their line and column; console.log is not', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cli = await startCli([site, '--port', '0', '--quiet', '--no-host-names', '--console', 'errors']);
  const context = await browser.newContext();
  try {
    await lineWhere(cli.stdoutLines, (l) => l.startsWith("Console: pages' errors"), 'the banner\'s Console line');
    const tab = await context.newPage();
    /** @type {string[]} */
    const seen = [];
    tab.on('console', (m) => seen.push(`${m.type()} ${m.text()}`));
    await tab.goto(cli.url, { waitUntil: 'load' });
    const page = cli.url;
    const call = positionOf('error(');
    const thrown = positionOf('new TypeError');
    const first = await lineWhere(cli.stdoutLines, (l) => l.startsWith('console.error '), 'console.error line');
    assert.equal(
      cli.stdoutLines[first],
      `console.error 127.0.0.1 ${page}: circular {name: "loop", list: [1, "two", null], self: [Circular]} RangeError: inner (${page}app.js:${call.line}:${call.column})`,
    );
    assert.equal(cli.stdoutLines[first + 1], '    RangeError: inner');
    const uncaught = await lineWhere(cli.stdoutLines, (l) => l.startsWith('uncaught error '), 'uncaught error line');
    assert.equal(cli.stdoutLines[uncaught], `uncaught error 127.0.0.1 ${page}: Uncaught TypeError: thrown later (${page}app.js:${thrown.line}:${thrown.column})`);
    assert.equal(cli.stdoutLines[uncaught + 2], `    at later (${page}app.js:${thrown.line}:${thrown.column})`);
    const rejection = await lineWhere(cli.stdoutLines, (l) => l.startsWith('unhandled rejection '), 'unhandled rejection line');
    assert.equal(cli.stdoutLines[rejection], `unhandled rejection 127.0.0.1 ${page}: Uncaught (in promise) Error: nope`);
    // The page's own console got every call, with its return value (undefined) unchanged.
    assert.ok(seen.some((s) => s.startsWith('error circular')), seen.join('\n'));
    assert.ok(seen.includes('log a log line, not forwarded in errors mode'), seen.join('\n'));
    assert.equal(await tab.evaluate(() => String(window.returned)), 'undefined');
    // A later console.error (a round trip through the server) comes after everything above: the log line never came.
    await tab.evaluate(() => console.error('the last one'));
    await lineWhere(cli.stdoutLines, (l) => l.endsWith(`${page}: the last one`), 'the last line');
    assert.ok(!cli.stdoutLines.some((l) => l.includes('a log line')), cli.stdoutLines.join('\n'));
  } finally {
    await context.close();
    await cli.stop();
  }
});

test("all mode: a logged object's getters are never run by the forwarding (the page's state stays its own); they show as [Getter]", { timeout: TEST_TIMEOUT_MS }, async () => {
  await writeFile(
    path.join(site, 'getters.html'),
    `<!doctype html><meta charset="utf-8"><title>getters</title><script>
window.reads = 0;
const lazy = { id: 7, get data() { window.reads += 1; return 'computed'; }, set only(v) { window.reads += 100; } };
Object.defineProperty(lazy, 'both', { enumerable: true, get() { window.reads += 10; return 1; }, set(v) {} });
const list = [1];
Object.defineProperty(list, '1', { enumerable: true, get() { return 2; } });
console.log('lazy', lazy, list);
console.error('nested', { inner: lazy });
</script>\n`,
  );
  const cli = await startCli([site, '--port', '0', '--quiet', '--no-host-names', '--console', 'all']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${cli.url}getters.html`, { waitUntil: 'load' });
    const page = `${cli.url}getters.html`;
    const logged = await lineWhere(cli.stdoutLines, (l) => l.startsWith('console.log '), 'console.log line');
    assert.equal(
      cli.stdoutLines[logged],
      `console.log 127.0.0.1 ${page}: lazy {id: 7, data: [Getter], only: [Setter], both: [Getter/Setter]} [1, [Getter]]`,
    );
    const nested = await lineWhere(cli.stdoutLines, (l) => l.startsWith('console.error '), 'console.error line');
    assert.ok(cli.stdoutLines[nested].includes(': nested {inner: {id: 7, data: [Getter], only: [Setter], both: [Getter/Setter]}}'), cli.stdoutLines[nested]);
    // (The array's getter is not counted: the DevTools protocol's own preview of a logged array
    // runs it; the line above shows the forwarding did not.)
    assert.equal(await tab.evaluate(() => window.reads), 0, 'no getter of the page ran');
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('--console off: the page\'s console is not wrapped and nothing is printed', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cli = await startCli([site, '--port', '0', '--quiet', '--console', 'off']);
  const context = await browser.newContext();
  try {
    assert.ok(!cli.stdoutLines.some((l) => l.startsWith('Console:')), cli.stdoutLines.join('\n'));
    const tab = await context.newPage();
    await tab.goto(cli.url, { waitUntil: 'load' });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    assert.match(await tab.evaluate(() => Function.prototype.toString.call(console.error)), /\[native code\]/);
    await tab.evaluate(() => console.error('not forwarded'));
    // A reload event round trip shows the channel is alive: then nothing was printed for the page.
    await writeFile(path.join(site, 'app.js'), APP);
    await tab.waitForEvent('load', { timeout: WAIT_MS });
    assert.ok(!cli.stdoutLines.some((l) => /^(console\.|uncaught|unhandled)/.test(l)), cli.stdoutLines.join('\n'));
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('errors mode: a <head> script that fails while the page loads is reported (console.error and the uncaught error, with their line)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cli = await startCli([site, '--port', '0', '--quiet', '--no-host-names', '--console', 'errors']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const page = `${cli.url}early.html`;
    await tab.goto(page, { waitUntil: 'load' });
    // The client is the head's first script, right after the charset declaration.
    assert.deepEqual(
      await tab.evaluate(() => [...document.head.children].slice(0, 3).map((e) => e.tagName + (e.hasAttribute('data-porthole-client') ? ' client' : ''))),
      ['META', 'SCRIPT client', 'TITLE'],
    );
    const call = positionOf('error(', EARLY_PAGE);
    const thrown = positionOf('undefinedFunction', EARLY_PAGE);
    const first = await lineWhere(cli.stdoutLines, (l) => l.startsWith('console.error '), 'console.error line');
    assert.equal(cli.stdoutLines[first], `console.error 127.0.0.1 ${page}: early (${page}:${call.line}:${call.column})`);
    const uncaught = await lineWhere(cli.stdoutLines, (l) => l.startsWith('uncaught error '), 'uncaught error line');
    assert.equal(
      cli.stdoutLines[uncaught],
      `uncaught error 127.0.0.1 ${page}: Uncaught ReferenceError: undefinedFunction is not defined (${page}:${thrown.line}:${thrown.column})`,
    );
    // The page still works with the client in its head: a change of the site reloads it.
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    const reloaded = tab.waitForEvent('load', { timeout: WAIT_MS });
    await writeFile(path.join(site, 'early.html'), EARLY_PAGE);
    await reloaded;
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('--console off: the client stays before </body>', { timeout: TEST_TIMEOUT_MS }, async () => {
  const cli = await startCli([site, '--port', '0', '--quiet', '--console', 'off']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${cli.url}early.html`, { waitUntil: 'load' });
    assert.equal(await tab.evaluate(() => document.head.querySelector('script[data-porthole-client]')), null);
    assert.equal(await tab.evaluate(() => document.body.lastElementChild?.hasAttribute('data-porthole-client')), true);
  } finally {
    await context.close();
    await cli.stop();
  }
});

test("errors mode: a first string's format specifiers take the arguments after it, as the browser's console shows them", { timeout: TEST_TIMEOUT_MS }, async () => {
  // React's warnings and most libraries log 'text %s', value: forwarded as the format string with
  // the values after it, every line read 'Failed to load %s /x' and '%c' styles showed as CSS text.
  await writeFile(
    path.join(site, 'format.html'),
    `<!doctype html><meta charset="utf-8"><title>format</title><script>
const shy = { toString() { return '7'; } };
console.error('Failed to load %s (%d tries, %i left, %f) %o %O', '/x.json', 3.7, '12px', '1.5', 'str', { a: 1 }, 'extra', 8);
console.error('%cStyled%c plain', 'color: red; font-weight: bold', 'color: inherit');
console.error('%d of %s and %s', shy, 'one');
console.error('100% sure', 1);
</script>\n`,
  );
  const cli = await startCli([site, '--port', '0', '--quiet', '--no-host-names', '--console', 'errors']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${cli.url}format.html`, { waitUntil: 'load' });
    const page = `${cli.url}format.html`;
    await lineWhere(cli.stdoutLines, (l) => l.includes(': 100% sure 1'), 'the last line');
    const texts = cli.stdoutLines.filter((l) => l.startsWith('console.error ')).map((l) => l.slice(`console.error 127.0.0.1 ${page}: `.length).replace(/ \(http:\S+\)$/, ''));
    assert.deepEqual(texts, [
      'Failed to load /x.json (3 tries, 12 left, 1.5) "str" {a: 1} extra 8',
      'Styled plain',
      // An object under %d is NaN, never its toString run (that gave 7); a specifier with no
      // argument left stays as written.
      'NaN of one and %s',
      '100% sure 1',
    ]);
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('errors mode: a Date, a RegExp, a Map and a Set are shown with what they hold, not as {}', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Their meaning is in internal slots, not own keys: 'expired at', new Date() was forwarded as
  // 'expired at {}', a Map of 2 entries as {}.
  await writeFile(
    path.join(site, 'builtins.html'),
    `<!doctype html><meta charset="utf-8"><title>builtins</title><script>
const when = new Date(86400000);
window.dateText = String(when);
const big = new Set();
for (let i = 0; i < 25; i++) big.add(i);
console.error('values', when, new Date(NaN), /a+b/gi, new Map([['k', { x: 1 }], [2, [3]]]), new Set(['s', 1]));
console.error('nested', { at: when, seen: new Set([new Map()]) }, big);
</script>\n`,
  );
  const cli = await startCli([site, '--port', '0', '--quiet', '--no-host-names', '--console', 'errors']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${cli.url}builtins.html`, { waitUntil: 'load' });
    const page = `${cli.url}builtins.html`;
    const dateText = await tab.evaluate(() => window.dateText);
    await lineWhere(cli.stdoutLines, (l) => l.includes(': nested '), 'the nested line');
    const texts = cli.stdoutLines.filter((l) => l.startsWith('console.error ')).map((l) => l.slice(`console.error 127.0.0.1 ${page}: `.length).replace(/ \(http:\S+\)$/, ''));
    const items = Array.from({ length: 20 }, (_, i) => String(i)).join(', ');
    assert.deepEqual(texts, [
      `values ${dateText} Invalid Date /a+b/gi Map(2) {"k" => {x: 1}, 2 => [3]} Set(2) {"s", 1}`,
      `nested {at: ${dateText}, seen: Set(1) {Map(0) {}}} Set(25) {${items}, … 5 more}`,
    ]);
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('errors mode: a message longer than the page\'s cut says how much more there was (helper-170: cut at exactly 2,000 characters, silently)', { timeout: TEST_TIMEOUT_MS }, async () => {
  await writeFile(
    path.join(site, 'long.html'),
    `<!doctype html><meta charset="utf-8"><title>long</title><script>
console.error('E'.repeat(2100));
console.error('two', 'y'.repeat(2500));
throw new Error('z'.repeat(3000));
</script>\n`,
  );
  const cli = await startCli([site, '--port', '0', '--quiet', '--no-host-names', '--console', 'errors']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${cli.url}long.html`, { waitUntil: 'load' });
    const page = `${cli.url}long.html`;
    await lineWhere(cli.stdoutLines, (l) => l.includes('Uncaught') || l.includes('zzz'), 'the uncaught error');
    await lineWhere(cli.stdoutLines, (l) => l.includes(': two '), 'the second message');
    const texts = cli.stdoutLines.filter((l) => l.includes(page) && /E{100}|y{100}|z{100}/.test(l)).map((l) => l.slice(l.indexOf(`${page}: `) + page.length + 2).replace(/ \(http:\S+\)$/, ''));
    assert.equal(texts.length, 3, texts.join('\n'));
    for (const [text, letter, total, before] of [
      [texts.find((t) => t.startsWith('E')), 'E', 2100, ''],
      [texts.find((t) => t.startsWith('two')), 'y', 2500, 'two '],
      [texts.find((t) => t.includes('zzz')), 'z', 3000, undefined],
    ]) {
      assert.ok(text !== undefined, letter);
      const m = new RegExp(`(${letter}+) … \\((\\d+) more characters\\)$`).exec(text);
      assert.ok(m, `${letter}: the cut says so: ${text.slice(-80)}`);
      assert.ok(text.length <= 2000 + 80, `${letter}: still cut (${text.length})`);
      if (before !== undefined) assert.ok(text.startsWith(before), text.slice(0, 40));
      // The letters shown and the count it gives add up to the letters the page logged.
      assert.equal(m[1].length + Number(m[2]), total, `${letter}: ${m[1].length} shown + ${m[2]} more = ${total}`);
    }
  } finally {
    await context.close();
    await cli.stop();
  }
});

test('errors mode: a typed array and an ArrayBuffer are shown with their elements and length, not as their index keys or {}', { timeout: TEST_TIMEOUT_MS }, async () => {
  await writeFile(
    path.join(site, 'binary.html'),
    `<!doctype html><meta charset="utf-8"><title>binary</title><script>
console.error('bytes', new Uint8Array([1, 2, 255]), new Float64Array([0.5]), new BigInt64Array([7n]), new ArrayBuffer(8), new Uint16Array(30));
</script>\n`,
  );
  const cli = await startCli([site, '--port', '0', '--quiet', '--no-host-names', '--console', 'errors']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${cli.url}binary.html`, { waitUntil: 'load' });
    const page = `${cli.url}binary.html`;
    const at = await lineWhere(cli.stdoutLines, (l) => l.includes(': bytes '), 'the bytes line');
    const zeros = Array.from({ length: 20 }, () => '0').join(', ');
    assert.equal(
      cli.stdoutLines[at].slice(`console.error 127.0.0.1 ${page}: `.length).replace(/ \(http:\S+\)$/, ''),
      `bytes Uint8Array(3) [1, 2, 255] Float64Array(1) [0.5] BigInt64Array(1) [7n] ArrayBuffer {byteLength: 8} Uint16Array(30) [${zeros}, … 10 more]`,
    );
  } finally {
    await context.close();
    await cli.stop();
  }
});

test("the client script names its source map, which puts it on DevTools' ignore list: a page's console.error is placed at the page's line, not the wrapper's (helper-151)", { timeout: TEST_TIMEOUT_MS }, async () => {
  // Before: the wrapper's frame (client.js:657) was the place DevTools named for every console
  // message of the page. DevTools leaves out frames of a source its map ignore-lists.
  const cli = await startCli([site, '--port', '0', '--quiet']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const cdp = await context.newCDPSession(tab);
    /** @type {Array<{ url: string, sourceMapURL?: string }>} */
    const scripts = [];
    /** @type {Array<{ url: string, lineNumber: number }>} */
    let errorFrames = [];
    cdp.on('Debugger.scriptParsed', (e) => scripts.push(e));
    cdp.on('Runtime.consoleAPICalled', (e) => {
      if (e.type === 'error' && errorFrames.length === 0) errorFrames = e.stackTrace?.callFrames ?? [];
    });
    await cdp.send('Debugger.enable');
    await cdp.send('Runtime.enable');
    await tab.goto(`${cli.url}index.html`, { waitUntil: 'load', timeout: WAIT_MS });
    await tab.waitForFunction(() => 'returned' in window, undefined, { timeout: WAIT_MS });
    const client = scripts.find((s) => s.url.startsWith('http') && new URL(s.url).pathname === '/__porthole/client.js');
    assert.ok(client, scripts.map((s) => s.url).join(', '));
    assert.equal(client.sourceMapURL, 'client.js.map');
    const mapUrl = new URL(client.sourceMapURL, client.url).href;
    const { map, script } = await tab.evaluate(
      async ([m, s]) => ({ map: await (await fetch(m)).json(), script: await (await fetch(s)).text() }),
      [mapUrl, client.url],
    );
    assert.equal(map.version, 3);
    assert.deepEqual(map.ignoreList, [0]);
    assert.deepEqual(map.x_google_ignoreList, [0]);
    assert.equal(map.sourcesContent[0], script);
    // Every line of the script maps to the ignored source: the wrapper's frame, wherever it is.
    const lines = map.mappings.split(';');
    assert.equal(lines.length, script.split('\n').length);
    assert.ok(lines.every((segment, i) => segment === (i === 0 ? 'AAAA' : 'AACA')));
    // The console.error's frames: the wrapper's (in the ignored script) first, then the page's own.
    assert.equal(new URL(errorFrames[0]?.url || 'about:blank').pathname, '/__porthole/client.js');
    assert.ok(errorFrames[0].lineNumber < lines.length);
    assert.equal(new URL(errorFrames[1]?.url || 'about:blank').pathname, '/app.js');
    assert.equal((errorFrames[1]?.lineNumber ?? -1) + 1, positionOf("console.error('circular'").line);
  } finally {
    await context.close();
    await cli.stop();
  }
});
