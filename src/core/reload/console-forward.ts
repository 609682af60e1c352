/**
 * Console forwarding, the server's side: what a page's live-reload client sends of its console
 * (`console.error/warn/info/log/debug`, uncaught errors, unhandled rejections) over the WebSocket
 * channel, turned into bounded, sanitised ConsoleEntry values for the sinks (Output channel,
 * Requests view, CLI).
 *
 * The page sends (a JSON text frame, at most MAX_WEBSOCKET_MESSAGE_BYTES like every frame):
 *   {"type":"console","page":"http://…/index.html","dropped":0,
 *    "entries":[{"kind":"console"|"error"|"rejection","level":"error"|"warn"|"info"|"log"|"debug",
 *                "text":"…","source":"http://…/app.js","line":12,"column":5,"stack":"…"}]}
 * Everything in it is the page's word (any script of the page can send it): each string is cut to
 * its cap and escaped (escapeLinesForDisplay), numbers are checked, unknown kinds and levels are
 * dropped, entries the mode does not forward are ignored (a page that still runs an older mode),
 * and each client address (all its pages and connections together: a script that reconnects for
 * every message gains nothing) may pass at most MAX_CONSOLE_ENTRIES_PER_SECOND entries a second,
 * the server MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL; the rest are counted (never queued) and
 * reported in one `dropped` entry per address when its second is over (ConsoleBudget).
 */
import type { ConsoleForward } from '../options';
import { countOf, escapeLinesForDisplay } from '../text/display-text';

export type ConsoleLevel = 'error' | 'warn' | 'info' | 'log' | 'debug';
/**
 * `console`: a console method call; `error`: an uncaught error (the window's `error` event);
 * `rejection`: an unhandled promise rejection; `dropped`: the server's summary of entries over
 * the rate limit (or over the page's own queue), `dropped` says how many.
 */
export type ConsoleKind = 'console' | 'error' | 'rejection' | 'dropped';

/** One console message of a page, every string already cut and escaped (display-safe). */
export interface ConsoleEntry {
  /** When the server received it (ms since the epoch). */
  readonly time: number;
  readonly clientIp: string;
  /** The client's reverse-DNS name when already known (filled in later by the sinks otherwise). */
  clientHost: string | undefined;
  /** The page's URL as the page reported it (location.href), escaped. */
  readonly page: string;
  readonly kind: ConsoleKind;
  readonly level: ConsoleLevel;
  /** The message (its arguments serialised and joined by spaces); lines separated by `\n`. */
  readonly text: string;
  /** The script the error came from (uncaught errors), escaped. */
  readonly source: string | undefined;
  /** 1-based line and column in `source` (uncaught errors), when the browser gave them. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** An Error's stack as the browser wrote it, lines separated by `\n`. */
  readonly stack: string | undefined;
  /** `dropped` entries: how many messages the server counted and did not forward (its own count). */
  readonly dropped: number | undefined;
  /**
   * `dropped` entries: how many messages the page says its own queue dropped (the `dropped` field
   * of its messages: the page's word, which any script of it may set, so never added to the
   * server's count nor said as the server's).
   */
  readonly pageSaysDropped: number | undefined;
}

/**
 * Entries one client address may forward per second, over all its connections together (a page
 * that reconnects, or a script that opens a socket per message, shares one budget); beyond, they
 * are counted and summarised (a console.log in a loop).
 */
export const MAX_CONSOLE_ENTRIES_PER_SECOND = 50;
/**
 * Entries the whole server forwards per second, all addresses together: 4 devices at their full
 * rate. Each entry may be up to 51 lines (text and stack), so this keeps a terminal or the Output
 * channel at most about 10,000 lines a second however many addresses send at once.
 */
export const MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL = 200;
/**
 * Client addresses whose console budget is tracked at once (addresses that sent within the last
 * second, or have dropped entries not yet reported). A new address beyond it has its entries
 * counted in one server-wide summary: memory and the number of summary lines (one per address per
 * second) stay bounded however many addresses (IPv6) a sender uses.
 */
export const MAX_CONSOLE_ADDRESSES = 128;
/** Entries read from one client message; the rest are counted as dropped (the client batches at most 50). */
export const MAX_CONSOLE_ENTRIES_PER_MESSAGE = 100;
/** Characters of a message's text kept (beyond: cut, and how many more said). */
export const MAX_CONSOLE_TEXT_CHARS = 2_000;
/** Lines of a message's text kept. */
export const MAX_CONSOLE_TEXT_LINES = 20;
/** Characters and lines of a stack kept (about 30 frames). */
export const MAX_CONSOLE_STACK_CHARS = 4_000;
export const MAX_CONSOLE_STACK_LINES = 30;
/** Characters of a page or source URL kept. */
export const MAX_CONSOLE_URL_CHARS = 1_000;

const LEVELS: ReadonlySet<string> = new Set<ConsoleLevel>(['error', 'warn', 'info', 'log', 'debug']);
const KINDS: ReadonlySet<string> = new Set(['console', 'error', 'rejection']);

/** True when `mode` forwards an entry of this kind and level. */
export function forwards(mode: ConsoleForward, kind: ConsoleKind, level: ConsoleLevel): boolean {
  if (mode === 'off') return false;
  if (mode === 'all' || kind === 'dropped') return true;
  return kind !== 'console' || level === 'error';
}

const oneLine = (v: unknown, max: number): string | undefined => (typeof v === 'string' ? escapeLinesForDisplay(v, max, 1).replace(/\n/g, ' ') : undefined);
const position = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

/** One address's second: entries passed, entries dropped and not yet reported, the page last named. */
interface AddressWindow {
  windowStart: number;
  passed: number;
  dropped: number;
  /** What the page's messages said their own queue dropped (its word), not yet reported. */
  pageSaysDropped: number;
  page: string;
  timer: NodeJS.Timeout | undefined;
}

/** The address under which entries of addresses beyond MAX_CONSOLE_ADDRESSES are summarised. */
const OVERFLOW = '';

/**
 * The console budget of one server, shared by every page's channel: at most
 * MAX_CONSOLE_ENTRIES_PER_SECOND entries a second per client address (across all its
 * connections: closing and reopening the socket does not renew it) and
 * MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL for all addresses together. Entries over budget are counted
 * and reported once per address when its second is over (one `dropped` entry, "N console messages
 * dropped", naming the page last seen from it); nothing is queued. The clock is injectable for
 * tests; timers are unref'ed.
 */
export class ConsoleBudget {
  private readonly windows = new Map<string, AddressWindow>();
  private totalStart = Number.NEGATIVE_INFINITY;
  private totalPassed = 0;

  constructor(
    private readonly emit: (entry: ConsoleEntry) => void,
    private readonly hostFor: (ip: string) => string | undefined = () => undefined,
    readonly now: () => number = Date.now,
    private readonly perAddress = MAX_CONSOLE_ENTRIES_PER_SECOND,
    private readonly total = MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL,
    private readonly maxAddresses = MAX_CONSOLE_ADDRESSES,
  ) {}

  /** Addresses tracked now (tests: stays at most MAX_CONSOLE_ADDRESSES + 1). */
  get trackedAddresses(): number {
    return this.windows.size;
  }

  /** True when one more entry from `ip` fits; counts it as dropped (reported later) otherwise. */
  admit(ip: string, page: string): boolean {
    const now = this.now();
    const w = this.window(ip, page, now);
    if (now - this.totalStart >= 1_000) {
      this.totalStart = now;
      this.totalPassed = 0;
    }
    if (this.windows.get(ip) === w && w.passed < this.perAddress && this.totalPassed < this.total) {
      w.passed++;
      this.totalPassed++;
      return true;
    }
    this.countIn(w, ip, 1, now);
    return false;
  }

  /**
   * `n` entries from `ip` that the server saw and did not offer (a message over its cap), reported
   * as dropped; `pageSays`: what the page says its own queue dropped, reported apart, as its word.
   */
  drop(ip: string, page: string, n: number, pageSays = 0): void {
    if (n <= 0 && pageSays <= 0) return;
    const now = this.now();
    const w = this.window(ip, page, now);
    // Bounded: a page may claim any number; the sum stays a safe integer.
    w.pageSaysDropped = Math.min(Number.MAX_SAFE_INTEGER, w.pageSaysDropped + Math.max(0, pageSays));
    this.countIn(w, ip, Math.max(0, n), now);
  }

  /** Reports every count still pending (the server is closing). */
  close(): void {
    for (const [ip, w] of this.windows) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.timer = undefined;
      this.summarise(ip, w);
    }
    this.windows.clear();
  }

  /** `ip`'s window, a new second started when the last one is over (its drops reported first). */
  private window(ip: string, page: string, now: number): AddressWindow {
    let key = ip;
    let w = this.windows.get(key);
    if (w === undefined) {
      if (this.windows.size >= this.maxAddresses) this.sweep(now);
      if (this.windows.size >= this.maxAddresses) key = OVERFLOW;
      w = this.windows.get(key);
      if (w === undefined) {
        w = { windowStart: now, passed: 0, dropped: 0, pageSaysDropped: 0, page, timer: undefined };
        this.windows.set(key, w);
      }
    }
    if (page !== '' && key === ip) w.page = page;
    if (now - w.windowStart >= 1_000) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.timer = undefined;
      this.summarise(key, w);
      w.windowStart = now;
      w.passed = 0;
    }
    return w;
  }

  /** Forgets addresses whose second is over and that have nothing left to report. */
  private sweep(now: number): void {
    for (const [ip, w] of this.windows) if (now - w.windowStart >= 1_000 && w.dropped === 0 && w.pageSaysDropped === 0 && w.timer === undefined) this.windows.delete(ip);
  }

  private countIn(w: AddressWindow, ip: string, n: number, now: number): void {
    w.dropped += n;
    const key = this.windows.get(ip) === w ? ip : OVERFLOW;
    if (w.timer === undefined) {
      w.timer = setTimeout(() => {
        w.timer = undefined;
        this.summarise(key, w);
        // The second is over: the address is forgotten until it sends again (a fresh second then).
        if (this.windows.get(key) === w) this.windows.delete(key);
      }, Math.max(0, w.windowStart + 1_000 - now));
      w.timer.unref();
    }
  }

  private summarise(ip: string, w: AddressWindow): void {
    const n = w.dropped;
    const claimed = w.pageSaysDropped;
    if (n === 0 && claimed === 0) return;
    w.dropped = 0;
    w.pageSaysDropped = 0;
    const why = ip === OVERFLOW ? `more than ${this.maxAddresses} addresses sending at once` : `over the limit of ${this.perAddress} a second per address, ${this.total} for all`;
    const messages = (k: number): string => countOf(k, 'console message');
    // The server's count and the page's word, each said as whose it is.
    const ours = n > 0 ? `${messages(n)} dropped (${why})` : '';
    const theirs = claimed === 0 ? '' : n > 0 ? `; the page says it dropped ${claimed} more itself (its own queue was full)` : `the page says it dropped ${messages(claimed)} itself (its own queue was full); the server dropped none`;
    this.emit({
      time: this.now(),
      clientIp: ip === OVERFLOW ? '-' : ip,
      clientHost: ip === OVERFLOW ? undefined : this.hostFor(ip),
      page: ip === OVERFLOW ? '' : w.page,
      kind: 'dropped',
      level: 'warn',
      text: ours + theirs,
      source: undefined,
      line: undefined,
      column: undefined,
      stack: undefined,
      dropped: n > 0 ? n : undefined,
      pageSaysDropped: claimed > 0 ? claimed : undefined,
    });
  }
}

/**
 * One page's console over its channel: `receive` takes each message the page sends and calls
 * `emit` with the entries that pass (mode, caps, and the server's ConsoleBudget for the page's
 * client address); entries over budget are counted there and summarised per address.
 */
export class PageConsole {
  private page = '';

  constructor(
    private readonly clientIp: string,
    private readonly mode: () => ConsoleForward,
    private readonly emit: (entry: ConsoleEntry) => void,
    private readonly budget: ConsoleBudget,
    private readonly hostFor: (ip: string) => string | undefined = () => undefined,
  ) {}

  /** A `{"type":"console",…}` message from the page (already parsed JSON, still untrusted). */
  receive(message: { readonly [key: string]: unknown }): void {
    const mode = this.mode();
    if (mode === 'off') return;
    const page = oneLine(message.page, MAX_CONSOLE_URL_CHARS);
    if (page !== undefined) this.page = page;
    const entries = Array.isArray(message.entries) ? (message.entries as unknown[]) : [];
    for (const raw of entries.slice(0, MAX_CONSOLE_ENTRIES_PER_MESSAGE)) {
      if (typeof raw !== 'object' || raw === null) continue;
      const e = raw as { [key: string]: unknown };
      const kind = typeof e.kind === 'string' && KINDS.has(e.kind) ? (e.kind as ConsoleKind) : undefined;
      const level = typeof e.level === 'string' && LEVELS.has(e.level) ? (e.level as ConsoleLevel) : undefined;
      if (kind === undefined || level === undefined || !forwards(mode, kind, level)) continue;
      if (!this.budget.admit(this.clientIp, this.page)) continue;
      this.emit({
        time: this.budget.now(),
        clientIp: this.clientIp,
        clientHost: this.hostFor(this.clientIp),
        page: this.page,
        kind,
        level,
        text: escapeLinesForDisplay(typeof e.text === 'string' ? e.text : '', MAX_CONSOLE_TEXT_CHARS, MAX_CONSOLE_TEXT_LINES),
        source: oneLine(e.source, MAX_CONSOLE_URL_CHARS),
        line: position(e.line),
        column: position(e.column),
        stack: typeof e.stack === 'string' && e.stack !== '' ? escapeLinesForDisplay(e.stack, MAX_CONSOLE_STACK_CHARS, MAX_CONSOLE_STACK_LINES) : undefined,
        dropped: undefined,
        pageSaysDropped: undefined,
      });
    }
    // What this message held beyond its cap (the server's count) and what the page says it could
    // not queue (its word, kept apart): in this second's summary.
    this.budget.drop(this.clientIp, this.page, Math.max(0, entries.length - MAX_CONSOLE_ENTRIES_PER_MESSAGE), position(message.dropped) ?? 0);
  }
}
/** `console.error`, `uncaught error`, `unhandled rejection`, or `console` for a dropped summary. */
export function consoleLabel(entry: ConsoleEntry): string {
  switch (entry.kind) {
    case 'console':
      return `console.${entry.level}`;
    case 'error':
      return 'uncaught error';
    case 'rejection':
      return 'unhandled rejection';
    case 'dropped':
      return 'console';
  }
}

/** ` (http://…/app.js:12:5)`, or '' when the entry names no source. */
export function consoleWhere(entry: ConsoleEntry): string {
  if (entry.source === undefined || entry.source === '') return '';
  const at = entry.line === undefined ? '' : entry.column === undefined ? `:${entry.line}` : `:${entry.line}:${entry.column}`;
  return ` (${entry.source}${at})`;
}

/**
 * An entry as text lines for a terminal or the Output channel: the first line
 * `<label> <ip> (<host>) <page>: <first line of the text> (<source>:<line>:<column>)`, then the rest
 * of the text and the stack, each line indented by four spaces (so none passes for a line of its
 * own). Every part was escaped when the entry was made (PageConsole).
 */
export function formatConsoleLines(entry: ConsoleEntry): string[] {
  const client = entry.clientHost !== undefined && entry.clientHost !== entry.clientIp ? `${entry.clientIp} (${escapeLinesForDisplay(entry.clientHost, 300, 1)})` : entry.clientIp;
  const [first = '', ...rest] = entry.text.split('\n');
  const lines = [`${consoleLabel(entry)} ${client}${entry.page === '' ? '' : ` ${entry.page}`}: ${first}${consoleWhere(entry)}`];
  for (const line of rest) lines.push(`    ${line}`);
  if (entry.stack !== undefined) for (const line of entry.stack.split('\n')) lines.push(`    ${line.trim()}`);
  return lines;
}
