/**
 * The Requests view's data model on the host side: the last `capacity` entries of every server —
 * requests and pages' console messages (porthole.console.forward), in arrival order — with a count
 * of the dropped ones. The view gets a snapshot when it opens and then only the appended rows.
 * Pure; O(1) per add, drop and lookup (keys are consecutive).
 */
import type { ConsoleEntry, RequestRecord } from '../../core';
import { consoleLabel, consoleWhere, escapeForDisplay, methodForDisplay, namedPathForDisplay, targetForDisplay } from '../../core';
import { formatBytes, formatDuration, formatTime, sanitizeOneLine, statusClassOf } from '../output/node-format';
import type { HostToView, RequestDetails, RequestRow, ViewToHost } from './webview-protocol';

/**
 * The most memory the kept entries may take, in bytes (estimated by entrySize): 64 MiB. The entry
 * cap (`porthole.requests.maxEntries`, up to 100,000) counts entries, but one entry's size is the
 * client's choice: a request head may be 16 KiB (MAX_HEAD_BYTES), so 100,000 hostile requests from
 * a device on the network would have held 1.6 GB in the extension host (10,000, the default:
 * 160 MB). Ordinary browser requests take 1–3 KB each, so the budget keeps at least 20,000 of them
 * and only a flood of oversized ones is cut short; the oldest entries go first, counted in `dropped`.
 */
export const REQUEST_STORE_MAX_BYTES = 64 * 1024 * 1024;

/** Bookkeeping per entry and per header field (objects, arrays, numbers), in bytes. */
const ENTRY_OVERHEAD_BYTES = 512;
const FIELD_OVERHEAD_BYTES = 64;

/** UTF-16 code units of `text` as bytes (2 each: the worst case of a JS string). */
const textBytes = (text: string | undefined): number => (text === undefined ? 0 : 2 * text.length);

/**
 * An estimate of the memory one stored entry holds, in bytes: its strings at 2 bytes per UTF-16
 * code unit, plus a fixed overhead for the entry and each header field. A reverse-DNS name added
 * later (at most 253 characters) is counted in the overhead.
 */
export function entrySize(item: StoredRequest): number {
  if (item.console !== undefined) {
    const e = item.console;
    return ENTRY_OVERHEAD_BYTES + textBytes(item.server) + textBytes(e.clientIp) + textBytes(e.page) + textBytes(e.text) + textBytes(e.source) + textBytes(e.stack);
  }
  const r = item.record;
  let size = ENTRY_OVERHEAD_BYTES + textBytes(item.server) + textBytes(r.clientIp) + textBytes(r.serverIp) + textBytes(r.method) + textBytes(r.target);
  size += textBytes(r.protocol) + textBytes(r.note) + textBytes(r.filePath) + textBytes(r.upstream?.target) + textBytes(r.spaFallback);
  // referer and userAgent are the values of fields below: the same strings, not counted twice.
  for (const [name, value] of [...r.requestHeaders, ...r.responseHeaders]) size += FIELD_OVERHEAD_BYTES + textBytes(name) + textBytes(value);
  return size;
}

/** A request (`record`) or a page's console message (`console`), never both. */
export type StoredRequest =
  | { readonly key: number; readonly server: string; readonly record: RequestRecord; readonly console?: undefined }
  | { readonly key: number; readonly server: string; readonly record?: undefined; readonly console: ConsoleEntry };

export class RequestStore {
  private items: StoredRequest[] = [];
  /** entrySize of each item in `items` (same indices). */
  private sizes: number[] = [];
  /** Index of the oldest retained item in `items` (compacted lazily). */
  private head = 0;
  /** Sum of the retained items' sizes. */
  private bytesKept = 0;
  private nextKey = 1;
  private droppedCount = 0;
  private pausedFlag = false;

  /**
   * @param cap entries kept at most (the newest; `porthole.requests.maxEntries`).
   * @param maxBytes estimated bytes kept at most (entrySize; REQUEST_STORE_MAX_BYTES): the oldest
   *   entries are dropped beyond either limit, though the newest entry is always kept.
   */
  constructor(
    private cap: number,
    private readonly maxBytes = REQUEST_STORE_MAX_BYTES,
  ) {}

  get capacity(): number {
    return this.cap;
  }
  get size(): number {
    return this.items.length - this.head;
  }
  /** Estimated bytes the retained entries hold (entrySize), at most `maxBytes`. */
  get bytes(): number {
    return this.bytesKept;
  }
  /** The key of the oldest retained entry; the next key to be given when none is kept. */
  get oldestKey(): number {
    return this.items[this.head]?.key ?? this.nextKey;
  }
  get dropped(): number {
    return this.droppedCount;
  }
  get paused(): boolean {
    return this.pausedFlag;
  }

  setPaused(paused: boolean): void {
    this.pausedFlag = paused;
  }

  /** Changes the capacity, dropping the oldest entries when it shrinks. */
  setCapacity(capacity: number): void {
    this.cap = Math.max(1, Math.floor(capacity));
    this.trim();
  }

  /** Adds records (ignored while paused); returns the rows added (for the view's append). */
  add(server: string, records: readonly RequestRecord[]): StoredRequest[] {
    return this.push(records.map((record) => ({ key: 0, server, record })));
  }

  /** Adds pages' console entries (ignored while paused), like add. */
  addConsole(server: string, entries: readonly ConsoleEntry[]): StoredRequest[] {
    return this.push(entries.map((entry) => ({ key: 0, server, console: entry })));
  }

  private push(items: readonly StoredRequest[]): StoredRequest[] {
    if (this.pausedFlag || items.length === 0) return [];
    const added: StoredRequest[] = [];
    for (const unkeyed of items) {
      const item = { ...unkeyed, key: this.nextKey++ };
      const size = entrySize(item);
      this.items.push(item);
      this.sizes.push(size);
      this.bytesKept += size;
      added.push(item);
    }
    this.trim();
    // Rows already dropped again (a batch larger than the capacity) are not worth sending.
    const oldest = this.items[this.head]?.key ?? this.nextKey;
    return added.filter((a) => a.key >= oldest);
  }

  /** The retained entries, oldest first. */
  all(): StoredRequest[] {
    return this.items.slice(this.head);
  }

  /**
   * The retained entry `key`, or undefined when it was dropped, cleared or never existed. A key
   * below the oldest retained one is refused before indexing: the slots before `head` still hold
   * dropped entries until the store compacts.
   */
  get(key: number): StoredRequest | undefined {
    const first = this.items[this.head];
    if (!first || key < first.key) return undefined;
    const item = this.items[this.head + (key - first.key)];
    return item?.key === key ? item : undefined;
  }

  /** Records the host name for every retained request from `ip`; returns how many changed. */
  setHostname(ip: string, name: string): number {
    let changed = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      const r = item?.record ?? item?.console;
      if (r && r.clientIp === ip && r.clientHost !== name) {
        r.clientHost = name;
        changed++;
      }
    }
    return changed;
  }

  clear(): void {
    this.items = [];
    this.sizes = [];
    this.bytesKept = 0;
    this.head = 0;
    this.droppedCount = 0;
  }

  private trim(): void {
    while (this.size > 1 && (this.size > this.cap || this.bytesKept > this.maxBytes)) {
      this.bytesKept -= this.sizes[this.head] ?? 0;
      this.head++;
      this.droppedCount++;
    }
    // Compact once the dead prefix is as large as the live part: amortised O(1).
    if (this.head > 0 && this.head >= this.size) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}

const shown = (text: string | undefined, max: number): string | undefined => (text === undefined ? undefined : sanitizeOneLine(text, max));

/**
 * The view's row for a stored request (display text formatted here, once). Every field a client
 * controls (host name, method, target, note) is escaped by escapeForDisplay: the view inserts
 * text with textContent, but a bidi override would still reorder what it shows. And cut as the
 * Output channel's line cuts it (sanitizeOneLine): an 8 KiB target of control bytes escapes to
 * 32 KiB, and a snapshot of the thousands of rows the byte budget keeps was a 160 MB message that
 * held the extension host for seconds each time the view loaded. Details keep every value whole.
 */
export function toRow(item: StoredRequest): RequestRow {
  if (item.console !== undefined) return toConsoleRow(item.key, item.server, item.console);
  const r = item.record;
  return {
    key: item.key,
    server: escapeForDisplay(item.server),
    clientIp: r.clientIp,
    clientHost: shown(r.clientHost, 300),
    timeText: formatTime(r.time),
    method: sanitizeOneLine(methodForDisplay(r.method), 40),
    target: sanitizeOneLine(targetForDisplay(r.target)),
    status: r.status,
    statusClass: statusClassOf(r.status),
    bytesText: formatBytes(r.bytes),
    durationText: formatDuration(r.durationMs),
    aborted: r.aborted,
    hasFile: r.filePath !== undefined,
    // The SPA fallback first: the row's path names no file, and this says what answered it.
    note: shown(r.spaFallback === undefined ? r.note : `SPA fallback ${namedPathForDisplay(r.spaFallback)}${r.note ? `; ${r.note}` : ''}`, 300),
  };
}

/**
 * The view's row for a page's console message: shown under its client like a request, with the
 * label (`console.error`, `uncaught error`…) as the method and the message's first line as the
 * target. The entry's strings were escaped by the core (PageConsole); the host name is escaped here.
 */
function toConsoleRow(key: number, server: string, e: ConsoleEntry): RequestRow {
  return {
    key,
    server: escapeForDisplay(server),
    clientIp: e.clientIp,
    clientHost: shown(e.clientHost, 300),
    timeText: formatTime(e.time),
    method: consoleLabel(e),
    target: e.text.split('\n')[0] ?? '',
    status: 0,
    statusClass: 'other',
    bytesText: '',
    durationText: '',
    aborted: false,
    hasFile: false,
    note: undefined,
    console: { level: e.level, where: consoleWhere(e).trim().replace(/^\((.*)\)$/, '$1'), page: e.page },
  };
}

/** The view's message for a host name that became known (the reverse-DNS name escaped). */
export function toHostnameMessage(ip: string, name: string): HostToView {
  return { type: 'hostname', ip, name: sanitizeOneLine(name, 300) };
}

/**
 * The details shown under an expanded request: header names and values and every value escaped.
 * Header values are kept one char per byte (latin1), like the target: shown as the UTF-8 text they
 * are, or with `\xHH` for bytes that are no UTF-8 (targetForDisplay), never as `Ã©`.
 */
export function toDetails(item: StoredRequest): RequestDetails {
  const pairs = (list: ReadonlyArray<readonly [string, string]>): Array<[string, string]> =>
    list.map(([name, value]) => [escapeForDisplay(name), escapeForDisplay(value)]);
  const fields = (list: ReadonlyArray<readonly [string, string]>): Array<[string, string]> =>
    list.map(([name, value]) => [escapeForDisplay(name), escapeForDisplay(targetForDisplay(value))]);
  if (item.console !== undefined) return toConsoleDetails(item.console, item.server);
  const r = item.record;
  const timing: Array<[string, string]> = [
    ['Started', new Date(r.time).toISOString()],
    ['Duration', formatDuration(r.durationMs)],
    ['Body bytes', String(r.bytes)],
    ['Protocol', r.protocol],
    ['Client', `${r.clientIp}:${r.clientPort}${r.clientHost ? ` (${r.clientHost})` : ''}`],
    ['Server', item.server],
  ];
  if (r.aborted) timing.push(['Aborted', 'the client left or the transfer failed before the whole body was sent']);
  if (r.spaFallback !== undefined) timing.push(['SPA fallback', `${escapeForDisplay(namedPathForDisplay(r.spaFallback))}, sent in place of the missing path asked for`]);
  if (r.note) timing.push(['Note', r.note]);
  if (r.filePath) timing.push(['File', r.filePath]);
  if (r.upstream !== undefined) {
    timing.push(['Back-end', r.upstream.target]);
    timing.push(['Back-end status', r.upstream.status === 0 ? 'no answer' : String(r.upstream.status)]);
    timing.push(['Back-end time', formatDuration(r.upstream.ms)]);
  }
  return { requestHeaders: fields(r.requestHeaders), responseHeaders: fields(r.responseHeaders), timing: pairs(timing) };
}

/** A console message's details: where it came from, its whole text and its stack, line by line. */
function toConsoleDetails(e: ConsoleEntry, server: string): RequestDetails {
  const where = consoleWhere(e).trim().replace(/^\((.*)\)$/, '$1');
  const timing: Array<[string, string]> = [
    ['Received', new Date(e.time).toISOString()],
    ['Page', e.page],
    ['Client', `${e.clientIp}${e.clientHost ? ` (${escapeForDisplay(e.clientHost)})` : ''}`],
    ['Server', escapeForDisplay(server)],
  ];
  if (where !== '') timing.splice(2, 0, ['Source', where]);
  return {
    requestHeaders: [],
    responseHeaders: [],
    timing,
    message: e.text.split('\n'),
    stack: e.stack === undefined ? [] : e.stack.split('\n').map((l) => l.trim()),
  };
}

/** Narrows a message from the webview (untrusted input like any other). */
export function isViewToHost(value: unknown): value is ViewToHost {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as { type?: unknown; key?: unknown; paused?: unknown; url?: unknown; id?: unknown };
  switch (m.type) {
    case 'ready':
    case 'clear':
      return true;
    case 'openFile':
    case 'getDetails':
    case 'copyCurl':
      return typeof m.key === 'number' && Number.isSafeInteger(m.key);
    case 'setPaused':
      return typeof m.paused === 'boolean';
    case 'copyUrl':
      return typeof m.url === 'string' && m.url.length < 2048;
    case 'shareOnNetwork':
    case 'stopSharing':
      return typeof m.id === 'string' && m.id.length < 8192;
    default:
      return false;
  }
}

/**
 * The request key in `porthole.copyAsCurl`'s argument: a number, or the object VS Code passes from
 * the view's `webview/context` menu (the row's `data-vscode-context`, `{ requestKey }`). Untrusted
 * like every message from the view: anything else is undefined.
 */
export function requestKeyOf(arg: unknown): number | undefined {
  const key = typeof arg === 'object' && arg !== null ? (arg as { requestKey?: unknown }).requestKey : arg;
  return typeof key === 'number' && Number.isSafeInteger(key) ? key : undefined;
}
