/**
 * One record per request, as every sink sees it (UI events, stdout, the log file). Plain data,
 * structured-clone safe, so it crosses the worker boundary unchanged.
 */

export type HeaderList = Array<[name: string, value: string]>;
/** A header list that is shared and must not be changed (a configured one: ResponsePolicy's lists are frozen). */
export type ReadonlyHeaderList = ReadonlyArray<readonly [name: string, value: string]>;

export interface RequestRecord {
  /** Increasing per server. */
  readonly id: number;
  /** When the first byte of the request head arrived (epoch ms). */
  readonly time: number;
  readonly clientIp: string;
  readonly clientPort: number;
  /**
   * The TCP connection the request came on: a number unique within the process for its lifetime
   * (requests on one keep-alive connection share it), counting from 1.
   */
  readonly connectionId: number;
  /** The request came over TLS (its URL's scheme is `https`). */
  readonly secure: boolean;
  /** The server's end of the connection: the address and port the client connected to. */
  readonly serverIp: string;
  readonly serverPort: number;
  /** Reverse-DNS name when it was already known; later names arrive as `hostname` events. */
  clientHost: string | undefined;
  /** '-' when the request line could not be parsed. */
  readonly method: string;
  /** The request target as sent ('-' when unparsable). */
  readonly target: string;
  /** 'HTTP/1.1', 'HTTP/1.0' or '-' */
  readonly protocol: string;
  readonly status: number;
  /** Body bytes actually written (headers excluded), also for aborted transfers; for a 101, every byte the new protocol (a WebSocket, a tunnel) wrote after the head. */
  readonly bytes: number;
  readonly durationMs: number;
  /**
   * Ms from `time` to the request being handed to the handler (its head read, and its body too
   * unless a proxied route hands the body on as it arrives); -1 when it never was (unparsable,
   * timed out, cut short).
   */
  readonly requestMs: number;
  /** Ms from `time` to the response head being written; -1 when no response was started. */
  readonly responseStartMs: number;
  readonly referer: string | undefined;
  readonly userAgent: string | undefined;
  readonly requestHeaders: HeaderList;
  readonly responseHeaders: HeaderList;
  /** The client left or the transfer failed before the whole body was sent. */
  readonly aborted: boolean;
  /** Why a request was refused, in plain words (e.g. "Host not allowed: evil.example"). */
  readonly note: string | undefined;
  /** Absolute file path served, when a file was served. */
  readonly filePath: string | undefined;
  /**
   * A proxied request's back-end part, apart from Porthole's own status and duration: the target
   * origin, the back-end's status (0 when it never answered: refused, timed out) and the ms from
   * sending the request to its response head (or the failure).
   */
  readonly upstream?: { readonly target: string; readonly status: number; readonly ms: number };
  /**
   * The file the single-page-app fallback answered with (a request path such as `/index.html`):
   * the path asked for (`target`) names nothing, and this page was sent in its place. Kept apart
   * from `note`, which a later stage (compression, live reload) may add to.
   */
  readonly spaFallback?: string;
}
