// Live reload on real pages in headless Chromium (Debian's, via playwright-core) against the built
// CLI — issue 11, items 5 to 9: a page whose only </body> is in a script string, twenty tabs of
// one server, stylesheets imported from a <style>, editors' temporary files around a stylesheet
// save, a strict Content-Security-Policy.
//   npm run build && node --test test/live-reload/pages.test.mjs
// Every wait is bounded by Playwright's timeouts or the test timeout; nothing asserts on durations.
/* global window, document, getComputedStyle, requestAnimationFrame, cancelAnimationFrame -- used inside page callbacks, which run in the page */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { launchChromium, startCli } from '../browser/chromium.mjs';

const TEST_TIMEOUT_MS = 90_000;
const WAIT_MS = 15_000;

/** @type {string} */
let site;
/** @type {import('../browser/chromium.mjs').RunningCli} */
let cli;
/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  site = await mkdtemp(path.join(tmpdir(), 'porthole-pages-'));
  await mkdir(path.join(site, 'css'));
  cli = await startCli([site, '--port', '0', '--quiet', '--reload-debounce', '50']);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await cli?.stop();
  if (site !== undefined) await rm(site, { recursive: true, force: true });
});

/**
 * Opens `name` in a fresh tab of `context` and waits until its live-reload channel said hello.
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} name
 */
async function openConnected(context, name) {
  const tab = await context.newPage();
  await tab.goto(`${cli.url}${name}`, { waitUntil: 'load', timeout: WAIT_MS });
  await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  return tab;
}

/**
 * Runs `body` with `name` open in a connected tab of a fresh browser context, closed afterwards.
 * @param {string} name
 * @param {(tab: import('playwright-core').Page) => Promise<void>} body
 */
async function inConnectedTab(name, body) {
  const context = await browser.newContext();
  try {
    await body(await openConnected(context, name));
  } finally {
    await context.close();
  }
}

/**
 * Sets a marker in the page's JavaScript state: gone after a reload, kept by an in-place swap.
 * @param {import('playwright-core').Page} tab
 */
async function mark(tab) {
  await tab.evaluate(() => {
    window.__marker = 'kept';
  });
}

test('a page whose only </body> is inside a script string runs its script and reloads on an edit', { timeout: TEST_TIMEOUT_MS }, async () => {
  /** @param {string} word */
  const page = (word) => `<!doctype html>
<html><head><meta charset="utf-8"><title>write</title></head>
<body><h1>${word}</h1>
<script>
  window.__pageScriptRan = true;
  var frame = document.createElement('iframe');
  document.body.appendChild(frame);
  frame.contentDocument.open();
  frame.contentDocument.write('<html><body>Hi</body></html>');
  frame.contentDocument.close();
</script>
</html>
`;
  await writeFile(path.join(site, 'write.html'), page('one'));
  await inConnectedTab('write.html', async (tab) => {
  assert.equal(await tab.evaluate(() => window.__pageScriptRan), true, "the page's own script ran whole");
  assert.equal(await tab.evaluate(() => document.querySelector('iframe')?.contentDocument?.body?.textContent), 'Hi');
  await mark(tab);
  await writeFile(path.join(site, 'write.html'), page('two'));
  await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'two', undefined, { timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => window.__marker), undefined);
  });
});

test('twenty tabs of one server all load, and all reload on an edit', { timeout: TEST_TIMEOUT_MS }, async () => {
  const TABS = 20;
  /** @param {string} word */
  const page = (word) => `<!doctype html><html><head><title>tabs</title></head><body><h1>${word}</h1></body></html>\n`;
  await writeFile(path.join(site, 'tabs.html'), page('before'));
  const context = await browser.newContext();
  try {
    const tabs = [];
    // One after the other, as a person opens them: each waits for its own load.
    for (let i = 0; i < TABS; i++) tabs.push(await openConnected(context, 'tabs.html'));
    for (const tab of tabs) await mark(tab);
    await writeFile(path.join(site, 'tabs.html'), page('after'));
    for (const tab of tabs) {
      await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'after', undefined, { timeout: WAIT_MS });
      assert.equal(await tab.evaluate(() => window.__marker), undefined);
    }
  } finally {
    await context.close();
  }
});

test("a stylesheet saved among its editor's temporary files is swapped in place, not reloaded", { timeout: TEST_TIMEOUT_MS }, async () => {
  const css = path.join(site, 'css');
  await writeFile(path.join(css, 'temp.css'), 'h1 { color: rgb(200, 0, 0); }\n');
  await writeFile(
    path.join(site, 'temp.html'),
    '<!doctype html><html><head><link rel="stylesheet" href="css/temp.css"></head><body><h1>t</h1></body></html>\n',
  );
  await inConnectedTab('temp.html', async (tab) => {
  await mark(tab);
  const color = () => tab.evaluate(() => getComputedStyle(document.querySelector('h1')).color);
  // vim: a swap file while editing, nothing saved yet; then the save: 4913 probe, backup, write.
  await writeFile(path.join(site, '.temp.html.swp'), 'b0VIM 9.0');
  await writeFile(path.join(css, '.temp.css.swp'), 'b0VIM 9.0');
  await writeFile(path.join(css, '4913'), '');
  await rm(path.join(css, '4913'));
  await writeFile(path.join(css, 'temp.css~'), 'h1 { color: rgb(200, 0, 0); }\n');
  await writeFile(path.join(css, 'temp.css'), 'h1 { color: rgb(0, 0, 200); }\n');
  await tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 0, 200)', undefined, { timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place');
  // Emacs (lock link to nowhere, auto-save) and a JetBrains safe write, then the next save.
  await symlink('me@host.1:1', path.join(css, '.#temp.css'));
  await writeFile(path.join(css, '#temp.css#'), 'h1 {');
  await writeFile(path.join(css, 'temp.css___jb_tmp___'), 'h1 { color: rgb(0, 150, 0); }\n');
  await rename(path.join(css, 'temp.css'), path.join(css, 'temp.css___jb_old___'));
  await rename(path.join(css, 'temp.css___jb_tmp___'), path.join(css, 'temp.css'));
  await rm(path.join(css, 'temp.css___jb_old___'));
  await rm(path.join(css, '.#temp.css'));
  await rm(path.join(css, '#temp.css#'));
  await tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 150, 0)', undefined, { timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place again');
  // And the page itself still reloads when it is saved.
  assert.equal(await color(), 'rgb(0, 150, 0)');
  });
});

test("a stylesheet a compiler writes with its source map or its .br/.gz copies is swapped in place, not reloaded; a lone map reloads nothing", { timeout: TEST_TIMEOUT_MS }, async () => {
  const css = path.join(site, 'css');
  const sheet = (rgb) => `h1 { color: rgb(${rgb}); }\n/*# sourceMappingURL=built.css.map */\n`;
  await writeFile(path.join(css, 'built.css'), sheet('200, 0, 0'));
  await writeFile(path.join(css, 'built.css.map'), '{"version":3,"sources":["built.scss"],"mappings":""}\n');
  await writeFile(
    path.join(site, 'built.html'),
    '<!doctype html><html><head><link rel="stylesheet" href="css/built.css"></head><body><h1>b</h1></body></html>\n',
  );
  await inConnectedTab('built.html', async (tab) => {
  await mark(tab);
  /** @param {string} rgb */
  const shows = (rgb) =>
    tab.waitForFunction((want) => getComputedStyle(document.querySelector('h1')).color === want, `rgb(${rgb})`, { timeout: WAIT_MS });
  // Sass, PostCSS, Less: the stylesheet, then its map, in one go (and the other way round).
  await writeFile(path.join(css, 'built.css'), sheet('0, 0, 200'));
  await writeFile(path.join(css, 'built.css.map'), '{"version":3,"sources":["built.scss"],"mappings":"A"}\n');
  await shows('0, 0, 200');
  await writeFile(path.join(css, 'built.css.map'), '{"version":3,"sources":["built.scss"],"mappings":"AA"}\n');
  await writeFile(path.join(css, 'built.css'), sheet('0, 150, 0'));
  await shows('0, 150, 0');
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place with its map');
  // A map written alone (a build that rewrote only the map) changes nothing a page shows.
  await writeFile(path.join(css, 'built.css.map'), '{"version":3,"sources":["built.scss"],"mappings":"AAA"}\n');
  await delay(1_000); // a reload it set off would have come by now (debounce 50 ms)
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'a lone map reloaded nothing');
  // A build that precompresses: the stylesheet with its .br and .gz, which this server sends
  // for css/built.css (Chromium accepts both).
  const next = sheet('0, 100, 100');
  await writeFile(path.join(css, 'built.css'), next);
  await writeFile(path.join(css, 'built.css.br'), brotliCompressSync(next));
  await writeFile(path.join(css, 'built.css.gz'), gzipSync(next));
  await shows('0, 100, 100');
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place with its .br and .gz');
  });
});

test('a stylesheet the page turned off (sheet.disabled, a theme switch) stays off when it is swapped in place', { timeout: TEST_TIMEOUT_MS }, async () => {
  const css = path.join(site, 'css');
  await writeFile(path.join(css, 'theme-base.css'), '#a { color: rgb(1, 1, 1); } #b { color: rgb(1, 1, 1); }\n');
  await writeFile(path.join(css, 'theme-dark.css'), '#a { color: rgb(200, 0, 0); }\n');
  await writeFile(path.join(css, 'theme-on.css'), '#b { color: rgb(0, 200, 0); }\n');
  await writeFile(
    path.join(site, 'theme.html'),
    '<!doctype html><html><head><link rel="stylesheet" href="css/theme-base.css"><link id="dark" rel="stylesheet" href="css/theme-dark.css"><link id="on" rel="stylesheet" href="css/theme-on.css"></head><body><p id="a">a</p><p id="b">b</p></body></html>\n',
  );
  await inConnectedTab('theme.html', async (tab) => {
  await mark(tab);
  /** @param {string} id */
  const color = (id) => tab.evaluate((el) => getComputedStyle(document.getElementById(el)).color, id);
  await tab.evaluate(() => {
    document.getElementById('dark').sheet.disabled = true;
  });
  assert.equal(await color('a'), 'rgb(1, 1, 1)');
  // Both saved in one go: the one left on shows the change, so the swap of both is done.
  await writeFile(path.join(css, 'theme-dark.css'), '#a { color: rgb(201, 0, 0); }\n');
  await writeFile(path.join(css, 'theme-on.css'), '#b { color: rgb(0, 201, 0); }\n');
  await tab.waitForFunction(() => getComputedStyle(document.getElementById('b')).color === 'rgb(0, 201, 0)', undefined, { timeout: WAIT_MS });
  await tab.waitForFunction(() => document.querySelectorAll('link[data-porthole-copy]').length === 0, undefined, { timeout: WAIT_MS });
  assert.equal(await color('a'), 'rgb(1, 1, 1)', 'the sheet the page turned off is still off');
  assert.equal(await tab.evaluate(() => document.querySelector('link[href*="theme-dark.css"]').sheet.disabled), true);
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place');
  });
});

test('a <link disabled> (the attribute: an alternate theme, off) swapped in place leaves no copy behind, save after save', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Before: the copy holding the old styles waited for the link's load event, which a disabled
  // link never fires, so each save left one more copy (<link data-porthole-copy>) in the page.
  const css = path.join(site, 'css');
  await writeFile(path.join(css, 'attr-off.css'), '#c { color: rgb(30, 0, 0); }\n');
  await writeFile(
    path.join(site, 'attr-off.html'),
    '<!doctype html><html><head><link id="alt" rel="stylesheet" href="css/attr-off.css" disabled></head><body><p id="c">c</p></body></html>\n',
  );
  await inConnectedTab('attr-off.html', async (tab) => {
  await mark(tab);
  for (const n of [31, 32, 33]) {
    const before = await tab.evaluate(() => document.getElementById('alt').href);
    await writeFile(path.join(css, 'attr-off.css'), `#c { color: rgb(${n}, 0, 0); }\n`);
    await tab.waitForFunction((href) => document.getElementById('alt').href !== href, before, { timeout: WAIT_MS });
    await delay(200);
  }
  assert.equal(await tab.evaluate(() => document.querySelectorAll('link[data-porthole-copy]').length), 0, 'no copies left behind');
  assert.equal(await tab.evaluate(() => document.querySelectorAll('link').length), 1);
  assert.equal(await tab.evaluate(() => getComputedStyle(document.getElementById('c')).color), 'rgb(0, 0, 0)', 'still off');
  await tab.evaluate(() => {
    document.getElementById('alt').disabled = false;
  });
  await tab.waitForFunction(() => getComputedStyle(document.getElementById('c')).color === 'rgb(33, 0, 0)', undefined, { timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place');
  });
});

/**
 * Starts counting, in the page, every millisecond and every frame at which `bad` (a function of
 * the page, given as its source) holds: a heading shown without its stylesheet, an image shown
 * broken. countedMoments stops the count and returns it.
 * @param {import('playwright-core').Page} tab
 * @param {string} bad
 */
async function countMoments(tab, bad) {
  await tab.evaluate((source) => {
    const test = new Function(`return (${source})();`);
    window.__moments = 0;
    const look = () => {
      if (test()) window.__moments++;
    };
    window.__looking = setInterval(look, 1);
    const frame = () => {
      look();
      window.__frame = requestAnimationFrame(frame);
    };
    frame();
  }, bad);
}

/**
 * Stops countMoments' count; its number (undefined when the page was reloaded meanwhile).
 * @param {import('playwright-core').Page} tab
 */
function countedMoments(tab) {
  return tab.evaluate(() => {
    clearInterval(window.__looking);
    cancelAnimationFrame(window.__frame);
    return window.__moments;
  });
}

/**
 * Writes `file` ten times 10 ms apart (`content(n)` the n-th time, n from `first`), as a tool
 * writing it again and again does, then waits until the page shows the last (`shown(n)` holds).
 * @param {import('playwright-core').Page} tab
 * @param {string} file
 * @param {(n: number) => string} content
 * @param {number} first
 * @param {string} shown the source of a page function of n
 */
async function writeTenTimes(tab, file, content, first, shown) {
  for (let i = 0; i < 10; i++) {
    writeFileSync(file, content(first + i));
    await delay(10);
  }
  await tab.waitForFunction(({ source, n }) => new Function('n', `return (${source})(n);`)(n), { source: shown, n: first + 9 }, { timeout: WAIT_MS });
  await delay(300);
}

test("a swapped stylesheet's <link> is the page's own element still: a script holding it (a theme switch) goes on working (helper-120)", { timeout: TEST_TIMEOUT_MS }, async () => {
  // Before: the swap replaced the element with a clone, so `themeLink` was detached and setting
  // its href changed nothing on the page.
  const css = path.join(site, 'css');
  await writeFile(path.join(css, 'held-light.css'), '#t { color: rgb(10, 10, 10); }\n');
  await writeFile(path.join(css, 'held-dark.css'), '#t { color: rgb(200, 200, 200); }\n');
  await writeFile(
    path.join(site, 'held.html'),
    '<!doctype html><html><head><link id="theme" rel="stylesheet" href="css/held-light.css"><script>window.themeLink = document.getElementById("theme"); window.setTheme = function (n) { window.themeLink.href = "css/held-" + n + ".css"; };</script></head><body><p id="t">t</p></body></html>\n',
  );
  await inConnectedTab('held.html', async (tab) => {
  await mark(tab);
  const color = () => tab.evaluate(() => getComputedStyle(document.getElementById('t')).color);
  assert.equal(await color(), 'rgb(10, 10, 10)');
  await writeFile(path.join(css, 'held-light.css'), '#t { color: rgb(11, 11, 11); }\n');
  await tab.waitForFunction(() => getComputedStyle(document.getElementById('t')).color === 'rgb(11, 11, 11)', undefined, { timeout: WAIT_MS });
  await tab.waitForFunction(() => document.querySelectorAll('link[data-porthole-copy]').length === 0, undefined, { timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => window.themeLink.isConnected && document.getElementById('theme') === window.themeLink), true, 'the page still holds its <link>');
  assert.equal(await tab.evaluate(() => document.querySelectorAll('link[rel="stylesheet"]').length), 1);
  await tab.evaluate(() => window.setTheme('dark'));
  await tab.waitForFunction(() => getComputedStyle(document.getElementById('t')).color === 'rgb(200, 200, 200)', undefined, { timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place');
  });
});

test('a stylesheet written again and again 10 ms apart is swapped without the page ever losing its styles (helper-170: unstyled for 150–210 ms)', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Before: a copy whose load met the file mid-write (a 503, or a sheet read between truncation
  // and write) handed its URL to the page's element all the same, and the page showed no styles
  // until the next swap. Now the element keeps its styles and the swap is made again.
  const css = path.join(site, 'css');
  await writeFile(path.join(css, 'rapid.css'), 'h1 { color: rgb(200, 100, 7); }\n');
  await writeFile(path.join(site, 'rapid.html'), '<!doctype html><html><head><link rel="stylesheet" href="css/rapid.css"></head><body><h1 id="h">h</h1></body></html>\n');
  await inConnectedTab('rapid.html', async (tab) => {
    await mark(tab);
    await countMoments(tab, "() => getComputedStyle(document.getElementById('h')).color === 'rgb(0, 0, 0)'");
    for (let round = 0; round < 3; round++) {
      await writeTenTimes(tab, path.join(css, 'rapid.css'), (n) => `h1 { color: rgb(200, ${n}, 7); }\n`, round * 10, "(n) => getComputedStyle(document.getElementById('h')).color === `rgb(200, ${n}, 7)`");
      await tab.waitForFunction(() => document.querySelectorAll('link[data-porthole-copy]').length === 0, undefined, { timeout: WAIT_MS });
    }
    assert.equal(await countedMoments(tab), 0, 'moments the page showed its heading without its stylesheet');
    assert.equal(await tab.evaluate(() => document.querySelectorAll('link[rel="stylesheet"]').length), 1, 'no copy left behind');
    assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place, never reloaded');
  });
});

test('an image written again and again 10 ms apart is fetched again in place without the page ever showing it broken', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The stylesheet's kind (helper-170) for an <img>: its src was set to the new URL at once, and a
  // load that met the file mid-write (a 503) showed a broken image until the next save.
  const svg = (width) => `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="10"><rect width="${width}" height="10" fill="rgb(10, 120, 200)"/></svg>\n`;
  await writeFile(path.join(site, 'rapid.svg'), svg(5));
  await writeFile(path.join(site, 'rapid-img.html'), '<!doctype html><html><head></head><body><img id="i" src="rapid.svg"></body></html>\n');
  await inConnectedTab('rapid-img.html', async (tab) => {
    await mark(tab);
    await tab.waitForFunction(() => document.getElementById('i').naturalWidth === 5, undefined, { timeout: WAIT_MS });
    await countMoments(tab, "() => { const img = document.getElementById('i'); return img.complete && img.naturalWidth === 0; }");
    for (let round = 0; round < 3; round++) {
      await writeTenTimes(tab, path.join(site, 'rapid.svg'), (n) => svg(10 + n), round * 10, "(n) => document.getElementById('i').naturalWidth === 10 + n");
    }
    assert.equal(await countedMoments(tab), 0, 'moments the page showed the image broken');
    assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'fetched again in place, never reloaded');
  });
});

test('a stylesheet a <style> imports, written again and again 10 ms apart, is swapped without the page ever losing its styles', { timeout: TEST_TIMEOUT_MS }, async () => {
  const css = path.join(site, 'css');
  await writeFile(path.join(css, 'rapid-imported.css'), 'h1 { color: rgb(100, 100, 7); }\n');
  await writeFile(path.join(site, 'rapid-import.html'), '<!doctype html><html><head><style>@import url("css/rapid-imported.css");</style></head><body><h1 id="h">h</h1></body></html>\n');
  await inConnectedTab('rapid-import.html', async (tab) => {
    await mark(tab);
    await countMoments(tab, "() => getComputedStyle(document.getElementById('h')).color === 'rgb(0, 0, 0)'");
    for (let round = 0; round < 3; round++) {
      await writeTenTimes(tab, path.join(css, 'rapid-imported.css'), (n) => `h1 { color: rgb(100, ${n}, 7); }\n`, round * 10, "(n) => getComputedStyle(document.getElementById('h')).color === `rgb(100, ${n}, 7)`");
    }
    assert.equal(await countedMoments(tab), 0, 'moments the page showed its heading without the imported sheet');
    assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place, never reloaded');
  });
});

test('a stylesheet under an integrity hash reloads the page when it changes: no swap can show bytes the hash refuses (helper-161)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const css = path.join(site, 'css');
  const first = '#s { color: rgb(10, 0, 0); }\n';
  await writeFile(path.join(css, 'sri.css'), first);
  const hash = `sha256-${createHash('sha256').update(first).digest('base64')}`;
  await writeFile(path.join(site, 'sri.html'), `<!doctype html><html><head><link rel="stylesheet" href="css/sri.css" integrity="${hash}"></head><body><p id="s">s</p></body></html>\n`);
  await inConnectedTab('sri.html', async (tab) => {
    const color = () => tab.evaluate(() => getComputedStyle(document.getElementById('s')).color);
    assert.equal(await color(), 'rgb(10, 0, 0)');
    await mark(tab);
    await writeFile(path.join(css, 'sri.css'), '#s { color: rgb(11, 0, 0); }\n');
    // Reloaded (the marker gone), and the page shows what a plain server's would: the sheet refused.
    await tab.waitForFunction(() => window.__marker === undefined && window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await tab.waitForLoadState('load');
    assert.equal(await color(), 'rgb(0, 0, 0)', 'the changed sheet fails its hash: no styles from it');
    assert.equal(await tab.evaluate(() => document.querySelectorAll('link[data-porthole-copy]').length), 0);
  });
});

test('stylesheets imported from a <style> or a linked sheet, at any depth, are swapped in place; an unused one reloads', { timeout: TEST_TIMEOUT_MS }, async () => {
  const css = path.join(site, 'css');
  await writeFile(path.join(css, 'from-style.css'), 'h1 { color: rgb(200, 0, 0); }\n');
  await writeFile(path.join(css, 'linked.css'), '@import url("nested.css");\nbody { margin: 3px; }\n');
  await writeFile(path.join(css, 'nested.css'), "@import 'deep.css' screen;\n");
  await writeFile(path.join(css, 'deep.css'), 'p { color: rgb(0, 0, 200); }\n');
  await writeFile(path.join(css, 'unused.css'), 'p { color: black; }\n');
  await writeFile(
    path.join(site, 'imports.html'),
    `<!doctype html><html><head>
<style>@import url("css/from-style.css"); h2 { color: rgb(1, 2, 3); }</style>
<link rel="stylesheet" href="css/linked.css">
</head><body><h1>h</h1><h2>s</h2><p>p</p></body></html>
`,
  );
  await inConnectedTab('imports.html', async (tab) => {
  /** @param {string} selector */
  const color = (selector) => tab.evaluate((s) => getComputedStyle(document.querySelector(s)).color, selector);
  assert.equal(await color('h1'), 'rgb(200, 0, 0)');
  assert.equal(await color('p'), 'rgb(0, 0, 200)');
  await mark(tab);
  // Imported from the <style> element.
  await writeFile(path.join(css, 'from-style.css'), 'h1 { color: rgb(0, 150, 0); }\n');
  await tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 150, 0)', undefined, { timeout: WAIT_MS });
  // Imported by a sheet imported by a linked sheet, with a media condition.
  await writeFile(path.join(css, 'deep.css'), 'p { color: rgb(150, 0, 150); }\n');
  await tab.waitForFunction(() => getComputedStyle(document.querySelector('p')).color === 'rgb(150, 0, 150)', undefined, { timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => window.__marker), 'kept', 'swapped in place, not reloaded');
  assert.equal(await color('h2'), 'rgb(1, 2, 3)', "the <style>'s own rules are still there");
  assert.equal(await color('h1'), 'rgb(0, 150, 0)');
  // A stylesheet this page does not use: the change cannot be applied in place, so it reloads.
  await writeFile(path.join(css, 'unused.css'), 'p { color: white; }\n');
  await tab.waitForFunction(() => window.__marker === undefined && window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  });
});

test("a page with a strict CSP meta reloads: the policy makes room for our script and socket only", { timeout: TEST_TIMEOUT_MS }, async () => {
  /** @param {string} word */
  const page = (word) => `<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'self'">
<link rel="stylesheet" href="css/csp.css">
<title>csp</title></head><body><h1>${word}</h1><script>window.__inline = 'ran';</script></body></html>
`;
  await writeFile(path.join(site, 'css', 'csp.css'), 'h1 { color: rgb(200, 0, 0); }\n');
  await writeFile(path.join(site, 'csp.html'), page('one'));
  await writeFile(path.join(site, 'other.txt'), 'other\n');
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    /** @type {string[]} */
    const violations = [];
    tab.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await tab.goto(`${cli.url}csp.html`, { waitUntil: 'load', timeout: WAIT_MS });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    // Nothing wider: the page's own inline script and any other connection stay blocked.
    assert.equal(await tab.evaluate(() => window.__inline), undefined);
    assert.equal(await tab.evaluate(() => fetch('/other.txt').then(() => 'fetched', () => 'blocked')), 'blocked');
    await mark(tab);
    await writeFile(path.join(site, 'css', 'csp.css'), 'h1 { color: rgb(0, 0, 200); }\n');
    await tab.waitForFunction(() => getComputedStyle(document.querySelector('h1')).color === 'rgb(0, 0, 200)', undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.__marker), 'kept');
    await writeFile(path.join(site, 'csp.html'), page('two'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'two', undefined, { timeout: WAIT_MS });
    // Our script and socket were never refused (the page's own inline script and fetch were).
    assert.ok(!violations.some((v) => /'[^']*\/__porthole\/[^']*' violates/.test(v)), violations.join('\n'));
    assert.ok(violations.some((v) => /other\.txt' violates/.test(v)), 'the check sees refusals');
  } finally {
    await context.close();
  }
});

test('a CSP that cannot make room is named once per page, in the CLI', { timeout: TEST_TIMEOUT_MS }, async () => {
  // upgrade-insecure-requests sends the client's requests to https:// — except on loopback,
  // which browsers never upgrade. A custom name (mapped to 127.0.0.1 in this browser) is not
  // loopback to the browser: there live reload cannot work, and the CLI says so, once.
  await writeFile(
    path.join(site, 'upgrade.html'),
    `<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy" content="upgrade-insecure-requests; default-src 'self'">
<title>uir</title></head><body><h1>u</h1></body></html>
`,
  );
  const NAME = 'porthole-uir.test';
  const named = await startCli([site, '--port', '0', '--quiet', '--allowed-host', NAME]);
  const mapped = await launchChromium({ extraArgs: [`--host-resolver-rules=MAP ${NAME} 127.0.0.1`] });
  const context = await mapped.newContext();
  try {
    const said = () => named.stderr().split('\n').filter((l) => l.includes('Content-Security-Policy of /upgrade.html'));
    // On loopback it works, and nothing is said.
    const local = await context.newPage();
    await local.goto(`${named.url}upgrade.html`, { waitUntil: 'load', timeout: WAIT_MS });
    await local.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    for (let i = 0; i < 3; i++) {
      const tab = await context.newPage();
      await tab.goto(`http://${NAME}:${named.port}/upgrade.html`, { waitUntil: 'load', timeout: WAIT_MS });
      await tab.close();
    }
    for (let i = 0; i < 100 && said().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(said().length, 1, named.stderr());
    assert.match(said()[0] ?? '', /live reload is blocked .*upgrade-insecure-requests/);
  } finally {
    await context.close();
    await mapped.close();
    await named.stop();
  }
});

test('a header CSP sandbox that keeps the client out is named once per page, in the CLI; one in a meta is not', { timeout: TEST_TIMEOUT_MS }, async () => {
  // CSP3 §6.3.2: `sandbox` without allow-scripts runs no script; without allow-same-origin the
  // page has an opaque origin, and Chromium refuses our script (CORP same-site) and the socket
  // (Origin: null). No room can be made without changing what the page may do: say so.
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-sandbox-'));
  const page = (title, meta = '') => `<!doctype html><html><head>${meta}<title>${title}</title></head><body><h1>${title}</h1></body></html>\n`;
  await writeFile(path.join(box, 'no-scripts.html'), page('no scripts'));
  await writeFile(path.join(box, 'opaque.html'), page('opaque'));
  await writeFile(path.join(box, 'same-origin.html'), page('same origin'));
  await writeFile(path.join(box, 'meta.html'), page('meta', '<meta http-equiv="Content-Security-Policy" content="sandbox">'));
  await writeFile(
    path.join(box, 'porthole.config.json'),
    JSON.stringify({
      headers: [
        { source: 'no-scripts.html', headers: { 'Content-Security-Policy': "sandbox; default-src 'self'" } },
        { source: 'opaque.html', headers: { 'Content-Security-Policy': 'SANDBOX allow-forms Allow-Scripts' } },
        { source: 'same-origin.html', headers: { 'Content-Security-Policy': 'sandbox allow-scripts allow-same-origin' } },
      ],
    }),
  );
  const boxed = await startCli([box, '--port', '0', '--quiet']);
  const context = await browser.newContext();
  try {
    const said = (name) => boxed.stderr().split('\n').filter((l) => l.includes(`Content-Security-Policy of /${name}:`));
    // Where the sandbox leaves room (and in a meta, where browsers ignore it), the client runs.
    for (const name of ['same-origin.html', 'meta.html']) {
      const tab = await context.newPage();
      await tab.goto(`${boxed.url}${name}`, { waitUntil: 'load', timeout: WAIT_MS });
      await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
      await tab.close();
    }
    for (const name of ['no-scripts.html', 'opaque.html']) {
      for (let i = 0; i < 2; i++) {
        const tab = await context.newPage();
        await tab.goto(`${boxed.url}${name}`, { waitUntil: 'load', timeout: WAIT_MS });
        await tab.close();
      }
    }
    for (let i = 0; i < 100 && (said('no-scripts.html').length === 0 || said('opaque.html').length === 0); i++) await delay(50);
    assert.equal(said('no-scripts.html').length, 1, boxed.stderr());
    assert.match(said('no-scripts.html')[0] ?? '', /live reload is blocked .*sandbox directive lets no script run/);
    assert.equal(said('opaque.html').length, 1, boxed.stderr());
    assert.match(said('opaque.html')[0] ?? '', /live reload is blocked .*sandbox directive without allow-same-origin/);
    assert.deepEqual([...said('same-origin.html'), ...said('meta.html')], []);
  } finally {
    await context.close();
    await boxed.stop();
    await rm(box, { recursive: true, force: true });
  }
});

test('a CSP field holding a list of policies (commas) gets room in each one, and the page keeps its own', { timeout: TEST_TIMEOUT_MS }, async () => {
  // CSP3 §2.2.2: a Content-Security-Policy field value is a comma-separated list of policies, each
  // enforced (what a proxy or a framework makes of two policies). Room made as if it were one
  // policy put our nonce into the last one only, and the first blocked our script.
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-csplist-'));
  await writeFile(
    path.join(box, 'list.html'),
    `<!doctype html><html><head><title>list</title></head><body><h1>list</h1><script nonce="page">window.__pageRan = true;</script></body></html>\n`,
  );
  const policy = "img-src 'self', script-src 'nonce-page', connect-src 'self'";
  await writeFile(path.join(box, 'porthole.config.json'), JSON.stringify({ headers: [{ source: 'list.html', headers: { 'Content-Security-Policy': policy } }] }));
  const listed = await startCli([box, '--port', '0', '--quiet']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    /** @type {string[]} */
    const refused = [];
    tab.on('console', (m) => {
      if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) refused.push(m.text());
    });
    const response = await tab.goto(`${listed.url}list.html`, { waitUntil: 'load', timeout: WAIT_MS });
    const sent = response?.headers()['content-security-policy'] ?? '';
    const policies = sent.split(',').map((p) => p.trim());
    assert.equal(policies.length, 3, sent);
    assert.equal(policies[0], "img-src 'self'", sent);
    assert.match(policies[1] ?? '', /^script-src 'nonce-page' 'nonce-[A-Za-z0-9+/=]+'$/, sent);
    assert.match(policies[2] ?? '', /^connect-src 'self' ws:\/\/127\.0\.0\.1:\d+\/__porthole\/socket$/, sent);
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    assert.equal(await tab.evaluate(() => window.__pageRan), true);
    assert.deepEqual(refused, []);
    assert.ok(!listed.stderr().includes('Content-Security-Policy of /list.html'), listed.stderr());
  } finally {
    await context.close();
    await listed.stop();
    await rm(box, { recursive: true, force: true });
  }
});

test("at [::1], a page whose CSP header says default-src 'self' loads the client and reloads, and nothing is said", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // A CSP host-source cannot name an IPv6 literal, but 'self' already allows our script and our
  // socket (the page's own origin): every such page was said to block live reload, though it did
  // reload. A header policy governs the client's first connection (a meta comes after our tag).
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-csp-v6-'));
  const headers = [
    { source: 'self.html', headers: { 'Content-Security-Policy': "default-src 'self'" } },
    { source: 'none.html', headers: { 'Content-Security-Policy': "default-src 'self'; connect-src 'none'" } },
  ];
  await writeFile(path.join(box, 'porthole.config.json'), JSON.stringify({ headers }));
  /** @param {string} word */
  const html = (word) => `<!doctype html><html><head><title>v6</title></head><body><h1>${word}</h1></body></html>\n`;
  await writeFile(path.join(box, 'self.html'), html('one'));
  await writeFile(path.join(box, 'none.html'), html('none'));
  /** @type {import('../browser/chromium.mjs').RunningCli} */
  let v6;
  try {
    v6 = await startCli([box, '--host', '::1', '--port', '0', '--quiet', '--reload-debounce', '50']);
  } catch (e) {
    await rm(box, { recursive: true, force: true });
    if (/EADDRNOTAVAIL|EAFNOSUPPORT|no "Local:" line|exited/.test(String(e))) return t.skip(`::1 cannot be served here: ${String(e).split('\n')[0]}`);
    throw e;
  }
  const context = await browser.newContext();
  try {
    assert.match(v6.url, /^http:\/\/\[::1\]:\d+\/$/);
    const tab = await context.newPage();
    /** @type {string[]} */
    const refused = [];
    tab.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    await tab.goto(`${v6.url}self.html`, { waitUntil: 'load', timeout: WAIT_MS });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    await writeFile(path.join(box, 'self.html'), html('two'));
    await tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'two', undefined, { timeout: WAIT_MS });
    assert.deepEqual(refused, []);
    // A policy that refuses the socket is said, once, precisely; the browser refuses it too.
    const blocked = await context.newPage();
    await blocked.goto(`${v6.url}none.html`, { waitUntil: 'load', timeout: WAIT_MS });
    const said = () => v6.stderr().split('\n').filter((l) => l.includes('Content-Security-Policy of'));
    for (let i = 0; i < 100 && said().length === 0; i++) await delay(50);
    assert.equal(said().length, 1, v6.stderr());
    assert.match(said()[0] ?? '', /of \/none\.html: its connect-src does not allow ws:\/\/\[::1\]:\d+\/__porthole\/socket/);
  } finally {
    await context.close();
    await v6.stop();
    await rm(box, { recursive: true, force: true });
  }
});

test('a page stored compressed (page.html.gz, .br) opened by its name is said to have no live reload, once', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Served as stored (text/html with Content-Encoding): the tag cannot be spliced into the encoded
  // bytes, so the tab never reloads; like a page too big to parse, the CLI says so (helper-55).
  const html = '<!doctype html><html><head><title>stored</title></head><body><h1>stored</h1></body></html>\n';
  await writeFile(path.join(site, 'stored.html.gz'), gzipSync(html));
  await writeFile(path.join(site, 'stored.htm.br'), brotliCompressSync(html));
  const context = await browser.newContext();
  try {
    const said = (name) => cli.stderr().split('\n').filter((l) => l.includes(`live reload is not in /${name}:`));
    for (const name of ['stored.html.gz', 'stored.html.gz', 'stored.htm.br']) {
      const tab = await context.newPage();
      const response = await tab.goto(`${cli.url}${name}`, { waitUntil: 'load', timeout: WAIT_MS });
      // The page itself is shown as before: decoded by the browser, as stored.
      assert.equal(response?.status(), 200);
      assert.equal(await tab.textContent('h1'), 'stored');
      assert.equal(await tab.evaluate(() => document.querySelector('script[data-porthole-client]')), null);
      await tab.close();
    }
    for (let i = 0; i < 100 && (said('stored.html.gz').length === 0 || said('stored.htm.br').length === 0); i++) await delay(50);
    assert.equal(said('stored.html.gz').length, 1, cli.stderr());
    assert.match(said('stored.html.gz')[0] ?? '', /stored gzip-compressed/);
    assert.equal(said('stored.htm.br').length, 1, cli.stderr());
  } finally {
    await context.close();
  }
});

test('a page whose configured Content-Type is not HTML (XHTML, plain text) goes out as it is, as the browser is told', { timeout: TEST_TIMEOUT_MS }, async () => {
  // porthole.headers replaces the file's Content-Type: the browser parses what that says. Our tag
  // (attributes without values) spliced into XHTML is not well-formed XML, and the browser showed
  // an XML error instead of the page; in text/plain it showed up as text.
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-configured-type-'));
  const xhtml = `<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body><p id="p">xhtml</p></body></html>\n`;
  const source = `<!doctype html><html><head><title>source</title></head><body><p>shown as text</p></body></html>\n`;
  await writeFile(path.join(box, 'doc.html'), xhtml);
  await writeFile(path.join(box, 'source.html'), source);
  await writeFile(path.join(box, 'page.html'), '<!doctype html><html><head><title>page</title></head><body><p>page</p></body></html>\n');
  await writeFile(
    path.join(box, 'porthole.config.json'),
    JSON.stringify({
      headers: [
        { source: 'doc.html', headers: { 'Content-Type': 'application/xhtml+xml; charset=utf-8' } },
        { source: 'source.html', headers: { 'Content-Type': 'text/plain; charset=utf-8' } },
      ],
    }),
  );
  const typed = await startCli([box, '--port', '0', '--quiet']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const doc = await tab.goto(`${typed.url}doc.html`, { waitUntil: 'load', timeout: WAIT_MS });
    assert.match(doc?.headers()['content-type'] ?? '', /^application\/xhtml\+xml/);
    assert.equal(await doc?.text(), xhtml);
    assert.equal(await tab.evaluate(() => document.getElementsByTagName('parsererror').length), 0);
    assert.equal(await tab.evaluate(() => document.getElementById('p')?.textContent), 'xhtml');
    const text = await tab.goto(`${typed.url}source.html`, { waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(await text?.text(), source);
    assert.equal(await tab.evaluate(() => document.body.innerText.trim()), source.trim());
    // An HTML page of the same server is injected as before.
    await tab.goto(`${typed.url}page.html`, { waitUntil: 'load', timeout: WAIT_MS });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  } finally {
    await context.close();
    await typed.stop();
    await rm(box, { recursive: true, force: true });
  }
});

test("Porthole's own 404 page and listings get room in a configured CSP header, and follow the save", { timeout: TEST_TIMEOUT_MS }, async () => {
  // A configured `default-src 'none'` gave file pages room for the client, but not the pages
  // Porthole makes: there the client was blocked and the tab on a page not made yet never showed it.
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-generated-csp-'));
  await mkdir(path.join(box, 'sub'));
  const strict = await startCli([box, '--port', '0', '--quiet', '--reload-debounce', '50', '--header', "Content-Security-Policy: default-src 'none'"]);
  const context = await browser.newContext();
  try {
    const listing = await context.newPage();
    const listed = await listing.goto(`${strict.url}sub/`, { waitUntil: 'load', timeout: WAIT_MS });
    assert.match(listed?.headers()['content-security-policy'] ?? '', /^default-src 'none'; script-src 'nonce-[^']+'; connect-src ws:\/\/127\.0\.0\.1:\d+\/__porthole\/socket$/);
    await listing.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    const tab = await context.newPage();
    const missing = await tab.goto(`${strict.url}later.html`, { waitUntil: 'load', timeout: WAIT_MS });
    assert.equal(missing?.status(), 404);
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    const shown = tab.waitForFunction(() => document.querySelector('h1')?.textContent === 'made', undefined, { timeout: WAIT_MS });
    await writeFile(path.join(box, 'later.html'), '<!doctype html><html><head><title>later</title></head><body><h1>made</h1></body></html>\n');
    await shown;
    assert.ok(!strict.stderr().includes('Content-Security-Policy of'), strict.stderr());
  } finally {
    await context.close();
    await strict.stop();
    await rm(box, { recursive: true, force: true });
  }
});

test("pages ending inside an unclosed <select> (Chromium parses its content as the body's) load the client and reload, with the tag at the page's end", { timeout: TEST_TIMEOUT_MS }, async () => {
  // --console off puts the tag at the page's end. Chromium parses a <select>'s content as any
  // body content (customizable select): an <svg>, <math>, <style>, <xmp>, <iframe>, <noscript>
  // or <plaintext> in it is foreign or raw text there, where parse5's older "in select" mode
  // drops the tag, so a tag appended after one ran in parse5's tree but was inert in the browser.
  const off = await startCli([site, '--port', '0', '--quiet', '--console', 'off', '--reload-debounce', '50']);
  const shapes = ['<option><svg>', '<svg><circle r=1></body></html>', '<div><math>', '<style>', '<xmp>', '<iframe>', '<noscript>', '<plaintext>'];
  const context = await browser.newContext();
  try {
    for (const [i, shape] of shapes.entries()) {
      const name = `select-${i}.html`;
      /** @param {string} word */
      const page = (word) => `<!doctype html><html><head><title>${word}</title></head><body><p>${word}</p><select>${shape}`;
      await writeFile(path.join(site, name), page('one'));
      const tab = await context.newPage();
      await tab.goto(`${off.url}${name}`, { waitUntil: 'load', timeout: WAIT_MS });
      await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS }).catch(() => {
        assert.fail(`${shape}: the client never connected`);
      });
      await writeFile(path.join(site, name), page('two'));
      await tab.waitForFunction(() => document.title === 'two', undefined, { timeout: WAIT_MS });
      await tab.close();
    }
  } finally {
    await context.close();
    await off.stop();
  }
});

test('a page too deep to parse in time is said to have no live reload in one sentence: what happened, then what to do, each once', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The planner's reason already said "served without live reload; reload it by hand", and the
  // CLI's line added "; reload that page by hand" after it: the advice twice in one line.
  // Deep before its body begins (a template in the head): the tag's place is decided there, and a
  // page deep only in its body is planned from its head alone (earlyDocument).
  await writeFile(path.join(site, 'nested.html'), `<!doctype html><head><template>${'<div>'.repeat(100_000)}</template></head><body>x`);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    // Its response is what counts (Chromium takes long to lay out 100,000 nested elements).
    await tab.goto(`${cli.url}nested.html`, { waitUntil: 'commit', timeout: WAIT_MS });
    const said = () => cli.stderr().split('\n').filter((l) => l.includes('live reload is not in /nested.html:'));
    for (let i = 0; i < 100 && said().length === 0; i++) await delay(50);
    assert.equal(said().length, 1, cli.stderr());
    const line = said()[0] ?? '';
    assert.match(line, /could not be parsed within \d+ s/);
    assert.match(line, /smaller pages/);
    assert.equal(line.match(/by hand/g)?.length, 1, line);
    assert.equal(line.match(/without live reload|live reload is not/g)?.length, 1, line);
  } finally {
    await context.close();
  }
});

test('an HTML page the browser downloads (<a download>, a configured Content-Disposition: attachment) is saved as it is on disk, without the tag', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Chromium sends an <a download> as Sec-Fetch-Mode: navigate, Sec-Fetch-Dest: empty and no
  // Accept, which was taken for a service worker's pass-through of a navigation: the saved file
  // carried our <script>. A configured attachment is a download of a document navigation.
  const own = await mkdtemp(path.join(tmpdir(), 'porthole-download-'));
  const plain = '<!doctype html><html><head><title>plain</title></head><body><p>plain</p></body></html>\n';
  const report = '<!doctype html><html><head><title>report</title></head><body><p>report</p></body></html>\n';
  await mkdir(path.join(own, 'reports'));
  await writeFile(path.join(own, 'plain.html'), plain);
  await writeFile(path.join(own, 'reports', 'r.html'), report);
  await writeFile(
    path.join(own, 'index.html'),
    '<!doctype html><html><head><title>i</title></head><body><a id="dl" href="plain.html" download>a</a><a id="att" href="reports/r.html">b</a></body></html>\n',
  );
  await writeFile(
    path.join(own, 'porthole.config.json'),
    JSON.stringify({ headers: [{ source: 'reports/**', headers: { 'Content-Disposition': 'Attachment; filename="r.html"' } }] }),
  );
  const served = await startCli([own, '--port', '0', '--quiet']);
  const context = await browser.newContext({ acceptDownloads: true });
  try {
    const tab = await context.newPage();
    await tab.goto(served.url, { waitUntil: 'load', timeout: WAIT_MS });
    await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
    for (const [link, bytes] of [['#dl', plain], ['#att', report]]) {
      const download = tab.waitForEvent('download', { timeout: WAIT_MS });
      await tab.click(link);
      const saved = await (await download).path();
      assert.equal(await readFile(saved, 'utf8'), bytes, `${link}: the saved file is the file on disk`);
    }
  } finally {
    await context.close();
    await served.stop();
    await rm(own, { recursive: true, force: true });
  }
});

test('a page whose own <meta> says UTF-16 (read as UTF-8 or its default by the browser, never UTF-16) gets the client and reloads', { timeout: TEST_TIMEOUT_MS }, async () => {
  // A page converted from UTF-16 (Word's "charset=unicode") keeps its meta. No byte order mark, a
  // byte that is not UTF-8 (so Porthole labels no charset) and the meta past the prescan's 1024
  // bytes: Chromium reads it as UTF-8 once it meets the meta, yet Porthole sent it without the
  // client ("page declares utf-16"), and the tab never reloaded.
  /** @param {string} word */
  const page = (word) =>
    Buffer.concat([
      Buffer.from(`<!doctype html><html><head><title>${word}</title><!-- ${'x'.repeat(1100)} --><meta http-equiv="Content-Type" content="text/html; charset=unicode"></head><body><p>caf`, 'latin1'),
      Buffer.from([0xe9]),
      Buffer.from('</p></body></html>\n', 'latin1'),
    ]);
  await writeFile(path.join(site, 'unicode-meta.html'), page('one'));
  await inConnectedTab('unicode-meta.html', async (tab) => {
  await writeFile(path.join(site, 'unicode-meta.html'), page('two'));
  await tab.waitForFunction(() => document.title === 'two', undefined, { timeout: WAIT_MS });
  });
});

test('a page whose URL was also fetched (its own fetch(), a pjax/Turbo-style load) still has the client when the tab goes back to it', { timeout: TEST_TIMEOUT_MS }, async () => {
  // fetch() gets the bytes on disk, the navigation the page with the tag: without Vary naming
  // what chose between them, the fetch's copy replaced the page in the browser's cache, and Back
  // (which takes the cache without asking) showed it, without live reload.
  await writeFile(
    path.join(site, 'fetched.html'),
    '<!doctype html><html><head><title>f</title></head><body><a id="away" href="tabs.html">away</a><script>fetch("fetched.html").then((r) => r.text()).then((t) => { window.__fetched = t.length; });</script></body></html>\n',
  );
  await writeFile(path.join(site, 'tabs.html'), '<!doctype html><html><head><title>tabs</title></head><body><h1>tabs</h1></body></html>\n');
  await inConnectedTab('fetched.html', async (tab) => {
  await tab.waitForFunction(() => window.__fetched > 0, undefined, { timeout: WAIT_MS });
  await tab.click('#away');
  await tab.waitForFunction(() => document.title === 'tabs', undefined, { timeout: WAIT_MS });
  await tab.goBack({ waitUntil: 'load', timeout: WAIT_MS });
  assert.equal(await tab.evaluate(() => document.title), 'f');
  assert.equal(await tab.evaluate(() => document.querySelector('script[data-porthole-client]') !== null), true, 'the page as navigated, with the client');
  await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
  });
});

test('a Content-Security-Policy-Report-Only field gets room for the client too: no violation is reported for its script or socket (helper-120)', { timeout: TEST_TIMEOUT_MS }, async () => {
  // Before: only Content-Security-Policy was given room; a report-only policy reported the
  // client's script and socket to the page's report endpoint and listeners, and the console.
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-csp-ro-'));
  await writeFile(path.join(box, 'ro.html'), `<!doctype html><html><head><title>ro</title></head><body><h1>ro</h1></body></html>\n`);
  const policy = "default-src 'self'; script-src 'none'; connect-src 'none'";
  const listed = await startCli([box, '--port', '0', '--quiet', '--header', `Content-Security-Policy-Report-Only: ${policy}`]);
  const context = await browser.newContext();
  try {
    for (const name of ['ro.html', 'missing.html']) {
      const tab = await context.newPage();
      /** @type {string[]} */
      const reported = [];
      // The client's: its script and socket (the 404 page's own inline style is Porthole's page's,
      // and reported under such a policy like any page's inline style).
      tab.on('console', (m) => {
        if (/__porthole|script-src|connect-src/i.test(m.text())) reported.push(m.text());
      });
      await tab.addInitScript(() => {
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          if (/^(script|connect)-src/.test(e.violatedDirective) || e.blockedURI.includes('__porthole')) window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
      });
      const response = await tab.goto(`${listed.url}${name}`, { waitUntil: 'load', timeout: WAIT_MS });
      const sent = response?.headers()['content-security-policy-report-only'] ?? '';
      assert.match(sent, /script-src 'nonce-[A-Za-z0-9+/=]+'/, `${name}: ${sent}`);
      assert.match(sent, /connect-src ws:\/\/127\.0\.0\.1:\d+\/__porthole\/socket/, `${name}: ${sent}`);
      await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
      assert.deepEqual(await tab.evaluate(() => window.__violations), [], name);
      assert.deepEqual(reported, [], name);
      await tab.close();
    }
    // Nothing is blocked by a report-only policy: nothing to say on stderr either.
    assert.ok(!/Content-Security-Policy/.test(listed.stderr()), listed.stderr());
  } finally {
    await context.close();
    await listed.stop();
    await rm(box, { recursive: true, force: true });
  }
});

test('an edit of porthole.config.json reloads the page once, after it is applied: the reload shows the new settings (helper-144)', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The file is in the served folder: its save reloaded the tab at once, before the server read
  // it again, so the reload got the old header (4 of 4 tries) and nothing reloaded it after.
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-config-reload-'));
  /** @param {string} v */
  const config = (v) => JSON.stringify({ headers: [{ source: '**', headers: { 'X-Ver': v } }] });
  await writeFile(path.join(box, 'porthole.config.json'), config('1'));
  await writeFile(path.join(box, 'index.html'), '<!doctype html><title>c</title><p>page</p>\n');
  // The file a link made later names (written now: its own writing is a change of a served file).
  await mkdir(path.join(box, 'conf'));
  await writeFile(path.join(box, 'conf', 'dev.json'), config('4'));
  const own = await startCli([box, '--port', '0', '--quiet', '--reload-debounce', '50']);
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    /** @type {Array<string | undefined>} */
    const versions = [];
    tab.on('response', (r) => {
      if (r.request().isNavigationRequest()) versions.push(r.headers()['x-ver']);
    });
    await tab.goto(`${own.url}index.html`, { waitUntil: 'load', timeout: WAIT_MS });
    /**
     * Makes `change`, then waits for the reload that shows `v`, and out the debounce after it.
     * @param {() => Promise<void>} change
     * @param {string | undefined} v
     */
    const step = async (change, v) => {
      await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
      const before = versions.length;
      await change();
      for (let i = 0; i < WAIT_MS / 50 && !(versions.length > before && versions.at(-1) === v); i++) await delay(50);
      // A second reload, if one came, would come within the debounce: wait it out.
      await delay(500);
    };
    for (const v of ['2', '3']) await step(() => writeFile(path.join(box, 'porthole.config.json'), config(v)), v);
    // Removed (helper-145: the reload was dropped as naming a file gone), then a link to a file
    // of the folder, whose edits are the configuration's (helper-145: reloaded twice, first stale).
    await step(() => rm(path.join(box, 'porthole.config.json')), undefined);
    await step(() => symlink(path.join('conf', 'dev.json'), path.join(box, 'porthole.config.json')), '4');
    await step(() => writeFile(path.join(box, 'conf', 'dev.json'), config('5')), '5');
    assert.deepEqual(versions, ['1', '2', '3', undefined, '4', '5'], 'one reload per edit, each under the settings it made');
  } finally {
    await context.close();
    await own.stop();
    await rm(box, { recursive: true, force: true });
  }
});

test('a page under a CSP whose connect-src refuses its own origin reloads on a save with no violation: nothing refused, reported or logged (helper-144)', { timeout: TEST_TIMEOUT_MS }, async () => {
  // The reload fetched the changed script past the cache first: a fetch connect-src 'none'
  // refused, logged in the console, reported to the report-uri (a POST in the log) on every save.
  const box = await mkdtemp(path.join(tmpdir(), 'porthole-csp-refetch-'));
  const policy = "default-src 'self'; connect-src 'none'; report-uri /csp-report";
  await writeFile(path.join(box, 'porthole.config.json'), JSON.stringify({ headers: [{ source: 'enf.html', headers: { 'Content-Security-Policy': policy } }, { source: 'ro.html', headers: { 'Content-Security-Policy-Report-Only': policy } }] }));
  await writeFile(path.join(box, 'app.js'), 'window.a = 1;\n');
  /** @param {string} word */
  const page = (word) => `<!doctype html><html><head><meta charset="utf-8"><script src="app.js"></script></head><body><h1>${word}</h1></body></html>\n`;
  await writeFile(path.join(box, 'enf.html'), page('enf'));
  await writeFile(path.join(box, 'ro.html'), page('ro'));
  const own = await startCli([box, '--port', '0', '--reload-debounce', '50']);
  const context = await browser.newContext();
  try {
    for (const [name, value] of [['enf.html', 2], ['ro.html', 3]]) {
      const tab = await context.newPage();
      /** @type {string[]} */
      const said = [];
      tab.on('console', (m) => {
        if (/Content Security Policy|Fetch API cannot load/i.test(m.text())) said.push(m.text());
      });
      await tab.goto(`${own.url}${name}`, { waitUntil: 'load', timeout: WAIT_MS });
      await tab.waitForFunction(() => window.__portholeReload?.id != null, undefined, { timeout: WAIT_MS });
      await writeFile(path.join(box, 'app.js'), `window.a = ${value};\n`);
      await tab.waitForFunction((v) => window.a === v, value, { timeout: WAIT_MS });
      assert.deepEqual(said, [], `${name}: nothing refused or reported`);
      await tab.close();
    }
    await delay(300);
    assert.doesNotMatch(own.stdoutLines.join('\n'), /csp-report/, 'no violation report reached the server');
  } finally {
    await context.close();
    await own.stop();
    await rm(box, { recursive: true, force: true });
  }
});

// helper-158: each in-place swap of a <link> left the page without the sheet's styles for a frame
// or more (the link's href changed at once, and the copy meant to hold the old styles had to load
// too), so a page scrolled down went back to the top on every CSS save. The same for a sheet
// pulled in by @import (from a <style>, and from a <link>'s sheet). Counted in the page: every
// animation frame looks at the styles, and a scroll event records how far up the page went.
test('a stylesheet swapped in place never leaves the page unstyled, and the page keeps its scroll position: <link>, <style> @import, a <link>\'s @import, a <style>\'s @import\'s @import', { timeout: TEST_TIMEOUT_MS }, async () => {
  const css = path.join(site, 'css');
  const sheet = (n) => `.tall { height: 6000px; } p { color: rgb(${n}, 0, 0); }\n`;
  await writeFile(path.join(css, 'keep-link.css'), sheet(1));
  await writeFile(path.join(css, 'keep-imp.css'), sheet(1));
  await writeFile(path.join(css, 'keep-outer.css'), '@import url("keep-deep.css");\n');
  await writeFile(path.join(css, 'keep-deep.css'), sheet(1));
  // helper-159: a <style>'s old @import rule was deleted once its new rule's own file had loaded,
  // while the file that one imports was still loading.
  await writeFile(path.join(css, 'keep-s-outer.css'), '@import url("keep-s-deep.css");\n');
  await writeFile(path.join(css, 'keep-s-deep.css'), sheet(1));
  for (const [name, head, file] of [
    ['keep-link.html', '<link rel="stylesheet" href="css/keep-link.css">', 'keep-link.css'],
    ['keep-imp.html', '<style>@import url("css/keep-imp.css");</style>', 'keep-imp.css'],
    ['keep-deep.html', '<link rel="stylesheet" href="css/keep-outer.css">', 'keep-deep.css'],
    ['keep-s-deep.html', '<style>@import url("css/keep-s-outer.css");</style>', 'keep-s-deep.css'],
  ]) {
    await writeFile(path.join(site, name), `<!doctype html><html><head>${head}</head><body><div class="tall"><p id="p">p</p></div></body></html>\n`);
    await inConnectedTab(name, async (tab) => {
      await mark(tab);
      await tab.evaluate(() => {
        window.scrollTo(0, 4000);
        window.__unstyledFrames = 0;
        window.__minScroll = window.scrollY;
        const tall = document.querySelector('.tall');
        const look = () => {
          if (getComputedStyle(tall).height !== '6000px') window.__unstyledFrames++;
          window.__frame = requestAnimationFrame(look);
        };
        look();
        window.addEventListener('scroll', () => { window.__minScroll = Math.min(window.__minScroll, window.scrollY); });
      });
      assert.equal(await tab.evaluate(() => window.scrollY), 4000, name);
      for (const n of [2, 3, 4]) {
        await writeFile(path.join(css, file), sheet(n));
        await tab.waitForFunction((c) => getComputedStyle(document.getElementById('p')).color === c, `rgb(${n}, 0, 0)`, { timeout: WAIT_MS });
        await tab.waitForFunction(() => document.querySelectorAll('link[data-porthole-copy]').length === 0, undefined, { timeout: WAIT_MS });
        // Two more frames: a drop of the old sheet after the new one applied would show in them.
        await tab.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      }
      const seen = await tab.evaluate(() => ({ unstyled: window.__unstyledFrames, minScroll: window.__minScroll, y: window.scrollY, marker: window.__marker }));
      assert.deepEqual(seen, { unstyled: 0, minScroll: 4000, y: 4000, marker: 'kept' }, name);
    });
  }
});
