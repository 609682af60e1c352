/**
 * Serialising response heads. Status reason phrases and the fixed headers every response carries
 * (Date, Server) live here. Header values are checked with the same field-value rule the parser
 * uses, so nothing a client sent can inject a header line (a bad value is replaced, never sent).
 */
import { formatHttpDate } from './http-date';
import { isValidFieldValue } from './http-grammar';
import type { HeaderList } from './request-record';

const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  204: 'No Content',
  206: 'Partial Content',
  301: 'Moved Permanently',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  416: 'Range Not Satisfiable',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

const SERVER_NAME = 'Porthole';

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
export function statusHasNoBody(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

let tailSecond = -1;
let tail = '';

/** `Date` and `Server` and the blank line that ends a head, rebuilt at most once a second. */
export function headTail(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== tailSecond) {
    tailSecond = second;
    tail = `Date: ${formatHttpDate(now)}\r\nServer: ${SERVER_NAME}\r\n\r\n`;
  }
  return tail;
}

/**
 * The status line and the given headers, each line ending in CRLF, without Date/Server and the
 * blank line (a cached file keeps this part serialised). Latin1-safe: values were checked.
 */
export function serializeStatusAndHeaders(status: number, headers: HeaderList): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of headers) {
    head += `${name}: ${isValidFieldValue(value) ? value : '-'}\r\n`;
  }
  return head;
}

/** A whole response head: status line, `headers` (what the log records), Date, Server, blank line. */
export function serializeHead(status: number, headers: HeaderList): string {
  return serializeStatusAndHeaders(status, headers) + headTail();
}
