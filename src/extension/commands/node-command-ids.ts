/**
 * Every command id, in one typed table. package.json's `contributes.commands` must list exactly
 * these (a test checks it); ids starting with `porthole._` are internal and hidden from the palette.
 */
export const COMMANDS = {
  start: 'porthole.start',
  stop: 'porthole.stop',
  restart: 'porthole.restart',
  openInBrowser: 'porthole.openInBrowser',
  openFileInBrowser: 'porthole.openFileInBrowser',
  /** The page beside the editor: the integrated browser, else the Simple Browser. */
  openPreview: 'porthole.openPreview',
  /** VS Code's JavaScript debugger (js-debug) on the page. */
  debugInBrowser: 'porthole.debugInBrowser',
  copyUrl: 'porthole.copyUrl',
  showLog: 'porthole.showLog',
  showRequests: 'porthole.showRequests',
  clearRequests: 'porthole.clearRequests',
  pauseRequests: 'porthole.pauseRequests',
  resumeRequests: 'porthole.resumeRequests',
  /** The kept requests as HAR 1.2, credentials left out; an optional Uri or path skips the dialog. */
  exportHar: 'porthole.exportHar',
  /** The same with Authorization, Cookie and Set-Cookie kept. */
  exportHarWithCredentials: 'porthole.exportHarWithCredentials',
  /** One request as a curl command (the view's context menu and details; argument: its key). */
  copyAsCurl: 'porthole.copyAsCurl',
  /** Bind every interface (porthole.host = 0.0.0.0) after a plain-words confirmation. */
  shareOnNetwork: 'porthole.shareOnNetwork',
  /** Back to this machine only (porthole.host = 127.0.0.1). */
  stopSharing: 'porthole.stopSharing',
  /** The status bar's click while a server runs: a quick pick of actions. */
  statusBarMenu: 'porthole._statusBarMenu',
  /** For tests: the state of every folder's server. */
  state: 'porthole._state',
  /** For tests and the performance note: the extension host's event-loop delay during a load. */
  measureEventLoop: 'porthole._measureEventLoop',
} as const;

export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];

/** Ids of views and context keys contributed in package.json. */
export const VIEW_CONTAINER_ID = 'porthole';
export const REQUESTS_VIEW_ID = 'porthole.requests';
export const CONTEXT_REQUESTS_PAUSED = 'porthole.requestsPaused';
export const OUTPUT_CHANNEL_NAME = 'Porthole';
