/**
 * Serialising response heads. Status reason phrases and the fixed headers every response carries
 * (Date, Server) live here. Header values are checked with the same field-value rule the parser
 * uses, so nothing a client sent can inject a header line (a bad value is replaced, never sent).
 */
import { formatHttpDate } from './http-date';
import { isValidFieldValue } from './http-grammar';
import type { HeaderList } from './request-record';

/** RFC 9110 §15 (and RFC 6585's 428/429/431): proxied back-ends answer with any of them. */
const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

const SERVER_NAME = 'Porthole';

/** The reason phrase Porthole writes for `status` (RFC 9110 §15); 'Unknown' for one it has none for. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
export function statusHasNoBody(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

let tailSecond = -1;
let tail = '';

/**
 * `Date` and `Server` and the blank line that ends a head, rebuilt at most once a second. `now`:
 * the time the head is written (epoch ms), when the caller has read the clock already.
 */
export function headTail(now = Date.now()): string {
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
  return `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n${serializeHeaders(headers)}`;
}

/** Header lines (`Name: value` CRLF each); a value the field grammar refuses goes out as `-`. */
export function serializeHeaders(headers: HeaderList): string {
  let lines = '';
  for (const [name, value] of headers) {
    lines += `${name}: ${isValidFieldValue(value) ? value : '-'}\r\n`;
  }
  return lines;
}

/**
 * A whole response head: status line, `headers` (what the log records), Date, Server, blank line.
 * `now`: as headTail's.
 */
export function serializeHead(status: number, headers: HeaderList, now?: number): string {
  return serializeStatusAndHeaders(status, headers) + headTail(now);
}
