/**
 * The one sanitiser for client-controlled text (escapeForDisplay) and the core's two line
 * formatters that use it or the log file's own escaping: no C0/C1 control, DEL, bidi override or
 * isolate, or line separator survives; each is shown escaped (`\x1b`, `\u202e`); printable text,
 * non-Latin scripts included, is kept as it is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeForDisplay, formatShortLine, methodForDisplay } from '../../src/core';
import { formatCombinedLine } from '../../src/core/log/request-log';
import { cutForDisplay, escapeLinesForDisplay } from '../../src/core/text/display-text';
import { requestRecord } from '../fixtures/request-record';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './harness';
import { fetchOnce } from './raw-client';

/** Kept although Unicode draws them as nothing: ZWJ and the variation selectors (emoji, CJK). */
const KEPT_INVISIBLE = (code: number): boolean => code === 0x200d || (code >= 0xfe00 && code <= 0xfe0f) || (code >= 0xe0100 && code <= 0xe01ef);

/** Every character a terminal or a bidi renderer acts on (C0, DEL, C1, marks, separators, bidi), and every one drawn as nothing (UAX #44 Default_Ignorable_Code_Point) but KEPT_INVISIBLE. */
const UNSAFE = (code: number): boolean =>
  (/\p{Default_Ignorable_Code_Point}/u.test(String.fromCodePoint(code)) && !KEPT_INVISIBLE(code)) ||
  code <= 0x1f ||
  (code >= 0x7f && code <= 0x9f) ||
  code === 0x061c ||
  code === 0x200e ||
  code === 0x200f ||
  code === 0x2028 ||
  code === 0x2029 ||
  (code >= 0x202a && code <= 0x202e) ||
  (code >= 0x2066 && code <= 0x2069) ||
  // Every space but the space itself (Unicode's Zs), drawn as a space (helper-119).
  (/\p{Space_Separator}/u.test(String.fromCodePoint(code)) && code !== 0x20) ||
  // The blank Braille pattern, drawn as a space by most terminal fonts (helper-122).
  code === 0x2800 ||
  // Every format character (Cf) but the ZWJ: U+FFF9–U+FFFB are no Default_Ignorable_Code_Point (helper-169).
  (/\p{Cf}/u.test(String.fromCodePoint(code)) && !KEPT_INVISIBLE(code));

function hasUnsafe(text: string): boolean {
  for (const c of text) if (UNSAFE(c.codePointAt(0) ?? 0)) return true;
  return false;
}

void test('the issue\'s input: ESC and BEL shown escaped, nothing else changed', () => {
  const decoded = '/.\u001b]0;X\u0007\u001b[2J\u001b[H';
  assert.equal(escapeForDisplay(decoded), '/.\\x1b]0;X\\x07\\x1b[2J\\x1b[H');
});

void test('every code unit from U+0000 to U+FFFF: unsafe ones escaped, the rest kept', () => {
  for (let code = 0; code <= 0xffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    const c = String.fromCharCode(code);
    const out = escapeForDisplay(`a${c}b`);
    if (UNSAFE(code)) {
      const expected = code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      assert.equal(out, `a${expected}b`, `U+${code.toString(16)}`);
    } else {
      assert.equal(out, `a${c}b`, `U+${code.toString(16)} is kept`);
    }
  }
});

void test('characters drawn as nothing are escaped, so two names that differ by them never look the same; emoji and CJK variants are kept', () => {
  // helper-69: /a\u200bb.html and /ab.html showed the same in the Output and the terminal.
  assert.equal(escapeForDisplay('/a\u200bb.html'), '/a\\u200bb.html');
  assert.equal(escapeForDisplay('\ufeffsoft\u00adhyphen\u2060\u2064\u3164'), '\\ufeffsoft\\xadhyphen\\u2060\\u2064\\u3164');
  // Tag characters spell hidden ASCII (U+E0041 is an invisible "A").
  assert.equal(escapeForDisplay('ok\u{e0041}\u{e007f}'), 'ok\\u{e0041}\\u{e007f}');
  for (const kept of ['\u2764\ufe0f', '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}', '\u845b\u{e0100}', 'caf\u00e9']) assert.equal(escapeForDisplay(kept), kept);
  for (let code = 0x10000; code <= 0x10ffff; code += code >= 0xe0000 && code <= 0xe01ff ? 1 : 0x101) {
    const c = String.fromCodePoint(code);
    assert.equal(escapeForDisplay(c), UNSAFE(code) ? `\\u{${code.toString(16)}}` : c, `U+${code.toString(16)}`);
  }
});

void test('a target or method that spells an escape itself never reads as one holding the character: a backslash before x or u is \\x5c; other backslashes are kept (helper-169)', () => {
  // Before: `GET /a.txt?\x1b[2J\u202e 200` was printed for the literal text and for a real ESC and RLO alike.
  const line = (target: string, method = 'GET'): string => formatShortLine(requestRecord({ method, target, status: 200 }));
  assert.ok(line('/a.txt?\\x1b[2J\\u202e').includes(' GET /a.txt?\\x5cx1b[2J\\x5cu202e 200 '), line('/a.txt?\\x1b[2J\\u202e'));
  // The target as the parser keeps it: one latin1 character per byte of the UTF-8 sent.
  const real = Buffer.from('/a.txt?\u001b[2J\u202e', 'utf8').toString('latin1');
  assert.ok(line(real).includes(' GET /a.txt?\\x1b[2J\\u202e 200 '), line(real));
  assert.ok(line('/a\\b\\').includes(' GET /a\\b\\ 200 '), 'other backslashes are kept');
  // Each way of writing it differs from the others once shown; so do the raw byte and its spelling.
  const spelt = ['/\\x1b', '/\u001b', '/\\x5cx1b', '/\\\\x1b', '/\\u{1b}', '/\\u001b', '/\u00ff', '/\\xff', real, '/a.txt?\\x1b[2J\\u202e'];
  const shown = spelt.map((t) => line(t));
  assert.equal(new Set(shown).size, spelt.length, JSON.stringify(shown));
  assert.equal(methodForDisplay('G\\x45T'), 'G\\x5cx45T');
  assert.notEqual(methodForDisplay('G\\xc3T'), methodForDisplay('G\u00c3T'));
});

void test('format characters (Cf) are escaped: U+FFF9–U+FFFB are no Default_Ignorable_Code_Point yet hid the text between them (helper-169)', () => {
  assert.equal(escapeForDisplay('/a\ufff9b\ufffac\ufffb'), '/a\\ufff9b\\ufffac\\ufffb');
  assert.equal(escapeForDisplay('\u0600\u{13430}\u{1d173}'), '\\u0600\\u{13430}\\u{1d173}');
  assert.equal(escapeForDisplay('C:\\Users\\me\\x64'), 'C:\\Users\\me\\x64', 'a path a person gave is not the request fields\' matter');
});

void test('bidi overrides and isolates, C1 CSI, DEL, CR LF and separators', () => {
  assert.equal(escapeForDisplay('evil\u202Etxt.exe'), 'evil\\u202etxt.exe');
  assert.equal(escapeForDisplay('\u2066\u2067\u2068\u2069'), '\\u2066\\u2067\\u2068\\u2069');
  assert.equal(escapeForDisplay('\u202A\u202B\u202C\u202D'), '\\u202a\\u202b\\u202c\\u202d');
  assert.equal(escapeForDisplay('\u009B2J\u007F'), '\\x9b2J\\x7f');
  assert.equal(escapeForDisplay('a\r\nb\u2028c\u2029d'), 'a\\x0d\\x0ab\\u2028c\\u2029d');
  // OSC 52 (clipboard) and OSC 8 (hyperlink) lose their introducer and terminator.
  assert.ok(!hasUnsafe(escapeForDisplay('\u001b]52;c;ZXZpbA==\u0007\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\')));
  // Printable text of every script stays readable.
  assert.equal(escapeForDisplay('/ü/日本/مرحبا/é €'), '/ü/日本/مرحبا/é €');
  assert.equal(escapeForDisplay(''), '');
  // Astral characters (surrogate pairs) are kept whole.
  assert.equal(escapeForDisplay('😀'), '😀');
});

void test('the CLI line: host name, method, target and note escaped', () => {
  const line = formatShortLine(
    requestRecord({
      clientHost: 'ptr.\u001b]0;owned\u0007.example',
      method: 'GET',
      target: '/.%1b]0;X%07',
      status: 404,
      note: 'Dotfiles are not served: .\u001b]0;X\u0007\u001b[2J\u202E',
    }),
  );
  assert.ok(!hasUnsafe(line), JSON.stringify(line));
  assert.match(line, /\(ptr\.\\x1b\]0;owned\\x07\.example\)/);
  assert.ok(line.endsWith('— Dotfiles are not served: .\\x1b]0;X\\x07\\x1b[2J\\u202e'), line);
  const hostNote = formatShortLine(requestRecord({ status: 403, note: 'Host not allowed: a\u0085b\u009b' }));
  assert.ok(hostNote.endsWith('Host not allowed: a\\x85b\\x9b'), hostNote);
});

void test('the CLI line cannot be made to read as another request: a method\'s bytes from 0x80 up are \\xhh, and no space but the space itself is shown as one (helper-119)', () => {
  // Before: `GET\xa0/.env\xa0200\xa0812B\xa00ms` as a method (latin1 bytes) and U+00A0, U+3000,
  // U+2003 in a target were drawn as spaces: the line read "GET /.env 200 812B 0ms" before its
  // real status.
  const method = 'GET\u00a0/.env\u00a0200\u00a0812B\u00a00ms\u00a0\u00a0';
  const viaMethod = formatShortLine(requestRecord({ method, target: '/x', status: 400 }));
  assert.ok(viaMethod.includes(' GET\\xa0/.env\\xa0200\\xa0812B\\xa00ms\\xa0\\xa0 /x 400 '), viaMethod);
  // The target as the parser keeps it (latin1 bytes of the UTF-8 a client sent).
  const target = Buffer.from('/.env\u00a0200\u00a0812B\u00a00ms\u3000\u2003\u2800', 'utf8').toString('latin1');
  const viaTarget = formatShortLine(requestRecord({ method: 'GET', target, status: 400 }));
  assert.ok(viaTarget.includes(' GET /.env\\xa0200\\xa0812B\\xa00ms\\u3000\\u2003\\u2800 400 '), viaTarget);
  for (const line of [viaMethod, viaTarget]) assert.doesNotMatch(line, /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u, line);
  assert.equal(methodForDisplay('G\u00c3\u00a9T'), 'G\\xc3\\xa9T');
  assert.equal(methodForDisplay('\u00a5OST'), '\\xa5OST');
  assert.equal(methodForDisplay('PROPFIND'), 'PROPFIND');
});

void test('the log file: the reverse-DNS host name is escaped (spaces too), like every quoted field', () => {
  const line = formatCombinedLine(
    requestRecord({
      clientHost: 'evil host\u001b[2J\u202E."x"',
      userAgent: 'ua\u001b\u009b',
      referer: 'http://r/\u0007',
      target: '/\u001b',
    }),
  );
  assert.ok(!hasUnsafe(line), JSON.stringify(line));
  assert.ok(line.endsWith(' evil\\x20host\\x1B[2J?.\\x22x\\x22'), line);
  // Still eleven space-separated parts after the quoted fields: the host name is one field.
  const tail = line.slice(line.lastIndexOf('"') + 1).trim().split(' ');
  assert.equal(tail.length, 2, line);
  assert.match(line, /"ua\\x1B\\x9B"/);
  assert.match(line, /"http:\/\/r\/\\x07"/);
});

void test('pages and plain-text answers the server makes show client text escaped: a 404 path, a refused Host, a parse error', async () => {
  // helper-48: GET /%E2%80%AEevil put a raw RIGHT-TO-LEFT OVERRIDE on the 404 page, reordering
  // what followed it. Every answer body that quotes the client goes through the same escaping.
  const root = await mkdtemp(join(tmpdir(), 'porthole-display-'));
  const srv = await startServer({ root, reload: { enabled: false } });
  try {
    const cases: Array<[string, string]> = [
      ['404 page', 'GET /%E2%80%AEevil%E2%81%A6x HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Dest: document\r\n\r\n'],
      ['plain 404', 'GET /%E2%80%AEevil HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
      ['plain 404, zero-width space', 'GET /a%E2%80%8Bb HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
      ['refused Host', 'GET / HTTP/1.1\r\nHost: evil\u202e.example\r\n\r\n'],
      ['parse error', 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: x\u202ey\r\n\r\n'],
    ];
    for (const [what, raw] of cases) {
      const res = await fetchOnce(srv.port, Buffer.from(raw, 'utf8'));
      const text = res.body.toString('utf8');
      assert.ok(res.status >= 400, `${what}: ${res.status}`);
      assert.ok(!hasUnsafe(text.replace(/\n/g, '')), `${what}: a raw control or bidi character in ${JSON.stringify(text.slice(0, 300))}`);
    }
  } finally {
    await srv.close();
    await rm(root, { recursive: true, force: true });
  }
});

void test('a target\'s raw bytes read as the UTF-8 a client sent, or as \\xHH when they are none (helper-49: /cafÃ©.html)', () => {
  const utf8 = formatShortLine(requestRecord({ target: Buffer.from('/café.html', 'utf8').toString('latin1') }));
  assert.ok(utf8.includes(' /café.html '), utf8);
  const invalid = formatShortLine(requestRecord({ target: '/hi\u00ffbyte' }));
  assert.ok(invalid.includes(' /hi\\xffbyte '), invalid);
  // Decoded bytes that are a bidi override are still shown escaped.
  const bidi = formatShortLine(requestRecord({ target: Buffer.from('/\u202eevil', 'utf8').toString('latin1') }));
  assert.ok(bidi.includes('/\\u202eevil'), bidi);
  assert.ok(!hasUnsafe(bidi));
});

test('a cut says how much was left out in words a person reads: "1 more character", "2 more lines", never "1 more characters"', () => {
  assert.equal(cutForDisplay('abcd', 3), 'abc… (1 more character)');
  assert.equal(cutForDisplay('abcde', 3), 'abc… (2 more characters)');
  assert.equal(escapeLinesForDisplay('a\nb\nc', 100, 2), 'a\nb\n… (1 more line)');
  assert.equal(escapeLinesForDisplay('abcd', 3, 5), 'abc … (1 more character)');
});
