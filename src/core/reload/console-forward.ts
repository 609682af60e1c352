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
 * and each page may pass at most MAX_CONSOLE_ENTRIES_PER_SECOND entries a second; the rest are
 * counted and reported in one `dropped` entry when the second is over.
 */
import type { ConsoleForward } from '../options';
import { escapeLinesForDisplay } from '../text/display-text';

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
  /** `dropped` entries: how many messages were not forwarded. */
  readonly dropped: number | undefined;
}

/** Entries one page may forward per second; beyond, they are counted and summarised (a console.log in a loop). */
export const MAX_CONSOLE_ENTRIES_PER_SECOND = 50;
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

/**
 * One page's console over its channel: `receive` takes each message the page sends and calls
 * `emit` with the entries that pass (mode, caps, rate limit); `close` reports what is still
 * counted as dropped. The clock is injectable for tests; timers are unref'ed.
 */
export class PageConsole {
  private windowStart = 0;
  private inWindow = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private page = '';

  constructor(
    private readonly clientIp: string,
    private readonly mode: () => ConsoleForward,
    private readonly emit: (entry: ConsoleEntry) => void,
    private readonly hostFor: (ip: string) => string | undefined = () => undefined,
    private readonly now: () => number = Date.now,
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
      if (!this.admit()) continue;
      this.emit({
        time: this.now(),
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
      });
    }
    // What the page could not queue and what this message held beyond its cap: in this second's summary.
    this.count((position(message.dropped) ?? 0) + Math.max(0, entries.length - MAX_CONSOLE_ENTRIES_PER_MESSAGE));
  }

  /** The page went away: what was dropped and not yet said is said now. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.summarise();
  }

  /** True when one more entry fits this second's budget; counts it as dropped otherwise. */
  private admit(): boolean {
    const now = this.now();
    if (now - this.windowStart >= 1_000) {
      this.summarise();
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow < MAX_CONSOLE_ENTRIES_PER_SECOND) {
      this.inWindow++;
      return true;
    }
    this.count(1);
    return false;
  }

  private count(n: number): void {
    if (n <= 0) return;
    this.dropped += n;
    if (this.timer === undefined) {
      const wait = Math.max(0, this.windowStart + 1_000 - this.now());
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.summarise();
      }, wait);
      this.timer.unref();
    }
  }

  private summarise(): void {
    const n = this.dropped;
    if (n === 0) return;
    this.dropped = 0;
    this.emit({
      time: this.now(),
      clientIp: this.clientIp,
      clientHost: this.hostFor(this.clientIp),
      page: this.page,
      kind: 'dropped',
      level: 'warn',
      text: `${n} console message${n === 1 ? '' : 's'} dropped (more than ${MAX_CONSOLE_ENTRIES_PER_SECOND} a second from this page)`,
      source: undefined,
      line: undefined,
      column: undefined,
      stack: undefined,
      dropped: n,
    });
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
