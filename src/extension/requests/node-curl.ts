/**
 * "Copy as curl": one kept request as a curl command line for a POSIX shell (sh, bash, zsh).
 * Pure (no vscode); tested by running its output through `sh -c` with the real curl.
 */
import { isIP } from 'node:net';
import type { RequestRecord } from '../../core';
import { isConnectAuthority, requestUrl, serverUrl } from './node-har';

/**
 * Quotes `text` as one word for a POSIX shell (POSIX.1-2017 XCU §2.2.3): inside single quotes
 * nothing is special, and a single quote is written as `'\''` (close, an escaped quote, reopen).
 * Safe for any string without NUL (a header value cannot hold one: RFC 9110 §5.5).
 */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * One shell word whose bytes are `text`'s, written in printable ASCII only: runs of printable
 * ASCII single-quoted (shellQuote), every other character by `"$(printf '\ooo')"` (POSIX printf
 * octal escapes): a char up to U+00FF as that byte (header values are latin1-decoded, one char per
 * byte, so obs-text 0x80–0xFF and HTAB reach the server as they first did), a higher one as its
 * UTF-8 bytes. Pasted into a terminal, the command cannot carry a control character (a C1 CSI, an
 * end-of-bracketed-paste sequence) or a tab that a shell would complete on. `text` holds no LF
 * or NUL (command substitution drops trailing newlines; no field value holds either).
 */
export function shellWord(text: string): string {
  const parts: string[] = [];
  for (const run of text.match(/[\x20-\x7e]+|[^\x20-\x7e]+/g) ?? []) {
    if (/^[\x20-\x7e]/.test(run)) {
      parts.push(shellQuote(run));
      continue;
    }
    const bytes: number[] = [];
    for (const ch of run) {
      const code = ch.codePointAt(0) ?? 0;
      if (code <= 0xff) bytes.push(code);
      else bytes.push(...Buffer.from(ch, 'utf8'));
    }
    parts.push(`"$(printf '${bytes.map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('')}')"`);
  }
  return parts.length === 0 ? "''" : parts.join('');
}

/**
 * Request fields curl must not be told to send: hop-by-hop fields (RFC 9110 §7.6.1) and the
 * framing curl writes itself (Content-Length; Transfer-Encoding, Expect). Accept-Encoding is not
 * among them: it is sent as the request had it (`identity` got the file as it is, `gzip` gzip),
 * with `--compressed` so that curl decodes what comes; curl's own list (`deflate, gzip, br, zstd`)
 * made the server choose another representation than the request got.
 */
const LEFT_TO_CURL = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'expect',
]);

/**
 * Request fields curl writes on its own when the command does not name them (curl(1), --header;
 * `--data-binary` adds Content-Type). A request that did not send one gets `--header 'Name:'`,
 * which makes curl leave it out: without it, a replay differed from what it repeats (an HTTP/1.1
 * request without Host is a 400, RFC 9112 §3.2, and its replay with curl's Host a 200; a POST
 * without Content-Type reached the back-end as application/x-www-form-urlencoded).
 */
const CURL_ADDS = ['host', 'user-agent', 'accept'] as const;
const CURL_ADDS_WITH_BODY = ['content-type', 'expect'] as const;
const CURL_FIELD_NAMES: Record<(typeof CURL_ADDS)[number] | (typeof CURL_ADDS_WITH_BODY)[number], string> = {
  host: 'Host',
  'user-agent': 'User-Agent',
  accept: 'Accept',
  'content-type': 'Content-Type',
  expect: 'Expect',
};

export interface CurlCommand {
  /** The command line: one line of printable ASCII, every argument quoted (shellWord). */
  readonly command: string;
  /** The request had a body, which Porthole does not keep: the command reads it from stdin. */
  readonly needsBody: boolean;
}

/**
 * `--connect-to` (curl 7.49) for a URL that does not name the server's own address: the URL's
 * authority comes from the request's Host field or an absolute-form target, which the client chose
 * (`Host: attacker.example`, `GET http://attacker.example/`), and the command must repeat the request
 * to the server that answered it, never send it (with its headers) to a host a client named. The
 * empty HOST1:PORT1 matches the one URL of the command; TLS still names the URL's host (SNI).
 * Undefined when the URL already is the server's address and port, or the address is unknown.
 */
function connectTo(url: URL, serverIp: string, serverPort: number): string | undefined {
  if (isIP(serverIp) === 0 || !Number.isInteger(serverPort) || serverPort <= 0) return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  if (host === serverIp && port === serverPort) return undefined;
  return `::${serverIp.includes(':') ? `[${serverIp}]` : serverIp}:${serverPort}`;
}

/**
 * The curl command that repeats `record`: its method, absolute URL (requestUrl), and its request
 * headers as sent, less the hop-by-hop ones (and those the Connection field names), the framing
 * curl writes itself, and Host when it is the URL's own authority. The connection goes to the
 * server's address (`--connect-to` when the URL names another: connectTo), in the connection's
 * scheme (http, or https over TLS) whatever an absolute-form target said. HEAD becomes `--head`; other
 * methods than GET `--request`; HTTP/1.0 `--http1.0`; a path with dot segments `--path-as-is`,
 * brackets or braces `--globoff`; `OPTIONS *` `--request-target '*'`, and a CONNECT (its
 * `host:port` target is no URL: RFC 9112 §3.2.3) `--request-target 'host:port'` with the server's
 * own URL (isConnectAuthority). A request that had a body (Content-Length above 0, or chunked)
 * gets `--data-binary @-`: bodies are not kept, so the command reads the body from standard input
 * (sent chunked again when it came chunked). A field curl would add on its own (Host, User-Agent,
 * Accept; with a body Content-Type and Expect) that the request did not send is removed with
 * `--header 'Name:'` (CURL_ADDS): the server sees the fields the request had, no others.
 * Credentials (Authorization, Cookie) are kept: the command is for the user's own clipboard.
 * Returns undefined for a request whose request line could not be parsed or whose target is no
 * URL of any kind (not origin-form, absolute-form, `*` or a CONNECT's authority-form).
 */
export function buildCurl(record: RequestRecord): CurlCommand | undefined {
  // A CONNECT's host:port target is no URL: the command goes to the server and names the target.
  const tunnel = isConnectAuthority(record);
  const url = tunnel ? serverUrl(record) : requestUrl(record);
  if (url === undefined) return undefined;
  const args: string[] = ['curl'];
  const connectionTokens = new Set<string>();
  let needsBody = false;
  let chunked = false;
  let compressed = false;
  for (const [name, value] of record.requestHeaders) {
    const lower = name.toLowerCase();
    if (lower === 'connection') for (const token of value.split(',')) connectionTokens.add(token.trim().toLowerCase());
    if (lower === 'content-length' && Number(value) > 0) needsBody = true;
    if (lower === 'transfer-encoding' && /chunked/i.test(value)) needsBody = chunked = true;
  }
  if (record.method === 'HEAD') args.push('--head');
  else if (record.method !== 'GET' || needsBody) args.push('--request', shellWord(record.method));
  if (record.protocol === 'HTTP/1.0') args.push('--http1.0');
  const path = record.target.split(/[?#]/, 1)[0] ?? '';
  if (/(^|\/)\.\.?(\/|$)/.test(path)) args.push('--path-as-is');
  if (/[[\]{}]/.test(url)) args.push('--globoff');
  // `OPTIONS *` asks about the server, not its root (RFC 9112 §3.2.4; a proxied route passes it on
  // as sent): curl would send the URL's path `/`, so the target is given as it was (curl 7.55).
  if (record.target === '*' || tunnel) args.push('--request-target', shellWord(record.target));
  const parsed = new URL(url);
  // The scheme is the connection's (TLS or not), never an absolute-form target's: the client chose
  // `GET https://…` on a plain connection (Porthole answers it, routing on the authority, as nginx
  // does), and a command that starts a TLS handshake with a plain server repeats nothing.
  const scheme = record.secure ? 'https:' : 'http:';
  if (parsed.protocol !== scheme) {
    const port = parsed.port !== '' ? parsed.port : parsed.protocol === 'https:' ? '443' : '80';
    parsed.protocol = scheme;
    parsed.port = port;
  }
  const authority = parsed.host;
  const via = connectTo(parsed, record.serverIp, record.serverPort);
  if (via !== undefined) args.push('--connect-to', shellWord(via));
  const sent = new Set(record.requestHeaders.map(([name]) => name.toLowerCase()));
  for (const name of needsBody ? [...CURL_ADDS, ...CURL_ADDS_WITH_BODY] : CURL_ADDS) {
    if (!sent.has(name)) args.push('--header', shellWord(`${CURL_FIELD_NAMES[name]}:`));
  }
  // A chunked body is sent chunked again (curl otherwise reads stdin whole and sends Content-Length).
  if (chunked) args.push('--header', shellWord('Transfer-Encoding: chunked'));
  for (const [name, value] of record.requestHeaders) {
    const lower = name.toLowerCase();
    if (LEFT_TO_CURL.has(lower) || connectionTokens.has(lower)) continue;
    if (lower === 'accept-encoding') compressed = true;
    // Left to curl only when curl would write the very same bytes: the URL parser lower-cases a
    // name (`LOCALHOST:8080` became `localhost:8080`), drops a default port and rewrites numbers.
    if (lower === 'host' && value === authority) continue;
    // `-H 'Name:'` would remove a header curl sends; `Name;` sends it empty (curl(1), --header).
    args.push('--header', shellWord(value === '' ? `${name};` : `${name}: ${value}`));
  }
  if (compressed) args.push('--compressed');
  if (needsBody) args.push('--data-binary', '@-');
  // The origin (in the connection's scheme) and then the target's own path as requestUrl wrote it:
  // not parsed.href, which would remove dot segments again (`/x/../a` sent as `/a`).
  args.push(shellWord(`${parsed.origin}${url.slice(url.indexOf('/', url.indexOf('//') + 2))}`));
  return { command: args.join(' '), needsBody };
}
