/**
 * The request log: every record goes, in arrival order, to the line sinks (the log file in nginx's
 * `combined` format plus duration and host name, and the CLI's stdout) once its client's host name
 * is known or its lookup gave up (the server hands each record to its UI listeners itself, at
 * once). Lookups never delay a response: they are cached, bounded in time (HOSTNAME_WAIT_MS) and
 * run off the request path.
 * Lines are batched per tick for the line sinks; the file gets them in one write at most every
 * FILE_FLUSH_MS (or at FILE_FLUSH_BYTES), like nginx's `access_log … buffer= flush=`: a write per
 * tick meant a thread-pool round trip (and about three context switches) per request on a single
 * keep-alive connection. `close()` writes every queued line and resolves when the file has it.
 */
import type * as DnsModule from 'node:dns';
import { EventEmitter } from 'node:events';
import { BlockList, isIP } from 'node:net';
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import { lstat, open, readlink, realpath, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isLoopbackAddress } from '../access/access-policy';
import type { RequestRecord } from '../http/request-record';
import { timeoutAfterReads } from '../http/after-reads';
import { cutForDisplay, escapeForDisplay, methodForDisplay, namedPathForDisplay, targetForDisplay } from '../text/display-text';
import { danglingLinkClause, danglingLinkOnPath, describeFsProblem, nodeKind, notAFolderOnPath } from '../text/fs-problem';
import { mayAppendLogLines } from '../text/combined-log';

/** A record waits at most this long for its host name before its line is written without it. */
const HOSTNAME_WAIT_MS = 1_500;
const HOSTNAME_CACHE_MAX = 4_096;
/**
 * Log-file lines wait at most this long (ms) in memory before they are written: a line is on disk
 * a tenth of a second after its request at the latest (a crash loses at most that much), and the
 * file costs ten writes a second under load instead of one per request.
 */
export const FILE_FLUSH_MS = 100;
/** …or until this many characters are waiting (about 600 lines), whichever comes first. */
export const FILE_FLUSH_BYTES = 64 * 1024;
/** At most this many written log buffers are kept for reuse (see RequestLog.spareFileBytes): 128 KiB. */
const FILE_SPARE_BUFFERS = 2;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

let timeLocalSecond = -1;
let timeLocalText = '';

/** nginx's $time_local: `10/Oct/2000:13:55:36 -0700` (the last second's text is reused). */
export function formatTimeLocal(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== timeLocalSecond) {
    timeLocalSecond = second;
    timeLocalText = formatTimeLocalUncached(second * 1000);
  }
  return timeLocalText;
}

function formatTimeLocalUncached(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/**
 * True for a character escapeLogField rewrites: a control, `"`, `\`, or 0x7f and above. Below
 * `lowest` counts too (0x21: a space, for the unquoted host field). The one rule every log writer
 * here checks.
 */
function isLogEscaped(c: number, lowest = 0x20): boolean {
  return c < lowest || c === 0x22 || c === 0x5c || c >= 0x7f;
}

/** True when `value` holds a character escapeLogField rewrites (isLogEscaped). */
function needsLogEscape(value: string): boolean {
  // A plain loop: a regular expression with a range up to \uffff left V8's fast path for the
  // concatenated and sliced strings these fields are (a runtime call per test, in every line).
  for (let i = 0; i < value.length; i++) {
    if (isLogEscaped(value.charCodeAt(i))) return true;
  }
  return false;
}

/**
 * nginx's escaping of logged strings: `"`, `\` and non-printable bytes as \xHH (characters above
 * 0xFF as `?`). The result is printable ASCII, one byte per character.
 */
export function escapeLogField(value: string): string {
  // Most fields need nothing escaped: one scan, and the string itself (no copy built char by char).
  if (!needsLogEscape(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (isLogEscaped(c)) {
      out += c > 0xff ? '?' : `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += value[i];
    }
  }
  return out;
}

/**
 * Milliseconds as seconds with three decimals (`1234` → `1.234`), as nginx writes $request_time;
 * whole non-negative milliseconds without Number#toFixed, which is a runtime call per line.
 */
export function formatSeconds(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) return (ms / 1000).toFixed(3);
  const frac = ms % 1000;
  return `${(ms - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/**
 * The host-name field (unquoted, last on the line): escaped like the quoted fields, and spaces
 * too, since a reverse-DNS answer is whatever the owner of the client's address zone wrote.
 */
export function escapeLogHost(host: string | undefined): string {
  if (host === undefined || host === '') return '-';
  const escaped = escapeLogField(host);
  return escaped.includes(' ') ? escaped.replace(/ /g, '\\x20') : escaped;
}

/**
 * nginx's `$request` for `r`: the request line as the client sent it, never a part it did not send.
 * A parsed line is `METHOD TARGET VERSION`; a line that could not be parsed has no version
 * (`protocol` '-'), so it is logged as it came: `GET /x` (no version) stays `GET /x`, and
 * `garbage` or `GET /a b HTTP/1.1` (method '-', the whole line in `target`) stay themselves, never
 * `- garbage -` with fields the client never sent (nginx logs `"garbage"`). No line at all: `-`.
 */
function loggedRequestLine(r: RequestRecord): string {
  if (r.protocol !== '-') return `${r.method} ${r.target} ${r.protocol}`;
  return r.method === '-' ? r.target : `${r.method} ${r.target}`;
}

/**
 * One line in nginx `combined` format, then the duration in seconds (like $request_time) and the
 * client host name ('-' when unknown); for a proxied request, then the back-end's status, time in
 * seconds and origin; for an SPA fallback answer, then `spa-fallback=` and the file sent. GoAccess reads it with --log-format=COMBINED. Every field a client controls
 * (request line, referer, user agent, host name) and the back-end's origin go through escapeLogField.
 */
export function formatCombinedLine(r: RequestRecord): string {
  const request = loggedRequestLine(r);
  return (
    `${r.clientIp} - - [${formatTimeLocal(r.time)}] "${escapeLogField(request)}" ${r.status} ${r.bytes} ` +
    `"${escapeLogField(r.referer ?? '-')}" "${escapeLogField(r.userAgent ?? '-')}" ` +
    `${formatSeconds(r.durationMs)} ${escapeLogHost(r.clientHost)}` +
    // Proxied requests: the back-end's status and time (like nginx $upstream_status
    // $upstream_response_time) and which back-end; other lines end as before.
    (r.upstream === undefined ? '' : ` ${r.upstream.status || '-'} ${formatSeconds(r.upstream.ms)} ${escapeLogHost(r.upstream.target)}`) +
    // The SPA fallback (never on a proxied line: proxied routes have none): one more field, the
    // file sent in place of the request's path, as nginx's $uri after try_files.
    (r.spaFallback === undefined ? '' : ` spa-fallback=${escapeLogHost(r.spaFallback)}`)
  );
}

/**
 * Line prefixes already made as bytes: `ADDRESS - - [TIME] "`, by client address, for the second
 * `linePrefixSecond` (ms / 1000, floored); every line of a client in one second starts with the
 * same bytes, copied in at once instead of two strings char by char. Cleared each new second, and
 * at LINE_PREFIXES_MAX addresses (a second with more clients than that makes some twice).
 */
const linePrefixes = new Map<string, Buffer>();
let linePrefixSecond = -1;
const LINE_PREFIXES_MAX = 256;

/** `${clientIp} - - [${formatTimeLocal(time)}] "` as latin1 bytes (clientIp: an address, printable ASCII). */
function linePrefix(clientIp: string, time: number): Buffer {
  const second = Math.floor(time / 1000);
  if (second !== linePrefixSecond || linePrefixes.size >= LINE_PREFIXES_MAX) {
    linePrefixSecond = second;
    linePrefixes.clear();
  }
  let prefix = linePrefixes.get(clientIp);
  if (prefix === undefined) {
    prefix = Buffer.from(`${clientIp} - - [${formatTimeLocal(time)}] "`, 'latin1');
    linePrefixes.set(clientIp, prefix);
  }
  return prefix;
}

/**
 * Writes `r`'s log-file line, formatCombinedLine(r) and an LF, into `bytes` from `at`, one byte
 * per character, without building the line as a string first (its pieces joined, then flattened
 * and encoded: about half the cost of a line at 100,000 requests a second). Only for the common
 * line: a parsed request line, every client-controlled field needs no escape, no back-end part,
 * integral status and bytes, and the line fits in `bytes`; otherwise the result is -1, and the
 * caller writes formatCombinedLine(r) at `at` instead. Each field is checked as it is copied (one
 * pass, not a check and then a copy), so on -1 bytes from `at` on may hold part of a line: only
 * `bytes[at, result)` is the line, nothing before `at` is touched, and nothing past the room asked
 * for. Returns the offset just after the LF.
 */
export function writeCombinedLine(bytes: Buffer, at: number, r: RequestRecord): number {
  // A line that could not be parsed (no version) is rare: the general path writes it.
  if (r.upstream !== undefined || r.spaFallback !== undefined || r.protocol === '-' || !isPlainCount(r.status) || !isPlainCount(r.bytes)) return -1;
  const referer = r.referer ?? '-';
  const userAgent = r.userAgent ?? '-';
  const host = r.clientHost === undefined || r.clientHost === '' ? '-' : r.clientHost;
  const prefix = linePrefix(r.clientIp, r.time);
  // Whole milliseconds (every clock difference) are written digit by digit, not made a string
  // first; any other duration as formatSeconds says it.
  const ms = r.durationMs;
  const seconds = isPlainCount(ms) ? undefined : formatSeconds(ms);
  const secondsLength = seconds === undefined ? countDigits((ms - (ms % 1000)) / 1000) + 4 : seconds.length;
  // 14 fixed characters after the prefix (two spaces in the request, `" `, a space between the
  // counts, ` "`, `" "`, `" `, the space before the host, LF) and up to 16 digits per count (2^53 − 1).
  const need =
    prefix.length + r.method.length + r.target.length + r.protocol.length + referer.length + userAgent.length +
    secondsLength + host.length + 14 + 2 * 16;
  if (at + need > bytes.length) return -1;
  bytes.set(prefix, at);
  at += prefix.length;
  if ((at = writeField(bytes, at, r.method, 0x20)) < 0) return -1;
  bytes[at++] = 0x20;
  if ((at = writeField(bytes, at, r.target, 0x20)) < 0) return -1;
  bytes[at++] = 0x20;
  if ((at = writeField(bytes, at, r.protocol, 0x20)) < 0) return -1;
  bytes[at++] = 0x22;
  bytes[at++] = 0x20;
  at = writeCount(bytes, at, r.status);
  bytes[at++] = 0x20;
  at = writeCount(bytes, at, r.bytes);
  bytes[at++] = 0x20;
  bytes[at++] = 0x22;
  if ((at = writeField(bytes, at, referer, 0x20)) < 0) return -1;
  bytes[at++] = 0x22;
  bytes[at++] = 0x20;
  bytes[at++] = 0x22;
  if ((at = writeField(bytes, at, userAgent, 0x20)) < 0) return -1;
  bytes[at++] = 0x22;
  bytes[at++] = 0x20;
  at = seconds === undefined ? writeSeconds(bytes, at, ms) : writeField(bytes, at, seconds, 0x20);
  bytes[at++] = 0x20;
  // The host name is unquoted and last: a space in it is escaped too (escapeLogHost).
  if ((at = writeField(bytes, at, host, 0x21)) < 0) return -1;
  bytes[at++] = 0x0a;
  return at;
}

/**
 * Copies `text` into `bytes` at `at` when no character is isLogEscaped(c, lowest) (`lowest` 0x21
 * also refuses a space) and returns the end; -1 at the first one that is (what was copied before
 * it stays).
 */
function writeField(bytes: Buffer, at: number, text: string, lowest: number): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isLogEscaped(c, lowest)) return -1;
    bytes[at + i] = c;
  }
  return at + text.length;
}

/** A whole number from 0 to 2^53 − 1 (written digit by digit by writeCount). */
function isPlainCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** How many decimal digits `n` (isPlainCount) has. */
function countDigits(n: number): number {
  // (n - n % 10) / 10 is exact for safe integers, where Math.floor(n / 10) may round first.
  let digits = 1;
  for (let rest = n; rest >= 10; rest = (rest - (rest % 10)) / 10) digits++;
  return digits;
}

/** Writes `n` (isPlainCount) in decimal, as String(n) would; returns the end. */
function writeCount(bytes: Buffer, at: number, n: number): number {
  if (n < 10) {
    bytes[at] = 0x30 + n;
    return at + 1;
  }
  const end = at + countDigits(n);
  for (let i = end - 1; i >= at; i--) {
    const digit = n % 10;
    bytes[i] = 0x30 + digit;
    n = (n - digit) / 10;
  }
  return end;
}

/**
 * Writes `ms` (isPlainCount) as seconds with three decimals, as formatSeconds would (no string made
 * per line); returns the end.
 */
function writeSeconds(bytes: Buffer, at: number, ms: number): number {
  const frac = ms % 1000;
  at = writeCount(bytes, at, (ms - frac) / 1000);
  bytes[at] = 0x2e;
  bytes[at + 1] = 0x30 + (frac - (frac % 100)) / 100;
  bytes[at + 2] = 0x30 + ((frac % 100) - (frac % 10)) / 10;
  bytes[at + 3] = 0x30 + (frac % 10);
  return at + 4;
}

/**
 * A short human line for a terminal (the CLI's stdout): `14:03:07 127.0.0.1 (name) GET /x 200 12B
 * 3ms — note`; an aborted one `… aborted`, `… aborted — note` when the note says why (a back-end
 * that broke off). Every field a client controls (host name, method, target, the note that may quote
 * them) goes through escapeForDisplay, so no control or bidi character reaches the terminal, and
 * is cut to SHORT_LINE_FIELD_MAX characters (cutForDisplay).
 */
export function formatShortLine(r: RequestRecord): string {
  const d = new Date(r.time);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const client = r.clientHost !== undefined && r.clientHost !== r.clientIp ? `${r.clientIp} (${cutForDisplay(r.clientHost)})` : r.clientIp;
  // An aborted line keeps its note: why a transfer broke off (a back-end that cut its answer
  // short) is what tells it from a client that left.
  const note = r.note !== undefined && (r.aborted || r.status >= 400) ? ` — ${cutForDisplay(r.note)}` : '';
  const extra = `${r.aborted ? ' aborted' : ''}${note}`;
  // The back-end part (proxied requests) is inside the sanitised text too.
  const up =
    r.upstream === undefined ? (r.spaFallback === undefined ? '' : ` (SPA fallback ${cutForDisplay(namedPathForDisplay(r.spaFallback))})`) : ` (back-end ${r.upstream.status || '-'} ${r.upstream.ms}ms)`;
  return escapeForDisplay(`${time} ${client} ${cutForDisplay(methodForDisplay(r.method))} ${cutForDisplay(targetForDisplay(r.target))} ${r.status} ${r.bytes}B ${r.durationMs}ms${up}${extra}`);
}

export type LineSink = (record: RequestRecord) => void;

/** The same address, IPv6 spelt any way (`2001:db8::1`, `2001:0db8:0:0::1`). */
function sameAddress(a: string, b: string, v6: boolean): boolean {
  if (!v6) return a === b;
  const list = new BlockList();
  list.addAddress(a, 'ipv6');
  return list.check(b, 'ipv6');
}

/**
 * Cached, bounded reverse DNS, forward-confirmed (a name that does not resolve back to the address
 * is no name). Loopback is `localhost` without asking anyone.
 */
export class HostNameResolver {
  private readonly cache = new Map<string, string | null>();
  private readonly inFlight = new Map<string, Promise<string | null>>();
  /** Made at the first lookup: node:dns and its resolver (resolv.conf read) cost every start-up 1–2 ms. */
  private resolver: DnsModule.Resolver | undefined;

  /** `servers`: the DNS servers to ask (`host:port`, for tests); the system's when undefined. */
  constructor(
    private readonly enabled: boolean,
    private readonly servers?: readonly string[],
  ) {}

  /** The cached name (undefined while unknown, null when there is none). */
  peek(ip: string): string | null | undefined {
    if (!this.enabled) return null;
    if (isLoopbackAddress(ip)) return 'localhost';
    // No address (UNKNOWN_CLIENT, a connection reset before it was read): nothing to look up;
    // dns.reverse throws on what is no address.
    if (isIP(ip) === 0) return null;
    return this.cache.get(ip);
  }

  lookup(ip: string): Promise<string | null> {
    const known = this.peek(ip);
    if (known !== undefined) return Promise.resolve(known);
    let p = this.inFlight.get(ip);
    if (p === undefined) {
      p = new Promise<string | null>((resolve) => {
        if (this.resolver === undefined) {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          this.resolver = new (require('node:dns') as typeof DnsModule).Resolver({ timeout: 1_000, tries: 1 });
          if (this.servers !== undefined) this.resolver.setServers(this.servers);
        }
        const resolver = this.resolver;
        resolver.reverse(ip, (err, names) => {
          // A PTR record says what the owner of the address's zone wrote (`localhost`, another
          // address, a bank's name): the name is kept only when it is no address and resolves back
          // to this one (forward-confirmed, as Apache's HostnameLookups Double).
          const name = err ? undefined : names[0];
          if (name === undefined || name === '' || isIP(name) !== 0) return resolve(null);
          // An IPv4 client on a dual-stack socket is ::ffff:a.b.c.d: its name has an A record.
          const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)?.[1];
          const v6 = mapped === undefined && isIP(ip) === 6;
          const want = mapped ?? ip;
          const confirm = (e: Error | null, addresses: string[]): void => resolve(!e && addresses.some((a) => sameAddress(a, want, v6)) ? name : null);
          if (v6) resolver.resolve6(name, confirm);
          else resolver.resolve4(name, confirm);
        });
      }).then((name) => {
        this.inFlight.delete(ip);
        if (this.cache.size >= HOSTNAME_CACHE_MAX) {
          const oldest = this.cache.keys().next().value;
          if (oldest !== undefined) this.cache.delete(oldest);
        }
        this.cache.set(ip, name);
        return name;
      });
      this.inFlight.set(ip, p);
    }
    return p;
  }

  close(): void {
    this.resolver?.cancel();
  }
}

interface Queued {
  readonly record: RequestRecord;
  ready: boolean;
}

export interface RequestLogEvents {
  hostname: [ip: string, name: string];
  /**
   * The log file cannot be written, or is written again after that, or lost lines: plain words.
   * Each is a warning, so that whoever saw the failure (the CLI's stderr) also sees its end.
   */
  problem: [message: string];
  /**
   * The log file was made again at its path after a removal (or a file renamed over it), and the
   * lines go on there: its identity (bigint Stats of the new descriptor). Whoever knows the log by
   * identity (the loopback-only guard, live reload's "is it the log?") must follow it: the removed
   * file's inode number is freed when it is closed and given to the next file made (ext4), a page.
   */
  file: [stats: BigIntStats];
}

/**
 * While the log file cannot be written (a full disk, a file system gone read-only), its lines wait
 * in memory up to this many bytes (about 50,000 lines) and are written once it can be; lines
 * beyond are dropped and counted.
 */
export const FILE_HELD_MAX_BYTES = 8 * 1024 * 1024;
/**
 * Buffers one write of the log file takes at most (one writev(2); Linux's IOV_MAX is 1024): each
 * write takes every line waiting, so the file keeps up with any rate of requests the disk can take.
 */
export const FILE_WRITE_MAX_CHUNKS = 1024;
/** While the log file cannot be written, a write is tried again this often (ms). */
export const FILE_RETRY_MS = 1_000;
/**
 * Before a write, whether the log file was removed (its link count 0) is checked at most this often
 * (ms): one fstat per tenth of a second, however many writes.
 */
export const FILE_REMOVED_CHECK_MS = 100;

/** What a failed write's code means, in a few words. */
function describeWriteFailure(err: NodeJS.ErrnoException): string {
  if (err instanceof LogRemovedError) return err.message;
  switch (err.code) {
    case 'ENOSPC':
      return 'ENOSPC: the disk is full';
    case 'EDQUOT':
      return 'EDQUOT: the disk quota is used up';
    case 'EROFS':
      return 'EROFS: the file system is read-only';
    case 'EFBIG':
      return 'EFBIG: the file is as large as it may be';
    case 'EIO':
      return 'EIO: the disk failed';
    default:
      return err.code ?? err.message;
  }
}

/** The log file was removed and cannot be made again at its path; `message` says why. */
class LogRemovedError extends Error {
  readonly code = 'ENOENT';
  constructor(why: string) {
    super(`it was removed and cannot be made again: ${why}`);
  }
}

/** The number of LF bytes in `bytes` (log lines, each ending in one). */
function countLines(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) n++;
  return n;
}

/**
 * The open log file, appended to in order, one write at a time. A write that fails (ENOSPC, EROFS,
 * EIO…) loses nothing: what it did not write waits, with the lines after it (up to
 * FILE_HELD_MAX_BYTES), and is tried again every FILE_RETRY_MS; the first failure and the recovery
 * are reported once each. A partial write goes on from the byte where it stopped, so every line
 * ends up whole. (A WriteStream stops for good at its first error, and the lines after it were
 * dropped without a word, also once the disk had room again.)
 *
 * A log file removed while it is written (`rm access.log`, a clean-up script, logrotate's
 * `missingok` rotation that deletes) is made again at its path before the next write (checked at
 * most every FILE_REMOVED_CHECK_MS), and said once: the lines went on into the removed file, which
 * no one can open, until the disk filled. One that cannot be made again (its folder removed too)
 * is a failed write: its lines wait, and each retry makes the file first. A file renamed is still
 * linked: written on under its new name, as nginx does.
 */
class LogFileWriter {
  private readonly queue: Buffer[] = [];
  private held = 0;
  private writing = false;
  private failure: NodeJS.ErrnoException | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Lines dropped while failing (beyond FILE_HELD_MAX_BYTES). */
  private dropped = 0;
  private closing = false;
  private idle: (() => void) | undefined;
  /** When the link count was last checked (ms, Date.now()). */
  private removedCheckedAt = 0;
  /**
   * The file was removed and could not be made again (its folder removed too, another file put
   * there): said once; its lines wait in memory as for a failed write, and each try (every
   * FILE_RETRY_MS) makes it again first.
   */
  private removedUnmade = false;

  /**
   * @param handle the log file, open for appending.
   * @param path its absolute path (messages, and where a removed file is made again).
   * @param report a warning in plain words (see RequestLogEvents.problem).
   * @param reopen opens `path` again as the first open did (openRequestLog); rejects with an Error in words.
   * @param reopened told the new file's identity once `path` was made again (RequestLogEvents.file),
   *   before the removed file's descriptor is closed.
   * @param written handed each buffer given to `write` once every byte of it is in the file (the
   *   file no longer refers to it: its memory may be written again).
   */
  constructor(
    private handle: FileHandle,
    private readonly path: string,
    private readonly report: (message: string) => void,
    private readonly reopen: () => Promise<FileHandle>,
    private readonly reopened: (stats: BigIntStats) => void,
    private readonly written: (bytes: Buffer) => void,
  ) {}

  /** Queues `bytes` (whole lines) after everything queued; the caller must not touch them until `written` hands them back. */
  write(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.failure !== undefined && this.held + bytes.length > FILE_HELD_MAX_BYTES) {
      this.dropped += countLines(bytes);
      return;
    }
    this.queue.push(bytes);
    this.held += bytes.length;
    if (!this.writing && this.retryTimer === undefined) void this.pump();
  }

  /**
   * Writes what waits, in order, until nothing does. Each write takes everything queued when it
   * starts (up to FILE_WRITE_MAX_CHUNKS buffers in one writev): a write completes at most once
   * per event-loop turn, and one chunk per write let a pipelining client that made more than 64 KiB
   * of lines per turn grow the queue without bound (a flood of 4.4 million requests: 194 MB of lines
   * waiting, the server's RSS 97 → 303 MB, on a disk that was idle).
   */
  private async pump(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const chunks = this.queue.length <= FILE_WRITE_MAX_CHUNKS ? this.queue.slice() : this.queue.slice(0, FILE_WRITE_MAX_CHUNKS);
      let written: number;
      try {
        await this.reopenIfRemoved();
        const first = chunks[0]!;
        written =
          chunks.length === 1
            ? (await this.handle.write(first, 0, first.length, null)).bytesWritten
            : (await this.handle.writev(chunks)).bytesWritten;
        // Nothing written and no error: no room, as ENOSPC.
        if (written <= 0) throw Object.assign(new Error('no byte was written'), { code: 'ENOSPC' });
      } catch (err) {
        this.writing = false;
        this.failed(err as NodeJS.ErrnoException);
        return;
      }
      this.held -= written;
      // Drop what was written from the front; a partial write goes on from the byte where it stopped.
      let left = written;
      while (left > 0) {
        const head = this.queue[0]!;
        if (head.length <= left) {
          left -= head.length;
          this.queue.shift();
          this.written(head);
        } else {
          this.queue[0] = head.subarray(left);
          left = 0;
        }
      }
      if (this.failure !== undefined) this.recovered();
    }
    this.writing = false;
    this.idle?.();
  }

  /**
   * When the open file has no name left (removed: link count 0), opens `path` anew (a new file,
   * 0600) and writes on there; said once. When it cannot be made (its folder removed too, another
   * file put there), said once, and rejects with a LogRemovedError: the lines wait in memory as
   * for a failed write (up to FILE_HELD_MAX_BYTES) and go to the file once it can be made again.
   * (They went on into the removed file, which no one can open: every line lost until the server
   * stopped, where a full disk loses none.)
   */
  private async reopenIfRemoved(): Promise<void> {
    if (!this.removedUnmade) {
      const now = Date.now();
      if (now - this.removedCheckedAt < FILE_REMOVED_CHECK_MS) return;
      this.removedCheckedAt = now;
      const links = await this.handle.stat().then(
        (st) => st.nlink,
        () => 1,
      );
      if (links > 0) return;
    }
    let fresh: FileHandle;
    try {
      fresh = await this.reopen();
    } catch (err) {
      // Something else put at its path (a FIFO, a folder's link, a page): "name another" is start-time
      // advice; running, the way back is to remove it (helper-117).
      const why =
        err instanceof LogPlaceRefused
          ? err.byRule
            ? `it ${err.problem.what}; put back a folder and file of the served folder's own there, and the log is made there again`
            : `something else is there now: it ${err.problem.what}; remove it, and the log is made there again`
          : err instanceof Error
            ? err.message.replace(`cannot write the log file ${this.path}: `, '')
            : describeFsProblem(err);
      if (!this.removedUnmade) {
        this.removedUnmade = true;
        this.report(
          `the log file ${this.path} was removed and cannot be made again (${why}): its lines wait in memory (up to ${FILE_HELD_MAX_BYTES / 1024 / 1024} MiB) and are written there once it can be made; the server keeps serving`,
        );
      }
      throw new LogRemovedError(why);
    }
    const old = this.handle;
    this.handle = fresh;
    const wasUnmade = this.removedUnmade;
    this.removedUnmade = false;
    // Told before the old descriptor is closed: until then its inode number cannot go to another file.
    const stats = await fresh.stat({ bigint: true }).catch(() => undefined);
    if (stats !== undefined) this.reopened(stats);
    await old.close().catch(() => undefined);
    this.report(
      wasUnmade
        ? `the log file ${this.path} is made again, and the lines go on there`
        : `the log file ${this.path} was removed while the server wrote it: it is made again, and the lines go on there`,
    );
  }

  private failed(err: NodeJS.ErrnoException): void {
    // A removed file that cannot be made again was said by reopenIfRemoved.
    if (this.failure === undefined && !(err instanceof LogRemovedError)) {
      this.report(
        `the log file ${this.path} cannot be written (${describeWriteFailure(err)}): its lines wait in memory (up to ${FILE_HELD_MAX_BYTES / 1024 / 1024} MiB) and are written once it can be; the server keeps serving`,
      );
    }
    this.failure = err;
    if (this.closing) {
      this.idle?.();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.pump();
    }, FILE_RETRY_MS);
    this.retryTimer.unref();
  }

  private recovered(): void {
    const lost = this.dropped;
    this.failure = undefined;
    this.dropped = 0;
    this.report(
      `the log file ${this.path} is written again${lost > 0 ? `; ${lost} line${lost === 1 ? ' was' : 's were'} lost while it could not be (more than ${FILE_HELD_MAX_BYTES / 1024 / 1024} MiB waited)` : ': no line was lost'}`,
    );
  }

  /**
   * Writes what waits (once more at once when writes were failing) and closes the file; what
   * still cannot be written then is lost, and said so.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    if (this.queue.length > 0) {
      const done = new Promise<void>((resolve) => (this.idle = resolve));
      if (!this.writing) void this.pump();
      await done;
    }
    const lost = this.dropped + this.queue.reduce((n, b) => n + countLines(b), 0);
    if (this.failure !== undefined && (lost > 0 || this.queue.length > 0)) {
      this.report(
        `the log file ${this.path} could not be written (${describeWriteFailure(this.failure)}): ${lost} line${lost === 1 ? ' was' : 's were'} lost${this.queue.length > 0 ? ' (the last one may be cut short)' : ''}`,
      );
    }
    this.queue.length = 0;
    await this.handle.close().catch(() => undefined);
  }
}

/**
 * 'a+' and 'a', and never waiting at the open nor taking a terminal: a named pipe or a device is
 * looked at (fstat) and refused, not waited on (O_NONBLOCK, which a regular file ignores).
 */
const NO_WAIT = (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const APPEND_READ = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | NO_WAIT;
const APPEND_ONLY = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NO_WAIT;

/**
 * Opens `path` for appending (made 0600 when new; read too where it may be, so its first line can
 * be checked); `noFollow`: not through a symbolic link at `path` itself (O_NOFOLLOW: ELOOP). Rejects
 * with an Error in plain words: the folder missing, a folder at the path, no permission.
 */
async function openForAppending(path: string, noFollow: boolean): Promise<FileHandle> {
  const last = noFollow ? (constants.O_NOFOLLOW ?? 0) : 0;
  try {
    return await open(path, APPEND_READ | last, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A log this user may write but not read (a write-only log file): appended to unchecked.
    if (code === 'EACCES') {
      const writeOnly = await open(path, APPEND_ONLY | last, 0o600).catch(() => undefined);
      if (writeOnly !== undefined) return writeOnly;
    }
    const folder = dirname(path);
    const why =
      code === 'ENOENT'
        ? await whyNotMade(path, folder)
        : code === 'ENOTDIR'
          ? `${notAFolderOnPath(folder) ?? `a part of ${folder} is a file, not a folder`}; name a file in a folder that exists`
          : code === 'EISDIR'
            ? 'it is a folder; name a file in it (e.g. access.log)'
            : code === 'EACCES' || code === 'EPERM'
              ? `no permission to write it or to make it in ${folder}; choose a place the user running Porthole may write to`
              : describeFsProblem(err);
    throw new Error(`cannot write the log file ${path}: ${why}`);
  }
}

/**
 * Why the open file `handle` may not be appended to, or undefined: empty, a request log already
 * (its first bytes a Combined Log Format line), or not readable (opened write-only).
 */
async function notARequestLog(handle: FileHandle): Promise<PlaceProblem | undefined> {
  const head = Buffer.alloc(512);
  let read: number;
  try {
    read = (await handle.read(head, 0, head.length, 0)).bytesRead;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EBADF') return undefined; // opened write-only
    // A pipe, a FIFO or a terminal (`--log /dev/stdout` with stdout piped): no first line to check, no place to keep lines.
    if (code === 'ESPIPE') return { what: 'is a pipe or a terminal, not a file (ESPIPE)', todo: 'the log is a regular file; name one (the request lines already go to stdout unless --quiet)' };
    throw err;
  }
  if (mayAppendLogLines(head.subarray(0, read).toString('latin1'))) return undefined;
  return { what: 'is a file that is not a request log (its first line is not in Combined Log Format)', todo: 'log lines are never appended to it; name a new file, or an existing request log' };
}

/** What is wrong with the file at a log's path (`what`, after "it"), and what to do at start (`todo`). */
interface PlaceProblem {
  readonly what: string;
  readonly todo: string;
}

/**
 * A rule the log's place keeps at every open: the first, and each that makes the file again after
 * a removal (reopenIfRemoved). Called with the log's absolute path; returns why it may not be
 * written there now (after "it": "leads outside the served folder …"), or undefined. `todo`: what
 * to do at start. With a rule, `path` itself is never followed as a symbolic link (O_NOFOLLOW),
 * and the rule is asked again once the file is open (a folder on the path swapped for a link
 * between the two). A porthole.config.json's logFile has one: it writes only inside its folder.
 */
export interface LogPlaceRule {
  (path: string): string | undefined;
  /**
   * Why the file opened may not be written (after "it"), or undefined: `realPath`, where the
   * kernel opened it (its descriptor's path: a link swapped in for a folder between the look and
   * the open shows here, where a second look at the path may see the folder back), and `links`,
   * its number of names (a hard link's other name may lie anywhere).
   */
  readonly opened: (realPath: string, links: number) => string | undefined;
  readonly todo: string;
}

/**
 * The rule's verdict on the open `handle` of `path` as a PlaceProblem, or undefined (no rule, or
 * it holds): the path looked at again, then the file the descriptor names (its real path as the
 * kernel keeps it, /proc/self/fd on Linux; elsewhere the path's real path, looked up again) and
 * its link count.
 */
async function placeBroken(path: string, handle: FileHandle, rule: LogPlaceRule | undefined): Promise<PlaceProblem | undefined> {
  if (rule === undefined) return undefined;
  const why =
    rule(path) ??
    rule.opened(
      await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(path).catch(() => path)),
      await handle.stat().then(
        (st) => st.nlink,
        () => 1,
      ),
    );
  return why === undefined ? undefined : { what: why, todo: rule.todo };
}

/**
 * The file at a log's path may not be written (PlaceProblem). Said at start with what to do then
 * (name another); while running, when the log was removed and something else is there now, the
 * server says to remove that instead (reopenIfRemoved), for no path can be named then.
 */
class LogPlaceRefused extends Error {
  /** `byRule`: the place rule (LogPlaceRule) refused it, not the file found there. */
  constructor(
    path: string,
    readonly problem: PlaceProblem,
    readonly byRule = false,
  ) {
    super(`cannot write the log file ${path}: it ${problem.what}: ${problem.todo}`);
  }
}

/**
 * Why the open `handle` is no place for a log, or undefined when it is a regular file. One rule for
 * --log, porthole.log.file and the config file's logFile (each reaches the server's openFile): the
 * log is a regular file. A device is refused by name, /dev/null too: it read as an empty file, so
 * it was taken as a new log and every line went nowhere (a user who wants no log file names none:
 * the CLI says so for --log /dev/null),
 * and /dev/full read as zeros, so it was called "a file that is not a request log".
 */
async function notARegularFile(handle: FileHandle): Promise<PlaceProblem | undefined> {
  const st = await handle.stat();
  if (st.isFile()) return undefined;
  return { what: `is ${nodeKind(st)}, not a regular file`, todo: 'the request log is a regular file; name one (e.g. access.log in a folder that exists)' };
}

/**
 * Why opening `path` (in `folder`) for appending failed with ENOENT, after "cannot write the log
 * file PATH: ". Most often the folder is missing; but ENOENT also comes when the folder exists:
 * `path` is a symbolic link whose target's folder is gone (`access.log -> /old/logs/access.log`),
 * or the folder's file system makes no files (/proc, /sys). Saying "its folder does not exist"
 * there sent the user to create a folder that was already there. Never rejects.
 */
async function whyNotMade(path: string, folder: string): Promise<string> {
  const link = await lstat(path).then(
    async (s) => (s.isSymbolicLink() ? resolve(folder, await readlink(path)) : undefined),
    () => undefined,
  );
  if (link !== undefined) {
    return `it is a symbolic link to ${link}, which cannot be made (its folder ${dirname(link)} does not exist); create that folder, or remove the link`;
  }
  const isFolder = await stat(folder).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isFolder) return `no file can be made in ${folder} (ENOENT: its file system makes none, as /proc and /sys do); name a file in a folder on a disk`;
  // The folder, or one above it, is a link to nothing: `mkdir -p` through it fails ("File exists").
  const dangling = await danglingLinkOnPath(folder);
  if (dangling !== undefined) return dangling.link === folder ? `its folder ${danglingLinkClause(dangling)}` : `its folder ${folder} does not exist: ${danglingLinkClause(dangling)}`;
  return `its folder ${folder} does not exist; create it (mkdir -p), or name a file in a folder that exists`;
}

/**
 * `path` opened for appending (openForAppending) once it is known to be empty or a request log
 * already (notARequestLog); rejects, the file closed, with an Error saying what is wrong.
 */
async function openRequestLog(path: string, rule: LogPlaceRule | undefined): Promise<FileHandle> {
  const before = rule?.(path);
  if (before !== undefined) throw new LogPlaceRefused(path, { what: before, todo: rule?.todo ?? '' }, true);
  const handle = await openForAppending(path, rule !== undefined);
  const problem = await notARegularFile(handle)
    .then(async (kind) => kind ?? (await notARequestLog(handle)))
    .catch((err: unknown): PlaceProblem => ({ what: 'cannot be read', todo: describeFsProblem(err) }));
  // Asked again once open: a folder on the path made a link between the look and the open.
  const broken = problem === undefined ? await placeBroken(path, handle, rule) : undefined;
  if (problem === undefined && broken === undefined) return handle;
  await handle.close().catch(() => undefined);
  throw new LogPlaceRefused(path, (problem ?? broken) as PlaceProblem, broken !== undefined);
}

export class RequestLog extends EventEmitter<RequestLogEvents> {
  private readonly queue: Queued[] = [];
  private readonly sinks: LineSink[] = [];
  private file: LogFileWriter | undefined;
  private flushScheduled = false;
  /**
   * Log-file lines not written yet, as bytes: `fileBytes[0, fileLength)` (lines are printable ASCII,
   * so each is copied in with one latin1 write instead of joining strings and encoding the whole),
   * and the timer that writes them (FILE_FLUSH_MS).
   */
  private fileBytes: Buffer | undefined;
  private fileLength = 0;
  /**
   * FILE_FLUSH_BYTES buffers the file has written whole, for the next lines (at most
   * FILE_SPARE_BUFFERS): a new 64 KiB buffer for every write cost 4–6% of the requests a second
   * at 1 KiB keep-alive, 50 connections (fresh memory to fault in and warm, and its freeing left to
   * the garbage collector), against writing the lines into memory used a moment before.
   */
  private readonly spareFileBytes: Buffer[] = [];
  private fileTimer: NodeJS.Timeout | undefined;
  private readonly names: HostNameResolver;
  private closed = false;

  constructor(resolveHostNames: boolean) {
    super();
    this.names = new HostNameResolver(resolveHostNames);
  }

  /**
   * Opens the log file `path` (absolute) for appending, as nginx does: its folder must exist (none
   * is created), and an existing file must be a request log already (its first line in Combined
   * Log Format) or empty, so that a mistyped path (`--log site/index.html`) never gets log lines
   * appended to a page, a script or a config file. A new file is made 0600: it holds every
   * client's address and URLs, query tokens included, for this user only (helper-50: 0644 let
   * every local user read them), as the key files are; an existing file keeps its mode.
   * `rule`: where the file may be, asked at this open and at each that makes it again after a
   * removal (LogPlaceRule). Rejects with an Error saying what is wrong and what to do (nothing is
   * written then).
   */
  async openFile(path: string, rule?: LogPlaceRule): Promise<void> {
    const handle = await openRequestLog(path, rule);
    this.file = new LogFileWriter(
      handle,
      path,
      (message) => this.emit('problem', message),
      () => openRequestLog(path, rule),
      (stats) => this.emit('file', stats),
      (bytes) => this.reuseFileBytes(bytes),
    );
  }

  /**
   * Rejects, as `openFile` would, when the log file `path` could not be opened (its folder is
   * missing, it is a file that is not a request log, …); writes nothing into it, and a file the
   * check itself made is removed again. A running server asks this before it restarts for a new
   * log file, so a bad one is refused while it still serves; a restart that then never comes (a
   * config file's edit under `--workers`, which needs a stop and start) left an empty log behind.
   */
  static async checkFile(path: string, rule?: LogPlaceRule): Promise<void> {
    const existed = await lstat(path).then(
      () => true,
      () => false,
    );
    const handle = await openRequestLog(path, rule);
    await handle.close().catch(() => undefined);
    if (!existed) await unlink(path).catch(() => undefined);
  }

  /** The host name of `ip` when already resolved (never starts a lookup; undefined otherwise). */
  peek(ip: string): string | undefined {
    return this.names.peek(ip) ?? undefined;
  }

  addLineSink(sink: LineSink): void {
    this.sinks.push(sink);
  }

  /**
   * Takes one record: its host name set now when already known, its line written in order once the
   * name is settled (a 'hostname' event says a name found later).
   */
  add(record: RequestRecord): void {
    const known = this.names.peek(record.clientIp);
    if (known !== undefined) record.clientHost = known ?? undefined;
    const ready = known !== undefined || this.closed;
    if (ready && this.queue.length === 0) {
      // Nothing waits ahead of it: its line goes out now, in order. (A setImmediate per turn to
      // write what one request made cost 4.7 µs of a 87 µs request at one keep-alive connection.)
      this.writeRecord(record);
      this.fileLinesAdded(false);
      return;
    }
    const item: Queued = { record, ready };
    this.queue.push(item);
    if (!item.ready) {
      let settled = false;
      const settle = (name: string | null | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (typeof name === 'string') record.clientHost = name;
        item.ready = true;
        this.scheduleFlush();
      };
      // After the turn's reads (timeoutAfterReads): an answer that came in time behind a held-up
      // loop names the line.
      const timer = timeoutAfterReads(HOSTNAME_WAIT_MS, () => settle(undefined));
      timer.unref();
      void this.names.lookup(record.clientIp).then((name) => {
        if (name !== null && !settled) this.emit('hostname', record.clientIp, name);
        settle(name);
      });
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushReady(false);
    });
  }

  /** Writes the leading ready records (all of them when `force`). */
  private flushReady(force: boolean): void {
    let n = 0;
    while (n < this.queue.length && (force || this.queue[n]!.ready)) n++;
    if (n === 0) return;
    for (const q of this.queue.splice(0, n)) this.writeRecord(q.record);
    this.fileLinesAdded(force);
  }

  /** `record`'s line to the file's bytes (see fileLinesAdded) and to every line sink. */
  private writeRecord(record: RequestRecord): void {
    if (this.file !== undefined) this.appendFileRecord(record);
    for (const sink of this.sinks) sink(record);
  }

  /** After lines were added: the file gets them now when 64 KiB wait or `force`, else within FILE_FLUSH_MS. */
  private fileLinesAdded(force: boolean): void {
    if (this.file === undefined) return;
    if (this.fileLength >= FILE_FLUSH_BYTES || force) {
      this.writeFileText();
    } else if (this.fileTimer === undefined && this.fileLength > 0) {
      this.fileTimer = setTimeout(() => this.writeFileText(), FILE_FLUSH_MS);
      this.fileTimer.unref();
    }
  }

  /** Adds `record`'s line to the bytes waiting for the file: written in place when it can be. */
  private appendFileRecord(record: RequestRecord): void {
    if (this.fileBytes !== undefined) {
      const end = writeCombinedLine(this.fileBytes, this.fileLength, record);
      if (end >= 0) {
        this.fileLength = end;
        return;
      }
    }
    this.appendFileLine(formatCombinedLine(record));
  }

  /**
   * Adds `line` and its LF to the bytes waiting for the file; a line that does not fit first sends
   * what waits. `line` is printable ASCII (formatCombinedLine escapes every field), so its latin1
   * bytes are the line.
   */
  private appendFileLine(line: string): void {
    const need = line.length + 1;
    if (this.fileBytes !== undefined && this.fileLength + need > this.fileBytes.length) this.writeFileText();
    if (this.fileBytes === undefined) this.fileBytes = this.takeFileBytes(need);
    const at = this.fileLength + this.fileBytes.write(line, this.fileLength, 'latin1');
    this.fileBytes[at] = 0x0a;
    this.fileLength = at + 1;
  }

  /** A buffer for the next lines, at least `need` bytes: a spare one when it fits, else a new one of FILE_FLUSH_BYTES (or `need`). */
  private takeFileBytes(need: number): Buffer {
    const spare = need <= FILE_FLUSH_BYTES ? this.spareFileBytes.pop() : undefined;
    return spare ?? Buffer.allocUnsafe(Math.max(FILE_FLUSH_BYTES, need));
  }

  /** A buffer the file has written whole (`bytes`: a part of it): kept for the next lines when it is one of FILE_FLUSH_BYTES. */
  private reuseFileBytes(bytes: Buffer): void {
    if (bytes.buffer.byteLength !== FILE_FLUSH_BYTES || this.spareFileBytes.length >= FILE_SPARE_BUFFERS) return;
    this.spareFileBytes.push(Buffer.from(bytes.buffer, 0, FILE_FLUSH_BYTES));
  }

  /** Hands the waiting log-file bytes to the file stream (in arrival order). */
  private writeFileText(): void {
    if (this.fileTimer !== undefined) {
      clearTimeout(this.fileTimer);
      this.fileTimer = undefined;
    }
    const bytes = this.fileBytes;
    const length = this.fileLength;
    // The stream keeps the buffer until the thread pool has written it: the next lines go to a new one.
    this.fileBytes = undefined;
    this.fileLength = 0;
    if (bytes !== undefined && length > 0 && this.file !== undefined) this.file.write(bytes.subarray(0, length));
  }

  /** Writes every queued line now and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flushReady(true);
    this.writeFileText();
    this.names.close();
    const file = this.file;
    this.file = undefined;
    if (file !== undefined) await file.close();
  }
}
