/**
 * The one way a body leaves the files room: every answer with content — a cached file, a file
 * streamed from its descriptor, a page rewritten by live reload, a listing, a 404 page — is first
 * described as a Representation (RFC 9110 §3.2: its type, its size, its validators, where its bytes
 * come from), then sendRepresentation evaluates the preconditions (§13.2.2) and the Range header
 * (§14) against it and writes it. Features that change what a response is made of (an encoding
 * chosen by Accept-Encoding, a compressed copy, a proxied body, an output budget) attach here once,
 * instead of once per kind of answer.
 *
 * Rules kept here, so no kind of answer can drift from another:
 * - preconditions apply only to a 200 (RFC 9110 §13.2.1), ranges only to a 200 with validators; a
 *   representation without validators (a listing) has no entity tag or date, so If-Match with tags
 *   fails (412), `If-Match: *` passes, `If-None-Match: *` is a 304 (§13.1.1, §13.1.2: it exists),
 *   and date conditions are ignored; otherwise it answers in full;
 * - ranges only when `rangeable` (a strong validator over stable bytes); `Accept-Ranges: bytes` is
 *   sent exactly then;
 * - a weak ETag (`W/"…"`) matches If-None-Match (weak comparison) but never If-Match or If-Range
 *   (strong comparison, §8.8.3.2), which is what a rewritten page wants.
 */
import { representationTag, withTagSuffix, type BodyPart, type Exchange, type WireSlot } from '../http/connection';
import type { HeaderList } from '../http/request-record';
import { evaluatePreconditions, ifRangeAllows, ifRangeIsDate, type ConditionalHeaders, type Validators } from './preconditions';
import { parseRange, type ByteRange } from './range';
import type { ContentCoding } from './content-coding';

/** Pre-serialised heads of a cached file (status line and headers, see file-cache.ts). */
export interface PreparedHeads {
  readonly head200: string;
  readonly log200: HeaderList;
  readonly head304: string;
  readonly log304: HeaderList;
  /** Where the wire bytes of each answer are kept (Exchange.respondPrepared): the 200 with its body, the 200 to a HEAD, the 304. */
  readonly wire200: WireSlot;
  readonly wireHead200: WireSlot;
  readonly wire304: WireSlot;
}

/** What a response is made of (RFC 9110 §3.2). */
export interface Representation {
  /** The Content-Type field value. */
  readonly type: string;
  /** Length of the whole body in bytes. */
  readonly size: number;
  /** Undefined for generated content: no ETag or Last-Modified, no preconditions, no ranges. */
  readonly validators: Validators | undefined;
  /** Byte ranges may be answered (206, multipart/byteranges, 416). */
  readonly rangeable: boolean;
  /** Bytes `start`..`end` (inclusive) of the body: a slice of a buffer or a range of a file. */
  partFor(start: number, end: number): BodyPart;
  /** The whole body when it is in memory (sent in one write). */
  readonly whole: Buffer | undefined;
  /**
   * For a body on disk: reads it whole (small files go out in one write); undefined when the body
   * is streamed as parts.
   */
  readonly readWhole: (() => Promise<Buffer | undefined>) | undefined;
  /** A cached file's serialised heads: the common 200 and 304 skip the header building. */
  readonly prepared: PreparedHeads | undefined;
  /** The content coding of the bytes (RFC 9110 §8.4): `Content-Encoding`; undefined: none. */
  readonly contentEncoding?: ContentCoding | undefined;
  /**
   * The resource has several encodings chosen by Accept-Encoding: `Vary: Accept-Encoding` on every
   * answer (200, 206, 304, 416), the unencoded one included (RFC 9110 §12.5.5, §15.4.5).
   */
  readonly varyAcceptEncoding?: boolean;
  /**
   * For a file on disk that changed moments before it was opened (it may still be being
   * written): resolves true once it has settled as the version this representation describes,
   * false when it moved (then 503 with Retry-After: 1). A GET or HEAD waits for it before its
   * head and before reading a byte (a write(2) under way moves no stat field when it ends, so
   * bytes read before it ended would pass every later stat check); a GET's parts check the
   * stat again before their last piece. Undefined: nothing to wait for. Never waited for when
   * `size` is 0 (no bytes to tear: the empty file is sent as the version it is, HEAD as GET).
   */
  readonly settled?: (() => Promise<boolean>) | undefined;
}

/** How the bytes are encoded, and whether that was chosen by Accept-Encoding. */
export interface Coding {
  readonly contentEncoding?: ContentCoding | undefined;
  readonly varyAcceptEncoding?: boolean;
}

const VARY_ACCEPT_ENCODING: readonly [string, string] = ['Vary', 'Accept-Encoding'];

/** The headers of a 304, and the validator part of every 200: ETag, Last-Modified, Cache-Control. */
export function validatorHeaders(validators: Validators | undefined, vary = false): HeaderList {
  const headers: HeaderList = [];
  if (vary) headers.push([...VARY_ACCEPT_ENCODING]);
  if (validators !== undefined) {
    headers.push(['ETag', validators.etag]);
    if (validators.lastModified !== undefined) headers.push(['Last-Modified', validators.lastModified]);
  }
  // A preview server's content changes under the browser: always revalidate (validators make
  // that a cheap 304).
  headers.push(['Cache-Control', 'no-cache']);
  return headers;
}

/**
 * The headers of a full answer, Content-Length aside: type, coding (Content-Encoding, Vary),
 * validators, ranges, nosniff.
 */
export function representationHeaders(type: string, validators: Validators | undefined, rangeable: boolean, coding?: Coding): HeaderList {
  const headers: HeaderList = [['Content-Type', type]];
  if (coding?.contentEncoding !== undefined) headers.push(['Content-Encoding', coding.contentEncoding]);
  headers.push(...validatorHeaders(validators, coding?.varyAcceptEncoding === true));
  if (rangeable) headers.push(['Accept-Ranges', 'bytes']);
  headers.push(['X-Content-Type-Options', 'nosniff']);
  return headers;
}

/** A body held in memory: generated pages (listings, 404) and rewritten ones. */
export function inMemory(type: string, body: Buffer, validators?: Validators): Representation {
  return {
    type,
    size: body.length,
    validators,
    rangeable: false,
    partFor: (start, end) => body.subarray(start, end + 1),
    whole: body,
    readWhole: undefined,
    prepared: undefined,
  };
}

/**
 * The validators of a representation that has none (a generated listing): an entity tag no
 * received tag can match (splitEtagList keeps no empty tag) and no date, so If-Match with tags
 * fails, `*` matches, and date conditions are ignored (§13.1.3, §13.1.4). Never sent, never
 * rangeable (answerConditionally ranges only when `rep.rangeable`).
 */
const NO_VALIDATORS: Validators = { etag: '', lastModifiedSec: undefined, lastModified: undefined };

/** Request headers that can make an answer anything but the plain one. */
const CONDITIONAL_HEADERS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'range']);

function hasConditionalHeaders(ex: Exchange): boolean {
  for (const [name] of ex.head.headers) if (CONDITIONAL_HEADERS.has(name)) return true;
  return false;
}

/**
 * The If-Range validator (RFC 9110 §13.1.5) for ifRangeAllows: its value, undefined when the
 * request has none, and '' (a validator that matches nothing) when it has lines that disagree.
 * Such lines are no one validator; taking them for no If-Range at all honoured the Range
 * unconditionally (`If-Range: "old"` + `If-Range: "new"` got a 206 of whichever version is on
 * disk now, to splice into the client's old copy). A validator that does not match means the whole
 * representation (§13.1.5: the server MUST ignore the Range), and so does this one.
 */
function ifRangeOf(ex: Exchange): string | undefined {
  const value = ex.singleHeader('if-range');
  return value === undefined && ex.header('if-range') !== undefined ? '' : value;
}

function conditionalHeaders(ex: Exchange): ConditionalHeaders {
  return {
    ifMatch: ex.listHeader('if-match'),
    ifNoneMatch: ex.listHeader('if-none-match'),
    ifModifiedSince: ex.singleHeader('if-modified-since'),
    ifUnmodifiedSince: ex.singleHeader('if-unmodified-since'),
  };
}

/**
 * Answers `ex` with `rep` (GET or HEAD): for a 200, 412 or 304 from the preconditions, then
 * 206 / 416 / multipart from the Range header when `rep.rangeable`; otherwise, and when none of
 * these apply, the whole body with `status`. A body that cannot be read whole
 * (a file that shrank, a read error) fails the exchange (the socket ends) rather than send a body
 * shorter than its Content-Length. Never throws.
 */
export function sendRepresentation(ex: Exchange, rep: Representation, status = 200): void {
  const settled = rep.settled;
  // An empty body has no bytes a write could tear: it is one version (README: "the empty file
  // between the truncation and the write is one version and is sent as it is"), and a GET sends
  // it at once. A HEAD waited and became a 503 when the file moved meanwhile, so HEAD and GET of
  // the same file got different statuses (RFC 9110 §9.3.2).
  if (settled !== undefined && rep.size > 0) {
    // Its Content-Length and validators would be those of a write under way: 503 if it moved.
    // A GET waits too, before it reads a byte: the kernel stamps mtime and ctime when a write(2)
    // starts and moves nothing when it ends, so the stat this answer was made from may already be
    // the save's final one, and pieces read before the write reached them (the first MiB of the
    // new version, the rest of the old) passed the check before the last piece as one version.
    settled().then(
      (same) => (same ? sendRepresentation(ex, { ...rep, settled: undefined }, status) : ex.connection.fileChangedWhileRead(ex)),
      () => ex.connection.failExchange(ex),
    );
    return;
  }
  if (status === 200 && hasConditionalHeaders(ex)) {
    if (answerConditionally(ex, rep)) return;
  }
  if (status === 200 && rep.prepared !== undefined) {
    const prepared = rep.prepared;
    if (ex.method === 'HEAD') ex.respondPrepared(200, prepared.head200, prepared.log200, undefined, prepared.wireHead200);
    else ex.respondPrepared(200, prepared.head200, prepared.log200, rep.whole, prepared.wire200);
    return;
  }
  const headers = representationHeaders(rep.type, rep.validators, rep.rangeable, rep);
  if (rep.whole !== undefined || rep.size === 0) {
    ex.respond(status, headers, rep.whole ?? Buffer.alloc(0));
    return;
  }
  const readWhole = rep.readWhole;
  if (readWhole !== undefined && ex.method === 'GET') {
    readWhole().then(
      (body) => (body !== undefined ? ex.respond(status, headers, body) : ex.connection.fileChangedWhileRead(ex)),
      () => ex.connection.failExchange(ex),
    );
    return;
  }
  ex.respondParts(status, headers, rep.size, [rep.partFor(0, rep.size - 1)]);
}

/**
 * For a representation whose bytes are not made yet (an encoding compressed on demand): answers
 * 304 or 412 from its validators alone, exactly as sendRepresentation would, so a revalidation
 * never waits for a compression. False when the answer needs the bytes (no ranges are evaluated:
 * such a representation is never rangeable).
 */
export function answerFromValidators(ex: Exchange, validators: Validators, coding: Coding): boolean {
  if (!hasConditionalHeaders(ex)) return false;
  const pre = evaluatePreconditions(ex.method, conditionalHeaders(ex), asAnswered(ex, validators));
  if (pre === 'not-modified') {
    ex.respond(304, validatorHeaders(validators, coding.varyAcceptEncoding === true));
    return true;
  }
  if (pre === 'failed') {
    sendPreconditionFailed(ex, coding.varyAcceptEncoding === true);
    return true;
  }
  return false;
}

/**
 * 412 (RFC 9110 §15.5.13). `vary`: the file has encodings, so this answer, like every answer of
 * it, says that it depends on Accept-Encoding (a cache must not give it to a client of another).
 * A refusal (Exchange.refuse: `Cache-Control: no-store`, see sendRangeNotSatisfiable).
 */
function sendPreconditionFailed(ex: Exchange, vary: boolean): void {
  ex.refuse(412, 'Precondition failed: the file has changed.\n', vary ? [[...VARY_ACCEPT_ENCODING]] : []);
}

/**
 * 416 (RFC 9110 §15.5.17) with a Content-Range of `*` and the size (§14.4), and Vary as
 * sendPreconditionFailed.
 *
 * 412 and 416 answer this request's own If-Match, If-Unmodified-Since or Range, which are in no
 * cache's key (a cache keys by URL and Vary), so both go as refusals, with `Cache-Control:
 * no-store` that no configured header replaces. Neither is cacheable by default (§15.1), but a
 * configured `Cache-Control: max-age=60` (or `Expires`) made them storable (RFC 9111 §3), and a
 * cache could then answer every plain GET of the file with one client's 412 or 416 for a minute
 * (nginx's `add_header` and `expires` skip these statuses for the same reason).
 */
function sendRangeNotSatisfiable(ex: Exchange, size: number, vary: boolean): void {
  const extra: HeaderList = [['Content-Range', `bytes */${size}`]];
  if (vary) extra.push([...VARY_ACCEPT_ENCODING]);
  ex.refuse(416, 'Range not satisfiable.\n', extra);
}

/**
 * `validators` as `ex`'s answer states them, to compare a request's conditions with: the entity
 * tag with the suffix of the representation its configured headers make (representationTag;
 * the connection adds the same suffix to the ETag it writes, so the answer's own fields are
 * built from `validators` as they are). A file's or a decoded file's only: a back-end's tags are
 * its own.
 */
function asAnswered(ex: Exchange, validators: Validators): Validators {
  if (ex.bodyOrigin !== 'file' && ex.bodyOrigin !== 'decoded') return validators;
  const tag = representationTag(ex.extraHeaders);
  return tag === '' || validators.etag === '' ? validators : { ...validators, etag: withTagSuffix(validators.etag, tag) };
}

/** 412 / 304 / 206 / 416 / multipart; true when it answered, false leaves the full 200. */
function answerConditionally(ex: Exchange, rep: Representation): boolean {
  const pre = evaluatePreconditions(ex.method, conditionalHeaders(ex), asAnswered(ex, rep.validators ?? NO_VALIDATORS));
  if (pre === 'not-modified') {
    if (rep.prepared !== undefined) ex.respondPrepared(304, rep.prepared.head304, rep.prepared.log304, undefined, rep.prepared.wire304);
    else ex.respond(304, validatorHeaders(rep.validators, rep.varyAcceptEncoding === true));
    return true;
  }
  if (pre === 'failed') {
    sendPreconditionFailed(ex, rep.varyAcceptEncoding === true);
    return true;
  }
  const validators = rep.validators;
  if (validators === undefined || !rep.rangeable || ex.method !== 'GET') return false;
  const rangeHeader = ex.singleHeader('range');
  const ifRange = ifRangeOf(ex);
  // A date names no one coding: where the resource has several (Vary: Accept-Encoding: a `.br` or
  // `.gz` beside the file, or a copy compressed on the fly), each coding's Last-Modified may be the
  // same second, and a client resuming one coding's bytes with a different Accept-Encoding would
  // get a 206 of another's to splice in. So the date is not a strong validator of the
  // representation selected (RFC 9110 §8.8.2.2) and the whole one is sent (§13.1.5).
  if (rangeHeader === undefined || !ifRangeAllows(ifRange, asAnswered(ex, validators)) || (rep.varyAcceptEncoding === true && ifRangeIsDate(ifRange))) return false;
  const range = parseRange(rangeHeader, rep.size);
  if (range.kind === 'none') return false;
  if (range.kind === 'unsatisfiable') {
    sendRangeNotSatisfiable(ex, rep.size, rep.varyAcceptEncoding === true);
    return true;
  }
  // Many ranges of bytes under a content coding: a multipart body is no gzip stream, yet the
  // coding would label it whole (RFC 9110 §8.4), and no client could read it (helper-176: fetch()
  // failed, curl --compressed said "incorrect header check"). The Range is ignored (§14.2): 200.
  if (range.ranges.length > 1 && (rep.contentEncoding !== undefined || ex.configuresCoding)) return false;
  const headers = representationHeaders(rep.type, validators, true, rep);
  const only = range.ranges.length === 1 ? range.ranges[0] : undefined;
  if (only !== undefined) {
    headers.push(['Content-Range', `bytes ${only.start}-${only.end}/${rep.size}`]);
    ex.respondParts(206, headers, only.end - only.start + 1, [rep.partFor(only.start, only.end)]);
    return true;
  }
  sendMultipart(ex, rep, headers, range.ranges);
  return true;
}

/** RFC 9110 §14.6: multipart/byteranges, each part with its own Content-Type and Content-Range. */
function sendMultipart(ex: Exchange, rep: Representation, headers: HeaderList, ranges: readonly ByteRange[]): void {
  const boundary = `porthole-${ex.id.toString(36)}-${Date.now().toString(36)}`;
  // Each part is of the representation's type: a configured one where a rule names it, as the
  // 200 and a single range's 206 say (helper-176: the parts said the file's own type).
  const type = ex.configuredHeader('content-type') ?? rep.type;
  const parts: BodyPart[] = [];
  let length = 0;
  for (const r of ranges) {
    const partHead = Buffer.from(
      `\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${rep.size}\r\n\r\n`,
      'latin1',
    );
    parts.push(partHead, rep.partFor(r.start, r.end));
    length += partHead.length + (r.end - r.start + 1);
  }
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  parts.push(tail);
  length += tail.length;
  const typeIndex = headers.findIndex(([n]) => n === 'Content-Type');
  headers[typeIndex] = ['Content-Type', `multipart/byteranges; boundary=${boundary}`];
  ex.respondParts(206, headers, length, parts);
}
