/**
 * Content-Type over TCP (issue 11, items 1 and 2).
 *
 * Encodings: `charset=utf-8` only for bytes that are UTF-8 (or ASCII); otherwise the encoding the
 * file declares (BOM, `<meta charset>`, `<meta http-equiv>`, `@charset`, the XML declaration) or
 * no charset at all. For cached files, streamed (over 1 MiB) files, the root's 404.html, and pages
 * rewritten by live reload.
 *
 * Types: a name that gives no type (no extension, an unknown one) is typed by its bytes after the
 * WHATWG MIME Sniffing Standard; application/octet-stream only when nothing matches.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Running } from './harness';
import { fetchOnce, request } from './raw-client';

const MIB = 1024 * 1024;
const NAV = ['Sec-Fetch-Dest: document', 'Sec-Fetch-Mode: navigate', 'Accept: text/html'];

/** GBK bytes of 你好，世界 (hello, world) and 中文 (Chinese), spelled out: Node cannot encode GBK. */
const GBK_HELLO = Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0xa3, 0xac, 0xca, 0xc0, 0xbd, 0xe7]);
const GBK_CHINESE = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);
/** Shift_JIS bytes of 日本 (Japan). */
const SJIS_JAPAN = Buffer.from([0x93, 0xfa, 0x96, 0x7b]);

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');

function gbkPage(meta: string, filler = 0): Buffer {
  return Buffer.concat([
    ascii(`<!DOCTYPE html>\n<html><head>${meta}<title>`),
    GBK_CHINESE,
    ascii('</title></head><body><p id="t">'),
    GBK_HELLO,
    ascii('</p>'),
    ascii(`<!-- ${'x'.repeat(filler)} -->`),
    ascii('</body></html>\n'),
  ]);
}

/**
 * A UTF-8 page (`café`) whose head declares `charset` only past the prescan's 1024 bytes, after
 * a run of social-card metas (helper-120), or after its `<body>` when `inBody`; `filler` bytes of
 * comment after it (a streamed page).
 */
function lateMetaPage(charset: string, inBody = false, filler = 0): Buffer {
  const cards = Array.from({ length: 25 }, (_, i) => `<meta property="og:card${i}" content="a social card field, long enough">`).join('\n');
  const meta = `<meta http-equiv="Content-Type" content="text/html; charset=${charset}">`;
  return Buffer.from(
    `<!DOCTYPE html>\n<html><head>${cards}\n${inBody ? '' : meta}<title>late</title></head><body>${inBody ? meta : ''}<p>caf\u00e9</p><!-- ${'x'.repeat(filler)} --></body></html>\n`,
    'utf8',
  );
}

/** A PNG signature and the start of an IHDR chunk. */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);

/** name → [bytes, the Content-Type it must get]. */
const FILES: Record<string, [Buffer, string]> = {
  // Item 1: encodings.
  'gbk.html': [gbkPage('<meta charset="gbk">'), 'text/html; charset=gbk'],
  'gb2312.html': [gbkPage('<meta charset=GB2312>'), 'text/html; charset=gbk'],
  'sjis.html': [
    Buffer.concat([ascii('<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head><body>'), SJIS_JAPAN, ascii('</body></html>')]),
    'text/html; charset=shift_jis',
  ],
  'declared-in-comment.html': [gbkPage('<!-- <meta charset="gbk"> -->'), 'text/html'],
  'utf16-meta.html': [ascii('<meta charset="utf-16"><p>ascii only</p>'), 'text/html; charset=utf-8'],
  'utf8.html': [Buffer.from('<!doctype html><meta charset="utf-8"><p>Grüße 🎉</p>'), 'text/html; charset=utf-8'],
  'undeclared-utf8.html': [Buffer.from('<!doctype html><p>Grüße</p>'), 'text/html; charset=utf-8'],
  'undeclared-gbk.html': [gbkPage(''), 'text/html'],
  // A declaration past 1024 bytes, in the head: no charset over it (Chromium acts on it while its
  // encoding is tentative; a header charset made it certain, UTF-8); UTF-8 ones and one after
  // <body> change nothing.
  'late-latin1.html': [lateMetaPage('iso-8859-1'), 'text/html'],
  'late-sjis.html': [lateMetaPage('Shift_JIS'), 'text/html'],
  'late-utf8.html': [lateMetaPage('utf-8'), 'text/html; charset=utf-8'],
  'late-in-body.html': [lateMetaPage('iso-8859-1', true), 'text/html; charset=utf-8'],
  // Past 1024 bytes Chromium's scan looks only while the page is in its head: any tag but
  // script, noscript, style, link, meta, object, title and base ends it (helper-174: no charset
  // for these made a UTF-8 page windows-1252 in Chromium); a noscript's content is markup to it,
  // and a long head is read to its end (here past 64 KiB).
  'late-after-div.html': [Buffer.from(`<head><div></div><!--${'x'.repeat(1100)}--><meta charset=windows-1252></head><p>h\u00e9llo \u20ac</p>`, 'utf8'), 'text/html; charset=utf-8'],
  'late-after-p.html': [Buffer.from(`<p>${'a'.repeat(1100)}<meta charset=windows-1252><p>h\u00e9llo \u20ac</p>`, 'utf8'), 'text/html; charset=utf-8'],
  'late-after-template.html': [Buffer.from(`<head><template></template><!--${'x'.repeat(1100)}--><meta charset=windows-1252></head><p>h\u00e9llo \u20ac</p>`, 'utf8'), 'text/html; charset=utf-8'],
  'late-after-svg.html': [Buffer.from(`<head><svg></svg><!--${'x'.repeat(1100)}--><meta charset=windows-1252></head><p>h\u00e9llo \u20ac</p>`, 'utf8'), 'text/html; charset=utf-8'],
  'late-in-noscript.html': [Buffer.from(`<head><!--${'x'.repeat(1100)}--><noscript><meta charset=windows-1252></noscript></head><p>h\u00e9llo \u20ac</p>`, 'utf8'), 'text/html'],
  'late-long-head.html': [Buffer.from(`<head><!--${'x'.repeat(70_000)}--><meta charset=windows-1252></head><p>h\u00e9llo \u20ac</p>`, 'utf8'), 'text/html'],
  // An XML declaration at a page's start declares, as in Chromium, in 8 bits or UTF-16 without a BOM.
  'xml-declared.html': [Buffer.from('<?xml version="1.0" encoding="windows-1252"?><p>h\u00e9llo \u20ac</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'xml-utf16.html': [Buffer.from('<?xml v=""?><p>hi</p>', 'utf16le'), 'text/html; charset=utf-16le'],
  // Beginnings that look plain and are not: the tokenizer decides (an unquoted value takes the
  // `/`; a second attribute; a comment first).
  'unquoted-slash.html': [Buffer.from('<!doctype html><meta charset=windows-1252/><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=utf-8'],
  'plain-then-repeat.html': [Buffer.from('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="windows-1252" charset="utf-8"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=utf-8'],
  'plain-after-comment.html': [Buffer.from('<!doctype html><!-- <meta charset="utf-8"> --><meta charset="windows-1252"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'plain.html': [Buffer.from('<!DOCTYPE html>\n<html lang="en" class="no-js">\n<head>\n<meta charset=\'windows-1252\'>\n<title>p</title><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  // 7-bit ISO-2022-JP is valid UTF-8: no charset, so the browser detects it.
  'iso2022jp.txt': [Buffer.from('\x1b$BF|K\\8l\x1b(B text\n', 'latin1'), 'text/plain'],
  'terminal.log': [Buffer.from('\x1b[31mred\x1b[0m plain\n', 'latin1'), 'text/plain; charset=utf-8'],
  // A declaration's text in a head script's string, or a style, is none (helper-122).
  'late-in-script.html': [
    Buffer.from(`<!DOCTYPE html><html><head><script>/* ${'x'.repeat(1100)} */ var doc = '<meta charset="iso-8859-1">';</script><style>/* <meta charset=sjis> */</style><title>s</title></head><body><p>caf\u00e9</p></body></html>\n`, 'utf8'),
    'text/html; charset=utf-8',
  ],
  // A declaration's text in the first 1024 bytes, in a script's string, a style or a title: none,
  // as Chromium's scan sees it; the page's real declaration, or UTF-8 for UTF-8 bytes, is stated
  // (helper-172: `charset=windows-1252` over a UTF-8 page, and Chromium showed `cafÃ©`).
  'early-in-script.html': [
    Buffer.from(`<!doctype html><html><head><script>const legacy = '<meta charset="iso-8859-1">';</script><meta charset="utf-8"><title>T</title></head><body><p>caf\u00e9 \u2603</p></body></html>`, 'utf8'),
    'text/html; charset=utf-8',
  ],
  'early-in-style.html': [Buffer.from('<!doctype html><style>/* <meta charset="windows-1252"> */</style><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=utf-8'],
  'early-in-title.html': [Buffer.from('<!doctype html><title><meta charset="windows-1252"></title><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=utf-8'],
  'early-in-script-latin1.html': [ascii(`<!doctype html><script>var x = '<meta charset="utf-8">';</script><meta charset="windows-1252"><p>caf\u00e9</p>`), 'text/html; charset=windows-1252'],
  // Chromium's scan tokenizes with scripting off and knows no template: a declaration in a
  // noscript or a template counts there (as in the prescan); one in a textarea does not.
  'early-in-noscript.html': [Buffer.from('<!doctype html><noscript><meta charset="windows-1252"></noscript><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'early-in-template.html': [Buffer.from('<!doctype html><template><meta charset="windows-1252"></template><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'early-in-textarea.html': [Buffer.from('<!doctype html><textarea><meta charset="windows-1252"></textarea><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=utf-8'],
  // End tags and comments as the tokenizer ends them (helper-173): the declaration after them stands.
  'end-tag-slash.html': [Buffer.from('<!doctype html><script>x</script/><meta charset="windows-1252"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'end-tag-attribute.html': [Buffer.from('<!doctype html><style>x</style foo=bar><meta charset="windows-1252"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'bang-comment.html': [Buffer.from('<!doctype html><!--x--!><meta charset="windows-1252"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  // Markup inside an attribute's value is text; a repeated attribute is the first one's; a
  // character reference in a value is decoded (the tokenizer's reading, not a byte scan's).
  'script-in-attribute.html': [Buffer.from('<!doctype html><link title="<script>"><meta charset="windows-1252"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'comment-in-attribute.html': [Buffer.from('<!doctype html><link title="<!--"><meta charset="windows-1252"><link title="-->"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  // Chromium reads a meta's attributes as written: the last `charset` decides, a `content` after
  // a `charset` is ignored, and an unquoted charset ends at a quote (pages opened from disk there).
  'repeated-charset.html': [Buffer.from('<!doctype html><meta charset="windows-1252" charset="utf-8"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=utf-8'],
  'repeated-charset-unknown.html': [ascii('<!doctype html><meta charset="iso-8859-2" charset="bogus"><p>caf\u00e9</p>'), 'text/html'],
  'charset-after-content.html': [ascii('<!doctype html><meta http-equiv="content-type" content="text/html; charset=iso-8859-2" charset="windows-1252"><p>caf\u00e9</p>'), 'text/html; charset=windows-1252'],
  'content-after-charset.html': [ascii('<!doctype html><meta charset="windows-1252" http-equiv="content-type" content="text/html; charset=iso-8859-2"><p>caf\u00e9</p>'), 'text/html; charset=windows-1252'],
  'content-quote-ends.html': [ascii(`<!doctype html><meta http-equiv="content-type" content="text/html; charset=iso-8859-2'x"><p>caf\u00e9</p>`), 'text/html; charset=iso-8859-2'],
  'reference-charset.html': [Buffer.from('<!doctype html><meta charset="&#119;indows-1252"><p>caf\u00e9</p>', 'utf8'), 'text/html; charset=windows-1252'],
  'late-in-attribute.html': [
    Buffer.from(`<!DOCTYPE html><html><head><title>t</title><link title="<script>${'x'.repeat(1100)}"><meta charset="iso-8859-1"></head><body><p>caf\u00e9</p></body></html>`, 'utf8'),
    'text/html',
  ],
  // A declaration begun within the 1024 bytes and ended past them counts, as in Chromium.
  'straddling-meta.html': [Buffer.from(`<!doctype html><div>${'x'.repeat(1017 - 20)}</div><meta charset="windows-1252"><p>caf\u00e9</p>`, 'utf8'), 'text/html; charset=windows-1252'],
  // After <plaintext> everything is text.
  'plaintext-meta.html': [Buffer.from('<!doctype html><body><plaintext><meta charset="shift_jis">caf\u00e9', 'utf8'), 'text/html; charset=utf-8'],
  // In a comment, a script's start tag is comment: the declaration after it stands.
  'script-in-comment.html': [gbkPage('<!-- <script> --><meta charset="gbk">'), 'text/html; charset=gbk'],
  'utf8-bom.txt': [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('bom')]), 'text/plain; charset=utf-8'],
  'utf16le.txt': [Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hi', 'utf16le')]), 'text/plain; charset=utf-16le'],
  'utf16be.txt': [Buffer.from([0xfe, 0xff, 0x00, 0x68, 0x00, 0x69]), 'text/plain; charset=utf-16be'],
  'latin1.txt': [ascii('caf\u00e9 cr\u00e8me\n'), 'text/plain'],
  'ascii.txt': [ascii('plain ascii\n'), 'text/plain; charset=utf-8'],
  'gbk.js': [Buffer.concat([ascii('document.title = "'), GBK_HELLO, ascii('";\n')]), 'text/javascript'],
  'utf8.js': [Buffer.from('document.title = "你好";\n'), 'text/javascript; charset=utf-8'],
  'latin1.css': [ascii('@charset "iso-8859-1";\nbody::after { content: "caf\u00e9"; }\n'), 'text/css; charset=windows-1252'],
  'late-charset.css': [ascii('body {}\n@charset "iso-8859-1";\n/* caf\u00e9 */\n'), 'text/css'],
  'gbk-charset.css': [Buffer.concat([ascii('@charset "gbk";\nbody::after { content: "'), GBK_HELLO, ascii('"; }\n')]), 'text/css; charset=gbk'],
  'latin1.xml': [ascii('<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\u00e9</a>'), 'application/xml; charset=windows-1252'],
  'data.json': [Buffer.from('{"a":"ü"}'), 'application/json; charset=utf-8'],
  // Item 2: names without a type.
  about: [ascii('<!DOCTYPE html>\n<html><head><title>About</title></head><body><h1>About us</h1></body></html>\n'), 'text/html; charset=utf-8'],
  'about-gbk': [gbkPage('<meta charset="gbk">'), 'text/html; charset=gbk'],
  'spaced-page': [ascii('\n\n  \t<p>paragraph first</p>'), 'text/html; charset=utf-8'],
  'page.unknownext': [ascii('<html><body>x</body></html>'), 'text/html; charset=utf-8'],
  'comment-first': [ascii('<!-- a comment --><div>x</div>'), 'text/html; charset=utf-8'],
  feed: [ascii('<?xml version="1.0"?><rss></rss>'), 'text/xml; charset=utf-8'],
  LICENSE: [ascii('MIT License\n\nPermission is hereby granted...\n'), 'text/plain; charset=utf-8'],
  'notes-latin1': [ascii('caf\u00e9\n'), 'text/plain'],
  Makefile: [ascii('all:\n\techo hi\n'), 'text/plain; charset=utf-8'],
  logo: [PNG, 'image/png'],
  anim: [Buffer.concat([ascii('GIF89a'), Buffer.from([1, 0, 1, 0, 0, 0, 0])]), 'image/gif'],
  photo: [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0]), 'image/jpeg'],
  pic: [Buffer.concat([ascii('RIFF'), Buffer.from([0, 0, 0, 0]), ascii('WEBPVP8 '), Buffer.from([0, 0])]), 'image/webp'],
  doc: [ascii('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n'), 'application/pdf'],
  archive: [Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]), Buffer.alloc(20)]), 'application/zip'],
  packed: [Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]), 'application/x-gzip'],
  movie: [
    Buffer.concat([Buffer.from([0, 0, 0, 0x18]), ascii('ftypmp42'), Buffer.from([0, 0, 0, 0]), ascii('isommp42'), Buffer.alloc(8)]),
    'video/mp4',
  ],
  clip: [
    Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84]), ascii('webm'), Buffer.alloc(8)]),
    'video/webm',
  ],
  song: [Buffer.concat([ascii('ID3'), Buffer.from([4, 0, 0, 0, 0, 0, 0])]), 'audio/mpeg'],
  font: [Buffer.concat([ascii('wOF2'), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])]), 'font/woff2'],
  module: [Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), 'application/wasm'],
  blob: [Buffer.from([0x13, 0x37, 0x00, 0x01, 0x02, 0xfe, 0xff, 0x10]), 'application/octet-stream'],
  'explicit.bin': [ascii('<html><body>a .bin stays octet-stream</body></html>'), 'application/octet-stream'],
  // helper-49: mime-db's application/node for .cjs is refused as a script; its video/mp2t for .ts
  // made a TypeScript source download as a video. A real transport stream still is one.
  'lib.cjs': [ascii('module.exports = 1;\n'), 'text/javascript; charset=utf-8'],
  // A JSONP answer, an ES2015 module named .es6 and a Firefox-style .jsm module are JavaScript;
  // no registry knows the names, so the bytes made them text/plain, which under nosniff a
  // <script src> refuses to run. mime-db's .ecma type, application/ecmascript, is obsolete (RFC
  // 9239) and gets no charset: a UTF-8 script in a page of another encoding was misread.
  'callback.jsonp': [ascii('handle({"id":42});\n'), 'text/javascript; charset=utf-8'],
  'UPPER.JSONP': [ascii('handle({"id":43});\n'), 'text/javascript; charset=utf-8'],
  'module.es6': [ascii('export const six = 6;\n'), 'text/javascript; charset=utf-8'],
  'firefox.jsm': [ascii('var EXPORTED_SYMBOLS = ["x"];\n'), 'text/javascript; charset=utf-8'],
  'legacy.ecma': [Buffer.from('var word = "caf\u00e9";\n', 'utf8'), 'text/javascript; charset=utf-8'],
  'main.ts': [ascii('const answer: number = 42;\nexport default answer;\n'), 'text/plain; charset=utf-8'],
  'app.tsx': [ascii('export const App = () => <div>hi</div>;\n'), 'text/plain; charset=utf-8'],
  'mod.mts': [ascii('export const x: string = "y";\n'), 'text/plain; charset=utf-8'],
  // helper-139: mime-db's XML type for .rs (RLS services) had a Rust source rendered as XML;
  // its Lotus Organizer type for .org, an Emacs Org file downloaded. The bytes decide.
  'main.rs': [ascii('fn main() {\n    println!("hi");\n}\n'), 'text/plain; charset=utf-8'],
  'notes.org': [ascii('* TODO ship it\n'), 'text/plain; charset=utf-8'],
  'segment0.ts': [Buffer.concat(Array.from({ length: 4 }, () => Buffer.concat([Buffer.from([0x47, 0x40, 0x00, 0x10]), Buffer.alloc(184, 0xff)]))), 'video/mp2t'],
};

let root: string;
let root404: string;
let srv: Running;
let live: Running;
let srv404: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'porthole-types-'));
  for (const [name, [bytes]] of Object.entries(FILES)) await writeFile(join(root, name), bytes);
  // Streamed (too big for the file cache): decided from the first bytes and a UTF-8 scan.
  await mkdir(join(root, 'big'));
  await writeFile(join(root, 'big', 'gbk.html'), gbkPage('<meta charset="gbk">', 2 * MIB));
  await writeFile(join(root, 'big', 'late-latin1.html'), lateMetaPage('iso-8859-1', false, 2 * MIB));
  await writeFile(join(root, 'big', 'about'), gbkPage('<meta charset="utf-8">', 2 * MIB));
  await writeFile(join(root, 'big', 'utf8.txt'), Buffer.concat([ascii('a'.repeat(2 * MIB)), Buffer.from('Grüße\n')]));
  // ASCII for 2 MiB, then one Latin-1 byte: not UTF-8, however late the proof.
  await writeFile(join(root, 'big', 'latin1.txt'), Buffer.concat([ascii('a'.repeat(2 * MIB)), ascii('caf\u00e9\n')]));
  await writeFile(join(root, 'big', 'movie'), Buffer.concat([FILES.movie?.[0] ?? Buffer.alloc(0), Buffer.alloc(2 * MIB, 7)]));
  root404 = await mkdtemp(join(tmpdir(), 'porthole-types-404-'));
  await writeFile(join(root404, '404.html'), gbkPage('<meta charset="gbk">'));
  srv = await startServer({ root, reload: { enabled: false } });
  live = await startServer({ root, reload: { enabled: true } });
  srv404 = await startServer({ root: root404, reload: { enabled: false } });
});

after(async () => {
  await Promise.all([srv.close(), live.close(), srv404.close()]);
  await rm(root, { recursive: true, force: true });
  await rm(root404, { recursive: true, force: true });
});

describe('each file gets the Content-Type its bytes call for', () => {
  for (const [name, [bytes, type]] of Object.entries(FILES)) {
    test(`/${name} → ${type}`, async () => {
      // Twice: the first answer fills the file cache, the second comes from it.
      for (let i = 0; i < 2; i++) {
        const res = await fetchOnce(srv.port, request(`/${name}`));
        assert.equal(res.status, 200);
        assert.equal(res.header('content-type'), type, `${name}, answer ${i + 1}`);
        assert.deepEqual(res.body, bytes, 'the bytes are sent as they are');
      }
    });
  }

  test('the GBK fixture really is GBK for 你好，世界', () => {
    assert.equal(new TextDecoder('gbk').decode(GBK_HELLO), '你好，世界');
    assert.equal(new TextDecoder('shift_jis').decode(SJIS_JAPAN), '日本');
  });

  test('a range of a GBK page carries the page charset, in a single and a multipart answer', async () => {
    const one = await fetchOnce(srv.port, request('/gbk.html', { headers: ['Range: bytes=0-9'] }));
    assert.equal(one.status, 206);
    assert.equal(one.header('content-type'), 'text/html; charset=gbk');
    const many = await fetchOnce(srv.port, request('/gbk.html', { headers: ['Range: bytes=0-1,4-5'] }));
    assert.equal(many.status, 206);
    assert.match(many.body.toString('latin1'), /Content-Type: text\/html; charset=gbk\r\n/);
  });
});

describe('streamed files (over 1 MiB) are decided once from their bytes', () => {
  const cases: Array<[string, string]> = [
    ['/big/gbk.html', 'text/html; charset=gbk'],
    ['/big/late-latin1.html', 'text/html'],
    ['/big/about', 'text/html; charset=utf-8'],
    ['/big/utf8.txt', 'text/plain; charset=utf-8'],
    ['/big/latin1.txt', 'text/plain'],
    ['/big/movie', 'video/mp4'],
  ];
  for (const [target, type] of cases) {
    test(`${target} → ${type} (GET, HEAD and a range)`, async () => {
      const get = await fetchOnce(srv.port, request(target));
      assert.equal(get.header('content-type'), type);
      const head = await fetchOnce(srv.port, request(target, { method: 'HEAD' }), { head: true });
      assert.equal(head.header('content-type'), type);
      const ranged = await fetchOnce(srv.port, request(target, { headers: ['Range: bytes=0-99'] }));
      assert.equal(ranged.status, 206);
      assert.equal(ranged.header('content-type'), type);
    });
  }
});

describe('the root 404.html and live reload pages keep the page encoding', () => {
  test('a GBK 404.html is a 404 with charset=gbk', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetchOnce(srv404.port, request('/nope'));
      assert.equal(res.status, 404);
      assert.equal(res.header('content-type'), 'text/html; charset=gbk');
      assert.ok(res.body.includes(GBK_HELLO));
    }
  });

  for (const [target, type] of [
    ['/gbk.html', 'text/html; charset=gbk'],
    ['/sjis.html', 'text/html; charset=shift_jis'],
    ['/undeclared-gbk.html', 'text/html'],
    ['/about-gbk', 'text/html; charset=gbk'],
    ['/big/gbk.html', 'text/html; charset=gbk'],
  ] as const) {
    test(`a navigation to ${target} is rewritten (reload tag) and says ${type}`, async () => {
      const res = await fetchOnce(live.port, request(target, { headers: NAV }));
      assert.equal(res.status, 200);
      assert.equal(res.header('content-type'), type);
      assert.match(res.body.toString('latin1'), /data-porthole-client/);
    });
  }

  test('an extensionless page is rewritten on navigation; extensionless text is sent as it is', async () => {
    const page = await fetchOnce(live.port, request('/about', { headers: NAV }));
    assert.equal(page.header('content-type'), 'text/html; charset=utf-8');
    assert.match(page.body.toString(), /data-porthole-client/);
    const text = await fetchOnce(live.port, request('/LICENSE', { headers: NAV }));
    assert.equal(text.header('content-type'), 'text/plain; charset=utf-8');
    assert.deepEqual(text.body, FILES.LICENSE?.[0]);
    const image = await fetchOnce(live.port, request('/logo', { headers: NAV }));
    assert.equal(image.header('content-type'), 'image/png');
    assert.deepEqual(image.body, PNG);
  });
});
