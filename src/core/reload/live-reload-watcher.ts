/**
 * Watches the root for the CLI (the extension feeds changes itself and turns this off): one
 * recursive `fs.watch` (inotify per folder on Linux, FSEvents / ReadDirectoryChangesW elsewhere).
 * Reports absolute paths; filtering (ignore globs, the log file) and debouncing are the caller's.
 * Errors are reported once through `onError` and end the watch; they never throw.
 */
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

export interface RootWatcher {
  close(): void;
}

export function watchRoot(
  rootReal: string,
  onChange: (absolutePath: string) => void,
  onError: (message: string) => void,
): RootWatcher {
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(rootReal, { recursive: true, persistent: false }, (_event, filename) => {
      // A null name (rare, platform-dependent) means "something changed here": the root itself.
      onChange(filename === null ? rootReal : join(rootReal, filename.toString()));
    });
  } catch (err) {
    onError(describeWatchError(err));
    return { close: () => undefined };
  }
  const active = watcher;
  active.on('error', (err) => {
    onError(describeWatchError(err));
    active.close();
  });
  return { close: () => active.close() };
}

function describeWatchError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') {
    return 'live reload cannot watch every folder (the inotify watch limit is reached; raise fs.inotify.max_user_watches or add --reload-ignore globs)';
  }
  if (code === 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM') return 'live reload: recursive file watching is not available on this platform';
  return `live reload stopped watching files: ${(err as Error).message}`;
}
