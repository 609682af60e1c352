/**
 * The HTTP character grammar shared by the request parser and the response writer: one table of
 * token characters and one field-value check. The writer uses `isValidFieldValue` as its
 * header-injection defence, so both sides agree byte for byte on what a field may hold.
 *
 * Invariants: `TOKEN_CHARS` has exactly 256 entries (1 = tchar, 0 = not) and is never written
 * after module load; every check here is a pure function of its input.
 *
 * Grammar (RFC 9110):
 *
 *   §5.6.2  token  = 1*tchar
 *           tchar  = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *                    "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 *                    ; any VCHAR, except delimiters
 *           delimiters: DQUOTE and "(),/:;<=>?@[\]{}"
 *
 *   §5.5    field-value   = *field-content
 *           field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
 *           field-vchar   = VCHAR / obs-text
 *           obs-text      = %x80-FF
 *           VCHAR         = %x21-7E
 *
 *   §5.6.3  OWS = *( SP / HTAB )
 */

/** Carriage return, %x0D. */
export const CR = 0x0d;
/** Line feed, %x0A. */
export const LF = 0x0a;
/** Space, %x20. */
export const SP = 0x20;
/** Horizontal tab, %x09. */
export const HTAB = 0x09;
/** ":" ends a field name (RFC 9112 §5). */
export const COLON = 0x3a;
/** ";" starts a chunk extension or a transfer-coding parameter. */
export const SEMICOLON = 0x3b;
/** "," separates list elements (RFC 9110 §5.6.1). */
export const COMMA = 0x2c;
/** "=" joins a parameter's or a chunk extension's name and value. */
export const EQUALS = 0x3d;
/** '"' (DQUOTE, RFC 5234 B.1) opens and closes a quoted-string. */
export const DQUOTE = 0x22;
/** A backslash: a quoted-pair's escape (RFC 9110 §5.6.4). */
export const BACKSLASH = 0x5c;
/** DEL, %x7F: a control character although above VCHAR's range start. */
export const DEL = 0x7f;

function buildTokenTable(): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1; // DIGIT
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1; // ALPHA upper
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1; // ALPHA lower
  const specials = "!#$%&'*+-.^_`|~";
  for (let i = 0; i < specials.length; i++) table[specials.charCodeAt(i)] = 1;
  return table;
}

/** 1 at index b when byte b is a tchar (RFC 9110 §5.6.2). */
export const TOKEN_CHARS: Uint8Array = buildTokenTable();

/** True when `str` is a non-empty token (RFC 9110 §5.6.2), e.g. a method or a field name. */
export function isToken(str: string): boolean {
  const n = str.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c > 0x7f || TOKEN_CHARS[c] !== 1) return false;
  }
  return true;
}

/**
 * True when byte `b` may appear in a field value: field-vchar, SP or HTAB (RFC 9110 §5.5).
 * Everything else is a CTL (%x00-08, %x0A-1F, %x7F: NUL, CR and LF among them).
 */
export function isFieldValueByte(b: number): boolean {
  return b >= SP ? b !== DEL && b <= 0xff : b === HTAB;
}

/**
 * True when `str` may be sent as a field value: only VCHAR, obs-text (U+0080-U+00FF, which the
 * writer encodes as latin1), SP and HTAB (RFC 9110 §5.5). The empty string is valid. Leading or
 * trailing whitespace is accepted here (a parser strips it as OWS); CR, LF, NUL and every other
 * control character are not, and neither is any character above U+00FF — so a value can never
 * end a header line or start a new one.
 */
export function isValidFieldValue(str: string): boolean {
  const n = str.length;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c >= SP ? c === DEL || c > 0xff : c !== HTAB) return false;
  }
  return true;
}
