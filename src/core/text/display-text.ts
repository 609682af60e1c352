/**
 * The one sanitiser for text a client controls (request target, method, header values such as
 * Host, User-Agent and Referer, notes that quote them, reverse-DNS host names) on its way to a
 * person: a terminal, VS Code's Output channel, the Requests view, a notification, a QR caption.
 *
 * A terminal obeys control sequences in what it prints: ESC `]0;…BEL` retitles the window,
 * ESC `[2J` wipes the screen, OSC 52 writes the clipboard, OSC 8 plants a link; 8-bit C1 codes
 * (U+0080–U+009F, e.g. U+009B CSI) do the same on some terminals. Bidirectional overrides and
 * isolates reorder what is shown ("Trojan Source", CVE-2021-42574), and line separators break a
 * line in two. Each such character is shown escaped instead, so the text stays one line that
 * reads as what was sent.
 */

import { isUtf8 } from 'node:buffer';

/**
 * Characters shown escaped: C0 controls U+0000–U+001F, DEL U+007F, C1 controls U+0080–U+009F,
 * the Arabic letter mark U+061C, LRM/RLM U+200E–U+200F, LINE/PARAGRAPH SEPARATOR U+2028–U+2029,
 * the bidi embeddings and overrides U+202A–U+202E (LRE, RLE, PDF, LRO, RLO) and the bidi isolates
 * U+2066–U+2069 (LRI, RLI, FSI, PDI) — Unicode UAX #9; and every character Unicode draws as
 * nothing (Default_Ignorable_Code_Point, UAX #44: the soft hyphen U+00AD, zero-width space and
 * non-joiner U+200B–U+200C, word joiner and invisible operators U+2060–U+2064, the BOM U+FEFF,
 * Hangul fillers, the tag characters U+E0000–U+E007F, …), so two paths or names that differ only
 * by them never look the same (helper-69). Kept as they are: the zero-width joiner U+200D and the
 * variation selectors U+FE00–U+FE0F and U+E0100–U+E01EF, without which emoji and CJK text are not
 * shown as written. And a lone surrogate U+D800–U+DFFF (half of a pair, which JSON's `"\ud800"` can
 * carry): no character at all, that UTF-8 output turns into U+FFFD, hiding what was sent. (In a
 * `u` expression a whole pair is one code point above U+FFFF: only a lone half matches.)
 * And every space but the space itself (Unicode's Space_Separator, Zs: the no-break space U+00A0,
 * U+1680, the en to hair spaces U+2000–U+200A, U+202F, U+205F, the ideographic space U+3000):
 * drawn as a space, one in a method or a target (where a request can hold no space) made the
 * terminal line read as another request (`GET /.env 200 812B 0ms` before the real status,
 * helper-119); and the blank Braille pattern U+2800, no space to Unicode but drawn as one by most
 * terminal fonts (helper-122). And every format character (Unicode's General_Category Cf: the
 * interlinear annotation marks U+FFF9–U+FFFB, the Arabic number signs U+0600–U+0605, the
 * Egyptian hieroglyph format controls, …), some of which are no Default_Ignorable_Code_Point yet
 * drawn as nothing or hide the text between them (helper-169: U+FFF9 reached a 404 page raw).
 * (A backslash that begins what reads as an escape is the request fields' own matter:
 * targetForDisplay, methodForDisplay.)
 */
const UNSAFE_CLASS = String.raw`(?![\u200d\ufe00-\ufe0f\u{e0100}-\u{e01ef}])[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\p{Default_Ignorable_Code_Point}\p{Cf}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u2800]`;
// The class matches one code point at a time on purpose: a ZWJ or a variation selector is only
// named (in the lookahead) to be kept, never combined with what stands before it.
// eslint-disable-next-line no-misleading-character-class
const UNSAFE = new RegExp(UNSAFE_CLASS, 'gu');
// eslint-disable-next-line no-misleading-character-class
const UNSAFE_TEST = new RegExp(UNSAFE_CLASS, 'u');

function escapeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * The first `max` UTF-16 code units of `text` (all of it when shorter), one fewer when the cut
 * would fall between the two halves of a surrogate pair (an emoji, a CJK extension character: one
 * character, two units). A cut made with String#slice kept the first half alone, which a terminal,
 * the Output channel or a file written as UTF-8 shows as U+FFFD. Pure; never throws.
 */
export function cutAtCharacter(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = max > 0 && isHighSurrogate(text.charCodeAt(max - 1)) && isLowSurrogate(text.charCodeAt(max)) ? max - 1 : max;
  return text.slice(0, Math.max(0, end));
}

/**
 * The most characters of one client-controlled field (method, target, host name, note, a page's
 * path in a warning) a terminal line shows: a client may send an 8 KiB target or Host (the
 * parser's limits), and each such request printed a whole screen of it. The log file keeps every
 * field whole.
 */
export const SHORT_LINE_FIELD_MAX = 300;

/**
 * `text` cut to `max` UTF-16 units (default SHORT_LINE_FIELD_MAX; cutAtCharacter: never between
 * the halves of a surrogate pair), saying how many more characters there were: `/aaa… (5712 more
 * characters)`; `text` itself when it is no longer. Not escaped (callers escape the whole line).
 * Pure; never throws.
 */
export function cutForDisplay(text: string, max = SHORT_LINE_FIELD_MAX): string {
  if (text.length <= max) return text;
  const kept = cutAtCharacter(text, max);
  return `${kept}… (${countOf(countCharacters(text, kept.length), 'more character')})`;
}

/** `n` and `noun` (a regular English noun, singular), as a person says a count: `1 byte`, `2 bytes`. */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * How many characters (code points: a surrogate pair counts once) `text` has from the code unit
 * `from` on: the "N more characters" after a cut (cutAtCharacter), said as a person counts them.
 */
export function countCharacters(text: string, from = 0): number {
  let n = 0;
  for (let i = Math.max(0, from); i < text.length; i++) {
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) i++;
    n++;
  }
  return n;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * `text` with every unsafe character (see UNSAFE) replaced by its escape: `\xhh` for codes up to
 * U+00FF (ESC → `\x1b`, BEL → `\x07`, CR LF → `\x0d\x0a`), `\uhhhh` above (RLO → `\u202e`), `\u{hhhhh}` beyond U+FFFF (TAG LATIN CAPITAL LETTER A → `\u{e0041}`).
 * Everything else, printable Unicode included, is kept as it is. Pure; O(n); never throws.
 */
export function escapeForDisplay(text: string): string {
  return UNSAFE_TEST.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/**
 * Multi-line client text (a console message, an error's stack) for a person: at most `maxChars`
 * characters of `text` (beyond: cut, and ` … (N more characters)` added) in at most `maxLines`
 * lines (beyond: ` … (N more lines)` as a last line), each line escaped by escapeForDisplay. The
 * only control character left is LF (`\n`) between lines (CR LF, CR, U+2028/U+2029 all become a
 * line break); sinks indent the lines after the first, so no line can pass for a line of their
 * own. Pure; O(n); never throws.
 */
export function escapeLinesForDisplay(text: string, maxChars: number, maxLines: number): string {
  let cut = text;
  let suffix = '';
  if (cut.length > maxChars) {
    cut = cutAtCharacter(text, maxChars);
    suffix = ` … (${countOf(countCharacters(text, cut.length), 'more character')})`;
  }
  const lines = cut.split(/\r\n|[\n\r\u2028\u2029]/);
  const more = lines.length - maxLines;
  const kept = more > 0 ? lines.slice(0, maxLines) : lines;
  const out = kept.map(escapeForDisplay);
  if (more > 0) out.push(`… (${countOf(more, 'more line')})`);
  out[out.length - 1] += suffix;
  return out.join('\n');
}

/**
 * A request target as a person should read it. The parser keeps a target's bytes one character
 * each (latin1); raw non-ASCII bytes (a 400, but logged) are UTF-8 when a client sends any, and
 * shown as those characters (`/café.html`, not `/cafÃ©.html`, helper-49); bytes that are no UTF-8
 * show as `\xHH`, as the log file has them, and a backslash before `x` or `u` as `\x5c`
 * (backslashEscapesAsHex). Control and bidi characters are left for
 * escapeForDisplay, which every caller applies to the whole line. Pure; never throws.
 */
export function targetForDisplay(target: string): string {
  const sent = backslashEscapesAsHex(target);
  const text = wireText(sent);
  return text !== sent ? text : highBytesAsHex(sent);
}

/**
 * `text` (a request field as sent) with each backslash that begins what would read as an escape
 * (`\x`, `\u`) shown as `\x5c`, as the log file has a backslash: escapes are `\xhh`, `\uhhhh` and
 * `\u{…}`, and a target that spelt `\x1b[2J` itself read exactly as one that held a real ESC
 * (helper-169). Any other backslash is kept as it is.
 */
function backslashEscapesAsHex(text: string): string {
  return text.includes('\\') ? text.replace(/\\(?=[xu])/g, '\\x5c') : text;
}

/** `text` (one latin1 character per byte) with every byte from 0x80 up as `\xhh`. */
function highBytesAsHex(text: string): string {
  return /[\u0080-\u00ff]/.test(text) ? text.replace(/[\u0080-\u00ff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : text;
}

/**
 * A request method as a person should read it: the parser keeps the request line's bytes one
 * character each (latin1), and a method is a token (RFC 9110 §9.1: ASCII), so every byte from
 * 0x80 up is shown as `\xHH`, as the log file has it. Shown as latin1 characters, `\xa0` was a
 * space on screen (a made-up request line before the real status, helper-119) and `G\xc3\xa9T`
 * read `GÃ©T`. Control characters are left for escapeForDisplay, which every caller applies to
 * the whole line. Pure; never throws.
 */
export function methodForDisplay(method: string): string {
  return highBytesAsHex(backslashEscapesAsHex(method));
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A file name's bytes that are not all UTF-8 (Linux names are bytes), for a person: each run that
 * is UTF-8 as its text, each byte that is not as `\xNN` (`bad\xfename`), so two such names differ
 * on screen as they do on disk; Buffer#toString made every such byte U+FFFD. Not escaped otherwise
 * (escapeForDisplay still applies to the text). Pure; never throws.
 */
export function nameBytesForDisplay(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length > 0 && i + length <= bytes.length) {
      try {
        out += STRICT_UTF8.decode(bytes.subarray(i, i + length));
        i += length;
        continue;
      } catch {
        // Not a whole character: this byte is said as itself.
      }
    }
    out += `\\x${b.toString(16).padStart(2, '0')}`;
    i++;
  }
  return out;
}

/**
 * A request path Porthole made itself from names (encodePathSegments: `/my%20app.html` for the
 * file `my app.html`, `/a%2520b.html` for `a%20b.html`) as those names, for a person: decoded once,
 * so a file is shown by the name it has, not percent-encoded (once or twice). Unchanged when it
 * does not decode. Not escaped: a sink escapes it as any text (escapeForDisplay, cutForDisplay).
 * Pure; never throws.
 */
export function namedPathForDisplay(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * A string the parser kept one character per byte (latin1: a request target, a header field
 * value) as the text its bytes mean: decoded as UTF-8 when they are UTF-8 (`café` sent as
 * C3 A9, not `cafÃ©`), else as it is (no text has those bytes). A sink that hands such a string to
 * something that encodes text as UTF-8 (JSON, a URL parser, a page) must decode it first, or every
 * byte above 0x7F comes out as two. Pure; never throws.
 */
export function wireText(latin1: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\u0000-\u007f]/.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : latin1;
}

/**
 * JSON.stringify(value) for a message, except that a number JSON cannot write is shown as itself,
 * never as `null`: JSON.parse reads `1e400` in a porthole.config.json or settings.json as
 * Infinity, and `(it is null)` named a value the user never wrote. At the top, Infinity and
 * -Infinity say why (`Infinity (a number beyond 1.8e308, the largest there is)`); inside an
 * object or a list they are `Infinity`, `-Infinity`, `NaN`. Undefined where JSON.stringify is
 * (a function, a symbol, undefined); throws where it throws (a cycle, a BigInt).
 */
export function jsonForDisplay(value: unknown): string | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : `${value} (a number beyond ${value > 0 ? '' : '-'}1.8e308, the largest there is)`;
  }
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `${NON_FINITE_MARK}${v}${NON_FINITE_MARK}` : v));
  return text?.replace(NON_FINITE_QUOTED, '$1');
}

/** Marks a non-finite number inside jsonForDisplay's JSON (U+2063, invisible separator), then unquoted. */
const NON_FINITE_MARK = '\u2063';
const NON_FINITE_QUOTED = /"\u2063(-?Infinity|NaN)\u2063"/g;
