/**
 * Messages between a host thread (the extension host, or the benchmark) and the server worker
 * (`dist/server-worker.js`). Everything here is structured-clone safe. The worker batches request
 * records so that 1,000 requests a second cost the host ~10 messages a second.
 */
import type { BoundAddress, ConfigFileChange, DiagnosticLevel, ReconfigurableOptions, ServerOptionsInput } from '../options';
import type { RequestRecord } from '../http/request-record';
import type { ConsoleEntry } from '../reload/console-forward';

/**
 * Records sent to the host per batch (10 batches a second): 5,000 requests a second reach the UI
 * in full; beyond that only their count does, so a flood never stalls the host's thread with
 * structured-clone work. The log file and the CLI still get every line.
 */
export const MAX_RECORDS_PER_BATCH = 500;
/**
 * Console entries sent to the host per batch (10 batches a second); beyond, counted in `dropped`.
 * Each client address already passes at most 50 a second and the server 200 (console-forward); this binds a burst.
 */
export const MAX_CONSOLE_ENTRIES_PER_BATCH = 200;

export type HostToWorker =
  | { readonly type: 'listen'; readonly options: ServerOptionsInput }
  | { readonly type: 'close' }
  | { readonly type: 'reconfigure'; readonly changes: ReconfigurableOptions }
  | { readonly type: 'allow-host'; readonly name: string }
  /** Live reload "as you type": the editor's unsaved text for an absolute path (undefined = drop). */
  | { readonly type: 'overlay'; readonly path: string; readonly text: string | undefined }
  /** Live reload: files changed (absolute paths), as seen by the host's own watcher. */
  | { readonly type: 'changed'; readonly paths: readonly string[] }
  /** Live reload: every connected page goes to this origin-form path (LiveReload.navigate). */
  | { readonly type: 'navigate'; readonly path: string };

export type WorkerToHost =
  | { readonly type: 'listening'; readonly address: BoundAddress }
  | { readonly type: 'listen-failed'; readonly code: string; readonly message: string }
  /** At most MAX_RECORDS_PER_BATCH records; `dropped` counts those beyond it (the log file has all). */
  | { readonly type: 'requests'; readonly records: readonly RequestRecord[]; readonly dropped: number }
  | { readonly type: 'hostname'; readonly ip: string; readonly name: string }
  | { readonly type: 'diagnostic'; readonly level: DiagnosticLevel; readonly message: string }
  /** The configuration file changed: applied, needs a restart, or invalid (PreviewServer `config`). */
  | { readonly type: 'config'; readonly change: ConfigFileChange }
  /** Live reload: the number of pages connected to the event stream, sent whenever it changes. */
  | { readonly type: 'pages'; readonly connected: number }
  /** Pages' console messages (at most MAX_CONSOLE_ENTRIES_PER_BATCH; `dropped` counts the rest). */
  | { readonly type: 'console'; readonly entries: readonly ConsoleEntry[]; readonly dropped: number };
