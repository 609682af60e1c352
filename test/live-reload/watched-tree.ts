/**
 * Helpers for the watcher's tests over a real PreviewServer (server.test.ts and the watcher's own
 * test files): a server recording every reload event it sends, writing a file until an event
 * names it (bounded), and the inotify watches this process holds. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PreviewServer } from '../../src/core/server/server';
import type { ReloadEvent } from '../../src/core/reload/live-reload';
import type { ServerOptionsInput } from '../../src/core/options';

/**
 * A server on `options.root` with every event it sends recorded in `seen`; `next()` resolves at
 * the next one; `warnings`: what it said as warnings, from its start on.
 */
export async function recordingServer(options: ServerOptionsInput): Promise<{ tree: PreviewServer; port: number; seen: ReloadEvent[]; next: () => Promise<void>; warnings: string[] }> {
  const tree = new PreviewServer();
  const warnings: string[] = [];
  tree.on('diagnostic', (level, message) => {
    if (level === 'warn') warnings.push(message);
  });
  const address = await tree.listen({ port: 0, resolveHostNames: false, ...options });
  const seen: ReloadEvent[] = [];
  let wake: () => void = () => undefined;
  assert.ok(tree.liveReload);
  tree.liveReload.onEvent = (e) => {
    seen.push(e);
    wake();
  };
  return { tree, port: address.port, seen, next: () => new Promise<void>((r) => (wake = r)), warnings };
}

/** How long a watcher test waits for one event or one piece of a stream before it fails. */
export const EVENT_WAIT_MS = 20_000;

/**
 * `promise`, or a rejection naming `what` once `ms` milliseconds pass first: every wait for the
 * server's next event is bounded, so a lost event fails its test at once with its name instead of
 * holding the file to the runner's 300 s timeout.
 */
export async function within<T>(promise: Promise<T>, what: string, ms = EVENT_WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Writes `file` again and again (bounded: `tries` writes, each followed by up to 250 ms of waiting)
 * until an event of `recording` satisfying `ok` comes after the first write; fails naming `what`.
 * Again and again: a folder's watch is made when its own change is read, so one write may come first.
 */
export async function writeUntilEvent(recording: { seen: ReloadEvent[]; next: () => Promise<void> }, file: string, ok: (e: ReloadEvent) => boolean, what: string, tries = 60): Promise<void> {
  const { seen } = recording;
  const from = seen.length;
  for (let i = 0; i < tries && !seen.slice(from).some(ok); i++) {
    await writeFile(file, `v${i}`);
    await Promise.race([recording.next(), sleep(250)]);
  }
  assert.ok(seen.slice(from).some(ok), `${what}: no such event; got ${JSON.stringify(seen.slice(from))}`);
}

/** What watchedTree gives. */
export interface WatchedTree {
  readonly tree: PreviewServer;
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** The paths every event sent so far named. */
  readonly paths: string[];
  /** What the server said as warnings, from its start on. */
  readonly warnings: readonly string[];
  /** `writtenAt`: where the bytes go when that is not `dir/file` (a folder behind a link, a mount's). */
  writeUntilNamed(file: string, writtenAt?: string): Promise<void>;
  nextEvent(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A server watching `dir` (live reload on, 20 ms debounce; `options` add to it: followSymlinks,
 * mounts) with the paths of every event it sent, and `writeUntilNamed(file)`: writes `file`
 * (root-relative) until an event names it, since a folder's watch is made when its own change is
 * read and a write right after the folder was made may come before it. Bounded: 100 writes, each
 * followed by up to 300 ms of waiting.
 */
export async function watchedTree(dir: string, options: Omit<ServerOptionsInput, 'root' | 'reload'> = {}): Promise<WatchedTree> {
  const recording = await recordingServer({ root: dir, reload: { debounceMs: 20 }, ...options });
  const { tree, port, seen, warnings } = recording;
  const nextEvent = (): Promise<void> => recording.next();
  const paths = (): string[] => seen.flatMap((e) => e.paths);
  return {
    tree,
    port,
    get paths() {
      return paths();
    },
    warnings,
    nextEvent,
    async writeUntilNamed(file: string, writtenAt = join(dir, file)): Promise<void> {
      for (let i = 0; i < 100 && !paths().includes(`/${file}`); i++) {
        await writeFile(writtenAt, `v${i}`);
        await Promise.race([nextEvent(), sleep(300)]);
      }
      assert.ok(paths().includes(`/${file}`), `no event named /${file}; got ${paths().join(' ')}`);
    },
    close: () => tree.close(),
  };
}

/** inotify watches this process holds now (Linux: the `inotify wd:` lines of its inotify fds). */
export function inotifyWatches(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (!readlinkSync(`/proc/self/fd/${fd}`).includes('inotify')) continue;
      n += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}
