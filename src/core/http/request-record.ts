/**
 * One record per request, as every sink sees it (UI events, stdout, the log file). Plain data,
 * structured-clone safe, so it crosses the worker boundary unchanged.
 */

export type HeaderList = Array<[name: string, value: string]>;

export interface RequestRecord {
  /** Increasing per server. */
  readonly id: number;
  /** When the first byte of the request head arrived (epoch ms). */
  readonly time: number;
  readonly clientIp: string;
  readonly clientPort: number;
  /** Reverse-DNS name when it was already known; later names arrive as `hostname` events. */
  clientHost: string | undefined;
  /** '-' when the request line could not be parsed. */
  readonly method: string;
  /** The request target as sent ('-' when unparsable). */
  readonly target: string;
  /** 'HTTP/1.1', 'HTTP/1.0' or '-' */
  readonly protocol: string;
  readonly status: number;
  /** Body bytes actually written (headers excluded), also for aborted transfers. */
  readonly bytes: number;
  readonly durationMs: number;
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
}
