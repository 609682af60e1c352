/**
 * Messages between the extension host and the Requests webview (`media/requests.js`). Type-only:
 * the host imports it, the webview script refers to it through JSDoc `import()` types. Every
 * field is plain data; every string here may be hostile (it came off the network) and the view
 * inserts it with `textContent` only.
 */

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'other';

/** One request, formatted for display by the host (the view does no formatting of its own). */
export interface RequestRow {
  /** Unique and increasing for the extension's lifetime; survives hide/show. */
  readonly key: number;
  /** Name of the workspace folder whose server answered. */
  readonly server: string;
  readonly clientIp: string;
  readonly clientHost: string | undefined;
  /** e.g. 14:03:07.123 */
  readonly timeText: string;
  readonly method: string;
  readonly target: string;
  readonly status: number;
  readonly statusClass: StatusClass;
  /** e.g. 1.2 KB */
  readonly bytesText: string;
  /** e.g. 3 ms */
  readonly durationText: string;
  readonly aborted: boolean;
  /** A file was served: clicking the path opens it. */
  readonly hasFile: boolean;
  readonly note: string | undefined;
  /**
   * Set for a page's console message (then `method` is its label, e.g. `console.error`, and
   * `target` the first line of its text; status, bytes and duration are empty).
   */
  readonly console?: {
    readonly level: 'error' | 'warn' | 'info' | 'log' | 'debug';
    /** `http://…/app.js:12:5`, or '' when the entry names no source. */
    readonly where: string;
    readonly page: string;
  };
}

export type HeaderPairs = ReadonlyArray<readonly [name: string, value: string]>;

/** Fetched when a request node is expanded (kept out of rows so 10,000 rows stay light). */
export interface RequestDetails {
  readonly requestHeaders: HeaderPairs;
  readonly responseHeaders: HeaderPairs;
  /** Label/value pairs: started, duration, protocol, client port, aborted, note, file. */
  readonly timing: HeaderPairs;
  /** A console message: its text, line by line (requests: absent). */
  readonly message?: readonly string[];
  /** A console message: its stack, line by line (requests: absent). */
  readonly stack?: readonly string[];
}

/** One URL other devices use, with its QR code (an SVG document drawn by uqr on the host). */
export interface SharedUrl {
  readonly url: string;
  /** e.g. "eth0 · IPv4" */
  readonly label: string;
  readonly qrSvg: string;
}

export interface CertificateView {
  readonly kind: 'files' | 'self-signed';
  /** SHA-256, colon-separated hex (as browsers show it). */
  readonly fingerprint256: string;
  readonly validTo: string;
}

/** A running server in the view's sharing panel. */
export interface SharingServer {
  /**
   * The workspace folder's URI: what the view's buttons and QR choice name. Never the folder name,
   * which two folders of a multi-root workspace may share (`client/app` and `server/app`).
   */
  readonly id: string;
  /** Workspace folder name (shown). */
  readonly server: string;
  readonly mode: 'local' | 'shared';
  /** The URL on this machine. */
  readonly localUrl: string;
  /** The URLs other devices use (empty when local). */
  readonly urls: readonly SharedUrl[];
  readonly allowedClients: readonly string[];
  readonly certificate: CertificateView | undefined;
  /** What to check when nothing connects (empty when local). */
  readonly hint: string;
}

export type HostToView =
  /** The running servers, their URLs and QR codes (sent on load and whenever they change). */
  | { readonly type: 'sharing'; readonly servers: readonly SharingServer[] }
  /** The whole retained list, sent when the view (re)loads. */
  | { readonly type: 'snapshot'; readonly rows: readonly RequestRow[]; readonly dropped: number; readonly maxEntries: number; readonly paused: boolean }
  /**
   * New rows since the last message (at most ~10 of these a second). `oldest`: the key of the
   * oldest entry the host still keeps (it drops by count and by bytes: REQUEST_STORE_MAX_BYTES);
   * the view drops its rows below it, so it never holds more than the host does.
   */
  | { readonly type: 'append'; readonly rows: readonly RequestRow[]; readonly dropped: number; readonly oldest: number }
  /** A client's host name became known. */
  | { readonly type: 'hostname'; readonly ip: string; readonly name: string }
  | { readonly type: 'details'; readonly key: number; readonly details: RequestDetails | undefined }
  | { readonly type: 'cleared' }
  | { readonly type: 'paused'; readonly paused: boolean }
  | { readonly type: 'maxEntries'; readonly maxEntries: number; readonly dropped: number };

export type ViewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'openFile'; readonly key: number }
  | { readonly type: 'getDetails'; readonly key: number }
  /** Copy a kept request as a curl command (built on the host from the record, never from the view). */
  | { readonly type: 'copyCurl'; readonly key: number }
  | { readonly type: 'clear' }
  | { readonly type: 'setPaused'; readonly paused: boolean }
  /** Copy one of the URLs the host sent (the host checks it is one of them). */
  | { readonly type: 'copyUrl'; readonly url: string }
  /** Run Share on Network / Stop Sharing for a server (by its SharingServer id). */
  | { readonly type: 'shareOnNetwork'; readonly id: string }
  | { readonly type: 'stopSharing'; readonly id: string };
