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
}

export type HeaderPairs = ReadonlyArray<readonly [name: string, value: string]>;

/** Fetched when a request node is expanded (kept out of rows so 10,000 rows stay light). */
export interface RequestDetails {
  readonly requestHeaders: HeaderPairs;
  readonly responseHeaders: HeaderPairs;
  /** Label/value pairs: started, duration, protocol, client port, aborted, note, file. */
  readonly timing: HeaderPairs;
}

export type HostToView =
  /** The whole retained list, sent when the view (re)loads. */
  | { readonly type: 'snapshot'; readonly rows: readonly RequestRow[]; readonly dropped: number; readonly maxEntries: number; readonly paused: boolean }
  /** New rows since the last message (at most ~10 of these a second). */
  | { readonly type: 'append'; readonly rows: readonly RequestRow[]; readonly dropped: number }
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
  | { readonly type: 'clear' }
  | { readonly type: 'setPaused'; readonly paused: boolean };
