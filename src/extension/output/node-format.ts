/**
 * Text formatting shared by the Output channel, the status bar and the Requests view. Pure; the
 * results are display text only (never parsed back).
 */
import { cutAtCharacter, escapeForDisplay, formatConsoleLines, methodForDisplay, namedPathForDisplay, targetForDisplay, formatSize, type BoundAddress, type ConsoleEntry, type DiagnosticLevel, type RequestRecord } from '../../core';
import type { StatusClass } from '../requests/webview-protocol';

/** The Requests view and Output channel say KB/MB, as VS Code does. */
const UI_UNITS = ['KB', 'MB', 'GB', 'TB'];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Local wall-clock time with milliseconds: 14:03:07.123 */
export function formatTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** 512 B, 1.2 KB, 3.4 MB, 1.1 GB (binary units, one decimal under 10). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  return formatSize(bytes, UI_UNITS);
}

/** 0.4 ms, 3 ms, 1.25 s */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** The status class used for colour and filtering. */
export function statusClassOf(status: number): StatusClass {
  if (status >= 100 && status < 200) return '1xx';
  if (status >= 200 && status < 300) return '2xx';
  if (status >= 300 && status < 400) return '3xx';
  if (status >= 400 && status < 500) return '4xx';
  if (status >= 500 && status < 600) return '5xx';
  return 'other';
}

/** "127.0.0.1" or "127.0.0.1 (localhost)" */
export function formatClient(ip: string, host: string | undefined): string {
  return host && host !== ip ? `${ip} (${host})` : ip;
}

/** An escape (escapeForDisplay's `\xhh`, `\uhhhh`, `\u{h…}`) that a cut left without its end. */
const PARTIAL_ESCAPE = /\\(?:x[0-9a-f]?|u(?:[0-9a-f]{0,3}|\{[0-9a-f]*))?$/;

/**
 * Outside text for the Output channel, a notification or the Requests view: control, bidi and
 * line-separator characters escaped by the core's escapeForDisplay (the one sanitiser), length
 * bounded to `max` UTF-16 units plus `...`. Request data is hostile and must stay one line. The cut
 * never splits a surrogate pair (cutAtCharacter: half an emoji showed as U+FFFD) nor an escape
 * (`\u20...` for a cut `\u202e` read as other text).
 */
export function sanitizeOneLine(text: string, max = 2000): string {
  // Every character escapes to one or more, so the cut keeps nothing past the first max + 1: the
  // rest is never escaped (an 8 KiB target of control bytes was 8,000 replacements per row of the
  // Requests view's snapshot, thousands of rows: seconds of the extension host).
  const head = text.length > max + 1 ? cutAtCharacter(text, max + 1) : text;
  const clean = escapeForDisplay(head);
  return clean.length > max || head.length < text.length ? `${cutAtCharacter(clean, max).replace(PARTIAL_ESCAPE, '')}...` : clean;
}

/**
 * Outside text inside a notification or a status bar message, which VS Code does not show as plain
 * text: a notification turns `[label](link)` into a link (a `command:` link runs that command when
 * clicked: `POST /[Docs](command:…)` copied as curl put one in Porthole's own notification), and a
 * status bar message turns `$(name)` into an icon. sanitizeOneLine (controls, bidi, at most `max`
 * characters), then `](` written `] (` and `$(` written `$ (`, so neither can form; the text
 * otherwise reads as sent (the Output channel and the Requests view have it exact).
 */
export function messageText(text: string, max = 200): string {
  return sanitizeOneLine(text, max).replace(/\]\(/g, '] (').replace(/\$\(/g, '$ (');
}

/** Longest diagnostic or notification text shown (the firewall hint is ~400 characters). */
export const MESSAGE_MAX = 4000;

/**
 * Multi-line outside text (an error's stack) for the Output channel: each line sanitised on its
 * own (sanitizeOneLine), the line breaks kept.
 */
export function sanitizeLines(text: string, max = MESSAGE_MAX): string {
  return text
    .split(/\r?\n/)
    .map((line) => sanitizeOneLine(line, max))
    .join('\n');
}

/**
 * One Output line per request: time, client, method, path, status, bytes, duration.
 * e.g. `14:03:07.123 127.0.0.1 GET /index.html 200 1.2 KB 3 ms`
 */
export function formatRequestLine(r: RequestRecord, server?: string): string {
  const parts = [
    formatTime(r.time),
    server ? `[${sanitizeOneLine(server, 80)}]` : undefined,
    sanitizeOneLine(formatClient(r.clientIp, r.clientHost), 300),
    sanitizeOneLine(methodForDisplay(r.method), 40),
    sanitizeOneLine(targetForDisplay(r.target)),
    String(r.status),
    formatBytes(r.bytes),
    formatDuration(r.durationMs),
    r.upstream === undefined ? undefined : `(back-end ${r.upstream.status || '-'} in ${formatDuration(r.upstream.ms)})`,
    r.spaFallback === undefined ? undefined : `(SPA fallback ${sanitizeOneLine(namedPathForDisplay(r.spaFallback))})`,
    r.aborted ? '(aborted)' : undefined,
    r.note ? `- ${sanitizeOneLine(r.note, 300)}` : undefined,
  ];
  return parts.filter((p) => p !== undefined).join(' ');
}

/** The Output channel's level for a page's console entry: console.log and info at info. */
export function consoleLogLevel(entry: ConsoleEntry): Exclude<DiagnosticLevel, 'trace'> {
  return entry.level === 'log' ? 'info' : entry.level;
}

/**
 * A page's console entry for the Output channel: `[folder] ` (multi-root) and the core's lines
 * (formatConsoleLines: already escaped; lines after the first indented), joined by line breaks.
 */
export function formatConsoleEntry(entry: ConsoleEntry, server?: string): string {
  const text = formatConsoleLines(entry).join('\n');
  return server ? `[${sanitizeOneLine(server, 80)}] ${text}` : text;
}

/** "Porthole is serving <folder> at <url>" plus the busy-port note when there is one. */
export function describeListening(folder: string, address: BoundAddress): string {
  const base = `Serving ${folder} at ${address.url}`;
  return address.requestedPort !== undefined && address.requestedPort !== address.port
    ? `${base} (port ${address.requestedPort} was busy, so port ${address.port} is used for this session)`
    : base;
}

/** Plain words for the core's listen error codes. */
export function describeFailure(code: string, message: string): string {
  switch (code) {
    case 'EADDRINUSE':
      return message || 'The port and the next ones are already in use.';
    case 'EACCES':
      return message || 'Permission denied for that port (ports under 1024 need privileges).';
    case 'EADDRNOTAVAIL':
      return message || 'That host address does not belong to this machine.';
    case 'ENOENT':
      return message || 'The folder to serve does not exist.';
    default:
      return message || `The server could not start (${code}).`;
  }
}
