/**
 * The HTTP/1.1 request-head parser: a pure function over a Buffer. Its whole contract:
 *
 *   parseRequestHead(buf, scannedSoFar, limits?) →
 *     { kind: 'complete', head, consumed }  the head ends at buf[consumed - 1] (the blank line's
 *                                           LF); the body or the next pipelined request starts
 *                                           at buf[consumed].
 *     { kind: 'incomplete' }                need more bytes; call again with the grown buffer and
 *                                           scannedSoFar = the previous buf.length.
 *     { kind: 'error', status, code, message }
 *                                           invalid; answer `status` and close the connection
 *                                           (the framing of what follows is unknown).
 *
 * Invariants:
 * - Never throws, never mutates `buf`, keeps no state between calls. Error and incomplete results
 *   are shared frozen objects; compare `code`, never identity.
 * - While incomplete, only the bytes after `scannedSoFar` are searched for the end of the head and
 *   checked for bare CR/LF (picohttpparser's slowloris counter-measure), so a head trickled in
 *   byte by byte costs linear time, plus one parse of the field lines so far for each call that
 *   completes a field line (at most maxHeaderFields + 1 of them, in at most maxHeadBytes). After a
 *   `complete` result the caller drops `consumed` bytes and starts again with scannedSoFar = 0.
 * - Strict by choice (RFC 9112 lets a server be lenient in places; a preview server has no reason
 *   to be): CRLF line endings only, one SP between request-line parts, no obs-fold, no whitespace
 *   before a colon, no control characters anywhere. Each rule cites its RFC section.
 * - Limits are enforced while reading: 414 as soon as the target seen so far is too long, 431 as
 *   soon as more than maxHeadBytes are buffered without the end of the head or more than
 *   maxHeaderFields field lines have ended; a field line that breaks a rule with the lines before
 *   it (a second Host, Content-Lengths that disagree, a Transfer-Encoding malformed or in HTTP/1.0)
 *   is refused when it ends, as the whole head.
 */
import { COLON, COMMA, CR, DEL, HTAB, LF, SEMICOLON, SP, TOKEN_CHARS } from './http-grammar';
import { DEFAULT_PARSER_LIMITS, MAX_METHOD_BYTES, type ParserLimits } from './limits';

export type TargetForm = 'origin' | 'absolute' | 'asterisk' | 'authority';

export interface RequestHead {
  /** Case-sensitive token, as sent (RFC 9110 §9.1). */
  method: string;
  /** The request-target as sent (RFC 9112 §3.2). */
  target: string;
  targetForm: TargetForm;
  /**
   * origin-form: the target; absolute-form: its path and query ('/' when the path is empty);
   * asterisk-form: '*'; authority-form (CONNECT only): '' — there is no path to serve.
   */
  path: string;
  /**
   * The version the request is processed as: a higher minor version of HTTP/1 (`HTTP/1.2`) is
   * taken as 1.1, the highest this server implements (RFC 9110 §2.5).
   */
  version: '1.0' | '1.1';
  /** The HTTP-version as sent (`HTTP/1.1`, `HTTP/1.2`), for the log's request line. */
  protocol: string;
  /** In order; names lower-cased, values latin1-decoded and trimmed of OWS. */
  headers: Array<[name: string, value: string]>;
  /** The Host value; for absolute-form the target's authority (RFC 9112 §3.2.2). */
  host: string | undefined;
  /** Set only when Content-Length was sent (never together with chunked). */
  contentLength: number | undefined;
  /** Transfer-Encoding: chunked (the only transfer coding accepted). */
  chunked: boolean;
  /** HTTP/1.1: true unless `Connection: close`; HTTP/1.0: only with `Connection: keep-alive`. */
  keepAlive: boolean;
  /** `Expect: 100-continue` on an HTTP/1.1 request. */
  expectContinue: boolean;
}

export interface ParseError {
  kind: 'error';
  /** The status to answer with: 400, 414, 431, 501 or 505. */
  status: number;
  /** Stable ERR_* code, for logs and tests. */
  code: string;
  /** Plain words for the client; never echoes request bytes. */
  message: string;
}

export type ParseResult =
  | { kind: 'complete'; head: RequestHead; consumed: number }
  | { kind: 'incomplete' }
  | ParseError;

function protocolError(status: number, code: string, message: string): ParseError {
  return Object.freeze({ kind: 'error', status, code, message });
}

const INCOMPLETE: ParseResult = Object.freeze({ kind: 'incomplete' });

// What to do, too: a browser's head grows past the bound with cookies above all, and every port of
// localhost shares them (other local apps' cookies come along).
const E_HEAD_TOO_LARGE = protocolError(
  431,
  'ERR_HEADER_TOO_LARGE',
  "The request head is too large. From a browser it is most often cookies: it sends every cookie of this host name, and every port of localhost shares them; clear this site's cookies, then reload.",
);
/**
 * Over the head's bound because of the empty lines before the request line (RFC 9112 §2.2 asks a
 * server to skip at least one; Porthole skips any number, within maxHeadBytes): the fault is
 * those lines, not the head's fields, so not the 431 that blames cookies (helper-146).
 */
const E_EMPTY_LINES = protocolError(
  400,
  'ERR_EMPTY_LINES',
  'Too many empty lines came before the request line: together with the head they are over its size limit. Send the request line first (one empty line before it at most).',
);

/**
 * The error for a head over maxHeadBytes whose first `emptyLineBytes` are empty lines, `length`
 * bytes in all (so far, for a head still arriving, whose own size is not known yet): the empty
 * lines are named when there is more than one (one is what RFC 9112 §2.2 says to skip) and they
 * are most of those bytes; otherwise the head is what is too large (helper-149: one CRLF before a
 * 16 KB cookie head was blamed on the empty line).
 */
function headTooLarge(emptyLineBytes: number, length: number): ParseError {
  return emptyLineBytes > 2 && emptyLineBytes * 2 > length ? E_EMPTY_LINES : E_HEAD_TOO_LARGE;
}

const E_TOO_MANY_FIELDS = protocolError(431, 'ERR_TOO_MANY_HEADERS', 'The request has too many header fields.');
const E_URI_TOO_LONG = protocolError(414, 'ERR_URI_TOO_LONG', 'The request target is too long.');
const E_METHOD_TOO_LONG = protocolError(
  501,
  'ERR_METHOD_TOO_LONG',
  `The request method is longer than any this server implements (at most ${MAX_METHOD_BYTES} characters); a request line starts with a method such as GET.`,
);
const E_LINE_ENDING = protocolError(400, 'ERR_INVALID_LINE_ENDING', 'Every line of the request head must end with CR LF.');
const E_METHOD = protocolError(400, 'ERR_INVALID_METHOD', 'The request method is missing or is not a valid token.');
const E_REQUEST_LINE = protocolError(
  400,
  'ERR_INVALID_REQUEST_LINE',
  'The request line must be a method, one space, a target, one space and the HTTP version.',
);
const E_TARGET = protocolError(400, 'ERR_INVALID_TARGET', 'The request target is malformed or has a form this method does not allow.');
const E_TARGET_USERINFO = protocolError(400, 'ERR_INVALID_TARGET', 'The request target must not contain user information.');
const E_TARGET_FRAGMENT = protocolError(400, 'ERR_INVALID_TARGET', 'The request target must not contain a fragment (#…): a client keeps it to itself (RFC 9112 §3.2).');
const E_VERSION = protocolError(400, 'ERR_INVALID_VERSION', 'The HTTP version is malformed.');
/**
 * A byte no request-target may hold raw (RFC 9112 §3.2, RFC 3986 §2: visible ASCII only), said
 * by its value with what to send instead: a raw UTF-8 `é` (what `curl http://host/café.html`
 * sends) got "the request target is malformed", which named neither the byte nor the cure. One
 * frozen error per byte value, made when first met.
 */
const targetByteErrors = new Map<number, ParseError>();
function targetByteError(c: number): ParseError {
  let e = targetByteErrors.get(c);
  if (e === undefined) {
    const hex = c.toString(16).toUpperCase().padStart(2, '0');
    const what = c >= 0x80 ? 'a byte that is not ASCII' : 'a control character';
    e = protocolError(400, 'ERR_INVALID_TARGET', `The request target holds ${what} (0x${hex}): a URL sends every such byte percent-encoded (0x${hex} as %${hex}), as browsers do (RFC 3986 §2.1).`);
    targetByteErrors.set(c, e);
  }
  return e;
}

// What follows the second space is no version at all (`GET /my file.html HTTP/1.1`): most often a
// raw space in the target, which "The HTTP version is malformed" sent looking at the wrong part.
const E_TARGET_SPACE = protocolError(
  400,
  'ERR_INVALID_TARGET',
  'The request target holds a space, or no HTTP version follows it: a space in a URL is sent as %20.',
);
const E_VERSION_UNSUPPORTED = protocolError(505, 'ERR_VERSION_NOT_SUPPORTED', 'Only HTTP/1 (1.0 and 1.1) is supported.');
const E_FIELD_NAME = protocolError(400, 'ERR_INVALID_HEADER_NAME', 'A header field name is missing or is not a valid token.');
const E_SPACE_BEFORE_COLON = protocolError(400, 'ERR_SPACE_BEFORE_COLON', 'A header field name must not be followed by whitespace.');
const E_OBS_FOLD = protocolError(400, 'ERR_OBS_FOLD', 'Header lines must not start with whitespace (line folding is not allowed).');
const E_FIELD_VALUE = protocolError(400, 'ERR_INVALID_HEADER_VALUE', 'A header field value contains control characters.');
const E_MISSING_HOST = protocolError(400, 'ERR_MISSING_HOST', 'An HTTP/1.1 request must have a Host header.');
const E_MULTIPLE_HOST = protocolError(400, 'ERR_MULTIPLE_HOST', 'The request has more than one Host header.');
/** RFC 6454 §7.3: a user agent MUST NOT send more than one Origin field. */
const E_ORIGIN_REPEATED = protocolError(400, 'ERR_MULTIPLE_ORIGIN', 'The request has more than one Origin header: a request comes from one origin (RFC 6454 §7.3).');
/**
 * W3C Fetch Metadata Request Headers §2: each Sec-Fetch-Site, -Mode and -Dest value is one
 * structured-field item (RFC 8941 §3.3); lines of one field combine into a list, which is none.
 */
const E_FETCH_METADATA_REPEATED = protocolError(
  400,
  'ERR_MULTIPLE_FETCH_METADATA',
  'The request has more than one Sec-Fetch-Site, Sec-Fetch-Mode or Sec-Fetch-Dest value, on two lines or in a list: a browser sends each once, with one value.',
);
const E_INVALID_HOST = protocolError(400, 'ERR_INVALID_HOST', 'The Host header is not a valid host name and port.');
const E_CONTENT_LENGTH = protocolError(
  400,
  'ERR_INVALID_CONTENT_LENGTH',
  'Content-Length must be a decimal number, identical when repeated.',
);
/** Digits only, but past 2^53 − 1: a number, just one no body could have (nginx: 400 too). */
const E_CONTENT_LENGTH_TOO_LARGE = protocolError(
  400,
  'ERR_INVALID_CONTENT_LENGTH',
  'Content-Length is larger than any body this server can take (at most 2^53 − 1 bytes, and far fewer are accepted).',
);
const E_TE_WITH_CL = protocolError(400, 'ERR_TE_WITH_CL', 'A request must not have both Transfer-Encoding and Content-Length.');
const E_TE_INVALID = protocolError(400, 'ERR_INVALID_TRANSFER_ENCODING', 'The Transfer-Encoding header is malformed.');
const E_TE_HTTP10 = protocolError(400, 'ERR_INVALID_TRANSFER_ENCODING', 'Transfer-Encoding is not allowed in an HTTP/1.0 request.');
const E_TE_UNSUPPORTED = protocolError(
  501,
  'ERR_UNSUPPORTED_TRANSFER_ENCODING',
  'Only the chunked transfer coding is supported.',
);

/** The end of a head: the CRLF ending the last line plus the CRLF of the empty line. */
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// Character codes used on strings (list parsing, targets).
const CH_SLASH = 0x2f;
const CH_STAR = 0x2a;
const CH_QUESTION = 0x3f;
const CH_HASH = 0x23;
const CH_LBRACKET = 0x5b;
const CH_RBRACKET = 0x5d;

/**
 * Bytes allowed in a Host value or target authority besides ALPHA / DIGIT: RFC 3986 unreserved
 * ("-._~"), pct-encoded ("%") and sub-delims ("!$&'()*+,;="). ":" and brackets are handled apart.
 */
const HOST_CHARS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  const others = "-._~%!$&'()*+,;=";
  for (let i = 0; i < others.length; i++) table[others.charCodeAt(i)] = 1;
  return table;
})();

/** Connection option bits. */
const CONN_CLOSE = 1;
const CONN_KEEP_ALIVE = 2;

/** The parsed request line; only built once the whole head is here. */
interface RequestLine {
  kind: 'line';
  method: string;
  target: string;
  targetForm: TargetForm;
  path: string;
  /** absolute-form / authority-form: the authority; else undefined. */
  authority: string | undefined;
  version: '1.0' | '1.1';
  /** The HTTP-version as sent. */
  protocol: string;
}

/**
 * Parses one request head from the start of `buf` (see the file comment for the contract).
 * `scannedSoFar`: how many bytes of `buf` a previous call already searched (its buf.length), or 0.
 */
export function parseRequestHead(
  buf: Buffer,
  scannedSoFar: number,
  limits: ParserLimits = DEFAULT_PARSER_LIMITS,
): ParseResult {
  const len = buf.length;
  // A caller mistake (NaN, a fraction, negative, beyond the buffer) only costs a full rescan.
  const scanned = Number.isInteger(scannedSoFar) && scannedSoFar > 0 && scannedSoFar <= len ? scannedSoFar : 0;

  // RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore
  // at least one empty line (CRLF) received prior to the request-line". We ignore any number; they
  // count toward maxHeadBytes, so a stream of empty lines ends in a 400 that says so.
  const start = skipEmptyLines(buf);

  let from = scanned - 3;
  if (from < start) from = start;
  const blank = findBlankLine(buf, from);
  if (blank === -1) return checkIncompleteHead(buf, start, scanned, limits);
  return parseCompleteHead(buf, start, blank, limits);
}

/**
 * Up to this many bytes from where the search starts, findBlankLine looks for the empty line in
 * JavaScript; past them Buffer.indexOf (a native call) searches the rest. A short head (curl's,
 * a load tester's: under 128 bytes) is found in 10–15 ns instead of the call's 44–47; a longer
 * one costs 10–20 ns more than one indexOf (micro-benchmarks, a 48-byte and a 520-byte head).
 */
const BLANK_LINE_SCAN_BYTES = 128;

/**
 * The offset of the first CR LF CR LF (the CRLF ending the last field line and the empty line
 * after it, RFC 9112 §2.1) at or after `from` in `buf`, or -1: as buf.indexOf(CRLFCRLF, from)
 * for a whole-number `from` ≥ 0 (parseRequestHead's; indexOf also reads a negative one from the
 * end, this does not).
 */
export function findBlankLine(buf: Buffer, from: number): number {
  const len = buf.length;
  const scanEnd = from + BLANK_LINE_SCAN_BYTES < len ? from + BLANK_LINE_SCAN_BYTES : len;
  // i is where a match would end (its last LF). A byte that is neither CR nor LF can be in no
  // match: the next possible end is 4 bytes on; an LF that ends none may be a match's second
  // byte (2 on), a CR its third (1 on).
  let i = from + 3;
  while (i < scanEnd) {
    const c = buf[i]!;
    if (c === LF) {
      if (buf[i - 1] === CR && buf[i - 2] === LF && buf[i - 3] === CR) return i - 3;
      i += 2;
    } else if (c === CR) {
      i += 1;
    } else {
      i += 4;
    }
  }
  if (scanEnd === len) return -1;
  // No match ends before i, so none starts before i - 3 (≥ from): a match may straddle the
  // scanned bytes' end, and the native search starts there.
  return buf.indexOf(CRLFCRLF, i - 3);
}

/** The offset just past the empty lines (CRLF pairs) `buf` begins with, which precede no request line yet (RFC 9112 §2.2). */
export function skipEmptyLines(buf: Buffer): number {
  let start = 0;
  while (start + 1 < buf.length && buf[start] === CR && buf[start + 1] === LF) start += 2;
  return start;
}

/**
 * `s` copied into a flat string of its own. The names and values the parser hands out are slices
 * of the decoded head, and V8 keeps the whole head (up to maxHeadBytes) alive for as long as a
 * slice of it lives: a string kept beyond its request (a cache's key) is copied out first, or a
 * cache of 1,024 paths could hold 16 MB of heads. Flat, because a cache's keys are compared with
 * each lookup's: V8 compares a slice or a rope that meets an equal key in its runtime (`perf
 * record`, one of 1,000 files at 50 connections: 1.9% of the CPU in Runtime_StringEqual). The
 * request-target is decoded from the head's bytes as a string of its own instead, once, when it
 * differs from the last head's (parseRequestLine): the file cache, the URL dates, live reload's
 * page shapes and the configured header lists all key by it or by slices of it. A value a cache
 * keeps otherwise (an allowed origin, a folder's path) is copied here by that cache.
 */
export function detachedString(s: string): string {
  // Under 13 characters V8's slice of a new string copies; from 13 on it makes a slice (of the
  // copy), so longer text goes through its UTF-8 bytes, unless UTF-8 cannot carry it (a lone
  // surrogate), where the slice is the copy.
  if (s.length < 13) return (' ' + s).slice(1);
  const copy = Buffer.from(s, 'utf8').toString('utf8');
  return copy === s ? copy : (' ' + s).slice(1);
}

/**
 * True when `buf` (input not yet parsed) holds nothing but empty lines, the last one perhaps
 * without its LF yet: bytes a server ignores before a request line (RFC 9112 §2.2; an old
 * client's extra CRLF after a request), so no request has begun. True for an empty buffer.
 */
export function onlyEmptyLines(buf: Buffer): boolean {
  const end = skipEmptyLines(buf);
  return end === buf.length || (end === buf.length - 1 && buf[end] === CR);
}

/**
 * Early rejection while the head is still arriving, so that a peer cannot hold a connection with
 * bytes that can never become a valid head. Each call looks only at the new bytes, except for the
 * over-long request-line checks (a method past MAX_METHOD_BYTES: at most that many bytes looked at;
 * a target: memchr-speed, and only once more than maxTargetBytes are buffered).
 */
function checkIncompleteHead(buf: Buffer, start: number, scanned: number, limits: ParserLimits): ParseResult {
  const len = buf.length;

  // RFC 9112 §2.2: a bare LF or bare CR line ending is invalid here (we never accept them).
  let i = buf.indexOf(LF, scanned > start ? scanned : start);
  while (i !== -1) {
    if (buf[i - 1] !== CR) return E_LINE_ENDING;
    i = buf.indexOf(LF, i + 1);
  }
  i = buf.indexOf(CR, scanned - 1 > start ? scanned - 1 : start);
  while (i !== -1 && i + 1 < len) {
    if (buf[i + 1] !== LF) return E_LINE_ENDING;
    i = buf.indexOf(CR, i + 2);
  }

  // RFC 9112 §3: the request line starts with the method token. Rejects non-HTTP peers (a TLS
  // ClientHello starts with 0x16) at the first byte instead of at the header timeout.
  if (start < len) {
    const first = buf[start] as number;
    if (first !== CR && TOKEN_CHARS[first] !== 1) return E_METHOD;
  }

  // RFC 9112 §3: a method longer than any implemented → 501 as soon as it is, not a 431 once the
  // head is over its bound (or a 400 for a line with no space in it).
  if (len - start > MAX_METHOD_BYTES && methodTooLong(buf, start, len)) return E_METHOD_TOO_LONG;

  // RFC 9112 §3: a target longer than we accept → 414 before the rest of the head arrives. Only
  // while the request line is growing or has just ended: a line that ended in an earlier call
  // was checked then, or was shorter than the buffer then, so shorter than the limit.
  if (len - start > limits.maxTargetBytes) {
    const lf = buf.indexOf(LF, start);
    if (lf === -1 || lf >= scanned) {
      const lineEnd = lf === -1 ? len : lf - 1;
      const sp1 = buf.indexOf(SP, start);
      if (sp1 === -1 || sp1 >= lineEnd) {
        if (lineEnd - start > limits.maxTargetBytes) return E_REQUEST_LINE; // no SP in all that
      } else {
        let sp2 = buf.indexOf(SP, sp1 + 1);
        if (sp2 === -1 || sp2 > lineEnd) sp2 = lineEnd;
        if (sp2 - sp1 - 1 > limits.maxTargetBytes) return E_URI_TOO_LONG;
      }
    }
  }

  // Lines completed in the new bytes are judged now, not when the blank line comes (which a
  // client that lost its framing, e.g. two pipelined requests without the empty line between
  // them, may never send): the request line as parseCompleteHead would (RFC 9112 §3), and each
  // field line must have a colon and not start with whitespace (§5, §5.2).
  for (let lf = buf.indexOf(LF, scanned > start ? scanned : start); lf !== -1; lf = buf.indexOf(LF, lf + 1)) {
    const lineStart = lf > 0 ? buf.lastIndexOf(LF, lf - 1) + 1 : 0;
    if (lineStart <= start) {
      const line = parseRequestLine(buf, buf.toString('latin1', 0, lf + 1), start, lf - 1, limits);
      if (line.kind === 'error') return line;
      continue;
    }
    const first = buf[lineStart] as number;
    if (first === SP || first === HTAB) return E_OBS_FOLD;
    const colon = buf.indexOf(COLON, lineStart);
    if (colon === -1 || colon > lf) return E_FIELD_NAME;
  }

  // A byte that breaks the head (RFC 9112 §3 request line, §5 field lines, RFC 9110 §5.5 values)
  // is refused as soon as it arrives, with the error the whole head would get: waiting for the
  // end of its line or of the head held the connection until the head deadline, which then
  // answered 408 as if the client had been slow (nginx: 400 at once).
  const broken = brokenByteError(buf, start, scanned > start ? scanned : start);
  if (broken !== undefined) return broken;

  // RFC 9110 §15.5 / RFC 6585 §5 (431): every buffered byte belongs to the unfinished head.
  if (len > limits.maxHeadBytes) return headTooLarge(start, len);

  // Field lines completed in the new bytes are judged with the lines before them, as the whole
  // head will be: one line too many (431), a second or invalid Host, a malformed or disagreeing
  // Content-Length, Transfer-Encoding beside Content-Length (400) break the head whatever follows, and waiting for its end held the
  // connection until the head deadline, which answered 408 (nginx refuses a second or invalid
  // Host as its line ends). Only calls that complete a line parse the lines again, and a head has
  // at most maxHeaderFields + 1 of them in at most maxHeadBytes: bounded, however it is trickled.
  const lastLf = buf.lastIndexOf(LF);
  if (lastLf >= (scanned > start ? scanned : start)) {
    const requestLineEnd = buf.indexOf(LF, start);
    if (requestLineEnd < lastLf) {
      const text = buf.toString('latin1', 0, lastLf + 1);
      const fields = newFields();
      const fieldError = parseFieldLines(buf, text, requestLineEnd + 1, lastLf + 1, limits.maxHeaderFields, fields);
      if (fieldError !== undefined) return fieldError;
      // A Transfer-Encoding no later line can mend is refused now (it was held to the head
      // deadline: 408), with the status the whole head gets whatever follows (transferFraming).
      if (fields.transferEncoding !== undefined) {
        const line = fields.contentLength === undefined ? parseRequestLine(buf, text, start, requestLineEnd - 1, limits) : undefined;
        const framing = transferFraming(fields, line === undefined || line.kind === 'error' ? undefined : line.version, false);
        if (framing !== undefined && framing !== 'chunked') return framing;
      }
    }
  }
  return INCOMPLETE;
}

/** The HTTP-version's shape (RFC 9112 §2.3), by position: a byte, or DIGIT for 0x30–0x39. */
const VERSION_SHAPE = 'HTTP/#.#';

/**
 * The error for the first byte of buf[from..] that already breaks an unfinished head, or
 * undefined. Looks at the new bytes only (plus a look back to the start of their line), so a head
 * trickled in costs linear time. Request line still arriving: a method byte that is not a token
 * character, a target byte that is a CTL, SP-less whitespace or not ASCII, a version byte off
 * `HTTP/d.d`, an empty target. Field lines: a name byte that is not a token character (whitespace
 * before the colon, line folding), a CTL other than HTAB in a value. CR and LF are judged by the
 * caller; lines that ended were judged whole by it too, except for their values.
 */
function brokenByteError(buf: Buffer, start: number, from: number): ParseError | undefined {
  const len = buf.length;
  const lineEnd = buf.indexOf(LF, start);
  if (lineEnd === -1) {
    const sp1 = buf.indexOf(SP, start);
    const sp2 = sp1 === -1 ? -1 : buf.indexOf(SP, sp1 + 1);
    for (let k = from; k < len; k++) {
      const c = buf[k] as number;
      if (c === CR) continue;
      if (sp1 === -1 || k < sp1) {
        if (TOKEN_CHARS[c] !== 1) return E_METHOD;
      } else if (sp2 === -1 || k < sp2) {
        if (k > sp1 && (c < SP || c >= DEL)) return targetByteError(c);
      } else if (k === sp2) {
        if (sp2 === sp1 + 1) return E_REQUEST_LINE; // two spaces: empty target
      } else {
        const at = k - sp2 - 1;
        const want = at < VERSION_SHAPE.length ? VERSION_SHAPE.charCodeAt(at) : -1;
        if (want === 0x23 ? c < 0x30 || c > 0x39 : c !== want) return notVersionError(buf[sp2 + 1] as number);
      }
    }
    return undefined;
  }
  let k = from > lineEnd ? from : lineEnd + 1;
  let lineStart = k === lineEnd + 1 ? k : buf.lastIndexOf(LF, k - 1) + 1;
  const colon = buf.indexOf(COLON, lineStart);
  let inValue = colon !== -1 && colon < k;
  for (; k < len; k++) {
    const c = buf[k] as number;
    if (c === LF) {
      lineStart = k + 1;
      inValue = false;
    } else if (c === CR) {
      // judged by the caller
    } else if (inValue) {
      if (c < SP ? c !== HTAB : c === DEL) return E_FIELD_VALUE;
    } else if (c === COLON) {
      if (k === lineStart) return E_FIELD_NAME;
      inValue = true;
    } else if (TOKEN_CHARS[c] !== 1) {
      if (c !== SP && c !== HTAB) return E_FIELD_NAME;
      return k === lineStart ? E_OBS_FOLD : E_SPACE_BEFORE_COLON;
    }
  }
  return undefined;
}

function parseCompleteHead(buf: Buffer, start: number, blank: number, limits: ParserLimits): ParseResult {
  const headEnd = blank + 4;
  // One decode per head (latin1: one char per byte, so string indices are buffer offsets); lines,
  // names and values are sliced from it. It ends after the last field line's CRLF.
  const text = buf.toString('latin1', 0, blank + 2);

  // The request line ends at the first LF; there is one at blank + 1 at the latest.
  const firstLf = text.indexOf('\n', start);
  if (text.charCodeAt(firstLf - 1) !== CR) return E_LINE_ENDING; // RFC 9112 §2.2
  const line = parseRequestLine(buf, text, start, firstLf - 1, limits);
  if (line.kind === 'error') return line;

  // RFC 6585 §5: 431 for a head over the limit (checked after the request line so that an
  // over-long target is a 414 whether the head arrives whole or in pieces).
  if (headEnd > limits.maxHeadBytes) return headTooLarge(start, headEnd);

  const version = line.version;
  const fields = newFields();
  const fieldError = parseFieldLines(buf, text, firstLf + 1, text.length, limits.maxHeaderFields, fields);
  if (fieldError !== undefined) return fieldError;
  const { headers, hostCount, host, contentLength, connection, expectContinue } = fields;

  // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
  // request message that lacks a Host header field". HTTP/1.0 may omit it.
  if (hostCount === 0 && version === '1.1') return E_MISSING_HOST;

  const framing = transferFraming(fields, version, true);
  if (framing !== undefined && framing !== 'chunked') return framing;
  const chunked = framing === 'chunked';

  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  const keepAlive =
    (connection & CONN_CLOSE) === 0 && (version === '1.1' || (connection & CONN_KEEP_ALIVE) !== 0);

  const head: RequestHead = {
    method: line.method,
    target: line.target,
    targetForm: line.targetForm,
    path: line.path,
    version,
    protocol: line.protocol,
    headers,
    // RFC 9112 §3.2.2: with absolute-form the target's authority replaces Host.
    host: line.targetForm === 'absolute' ? line.authority : host,
    contentLength,
    chunked,
    keepAlive,
    // RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0
    // request MUST ignore that expectation."
    expectContinue: expectContinue && version === '1.1',
  };
  return { kind: 'complete', head, consumed: headEnd };
}


/** What the field lines of a head say so far, as parseFieldLines reads them (RFC 9112 §5). */
interface Fields {
  /** In order; names lower-cased, values trimmed of OWS. */
  headers: Array<[name: string, value: string]>;
  hostCount: number;
  host: string | undefined;
  contentLength: number | undefined;
  /** Every Transfer-Encoding line's value, comma-joined in order (RFC 9110 §5.3). */
  transferEncoding: string | undefined;
  /** CONN_CLOSE / CONN_KEEP_ALIVE bits. */
  connection: number;
  expectContinue: boolean;
  /** ONCE_* bits: which of the fields a request carries at most once were seen. */
  once: number;
}

function newFields(): Fields {
  return {
    headers: [],
    hostCount: 0,
    host: undefined,
    contentLength: undefined,
    transferEncoding: undefined,
    connection: 0,
    expectContinue: false,
    once: 0,
  };
}

/**
 * The field names requests commonly carry, lower-cased, by length (an empty list for a length none
 * has, up to the longest): a name that is one of them, in any case, is this constant (fieldName),
 * not a slice of the head lower-cased per request; a constant's hash is kept, so every later
 * lookup and comparison of the name is cheap.
 */
const KNOWN_FIELD_NAMES: Array<readonly string[]> = [];
for (const name of [
  'host', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'connection', 'referer', 'cookie',
  'cache-control', 'pragma', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range',
  'range', 'origin', 'content-length', 'content-type', 'transfer-encoding', 'expect', 'upgrade', 'priority', 'dnt',
  'upgrade-insecure-requests', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-fetch-user',
  'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform', 'sec-websocket-key', 'sec-websocket-version',
  'sec-websocket-extensions', 'sec-websocket-protocol', 'authorization', 'x-requested-with', 'te',
]) {
  while (KNOWN_FIELD_NAMES.length <= name.length) KNOWN_FIELD_NAMES.push([]);
  KNOWN_FIELD_NAMES[name.length] = [...KNOWN_FIELD_NAMES[name.length]!, name];
}

/**
 * The field name buf[s..e) (token characters: checked; `text` is buf decoded as latin1 from 0),
 * lower-cased: a KNOWN_FIELD_NAMES constant when it is one.
 */
function fieldName(buf: Buffer, text: string, s: number, e: number, hasUpper: boolean): string {
  const n = e - s;
  if (n < KNOWN_FIELD_NAMES.length) {
    const known = KNOWN_FIELD_NAMES[n]!;
    for (let i = 0; i < known.length; i++) {
      const name = known[i]!;
      if (equalsIgnoreCaseBytes(buf, s, name)) return name;
    }
  }
  return hasUpper ? text.slice(s, e).toLowerCase() : text.slice(s, e);
}

/**
 * The last origin-form request-target and the last valid Host value parsed (by any connection of
 * this thread): the next head with the same bytes there gets the same string, not a new slice.
 * A keep-alive client sends the same Host on every request, and often the same target; one string
 * keeps its hash and compares by identity wherever it is looked up (HostPolicy's last host
 * allowed, the path caches), and a Host value seen before is not validated again. The Host value
 * is a slice of the head it came in, so it keeps that one head (up to maxHeadBytes) alive; the
 * target is a copy (detachedString).
 */
let lastTarget = '';
let lastHost = '';

/** text[s..e) is `known`, character for character. */
function sameText(text: string, s: number, e: number, known: string): boolean {
  return known.length === e - s && text.startsWith(known, s);
}

/**
 * Reads the field lines text[pos..fieldsEnd) into `fields`: `pos` is the first field line's start,
 * `fieldsEnd` is just after the last field line's LF (the empty line ending a head, or the end of
 * the lines a head still arriving has completed). Returns the first rule a line breaks, alone or
 * with the lines before it — its CRLF (RFC 9112 §2.2), obs-fold (§5.2), a name that is not a token
 * or whitespace before the colon (§5.1), a CTL in a value (RFC 9110 §5.5), more than `maxFields`
 * lines (431, RFC 6585 §5), a second or invalid Host (RFC 9112 §3.2), a malformed or disagreeing
 * Content-Length (RFC 9110 §8.6) — or undefined. Rules only the whole head can judge (a missing
 * Host, Transfer-Encoding's list and its meeting with Content-Length) are the caller's.
 * `text` is `buf` decoded as latin1 from offset 0 (one char per byte, same offsets): bytes are read
 * from `buf` (a typed array's element, not a string's character through its representation: a
 * head parses in 284 ns instead of 370 in a micro-benchmark), names and values sliced from `text`.
 */
function parseFieldLines(buf: Buffer, text: string, pos: number, fieldsEnd: number, maxFields: number, fields: Fields): ParseError | undefined {
  // field-line = field-name ":" OWS field-value OWS   (RFC 9112 §5)
  while (pos < fieldsEnd) {
    const lf = text.indexOf('\n', pos);
    const end = lf - 1;
    if (end < pos || buf[end]! !== CR) return E_LINE_ENDING; // RFC 9112 §2.2

    // RFC 9112 §5.2: obs-fold is not accepted; whitespace before the first field (§2.2) likewise.
    const first = buf[pos]!;
    if (first === SP || first === HTAB) return E_OBS_FOLD;

    if (fields.headers.length === maxFields) return E_TOO_MANY_FIELDS;

    // field-name = token (RFC 9110 §5.1)
    let p = pos;
    let hasUpper = false;
    while (p < end) {
      const c = buf[p]!;
      if (TOKEN_CHARS[c] !== 1) break;
      if (c <= 0x5a && c >= 0x41) hasUpper = true;
      p++;
    }
    if (p === end) return E_FIELD_NAME; // no colon
    const stop = buf[p]!;
    if (stop !== COLON) {
      // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon ... A server
      // MUST reject, with a response status code of 400 (Bad Request), any received request
      // message that contains whitespace between a header field name and colon."
      if (stop === SP || stop === HTAB) return E_SPACE_BEFORE_COLON;
      return stop === CR ? E_LINE_ENDING : E_FIELD_NAME;
    }
    if (p === pos) return E_FIELD_NAME; // empty name

    // RFC 9112 §5.1: leading and trailing OWS is not part of the value.
    let vs = p + 1;
    let c = 0;
    while (vs < end) {
      c = buf[vs]!;
      if (c !== SP && c !== HTAB) break;
      vs++;
    }
    let ve = end;
    while (ve > vs) {
      c = buf[ve - 1]!;
      if (c !== SP && c !== HTAB) break;
      ve--;
    }
    // RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject the
    // message or replace each of those characters with SP"; we reject every CTL.
    for (let k = vs; k < ve; k++) {
      c = buf[k]!;
      if (c < SP ? c !== HTAB : c === DEL) return c === CR ? E_LINE_ENDING : E_FIELD_VALUE;
    }

    const name = fieldName(buf, text, pos, p, hasUpper);
    // A Host value the last head had too is that head's string (checked then; see lastHost).
    const value = vs === ve ? '' : name === 'host' && sameText(text, vs, ve, lastHost) ? lastHost : text.slice(vs, ve);
    fields.headers.push([name, value]);
    pos = lf + 1;

    switch (name) {
      case 'host':
        // RFC 9112 §3.2: 400 for more than one Host field line or an invalid Host value.
        if (++fields.hostCount > 1) return E_MULTIPLE_HOST;
        if (value !== lastHost) {
          if (!isValidHost(value, true, false)) return E_INVALID_HOST;
          lastHost = value;
        }
        fields.host = value;
        break;
      case 'content-length': {
        // RFC 9110 §8.6: Content-Length = 1*DIGIT; repeated values (several lines or a list)
        // must all be the same number, else the message is invalid.
        const n = parseContentLength(value);
        if (n === TOO_LARGE) return E_CONTENT_LENGTH_TOO_LARGE;
        if (n < 0 || (fields.contentLength !== undefined && fields.contentLength !== n)) return E_CONTENT_LENGTH;
        fields.contentLength = n;
        break;
      }
      case 'transfer-encoding':
        // RFC 9110 §5.3: several field lines combine into one list, in order.
        fields.transferEncoding = fields.transferEncoding === undefined ? value : fields.transferEncoding + ',' + value;
        break;
      case 'connection':
        fields.connection |= parseConnectionOptions(value);
        break;
      case 'expect':
        // RFC 9110 §10.1.1: Expect = #expectation, case-insensitive; a 100-continue member of the
        // list counts wherever it stands (one alone on its line missed `100-continue, x`, and the
        // client waited for a 100 that never came); other expectations are ignored.
        if (listHasMember(value, '100-continue')) fields.expectContinue = true;
        break;
      case 'origin':
        if (onceMore(fields, ONCE_ORIGIN)) return E_ORIGIN_REPEATED;
        break;
      // One token each: a list on one line (`same-origin, cross-site`, helper-159) is as two lines.
      case 'sec-fetch-site':
        if (onceMore(fields, ONCE_FETCH_SITE) || value.includes(',')) return E_FETCH_METADATA_REPEATED;
        break;
      case 'sec-fetch-mode':
        if (onceMore(fields, ONCE_FETCH_MODE) || value.includes(',')) return E_FETCH_METADATA_REPEATED;
        break;
      case 'sec-fetch-dest':
        if (onceMore(fields, ONCE_FETCH_DEST) || value.includes(',')) return E_FETCH_METADATA_REPEATED;
        break;
      default:
        break;
    }
  }
  return undefined;
}

// Fields a request carries at most once, which decide who is asking: the CORS and WebSocket origin
// checks read Origin, the cross-site refusal and what is a page read Sec-Fetch-*. A second line
// (never sent by a browser) made the first one decide: `Sec-Fetch-Site: same-origin` then
// `cross-site` was served where `cross-site` alone was refused (helper-157).
const ONCE_ORIGIN = 1;
const ONCE_FETCH_SITE = 2;
const ONCE_FETCH_MODE = 4;
const ONCE_FETCH_DEST = 8;

/** Marks `bit` seen in `fields`; true when it had been seen already. */
function onceMore(fields: Fields, bit: number): boolean {
  const seen = (fields.once & bit) !== 0;
  fields.once |= bit;
  return seen;
}

/** True when the request line starting at `s` opens with more than MAX_METHOD_BYTES token bytes (of `buf` up to `end`). */
function methodTooLong(buf: Buffer, s: number, end: number): boolean {
  const stop = Math.min(end, s + MAX_METHOD_BYTES + 1);
  let i = s;
  while (i < stop && TOKEN_CHARS[buf[i]!] === 1) i++;
  return i - s > MAX_METHOD_BYTES;
}

/**
 * request-line = method SP request-target SP HTTP-version   (RFC 9112 §3)
 * Parses text[s..e) (e is the index of the line's CR); bytes are read from `buf`, which `text` is
 * decoded from (latin1, from offset 0: see parseFieldLines), strings sliced from `text`.
 */
function parseRequestLine(buf: Buffer, text: string, s: number, e: number, limits: ParserLimits): RequestLine | ParseError {
  // method = token (RFC 9110 §9.1)
  let i = s;
  while (i < e && TOKEN_CHARS[buf[i]!] === 1) i++;
  if (i - s > MAX_METHOD_BYTES) return E_METHOD_TOO_LONG;
  if (i === e) return i === s ? E_METHOD : E_REQUEST_LINE;
  const sp = buf[i]!;
  if (sp !== SP) return sp === CR ? E_LINE_ENDING : E_METHOD;
  if (i === s) return E_METHOD;
  const methodEnd = i;

  // request-target: only visible ASCII; RFC 9112 §3.2 and RFC 3986 allow no SP, CTL or non-ASCII
  // byte (a raw one → 400), and a single SP ends it (RFC 9112 §3: no other whitespace).
  const ts = i + 1;
  let j = ts;
  while (j < e) {
    const c = buf[j]!;
    if (c <= SP || c >= DEL) break;
    j++;
  }
  // RFC 9112 §3: "A server that receives a request-target longer than any URI it wishes to parse
  // MUST respond with a 414 (URI Too Long) status code".
  if (j - ts > limits.maxTargetBytes) return E_URI_TOO_LONG;
  if (j === e) return E_REQUEST_LINE; // no version
  const stop = buf[j]!;
  if (stop !== SP) return stop === CR ? E_LINE_ENDING : stop === LF ? E_TARGET : targetByteError(stop);
  if (j === ts) return E_REQUEST_LINE; // two spaces: empty target

  const version = parseVersion(buf, j + 1, e);
  if (version === E_VERSION) return notVersionError(buf[j + 1]!);
  if (typeof version !== 'string') return version;
  // The version as sent (parseVersion checked its form, HTTP/1.x): a constant for the two every
  // client sends, so no string is made per request.
  const protocol = version === '1.0' ? 'HTTP/1.0' : buf[e - 1]! === 0x31 ? 'HTTP/1.1' : text.slice(j + 1, e);

  const method = methodName(buf, text, s, methodEnd);
  // A new target is decoded from the bytes as a flat string of its own (as detachedString makes
  // one, without the slice of the head's text first): every path cache keys by it.
  const target = sameText(text, ts, j, lastTarget) ? lastTarget : buf.toString('latin1', ts, j);
  const t0 = target.charCodeAt(0);
  // No form of request-target has a fragment (RFC 9112 §3.2; absolute-URI, RFC 3986 §4.3): a `#`
  // would otherwise be read as part of a file name.
  if (target.indexOf('#') !== -1) return E_TARGET_FRAGMENT;

  // RFC 9112 §3.2.3: authority-form is only for CONNECT, and CONNECT only uses authority-form.
  if (method === 'CONNECT') {
    if (!isValidHost(target, false, true)) return E_TARGET;
    return { kind: 'line', method, target, targetForm: 'authority', path: '', authority: target, version, protocol };
  }
  // RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ]
  if (t0 === CH_SLASH) {
    lastTarget = target;
    return { kind: 'line', method, target, targetForm: 'origin', path: target, authority: undefined, version, protocol };
  }
  // RFC 9112 §3.2.4: asterisk-form only for a server-wide OPTIONS.
  if (t0 === CH_STAR && target.length === 1) {
    if (method !== 'OPTIONS') return E_TARGET;
    return { kind: 'line', method, target, targetForm: 'asterisk', path: '*', authority: undefined, version, protocol };
  }
  // RFC 9112 §3.2.2: absolute-form = absolute-URI; we accept the http and https schemes.
  const schemeEnd = httpSchemeLength(target);
  if (schemeEnd === 0) return E_TARGET;
  let authEnd = schemeEnd;
  while (authEnd < target.length) {
    const c = target.charCodeAt(authEnd);
    if (c === CH_SLASH || c === CH_QUESTION || c === CH_HASH) break;
    authEnd++;
  }
  const authority = target.slice(schemeEnd, authEnd);
  // RFC 9110 §4.2.4: a recipient SHOULD treat userinfo in an http(s) URI as an error.
  if (authority.indexOf('@') !== -1) return E_TARGET_USERINFO;
  // RFC 9110 §4.2.1: an http URI with an empty host is invalid.
  if (!isValidHost(authority, false, false)) return E_TARGET;
  let path = target.slice(authEnd);
  if (path.length === 0) path = '/';
  else if (path.charCodeAt(0) !== CH_SLASH) path = '/' + path;
  return { kind: 'line', method, target, targetForm: 'absolute', path, authority, version, protocol };
}

/**
 * The 400 for what follows a request line's second space when it is no HTTP-version. When its
 * first byte starts no version in any spelling (neither `H` nor `h`), the line most likely has a
 * raw space in its target (`GET /my file.html HTTP/1.1`, whole or still arriving): said so. The
 * rest (`HTTX`, `HTTP/1.1x`, `http/1.1`, `HTTP/1.1 ` with a trailing space) is a malformed version.
 */
function notVersionError(first: number): ParseError {
  return first !== 0x48 && first !== 0x68 ? E_TARGET_SPACE : E_VERSION;
}

/**
 * HTTP-version = HTTP-name "/" DIGIT "." DIGIT   (RFC 9112 §2.3; HTTP-name is case-sensitive)
 * 1.0 → '1.0'; 1.1 and any higher minor version of HTTP/1 → '1.1' (RFC 9110 §2.5: a recipient
 * "SHOULD process the message as if it were in the highest minor version within that major
 * version to which the recipient is conformant"; nginx does); another major version → 505
 * (RFC 9110 §15.6.6); anything else → 400.
 */
function parseVersion(buf: Buffer, s: number, e: number): '1.0' | '1.1' | ParseError {
  if (
    e - s !== 8 ||
    buf[s]! !== 0x48 || // H
    buf[s + 1]! !== 0x54 || // T
    buf[s + 2]! !== 0x54 || // T
    buf[s + 3]! !== 0x50 || // P
    buf[s + 4]! !== CH_SLASH ||
    buf[s + 6]! !== 0x2e // .
  ) {
    return E_VERSION;
  }
  const major = buf[s + 5]! - 0x30;
  const minor = buf[s + 7]! - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) return E_VERSION;
  if (major === 1) return minor === 0 ? '1.0' : '1.1';
  return E_VERSION_UNSUPPORTED;
}

/** The method string; the commonest ones come from constants instead of a fresh string. */
function methodName(buf: Buffer, text: string, s: number, e: number): string {
  const n = e - s;
  if (n === 3 && buf[s]! === 0x47 && buf[s + 1]! === 0x45 && buf[s + 2]! === 0x54) return 'GET';
  if (n === 4 && text.startsWith('HEAD', s)) return 'HEAD';
  return text.slice(s, e);
}

/** 7 for "http://", 8 for "https://" (scheme case-insensitive, RFC 3986 §3.1), else 0. */
function httpSchemeLength(target: string): number {
  if (target.length > 7 && equalsIgnoreCase(target, 0, 7, 'http://')) return 7;
  if (target.length > 8 && equalsIgnoreCase(target, 0, 8, 'https://')) return 8;
  return 0;
}

/**
 * Host = uri-host [ ":" port ]   (RFC 9110 §7.2; uri-host and port from RFC 3986 §3.2.2-3.2.3)
 * uri-host = IP-literal / IPv4address / reg-name; port = *DIGIT.
 * `allowEmpty`: an empty Host field value is allowed (RFC 9112 §3.2), an empty authority is not.
 * `requirePort`: authority-form = uri-host ":" port (RFC 9112 §3.2.3), with at least one digit.
 */
function isValidHost(value: string, allowEmpty: boolean, requirePort: boolean): boolean {
  const n = value.length;
  if (n === 0) return allowEmpty;
  let i = 0;
  if (value.charCodeAt(0) === CH_LBRACKET) {
    // IP-literal = "[" ( IPv6address / IPvFuture ) "]": hex digits, ":", "." and (IPvFuture) the
    // reg-name characters; the exact address grammar is left to whoever resolves it.
    i = 1;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c === CH_RBRACKET) break;
      if (c !== COLON && (c > 0x7f || HOST_CHARS[c] !== 1)) return false;
      i++;
    }
    if (i === n || i === 1) return false;
    i++;
  } else {
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c === COLON) break;
      if (c > 0x7f || HOST_CHARS[c] !== 1) return false;
      i++;
    }
    if (i === 0) return false; // ":80" — no host
  }
  if (i === n) return !requirePort;
  if (value.charCodeAt(i) !== COLON) return false;
  i++;
  if (requirePort && i === n) return false;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** parseContentLength's answer for digits past Number.MAX_SAFE_INTEGER. */
const TOO_LARGE = -2;

/**
 * Content-Length = 1*DIGIT, also as a list "n, n" (RFC 9110 §8.6). Returns the length, -1 when
 * malformed (sign, space inside, hex, empty element) or when list members differ, TOO_LARGE when
 * the value exceeds Number.MAX_SAFE_INTEGER (RFC 9110 §8.6: a recipient must anticipate large
 * numerals and never overflow).
 */
function parseContentLength(value: string): number {
  const n = value.length;
  let result = -1;
  let i = 0;
  for (;;) {
    const s = i;
    let v = 0;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      if (v > MAX_SAFE) return TOO_LARGE;
      i++;
    }
    if (i === s) return -1;
    if (result !== -1 && v !== result) return -1;
    result = v;
    while (i < n && isOws(value.charCodeAt(i))) i++;
    if (i === n) return result;
    if (value.charCodeAt(i) !== COMMA) return -1;
    i++;
    while (i < n && isOws(value.charCodeAt(i))) i++;
  }
}

/**
 * The framing a head's Transfer-Encoding gives (RFC 9112 §6.1): undefined when it has none,
 * 'chunked', or the error to answer. `final`: the head is complete (its Host already checked);
 * otherwise its field lines so far (`version` undefined while the request line is not known),
 * and only an error no later line can change is returned, the one the whole head gets:
 * - Transfer-Encoding beside Content-Length (E_TE_WITH_CL), the classic smuggling shape: "A
 *   server MAY reject a request that contains both ... regardless, the server MUST close the
 *   connection after responding". Rejected; the caller closes after every error. For a head still
 *   arriving, only once its Host is there (without one, an HTTP/1.1 head is refused for that first).
 * - Any Transfer-Encoding in HTTP/1.0 (E_TE_HTTP10): faulty framing, no Host needed.
 * - A list already malformed, with its Host there (a later line only extends it: a further coding
 *   appended leaves it E_TE_INVALID). Chunked twice or an unknown coding waits while the head
 *   arrives: a later line may change its status (400 or 501).
 */
function transferFraming(fields: Fields, version: string | undefined, final: boolean): 'chunked' | ParseError | undefined {
  const codings = fields.transferEncoding;
  if (codings === undefined) return undefined;
  const hostKnown = final || fields.hostCount > 0;
  if (fields.contentLength !== undefined) return hostKnown ? E_TE_WITH_CL : undefined;
  if (version === undefined) return undefined;
  if (version === '1.0') return E_TE_HTTP10;
  if (final) return classifyTransferCodings(codings);
  return hostKnown && classifyTransferCodings(codings + ',x') === E_TE_INVALID ? E_TE_INVALID : undefined;
}

/**
 * Transfer-Encoding = #transfer-coding; transfer-coding = token *( OWS ";" OWS transfer-parameter )
 * (RFC 9112 §6.1, RFC 9110 §10.1.4). Returns 'chunked' when the list is exactly one `chunked`
 * (case-insensitive, no parameters), otherwise the error to answer:
 * - 400: a malformed list (empty element, non-token), `chunked` with parameters, or `chunked`
 *   more than once (RFC 9112 §7.1: "A sender MUST NOT apply the chunked transfer coding more than
 *   once"; §6.3: chunked must be final) — framing we cannot trust;
 * - 501: any other coding, wherever it stands (RFC 9112 §6.1: "A server that receives a request
 *   message with a transfer coding it does not understand SHOULD respond with 501"): gzip,
 *   identity, `chunked, gzip`, `gzip, chunked`.
 */
function classifyTransferCodings(value: string): 'chunked' | ParseError {
  const n = value.length;
  let chunkedCount = 0;
  let unsupported = false;
  let i = 0;
  for (;;) {
    while (i < n && isOws(value.charCodeAt(i))) i++;
    const ts = i;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c > 0x7f || TOKEN_CHARS[c] !== 1) break;
      i++;
    }
    if (i === ts) return E_TE_INVALID; // empty element or a non-token character
    const isChunked = equalsIgnoreCase(value, ts, i, 'chunked');
    while (i < n && isOws(value.charCodeAt(i))) i++;
    if (i < n && value.charCodeAt(i) === SEMICOLON) {
      if (isChunked) return E_TE_INVALID; // chunked takes no parameters
      // Parameters of a coding we reject anyway: skip to the next element.
      while (i < n && value.charCodeAt(i) !== COMMA) i++;
    }
    if (isChunked) chunkedCount++;
    else unsupported = true;
    if (i === n) break;
    if (value.charCodeAt(i) !== COMMA) return E_TE_INVALID;
    i++;
  }
  if (unsupported) return E_TE_UNSUPPORTED;
  if (chunkedCount !== 1) return E_TE_INVALID;
  return 'chunked';
}

/**
 * Connection = #connection-option (RFC 9110 §7.6.1); options are case-insensitive tokens. Returns
 * CONN_CLOSE / CONN_KEEP_ALIVE bits; other options (and malformed elements) are ignored.
 */
function parseConnectionOptions(value: string): number {
  return (listHasMember(value, 'close') ? CONN_CLOSE : 0) | (listHasMember(value, 'keep-alive') ? CONN_KEEP_ALIVE : 0);
}

/** True when the list `value` (RFC 9110 §5.6.1: elements split on commas, OWS around them) has `lower` as a member, ignoring ASCII case. */
function listHasMember(value: string, lower: string): boolean {
  const n = value.length;
  let i = 0;
  while (i <= n) {
    let e = value.indexOf(',', i);
    if (e === -1) e = n;
    let s = i;
    let t = e;
    while (s < t && isOws(value.charCodeAt(s))) s++;
    while (t > s && isOws(value.charCodeAt(t - 1))) t--;
    if (equalsIgnoreCase(value, s, t, lower)) return true;
    i = e + 1;
  }
  return false;
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** buf[s..s + lower.length) equals `lower` (lower-case ASCII) ignoring ASCII case (the caller checks the length). */
function equalsIgnoreCaseBytes(buf: Buffer, s: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    let c = buf[s + k]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** str[s..e) equals `lower` (lower-case ASCII) ignoring ASCII case. */
function equalsIgnoreCase(str: string, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    let c = str.charCodeAt(s + k);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}
