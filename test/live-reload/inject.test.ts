/**
 * Unit tests of the pure parts of live reload: where the client tag goes (injectClientTag), which
 * requests are navigations (isNavigationRequest), and the ignore globs.
 */
import { test } from 'node:test';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import assert from 'node:assert/strict';
import { injectClientTag, isDocumentNavigation, isNavigationRequest, isPreviewTarget, planPage, type PlacementWish } from '../../src/core/reload/live-reload-inject';
import { clientSrc } from '../../src/core/reload/live-reload-pages';
import { compileGlobs } from '../../src/core/reload/live-reload-glob';
import { isEditorTempFile } from '../../src/core/reload/live-reload-temp-files';
import type { HeaderList } from '../../src/core/http/request-record';

const TAG = '<script src="/__porthole/client.js" data-porthole-client></script>';

function inject(html: string, wish: PlacementWish = 'end'): { text: string; at: string; length: number } {
  const r = injectClientTag(Buffer.from(html, 'utf8'), TAG, wish);
  assert.equal(r.kind, 'injected');
  if (r.kind !== 'injected') throw new Error('not injected');
  return { text: r.body.toString('utf8'), at: r.at, length: r.body.length };
}

test('before the last </body>', () => {
  const r = inject('<html><head></head><body><p>x</p></body></html>');
  assert.equal(r.text, `<html><head></head><body><p>x</p>${TAG}</body></html>`);
  assert.equal(r.at, 'before-body-close');
});

test('a </body> inside a script string earlier in the file is not chosen', () => {
  const html = '<html><body><script>const s = "</body>";</script><p>end</p></body></html>';
  const r = inject(html);
  assert.equal(r.text, `<html><body><script>const s = "</body>";</script><p>end</p>${TAG}</body></html>`);
});

test('uppercase and spaced tags', () => {
  assert.equal(inject('<HTML><BODY>x</BODY ></HTML>').text, `<HTML><BODY>x${TAG}</BODY ></HTML>`);
  assert.equal(inject('<HTML><HEAD lang="en"><TITLE>t</TITLE>').text, `<HTML><HEAD lang="en"><TITLE>t</TITLE>${TAG}`);
});

test('no </body>: at the end of the page, where the parser is in the body', () => {
  const r = inject('<!doctype html><header>h</header><head><title>t</title></head><p>x');
  assert.equal(r.text, `<!doctype html><header>h</header><head><title>t</title></head><p>x${TAG}`);
  assert.equal(r.at, 'appended');
});

// Issue 11, item 5: the only `</body>` of the page is inside a script string.
test('a page whose only </body> is inside a script string: the script is left whole', () => {
  const html = "<!doctype html><html><head><title>w</title></head><body><script>document.write('<html><body>Hi</body></html>')</script></html>";
  const r = inject(html);
  assert.equal(r.text, `${html}${TAG}`);
  assert.ok(r.text.includes("document.write('<html><body>Hi</body></html>')"));
});

// Every kind of place where `</body>` is text, not a tag; with no real `</body>` after it, the
// tag goes to the end of the page; with one, right before the real one.
const NOT_TAGS: ReadonlyArray<[string, string]> = [
  ['script string', '<script>var s = "</body>";</script>'],
  ['script comment', '<script>/* </body> */</script>'],
  ['script with <!-- escape', '<script><!-- document.write("<script></body></script>"); --></script>'],
  ['comment', '<!-- </body> -->'],
  ['style', '<style>/* </body> */ p::after { content: "</body>"; }</style>'],
  ['template', '<template><p>t</p></body></template>'],
  ['CDATA in SVG', '<svg><![CDATA[ </body> ]]></svg>'],
  ['attribute value', '<div title="</body>" data-x=\'</body>\'>d</div>'],
  ['textarea', '<textarea></body></textarea>'],
  ['title in body', '<title></body></title>'],
  ['noscript', '<noscript></body></noscript>'],
  ['xmp', '<xmp></body></xmp>'],
  ['iframe', '<iframe></body></iframe>'],
  ['noembed', '<noembed></body></noembed>'],
];
for (const [name, inner] of NOT_TAGS) {
  test(`a </body> inside a ${name} is never the insertion point`, () => {
    const open = `<!doctype html><html><head><title>t</title></head><body>${inner}<p>end</p>`;
    assert.equal(inject(open).text, `${open}${TAG}`, 'no real </body>: at the end');
    const closed = `${open}</body></html>`;
    assert.equal(inject(closed).text, `${open}${TAG}</body></html>`, 'before the real </body>');
  });
}

test('never inside an unclosed comment, script, template or SVG at the end of the page', () => {
  // The end of the page lies inside a comment: the tag goes to the start, after the doctype.
  assert.equal(inject('<!doctype html><p>x</p><!-- unfinished').text, `<!doctype html>${TAG}<p>x</p><!-- unfinished`);
  assert.equal(inject('<p>x</p><script>var a = 1;').text, `${TAG}<p>x</p><script>var a = 1;`);
  // An SVG left open: a script there would be an SVG script, which never loads `src`.
  assert.equal(
    inject('<html><head><title>t</title></head><body><svg><rect/></body></html>').text,
    `<html><head><title>t</title>${TAG}</head><body><svg><rect/></body></html>`,
  );
  assert.equal(inject('<template><p>x').text, `${TAG}<template><p>x`);
  // The same with the html element implied (no tag of its own), and with MathML.
  assert.equal(inject('<!doctype html><body><svg><rect/></body>').text, `<!doctype html>${TAG}<body><svg><rect/></body>`);
  assert.equal(inject('<!doctype html><body><math><mi>x</mi></body>').text, `<!doctype html>${TAG}<body><math><mi>x</mi></body>`);
  // A closed SVG before the </body> is no obstacle.
  assert.equal(inject('<body><svg><rect/></svg><p>x</p></body>').text, `<body><svg><rect/></svg><p>x</p>${TAG}</body>`);
});

test('a UTF-8 BOM stays first', () => {
  const page = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<!-- open')]);
  const r = injectClientTag(page, TAG);
  assert.equal(r.kind, 'injected');
  if (r.kind !== 'injected') return;
  assert.deepEqual(r.body, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${TAG}<!-- open`)]));
});

test('neither body nor head: appended', () => {
  const r = inject('<p>fragment</p>');
  assert.equal(r.text, `<p>fragment</p>${TAG}`);
  assert.equal(r.at, 'appended');
  assert.equal(inject('').text, TAG);
});

test('a frameset page: in the head (a script after the frameset would be dropped)', () => {
  const html = '<html><head><title>f</title></head><frameset><frame src="a.html"></frameset></html>';
  assert.equal(inject(html).text, `<html><head><title>f</title>${TAG}</head><frameset><frame src="a.html"></frameset></html>`);
});

test('opt-out attribute on <body>, in any case, with or without a value', () => {
  for (const body of ['<body data-porthole-no-reload>', '<BODY class="a" DATA-PORTHOLE-NO-RELOAD="">', '<body\ndata-porthole-no-reload/>']) {
    const r = injectClientTag(Buffer.from(`<html>${body}x</body></html>`), TAG);
    assert.equal(r.kind, 'opted-out', body);
  }
  // The attribute name as text, or on another element, does not opt out.
  assert.equal(injectClientTag(Buffer.from('<body><p data-porthole-no-reload>x</p></body>'), TAG).kind, 'injected');
  assert.equal(injectClientTag(Buffer.from('<body data-porthole-no-reloaded>x</body>'), TAG).kind, 'injected');
  // Inside a script string it is text, not the page's body.
  const written = "<html><body><script>document.write('<body data-porthole-no-reload>')</script></body></html>";
  assert.equal(injectClientTag(Buffer.from(written), TAG).kind, 'injected');
});

test('byte-exact length with multibyte UTF-8, bytes untouched', () => {
  const html = '<html><body>Grüße — 日本語 — 🎉</body></html>';
  const source = Buffer.from(html, 'utf8');
  const r = injectClientTag(source, TAG);
  assert.equal(r.kind, 'injected');
  if (r.kind !== 'injected') return;
  assert.equal(r.body.length, source.length + Buffer.byteLength(TAG));
  assert.equal(r.body.toString('utf8'), html.replace('</body>', `${TAG}</body>`));
  // Invalid UTF-8 and latin1 bytes survive as they are.
  const raw = Buffer.from([0x3c, 0x62, 0x3e, 0xff, 0xe9, 0x80, 0x3c, 0x2f, 0x62, 0x6f, 0x64, 0x79, 0x3e]);
  const r2 = injectClientTag(raw, TAG);
  assert.equal(r2.kind, 'injected');
  if (r2.kind !== 'injected') return;
  // (The body here is implied, so the parser keeps no place for its end tag: at the end.)
  assert.deepEqual(r2.body, Buffer.concat([raw, Buffer.from(TAG)]));
  const withBody = Buffer.concat([Buffer.from('<body>'), raw]);
  const r3 = injectClientTag(withBody, TAG);
  assert.equal(r3.kind, 'injected');
  if (r3.kind !== 'injected') return;
  assert.deepEqual(r3.body, Buffer.concat([withBody.subarray(0, 12), Buffer.from(TAG), withBody.subarray(12)]));
});

test('UTF-16 pages are left alone', () => {
  const r = injectClientTag(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<body></body>', 'utf16le')]), TAG);
  assert.equal(r.kind, 'unsupported');
});

// Console forwarding on: the tag goes in the head, before the page's own scripts.
test('head wish: right after the charset meta, which stays first', () => {
  const html = '<!doctype html><html><head><meta charset="utf-8"><script>boom()</script><title>t</title></head><body>x</body></html>';
  const r = inject(html, 'head');
  assert.equal(r.text, `<!doctype html><html><head><meta charset="utf-8">${TAG}<script>boom()</script><title>t</title></head><body>x</body></html>`);
  assert.equal(r.at, 'after-charset-meta');
  // A charset declared by http-equiv; a later charset meta is not the one.
  const equiv = inject('<head><title>t</title><META HTTP-EQUIV="Content-Type" content="text/html; charset=utf-8"><meta charset="x"></head>', 'head');
  assert.equal(equiv.text, `<head><title>t</title><META HTTP-EQUIV="Content-Type" content="text/html; charset=utf-8">${TAG}<meta charset="x"></head>`);
  // A meta without a charset is not a declaration: right after <head>.
  assert.equal(inject('<head lang="en"><meta name="viewport" content="x"></head>', 'head').text, `<head lang="en">${TAG}<meta name="viewport" content="x"></head>`);
  // The end wish (forwarding off) keeps the old place.
  assert.equal(inject(html).at, 'before-body-close');
});

test('head wish: a page with no head start tag gets the tag at its start, after the BOM and doctype', () => {
  const r = inject('<!doctype html>\n<p>x</p><script>boom()</script>', 'head');
  assert.equal(r.text, `<!doctype html>\n${TAG}<p>x</p><script>boom()</script>`);
  assert.equal(r.at, 'document-start');
  // An <html> start tag but no <head> one: right after <html …> (its attributes stay on the element).
  const html = inject('<!doctype html><html lang="en"><body><script>boom()</script></body></html>', 'head');
  assert.equal(html.text, `<!doctype html><html lang="en">${TAG}<body><script>boom()</script></body></html>`);
  assert.equal(html.at, 'after-html-open');
  const bom = injectClientTag(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<p>x</p>')]), TAG, 'head');
  assert.equal(bom.kind, 'injected');
  if (bom.kind === 'injected') assert.equal(bom.body.toString('latin1').slice(0, 3 + TAG.length), `\xef\xbb\xbf${TAG}`);
});

test('head wish: at the document\'s start the tag goes past the comments and whitespace before the first element, so the page\'s tree is unchanged but for the script (helper-120)', () => {
  // Before: right after the doctype (or <html …>), the tag opened the head there, and a saved
  // page's `<!-- saved from url=… -->` comment and the line breaks moved into it.
  const pages = [
    '<!DOCTYPE html>\n<!-- saved from url=(0014)about:internet -->\n<title>t</title><p>x</p>',
    '<html lang=en>\n<title>t</title><p>x</p>',
    '<html lang=en>\n<!-- c -->\n<title>t</title><p>x</p>',
    '\n\n<!doctype html>\n\n<title>t</title><p>x</p>',
    '<!-- first --><!doctype html><!-- second -->\n<p>x</p>',
  ];
  const tree = (html: string): string => {
    const walk = (node: DefaultTreeAdapterMap['parentNode'] | DefaultTreeAdapterMap['childNode']): string => {
      if (node.nodeName === '#text') return JSON.stringify((node as DefaultTreeAdapterMap['textNode']).value);
      if (node.nodeName === '#comment') return `<!--${(node as DefaultTreeAdapterMap['commentNode']).data}-->`;
      if (node.nodeName === 'script' && node.attrs.some((a) => a.name === 'src' && a.value.includes('__porthole'))) return '';
      const kids = 'childNodes' in node ? node.childNodes.map(walk).join('') : '';
      const attrs = 'attrs' in node ? node.attrs.map((a) => ` ${a.name}=${a.value}`).join('') : '';
      return `<${node.nodeName}${attrs}>${kids}</${node.nodeName}>`;
    };
    return walk(parse(html));
  };
  for (const page of pages) {
    const r = inject(page, 'head');
    assert.notEqual(r.text, page, `injected: ${page}`);
    assert.equal(tree(r.text), tree(page), `${JSON.stringify(page)} → ${JSON.stringify(r.text)}`);
  }
});

test('head wish: a <base> in the head: the tag goes before it (after the charset declaration when that comes first)', () => {
  // After the base the tag's src would resolve against it (another origin's script, when the base
  // names one): see the <base href> test below.
  const html = '<head><base href="/app/"><meta charset="utf-8"><link rel="stylesheet" href="a.css"></head><body></body>';
  assert.equal(inject(html, 'head').text, `<head>${TAG}<base href="/app/"><meta charset="utf-8"><link rel="stylesheet" href="a.css"></head><body></body>`);
  const before = '<head><meta charset="utf-8"><base href="/app/"></head><body></body>';
  assert.equal(inject(before, 'head').text, `<head><meta charset="utf-8">${TAG}<base href="/app/"></head><body></body>`);
});

test('head wish: a charset meta inside a <template> or after an <svg> is not the head\'s; the tag still runs', () => {
  // In a template: not a child of the head, so right after <head>.
  const t = inject('<head><template><meta charset="utf-8"></template><title>t</title></head><body>x</body>', 'head');
  assert.equal(t.text, `<head>${TAG}<template><meta charset="utf-8"></template><title>t</title></head><body>x</body>`);
  assert.equal(t.at, 'after-head-open');
  // An <svg> in the head ends the head: what follows is in the body.
  const s = inject('<head><svg><meta charset="utf-8"></svg></head><body>x</body>', 'head');
  assert.equal(s.text, `<head>${TAG}<svg><meta charset="utf-8"></svg></head><body>x</body>`);
  // Where the head-side places do not run the tag (the whole page is a template's content), the
  // old order decides, as without the wish.
  const inTemplate = '<template><head><meta charset="utf-8"></head><body>x</body>';
  assert.deepEqual(injectClientTag(Buffer.from(inTemplate), TAG, 'head'), injectClientTag(Buffer.from(inTemplate), TAG));
});

test('head wish: a frameset page and an opted-out page', () => {
  assert.equal(inject('<html><head><meta charset="utf-8"></head><frameset><frame src="a.html"></frameset></html>', 'head').at, 'after-charset-meta');
  assert.equal(injectClientTag(Buffer.from('<head><meta charset="utf-8"></head><body data-porthole-no-reload>x</body>'), TAG, 'head').kind, 'opted-out');
});

test('navigation: Sec-Fetch-Dest decides when present', () => {
  const h = (...pairs: [string, string][]): HeaderList => pairs;
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'document'], ['accept', 'text/html'])), true);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'empty'], ['accept', 'text/html'])), false);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'iframe'], ['accept', 'text/html'])), false);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'script'], ['accept', '*/*'])), false);
});

test('navigation: a service worker passing a navigation on (Sec-Fetch-Mode navigate, Sec-Fetch-Dest empty, as Chromium sends it) is one', () => {
  // A page under a service worker that answers with fetch(event.request) was served without the
  // client from its second load on (Chromium sends Sec-Fetch-Dest: empty then), and never reloaded.
  const h = (...pairs: [string, string][]): HeaderList => pairs;
  const passedOn = h(['sec-fetch-site', 'same-origin'], ['sec-fetch-mode', 'navigate'], ['sec-fetch-dest', 'empty'], ['accept', 'text/html,*/*;q=0.8']);
  assert.equal(isNavigationRequest(passedOn), true);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'Empty '], ['sec-fetch-mode', ' Navigate'], ['accept', 'TEXT/HTML'])), true);
  // A download (<a download>): the same mode and destination, no Accept; saved, never shown.
  assert.equal(isNavigationRequest(h(['sec-fetch-site', 'same-origin'], ['sec-fetch-mode', 'navigate'], ['sec-fetch-dest', 'empty'])), false);
  assert.equal(isDocumentNavigation(passedOn), true, 'the SPA fallback answers it too');
  // A fetch() or an XHR never has that mode; subresources never have that destination.
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'empty'], ['sec-fetch-mode', 'cors'], ['accept', 'text/html'])), false);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'empty'], ['sec-fetch-mode', 'same-origin'], ['accept', 'text/html'])), false);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'script'], ['sec-fetch-mode', 'navigate'])), false);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'iframe'], ['sec-fetch-mode', 'navigate'])), false, 'a frame seen as one stays uninjected');
});

test('navigation without Fetch Metadata: Accept text/html and not a fetch/XHR', () => {
  const h = (...pairs: [string, string][]): HeaderList => pairs;
  assert.equal(isNavigationRequest(h(['accept', 'text/html,application/xhtml+xml,*/*;q=0.8'])), true);
  assert.equal(isNavigationRequest(h(['accept', 'application/xhtml+xml, text/html;q=0.9'])), true);
  assert.equal(isNavigationRequest(h(['accept', '*/*'])), false);
  assert.equal(isNavigationRequest(h()), false);
  assert.equal(isNavigationRequest(h(['accept', 'text/htmlx'])), false);
  assert.equal(isNavigationRequest(h(['accept', 'text/html'], ['x-requested-with', 'XMLHttpRequest'])), false);
  assert.equal(isNavigationRequest(h(['accept', 'text/html'], ['sec-fetch-mode', 'cors'])), false);
  assert.equal(isNavigationRequest(h(['accept', 'text/html'], ['sec-fetch-mode', 'navigate'])), true);
});

test('the editor preview: a frame navigation whose target carries the preview marker is a navigation', () => {
  const h = (...pairs: [string, string][]): HeaderList => pairs;
  const frame = h(['sec-fetch-dest', 'iframe'], ['sec-fetch-mode', 'navigate'], ['accept', 'text/html']);
  assert.equal(isNavigationRequest(frame, '/page.html?__porthole_preview=1'), true);
  assert.equal(isNavigationRequest(frame, '/page.html?a=b&__porthole_preview'), true);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'frame']), '/?x=1&__porthole_preview=1#top'), true);
  // The page's own iframes, and look-alikes, are not.
  assert.equal(isNavigationRequest(frame, '/page.html'), false);
  assert.equal(isNavigationRequest(frame), false);
  assert.equal(isNavigationRequest(frame, '/page.html?x__porthole_preview=1'), false);
  assert.equal(isNavigationRequest(frame, '/page.html?__porthole_previewx=1'), false);
  assert.equal(isNavigationRequest(frame, '/__porthole_preview'), false);
  // The marker never turns a fetch or a script into a page.
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'empty'], ['accept', 'text/html']), '/p.html?__porthole_preview=1'), false);
  assert.equal(isNavigationRequest(h(['sec-fetch-dest', 'script']), '/p.js?__porthole_preview=1'), false);
  assert.equal(isPreviewTarget('/?__porthole_preview'), true);
  assert.equal(isPreviewTarget('/'), false);
});

test('ignore globs', () => {
  const m = compileGlobs(['.git/**', 'node_modules/**', '*.map', 'build/tmp/*.html', '**/cache/**', '/only-top.txt', '']);
  const yes = ['.git', '.git/HEAD', '.git/refs/heads/main', 'node_modules/x/index.js', 'a.map', 'deep/er/b.map',
    'build/tmp/x.html', 'cache/a', 'x/cache/y/z', 'only-top.txt'];
  const no = ['git/HEAD', 'src/.gitignore', 'src/node_modules_x/a', 'a.mapx', 'build/tmp/sub/x.html', 'x/only-top.txt',
    'index.html', 'cachex/a'];
  for (const p of yes) assert.equal(m(p), true, p);
  for (const p of no) assert.equal(m(p), false, p);
  assert.equal(compileGlobs(['**'])('any/thing'), true);
  assert.equal(compileGlobs(['a/**/b.css'])('a/b.css'), true);
  assert.equal(compileGlobs(['a/**/b.css'])('a/x/y/b.css'), true);
  assert.equal(compileGlobs(['docs/?.md'])('docs/a.md'), true);
  assert.equal(compileGlobs(['docs/?.md'])('docs/ab.md'), false);
  assert.equal(compileGlobs(['a+b (1).html'])('a+b (1).html'), true);
  // Case: kept by default; folded on request (a header rule where the file system folds names).
  assert.equal(compileGlobs(['admin/**'])('ADMIN/x.html'), false);
  assert.equal(compileGlobs(['admin/**'], true)('ADMIN/x.html'), true);
  assert.equal(compileGlobs(['**/*.wasm'], true)('a/B.WASM'), true);
});

test('the client\'s src is relative to the page (one ../ per directory), so it loads under a proxy\'s path prefix', () => {
  assert.equal(clientSrc('/'), './__porthole/client.js');
  assert.equal(clientSrc('/index.html?__porthole_preview=1'), './__porthole/client.js');
  assert.equal(clientSrc('/docs/'), '../__porthole/client.js');
  assert.equal(clientSrc('/a/b/page.html?x=/y/z'), '../../__porthole/client.js');
  // What a browser makes of it, directly and behind code-server's /proxy/<port>/ (which strips the prefix).
  for (const [pagePath, proxied] of [['/a/b/page.html', '/proxy/8123/a/b/page.html'], ['/', '/proxy/8123/']] as const) {
    const src = clientSrc(pagePath);
    assert.equal(new URL(src, `http://127.0.0.1:8123${pagePath}`).pathname, '/__porthole/client.js');
    assert.equal(new URL(src, `http://127.0.0.1:9000${proxied}`).pathname, '/proxy/8123/__porthole/client.js');
  }
});

test("editors' temporary files by name, and names that only look alike", () => {
  const temp = ['.index.html.swp', '.index.html.swo', '.index.html.swa', '.index.html.swx', '%home%me%site%a.css.swp', '4913',
    '5036', 'site.css~', '.site.css.un~', '#index.html#', '.#index.html', 'a.css___jb_tmp___', 'a.css___jb_old___',
    'a.css.vsctmp', 'a.css.crswap', '.subl3f2.tmp', '.subl.tmp', '.a.css.kate-swp', '.goutputstream-AB12CD', '.~lock.a.odt#',
    '~$report.docx', '.DS_Store', 'Thumbs.db'];
  const kept = ['index.html', 'movie.swf', 'a.swp.html', '4914', '1234', '4913.html', 'site.css', '#hash', 'a#b#c.html',
    'jb_tmp.css', 'a.tmp', 'x.sublime-project', 'a~b.css', '.swpfile', 'DS_Store'];
  for (const n of temp) assert.equal(isEditorTempFile(n), true, n);
  for (const n of kept) assert.equal(isEditorTempFile(n), false, n);
});

test('a page with <base href>: the tag goes before the base element (after a charset declaration before it), for either wish', () => {
  const cases: Array<[string, string]> = [
    // base first: right before it, even when the charset declaration follows.
    ['<head><base href="https://cdn.example/assets/"><meta charset="utf-8"><title>b</title></head><body>x</body>', '<head>@<base'],
    // charset first: after it, still before the base.
    ['<head><meta charset="utf-8"><base href="https://cdn.example/"><title>b</title></head><body>x</body>', '<meta charset="utf-8">@<base'],
    // A base element in the body still sets the base URL (the first in tree order does).
    ['<html><body><p>x</p><BASE HREF="//cdn.example/"><p>y</p></body></html>', '<p>x</p>@<BASE'],
    // Two: before the first.
    ['<head><title>t</title><base href="/a/"><base href="https://cdn.example/"></head><body></body>', '<title>t</title>@<base href="/a/">'],
  ];
  for (const wish of ['end', 'head'] as const) {
    for (const [html, expected] of cases) {
      const r = inject(html, wish);
      assert.equal(r.text.replace(TAG, '@').includes(expected), true, `${wish}: ${html} → ${r.text}`);
    }
  }
  // Any `<base` in the text counts, whatever parse5 makes of it: Chromium keeps a <base> inside
  // <select> (parse5 drops it) and then loaded the client from the base's origin. One in a
  // template or without href counts too (over-inclusive: the tag only has to come first).
  for (const html of [
    '<!doctype html><html><head><title>s</title></head><body><select><base href="http://127.0.0.1:9398/"><option>o</option></select><p>x</p></body></html>',
    '<body><select><option>a<base href="//cdn.example/"></select>x</body>',
    '<head><base target="_top"></head><body>x</body>',
    '<body><template><base href="https://cdn.example/"></template>x</body>',
    '<body><svg><base href="https://cdn.example/"></base></svg>x</body>',
  ]) {
    for (const wish of ['end', 'head'] as const) {
      const r = injectClientTag(Buffer.from(html), TAG, wish);
      assert.equal(r.kind, 'injected', html);
      if (r.kind !== 'injected') continue;
      const text = r.body.toString();
      assert.ok(text.indexOf(TAG) < text.search(/<base/i), `${wish}: ${text}`);
    }
  }
});

test('a page labelled with an encoding that is not ASCII-compatible is left alone; ASCII-compatible labels are injected', () => {
  const page = Buffer.from('<html><body>x</body></html>');
  for (const charset of ['utf-16le', 'UTF-16', 'utf-16be', 'unicodefffe', 'iso-2022-jp', 'csiso2022kr', 'hz-gb-2312']) {
    const plan = planPage(page, TAG, 'end', charset);
    assert.equal(plan.kind, 'unsupported', charset);
  }
  for (const charset of ['utf-8', 'windows-1252', 'ISO-8859-1', 'shift_jis', 'gbk', 'no-such-label', undefined]) {
    assert.equal(planPage(page, TAG, 'end', charset).kind, 'inject', String(charset));
  }
});

test('a long page placed early is planned from a parse up to its body\'s start: the same plan as a parse of the whole page, whatever its head holds (helper-139)', () => {
  // What follows the heads below: enough to pass EARLY_PARSE_MIN_CHARS, and a second time that.
  const pad = (n: number): string => Array.from({ length: n }, (_, i) => `<p>line ${i}</p>\n`).join('');
  const heads: string[] = [
    '<!doctype html><html><head><meta charset=utf-8><title>t</title></head><body>',
    '<!doctype html><html lang=en><head><title>no charset</title></head><body class=x>',
    '<!doctype html><title>no head tag</title><p>implied body</p>',
    '<!doctype html><html><head><meta charset=utf-8><base href="/sub/"></head><body>',
    '<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="script-src \'self\'"></head><body>',
    '<!doctype html><html><head><script>document.write("<body>")</script><!-- <body> --></head><body>',
    '<!doctype html><html><head><title>t</title></head>\n<meta charset=utf-8><link rel=stylesheet href=a.css>\n<body>',
    `<!doctype html><html><head><meta charset=utf-8><style>${'/* a long style */\n'.repeat(2000)}</style></head><body>`,
    '<!doctype html><html><head><template><body><meta charset=latin1></template><noscript><link rel=x href=y></noscript></head><body>',
    '<!doctype html><html><head></head>hello text implies the body<p>',
    '\ufeff<!doctype html><html><head><meta charset=utf-8></head><body>',
    '<!doctype html><html><head><title>t</title></head><body data-porthole-no-reload>',
    '<!doctype html><html><head><title>t</title></head><body><p>',
    '<!doctype html><html><head><title>t</title><!-- a comment that never ends ',
    '<!doctype html><html><head><title>frames</title></head><frameset><frame src=a.html>',
    '<!-- saved from url=(0014)about:internet -->\n<html><head><meta charset=utf-8></head><body>',
  ];
  const tails: string[] = [
    '</body></html>',
    '<body data-PORTHOLE-no-reload></body>',
    '<base href="https://elsewhere.example/"></body>',
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'"><svg><p>',
  ];
  let early = 0;
  for (const head of heads) {
    for (const tail of tails) {
      for (const lines of [1500, 3000]) {
        const page = Buffer.from(head + pad(lines) + tail, head.startsWith('\ufeff') ? 'utf8' : 'latin1');
        for (const wish of ['head', 'end'] as PlacementWish[]) {
          const whole = planPage(page, TAG, wish, undefined, Infinity);
          assert.deepEqual(planPage(page, TAG, wish), whole, `${wish}: ${head} … ${tail} (${page.length} bytes)`);
          if (wish === 'head' && whole.kind === 'inject' && whole.offset < 2048) early++;
        }
      }
    }
  }
  assert.ok(early > 50, `most pages take the tag early: ${early}`);
});
