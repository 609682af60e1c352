// Browser test of encodings and types (issue 11, items 1 and 2), through the built CLI
// (dist/cli.js), with live reload on (pages rewritten) and off (files sent as they are).
// Run after `npm run build`:  node --test test/browser/types-encodings.test.mjs
// - A page saved in GBK with <meta charset="gbk"> shows its Chinese text, and so does the GBK
//   script it loads (no HTTP charset overrides them);
// - a Latin-1 text file is not forced to UTF-8 (no U+FFFD);
// - an HTML page without an extension renders as a page, not a download;
// - scripts named .jsonp, .es6, .jsm and .ecma run from <script src> (nosniff is sent: a
//   text/plain one is refused).
/* global document, window -- used inside page.evaluate() callbacks, which run in the page */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { launchChromium, REPO_ROOT, startCli } from './chromium.mjs';

const STEP_TIMEOUT_MS = 30_000;

/** GBK bytes of 你好，世界 and 中文, spelled out (Node cannot encode GBK). */
const GBK_HELLO = Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0xa3, 0xac, 0xca, 0xc0, 0xbd, 0xe7]);
const GBK_CHINESE = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);
const latin1 = (text) => Buffer.from(text, 'latin1');

const GBK_PAGE = Buffer.concat([
  latin1('<!DOCTYPE html>\n<html><head><meta charset="gbk"><title>'),
  GBK_CHINESE,
  latin1('</title></head><body><p id="hello">'),
  GBK_HELLO,
  latin1('</p><p id="script"></p><script src="gbk.js"></script></body></html>\n'),
]);
/** A script in GBK without any declaration: the browser decodes it as its page (GBK). */
const GBK_SCRIPT = Buffer.concat([latin1('document.getElementById("script").textContent = "'), GBK_HELLO, latin1('";\n')]);
const LATIN1_TEXT = latin1('Le caf\u00e9 est d\u00e9j\u00e0 pr\u00eat, cr\u00e8me br\u00fbl\u00e9e \u00e0 c\u00f4t\u00e9.\n');
/** A page that loads a script of each JavaScript name no registry (or an obsolete type) covers. */
const SCRIPT_NAMES = ['x.jsonp', 'm.es6', 'f.jsm', 'e.ecma'];
const SCRIPTS_PAGE = latin1(
  `<!DOCTYPE html>\n<html><head><title>scripts</title><script>window.ran = []; function handle(v) { window.ran.push(v); }</script></head><body>${SCRIPT_NAMES.map((n) => `<script src="${n}"></script>`).join('')}</body></html>\n`,
);
/**
 * Pages with a `<meta charset>` written in a script's string, a style or a title within the first
 * 1024 bytes, before or instead of the page's real one (helper-172): Chromium's scan skips such
 * text, the HTML Standard's prescan does not. name → bytes.
 */
const DISPUTED_PAGES = {
  'utf8-script-meta.html': Buffer.from(
    `<!doctype html><html><head><script>const legacy = '<meta charset="iso-8859-1">';</script><meta charset="utf-8"><title>T</title></head><body><p id="p">caf\u00e9 \u2603</p></body></html>`,
    'utf8',
  ),
  'utf8-style-meta.html': Buffer.from('<!doctype html><html><head><style>/* <meta charset="windows-1252"> */</style></head><body><p id="p">caf\u00e9 \u2603</p></body></html>', 'utf8'),
  'utf8-title-meta.html': Buffer.from('<!doctype html><html><head><title><meta charset="windows-1252"></title></head><body><p id="p">caf\u00e9 \u2603</p></body></html>', 'utf8'),
  'latin1-script-meta.html': latin1(`<!doctype html><html><head><script>var x = '<meta charset="utf-8">';</script><meta charset="windows-1252"></head><body><p id="p">caf\u00e9</p></body></html>`),
  // Chromium's scan tokenizes with scripting off and knows no template: these two count there.
  'utf8-noscript-meta.html': Buffer.from('<!doctype html><html><head><noscript><meta charset="windows-1252"></noscript></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  'utf8-template-meta.html': Buffer.from('<!doctype html><html><head><template><meta charset="windows-1252"></template></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  // End tags, comments and a declaration straddling byte 1024 as Chromium's tokenizer reads them (helper-173).
  'utf8-end-tag-slash.html': Buffer.from('<!doctype html><html><head><script>x</script/><meta charset="windows-1252"></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  'utf8-bang-comment.html': Buffer.from('<!doctype html><html><head><!--x--!><meta charset="windows-1252"></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  'utf8-straddling-meta.html': Buffer.from(`<!doctype html><html><head><title>${'x'.repeat(980)}</title><meta charset="windows-1252"></head><body><p id="p">caf\u00e9</p></body></html>`, 'utf8'),
  'utf8-textarea-meta.html': Buffer.from('<!doctype html><html><head><textarea><meta charset="windows-1252"></textarea></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  // Markup inside an attribute's value is text, a repeated attribute is the first one's, and a
  // character reference in a value is decoded, as the tokenizer reads them.
  'utf8-script-in-attribute.html': Buffer.from('<!doctype html><html><head><link title="<script>"><meta charset="windows-1252"></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  'utf8-comment-in-attribute.html': Buffer.from('<!doctype html><html><head><link title="<!--"><meta charset="windows-1252"><link title="-->"></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  'utf8-repeated-charset.html': Buffer.from('<!doctype html><html><head><meta charset="windows-1252" charset="utf-8"></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
  'latin1-repeated-unknown.html': latin1('<!doctype html><html><head><meta charset="iso-8859-2" charset="bogus"></head><body><p id="p">caf\u00e9</p></body></html>'),
  'latin1-charset-after-content.html': latin1('<!doctype html><html><head><meta http-equiv="content-type" content="text/html; charset=iso-8859-2" charset="windows-1252"></head><body><p id="p">caf\u00e9</p></body></html>'),
  'latin1-content-after-charset.html': latin1('<!doctype html><html><head><meta charset="windows-1252" http-equiv="content-type" content="text/html; charset=iso-8859-2"></head><body><p id="p">caf\u00e9</p></body></html>'),
  'latin1-content-quote-ends.html': latin1(`<!doctype html><html><head><meta http-equiv="content-type" content="text/html; charset=iso-8859-2'x"></head><body><p id="p">caf\u00e9</p></body></html>`),
  // Past 1024 bytes, a meta counts only while the page is in its head (helper-174).
  'utf8-late-after-div.html': Buffer.from(`<head><div></div><!--${'x'.repeat(1100)}--><meta charset=windows-1252></head><p id="p">h\u00e9llo \u20ac</p>`, 'utf8'),
  'utf8-late-after-p.html': Buffer.from(`<p>${'a'.repeat(1100)}<meta charset=windows-1252><p id="p">h\u00e9llo \u20ac</p>`, 'utf8'),
  'utf8-late-in-noscript.html': Buffer.from(`<head><!--${'x'.repeat(1100)}--><noscript><meta charset=windows-1252></noscript></head><p id="p">h\u00e9llo \u20ac</p>`, 'utf8'),
  'utf8-late-long-head.html': Buffer.from(`<head><!--${'x'.repeat(70_000)}--><meta charset=windows-1252></head><p id="p">h\u00e9llo \u20ac</p>`, 'utf8'),
  'utf8-xml-declared.html': Buffer.from('<?xml version="1.0" encoding="windows-1252"?><p id="p">h\u00e9llo \u20ac</p>', 'utf8'),
  'utf16-xml-prefix.html': Buffer.from('<?xml v=""?><p id="p">hi</p>', 'utf16le'),
  'utf8-unquoted-slash.html': Buffer.from('<!doctype html><meta charset=windows-1252/><p id="p">caf\u00e9</p>', 'utf8'),
  'iso2022jp.html': Buffer.from('<p id="p">\x1b$BF|K\\8l\x1b(B</p>', 'latin1'),
  'utf8-reference-charset.html': Buffer.from('<!doctype html><html><head><meta charset="&#119;indows-1252"></head><body><p id="p">caf\u00e9</p></body></html>', 'utf8'),
};
const ABOUT_PAGE = latin1('<!DOCTYPE html>\n<html><head><title>About</title></head><body><h1>About us</h1></body></html>\n');

/** @type {string | undefined} */
let siteDir;
/** @type {import('playwright-core').Browser | undefined} */
let browser;
/** @type {Array<import('./chromium.mjs').RunningCli>} */
const clis = [];
/** @type {Record<string, string>} base URL by mode */
const bases = {};

before(
  async () => {
    siteDir = await mkdtemp(path.join(tmpdir(), 'porthole-encodings-'));
    await writeFile(path.join(siteDir, 'gbk.html'), GBK_PAGE);
    await writeFile(path.join(siteDir, 'gbk.js'), GBK_SCRIPT);
    await writeFile(path.join(siteDir, 'notes.txt'), LATIN1_TEXT);
    await writeFile(path.join(siteDir, 'about'), ABOUT_PAGE);
    await writeFile(path.join(siteDir, 'scripts.html'), SCRIPTS_PAGE);
    for (const [name, bytes] of Object.entries(DISPUTED_PAGES)) await writeFile(path.join(siteDir, name), bytes);
    for (const name of SCRIPT_NAMES) await writeFile(path.join(siteDir, name), latin1(`handle(${JSON.stringify(name)});\n`));
    for (const [mode, extra] of [
      ['reload', []],
      ['no-reload', ['--no-reload']],
    ]) {
      const cli = await startCli([siteDir, '--port', '0', ...extra], { cwd: REPO_ROOT });
      clis.push(cli);
      bases[mode] = cli.url;
    }
    browser = await launchChromium();
  },
  { timeout: 60_000 },
);

after(
  async () => {
    await browser?.close().catch(() => {});
    for (const cli of clis) await cli.stop();
    if (siteDir) await rm(siteDir, { recursive: true, force: true });
  },
  { timeout: 20_000 },
);

/** A fresh page (own context: nothing cached between tests). */
async function newPage() {
  assert.ok(browser);
  const context = await browser.newContext({ acceptDownloads: true });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(10_000);
  const page = await context.newPage();
  return { page, close: () => context.close() };
}

for (const mode of ['reload', 'no-reload']) {
  describe(`live reload ${mode === 'reload' ? 'on' : 'off'}`, () => {
    test('a GBK page with <meta charset="gbk"> shows its Chinese text, and so does its GBK script', { timeout: STEP_TIMEOUT_MS }, async () => {
      const { page, close } = await newPage();
      try {
        const response = await page.goto(`${bases[mode]}gbk.html`, { waitUntil: 'load' });
        assert.equal(response?.status(), 200);
        assert.equal(await page.evaluate(() => document.characterSet), 'GBK');
        assert.equal(await page.title(), '中文');
        assert.equal(await page.evaluate(() => document.getElementById('hello')?.textContent), '你好，世界');
        assert.equal(await page.evaluate(() => document.getElementById('script')?.textContent), '你好，世界');
        assert.ok((await page.evaluate(() => document.body.textContent ?? '')).includes('你好，世界'));
        if (mode === 'reload') {
          assert.equal(await page.locator('script[data-porthole-client]').count(), 1, 'the reload client is in the page');
        }
      } finally {
        await close();
      }
    });

    test('a Latin-1 text file is not forced to UTF-8 (no U+FFFD)', { timeout: STEP_TIMEOUT_MS }, async () => {
      const { page, close } = await newPage();
      try {
        const response = await page.goto(`${bases[mode]}notes.txt`, { waitUntil: 'load' });
        assert.equal(response?.status(), 200);
        const text = await page.evaluate(() => document.body.textContent ?? '');
        assert.ok(!text.includes('\uFFFD'), `replacement characters in: ${text}`);
        assert.ok(text.includes('café'), text);
      } finally {
        await close();
      }
    });

    test('scripts named .jsonp, .es6, .jsm and .ecma run from <script src> (text/javascript, under nosniff)', { timeout: STEP_TIMEOUT_MS }, async () => {
      const { page, close } = await newPage();
      /** @type {string[]} */
      const refused = [];
      page.on('console', (m) => {
        if (m.type() === 'error') refused.push(m.text());
      });
      /** @type {Record<string, string | undefined>} */
      const types = {};
      page.on('response', (r) => {
        const name = new URL(r.url()).pathname.slice(1);
        if (SCRIPT_NAMES.includes(name)) types[name] = r.headers()['content-type'];
      });
      try {
        const response = await page.goto(`${bases[mode]}scripts.html`, { waitUntil: 'load' });
        assert.equal(response?.status(), 200);
        assert.deepEqual(await page.evaluate(() => window.ran), SCRIPT_NAMES, `refused: ${refused.join(' | ')}`);
        for (const name of SCRIPT_NAMES) assert.equal(types[name], 'text/javascript; charset=utf-8', name);
      } finally {
        await close();
      }
    });

    test('an HTML page named without an extension renders as a page, not a download', { timeout: STEP_TIMEOUT_MS }, async () => {
      const { page, close } = await newPage();
      /** @type {string[]} */
      const downloads = [];
      page.on('download', (d) => downloads.push(d.suggestedFilename()));
      try {
        const response = await page.goto(`${bases[mode]}about`, { waitUntil: 'load' });
        assert.equal(response?.status(), 200);
        assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);
        assert.equal(await page.title(), 'About');
        assert.equal(await page.locator('h1').textContent(), 'About us');
        assert.deepEqual(downloads, []);
        if (mode === 'reload') {
          assert.equal(await page.evaluate(() => typeof window.__portholeReload), 'object', 'the reload client runs');
        }
      } finally {
        await close();
      }
    });

    test('a page with a <meta charset> in a script\'s string, a style, a title, a noscript or a template shows the text it shows opened from disk', { timeout: STEP_TIMEOUT_MS }, async () => {
      const { page, close } = await newPage();
      try {
        for (const name of Object.keys(DISPUTED_PAGES)) {
          assert.ok(siteDir);
          await page.goto(pathToFileURL(path.join(siteDir, name)).href, { waitUntil: 'load' });
          const fromDisk = await page.evaluate(() => [document.characterSet, document.getElementById('p')?.textContent]);
          const response = await page.goto(`${bases[mode]}${name}`, { waitUntil: 'load' });
          assert.equal(response?.status(), 200);
          const served = await page.evaluate(() => [document.characterSet, document.getElementById('p')?.textContent]);
          assert.deepEqual(served, fromDisk, `${name}: Content-Type ${response?.headers()['content-type']}`);
        }
      } finally {
        await close();
      }
    });
  });
}
