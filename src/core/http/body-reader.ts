/**
 * Reads one request body, so that the next pipelined request starts at the right byte (RFC 9112
 * §6.3). Static files never use a body: it is framed and discarded. A proxied route passes
 * `onData` to `push` and gets the body's bytes (chunk data only: sizes, extensions and trailers
 * are framing and stay here), in order, as slices of the input.
 *
 * Contract of `push(buf, offset)`: it looks at buf[offset..] only and returns
 *   { kind: 'more', consumed }   every byte from offset on was body; push the next chunk of input.
 *   { kind: 'done', consumed }   the body ended at buf[offset + consumed - 1]; what follows is the
 *                                next request.
 *   { kind: 'error', status, code, message }
 *                                answer `status` (if nothing was sent yet) and close the connection.
 * After 'done', push returns done with consumed 0; after 'error', the same error again.
 *
 * Invariants: never throws; keeps no reference to any Buffer; input may be split at any byte (the
 * chunked decoder is a state machine with one named state per grammar position); the sum of chunk
 * sizes never exceeds maxBodyBytes (413 as soon as a chunk-size would pass it, before its data),
 * and chunk extensions and trailers are bounded (MAX_CHUNK_EXTENSION_BYTES, MAX_TRAILER_BYTES).
 *
 * Content-Length bodies: the caller should call `checkContentLength` before sending
 * `100 Continue` or reading anything; a BodyReader built with a length over the limit answers
 * that same 413 from its first push without consuming.
 */
import { BACKSLASH, COLON, CR, DQUOTE, EQUALS, HTAB, LF, SEMICOLON, SP, TOKEN_CHARS, isFieldValueByte } from './http-grammar';
import type { ParseError } from './http-parser';
import { MAX_CHUNK_EXTENSION_BYTES, MAX_CHUNK_SIZE_DIGITS, MAX_TRAILER_BYTES } from './limits';

export type BodyFraming = { kind: 'length'; length: number } | { kind: 'chunked' };

export type BodyPushResult =
  | { kind: 'done'; consumed: number }
  | { kind: 'more'; consumed: number }
  | ParseError;

function bodyError(status: number, code: string, message: string): ParseError {
  return Object.freeze({ kind: 'error', status, code, message });
}

const E_BODY_TOO_LARGE = bodyError(413, 'ERR_BODY_TOO_LARGE', 'The request body is larger than this server accepts.');
const E_INVALID_LENGTH = bodyError(400, 'ERR_INVALID_CONTENT_LENGTH', 'The request body length is invalid.');
const E_CHUNK_SIZE = bodyError(400, 'ERR_INVALID_CHUNK_SIZE', 'A chunk size is not a valid hexadecimal number.');
/** Hex digits, but more significant ones than MAX_CHUNK_SIZE_DIGITS or past 2^53 − 1: refused, never overflowed. */
const E_CHUNK_SIZE_TOO_LARGE = bodyError(
  400,
  'ERR_INVALID_CHUNK_SIZE',
  `A chunk size is larger than this server can take (at most ${MAX_CHUNK_SIZE_DIGITS} hex digits after any leading zeros, and below 2^53).`,
);
/** Leading zeros of chunk sizes past the body's chunk-line budget (MAX_CHUNK_EXTENSION_BYTES, shared with the extensions). */
const E_CHUNK_SIZE_ZEROS = bodyError(
  413,
  'ERR_CHUNK_EXTENSIONS_TOO_LARGE',
  `The chunk lines of the request body are too long: their extensions and the leading zeros of their sizes come to more than ${MAX_CHUNK_EXTENSION_BYTES / 1024} KiB.`,
);
const E_CHUNK_EXTENSION = bodyError(
  400,
  'ERR_INVALID_CHUNK_EXTENSION',
  'A chunk extension is malformed: after the chunk size, each extension is ";" and a name (a token), optionally "=" and a token or a quoted string (RFC 9112 §7.1.1).',
);
const E_CHUNK_EXTENSIONS_TOO_LARGE = bodyError(
  413,
  'ERR_CHUNK_EXTENSIONS_TOO_LARGE',
  'The chunk extensions of the request body are too large.',
);
const E_CHUNK_LINE_ENDING = bodyError(400, 'ERR_INVALID_CHUNK', 'A chunk line or chunk data must end with CR LF.');
const E_TRAILER = bodyError(400, 'ERR_INVALID_TRAILER', 'The trailer section of the request body is malformed.');
const E_TRAILER_TOO_LARGE = bodyError(431, 'ERR_TRAILER_TOO_LARGE', 'The trailer section of the request body is too large.');

/**
 * The up-front check for a Content-Length body: 413 when it exceeds maxBodyBytes (RFC 9110
 * §15.5.14), else undefined. Call it right after the head, before any `100 Continue`.
 */
export function checkContentLength(contentLength: number, maxBodyBytes: number): ParseError | undefined {
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) return E_INVALID_LENGTH;
  return contentLength > maxBodyBytes ? E_BODY_TOO_LARGE : undefined;
}

/**
 * Where a chunk line's extensions are read (RFC 9112 §7.1.1):
 * `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`, a name a token, a
 * value a token or a quoted-string (RFC 9110 §5.6.4). Each state follows a `;` already read.
 */
const enum ExtensionState {
  /** After `;`: BWS, then the name's first byte. */
  NameStart,
  /** In the name. */
  Name,
  /** BWS after the name: `=` or the next `;` must follow. */
  NameBws,
  /** After `=`: BWS, then the value's first byte. */
  ValueStart,
  /** In a token value. */
  Token,
  /** In a quoted-string value. */
  Quoted,
  /** After a backslash in a quoted-string (a quoted-pair). */
  QuotedPair,
  /** Just after a value's closing quote: the CR, BWS or the next `;`. */
  AfterQuote,
  /** BWS after a value: the next `;` must follow. */
  ValueBws,
  /** The CR that ends the chunk line (not a state: nextExtensionState's answer). */
  Ended,
  /** A byte the grammar has no place for (nextExtensionState's answer). */
  Invalid,
}

/**
 * The extension state after byte `b` in state `state` (Ended at the chunk line's CR, Invalid where
 * the grammar breaks). qdtext and a quoted-pair's escaped byte (RFC 9110 §5.6.4: HTAB, SP, VCHAR,
 * obs-text) are a field value's bytes (isFieldValueByte), DQUOTE and backslash told apart first.
 */
function nextExtensionState(state: ExtensionState, b: number): ExtensionState {
  const ws = b === SP || b === HTAB;
  const token = TOKEN_CHARS[b] === 1;
  switch (state) {
    case ExtensionState.NameStart:
      return ws ? state : token ? ExtensionState.Name : ExtensionState.Invalid;
    case ExtensionState.Name:
      if (token) return state;
      return ws ? ExtensionState.NameBws : b === EQUALS ? ExtensionState.ValueStart : b === SEMICOLON ? ExtensionState.NameStart : b === CR ? ExtensionState.Ended : ExtensionState.Invalid;
    case ExtensionState.NameBws:
      return ws ? state : b === EQUALS ? ExtensionState.ValueStart : b === SEMICOLON ? ExtensionState.NameStart : ExtensionState.Invalid;
    case ExtensionState.ValueStart:
      return ws ? state : b === DQUOTE ? ExtensionState.Quoted : token ? ExtensionState.Token : ExtensionState.Invalid;
    case ExtensionState.Token:
      if (token) return state;
      return ws ? ExtensionState.ValueBws : b === SEMICOLON ? ExtensionState.NameStart : b === CR ? ExtensionState.Ended : ExtensionState.Invalid;
    case ExtensionState.Quoted:
      return b === DQUOTE ? ExtensionState.AfterQuote : b === BACKSLASH ? ExtensionState.QuotedPair : isFieldValueByte(b) ? state : ExtensionState.Invalid;
    case ExtensionState.QuotedPair:
      return isFieldValueByte(b) ? ExtensionState.Quoted : ExtensionState.Invalid;
    case ExtensionState.AfterQuote:
      return ws ? ExtensionState.ValueBws : b === SEMICOLON ? ExtensionState.NameStart : b === CR ? ExtensionState.Ended : ExtensionState.Invalid;
    case ExtensionState.ValueBws:
      return ws ? state : b === SEMICOLON ? ExtensionState.NameStart : ExtensionState.Invalid;
    default:
      return ExtensionState.Invalid;
  }
}

/**
 * Positions in the chunked grammar (RFC 9112 §7.1):
 *
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   trailer-section = *( field-line CRLF )
 */
const enum State {
  /** Content-Length framing: `remaining` bytes to go. */
  Length,
  /** In chunk-size (at least one HEXDIG seen once we leave it). */
  Size,
  /** BWS after chunk-size: only SP / HTAB, then ";". */
  SizeBws,
  /** In chunk-ext, up to the CR. */
  Extension,
  /** The LF after the chunk-size line's CR. */
  SizeLf,
  /** In chunk-data: `remaining` bytes to go. */
  Data,
  /** The CR after chunk-data. */
  DataCr,
  /** The LF after chunk-data. */
  DataLf,
  /** At the start of a trailer field line, or of the final empty line. */
  TrailerStart,
  /** In a trailer field name. */
  TrailerName,
  /** In a trailer field value, up to the CR. */
  TrailerValue,
  /** The LF ending a trailer field line. */
  TrailerLf,
  /** The LF of the final empty line. */
  FinalLf,
  Done,
  Failed,
}

export class BodyReader {
  private state: State;
  private readonly maxBodyBytes: number;
  /** Bytes left in the body (length framing) or in the current chunk's data. */
  private remaining = 0;
  /** Chunk sizes summed so far. */
  private total = 0;
  /** The chunk-size being read, its significant digits (after leading zeros), and its zeros before them. */
  private size = 0;
  private sizeDigits = 0;
  private sizeZeros = 0;
  private extensionBytes = 0;
  /** Where in the chunk extensions the reader is (State.Extension). */
  private extension = ExtensionState.NameStart;
  private trailerBytes = 0;
  private failure: ParseError | undefined;

  constructor(framing: BodyFraming, maxBodyBytes: number) {
    this.maxBodyBytes = maxBodyBytes;
    if (framing.kind === 'chunked') {
      this.state = State.Size;
    } else {
      const rejected = checkContentLength(framing.length, maxBodyBytes);
      if (rejected !== undefined) {
        this.state = State.Failed;
        this.failure = rejected;
      } else {
        this.state = framing.length === 0 ? State.Done : State.Length;
        this.remaining = framing.length;
      }
    }
  }

  /**
   * Consumes from buf[offset..]; never throws. See the file comment for the contract. `onData`,
   * when given, receives each run of body bytes as a subarray of `buf` (not copied: the caller
   * must not reuse `buf`'s memory while the slice is held).
   */
  push(buf: Buffer, offset: number, onData?: (chunk: Buffer) => void): BodyPushResult {
    if (this.state === State.Done) return { kind: 'done', consumed: 0 };
    if (this.failure !== undefined) return this.failure;
    const len = buf.length;
    const start = offset >= 0 && offset <= len ? Math.floor(offset) : len;

    if (this.state === State.Length) {
      const available = len - start;
      if (available >= this.remaining) {
        const consumed = this.remaining;
        this.remaining = 0;
        this.state = State.Done;
        if (onData !== undefined && consumed > 0) onData(buf.subarray(start, start + consumed));
        return { kind: 'done', consumed };
      }
      this.remaining -= available;
      if (onData !== undefined && available > 0) onData(buf.subarray(start, len));
      return { kind: 'more', consumed: available };
    }

    let i = start;
    while (i < len) {
      const b = buf[i] as number;
      switch (this.state) {
        case State.Size: {
          const digit = hexValue(b);
          if (digit >= 0) {
            if (digit === 0 && this.size === 0) {
              // A leading zero (or the last chunk's 0): chunk-size is 1*HEXDIG (RFC 9112 §7.1), so
              // `00000000000000005` is 5 (nginx and Node take it; helper-171 got a 400 for its 17
              // digits). No magnitude, so no significant digit; past the first, each counts in the
              // body's chunk-line budget with the extensions, so a line of zeros is bounded too.
              if (this.sizeZeros++ > 0 && ++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) return this.fail(E_CHUNK_SIZE_ZEROS);
              i++;
              break;
            }
            // Too many significant digits or beyond 2^53 - 1: 400 rather than silent overflow.
            if (++this.sizeDigits > MAX_CHUNK_SIZE_DIGITS) return this.fail(E_CHUNK_SIZE_TOO_LARGE);
            this.size = this.size * 16 + digit;
            if (this.size > Number.MAX_SAFE_INTEGER) return this.fail(E_CHUNK_SIZE_TOO_LARGE);
            i++;
            break;
          }
          if (this.sizeDigits === 0 && this.sizeZeros === 0) return this.fail(E_CHUNK_SIZE);
          // The byte after the size is judged first: a malformed chunk line is a 400 whatever size
          // it names (a size over the limit followed by a bare LF was a 413 that named the wrong fault).
          let next: State;
          if (b === CR) next = State.SizeLf;
          else if (b === SEMICOLON || b === SP || b === HTAB) {
            next = b === SEMICOLON ? State.Extension : State.SizeBws;
            this.extension = ExtensionState.NameStart;
            // The extensions' first byte (their `;`, or the BWS before it): every byte counts.
            if (++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) return this.fail(E_CHUNK_EXTENSIONS_TOO_LARGE);
          } else return this.fail(b === LF ? E_CHUNK_LINE_ENDING : E_CHUNK_SIZE);
          // The size is known: refuse before any of its data is read.
          if (this.size > this.maxBodyBytes - this.total) return this.fail(E_BODY_TOO_LARGE);
          this.state = next;
          i++;
          break;
        }
        case State.SizeBws:
          // The whitespace before a `;` is part of the chunk extensions (RFC 9112 §7.1.1: BWS ";"),
          // and counts toward their bound: uncounted, a chunk line of endless spaces never ended.
          if (b === SEMICOLON) {
            this.state = State.Extension;
            this.extension = ExtensionState.NameStart;
          } else if (b !== SP && b !== HTAB) return this.fail(E_CHUNK_SIZE);
          if (++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) return this.fail(E_CHUNK_EXTENSIONS_TOO_LARGE);
          i++;
          break;
        case State.Extension: {
          // The extensions are discarded, yet their grammar is checked (RFC 9112 §7.1.1: a chunk
          // line that breaks it is a 400, as llhttp's strict mode refuses it; `3;`, `3;a=` and an
          // unclosed quote were taken, helper-160), and their total is bounded (the memory/CPU
          // cost of unbounded extensions is a known DoS, cf. CVE-2024-22019).
          const next = nextExtensionState(this.extension, b);
          if (next === ExtensionState.Invalid) return this.fail(E_CHUNK_EXTENSION);
          if (next === ExtensionState.Ended) {
            this.state = State.SizeLf;
          } else {
            this.extension = next;
            if (++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) return this.fail(E_CHUNK_EXTENSIONS_TOO_LARGE);
          }
          i++;
          break;
        }
        case State.SizeLf:
          if (b !== LF) return this.fail(E_CHUNK_LINE_ENDING);
          i++;
          if (this.size === 0) {
            this.state = State.TrailerStart;
          } else {
            this.total += this.size;
            this.remaining = this.size;
            this.state = State.Data;
          }
          break;
        case State.Data: {
          const available = len - i;
          const take = available < this.remaining ? available : this.remaining;
          if (onData !== undefined && take > 0) onData(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (b !== CR) return this.fail(E_CHUNK_LINE_ENDING);
          this.state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (b !== LF) return this.fail(E_CHUNK_LINE_ENDING);
          this.state = State.Size;
          this.size = 0;
          this.sizeDigits = 0;
          this.sizeZeros = 0;
          i++;
          break;
        case State.TrailerStart:
          // The final CRLF ends the body; it is no part of the trailer section (RFC 9112 §7.1).
          if (b === CR) this.state = State.FinalLf;
          else if (TOKEN_CHARS[b] === 1) this.state = State.TrailerName;
          else return this.fail(E_TRAILER); // includes obs-fold (RFC 9112 §5.2) and empty names
          if (this.state !== State.FinalLf && ++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail(E_TRAILER_TOO_LARGE);
          i++;
          break;
        case State.TrailerName:
          // RFC 9112 §5.1: no whitespace between field name and colon.
          if (b === COLON) this.state = State.TrailerValue;
          else if (TOKEN_CHARS[b] !== 1) return this.fail(E_TRAILER);
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail(E_TRAILER_TOO_LARGE);
          i++;
          break;
        case State.TrailerValue:
          // RFC 9110 §5.5: no CTL in a field value; the CR ends the line.
          if (b === CR) this.state = State.TrailerLf;
          else if (!isFieldValueByte(b)) return this.fail(E_TRAILER);
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail(E_TRAILER_TOO_LARGE);
          i++;
          break;
        case State.TrailerLf:
          if (b !== LF) return this.fail(E_TRAILER);
          // Each field line's CRLF counts (MAX_TRAILER_BYTES): without its LF, lines of a few
          // bytes each took a third more than the bound.
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail(E_TRAILER_TOO_LARGE);
          this.state = State.TrailerStart;
          i++;
          break;
        case State.FinalLf:
          if (b !== LF) return this.fail(E_CHUNK_LINE_ENDING);
          this.state = State.Done;
          return { kind: 'done', consumed: i + 1 - start };
        default:
          // Length, Done and Failed are handled before the loop.
          return { kind: 'done', consumed: i - start };
      }
    }
    return { kind: 'more', consumed: len - start };
  }

  private fail(error: ParseError): ParseError {
    this.state = State.Failed;
    this.failure = error;
    return error;
  }
}

/** The value of a HEXDIG byte (RFC 5234: 0-9, A-F, and a-f per RFC 9110 §5.6 case rules), else -1. */
function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}
