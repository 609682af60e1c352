/**
 * One client connection: bytes in → request heads (the parser) → bodies discarded → one exchange
 * at a time handed to the handler → responses out, in order (pipelined requests wait in the buffer
 * until the response before them is finished, which keeps their answers in order).
 *
 * Invariants:
 * - Every failure funnels into `destroy()`, which is idempotent; no handler throws out of here.
 * - Exactly one log record per request that got a response or was cut short (aborted).
 * - Timers: a head deadline (absolute, from the first byte of a head), a body deadline (absolute,
 *   `bodyMs` from the end of the head), the idle keep-alive timeout, the body-read inactivity
 *   timeout (headersMs) and the write-stall timeout (the last three are socket inactivity
 *   timeouts, one at a time), and the rate check every `rateWindowMs`: a response queue that
 *   drains slower than `minSendBytesPerSec`, or a body that arrives slower than
 *   `minReceiveBytesPerSec`, ends the connection (slow readers and slow senders hold sockets).
 * - Output is bounded: once a response is written, the next pipelined request is not parsed (and
 *   the socket not read) while more than `maxQueuedBytes` wait in the socket's queue; bodies built
 *   in memory take their bytes from the server-wide MemoryBudget (`Exchange.reserveMemory`).
 * - A request whose method will be refused (405/501) is answered as soon as its head is parsed.
 *   When its whole body came with its head (Content-Length or chunked, within maxBodyBytes), the
 *   body is passed over and the connection goes on, as nginx discards it; otherwise the answer
 *   does not wait for the body and the connection closes: a body whose framing is known is passed
 *   over as it comes while the connection lingers, and each request after it logged as not
 *   answered (passBodyAhead). A CONNECT's answer always closes it: the bytes after its head are
 *   tunnel data, never a next request.
 * - A parse error is answered from the fixed table with `Connection: close`, then the socket is
 *   half-closed and what the client still sends is read and dropped for a short linger.
 */
import type { Socket } from 'node:net';
import { read as fsRead } from 'node:fs';
import { nodeCrypto } from '../node-crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { isOwnAddress, isThisComputersRequest, normaliseIp } from '../access/access-policy';
import { countOf, escapeForDisplay } from '../text/display-text';
import { BodyReader, checkContentLength } from './body-reader';
import { TOKEN_CHARS, isToken } from './http-grammar';
import { onlyEmptyLines, parseRequestHead, skipEmptyLines, type RequestHead } from './http-parser';
import { MAX_METHOD_BYTES, type ParserLimits } from './limits';
import { FilePieces } from './file-pieces';
import { bytesNotYetTaken, clientProgressKnown } from './send-queue';
import { InputStore } from './input-store';
import { InactivityTimer } from './inactivity-timer';
import type { MemoryBudget, Reservation } from './memory-budget';
import type { HeaderList, ReadonlyHeaderList, RequestRecord } from './request-record';
import { escapeHtml } from '../text/html';
import { headTail, serializeHead, serializeHeaders, statusHasNoBody } from './response-head';
import { acceptField, htmlAcceptance } from './accept';
import type { Timeouts, TransferLimits } from '../options';
import { joinGroupTimer, timeoutAfterReads } from './after-reads';

/**
 * One rate-check timer per window length for every connection, not one per connection
 * (joinGroupTimer). A connection that joins mid-window only records its first sample at the next
 * tick (its rateOut/rateBody start empty), so each of its checks still compares two samples a
 * whole window apart. Judged after the turn's reads, as every timeout: a body's bytes that came in
 * time but wait in the kernel behind a held-up loop count in this window.
 */
const rateTicks = new Map<number, Set<Connection>>();

function joinRateTick(connection: Connection, windowMs: number): Set<Connection> {
  return joinGroupTimer(rateTicks, windowMs, windowMs, connection, (group) => {
    for (const c of group) c.checkRates();
  });
}

/**
 * Connections whose small answers written in this turn of the event loop are held (socket.cork)
 * and handed to the kernel together at its end (setImmediate: after every read the turn's poll
 * gave). A client waiting on many connections is then woken once for the turn's answers, not once
 * per answer: waking a sleeping reader costs the writer's CPU more than the write itself (an
 * inter-processor interrupt). Measured (interleaved A/B, 1 s wrk rounds, medians): 1 KiB
 * keep-alive at 50 connections 81,600 → 84,300 req/s and 12.4 → 11.9 µs of CPU per request; at
 * 256 connections 66,300 → 73,500 req/s. Only while another connection is open or more pipelined
 * bytes wait: with a single client there is nothing to gather, and the held write would only add
 * a turn's delay (one keep-alive connection: 13,200 → 11,900 req/s when always held). Not for an
 * answer that closes its connection: its close(2) follows the write in the same turn.
 */
let heldOutput: Connection[] = [];
let heldFlushScheduled = false;

function flushHeldOutput(): void {
  heldFlushScheduled = false;
  const held = heldOutput;
  heldOutput = [];
  for (const connection of held) connection.releaseOutput();
}

/**
 * A lingering close (RFC 9112 §9.6), as nginx's: once the kernel holds all its output, a closing
 * connection keeps reading (and dropping) what the client still sends, and closes after LINGER_MS
 * with nothing from it, or LINGER_MAX_MS in all (nginx's lingering_timeout and lingering_time). A
 * close while the client still sends makes the kernel reset the connection, which can drop an
 * answer it has not read yet (helper-52: a client uploading past a 405 for 3 s, reading at 4 s,
 * lost the answer to a fixed 2 s linger in 25 of 25 tries; nginx delivered it in 15 of 15).
 */
export const LINGER_MS = 5_000;
export const LINGER_MAX_MS = 30_000;
/**
 * The most a connection may have written for a close(2) at once, without a lingering close: ten
 * segments of 1,448 bytes, what a new connection sends before its first acknowledgement (RFC
 * 6928). Such an answer has left the send queue by the time write() returns, so even a reset
 * (a byte from the client arriving after the close) cannot drop any of it; a larger one may still
 * wait there, and a reset would drop the rest (helper-51: a stray CRLF after `Connection: close`
 * cut a 1 MB answer in 36 of 50 tries).
 */
export const FIRST_FLIGHT_BYTES = 10 * 1_448;
/** Input buffered beyond this while a response is in progress pauses the socket. */
const MAX_PIPELINE_BUFFER = 64 * 1024;
/** Bodies up to this size are copied behind the head and sent in a single write. */
const COPY_BODY_MAX = 16 * 1024;
/** The client half-closed before its streamed body was complete: 400 (or cut), like any body. */
const BODY_CUT_SHORT = 'The request ended before its body was complete.';
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

/**
 * Counts for tests and diagnostics: bytes copied to join a connection's input that came in pieces
 * (Connection's InputStore; input read whole copies none).
 */
export const connectionStats = { inputCopiedBytes: 0 };
/** The smallest store a connection's input is joined in (bytes): a request head's usual size. */
const INPUT_STORE_MIN_BYTES = 4096;
const countInputCopy = (copiedBytes: number): void => {
  connectionStats.inputCopiedBytes += copiedBytes;
};
/** On every response unless cross-site loads are allowed (Fetch: Cross-Origin-Resource-Policy); see Exchange.sameSiteLoad. */
const CORP: [string, string] = ['Cross-Origin-Resource-Policy', 'same-site'];
/** In its place on the answer to a same-site load (Exchange.sameSiteLoad). */
const CORP_CROSS_ORIGIN: [string, string] = ['Cross-Origin-Resource-Policy', 'cross-origin'];
const CONNECTION_CLOSE: [string, string] = ['Connection', 'close'];
const CONNECTION_KEEP_ALIVE: [string, string] = ['Connection', 'keep-alive'];

/**
 * The headers writePrepared adds to a prepared head (CORP, Connection), as a list for the record
 * and serialised once, with the per-second tail (Date, Server, blank line) joined to them once a
 * second rather than once a response.
 */
class PreparedExtras {
  private tailSource = '';
  private joined = '';
  constructor(
    readonly list: HeaderList,
    private readonly text: string,
  ) {}

  /** `now`: when the head is written (epoch ms), as headTail's. */
  tail(now: number): string {
    const t = headTail(now);
    if (t !== this.tailSource) {
      this.tailSource = t;
      this.joined = this.text + t;
    }
    return this.joined;
  }
}

/** By index: CORP (none, same-site, cross-origin) × Connection (none, close, keep-alive). */
const preparedExtrasTable: Array<PreparedExtras | undefined> = [];
/** The same tables with an added Vary (Exchange.addedVary), by its value (one in practice). */
const preparedExtrasWithVary = new Map<string, Array<PreparedExtras | undefined>>();

function preparedExtras(corp: [string, string] | undefined, connection: [string, string] | undefined, vary: string | undefined): PreparedExtras | undefined {
  if (corp === undefined && connection === undefined && vary === undefined) return undefined;
  const index = (corp === undefined ? 0 : corp === CORP ? 3 : 6) + (connection === undefined ? 0 : connection === CONNECTION_CLOSE ? 1 : 2);
  let table = preparedExtrasTable;
  if (vary !== undefined) {
    table = preparedExtrasWithVary.get(vary) ?? [];
    preparedExtrasWithVary.set(vary, table);
  }
  let extras = table[index];
  if (extras === undefined) {
    const list: HeaderList = [];
    if (vary !== undefined) list.push(['Vary', vary]);
    if (corp !== undefined) list.push(corp);
    if (connection !== undefined) list.push(connection);
    extras = new PreparedExtras(list, serializeHeaders(list));
    table[index] = extras;
  }
  return extras;
}

/**
 * A prepared head merged with what the exchange adds that cannot go in place after it: the
 * configured headers (ex.extraHeaders: one may replace a header of the head, withExtraHeaders)
 * and an added Vary when the head has its own (a file's Accept-Encoding and the page Vary: one
 * field, oneVary). The status line and every header, CORP and Connection as startResponse writes
 * them; Date and Server follow (headTail). Kept with the head's header list, one per source head,
 * configured list, added Vary, CORP and Connection: merging again for every answer cost each
 * cached page under live reload a whole head's serialising (perf, ka-50: a third of Porthole's own
 * work per request), and with one configured header (`--header`, `--cross-origin-isolation`)
 * 3.6 µs of CPU a request (10.65 -> 14.26 µs, 98k -> 77k req/s at 50 connections). Configured
 * lists are told apart by identity: the policy's are the same object for the same path (query
 * included) and allowed origin (ResponsePolicy.prepare), and live reload's client script keeps one
 * per policy list; a list made anew per request would only miss (a new head made, the oldest kept
 * one dropped), never get another's head.
 */
const mergedHeads = new WeakMap<HeaderList, MergedHead[]>();

interface MergedHead {
  /** The prepared head it was made from (its status line with it), Exchange.bodyOrigin, the configured headers, the added Vary, CORP, Connection. */
  readonly source: string;
  readonly origin: BodyOrigin;
  readonly extra: ReadonlyHeaderList | undefined;
  readonly vary: string | undefined;
  readonly corp: [string, string] | undefined;
  readonly connection: [string, string] | undefined;
  readonly head: string;
  readonly all: HeaderList;
}

/**
 * How many merged heads one header list keeps: status × Connection × CORP × the configured lists
 * it is answered with (one per path and query string that reach the same file, and per allowed
 * origin under CORS); the oldest goes first, so a file reached many ways makes its head again.
 */
const MERGED_HEADS_MAX = 8;

/**
 * The merged head for the prepared head `source` (its status line, `status` its code, and
 * `logHeaders` its fields; `origin`: Exchange.bodyOrigin) with the configured `extra`, an added
 * `vary`, `corp` and `connection`:
 * the kept one when there is one (mergedHeads).
 */
function mergedHead(
  source: string,
  status: number,
  origin: BodyOrigin,
  logHeaders: HeaderList,
  extra: ReadonlyHeaderList | undefined,
  vary: string | undefined,
  corp: [string, string] | undefined,
  connection: [string, string] | undefined,
): MergedHead {
  let kept = mergedHeads.get(logHeaders);
  if (kept === undefined) {
    kept = [];
    mergedHeads.set(logHeaders, kept);
  }
  for (const m of kept) {
    if (m.source === source && m.origin === origin && m.extra === extra && m.vary === vary && m.corp === corp && m.connection === connection) return m;
  }
  // As startResponse: CORP first, so a configured Cross-Origin-Resource-Policy replaces it.
  const list: HeaderList = [...logHeaders];
  if (corp !== undefined) list.push(corp);
  const withExtra = withExtraHeaders(list, extra, status, origin);
  if (vary !== undefined) withExtra.push(['Vary', vary]);
  const all = oneVary(withExtra);
  if (connection !== undefined) all.push(connection);
  // The status line is the source's own; the headers after it are made again, merged.
  const statusLine = source.slice(0, source.indexOf('\r\n') + 2);
  const made: MergedHead = { source, origin, extra, vary, corp, connection, head: statusLine + serializeHeaders(all), all };
  if (kept.length >= MERGED_HEADS_MAX) kept.shift();
  kept.push(made);
  return made;
}

/**
 * A prepared head's headers (`logHeaders`, those of `slot`'s answer) plus the extras, as the
 * record lists them: kept in the slot, made again when the extras differ.
 */
function withPreparedExtras(slot: WireSlot, logHeaders: HeaderList, extras: PreparedExtras): HeaderList {
  if (slot.extras === extras && slot.recordHeaders !== undefined) return slot.recordHeaders;
  const all = [...logHeaders, ...extras.list];
  slot.extras = extras;
  slot.recordHeaders = all;
  return all;
}

/** Head, tail and body in one buffer (latin1: one byte per character; never one joined string). */
function assembleWire(head: string, tail: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(head.length + tail.length + body.length);
  out.write(head, 0, 'latin1');
  if (tail.length > 0) out.write(tail, head.length, 'latin1');
  body.copy(out, head.length + tail.length);
  return out;
}

/**
 * Prepared bodies up to this size keep their wire bytes (head, tail and body in one buffer): the
 * small files where assembling them is a large part of a response's cost. The file cache holds at
 * most 4,096 entries, so these copies stay under 4,096 × (4 KiB + a head) ≈ 18 MiB.
 */
const PREPARED_WIRE_MAX_BODY = 4 * 1024;

/**
 * The bytes last written for one prepared answer (a cached file's 200, its HEAD, its 304; the
 * built-in 404 page), with the head and tail they were made from, and the header list the record
 * shows for it: held by what prepared the head (PreparedHeads.wire200 …), so they go when it goes,
 * and a hit reaches them without a lookup (each was a WeakMap, by body and by header list: 1% of
 * the CPU apiece at one of 1,000 files, `perf record`). The wire bytes are never written to after
 * they are made, so a socket still holding them is safe when the slot takes new ones.
 */
export class WireSlot {
  head = '';
  tail = '';
  wire: Buffer | undefined = undefined;
  /** The extras recordHeaders was made with (withPreparedExtras). */
  extras: PreparedExtras | undefined = undefined;
  recordHeaders: HeaderList | undefined = undefined;
}

/** The wire bytes of a prepared answer from `slot`, made again only when the head or the tail changed (the Date, once a second). */
function preparedWire(slot: WireSlot, head: string, tail: string, body: Buffer): Buffer {
  if (slot.wire !== undefined && slot.head === head && slot.tail === tail) return slot.wire;
  const wire = assembleWire(head, tail, body);
  slot.head = head;
  slot.tail = tail;
  slot.wire = wire;
  return wire;
}
/** What a client is told to wait when the in-memory body budget is spent. */
export const BUSY_RETRY_AFTER_S = 2;

/** A client's end of a connection, as accepted: its address (normaliseIp) and port. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

export interface ConnectionContext {
  readonly limits: ParserLimits;
  readonly timeouts: Timeouts;
  readonly maxBodyBytes: number;
  /**
   * The body hook (proxied routes): for a head this returns a byte limit for, the exchange is
   * dispatched as soon as the head is parsed and its body is handed on as it arrives
   * (`Exchange.readBody`), bounded by that limit instead of maxBodyBytes; undefined → the body
   * is read and discarded before dispatch, as for static files.
   */
  streamedBodyLimit?(head: RequestHead): number | undefined;
  readonly transfer: TransferLimits;
  /** The server-wide budget of bodies built in memory. */
  readonly budget: MemoryBudget;
  /** Response bytes queued in memory over every connection (capacity maxQueuedTotalBytes). */
  readonly queued: MemoryBudget;
  /** False: responses carry `Cross-Origin-Resource-Policy: same-site` (but see Exchange.sameSiteLoad). */
  readonly crossSiteLoads: boolean;
  /** True for a method the handler answers 405/501 (its body is never read). */
  refusesMethod(method: string): boolean;
  /** True once the server is closing: every response ends its connection. */
  readonly closing: boolean;
  /**
   * The server's end of every accepted socket when it listens on one address (not `0.0.0.0`/`::`):
   * the records' serverIp/serverPort without a getsockname(2) per connection. Undefined: asked
   * of each socket.
   */
  readonly boundLocal?: { readonly address: string; readonly port: number } | undefined;
  /** Connections open now, this one included (a lone connection's answers are never held). */
  readonly openConnections: number;
  nextRequestId(): number;
  handle(exchange: Exchange): void;
  record(record: RequestRecord): void;
  connectionClosed(connection: Connection): void;
}

/**
 * A passing condition's 503 as a browser tab shows it: `text` (plain, escaped here), and a
 * declarative refresh after `seconds` (WHATWG HTML), so a tab, which has no live-reload client on
 * this page, does not stay on it.
 */
function reloadingPage(text: string, seconds: number): string {
  return (
    `<!DOCTYPE html>\n<meta charset="utf-8">\n<meta http-equiv="refresh" content="${seconds}">\n<title>Try again in a moment</title>\n` +
    `<p>${escapeHtml(text.trim())}</p>\n<p>This page reloads by itself in a moment.</p>\n`
  );
}

/**
 * True when the answer will be shown as a page in a browser tab or frame: Fetch Metadata says a
 * navigation (`Sec-Fetch-Mode: navigate`, or `Sec-Fetch-Dest` document, iframe or frame); without
 * it, `Accept` names text/html (WHATWG Fetch, "destination"; a fetch() sends `*\/*`). Accept is
 * judged by htmlAcceptance, as the SPA fallback and live reload judge it: a navigation whose
 * Accept refuses HTML gets the text.
 */
function shownAsPage(headers: HeaderList): boolean {
  let metadata = false;
  let navigation = false;
  for (const [name, value] of headers) {
    if (name === 'sec-fetch-mode') {
      metadata = true;
      if (value.trim().toLowerCase() === 'navigate') navigation = true;
    } else if (name === 'sec-fetch-dest') {
      metadata = true;
      const dest = value.trim().toLowerCase();
      if (dest === 'document' || dest === 'iframe' || dest === 'frame') navigation = true;
    }
  }
  // A navigation whose Accept refuses HTML (RFC 9110 §12.4.2: `text/html;q=0`) gets the text.
  if (navigation) return htmlAcceptance(acceptField(headers)) !== 'refused';
  if (metadata) return false;
  return htmlAcceptance(acceptField(headers)) === 'named';
}

/**
 * A part of a streamed body: bytes, or an inclusive byte range of an open file. `confirm`, when
 * given, is asked once the range's last piece is read, before it is sent: false (or a rejection)
 * means the file is no longer the version the answer's head described (written to while it was
 * read), and the connection ends there, so the client sees a short body, never a mix.
 */
export type BodyPart =
  | Buffer
  | { readonly file: FileHandle; readonly start: number; readonly end: number; readonly confirm?: () => Promise<boolean> };

/**
 * Where a streamed request body goes (see ConnectionContext.streamedBodyLimit). `data` returns
 * false to stop the flow (the socket is paused) until `Exchange.resumeBody()`.
 */
export interface RequestBodySink {
  data(chunk: Buffer): boolean;
  /** The body ended (its trailers, if any, are dropped). */
  end(): void;
  /** The body is invalid or the client left; the connection answers or closes itself. */
  error(message: string): void;
}

/** A response body written as it comes (`Exchange.startBody`), with backpressure. */
export interface ResponseBodyWriter {
  /** False when the socket's buffer is full: wait for `onDrain` before writing more. */
  write(chunk: Buffer): boolean;
  onDrain(callback: () => void): void;
  /** Ends the body and the exchange (the last chunk for chunked framing). */
  end(): void;
  readonly closed: boolean;
}

/**
 * Writes `source` into `writer` as it comes, pausing the source while the socket's buffer is full
 * (`write` false → wait for `onDrain`), and ends the body when the source ends; a source error
 * goes to `onError` (the caller cuts the exchange short: its status is already sent).
 */
export function pipeIntoBody(source: Readable, writer: ResponseBodyWriter, onError: (err: Error) => void): void {
  source.on('data', (chunk: Buffer) => {
    if (!writer.write(chunk)) {
      source.pause();
      writer.onDrain(() => source.resume());
    }
  });
  source.on('end', () => writer.end());
  source.on('error', onError);
  source.resume();
}

/** What an exchange went through upstream (proxied routes), for the log record. */
export interface UpstreamInfo {
  target: string;
  /** The back-end's status; 0 when it never answered. */
  status: number;
  /** From the request being sent to the back-end's response head (or the failure). */
  ms: number;
}

type Phase = 'idle' | 'head' | 'body' | 'handling' | 'upgraded' | 'closing' | 'destroyed';

/**
 * Why requests read on a connection get no answer, for their log lines (logUnansweredPipelined):
 * the server stops (503); the server closes the connection for another reason, `why` (503); or
 * the connection ended otherwise, `why` (499: the client left, a reader too slow was cut).
 */
type Unanswered = { readonly by: 'stop' } | { readonly by: 'close' | 'end'; readonly why: string };
const STOPPING: Unanswered = { by: 'stop' };

/**
 * One request and its response. The handler calls exactly one of `respond`, `respondParts` or
 * `openStream`; after that the exchange belongs to the connection.
 */
export class Exchange {
  readonly id: number;
  readonly startTime: number;
  /** The response's status once it has started; 0 before. */
  status = 0;
  responseHeaders: HeaderList = [];
  /** Why a request was refused, for the log. */
  note: string | undefined;
  filePath: string | undefined;
  /** Body bytes written so far (the log's byte count). */
  bodyBytes = 0;
  /** Forces `Connection: close` on this response. */
  closeAfter = false;
  finished = false;
  /** Runs if the exchange ends before it finished (client left, error). */
  onAbort: (() => void) | undefined;
  /** Runs once when the exchange ends, finished or not (closes files). Add to it with addCleanup. */
  cleanup: (() => void) | undefined;
  /**
   * Headers added to whatever response this exchange sends (configured headers, CORS), replacing
   * a same-named header of the response. Names and values must have been checked against RFC
   * 9110's grammar (the writer still turns an invalid value into `-`). Shared (the policy's own
   * lists, frozen): replaced, never changed in place.
   */
  extraHeaders: ReadonlyHeaderList | undefined;
  /**
   * What the answer's body is: the file's bytes as stored (`file`, the default), bytes made from
   * them (`decoded`: a file stored encoded, decoded for a client that does not accept its coding),
   * a back-end's answer (`proxied`: its validators are the back-end's), or a body Porthole writes
   * itself (`porthole`: a folder listing, the live-reload client script and its event stream). The configured representation fields describe the file as stored:
   * none labels a `porthole` body, and no Content-Encoding a `decoded` one (withExtraHeaders). A
   * rule for `**` labelled a listing and the client script `gzip`, and decoded bytes `gzip`
   * (helper-176): the browser could decode none of them.
   */
  bodyOrigin: BodyOrigin = 'file';
  /**
   * True when the headers configured for this request (extraHeaders: ServerOptions.headers,
   * `--header`) name a Content-Encoding other than `identity`: the file is stored encoded, so its
   * bytes go as they are (never compressed again, never rewritten to take the live-reload client).
   */
  /**
   * The value of the header named `name` (lower-case) configured for this request (extraHeaders;
   * the last of that name wins, as it replaces the others), or undefined when none is.
   */
  configuredHeader(name: string): string | undefined {
    let value: string | undefined;
    for (const [n, v] of this.extraHeaders ?? []) if (n.length === name.length && n.toLowerCase() === name) value = v;
    return value;
  }
  get configuresCoding(): boolean {
    return this.extraHeaders !== undefined && configuresContentCoding(this.extraHeaders);
  }
  /**
   * A Vary field value (RFC 9110 §12.5.5) added as its own field line to whatever response this
   * exchange sends, beside the response's own Vary (a list: the lines combine), never replacing
   * anything: a prepared head keeps its fast path with it (writePrepared). Live reload names the
   * request fields that choose between a page with its client and the page as it is.
   */
  addedVary: string | undefined;

  /** Adds `value` (a Vary list) to addedVary, after what it holds already. */
  addVary(value: string): void {
    if (this.addedVary === value) return;
    this.addedVary = this.addedVary === undefined ? value : `${this.addedVary}, ${value}`;
  }
  /**
   * The path (and query) of the document's URL in the client when a handler answers it with
   * another file (the SPA fallback rewrites `head.path`); undefined: `head.path` is that URL.
   * URLs made relative to the page (the live-reload client's) are computed from it.
   */
  documentPath: string | undefined;
  /**
   * True when this request's own Fetch Metadata says it is a same-site load (`Sec-Fetch-Site:
   * same-site`), which the server checked and allowed: its answer says
   * `Cross-Origin-Resource-Policy: cross-origin` rather than `same-site`
   * (ConnectionContext.crossSiteLoads), and the request handler adds `Vary: Sec-Fetch-Site`
   * (addedVary), so a cache gives it to same-site loads only. Chromium refused a `same-site`
   * answer to a page on another port of the same IP address (`127.0.0.1:5173` loading from
   * `127.0.0.1:8000`: ERR_BLOCKED_BY_RESPONSE.NotSameSite) though it called the load same-site
   * itself, while the log said 200 (helper-151); and none at all failed a page under COEP
   * `require-corp` on another port (helper-156). A browser that sends no Fetch Metadata still gets
   * `same-site`, so its cross-site loads stay refused.
   */
  sameSiteLoad = false;
  /** Set by a proxied route: the back-end's part, recorded apart from Porthole's. */
  upstream: UpstreamInfo | undefined;
  /** Set by the SPA fallback: the file (a request path) sent in place of the missing one asked for. */
  spaFallback: string | undefined;
  /** Bytes of the server's in-memory body budget this response holds (see reserveMemory). */
  reservation: Reservation | undefined;
  /** When the response head was written (epoch ms); 0 before. */
  headAt = 0;
  /**
   * When the whole answer was handed to the socket (epoch ms), set where that is the moment its
   * head was (a whole answer written at once); 0: the log reads the clock when the exchange ends.
   */
  doneAt = 0;

  /**
   * `startTime`: when the head's first byte arrived; `handedAt`: when the handler gets it (epoch
   * ms: the caller's clock reading when it has one from the same moment; each read costs a system
   * call's worth on a request of a few microseconds).
   */
  constructor(
    readonly connection: Connection,
    readonly head: RequestHead,
    startTime: number,
    id: number,
    readonly handedAt: number,
  ) {
    this.startTime = startTime;
    this.id = id;
  }

  /**
   * Runs `release` once when the exchange ends, finished or cut short (after any cleanup added
   * before it); at once when it has ended already. For what an exchange holds once it is
   * acquired, possibly after an await (an open file, a counted channel): added after the end,
   * it would otherwise never run (a client that left while its file was being opened kept the
   * descriptor until garbage collection).
   */
  addCleanup(release: () => void): void {
    if (this.finished) {
      release();
      return;
    }
    this.cleanup = chain(this.cleanup, release);
  }

  get method(): string {
    return this.head.method;
  }

  get clientIp(): string {
    return this.connection.remoteAddress;
  }

  /**
   * True when the client is this computer through one of its own network addresses (the client's
   * address is the socket's own: see Connection.fromOwnAddress); loopback clients are told by
   * their address (isLoopbackAddress).
   */
  get fromOwnAddress(): boolean {
    return this.connection.fromOwnAddress;
  }

  /** fromThisComputer, once worked out. */
  private thisComputer: boolean | undefined;

  /**
   * True when this request is this computer's own (isThisComputersRequest: a loopback client
   * naming the server by a loopback name, through no tunnel or proxy): what only this computer
   * may read (the active request log, the configuration file) is served to it alone.
   */
  get fromThisComputer(): boolean {
    this.thisComputer ??= isThisComputersRequest(this.clientIp, this.head.headers, this.header('host'));
    return this.thisComputer;
  }

  /** The server's end of the connection: the address and port the request came in on. */
  get localAddress(): string {
    return this.connection.localAddress;
  }

  get localPort(): number {
    return this.connection.localPort;
  }

  /**
   * Takes `bytes` of the server-wide budget for a body about to be built in memory (a rewritten
   * page, an overlay, a listing); call it before building. Returns false when the server already
   * holds too much: answer with `respondBusy()` then. The bytes are given back once the response
   * left the process (or the exchange ended); one reservation per exchange (a second replaces it).
   */
  reserveMemory(bytes: number): boolean {
    this.reservation?.release();
    this.reservation = this.finished ? undefined : this.connection.reserve(bytes);
    return this.reservation !== undefined;
  }

  /** 503 with Retry-After: the in-memory body budget is spent (RFC 9110 §15.6.4, §10.2.3). */
  respondBusy(): void {
    this.note = 'in-memory body budget spent';
    this.respondUnavailable(BUSY_RETRY_AFTER_S, 'The server is busy sending other pages; try again in a moment.\n');
  }

  /**
   * A refusal in plain words: `text` (ending in a line break; the caller escapes what a client
   * sent) as UTF-8 plain text, with `extra` fields and `Cache-Control: no-store`, which no
   * configured header replaces: a cache may keep a 405, 414 or 501 without being told (RFC 9110
   * §15.1), and one that kept the refusal of one client's odd request would give it to everyone
   * who asks for the URL after.
   */
  refuse(status: number, text: string, extra: HeaderList = []): void {
    this.respond(status, [['Content-Type', 'text/plain; charset=utf-8'], ['Cache-Control', 'no-store'], ...extra], text);
  }

  /**
   * 503 with `Retry-After: seconds` for a passing condition `text` says (RFC 9110 §15.6.4,
   * §10.2.3): plain text, or, to a browser tab (a navigation), a page that says it and reloads
   * itself after `seconds`, since the tab has no live-reload client on it and would stay there.
   * `Cache-Control: no-store`, which no configured header replaces: the condition passes, so
   * no cache may keep this answer in place of the file.
   */
  respondUnavailable(seconds: number, text: string, extra: HeaderList = []): void {
    const page = shownAsPage(this.head.headers);
    this.respond(
      503,
      [['Content-Type', page ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8'], ['Retry-After', String(seconds)], ['Cache-Control', 'no-store'], ...extra],
      page ? reloadingPage(text, seconds) : text,
    );
  }

  /** True once a response has started (its status is set then, and only then). */
  get answered(): boolean {
    return this.status !== 0;
  }

  /** The first value of a request header (name lower-case). */
  header(name: string): string | undefined {
    for (const [n, v] of this.head.headers) if (n === name) return v;
    return undefined;
  }

  /**
   * A list-valued request field (RFC 9110 §5.3: If-Match, If-None-Match, Accept-Encoding): every
   * line of it, joined with ", " in order, as one value; undefined when there is none. Read as its
   * first line only, `If-None-Match: "x"` then `If-None-Match: <tag>` missed the tag (helper-48).
   */
  listHeader(name: string): string | undefined {
    let joined: string | undefined;
    for (const [n, v] of this.head.headers) {
      if (n === name) joined = joined === undefined ? v : `${joined}, ${v}`;
    }
    return joined;
  }

  /**
   * A field that is not a list (Range, If-Range, If-Modified-Since, If-Unmodified-Since): its
   * value, or undefined when there is none, or when lines of it disagree (RFC 9110 §5.3: not a
   * list, so several different lines are no one value). Undefined is also what a missing field
   * gives: a caller for whom absence means "go ahead" (If-Range: honour the Range) must tell the
   * two apart with `header(name)` (representation.ts ifRangeOf).
   */
  singleHeader(name: string): string | undefined {
    let value: string | undefined;
    for (const [n, v] of this.head.headers) {
      if (n !== name) continue;
      if (value !== undefined && v !== value) return undefined;
      value = v;
    }
    return value;
  }

  /**
   * A complete response. Content-Length is added from `body`; HEAD and bodiless statuses send the
   * headers only. `length` overrides Content-Length (HEAD of a file we did not read).
   */
  respond(status: number, headers: HeaderList, body: Buffer | string = EMPTY, length?: number): void {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const noBody = statusHasNoBody(status);
    const sendBody = !noBody && this.head.method !== 'HEAD';
    if (!noBody) headers.push(['Content-Length', String(length ?? bytes.length)]);
    this.connection.writeResponse(this, status, headers, sendBody ? bytes : undefined);
  }

  /**
   * A response whose status line and headers were serialised ahead (a cached file): `head` ends
   * with the last header's CRLF; `logHeaders` is what the log records (shared, never mutated).
   * Content-Length must be in `head` already. HEAD requests pass no body. `slot`: where the
   * answer's wire bytes are kept between requests (one slot per prepared answer and method:
   * WireSlot).
   */
  respondPrepared(status: number, head: string, logHeaders: HeaderList, body: Buffer | undefined, slot: WireSlot): void {
    this.connection.writePrepared(this, status, head, logHeaders, body, slot);
  }

  /** A response whose body is a sequence of buffers and file ranges of exactly `length` bytes. */
  respondParts(status: number, headers: HeaderList, length: number, parts: readonly BodyPart[]): void {
    headers.push(['Content-Length', String(length)]);
    if (this.head.method === 'HEAD') {
      this.connection.writeResponse(this, status, headers, undefined);
      return;
    }
    this.connection.writeStreamedResponse(this, status, headers, parts);
  }

  /**
   * Switches this connection to another protocol: `101 Switching Protocols` with `headers` (which
   * must carry `Upgrade` and `Connection: upgrade`), then the socket is the caller's. The
   * exchange stays open (and unlogged) until `end()` or the client leaves. The one upgrade
   * mechanism: live reload's WebSocket channel and the proxy's WebSocket tunnels both use it.
   */
  upgrade(headers: HeaderList): UpgradedSocket {
    return this.connection.upgrade(this, headers);
  }

  /**
   * An open-ended response (Server-Sent Events): no length, so the connection closes after it.
   * Returns a writer; `end()` finishes the exchange.
   */
  openStream(status: number, headers: HeaderList): StreamWriter {
    this.closeAfter = true;
    return this.connection.openStream(this, status, headers);
  }

  // ---- the body hook (proxied routes) ------------------------------------------------------

  /** True while a streamed request body is still arriving (see ConnectionContext.streamedBodyLimit). */
  get bodyPending(): boolean {
    return this.connection.bodyPendingFor(this);
  }

  /** Hands the streamed request body to `sink` (bytes already buffered come at once). */
  readBody(sink: RequestBodySink): void {
    this.connection.attachBodySink(this, sink);
  }

  /** After `sink.data` returned false: let the body flow again. */
  resumeBody(): void {
    this.connection.resumeBody(this);
  }

  /**
   * Lifts the socket's inactivity timeout while the handler waits on something it bounds itself
   * (a back-end's answer); `startBody` sets the write-stall timeout again.
   */
  suspendTimeout(): void {
    this.connection.suspendTimeout(this);
  }

  /**
   * Starts a response whose body is written as it comes. `length` known → Content-Length and the
   * body must be exactly that long (else the socket is destroyed); undefined → chunked
   * (RFC 9112 §7.1) for HTTP/1.1, close-delimited for HTTP/1.0. HEAD and bodiless statuses send
   * the head only (with the `length` given, for HEAD). If the request body is still arriving when
   * the response ends, the connection closes after it.
   */
  startBody(status: number, headers: HeaderList, length: number | undefined): ResponseBodyWriter {
    return this.connection.writeBodyStream(this, status, headers, length);
  }
}

/**
 * The socket of an exchange answered `101 Switching Protocols` (RFC 9110 §15.2.2): the bytes that
 * follow, both ways, belong to the new protocol. `onData` receives the client's bytes (including
 * any that arrived with the request); `write` sends raw bytes; `end()` finishes the exchange (it
 * is logged) and closes the connection after what was written.
 */
export interface UpgradedSocket {
  /** False when the socket's buffer is full: `onDrain` is called once it has drained. */
  write(bytes: Buffer): boolean;
  end(): void;
  readonly closed: boolean;
  onData: ((chunk: Buffer) => void) | undefined;
  /** After a `write` returned false, once the queued bytes have gone to the kernel. */
  onDrain: (() => void) | undefined;
  /** Once, when the connection goes without `end()` (the client left, an error, shutdown). */
  onClose: (() => void) | undefined;
  /** Stop reading the client's bytes (backpressure: the other end of a tunnel is full). */
  pause(): void;
  /** Read the client's bytes again after `pause`. */
  resume(): void;
}

export interface StreamWriter {
  write(chunk: string): boolean;
  end(): void;
  readonly closed: boolean;
  /** Bytes written on the connection so far (the response head included; queued ones too). */
  written(): number;
  /**
   * Bytes of the connection the client has taken so far (its kernel acknowledged them, or, on
   * loopback, its program read them: send-queue.ts), comparable with `written()`; undefined where
   * that cannot be known (not Linux, /proc unreadable).
   */
  taken(): number | undefined;
}

/**
 * One rate check's view of a connection's output: bytes sent (what the client took, when
 * `byClient`, else what the kernel took from Node) and whether output was queued.
 */
interface SendSample {
  sent: number;
  byClient: boolean;
  backlog: boolean;
}

/** The last connection number given (RequestRecord.connectionId); per process. */
let lastConnectionId = 0;

export class Connection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly id = ++lastConnectionId;
  /** The server's end of the socket and whether it is TLS, for the records. */
  readonly localAddress: string;
  readonly localPort: number;
  /** The client is this computer through one of its own network addresses (isOwnAddress). */
  get fromOwnAddress(): boolean {
    return isOwnAddress(this.remoteAddress, this.localAddress);
  }
  private readonly secure: boolean;
  /**
   * TCP_NODELAY is on (see segmentsAtOnce). A TLS connection's was set on its TCP socket when it
   * was accepted, for the handshake (PreviewServer.accept).
   */
  private noDelay: boolean;
  private phase: Phase = 'idle';
  /** Set by stopNow: the server, not the client, ended the connection (for what is logged). */
  private stoppedByServer = false;
  private pending: Buffer = EMPTY;
  /** Where input that arrives while `pending` waits is joined to it (made when first needed). */
  private input: InputStore | undefined;
  private scanned = 0;
  private headStart = 0;
  private headTimer: NodeJS.Timeout | undefined;
  private body: BodyReader | undefined;
  private bodyHead: RequestHead | undefined;
  private exchange: Exchange | undefined;
  private driving = false;
  private paused = false;
  /** The client half-closed: answer what is complete, then close. */
  private remoteEnded = false;
  /** Socket bytesWritten when the current streamed body started; -1 for buffered responses. */
  private bodyBase = -1;
  /** A request body being handed on as it arrives (the body hook). */
  private streamed: { reader: BodyReader; ex: Exchange; sink: RequestBodySink | undefined; waiting: boolean; continued: boolean } | undefined;
  /** The socket handed over by `upgrade`, while phase is 'upgraded'. */
  private upgraded: UpgradedSocket | undefined;
  /** The body being written as it comes (writeBodyStream) and its exchange: see onInactivity. */
  private producedBody: { readonly ex: Exchange; readonly writer: { readonly closed: boolean } } | undefined;
  /** An open-ended response (openStream) is in progress. */
  private streaming = false;
  /** A response is queued above maxQueuedBytes: nothing more is read or parsed until it drains. */
  private drainWait = false;
  /** The absolute deadline of the body being read (bodyMs). */
  private bodyTimer: NodeJS.Timeout | undefined;
  /** The connections checked with this one every rateWindowMs (see joinRateTick). */
  private rateTick: Set<Connection> | undefined;
  /**
   * The state at the last rate check: bytes sent (what the client or the kernel took, see
   * checkRates), bytes read, what was under way; and what was sent at the check before it.
   */
  private rateOut: SendSample = { sent: 0, byClient: false, backlog: false };
  private rateOutBefore: SendSample = { sent: 0, byClient: false, backlog: false };
  private rateRead = 0;
  private rateBody: RequestHead | undefined;
  /** Budget reservations of responses written but not yet taken by the kernel. */
  private readonly inFlight = new Set<Reservation>();
  /** Bytes of this connection's written responses counted in ctx.queued, not yet taken by the kernel. */
  private queuedBytes = 0;
  /** This turn's answers are held in the socket (corked) until flushHeldOutput. */
  private outputHeld = false;
  /**
   * This turn's one answer so far, when it is a prepared one (heldWire): its wire bytes and write
   * callback, held here rather than in the corked socket until flushHeldOutput, or until anything
   * else is to be written on this connection (corkHeldWire).
   */
  private heldWire: Buffer | undefined;
  private heldWireCallback: (() => void) | undefined;
  /** The socket's inactivity timeout now (ms, 0: none), how many times it was changed, and its timer (onInactivity). */
  private socketTimeoutMs = -1;
  private socketTimeoutChanges = 0;
  private readonly inactivity: InactivityTimer;
  /** refuseEachRequest's message: every request here is answered 400 with it. */
  private refusal: string | undefined;
  /**
   * When the first of the bytes now waiting in `pending` behind an answer (pipelined requests)
   * arrived (epoch ms; 0 while not known: read and parsed at once): the time their lines carry if
   * they are logged unanswered (logUnansweredPipelined). Kept while bytes wait, so heads parsed
   * one by one from one batch keep its time; bytes that came later carry it too (no time per read).
   */
  private pendingSince = 0;
  /** Why the server ended this connection itself (a reader too slow), for those lines. */
  private endReason: string | undefined;
  /**
   * While closing (endGracefully) with the requests' framing intact: why requests read now get no
   * answer. What the client sends meanwhile is kept (bounded) and each whole head logged as it
   * arrives, instead of being dropped unseen by the linger. Undefined: what comes is dropped (a
   * body whose end is unknown, a tunnel, a refused head).
   */
  private closingUnanswered: Unanswered | undefined;
  /**
   * While closing: the body of the last request logged unanswered, still arriving: what comes is
   * passed through it (and dropped) before the next head is looked for.
   */
  private closingBody: BodyReader | undefined;
  /**
   * The unread body of a request answered without reading it (a refused method, 413, a refused
   * head) whose framing is known (Content-Length, or chunked; not one whose client may still be
   * waiting for a 100 Continue): `pending` begins with the rest of it. Passed over
   * (passBodyAhead) before what follows is read as requests, which the closing connection then
   * logs as not answered. Before, everything after such a body was dropped unlogged.
   */
  private bodyAhead: BodyReader | undefined;
  /** Requests this connection logged as not answered (logUnansweredPipelined), up to MAX_UNANSWERED_LOGGED. */
  private unansweredLogged = 0;
  /**
   * What follows this connection's current request is not known to be a next request: its body
   * was never read and where it ends is unknown (it broke its framing, or a client sent `Expect:
   * 100-continue` and was refused: see passOverUnreadBody), it is a tunnel (CONNECT) or another
   * protocol (an upgrade), or a streamed body was answered before its end. Nothing after it is
   * logged as requests.
   */
  private framingLost = false;

  /** `peer`: the client's address (normalised, normaliseIp) and port, read when it was accepted. */
  constructor(
    private readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    peer: Peer,
  ) {
    this.remoteAddress = peer.address;
    this.remotePort = peer.port;
    const bound = ctx.boundLocal;
    this.localAddress = bound !== undefined ? bound.address : normaliseIp(socket.localAddress ?? '-');
    this.localPort = bound !== undefined ? bound.port : (socket.localPort ?? 0);
    this.secure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
    this.noDelay = this.secure;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.inactivity = new InactivityTimer(socket, () => this.onInactivity());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('end', () => this.onEnd());
    this.setSocketTimeout(ctx.timeouts.headersMs);
    this.rateTick = joinRateTick(this, ctx.transfer.rateWindowMs);
  }

  /**
   * Sets the socket's inactivity timeout (ms; 0: none) unless it is that already. Not Node's
   * socket.setTimeout: that timer is restarted by every read and write, several times a request
   * (InactivityTimer looks at the socket's byte counts instead).
   */
  private setSocketTimeout(ms: number): void {
    if (ms === this.socketTimeoutMs) return;
    this.socketTimeoutMs = ms;
    this.socketTimeoutChanges++;
    this.inactivity.set(ms);
  }

  /**
   * Turns Nagle's algorithm off (TCP_NODELAY) before anything but a connection's last answer is
   * written, as nginx does (tcp_nodelay: set when a connection goes on to keep-alive): a small
   * segment after one the client has not acknowledged yet would otherwise wait for that
   * acknowledgement, which the client may delay up to 40 ms. A connection that gets one whole
   * answer and closes (`Connection: close`, HTTP/1.0) needs no such call: its answer is one write,
   * and the close sends whatever the kernel still holds at once (Linux pushes the last segment
   * with the FIN, Nagle or not); it is spared one setsockopt(2) of the ten system calls it costs.
   * Called before: a whole answer on a connection that stays open, any streamed answer (a file
   * in pieces, an event stream, a back-end's body, a 101 and its protocol), and a 100 Continue.
   */
  private segmentsAtOnce(): void {
    if (this.noDelay) return;
    this.noDelay = true;
    this.socket.setNoDelay(true);
  }

  /**
   * Holds this connection's writes until the end of the turn (see heldOutput). Worth it only when
   * another connection may be answered in the same turn, or pipelined bytes wait here.
   */
  private holdOutput(): void {
    // An answer held beside the socket goes into it first, whatever is written next.
    this.corkHeldWire();
    if (this.outputHeld || (this.ctx.openConnections < 2 && this.pending.length === 0)) return;
    this.outputHeld = true;
    this.socket.cork();
    this.heldUntilTurnEnds();
  }

  /** This connection's output goes at the turn's end (flushHeldOutput). */
  private heldUntilTurnEnds(): void {
    heldOutput.push(this);
    if (!heldFlushScheduled) {
      heldFlushScheduled = true;
      setImmediate(flushHeldOutput);
    }
  }

  /**
   * Holds `wire` (a prepared answer's bytes, written whole) until the turn's end, as holdOutput
   * does, but without corking the socket when it is the connection's only answer in the turn (the
   * usual case: one request per connection per turn): a corked write is buffered by the stream
   * and written by its uncork (clearBuffer), which cost 0.3 µs of a 9.5 µs request at 1 KiB
   * keep-alive, 50 connections (CPU per request, interleaved A/B, 7 rounds of 4 s: 9.53 → 9.19
   * µs; 105.9k → 109.6k req/s). Returns false when the answer is not to be held (holdOutput's
   * rule); the caller writes it then.
   */
  private holdWire(wire: Buffer, callback: (() => void) | undefined): boolean {
    if (this.outputHeld || this.heldWire !== undefined) {
      // A second answer in this turn: both go through the corked socket, in order.
      this.corkHeldWire();
      this.socket.write(wire, callback);
      return true;
    }
    if (this.ctx.openConnections < 2 && this.pending.length === 0) return false;
    this.heldWire = wire;
    this.heldWireCallback = callback;
    this.heldUntilTurnEnds();
    return true;
  }

  /**
   * Anything else is to be written on this connection: the answer held in heldWire goes into the
   * socket first, corked (the turn's flush uncorks it), so every write keeps its order. Called
   * before each place that writes once an answer is finished: the next request's parse, a body
   * read on, a refusal, the close, destroy().
   */
  private corkHeldWire(): void {
    if (this.heldWire === undefined) return;
    this.outputHeld = true;
    this.socket.cork();
    this.writeHeldWire();
  }

  /** The answer held in heldWire, if any, goes to the socket (as it is: corked or not) now. */
  private writeHeldWire(): void {
    const wire = this.heldWire;
    if (wire === undefined) return;
    const callback = this.heldWireCallback;
    this.heldWire = undefined;
    this.heldWireCallback = undefined;
    // A socket already gone (the peer reset it): nothing to write to; destroy() gave back the
    // answer's budget (as an uncork after destroy writes nothing).
    if (!this.socket.destroyed) this.socket.write(wire, callback);
  }

  /** @internal flushHeldOutput, and destroy(): the writes held this turn go to the kernel now, in order. */
  releaseOutput(): void {
    this.writeHeldWire();
    if (!this.outputHeld) return;
    this.outputHeld = false;
    // After end() (which uncorks) or destroy() this is a no-op.
    this.socket.uncork();
  }

  /**
   * Answers `status` with `message` before reading anything and closes (a client refused when
   * its connection was accepted, e.g. not in allowedClients).
   */
  refuseAtOnce(status: number, message: string): void {
    this.failRequest(status, message);
  }

  /**
   * Answers the request that arrives (once its head is read, or found malformed) with 400 and
   * `message`, logged with its method, target and fields like any 400, and closes: plain HTTP on
   * the HTTPS port, where no request is served but every one is answered and logged. Call before
   * the socket's first bytes are read (right after construction).
   */
  refuseEachRequest(message: string): void {
    this.refusal = message;
  }

  /** @internal Exchange.reserveMemory: bytes from the server-wide budget, or undefined. */
  reserve(bytes: number): Reservation | undefined {
    if (this.phase === 'destroyed') return undefined;
    return this.ctx.budget.take(bytes);
  }

  /**
   * Idle (between requests, nothing buffered but empty lines, which begin no request: RFC 9112
   * §2.2): safe to close at once during shutdown.
   */
  get isIdle(): boolean {
    return (this.phase === 'idle' || this.phase === 'head') && onlyEmptyLines(this.pending);
  }

  /**
   * What this connection is in the middle of, for what a stopping server says it waits for (and
   * then cut): 'response' (a request being answered, not an open-ended event stream), 'request'
   * (a request's head or body still arriving), or undefined (idle, closing, upgraded, streaming).
   */
  get unfinished(): 'response' | 'request' | undefined {
    if (this.phase === 'handling') return this.streaming ? undefined : 'response';
    if (this.phase === 'body' || (this.phase === 'head' && !onlyEmptyLines(this.pending))) return 'request';
    return undefined;
  }

  /**
   * Server shutdown: idle connections end now; busy ones end after their current response. An idle
   * one has no answer of ours left unread, so it closes as soon as its FIN is out instead of
   * lingering LINGER_MS for the client's (a browser tab's kept-alive socket held every Ctrl-C and
   * config restart for 2 s, helper-49).
   */
  shutdown(): void {
    // A connection lingering after its last answer: what comes now is not answered because the
    // server stops (helper-130: those lines gave the close's earlier reason).
    if (this.phase === 'closing' && this.closingUnanswered !== undefined) this.closingUnanswered = STOPPING;
    if (!this.isIdle) return;
    this.endGracefully(STOPPING);
    if (this.phase === 'closing') this.socket.once('finish', () => this.destroy());
  }

  /**
   * Ends the connection with a reset (RFC 9293 §3.10.4, ABORT), for an answer given up mid-way
   * (a client too slow or stalled, a file that changed while sent, a body that broke its framing).
   * The client learns it was cut (a FIN after a close-delimited body reads as a whole answer), and
   * the kernel drops at once what it still held for it: closed with a FIN, a client that read
   * nothing left the socket in FIN-WAIT-1 with its unsent bytes, about 4 MB of kernel memory each,
   * for as long as the client stayed (helper-53: 100 such sockets held 390 MB for 80 s and more).
   */
  private cut(): void {
    // The lines of requests still waiting say the server ended it (a reason set before, if any).
    this.endReason ??= 'the server cut the connection: the answer before it could not be completed';
    if (this.phase !== 'destroyed') {
      // Over TLS the TCP socket is the TLSSocket's _parent (the socket it was made from).
      const tcp = this.secure ? (this.socket as Socket & { _parent?: Socket })._parent : this.socket;
      try {
        if (tcp !== undefined && !tcp.destroyed) tcp.resetAndDestroy();
      } catch {
        // Not a TCP handle (a socket pair in a test, say): the plain close below.
      }
    }
    this.destroy();
  }

  /**
   * An answer its handler gave up after its head was sent (a back-end that broke off its body, or
   * whose framing broke): the connection ends with a reset (cut), never a FIN that reads as the
   * end of a close-delimited body, and the requests behind it are logged as ended by the server.
   * Nothing when `ex` has ended already (the client left first).
   */
  cutAnswer(ex: Exchange): void {
    if (ex.finished) return;
    this.cut();
  }

  /**
   * Closes now because the server stops (its close grace ran out, or a second Ctrl-C): as destroy(),
   * but what is logged of an unfinished request says the server ended it. Before, every such line
   * read "client closed the connection mid-request" (or mid-body), blaming a client that was still
   * sending.
   */
  stopNow(): void {
    this.stoppedByServer = true;
    this.destroy();
  }

  /**
   * Ends the connection now when the access lists changed under it (PreviewServer.reconfigure):
   * its client address is no longer allowed (`clientAllowed`, ClientFilter.allows), or the request
   * it is still answering (a live-reload channel, a proxied WebSocket, a long download) came with a
   * Host no longer answered (`hostAllowed`, HostPolicy.allows). Checks made when a request arrives
   * never see a channel again, so without this it kept telling which files change and taking
   * console lines. An idle keep-alive connection of an allowed client is left: its next request is
   * checked. The unfinished exchange is logged with the reason. Returns true when it was ended.
   */
  revokeUnless(clientAllowed: (ip: string) => boolean, hostAllowed: (host: string | undefined) => boolean): boolean {
    if (this.phase === 'destroyed') return false;
    const ex = this.exchange;
    const answering = ex !== undefined && !ex.finished;
    // This computer through one of its own addresses is never revoked, as loopback.
    const why = !this.fromOwnAddress && !clientAllowed(this.remoteAddress)
      ? `client ${this.remoteAddress} is no longer in allowedClients`
      : answering && !hostAllowed(ex.head.host)
        ? `Host no longer allowed: ${ex.head.host ?? ''}`
        : undefined;
    if (why === undefined) return false;
    if (answering) ex.note = why;
    this.endReason ??= why;
    this.destroy();
    return true;
  }

  destroy(): void {
    if (this.phase === 'destroyed') return;
    const wasClosing = this.phase === 'closing';
    const wasHead = this.phase === 'head';
    const byServer = this.stoppedByServer;
    // Why requests still waiting get no answer (logUnansweredPipelined).
    const endedBy: Unanswered = byServer ? STOPPING : { by: 'end', why: this.endReason ?? 'the client closed the connection' };
    const closingUnanswered = this.closingUnanswered;
    this.closingUnanswered = undefined;
    this.phase = 'destroyed';
    this.inactivity.clear();
    this.clearHeadTimer();
    this.clearBodyTimer();
    this.rateTick?.delete(this);
    this.rateTick = undefined;
    for (const r of this.inFlight) r.release();
    this.inFlight.clear();
    this.ctx.queued.giveBack(this.queuedBytes);
    this.queuedBytes = 0;
    const ex = this.exchange;
    this.exchange = undefined;
    const streamed = this.streamed;
    this.streamed = undefined;
    streamed?.sink?.error(byServer ? 'the server stopped' : 'the client closed the connection');
    ex?.reservation?.release();
    if (ex !== undefined && !ex.finished) {
      ex.finished = true;
      ex.onAbort?.();
      runCleanup(ex);
      if (byServer) ex.note ??= 'the server stopped before the answer was complete';
      this.log(ex, true);
      // Requests pipelined behind it, already read: logged as not answered (not a request body:
      // what follows a streamed body's head is that body), whoever ended the connection.
      if (streamed === undefined && !this.framingLost && this.passBodyAhead()) this.logUnansweredPipelined(endedBy, this.pendingSince);
    } else if (wasClosing) {
      // Closing with the requests' framing intact: what came since and is still incomplete (a
      // head cut short), logged with the reason the connection closes (whole heads were logged as
      // they came: keepWhileClosing).
      if (closingUnanswered !== undefined) this.logUnansweredPipelined(byServer ? STOPPING : closingUnanswered, this.pendingSince);
    } else if (this.bodyHead !== undefined) {
      // A complete head whose body never finished arriving: nothing to answer, but it is logged.
      this.logUnparsed(400, byServer ? 'the server stopped while the body was arriving' : 'client closed the connection mid-body', true, this.bodyHead);
    } else if (!onlyEmptyLines(this.pending)) {
      // Whole heads waiting behind an answer still queued (drainWait) when the connection ended
      // (the server stopped, the reader was too slow, the client left): not answered, one line
      // each. Then the bytes of a request head that never completed: nothing to answer, but it
      // is logged with the time it began (empty lines alone are no request head: RFC 9112 §2.2).
      if (byServer || this.drainWait) this.logUnansweredPipelined(endedBy, wasHead ? this.headStart : this.pendingSince);
      if (!onlyEmptyLines(this.pending)) this.logUnparsed(400, byServer ? 'the server stopped while the request head was arriving' : 'client closed the connection mid-request', true);
    }
    this.pending = EMPTY;
    this.closeSocket();
    this.ctx.connectionClosed(this);
  }

  /**
   * Closes the socket (close(2) at once): what this turn wrote and held goes out first, as it would
   * have without the hold (no-op once closed).
   */
  private closeSocket(): void {
    this.releaseOutput();
    this.socket.destroy();
  }

  // ---- input ---------------------------------------------------------------------------------

  /**
   * Adds `chunk` to what waits in `pending`. True when nothing (or empty lines alone) waited
   * before: these bytes start what waits (see pendingSince).
   */
  private appendInput(chunk: Buffer): boolean {
    const fresh = this.pending.length === 0 || onlyEmptyLines(this.pending);
    if (this.pending.length === 0) {
      this.pending = chunk;
      this.scanned = 0;
    } else {
      this.pending = (this.input ??= new InputStore(INPUT_STORE_MIN_BYTES, countInputCopy)).join(this.pending, chunk);
    }
    return fresh;
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closing') {
      if (this.closingUnanswered !== undefined) this.keepWhileClosing(chunk, this.closingUnanswered);
      return;
    }
    if (this.phase === 'destroyed') return;
    if (this.phase === 'upgraded') {
      this.upgraded?.onData?.(chunk);
      return;
    }
    const fresh = this.appendInput(chunk);
    if (this.phase === 'handling' || this.drainWait) {
      if (fresh) this.pendingSince = Date.now();
      if (this.streamed !== undefined) this.pumpBody();
      if (this.pending.length > MAX_PIPELINE_BUFFER && !this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    // Read now and parsed now: a head that leaves bytes behind it stamps them (parseNext).
    if (fresh) this.pendingSince = 0;
    this.drive();
  }

  private onEnd(): void {
    if (this.phase === 'upgraded') {
      // The other protocol's peer left without its closing handshake: nothing more to say.
      this.destroy();
      return;
    }
    // The client half-closed. Answer what is complete; a partial head can never complete.
    this.remoteEnded = true;
    if (this.streaming) {
      // An open-ended response (event stream) never completes: the client leaving ends it now,
      // not at the next write that fails (its place counts against the stream caps).
      this.destroy();
      return;
    }
    // A proxied request the back-end has not answered yet (no response head), its body all sent:
    // the client left (as nginx with proxy_ignore_client_abort off). The back-end's request is
    // cancelled now and logged 499, not held until the back-end answers or times out: an
    // abandoned long-poll kept its back-end connection 30 s, and its line then said a 504 was sent
    // (helper-148). Once the back-end's head came, its answer is passed on as before (a page read
    // whole for live reload's tag too, helper-149). A file is answered at once, so a client's
    // half-close still gets it; so does an upgrade request, whose tunnel learns of the FIN once
    // switched; and so do requests pipelined before a half-close (helper-132): requests waiting
    // behind this one say the client sent them all and waits for the answers (no browser
    // pipelines, so a tab that leaves is never such a client).
    const ex = this.exchange;
    if (
      this.phase === 'handling' &&
      this.streamed === undefined &&
      onlyEmptyLines(this.pending) &&
      ex !== undefined &&
      ex.upstream !== undefined &&
      ex.upstream.status === 0 &&
      !ex.answered &&
      ex.header('upgrade') === undefined
    ) {
      ex.note ??= 'the client closed its connection before the back-end answered';
      this.destroy();
      return;
    }
    // A streamed body that can no longer complete fails now, not when the back-end times out.
    if (this.streamed !== undefined) this.pumpBody();
    if (this.phase === 'idle' || this.phase === 'head' || this.phase === 'body') this.drive();
  }

  /** Parses and dispatches as many buffered requests as can be answered now. */
  private drive(): void {
    if (this.driving || this.drainWait) return;
    this.driving = true;
    try {
      // A response that left more than maxQueuedBytes waiting sets drainWait (finishExchange):
      // the next pipelined request is not parsed until the queue drains (onDrained), here too.
      while (!this.drainWait && (this.phase === 'idle' || this.phase === 'head' || this.phase === 'body')) {
        if (this.phase === 'body') {
          if (!this.continueBody()) break;
          continue;
        }
        if (this.pending.length === 0) break;
        if (!this.parseNext()) break;
      }
      // (While draining, what is buffered is complete requests still to answer, not a cut one.)
      if (this.remoteEnded && !this.drainWait && (this.phase === 'head' || this.phase === 'body' || this.phase === 'idle')) {
        if (this.phase === 'body' || !onlyEmptyLines(this.pending)) {
          this.failRequest(400, 'The request ended before it was complete.', this.bodyHead);
        } else {
          this.endGracefully();
        }
      }
    } finally {
      this.driving = false;
      // Nothing waits: the joined input's store goes (an idle connection holds no buffer).
      if (this.input?.holding === true && this.pending.length === 0) this.input.release();
    }
  }

  /** Returns true when a head was consumed and the loop may go on. */
  private parseNext(): boolean {
    this.corkHeldWire();
    // The clock read when this head starts here; a head read whole in this call is handed on at
    // that same moment (no second read).
    let now = -1;
    if (this.phase === 'idle') {
      this.phase = 'head';
      now = Date.now();
      this.headStart = now;
    }
    const result = parseRequestHead(this.pending, this.scanned, this.ctx.limits);
    if (result.kind === 'incomplete') {
      this.scanned = this.pending.length;
      if (this.headTimer === undefined) {
        // The head deadline (headTimer) governs a head in progress, not the idle timeout. (Set
        // here, not for every head: a complete one goes on to a timeout of its own at once.)
        this.setSocketTimeout(0);
        const left = Math.max(0, this.headStart + this.ctx.timeouts.headersMs - Date.now());
        this.headTimer = this.deadline(left, () => this.headTimer, () => this.onHeadTimeout());
      }
      return false;
    }
    if (result.kind === 'error') {
      this.failRequest(this.refusal === undefined ? result.status : 400, this.refusal ?? result.message);
      return false;
    }
    this.clearHeadTimer();
    const head = result.head;
    this.dropParsed(result.consumed, now);
    if (this.refusal !== undefined) {
      // Its body, if any, is never read: passed over while the connection lingers, when its
      // framing is known (and no tunnel or upgrade follows). What follows is requests: each gets
      // its line, as behind any answer the connection closes after.
      this.failRequest(400, this.refusal, head, this.passOverUnreadBody(head, 400));
      return false;
    }
    if (head.chunked || (head.contentLength !== undefined && head.contentLength > 0)) {
      // A proxied route streams its body to the back-end whatever the method: the refused-method
      // rule (405/501 at once, body never read) is for the routes Porthole answers itself.
      const streamLimit = this.ctx.streamedBodyLimit?.(head);
      // A request Porthole answers itself never needs its body: a refused method (405/501) is
      // answered whatever the body says, and GET, HEAD and OPTIONS the same with a body or
      // without. So a client waiting for `100 Continue` (RFC 9110 §10.1.1) is not invited to send
      // what would be thrown away, whatever the answer (a 200, or a 403 for its Host): it is
      // answered now, without a 100, as for a refused method.
      if (streamLimit === undefined && (this.ctx.refusesMethod(head.method) || head.expectContinue)) {
        // Answered now, whatever the body says. A body that came whole with its head
        // (within what a static file's request may carry) is passed over here, and the connection
        // goes on to the requests pipelined behind it, as nginx discards a refused request's body
        // (before, they were dropped unanswered and unlogged: only the refused one had a line).
        const end = requestEnd(head, this.pending, 0);
        if (typeof end === 'number' && end <= this.ctx.maxBodyBytes) {
          this.dropParsed(end, now);
          this.dispatch(head, false, undefined, now);
          return true;
        }
        // Otherwise the answer does not wait for the body (an upload may be large or never come)
        // and the connection closes after it; a body whose framing is known is passed over as it
        // comes, and each request after it is logged as not answered (passOverUnreadBody).
        this.passOverUnreadBody(head, 0, end);
        this.dispatch(head, true, undefined, now);
        return false;
      }
      const limit = streamLimit ?? this.ctx.maxBodyBytes;
      const rejected = head.contentLength === undefined ? undefined : checkContentLength(head.contentLength, limit);
      if (rejected !== undefined) {
        // 413 before the body: passed over while the connection lingers, the requests after it logged.
        this.failRequest(rejected.status, rejected.message, head, this.passOverUnreadBody(head, rejected.status));
        return false;
      }
      const reader = new BodyReader(head.chunked ? { kind: 'chunked' } : { kind: 'length', length: head.contentLength ?? 0 }, limit);
      if (streamLimit !== undefined) {
        // Its `100 Continue` waits for the handler to ask for the body (attachBodySink): a
        // request refused on its head (its Host, allowedClients, a cross-site load, the path's
        // spelling) is answered without inviting a body that would be thrown away.
        this.dispatch(head, false, reader, now);
        return true;
      }
      this.body = reader;
      this.bodyHead = head;
      this.phase = 'body';
      // The head deadline ended with the head; a body that stops arriving must not hold the
      // connection for ever (slowloris on the body): no progress for headersMs → 408.
      this.setSocketTimeout(this.ctx.timeouts.headersMs);
      // However steadily it trickles in, the whole body must arrive within bodyMs.
      this.bodyTimer = this.deadline(this.ctx.timeouts.bodyMs, () => this.bodyTimer, () => this.onBodyTimeout());
      return true;
    }
    this.dispatch(head, false, undefined, now);
    return true;
  }

  /**
   * Drops what was just read whole from the front of `pending` (a head parseNext parsed, or body
   * bytes continueBody passed): its first `consumed` bytes. Bytes left behind are pipelined: they
   * came with its end (`now`, or the clock read here), unless they waited already. What follows
   * is searched from its start (scanned: 0): the offset a head's search reached means nothing in
   * them (it hid the end of a head pipelined behind a refused one that had come in two reads).
   */
  private dropParsed(consumed: number, now: number): void {
    if (consumed === this.pending.length) {
      this.pending = EMPTY;
    } else {
      this.pending = this.pending.subarray(consumed);
      if (this.pendingSince === 0) this.pendingSince = now >= 0 ? now : Date.now();
    }
    this.scanned = 0;
  }

  /**
   * `head` (its head dropped from `pending`) is answered without reading its body: what of the
   * body is here is passed over, the rest of it (bodyAhead) as it comes, so that what follows is
   * known to be requests. Returns why those get no answer (the connection closes after this
   * one), or undefined when what follows is not known to be requests: the body broke its framing,
   * a tunnel or another protocol follows (requestEnd), or its client sent `Expect: 100-continue`
   * and none of a body that is not all here (RFC 9110 §10.1.1: refused without a 100, a client may
   * send the body or not, so where the next request starts is unknown). `end`: requestEnd's
   * answer for `head` at the front of `pending`, when already known.
   */
  private passOverUnreadBody(head: RequestHead, status: number, end = requestEnd(head, this.pending, 0)): Unanswered | undefined {
    if (end === undefined || (typeof end !== 'number' && head.expectContinue)) {
      this.framingLost = true;
      this.pending = EMPTY;
      return undefined;
    }
    if (typeof end === 'number') {
      this.dropParsed(end, -1);
    } else {
      this.pending = EMPTY;
      this.bodyAhead = end;
    }
    return status === 0 ? undefined : { by: 'close', why: `the request before it was refused (${status})` };
  }

  /**
   * Passes what `pending` holds of bodyAhead over (see there). False when it broke its framing:
   * what follows is then not known to be requests (framingLost), and is dropped.
   */
  private passBodyAhead(): boolean {
    const body = this.bodyAhead;
    if (body === undefined || this.pending.length === 0) return true;
    const passed = body.push(this.pending, 0);
    if (passed.kind === 'error') {
      this.bodyAhead = undefined;
      this.framingLost = true;
      this.pending = EMPTY;
      return false;
    }
    if (passed.kind === 'more') {
      this.pending = EMPTY;
      return true;
    }
    this.bodyAhead = undefined;
    this.dropParsed(passed.consumed, -1);
    return true;
  }

  /** Discards body bytes; returns true when the loop may go on. */
  private continueBody(): boolean {
    this.corkHeldWire();
    const reader = this.body;
    const head = this.bodyHead;
    if (reader === undefined || head === undefined) return false;
    if (this.pending.length === 0) return false;
    const result = reader.push(this.pending, 0);
    if (result.kind === 'error') {
      this.failRequest(result.status, result.message, head);
      return false;
    }
    this.dropParsed(result.consumed, -1);
    if (result.kind === 'more') return false;
    this.body = undefined;
    this.bodyHead = undefined;
    this.clearBodyTimer();
    this.dispatch(head);
    return true;
  }

  /** `now`: the clock read this moment (epoch ms), or -1 to read it here. */
  private dispatch(head: RequestHead, closeAfter = false, streamedBody?: BodyReader, now = -1): void {
    this.phase = 'handling';
    const changes = this.socketTimeoutChanges;
    const ex = new Exchange(this, head, this.headStart, this.ctx.nextRequestId(), now >= 0 ? now : Date.now());
    // CONNECT: what the client writes after its head is the tunnel it asked for (RFC 9110 §9.3.6),
    // which it may send before our answer, not a next request. Porthole opens no tunnel (every
    // CONNECT is refused), so where a next request would start is unknown: its answer ends the
    // connection, as any whose framing is lost, and nothing after the head is read as HTTP.
    if (closeAfter || !head.keepAlive || this.ctx.closing || head.method === 'CONNECT') ex.closeAfter = true;
    if (head.method === 'CONNECT') this.framingLost = true;
    this.exchange = ex;
    if (streamedBody !== undefined) {
      this.streamed = { reader: streamedBody, ex, sink: undefined, waiting: false, continued: false };
      // While the body arrives, no bytes for headersMs is a stalled body (408), as in parseNext.
      this.setSocketTimeout(this.ctx.timeouts.headersMs);
    }
    try {
      this.ctx.handle(ex);
    } catch {
      this.failExchange(ex);
    }
    // An answer still under way once the handler returned (a file being read, a back-end, a slow
    // client) gets the write-stall timeout, unless the handler set one of its own (an event
    // stream has none). No timer fires while the handler runs, so setting it now is as setting
    // it before; an answer sent at once (a cached file) keeps the timer it had.
    if (this.exchange === ex && !ex.finished && this.socketTimeoutChanges === changes && this.streamed === undefined) {
      this.setSocketTimeout(this.ctx.timeouts.writeStallMs);
    }
  }

  /**
   * Passes over what `pending` holds of a streamed body nobody takes (or takes no more): `done`
   * when its end was here (what follows it stays in `pending`), `more` when all of `pending` was
   * body and more is to come, `error` when it broke its framing.
   */
  private passOverStreamed(streamed: { readonly reader: BodyReader }): 'done' | 'more' | 'error' {
    const passed = streamed.reader.push(this.pending, 0);
    if (passed.kind === 'error') return 'error';
    this.dropParsed(passed.consumed, -1);
    if (passed.kind === 'more') return 'more';
    if (this.streamed === streamed) this.streamed = undefined;
    return 'done';
  }

  /** An exchange whose handler failed: 500 if nothing was sent yet, else the socket goes. */
  failExchange(ex: Exchange): void {
    if (!this.canStillAnswer(ex)) return;
    ex.closeAfter = true;
    // no-store: a failure is no answer for a cache to keep, whatever Cache-Control is configured.
    ex.respond(500, [['Content-Type', 'text/plain; charset=utf-8'], ['Cache-Control', 'no-store']], 'The server failed to answer this request.\n');
  }

  /**
   * The file being answered changed size while it was read (an editor truncating and rewriting
   * it in place): nothing of it can be sent as one version. 503 with `Retry-After: 1` (RFC 9110
   * §15.6.4, §10.2.3) if nothing was sent yet, not a 500: the server did not fail, the file is
   * being written, and asking again in a moment gets the new one. Else the socket goes.
   */
  fileChangedWhileRead(ex: Exchange): void {
    if (!this.canStillAnswer(ex)) return;
    ex.note = 'the file changed while it was read';
    ex.respondUnavailable(1, 'The file changed while it was being read (it is being written now). Reload in a moment to get the new version.\n');
  }

  /**
   * True when `ex`, whose handler could not finish, may still be answered: it is this
   * connection's current exchange and nothing of its answer was sent. When its answer had begun,
   * the socket goes (the answer under way cannot be completed) and this is false.
   */
  private canStillAnswer(ex: Exchange): boolean {
    if (ex.finished || this.exchange !== ex) return false;
    if (ex.answered) {
      this.cut();
      return false;
    }
    return true;
  }

  // ---- output --------------------------------------------------------------------------------

  /**
   * Marks the exchange answered with `status` and returns the Connection header its response
   * needs: `close` when this connection ends after it, `keep-alive` for an HTTP/1.0 client that
   * asked for it, none otherwise. An answer begun while its request body is still coming (a
   * back-end that answered early, a refusal) ends the connection (finishExchange: where the next
   * request starts is unknown), so it says `close` now (RFC 9112 §9.6), not only closes after.
   */
  private begin(ex: Exchange, status: number): [string, string] | undefined {
    if (ex.answered) throw new Error('response already started');
    ex.status = status;
    ex.headAt = Date.now();
    this.bodyBase = -1;
    // A body still coming (see above); not a 101, whose Connection field is the upgrade's. One
    // nobody takes (answered here, never forwarded: a refusal on its head) is passed over first:
    // all of it here, the connection stays open for the requests behind it (helper-165).
    if (status !== 101 && this.streamed?.ex === ex && (this.streamed.sink !== undefined || this.passOverStreamed(this.streamed) !== 'done')) ex.closeAfter = true;
    // A 101's connection goes on in the other protocol (RFC 9110 §15.2.2): its Connection field
    // is the upgrade's alone, never `close`, also while the server stops (the stop ends the
    // tunnel itself; helper-165: `Connection: Upgrade, close` on a 101).
    if (status === 101) return undefined;
    if (ex.closeAfter || this.ctx.closing) {
      ex.closeAfter = true;
      return CONNECTION_CLOSE;
    }
    return ex.head.version === '1.0' ? CONNECTION_KEEP_ALIVE : undefined;
  }

  /** The CORP field `ex`'s answer carries: none when cross-site loads are allowed (see Exchange.sameSiteLoad). */
  private corpFor(ex: Exchange): [string, string] | undefined {
    return this.ctx.crossSiteLoads ? undefined : ex.sameSiteLoad ? CORP_CROSS_ORIGIN : CORP;
  }

  private startResponse(ex: Exchange, status: number, headers: HeaderList): string {
    const connection = this.begin(ex, status);
    // CORP first, so a configured Cross-Origin-Resource-Policy header replaces it.
    const corp = this.corpFor(ex);
    if (corp !== undefined) headers.push(corp);
    let all = withExtraHeaders(headers, ex.extraHeaders, status, ex.bodyOrigin);
    if (ex.addedVary !== undefined) all.push(['Vary', ex.addedVary]);
    // The answer's own Vary (Accept-Encoding), the page's and a configured one: one field.
    all = oneVary(all);
    if (connection !== undefined) addConnectionOption(all, connection[1]);
    ex.responseHeaders = all;
    return serializeHead(status, all, ex.headAt);
  }

  writeResponse(ex: Exchange, status: number, headers: HeaderList, body: Buffer | undefined): void {
    if (this.phase === 'destroyed') return;
    this.sendWhole(ex, this.startResponse(ex, status, headers), body);
  }

  writePrepared(ex: Exchange, status: number, head: string, logHeaders: HeaderList, body: Buffer | undefined, slot: WireSlot): void {
    if (this.phase === 'destroyed') return;
    const configured = ex.extraHeaders;
    const extra = configured !== undefined && configured.length > 0 ? configured : undefined;
    const connection = this.begin(ex, status);
    // A prepared head cannot take configured headers in place (one may replace a header in it),
    // nor an added Vary when it has its own (a file's Accept-Encoding): the head is merged, once
    // (mergedHead).
    if (extra !== undefined || (ex.addedVary !== undefined && hasVary(logHeaders))) {
      const merged = mergedHead(head, status, ex.bodyOrigin, logHeaders, extra, ex.addedVary, this.corpFor(ex), connection);
      ex.responseHeaders = merged.all;
      this.sendWhole(ex, merged.head, body, headTail(ex.headAt), slot);
      return;
    }
    const extras = preparedExtras(this.corpFor(ex), connection, ex.addedVary);
    if (extras === undefined) {
      ex.responseHeaders = logHeaders;
      this.sendWhole(ex, head, body, headTail(ex.headAt), slot);
    } else {
      ex.responseHeaders = withPreparedExtras(slot, logHeaders, extras);
      this.sendWhole(ex, head, body, extras.tail(ex.headAt), slot);
    }
  }

  /**
   * Writes a head and a whole body in one write, then finishes the exchange. `slot`: head and
   * body belong to a prepared answer (a cached file), whose wire bytes are kept there (WireSlot).
   */
  private sendWhole(ex: Exchange, head: string, body: Buffer | undefined, tail = '', slot?: WireSlot): void {
    // A body built in memory keeps its budget until the kernel took it (the write's callback);
    // every response counts in the server-wide queued total for as long.
    // (A counter, not a Reservation in a Set: this runs once per response.)
    const held = ex.reservation;
    ex.reservation = undefined;
    const bodyLength = body === undefined ? 0 : body.length;
    const queued = this.countQueued(head.length + tail.length + bodyLength);
    if (held !== undefined) this.inFlight.add(held);
    const done = (): void => this.written(queued, held);
    // The last answer of a connection is written without a completion callback, and its budget
    // given back here: a callback queues Node's completion tick, which, once finishExchange has
    // closed the socket in this turn (clientSaidClose), builds an ERR_STREAM_DESTROYED with its
    // stack trace for nobody (perf: 14 µs of a 232 µs connection at close-50). Bytes the kernel
    // did not take yet are given back at 'finish' (end() follows), or by destroy().
    const last = ex.closeAfter;
    const callback = last ? undefined : done;
    if (!last) this.segmentsAtOnce();
    // A small answer on a connection that stays open waits for the turn's end with the others
    // (heldOutput). One that closes goes at once: its close follows the write in the same turn.
    const hold = !last && bodyLength <= COPY_BODY_MAX;
    if (hold && slot !== undefined && bodyLength <= PREPARED_WIRE_MAX_BODY) {
      // A prepared answer (a cached file, the 404 page): its wire bytes are kept ready (preparedWire).
      const wire = preparedWire(slot, head, tail, body ?? EMPTY);
      if (!this.holdWire(wire, callback)) this.socket.write(wire, callback);
      ex.bodyBytes = bodyLength;
      ex.doneAt = ex.headAt;
      this.finishExchange(ex);
      return;
    }
    // Whatever this writes goes behind an answer held beside the socket (holdOutput does it too).
    if (hold) this.holdOutput();
    else this.corkHeldWire();
    if (body === undefined || bodyLength === 0) {
      if (slot !== undefined) this.socket.write(preparedWire(slot, head, tail, EMPTY), callback);
      else this.socket.write(tail.length === 0 ? head : head + tail, 'latin1', callback);
    } else if (bodyLength > COPY_BODY_MAX) {
      // Large: two writes in one writev, no copy.
      this.socket.cork();
      this.socket.write(tail.length === 0 ? head : head + tail, 'latin1');
      this.socket.write(body, callback);
      this.socket.uncork();
      ex.bodyBytes = bodyLength;
    } else {
      const wire = slot !== undefined && bodyLength <= PREPARED_WIRE_MAX_BODY ? preparedWire(slot, head, tail, body) : assembleWire(head, tail, body);
      this.socket.write(wire, callback);
      ex.bodyBytes = bodyLength;
    }
    if (last) {
      if (this.socket.writableLength === 0) done();
      else this.socket.once('finish', done);
    }
    // The whole answer went to the socket with its head (begin() read the clock for both).
    ex.doneAt = ex.headAt;
    this.finishExchange(ex);
  }

  /**
   * Counts `bytes` of output held in memory in the server-wide queued total and this connection's
   * share of it (given back by `written`, or all at once by `destroy()`); returns what was taken.
   */
  private countQueued(bytes: number): number {
    const queued = this.ctx.queued.takeAlwaysCounted(bytes);
    this.queuedBytes += queued;
    return queued;
  }

  /** A response's bytes were taken by the kernel (or the socket is gone): their budget goes back. */
  private written(queued: number, held: Reservation | undefined): void {
    // After destroy() every count was already given back (queuedBytes is 0).
    const back = Math.min(queued, this.queuedBytes);
    this.queuedBytes -= back;
    this.ctx.queued.giveBack(back);
    if (held !== undefined) {
      held.release();
      this.inFlight.delete(held);
    }
  }

  writeStreamedResponse(ex: Exchange, status: number, headers: HeaderList, parts: readonly BodyPart[]): void {
    if (this.phase === 'destroyed') return;
    this.segmentsAtOnce();
    const head = this.startResponse(ex, status, headers);
    this.socket.write(head, 'latin1');
    this.bodyBase = this.socket.bytesWritten;
    let index = 0;
    const next = (): void => {
      if (this.exchange !== ex || this.phase === 'destroyed') return;
      const part = parts[index++];
      if (part === undefined) {
        ex.bodyBytes = this.socket.bytesWritten - this.bodyBase;
        this.finishExchange(ex);
        return;
      }
      if (Buffer.isBuffer(part)) {
        if (this.socket.write(part)) next();
        else this.socket.once('drain', next);
        return;
      }
      sendFileRange(part.file.fd, part.start, part.end, part.confirm);
    };
    // A file range goes out in pieces (file-pieces.ts): one being read while the kernel takes
    // another, at most two waiting for it, each counted in the queued-output budget until the
    // kernel took its bytes (so clients that never read hold a bounded total).
    const pieces = new FilePieces(this.ctx.queued);
    const sendFileRange = (fd: number, start: number, end: number, confirm: (() => Promise<boolean>) | undefined): void => {
      let position = start;
      let reading = false;
      let inSocket = 0;
      // The piece is free again once nothing refers to its bytes: its budget goes back (a no-op
      // after destroy(), which gave back every count), the buffer for this exchange's next piece.
      const release = (piece: Buffer): void => {
        this.written(piece.length, undefined);
        pieces.give(piece);
      };
      const send = (piece: Buffer, bytesRead: number): void => {
        position += bytesRead;
        inSocket++;
        this.socket.write(bytesRead === piece.length ? piece : piece.subarray(0, bytesRead), () => {
          inSocket--;
          release(piece);
          pump();
        });
        pump();
      };
      const pump = (): void => {
        if (this.exchange !== ex || this.phase === 'destroyed' || reading || inSocket > 1) return;
        if (position > end) {
          if (inSocket === 0) next();
          return;
        }
        const piece = pieces.take();
        this.countQueued(piece.length);
        reading = true;
        fsRead(fd, piece, 0, Math.min(piece.length, end + 1 - position), position, (err, bytesRead) => {
          if (this.exchange !== ex || this.phase === 'destroyed') {
            release(piece);
            return;
          }
          // A file that shrank after its Content-Length was sent: going on would leave the
          // client waiting for bytes that never come, or read our next response as body. This
          // socket (only) ends.
          if (err !== null || bytesRead === 0) {
            reading = false;
            release(piece);
            this.cut();
            return;
          }
          if (confirm === undefined || position + bytesRead <= end) {
            reading = false;
            send(piece, bytesRead);
            return;
          }
          // The last piece: a file written to while it was sent is no one version; holding this
          // piece back and ending the socket makes the client see a short body, not take a mix
          // of two versions as the file.
          const settled = (same: boolean): void => {
            reading = false;
            if (this.exchange !== ex || this.phase === 'destroyed') {
              release(piece);
              return;
            }
            if (!same) {
              release(piece);
              ex.note = 'the file changed while it was sent';
              this.cut();
              return;
            }
            send(piece, bytesRead);
          };
          confirm().then(settled, () => settled(false));
        });
      };
      pump();
    };
    next();
  }

  upgrade(ex: Exchange, headers: HeaderList): UpgradedSocket {
    ex.closeAfter = false;
    // What the client sends from now on is the other protocol's, never a request.
    this.framingLost = true;
    this.segmentsAtOnce();
    const head = this.startResponse(ex, 101, headers);
    let drainArmed = false;
    const upgraded: UpgradedSocket = {
      closed: false,
      onData: undefined,
      onDrain: undefined,
      onClose: undefined,
      write: (bytes: Buffer): boolean => {
        if (upgraded.closed || this.phase === 'destroyed') return false;
        const ok = this.socket.write(bytes);
        if (!ok && !drainArmed) {
          drainArmed = true;
          this.socket.once('drain', () => {
            drainArmed = false;
            if (!upgraded.closed) upgraded.onDrain?.();
          });
        }
        return ok;
      },
      pause: (): void => {
        if (!upgraded.closed && this.phase !== 'destroyed') this.socket.pause();
      },
      resume: (): void => {
        if (!upgraded.closed && this.phase !== 'destroyed') this.socket.resume();
      },
      end: (): void => {
        if (upgraded.closed) return;
        (upgraded as { closed: boolean }).closed = true;
        this.upgraded = undefined;
        this.phase = 'handling';
        ex.closeAfter = true;
        ex.bodyBytes = this.socket.bytesWritten - this.bodyBase;
        this.finishExchange(ex);
      },
    };
    if (this.phase === 'destroyed') {
      (upgraded as { closed: boolean }).closed = true;
      return upgraded;
    }
    this.socket.write(head, 'latin1');
    // What the new protocol writes after the head is this exchange's body in the record (a
    // tunnel's frames: the log said 0 B for a WebSocket that carried megabytes; nginx counts them).
    this.bodyBase = this.socket.bytesWritten;
    this.setSocketTimeout(0);
    this.phase = 'upgraded';
    this.upgraded = upgraded;
    ex.onAbort = chain(ex.onAbort, () => {
      if (upgraded.closed) return;
      (upgraded as { closed: boolean }).closed = true;
      upgraded.onClose?.();
    });
    // A body still being handed on (the body hook) ends here: what follows is the new protocol.
    this.streamed = undefined;
    if (this.paused || this.bodyPaused) {
      this.paused = false;
      this.bodyPaused = false;
      this.socket.resume();
    }
    // Bytes the client sent right behind its request belong to the new protocol.
    const early = this.pending;
    this.pending = EMPTY;
    // A client that half-closed before the switch (its FIN came while the handler waited, e.g.
    // on a back-end) has left the new protocol too: after its bytes, it ends as onEnd ends an
    // upgraded connection, instead of holding the tunnel open for a peer that sends nothing.
    const leftAlready = this.remoteEnded;
    if (early.length > 0 || leftAlready) {
      setImmediate(() => {
        if (this.upgraded === upgraded && early.length > 0) upgraded.onData?.(early);
        if (this.upgraded === upgraded && leftAlready) this.destroy();
      });
    }
    return upgraded;
  }

  openStream(ex: Exchange, status: number, headers: HeaderList): StreamWriter {
    this.segmentsAtOnce();
    const head = this.startResponse(ex, status, headers);
    this.socket.write(head, 'latin1');
    this.setSocketTimeout(0);
    this.streaming = true;
    const writer = {
      closed: false,
      write: (chunk: string): boolean => {
        if (writer.closed || this.phase === 'destroyed') return false;
        if (this.socket.writableLength > this.ctx.transfer.maxQueuedBytes) {
          // A stream reader that stopped reading: events would pile up for ever.
          ex.note = 'event stream not read: queued output above maxQueuedBytes';
          writer.closed = true;
          this.cut();
          return false;
        }
        ex.bodyBytes += Buffer.byteLength(chunk);
        return this.socket.write(chunk);
      },
      end: (): void => {
        if (writer.closed) return;
        writer.closed = true;
        this.streaming = false;
        this.finishExchange(ex);
      },
      written: (): number => this.socket.bytesWritten,
      taken: (): number | undefined => {
        const notTaken = bytesNotYetTaken(this.localPort, this.remotePort);
        return notTaken === undefined ? undefined : this.socket.bytesWritten - this.socket.writableLength - notTaken;
      },
    };
    ex.onAbort = () => {
      writer.closed = true;
    };
    return writer;
  }

  private finishExchange(ex: Exchange): void {
    if (ex.finished) return;
    ex.finished = true;
    this.exchange = undefined;
    if (this.producedBody?.ex === ex) this.producedBody = undefined;
    ex.reservation?.release();
    ex.reservation = undefined;
    if (this.streamed !== undefined) {
      // Answered before its body was all taken (a refusal on its head, a back-end that answered
      // early). What `pending` holds of it is passed over: all of it here (it came with its head),
      // the connection goes on to the requests behind it, as for a static route's (helper-165:
      // a proxied route's refusal closed the connection, and the request pipelined behind the
      // body went unanswered and unlogged). Still arriving, it is passed over as it comes while
      // the connection closes, the requests behind it logged as not answered; unless its end is
      // unknown: a broken framing, or a client that waited for a 100 Continue it never got (it
      // may send the body or not).
      const streamed = this.streamed;
      this.streamed = undefined;
      streamed.sink?.error('the response ended before the request body');
      const passed = this.passOverStreamed(streamed);
      // (Not all here when the answer began: it said Connection: close, and closes.)
      if (passed !== 'done') {
        ex.closeAfter = true;
        if (passed === 'more' && (!ex.head.expectContinue || streamed.continued)) this.bodyAhead = streamed.reader;
        else {
          this.pending = EMPTY;
          this.framingLost = true;
        }
      }
      if (this.bodyPaused) {
        this.bodyPaused = false;
        this.socket.resume();
      }
    }
    const closes = ex.closeAfter || this.ctx.closing;
    // At once, as nginx: the kernel holds the whole answer and sends its FIN after it. (The answer
    // was written without a completion callback: see sendWhole.) close(2) comes right after the
    // write, before the log line and this connection's bookkeeping (likely why it matters: a FIN
    // sent moments later reaches a client that has read the answer and gone back to waiting, and
    // waking it again is paid in this close(2); loopback delivers in the sender's system call).
    // Measured on Node's floor at 1 KiB `Connection: close`, 50 connections: 10 µs of work between
    // its write and its close cost 19.5 µs of CPU per request (68.7 → 88.2 µs, 9 interleaved
    // rounds), the same work before the write 9.5 µs.
    const atOnce = closes && this.clientSaidClose(ex);
    if (atOnce) this.closeSocket();
    runCleanup(ex);
    this.log(ex, false);
    if (closes) {
      if (atOnce) {
        this.phase = 'closing';
        this.destroy();
      } else {
        // Requests pipelined behind this answer get none: each is logged (unless what follows
        // is not known to be requests).
        this.endGracefully(this.framingLost ? undefined : this.ctx.closing ? STOPPING : { by: 'close', why: ex.head.keepAlive ? `the answer before it (${ex.status}) ends the connection` : 'the request before it asked to close the connection' });
      }
      return;
    }
    this.phase = 'idle';
    // At or above the socket's high-water mark a write has returned false, so 'drain' will come.
    // (An answer held beside the socket, heldWire, at most a 4 KiB body, is not counted: 'drain'
    // comes only for what the socket holds, and that answer is counted with the next.)
    const waiting = this.socket.writableLength;
    if (waiting >= this.socket.writableHighWaterMark && (waiting > this.ctx.transfer.maxQueuedBytes || this.ctx.queued.over)) {
      // The client is not reading as fast as it asks: read and parse nothing more (the next
      // pipelined request included) until what is queued has gone. A write that stops making
      // progress still ends the socket (writeStallMs), a slow one the rate check.
      this.drainWait = true;
      this.setSocketTimeout(this.ctx.timeouts.writeStallMs);
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      this.socket.once('drain', () => this.onDrained());
      return;
    }
    this.resumeInput();
  }

  private onDrained(): void {
    if (!this.drainWait) return;
    this.drainWait = false;
    if (this.phase !== 'idle') return;
    this.resumeInput();
  }

  /** Idle again with room in the queue: read on, and answer what is already buffered. */
  private resumeInput(): void {
    this.setSocketTimeout(this.ctx.timeouts.idleMs);
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if ((this.pending.length > 0 || this.remoteEnded) && !this.driving) {
      // Pipelined requests waiting in the buffer: answer them, off this stack.
      setImmediate(() => this.drive());
    }
  }

  /**
   * Fixed error answer (parse errors, timeouts, refusals): logged, then the connection closes.
   * `unanswered`: given when what follows in `pending` is known to be requests (the refused head
   * was read whole and had no body), why they get no answer: each is logged (endGracefully).
   * Otherwise what follows is dropped.
   */
  private failRequest(status: number, message: string, head?: RequestHead, unanswered?: Unanswered): void {
    if (this.phase === 'destroyed' || this.phase === 'closing') return;
    this.corkHeldWire();
    this.clearHeadTimer();
    // A parser's message may quote the client's bytes: shown escaped, as on a terminal.
    const body = `${escapeForDisplay(message)}\n`;
    const headers: HeaderList = [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(Buffer.byteLength(body))],
      // No cache keeps a refusal (414 and 501 are cacheable by default, RFC 9110 §15.1): one kept
      // would answer every later request for the URL.
      ['Cache-Control', 'no-store'],
    ];
    if (!this.ctx.crossSiteLoads) headers.push(CORP);
    headers.push(['Connection', 'close']);
    // A response to HEAD is its head alone (RFC 9110 §9.3.2: no content; RFC 9112 §6.3: it ends at
    // the empty line), refusals too; Content-Length still says what a GET would get. The method is
    // the parsed head's, or the request line's first token when the head could not be parsed.
    const content = (head?.method ?? methodToken(this.pending)) === 'HEAD' ? '' : body;
    const wire = serializeHead(status, headers) + content;
    this.socket.write(wire, 'utf8');
    this.logUnparsed(status, message, false, head, headers, Buffer.byteLength(content));
    if (unanswered === undefined) this.pending = EMPTY;
    this.endGracefully(unanswered);
  }

  /**
   * True when `ex` has been answered on a connection its client asked to close (`Connection:
   * close`, or HTTP/1.0 without keep-alive), with no body and nothing sent after it, over plain
   * TCP, the kernel holds the whole response, and all the connection wrote fits in the first
   * flight (FIRST_FLIGHT_BYTES): then close(2) at once, as nginx does, and the kernel sends the
   * response and its FIN after it. A client that sent "close" should send nothing more (RFC 9112
   * §9.6); one that does anyway makes the close a reset, which can then drop nothing of an answer
   * already sent in full. Every other close (the server's choice: an error, a limit, shutdown; a
   * body; pipelined bytes; a larger answer; TLS, whose close_notify is written by end())
   * half-closes and lingers (endGracefully).
   */
  private clientSaidClose(ex: Exchange): boolean {
    const head = ex.head;
    return (
      !head.keepAlive &&
      !this.secure &&
      !this.ctx.closing &&
      head.contentLength === undefined &&
      !head.chunked &&
      this.pending.length === 0 &&
      this.phase === 'handling' &&
      this.socket.writableLength === 0 &&
      this.socket.bytesWritten <= FIRST_FLIGHT_BYTES
    );
  }

  /**
   * Half-closes once the output is out, and lingers. `unanswered`: why requests read from now on
   * get no answer, when what the client sends is still known to be requests: each whole head
   * waiting or arriving is logged (as it arrives), and a head still incomplete when the connection
   * ends. Undefined: what waits or comes is dropped unlogged (it is a body, a tunnel, or follows a
   * refused head).
   */
  private endGracefully(unanswered?: Unanswered): void {
    if (this.phase === 'destroyed' || this.phase === 'closing') return;
    // end() writes after the answer held, and uncorks: it goes first.
    this.corkHeldWire();
    // A body left unread (passOverUnreadBody): what of it came is passed over, the rest as it comes.
    if (this.bodyAhead !== undefined) {
      if (!this.passBodyAhead()) unanswered = undefined;
      if (unanswered !== undefined && this.bodyAhead !== undefined) this.closingBody = this.bodyAhead;
      this.bodyAhead = undefined;
    }
    // Requests pipelined behind the last answer, already read, get none: each has its line.
    this.closingUnanswered = unanswered;
    if (unanswered !== undefined) this.logUnansweredPipelined(unanswered, this.pendingSince, false);
    this.phase = 'closing';
    this.clearHeadTimer();
    this.clearBodyTimer();
    this.drainWait = false;
    if (this.closingUnanswered === undefined) this.pending = EMPTY;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.socket.end();
    if (this.socket.writableLength === 0) {
      this.linger();
      return;
    }
    // Answers still queued: the linger starts once the kernel holds them all ('finish'). Until
    // then a write that stops progressing (writeStallMs) or a reader below the minimum send rate
    // ends the connection, as on one that stays open (helper-51: a client that read its pipelined
    // answers after a 3 s pause lost the end of the last one to the 2 s linger).
    this.setSocketTimeout(this.ctx.timeouts.writeStallMs);
    this.socket.once('finish', () => {
      if (this.phase === 'closing') this.linger();
    });
  }

  /**
   * The kernel holds every byte of this closing connection's output: read on until the client is
   * silent for LINGER_MS (the socket's inactivity timeout, restarted by every read), LINGER_MAX_MS
   * at most, or until its FIN; then close.
   */
  private linger(): void {
    this.setSocketTimeout(LINGER_MS);
    // After the turn's reads, as every deadline: the client's FIN, if it came, is read first and
    // the close is the clean one, not a reset over bytes still unread.
    this.headTimer = this.deadline(LINGER_MAX_MS, () => this.headTimer, () => this.destroy());
  }

  /**
   * A deadline `ms` from now: `verdict` runs after that turn's reads (timeoutAfterReads), and only
   * while `current()` is still this timer (a head or body those reads completed cleared it; the
   * next one has its own).
   */
  private deadline(ms: number, current: () => NodeJS.Timeout | undefined, verdict: () => void): NodeJS.Timeout {
    const timer: NodeJS.Timeout = timeoutAfterReads(ms, () => {
      if (this.phase !== 'destroyed' && current() === timer) verdict();
    });
    return timer;
  }

  private onHeadTimeout(): void {
    this.headTimer = undefined;
    // Empty lines alone began no request (RFC 9112 §2.2): the connection was idle, and is closed
    // as an idle one is, without a 408 or a log record.
    if (this.phase === 'head' && onlyEmptyLines(this.pending)) {
      this.endGracefully({ by: 'close', why: `no request came within ${this.ctx.timeouts.headersMs / 1000} s` });
      return;
    }
    if (this.phase === 'body') this.failBody(408, 'The request did not arrive in time.');
    else if (this.phase === 'head') this.failRequest(408, 'The request did not arrive in time.');
  }

  private onInactivity(): void {
    switch (this.phase) {
      // idle: a fresh connection that never sent anything, or keep-alive idle: close quietly.
      // handling: a write that made no progress: give up on this socket only.
      case 'idle':
        // Answers queued above maxQueuedBytes, the next requests waiting (drainWait): a write
        // stalled as in 'handling' — the kernel says whether the client still takes them, and the
        // rate check judges a slow one.
        if (this.drainWait) {
          if (this.clientStillTaking()) return;
          this.endReason ??= `no progress sending to the client for ${this.ctx.timeouts.writeStallMs / 1000} s`;
        }
        this.destroy();
        return;
      case 'handling': {
        // A streamed body (the body hook) with no bytes for headersMs: 408 like any body. Not
        // while the sink asked to wait (a back-end that stopped reading; the client's socket is
        // paused then): the back-end is awaited, not the client, as for the rate check (checkRates),
        // and its own timeout (the proxy's response timeout) bounds the wait.
        if (this.streamed !== undefined && this.exchange !== undefined && !this.exchange.answered) {
          if (this.streamed.waiting || this.bodyPaused) {
            this.inactivity.restart();
            return;
          }
          this.bodyTimedOut(this.streamed);
          return;
        }
        if (this.clientStillTaking()) return;
        // A response body written as it comes (startBody) with nothing queued for the client: no
        // write stalled, the producer (a back-end's Server-Sent Events or long poll) is quiet, and
        // may be for as long as it likes; the next write re-arms the timer. A client that left
        // (FIN) is let go as before, at writeStallMs.
        const produced = this.producedBody;
        if (produced !== undefined && produced.ex === this.exchange && !produced.writer.closed && this.socket.writableLength === 0 && !this.remoteEnded) {
          this.inactivity.restart();
          return;
        }
        this.endReason ??= this.remoteEnded ? 'the client closed the connection' : `no progress sending to the client for ${this.ctx.timeouts.writeStallMs / 1000} s`;
        this.cut();
        return;
      }
      // body: no body bytes for headersMs (see parseNext).
      case 'body':
        this.failBody(408, 'The request body did not arrive in time.');
        return;
      // closing: its output still queued (endGracefully) made no progress for writeStallMs, or,
      // once the kernel held it all, the client sent nothing for LINGER_MS (linger).
      case 'closing':
        if (this.clientStillTaking()) return;
        this.cut();
        return;
      case 'head':
      case 'upgraded':
      case 'destroyed':
        return;
    }
  }

  /**
   * A write "stalled" for writeStallMs by what Node sees, while the kernel tells what the client
   * takes (send-queue.ts): the kernel takes more from Node only once a third of its send buffer is
   * free, which at a slow reader's pace can take minutes. Then the stall timer waits on (re-armed)
   * and the rate check, which counts what the client took, is the judge (it applies whenever
   * output is queued): a client that takes nothing is cut by it within three rate windows. No
   * table is read here: stall timers of many connections fire at different times.
   */
  private clientStillTaking(): boolean {
    if (this.socket.writableLength === 0 || !clientProgressKnown()) return false;
    this.inactivity.restart();
    return true;
  }

  /**
   * A body being read and discarded (phase 'body') refused before its end (408: too slow): the
   * rest of it is passed over as it comes while the connection lingers (bodyAhead; its reader
   * knows where it ends), and each request after it is logged as not answered, not dropped.
   */
  private failBody(status: number, message: string): void {
    const reader = this.body;
    const head = this.bodyHead;
    let unanswered: Unanswered | undefined;
    if (reader !== undefined && head !== undefined && this.pending.length === 0) {
      this.bodyAhead = reader;
      unanswered = { by: 'close', why: `the request before it was refused (${status})` };
    }
    this.failRequest(status, message, head, unanswered);
  }

  private onBodyTimeout(): void {
    this.bodyTimer = undefined;
    if (this.phase === 'body') this.failBody(408, 'The request body did not arrive in time.');
  }

  private clearBodyTimer(): void {
    if (this.bodyTimer !== undefined) {
      clearTimeout(this.bodyTimer);
      this.bodyTimer = undefined;
    }
  }

  /**
   * Every rateWindowMs: a response queue that stayed non-empty the whole window and drained less
   * than minSendBytesPerSec × window ends the connection (the reader is too slow to be worth a
   * socket); a body read the whole window that brought less than minReceiveBytesPerSec × window
   * is answered 408.
   */
  /** @internal The shared rate tick (joinRateTick). */
  checkRates(): void {
    // A closing connection still sending its last answers is held to the send rate too.
    if (this.phase === 'destroyed' || (this.phase === 'closing' && this.socket.writableLength === 0)) return;
    const { rateWindowMs, minSendBytesPerSec, minReceiveBytesPerSec } = this.ctx.transfer;
    const read = this.socket.bytesRead;
    const backlog = this.socket.writableLength > 0;
    // Progress is what the client took where the kernel tells it (send-queue.ts), else what the
    // kernel took from Node; two samples are compared only when they measure the same.
    const taken = this.socket.bytesWritten - this.socket.writableLength;
    const notTaken = backlog ? bytesNotYetTaken(this.localPort, this.remotePort) : undefined;
    const sent = notTaken === undefined ? taken : taken - notTaken;
    const sentByClient = notTaken !== undefined;
    // A body handed on as it arrives (a proxied route's) counts too, while it is the client that
    // is awaited: not while the back-end asked to wait (the socket is paused then). helper-50: one
    // byte every 8 s per connection held all 118 places of a proxied route for good.
    const streamed = this.streamed;
    const streamedBody = streamed !== undefined && streamed.sink !== undefined && !streamed.waiting && !this.bodyPaused ? streamed.ex.head : undefined;
    const body = this.phase === 'body' ? this.bodyHead : this.phase === 'closing' ? undefined : streamedBody;
    // A reader is judged over the last two windows: what it takes shows in steps (its kernel
    // announces room an MSS at a time, 64 KiB on loopback, and a program reads its socket in
    // chunks, 64 KiB in Node), so a steady 3 KB/s reader showed nothing in some 20 s windows and
    // was cut at 80 s. Over 40 s a step of 64 KiB is 1.6 KB/s.
    const before = this.rateOutBefore;
    const tooSlowOut =
      backlog &&
      this.rateOut.backlog &&
      before.backlog &&
      sentByClient === before.byClient &&
      sent - before.sent < (minSendBytesPerSec * 2 * rateWindowMs) / 1000;
    const tooSlowIn =
      body !== undefined && body === this.rateBody && read - this.rateRead < (minReceiveBytesPerSec * rateWindowMs) / 1000;
    // The older sample's object takes the new one (no allocation per check).
    this.rateOutBefore = this.rateOut;
    this.rateOut = before;
    before.sent = sent;
    before.byClient = sentByClient;
    before.backlog = backlog;
    this.rateRead = read;
    this.rateBody = body;
    if (tooSlowIn) {
      if (this.phase === 'body') this.failBody(408, 'The request body arrived too slowly.');
      else if (streamed !== undefined) this.failStreamedBody(streamed, 408, 'The request body arrived too slowly.');
    } else if (tooSlowOut) {
      this.endReason = `client read slower than ${minSendBytesPerSec} bytes/s`;
      if (this.exchange !== undefined) this.exchange.note = this.endReason;
      this.cut();
    }
  }

  private clearHeadTimer(): void {
    if (this.headTimer !== undefined) {
      clearTimeout(this.headTimer);
      this.headTimer = undefined;
    }
  }

  // ---- the body hook and upgrades (proxied routes) --------------------------------------------

  private bodyPaused = false;

  bodyPendingFor(ex: Exchange): boolean {
    return this.streamed?.ex === ex;
  }

  attachBodySink(ex: Exchange, sink: RequestBodySink): void {
    const streamed = this.streamed;
    if (streamed?.ex !== ex) {
      // No body, or it ended already: nothing more will come.
      sink.end();
      return;
    }
    const first = streamed.sink === undefined;
    streamed.sink = sink;
    // The client may be waiting for this before it sends the body (RFC 9110 §10.1.1); not when
    // the body began to come anyway (held in `pending` until now). After whatever this
    // connection already answered.
    if (first && ex.head.expectContinue && this.pending.length === 0 && !this.remoteEnded) {
      this.corkHeldWire();
      this.segmentsAtOnce();
      this.socket.write(CONTINUE);
      streamed.continued = true;
    }
    this.pumpBody();
  }

  resumeBody(ex: Exchange): void {
    const streamed = this.streamed;
    if (streamed?.ex !== ex || !streamed.waiting) return;
    streamed.waiting = false;
    this.pumpBody();
    if (this.streamed === streamed && !streamed.waiting && this.bodyPaused) {
      this.bodyPaused = false;
      this.socket.resume();
    }
  }

  suspendTimeout(ex: Exchange): void {
    if (this.exchange === ex && this.phase === 'handling') this.setSocketTimeout(0);
  }

  /** Hands buffered body bytes to the sink until it asks to wait or the input runs out. */
  private pumpBody(): void {
    const streamed = this.streamed;
    if (streamed === undefined || streamed.sink === undefined) return;
    if (streamed.waiting) {
      if (!this.bodyPaused) {
        this.bodyPaused = true;
        this.socket.pause();
      }
      return;
    }
    const sink = streamed.sink;
    if (this.pending.length === 0) {
      if (this.remoteEnded) this.failStreamedBody(streamed, 400, BODY_CUT_SHORT);
      return;
    }
    const result = streamed.reader.push(this.pending, 0, (chunk) => {
      if (!sink.data(chunk)) streamed.waiting = true;
    });
    if (result.kind === 'error') {
      this.failStreamedBody(streamed, result.status, result.message);
      return;
    }
    this.pending = result.consumed === this.pending.length ? EMPTY : this.pending.subarray(result.consumed);
    if (result.kind === 'done') {
      this.streamed = undefined;
      if (this.bodyPaused) {
        this.bodyPaused = false;
        this.socket.resume();
      }
      sink.end();
      return;
    }
    if (this.remoteEnded && this.streamed === streamed) {
      this.failStreamedBody(streamed, 400, BODY_CUT_SHORT);
      return;
    }
    if (streamed.waiting && !this.bodyPaused) {
      this.bodyPaused = true;
      this.socket.pause();
    }
  }

  private bodyTimedOut(streamed: NonNullable<Connection['streamed']>): void {
    this.failStreamedBody(streamed, 408, 'The request body did not arrive in time.');
  }

  /**
   * A streamed (handed-on) request body failed: answered `status` with `message` when nothing was
   * answered yet (the connection then closes), else the socket is cut; the sink hears why.
   */
  private failStreamedBody(streamed: NonNullable<Connection['streamed']>, status: number, message: string): void {
    this.streamed = undefined;
    // What waits is that body's, and where it would have ended is lost: no request follows it
    // (never logged as pipelined requests by destroy()).
    this.pending = EMPTY;
    this.framingLost = true;
    const ex = streamed.ex;
    if (!ex.answered && this.exchange === ex) {
      ex.note = message;
      ex.closeAfter = true;
      ex.refuse(status, `${escapeForDisplay(message)}\n`);
    } else {
      this.cut();
    }
    streamed.sink?.error(message);
  }

  writeBodyStream(ex: Exchange, status: number, headers: HeaderList, length: number | undefined): ResponseBodyWriter {
    const noBody = statusHasNoBody(status) || ex.head.method === 'HEAD';
    let framing: 'none' | 'length' | 'chunked' | 'close';
    if (noBody) {
      framing = 'none';
      if (length !== undefined && !statusHasNoBody(status)) headers.push(['Content-Length', String(length)]);
    } else if (length !== undefined) {
      framing = 'length';
      headers.push(['Content-Length', String(length)]);
    } else if (ex.head.version === '1.1') {
      framing = 'chunked';
      headers.push(['Transfer-Encoding', 'chunked']);
    } else {
      framing = 'close';
      ex.closeAfter = true;
    }
    const writer = { closed: false, write: (_chunk: Buffer): boolean => false, onDrain: (_cb: () => void): void => undefined, end: (): void => undefined };
    if (this.phase === 'destroyed' || this.exchange !== ex) {
      writer.closed = true;
      return writer;
    }
    if (framing !== 'none') this.producedBody = { ex, writer };
    // The head waits (corked) for the first body bytes of this turn, so that a small response
    // leaves in one segment; it goes out on the next turn of the event loop at the latest.
    this.segmentsAtOnce();
    this.socket.cork();
    this.socket.write(this.startResponse(ex, status, headers), 'latin1');
    setImmediate(() => this.socket.uncork());
    this.setSocketTimeout(this.ctx.timeouts.writeStallMs);
    let written = 0;
    const alive = (): boolean => !writer.closed && this.phase !== 'destroyed' && this.exchange === ex;
    writer.write = (chunk: Buffer): boolean => {
      if (!alive() || chunk.length === 0 || framing === 'none') return true;
      if (framing === 'length' && written + chunk.length > (length ?? 0)) {
        // More than announced: the framing would break; end this socket.
        this.cut();
        return false;
      }
      written += chunk.length;
      ex.bodyBytes = written;
      if (framing === 'chunked') {
        this.socket.cork();
        this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        this.socket.write(chunk);
        const ok = this.socket.write('\r\n', 'latin1');
        this.socket.uncork();
        return ok;
      }
      return this.socket.write(chunk);
    };
    writer.onDrain = (callback: () => void): void => {
      if (!alive()) return;
      this.socket.once('drain', callback);
    };
    writer.end = (): void => {
      if (!alive()) return;
      writer.closed = true;
      if (framing === 'length' && written !== length) {
        // The body fell short of its Content-Length: the client must not wait for the rest.
        this.cut();
        return;
      }
      if (framing === 'chunked') this.socket.write('0\r\n\r\n', 'latin1');
      this.finishExchange(ex);
    };
    ex.onAbort = chain(ex.onAbort, () => {
      writer.closed = true;
    });
    return writer;
  }

  // ---- log -----------------------------------------------------------------------------------

  private log(ex: Exchange, aborted: boolean): void {
    if (aborted && ex.answered && this.bodyBase >= 0) {
      const pendingBytes = this.socket.writableLength;
      ex.bodyBytes = Math.max(0, this.socket.bytesWritten - pendingBytes - this.bodyBase);
    }
    const h = ex.head;
    const { referer, userAgent } = loggedFields(h.headers);
    this.ctx.record({
      id: ex.id,
      time: ex.startTime,
      clientIp: this.remoteAddress,
      clientPort: this.remotePort,
      // Written out, not spread from connectionFields(): this runs once per request.
      connectionId: this.id,
      secure: this.secure,
      serverIp: this.localAddress,
      serverPort: this.localPort,
      clientHost: undefined,
      method: h.method,
      target: h.target,
      protocol: h.protocol,
      status: ex.status || (aborted ? 499 : 0),
      bytes: ex.bodyBytes,
      durationMs: (ex.doneAt > 0 ? ex.doneAt : Date.now()) - ex.startTime,
      requestMs: ex.handedAt - ex.startTime,
      responseStartMs: ex.headAt > 0 ? ex.headAt - ex.startTime : -1,
      referer,
      userAgent,
      requestHeaders: h.headers,
      responseHeaders: ex.responseHeaders,
      aborted,
      note: ex.note,
      filePath: ex.filePath,
      upstream: ex.upstream === undefined ? undefined : { ...ex.upstream },
      spaFallback: ex.spaFallback,
    });
  }

  private connectionFields(): Pick<RequestRecord, 'connectionId' | 'secure' | 'serverIp' | 'serverPort'> {
    return { connectionId: this.id, secure: this.secure, serverIp: this.localAddress, serverPort: this.localPort };
  }

  /**
   * A closing connection's client sent more while its requests' framing is intact (see
   * closingUnanswered): its whole heads are logged as not answered now, an incomplete one kept
   * for the rest of it (bounded: the parser refuses a head over maxHeadBytes, and nothing is kept
   * past MAX_PIPELINE_BUFFER). Linear in what comes: an incomplete head is searched on from where
   * the last search stopped (`scanned`), and empty lines before a head (no request, RFC 9112
   * §2.2) are dropped as they come, so bytes trickled one by one are not scanned again each time.
   */
  private keepWhileClosing(chunk: Buffer, unanswered: Unanswered): void {
    const body = this.closingBody;
    if (body !== undefined) {
      // The body of the last request logged: dropped as it comes; what follows its end is kept.
      const passed = body.push(chunk, 0);
      if (passed.kind === 'error') {
        this.closingBody = undefined;
        this.closingUnanswered = undefined;
        return;
      }
      if (passed.kind === 'more') return;
      this.closingBody = undefined;
      chunk = chunk.subarray(passed.consumed);
      if (chunk.length === 0) return;
    }
    const fresh = this.appendInput(chunk);
    const empty = skipEmptyLines(this.pending);
    if (empty > 0) {
      this.pending = this.pending.subarray(empty);
      this.scanned = Math.max(0, this.scanned - empty);
    }
    if (fresh) this.pendingSince = Date.now();
    this.logUnansweredPipelined(unanswered, this.pendingSince, false);
    if (this.pending.length > MAX_PIPELINE_BUFFER) {
      this.closingUnanswered = undefined;
      this.pending = EMPTY;
    }
  }

  /**
   * Logs each whole request head waiting in `pending` (pipelined behind the answer the server
   * stops after) as not answered: status 503 with no bytes and no response head in the record
   * (nothing is sent: the connection closes after the answer before them, whose head may not have
   * said `Connection: close`, so a client sends them again on a new connection, RFC 9112 §9.3.2),
   * and a note saying so. Before, they were dropped with the connection and appeared nowhere.
   * What follows the last whole request is logged too, and nothing is left in `pending`: a head the
   * parser refuses with the status and words it would have had (400, 414, 431, 501, 505: not
   * sent, said in the note), a head still arriving as one the stop cut short (aborted). Such a head
   * behind the answer went unlogged (helper-117: a raw ESC or a 9,000-byte target pipelined behind
   * a download at Ctrl-C).
   * `unanswered`: why. The server stops (503, the note above); the server closes the connection
   * for another reason (503, "not answered: the server closes the connection (why)"; before, the
   * heads behind an answer that ended its connection, a 500 or a request that asked to close,
   * went unlogged); or the connection ended otherwise (the client left, a reader too slow was
   * cut): whole heads are then logged 499, aborted, with that reason (helper-128: a reader of ten
   * pipelined downloads cut by the send rate got one line, "client closed the connection
   * mid-request", for the four heads not yet answered, and none for three of them). `arrivedAt`:
   * when the bytes came (epoch ms), the time each line carries. `final` false (the connection
   * still reads, closing): a head still incomplete stays in `pending` for the rest of it, and a
   * body still arriving is passed over as it comes (closingBody); after a refused head, a CONNECT
   * or an upgrade, or a body that broke its framing, nothing more is kept (closingUnanswered).
   * At most MAX_UNANSWERED_LOGGED such lines per connection.
   */
  private logUnansweredPipelined(unanswered: Unanswered, arrivedAt: number, final = true): void {
    let rest = this.pending;
    // How far the head `pending` begins with was searched already (keepWhileClosing).
    let scanned = final ? 0 : this.scanned;
    this.scanned = 0;
    while (!onlyEmptyLines(rest)) {
      if (this.unansweredLogged >= MAX_UNANSWERED_LOGGED) {
        this.closingUnanswered = undefined;
        break;
      }
      const result = parseRequestHead(rest, scanned, this.ctx.limits);
      scanned = 0;
      if (result.kind === 'incomplete' && !final) {
        this.scanned = rest.length;
        break;
      }
      this.unansweredLogged++;
      // Each line carries when its bytes arrived (pendingSince; for a head in progress, when it
      // began), not when the connection ended.
      this.headStart = arrivedAt;
      if (result.kind !== 'complete') {
        // logUnparsed reads the request line and fields of what it logs from `pending`.
        this.pending = rest;
        if (result.kind === 'error') {
          this.logUnparsed(result.status, `not answered (${unansweredWhy(unanswered)}): ${result.message}`, false);
        } else {
          this.logUnparsed(400, cutWhileArriving(unanswered), true);
        }
        rest = EMPTY;
        this.closingUnanswered = undefined;
        break;
      }
      const head = result.head;
      const end = requestEnd(head, rest, result.consumed);
      if (typeof end === 'number') {
        rest = rest.subarray(end);
      } else {
        rest = EMPTY;
        // Its body is still arriving: while the connection reads on, the rest of it is passed over
        // as it comes (helper-130: a body split across two reads lost the request behind it).
        if (end !== undefined && !final) this.closingBody = end;
        // What follows it is another protocol's (a CONNECT's tunnel, an upgrade's), or its body
        // broke its framing: logged, and nothing after it is a request (helper-131: a request line
        // inside a CONNECT's tunnel was logged as a request, its target, Referer and User-Agent
        // the client's choice).
        else this.closingUnanswered = undefined;
      }
      // The last line the cap allows says so: what comes after it on this connection has none.
      const capped = this.unansweredLogged === MAX_UNANSWERED_LOGGED ? ` (the last of ${MAX_UNANSWERED_LOGGED} logged not answered on this connection: later ones are not logged)` : '';
      if (unanswered.by === 'stop') {
        this.logUnparsed(503, `not answered: the server was stopping, and closes the connection after the answer before it (a client sends the request again on a new connection)${capped}`, false, head);
      } else if (unanswered.by === 'close') {
        this.logUnparsed(503, `not answered: the server closes the connection (${unanswered.why}); a client sends the request again on a new connection${capped}`, false, head);
      } else {
        // Cut short with the connection, as a request whose answer was under way (499).
        this.logUnparsed(400, `not answered: the connection ended before its turn (${unanswered.why})${capped}`, true, head);
      }
    }
    this.pending = rest;
    if (rest.length === 0) this.pendingSince = 0;
  }

  /** A record for a request that never became an exchange (parse error, timeout, cut short). */
  private logUnparsed(
    status: number,
    note: string,
    aborted: boolean,
    head?: RequestHead,
    responseHeaders: HeaderList = [],
    bytes = 0,
  ): void {
    const line = head === undefined ? firstLine(this.pending, this.ctx.limits.maxTargetBytes) : undefined;
    const durationMs = this.headStart > 0 ? Date.now() - this.headStart : 0;
    // A head that was read (a body too large, broken or too slow; a refusal after the head) is
    // logged with its Referer and User-Agent, as every other request is; a head the parser
    // refused (400, 431, 501, 505, 408 before its end) with those of its field lines before the
    // fault, as nginx logs $http_referer and $http_user_agent for it.
    const { referer, userAgent } = head !== undefined ? loggedFields(head.headers) : loggedFieldsOfRaw(this.pending, this.ctx.limits.maxHeadBytes);
    this.ctx.record({
      id: this.ctx.nextRequestId(),
      time: this.headStart || Date.now(),
      clientIp: this.remoteAddress,
      clientPort: this.remotePort,
      ...this.connectionFields(),
      clientHost: undefined,
      method: head?.method ?? line?.method ?? '-',
      target: head?.target ?? line?.target ?? '-',
      protocol: head !== undefined ? head.protocol : (line?.protocol ?? '-'),
      status: aborted ? 499 : status,
      bytes,
      durationMs,
      requestMs: -1,
      // Such an answer is written whole, head and body at once, as the request ends.
      responseStartMs: responseHeaders.length > 0 ? durationMs : -1,
      referer,
      userAgent,
      requestHeaders: head?.headers ?? [],
      responseHeaders,
      aborted,
      note,
      filePath: undefined,
    });
  }
}

function chain(first: (() => void) | undefined, second: () => void): () => void {
  return first === undefined
    ? second
    : () => {
        first();
        second();
      };
}

function runCleanup(ex: Exchange): void {
  const cleanup = ex.cleanup;
  ex.cleanup = undefined;
  cleanup?.();
}

/**
 * The two request fields the log keeps, the first of each (as Exchange.header), in one pass over
 * `headers` (lower-case names, as the parser gives them).
 */
function loggedFields(headers: HeaderList): { referer: string | undefined; userAgent: string | undefined } {
  let referer: string | undefined;
  let userAgent: string | undefined;
  for (const [name, value] of headers) {
    if (name === 'referer') referer ??= value;
    else if (name === 'user-agent') userAgent ??= value;
  }
  return { referer, userAgent };
}

/**
 * A field line as a log takes it from a refused head: a token, a colon, the value between optional
 * whitespace. The value may hold control characters the parser refuses (RFC 9110 §5.5), as nginx
 * takes them into $http_user_agent, escaped when written (helper-163: `User-Agent: bad ESC [31m`
 * was refused, and the log showed neither it nor the Referer after it); not NUL, nor a CR, which
 * ends a line here as in nginx (a lone one, `a CR b`, breaks the line: helper-157).
 */
// eslint-disable-next-line no-control-regex
const FIELD_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00\x0a\x0d]*?)[ \t]*$/;

/**
 * loggedFields for a head the parser refused (best effort, for the log only): the Referer and
 * User-Agent of the whole field lines in `buf` after its request line (empty lines before it
 * skipped, RFC 9112 §2.2), up to the head's end, the first line that is no field line (FIELD_LINE:
 * a broken line ending, an obs-fold, a name that is no token; a line not ended by CR LF is one),
 * or `maxBytes`. A value refused only for a control character is taken. A line not ended yet (a
 * 408 mid-line) is not taken.
 */
function loggedFieldsOfRaw(buf: Buffer, maxBytes: number): { referer: string | undefined; userAgent: string | undefined } {
  let referer: string | undefined;
  let userAgent: string | undefined;
  // Empty lines before the request line are skipped as the parser skips them (CR LF each); a
  // lone LF or CR there is the fault (helper-159: `\n\nGET …` was refused, its User-Agent logged).
  let start = 0;
  while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
  if (buf[start] === 0x0a || buf[start] === 0x0d) return { referer, userAgent };
  const limit = Math.min(buf.length, start + maxBytes);
  let at = buf.indexOf(10, start);
  // Only lines ended by CR LF (RFC 9112 §2.2): one ended by a lone LF is the fault as much as one
  // holding a lone CR, and `User-Agent: a` LF logged `a` where `User-Agent: a` CR `b` logged none.
  if (at > 0 && buf[at - 1] !== 0x0d) return { referer, userAgent };
  while (at >= 0 && at + 1 < limit && (referer === undefined || userAgent === undefined)) {
    const end = buf.indexOf(10, at + 1);
    if (end < 0 || end >= limit || buf[end - 1] !== 0x0d) break;
    const m = FIELD_LINE.exec(buf.toString('latin1', at + 1, end - 1));
    if (m === null) break;
    const name = (m[1] as string).toLowerCase();
    if (name === 'referer') referer ??= m[2];
    else if (name === 'user-agent') userAgent ??= m[2];
    at = end;
  }
  return { referer, userAgent };
}

/**
 * The method token that starts a request line in `buf` (after any empty lines, RFC 9112 §2.2),
 * when a space follows it; undefined otherwise (looking at no more than MAX_METHOD_BYTES + 1 bytes of
 * it, past which the parser has refused the line). For a head that could not be parsed whole.
 */
function methodToken(buf: Buffer): string | undefined {
  let start = 0;
  while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
  let end = start;
  while (end < buf.length && end - start <= MAX_METHOD_BYTES && TOKEN_CHARS[buf[end] as number] === 1) end++;
  return end > start && buf[end] === 0x20 ? buf.toString('latin1', start, end) : undefined;
}

/**
 * Where what follows request `head` (whose head ends at `buf[headEnd - 1]`) begins in `buf`: past
 * its body (Content-Length, or chunked to its last chunk and trailers, RFC 9112 §7.1); or, when
 * the body goes on past `buf`, the reader that has taken all of it that is there; or undefined
 * when what follows is not known to be HTTP: a CONNECT's tunnel (RFC 9110 §9.3.6), the other
 * protocol after a request that asks to upgrade (RFC 9110 §7.8) if the server agreed, or a body
 * that broke its framing. For requests logged unanswered (logUnansweredPipelined).
 */
function requestEnd(head: RequestHead, buf: Buffer, headEnd: number): number | BodyReader | undefined {
  if (head.method === 'CONNECT' || head.headers.some(([name]) => name === 'upgrade')) return undefined;
  if (!head.chunked && (head.contentLength ?? 0) === 0) return headEnd;
  const reader = new BodyReader(head.chunked ? { kind: 'chunked' } : { kind: 'length', length: head.contentLength ?? 0 }, Number.MAX_SAFE_INTEGER);
  const body = reader.push(buf, headEnd);
  if (body.kind === 'error') return undefined;
  return body.kind === 'done' ? headEnd + body.consumed : reader;
}

/** Why a head the parser refuses got no answer either, as its note says it (logUnansweredPipelined). */
function unansweredWhy(unanswered: Unanswered): string {
  switch (unanswered.by) {
    case 'stop':
      return 'the server was stopping';
    case 'close':
      return `the server closes the connection: ${unanswered.why}`;
    case 'end':
      return `the connection ended: ${unanswered.why}`;
  }
}

/** The note of a request head still incomplete when its connection ended (logUnansweredPipelined). */
function cutWhileArriving(unanswered: Unanswered): string {
  switch (unanswered.by) {
    case 'stop':
      return 'the server stopped while the request head was arriving';
    case 'close':
      return `the connection closed while the request head was arriving (${unanswered.why})`;
    case 'end':
      return `the connection ended while the request head was arriving (${unanswered.why})`;
  }
}

/**
 * Requests a connection logs as not answered (logUnansweredPipelined): past this many, what waits
 * goes unlogged (each line is a parse and a record; a client could otherwise make a closing
 * connection write lines for as long as it lingers, without a single answer).
 */
export const MAX_UNANSWERED_LOGGED = 1_000;

/** Room for a method, two spaces, a version and CR beside the longest target in a request line logged whole. */
const LINE_ROOM_BESIDE_TARGET = 64;

/**
 * Best effort: the request line of an unparsable head, for the log only (bounded, printable). The
 * empty lines a client may send before a request line (RFC 9112 §2.2, which the parser skips too)
 * are skipped, so the line logged is the one that was refused. A whole line the parser could take
 * (a target up to `maxTargetBytes`, the 414 limit) is logged whole, as nginx logs $request for a
 * 400 after the line: a head refused for one of its fields, or for a byte in its target, kept only
 * 200 characters of a 600-byte URL and no version. A line cut short or too long: its first 512
 * bytes (a 414's method and the start of its target).
 */
function firstLine(buf: Buffer, maxTargetBytes: number): { method: string; target: string; protocol: string } | undefined {
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start === buf.length) return undefined;
  const lineEnd = buf.indexOf(10, start);
  let end = lineEnd;
  const whole = end >= 0 && end - start <= maxTargetBytes + LINE_ROOM_BESIDE_TARGET;
  if (!whole) end = Math.min(buf.length, start + 512);
  const text = buf.toString('latin1', start, end).replace(/\r$/, '');
  const parts = text.split(' ');
  const [method = '-', target = '-', protocol = '-'] = parts;
  // A target the parser takes (up to maxTargetBytes) whole; one past it (a 414's, its line read
  // to its end, whatever its shape: no version, a space after the target) cut as a longer line's
  // below: a target of 8,193 bytes was logged whole (helper-163, helper-165).
  const past = target.length > maxTargetBytes;
  if (parts.length === 3 && !past) return { method, target: cutLogged(target, maxTargetBytes, target.length, true), protocol };
  // A whole line of another shape (no version; a space in the target): all of it, as sent.
  if (whole && !past) return parts.length === 2 && isToken(method) && method !== '-' ? { method, target: target || '-', protocol: '-' } : { method: '-', target: text || '-', protocol: '-' };
  // A line cut before its version (a 414's): its method and the target's start, and how much of
  // the line was left out (its length when its end was read; else at least what was read). A
  // method '-' (a token) is not taken apart: '-' is the record's "no method", and the log writes
  // such a record's target alone, as the whole line (formatCombinedLine).
  const known = lineEnd >= 0;
  const lineLength = known ? lineEnd - start - (buf[lineEnd - 1] === 0x0d ? 1 : 0) : buf.length - start;
  if ((parts.length === 2 || past) && isToken(method) && method !== '-') {
    return { method, target: cutLogged(target, LOGGED_CUT_TARGET_CHARS, lineLength - method.length - 1, known) || '-', protocol: '-' };
  }
  return { method: '-', target: cutLogged(text, LOGGED_CUT_TARGET_CHARS, lineLength, known) || '-', protocol: '-' };
}

/** Characters of a request line's target the log keeps when the line was too long to log whole (a 414's). */
const LOGGED_CUT_TARGET_CHARS = 200;

/**
 * `text` (latin1: a character per byte) cut to `max` characters for the log, the cut marked as the
 * terminal marks its own (`… (N more characters)`, display-text's cutAtCharacter), in the log's
 * ASCII: `... (N more bytes)`, where N counts from the cut to the end of `length` bytes (`known`:
 * the client's bytes were read to their end; else `at least N`). Before, a 414's target ended
 * after 200 characters with no mark: the log read as a request for a URL nobody asked for.
 */
function cutLogged(text: string, max: number, length: number, known: boolean): string {
  if (text.length <= max && (known || length <= text.length)) return text;
  const kept = text.slice(0, max);
  return `${kept}... (${known ? '' : 'at least '}${countOf(length - kept.length, 'more byte')})`;
}

/**
 * Adds `option` (close, keep-alive) to the answer's Connection field (RFC 9110 §7.6.1), in the
 * field the answer has already (a 426's `Connection: Upgrade` becomes `Connection: Upgrade,
 * close`), else as a field of its own: one line, where two said the same to a recipient that
 * joins them but not to one that reads the first alone (helper-163).
 */
function addConnectionOption(headers: HeaderList, option: string): void {
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i] as [string, string];
    if (field[0].length === 10 && field[0].toLowerCase() === 'connection') {
      headers[i] = [field[0], `${field[1]}, ${option}`];
      return;
    }
  }
  headers.push(['Connection', option]);
}

const isVary = (name: string): boolean => name.length === 4 && name.toLowerCase() === 'vary';

function hasVary(headers: HeaderList): boolean {
  return headers.some(([n]) => isVary(n));
}

/**
 * `headers` with every Vary field made one (RFC 9110 §12.5.5: Vary is a list, its field names
 * case-insensitive), at the first one's place: each name once, as first written, or `*` alone when
 * any says `*`. A file's answer carried its own `Vary: Accept-Encoding` and the page Vary
 * (Sec-Fetch-Dest, Sec-Fetch-Mode, Accept) as two lines, and a configured Vary a third. Returns
 * `headers` itself when there is no Vary.
 */
function oneVary(headers: HeaderList): HeaderList {
  if (!hasVary(headers)) return headers;
  const names: string[] = [];
  const seen = new Set<string>();
  const out: HeaderList = [];
  let at = -1;
  for (const field of headers) {
    if (!isVary(field[0])) {
      out.push(field);
      continue;
    }
    for (const part of field[1].split(',')) {
      const name = part.trim();
      const key = name.toLowerCase();
      if (name === '' || seen.has(key)) continue;
      seen.add(key);
      names.push(name);
    }
    if (at < 0) {
      at = out.length;
      out.push(field);
    }
  }
  out[at] = ['Vary', seen.has('*') ? '*' : names.join(', ')];
  return out;
}

/** What an answer's body is (Exchange.bodyOrigin). */
export type BodyOrigin = 'file' | 'decoded' | 'proxied' | 'porthole';

/**
 * The fields that describe a file's representation, or how it is to be taken (RFC 9110 §8.3–8.7;
 * RFC 6266): a configured one is the file's, never a redirect's, an error's, a 304's or a body
 * Porthole writes itself (withExtraHeaders).
 */
const REPRESENTATION_FIELDS: readonly string[] = ['content-type', 'content-encoding', 'content-language', 'content-location', 'content-disposition'];

/** representationTag's answers by configured list (the policy's lists are kept and frozen). */
const representationTags = new WeakMap<ReadonlyHeaderList, string>();

/**
 * What the configured representation fields of `extra` (REPRESENTATION_FIELDS) make of a file's
 * entity tag: a suffix naming them (`~c` and 8 hex digits of their SHA-1), or `''` when `extra`
 * configures none. Two configurations that label a file differently are two representations,
 * which need two tags (RFC 9110 §8.8.3): with one tag, a browser that had the file as `text/plain`
 * revalidated it after the rule was removed, got 304 (which carries no Content-Type) and kept
 * `text/plain` (helper-178).
 */
export function representationTag(extra: ReadonlyHeaderList | undefined): string {
  if (extra === undefined || extra.length === 0) return '';
  let tag = representationTags.get(extra);
  if (tag === undefined) {
    const fields = extra.filter(([name]) => REPRESENTATION_FIELDS.includes(name.toLowerCase())).map(([name, value]) => `${name.toLowerCase()}:${value}`);
    tag = fields.length === 0 ? '' : `~c${nodeCrypto().createHash('sha1').update(fields.join('\n')).digest('hex').slice(0, 8)}`;
    representationTags.set(extra, tag);
  }
  return tag;
}

/** `etag` (an entity-tag, RFC 9110 §8.8.3, weak or strong) with `suffix` added inside its quotes. */
export function withTagSuffix(etag: string, suffix: string): string {
  return suffix === '' || !etag.endsWith('"') ? etag : `${etag.slice(0, -1)}${suffix}"`;
}

/** True when `extra` (configured headers) names a Content-Encoding other than `identity` (RFC 9110 §8.4.1). */
function configuresContentCoding(extra: ReadonlyHeaderList): boolean {
  return extra.some(([name, value]) => name.length === 16 && name.toLowerCase() === 'content-encoding' && value.trim().toLowerCase() !== 'identity');
}

/**
 * `headers` with `extra` added, each extra one replacing same-named headers (names compared
 * case-insensitively, RFC 9110 §5.1; Vary and Set-Cookie are added beside them). An answer the server itself marked
 * `Cache-Control: no-store` (a passing condition: a file being written, the server busy, a
 * back-end that failed) keeps it: a configured Cache-Control would let a browser or a cache keep
 * that answer in place of the file (RFC 9111 §5.2.2.5). An answer's own Content-Encoding (RFC 9110
 * §8.4) is kept too: it says how the body's bytes are to be decoded; a redirect, an error or a
 * 304 (`status` 300 and up) gets none of the configured REPRESENTATION_FIELDS, its body being a
 * page Porthole wrote (or the root's 404.html), never the file the rule describes, nor does a
 * body Porthole writes itself, nor a decoded one a Content-Encoding (`origin`: Exchange.bodyOrigin); and a multipart/byteranges
 * 206 keeps its Content-Type, whose boundary frames the parts. Returns `headers` itself when there
 * is nothing to add.
 */
function withExtraHeaders(headers: HeaderList, extra: ReadonlyHeaderList | undefined, status: number, origin: BodyOrigin): HeaderList {
  if (extra === undefined || extra.length === 0) return headers;
  const noStore = headers.some(([n, v]) => n.toLowerCase() === 'cache-control' && /(^|,)\s*no-store\s*(,|$)/i.test(v));
  // The answer's own Content-Encoding says how its body bytes are encoded (a compressed copy, a
  // .br sibling, a back-end's gzip): a configured one in its place (`Content-Encoding: identity`
  // on a gzip body) makes the client decode the bytes wrongly, so it is kept; a configured one
  // still labels a file's answer that has none (a rule for files stored encoded under another
  // name).
  const ownCoding = origin === 'decoded' || headers.some(([n]) => n.toLowerCase() === 'content-encoding');
  // What the configured representation fields describe is the file: a redirect's or an error's
  // page, and a body Porthole writes itself, are none of it (helper-171: a rule for `**` made the
  // 404 page "gzip"; helper-176: a `**/*.txt` rule made the site's 404.html text/plain, `fr` and a
  // download). A 304 carries no representation metadata (RFC 9110 §15.4.5): a cache updates its
  // stored 200 from it (RFC 9111 §4.3.4), and a configured `Content-Encoding: identity` on the
  // 304 of a gzip answer relabelled the stored gzip bytes.
  const notTheFile = origin === 'porthole' || status >= 300;
  // A multipart/byteranges 206 (RFC 9110 §14.6) is framed by its type's boundary: a configured
  // Content-Type in its place left a client no way to split the parts (helper-173).
  const ownType = status === 206 && headers.some(([n, v]) => n.toLowerCase() === 'content-type' && v.startsWith('multipart/byteranges'));
  // The answer's own fields that no configured one replaces or joins (lower-case names).
  const kept: string[] = notTheFile ? [...REPRESENTATION_FIELDS] : [];
  if (noStore) kept.push('cache-control');
  if (ownCoding) kept.push('content-encoding');
  if (ownType) kept.push('content-type');
  const added = kept.length === 0 ? extra : extra.filter(([n]) => !kept.includes(n.toLowerCase()));
  // Vary is a list (RFC 9110 §12.5.5): an extra Vary adds to the response's own, never replaces
  // it. Each Set-Cookie is a cookie of its own (RFC 6265 §3): a configured one is set beside a
  // back-end's, never in place of its session cookie (helper-176).
  const replaced = new Set(added.map(([n]) => n.toLowerCase()).filter((n) => n !== 'vary' && n !== 'set-cookie'));
  // Porthole's CORS never allows credentials: an Access-Control-Allow-Origin of its own that
  // replaces a back-end's must not keep the back-end's Allow-Credentials, which was granted to the
  // origin the back-end named, not to the one written here.
  if (replaced.has('access-control-allow-origin')) replaced.add('access-control-allow-credentials');
  const out: HeaderList = headers.filter(([n]) => !replaced.has(n.toLowerCase()));
  // A file's tag names its configured representation too (representationTag; the 304 of one).
  const tag = (origin === 'file' || origin === 'decoded') && (status < 300 || status === 304) ? representationTag(extra) : '';
  if (tag !== '') {
    const at = out.findIndex(([n]) => n.length === 4 && n.toLowerCase() === 'etag');
    const field = out[at];
    if (field !== undefined) out[at] = [field[0], withTagSuffix(field[1], tag)];
  }
  // The configured fields go in as they are (frozen, shared): nothing writes to a field of a
  // response's list (oneVary makes its own).
  out.push(...(added as HeaderList));
  return out;
}
