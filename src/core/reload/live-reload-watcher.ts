/**
 * Watches the root for the CLI (the extension feeds changes itself and turns this off).
 * Reports absolute paths, each with `inPlace`: true when fs.watch said `change` (a file's content
 * or attributes were written), false for `rename` (an entry made, renamed or deleted — perhaps a
 * temporary that an atomic save renames away). Filtering (ignore globs, the log file) and
 * debouncing are the caller's.
 * Errors are reported once through `onError` and end the watch; they never throw. A folder the
 * user may not read (EACCES, EPERM: mode 711, another user's folder) is not watched, and is named
 * once through `onError` with what to do (at most MAX_DENIED_NAMED folders, then one line for the
 * rest); the other folders are watched as ever.
 *
 * - Linux: one non-recursive `fs.watch` (one inotify watch) per folder, which reports every change
 *   of the entries in it by name; folders that appear are watched as they come, folders that go
 *   are dropped. The root itself may go and come back (a build that wipes its output folder, a
 *   --watch folder made later): its return is awaited and it is watched again. A root that is a
 *   file (`--watch config/app.yaml`) is watched itself, and again each time an atomic save
 *   (a temporary renamed onto it) or a delete and re-create puts another file under its name. A symbolic link is watched where it leads (a change there is reported as a change
 *   of the link), walked into only where it leads out of the tree to a place the server serves
 *   (LinkJudge), and, while it leads nowhere (its target removed by a build), watched again
 *   once its target is made (awaitTarget). Node's own `recursive: true` on Linux (measured with Node 20)
 *   walks the tree too, but with one watch and one `stat` per FILE: for the benchmark's 1,000-file
 *   root that was ~9 MB of RSS and tens of milliseconds before the server listened.
 * - Elsewhere: one recursive `fs.watch` (FSEvents, ReadDirectoryChangesW).
 */
import { watch, readdirSync, readFileSync, readlinkSync, lstatSync, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, join, parse, resolve, sep } from 'node:path';
import { realPathOf, statOrNone } from '../files/file-cache';
import { sameFile, type FileIdentity } from '../files/loopback-only';
import { notAFolderOnPath } from '../text/fs-problem';

export interface RootWatcher {
  close(): void;
  /**
   * Walks the tree again (Linux), watching the folders `skip` no longer covers (dotfiles turned
   * on); the folders watched keep their watches. Elsewhere, nothing.
   */
  rewalk(): void;
}

/** A change of `absolutePath`; `inPlace`: fs.watch said `change`, not `rename`. */
export type ChangeListener = (absolutePath: string, inPlace: boolean) => void;

/**
 * Whether what a symbolic link in the tree leads to may be served through it, judged by its real
 * path `real` with the rule a request through the link meets (the caller's: the server's
 * judgeRealPath for the root and mounts, so a link to a hidden real path — `vendor → ../.cache/x`,
 * `inner → .hidden/y` — or, without followSymlinks, out of the tree is refused; anything for a
 * --watch folder). A link refused is neither watched nor walked into; one served that leads out of
 * the tree is walked into, and each folder reached through it is judged by its real path too.
 */
export type LinkJudge = (real: string) => boolean;

/**
 * Watches `rootReal` (a real path). `skip(absolutePath)`: a folder or link under the root whose
 * changes are all ignored (an ignore glob covers it and everything below it, e.g. node_modules;
 * a hidden folder while dotfiles are off): on Linux it is neither walked nor watched, so it costs
 * no inotify watch. `serves`: see LinkJudge (Linux); by default, only links that lead into the
 * tree are watched, as the server serves by default.
 */
export function watchRoot(
  rootReal: string,
  onChange: ChangeListener,
  onError: (message: string) => void,
  skip: (absolutePath: string) => boolean = () => false,
  serves?: LinkJudge,
): RootWatcher {
  return process.platform === 'linux' ? watchFolders(rootReal, onChange, onError, skip, serves) : watchRecursive(rootReal, onChange, onError);
}

function watchRecursive(rootReal: string, onChange: ChangeListener, onError: (message: string) => void): RootWatcher {
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(rootReal, { recursive: true, persistent: false }, (event, filename) => {
      // A null name (rare, platform-dependent) means "something changed here": the root itself.
      onChange(filename === null ? rootReal : join(rootReal, filename.toString()), event === 'change');
    });
  } catch (err) {
    onError(describeWatchError(err));
    return { close: () => undefined, rewalk: () => undefined };
  }
  const active = watcher;
  active.on('error', (err) => {
    onError(describeWatchError(err));
    active.close();
  });
  return { close: () => active.close(), rewalk: () => undefined };
}

/**
 * Linux: a watch per folder (and per symbolic link), kept in step with the tree.
 * A link is watched only where `judge` (LinkJudge) says the server serves what it leads to: a
 * link to a hidden real path was walked while every request through it was a 404. A link served
 * that leads to a folder outside the tree (--follow-symlinks) is walked into too, its folders
 * watched under the link's path (at most MAX_LINKED_FOLDERS folders and links; links found in
 * there are watched, never walked into: no loops). Before, only the folder it leads to was watched, so a save in
 * `shared/css/app.css` (shared → ../ui) reloaded nothing while the server served it.
 */
function watchFolders(rootReal: string, onChange: ChangeListener, onError: (message: string) => void, skip: (absolutePath: string) => boolean, judge: LinkJudge | undefined): RootWatcher {
  const folders = new Map<string, FSWatcher>();
  const links = new Map<string, FSWatcher>();
  /**
   * The folders and links watched because a link leads to them from outside the tree: their paths
   * under the link. Links count too: a link to `/` took 2,000 folders' watches and one more for
   * every link found in them (about 3,000).
   */
  const linked = new Set<string>();
  let linkedLimitSaid = false;
  let closed = false;

  /**
   * The events of one turn, by path (first arrival first): `inPlace` while every event of the
   * path said `change`; `entry` when one said `rename` of an entry (the tree's shape may differ).
   * libuv hands every inotify event it reads in one go, each to its callback at once: a tool
   * swapping or rewriting a few names in a tight loop (a build, `git checkout`, a renaming
   * script) made one lstat, one watch closed (inotify_rm_watch waits for the kernel, about a
   * millisecond) and made again, one readdir and the reload's realpath per EVENT, and every
   * request waited seconds behind them (33,000 swaps of one folder in 3 s: 4.3 s without an
   * answer). Now each path is handled once, whatever its number of events, PATHS_PER_SLICE a turn.
   */
  const arrived = new Map<string, { inPlace: boolean; entry: boolean }>();
  let flushing = false;
  /**
   * The kernel's queue may have overflowed (onQueueOverflow): once the events read are handled, the
   * tree is walked again, at most once per MIN_REWATCH_GAP_MS and per REWATCH_GAP_FACTOR times
   * the last walk's length (a writer flooding without end, a tree of 50,000 folders).
   */
  let overflowed = false;
  let nextRewatch = -Infinity;
  let rewatchTimer: NodeJS.Timeout | undefined;
  const arrive = (path: string, inPlace: boolean, entry: boolean): void => {
    const known = arrived.get(path);
    if (known !== undefined) {
      known.inPlace &&= inPlace;
      known.entry ||= entry;
      return;
    }
    arrived.set(path, { inPlace, entry });
    // Bounded: this many distinct paths waiting are handled now, a slice at a time.
    if (arrived.size >= MAX_WAITING_PATHS) while (arrived.size > 0 && !closed) flush();
    else if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };
  /** Handles PATHS_PER_SLICE paths in arrival order; more wait for the next turn (requests first). */
  const flush = (): void => {
    flushing = false;
    if (closed) {
      arrived.clear();
      return;
    }
    const batch: [string, { inPlace: boolean; entry: boolean }][] = [];
    for (const item of arrived) {
      batch.push(item);
      arrived.delete(item[0]);
      if (batch.length >= PATHS_PER_SLICE) break;
    }
    // The tree first (a folder made is watched before its change is reported), then the changes.
    let reshaped = false;
    for (const [path, { entry }] of batch) if (entry && entryChanged(path)) reshaped = true;
    // A folder or link made, moved or removed may be where a link leads (latest → build, rebuilt).
    if (reshaped) relinkMoved();
    for (const [path, { inPlace }] of batch) {
      if (closed) break;
      onChange(path, inPlace);
      for (const alias of aliasesOf(path)) onChange(alias, inPlace);
    }
    if (arrived.size > 0 && !flushing && !closed) {
      flushing = true;
      setImmediate(flush);
    } else if (arrived.size === 0 && overflowed && !closed && rewatchTimer === undefined) {
      const wait = nextRewatch - Date.now();
      if (wait > 0) {
        rewatchTimer = setTimeout(() => {
          rewatchTimer = undefined;
          if (!flushing && !closed) flush();
        }, wait).unref();
        return;
      }
      overflowed = false;
      const began = Date.now();
      rewatch();
      nextRewatch = began + Math.max(MIN_REWATCH_GAP_MS, (Date.now() - began) * REWATCH_GAP_FACTOR);
    }
  };

  /** The watched root's inode while it is watched (a folder made again under its name has another). */
  let rootIno: number | undefined;
  /** The watched root's identity (identityOf) while it is watched: its birth time tells a folder made again with its inode number. */
  let rootIdentity: FileIdentity | undefined;
  /** The watched root is a file, not a folder (a --watch file): its own changes are reported under its name. */
  let rootIsFile = false;
  /** While the root is gone: the watch on the nearest folder above it that exists, or a poll; `recheck` looks again. */
  let awaiting: { readonly close: () => void; readonly recheck: () => void } | undefined;
  /**
   * While the root is watched through symbolic links on its own path (`--watch templates`,
   * templates → v1; `--watch current/tpl`, current → v1): a watch on the folder holding each such
   * link, and the real path the root led to when it was walked. fs.watch follows a link once, so
   * `ln -sfn v2 templates` left every watch on v1: saves under the path (now v2) reloaded nothing
   * and saves in v1 (no longer under it) reloaded pages. A link there replaced now counts as the
   * root gone and back. The served root and mounts are real paths: none of this is made for them.
   */
  const linkGuards: FSWatcher[] = [];
  let rootTarget: string | undefined;
  const dropAll = (): void => {
    for (const w of folders.values()) w.close();
    for (const w of links.values()) w.close();
    for (const w of linkGuards.splice(0)) w.close();
    folders.clear();
    links.clear();
    linked.clear();
    linkTargets.clear();
    folderLinkTargets.clear();
    for (const a of awaitedLinks.values()) a.close();
    awaitedLinks.clear();
    rootTarget = undefined;
  };
  /** realpath(3) of the root now, or undefined when it leads nowhere. */
  const rootTargetNow = (): string | undefined => realPathOf(rootReal);
  /**
   * Watches the folder of each symbolic link the root's path goes through (linkGuards), links in
   * links' targets too (templates → current/tpl, current → v1), once the root is watched.
   */
  const guardLinks = (): void => {
    rootTarget = rootTargetNow();
    if (rootTarget === undefined || rootTarget === rootReal) return;
    let path = parse(rootReal).root;
    const segments = rootReal.slice(path.length).split(sep);
    // As realpath(3) resolves it, at most MAX_LINK_HOPS links (the kernel's ELOOP bound).
    for (let hops = 0; segments.length > 0 && hops <= MAX_LINK_HOPS; ) {
      const segment = segments.shift() ?? '';
      if (segment === '' || segment === '.') continue;
      const next = join(path, segment);
      let target: string | undefined;
      try {
        if (lstatSync(next, { throwIfNoEntry: false })?.isSymbolicLink() === true) target = readlinkSync(next);
      } catch {
        // Not readable: not guarded (its folder cannot be watched either).
      }
      if (target === undefined) {
        path = next;
        continue;
      }
      hops += 1;
      guard(next);
      if (isAbsolute(target)) path = parse(target).root;
      segments.unshift(...target.slice(isAbsolute(target) ? path.length : 0).split(sep));
    }
  };
  /** Watches the folder holding the link `link` for its name: replaced to lead elsewhere, the root is walked again. */
  const guard = (link: string): void => {
    const name = basename(link);
    try {
      const holder = dirname(link);
      const holderIdentity = identityOf(holder);
      const w = watch(holder, { persistent: false }, (event, filename) => {
        noteInotifyEvent();
        if (closed) return;
        // The folder holding the link itself removed or moved (see isOwnEvent): this watch is
        // dead, whatever is there now; the root is walked and its links guarded again.
        if (isOwnEvent(holder, holderIdentity, event, filename)) {
          rootGone();
          return;
        }
        if (filename !== null && filename.toString() !== name) return;
        if (rootTarget !== undefined && (rootTargetNow() !== rootTarget || rootReplaced())) rootGone();
      });
      w.on('error', () => w.close());
      linkGuards.push(w);
    } catch {
      // The folder of the link cannot be watched: the root is watched where it leads now.
    }
  };
  /**
   * Past the inotify watch limit, the folders past it are not watched; the message says to raise
   * the limit, which did nothing until the next start. The limits are read every LIMIT_POLL_MS
   * (two small files), and once one is raised the tree is walked again (rewatch: the folders
   * watched keep their watches) and a limit still too low is said again.
   */
  let limitPoll: NodeJS.Timeout | undefined;
  const awaitLimitRaised = (): void => {
    if (limitPoll !== undefined || closed) return;
    const at = watchLimits();
    limitPoll = setInterval(() => {
      const now = watchLimits();
      if (!now.some((limit, i) => limit > (at[i] ?? Infinity))) return;
      clearInterval(limitPoll);
      limitPoll = undefined;
      limitSaid = false;
      rewatch(false);
    }, LIMIT_POLL_MS).unref();
  };
  const closeAll = (): void => {
    closed = true;
    if (limitPoll !== undefined) clearInterval(limitPoll);
    stopListening();
    if (rewatchTimer !== undefined) clearTimeout(rewatchTimer);
    dropAll();
    awaiting?.close();
    awaiting = undefined;
  };
  let limitSaid = false;
  const deniedSaid = new Set<string>();
  let moreDeniedSaid = false;
  /**
   * A folder (or link) that may not be read, so not watched: named once (true), or false for any
   * other error. Its changes, and those of the folders in it, reload nothing.
   */
  const denied = (path: string, err: unknown): boolean => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return false;
    if (closed || deniedSaid.has(path)) return true;
    if (deniedSaid.size < MAX_DENIED_NAMED) {
      deniedSaid.add(path);
      onError(describeDenied(path, code));
    } else if (!moreDeniedSaid) {
      moreDeniedSaid = true;
      onError(`live reload cannot watch more folders either (no permission, ${code}); changes in them reload nothing (they are not named, to keep this short)`);
    }
    return true;
  };
  /**
   * A watch that cannot be made: a path gone is nothing; running out of inotify watches is said
   * once and the watches made so far keep working (a folder past the limit goes unwatched); any
   * other error ends everything (said once).
   */
  const failed = (err: unknown): void => {
    const code = (err as NodeJS.ErrnoException).code;
    // ENAMETOOLONG: a folder nested past PATH_MAX (made while running) stopped the watching of
    // every file; nothing under it can be served (its paths are too long to open), so it is left
    // unwatched, as a link loop is.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' || code === 'ELOOP' || code === 'ENAMETOOLONG') return;
    if (closed) return;
    if (code === 'ENOSPC') {
      if (!limitSaid) {
        onError(describeWatchError(err));
        awaitLimitRaised();
      }
      limitSaid = true;
      return;
    }
    onError(describeWatchError(err));
    closeAll();
  };
  const forget = (path: string): void => {
    const inside = path + sep;
    for (const p of linkTargets.keys()) if (p === path || p.startsWith(inside)) linkTargets.delete(p);
    for (const p of folderLinkTargets.keys()) if (p === path || p.startsWith(inside)) folderLinkTargets.delete(p);
    for (const [p, a] of awaitedLinks) {
      if (p === path || p.startsWith(inside)) {
        a.close();
        awaitedLinks.delete(p);
      }
    }
    for (const p of linked) if (p === path || p.startsWith(inside)) linked.delete(p);
    for (const map of [folders, links]) {
      for (const [p, w] of map) {
        if (p === path || p.startsWith(inside)) {
          w.close();
          map.delete(p);
        }
      }
    }
  };
  /**
   * Every link in the tree (watched or not: one that leads nowhere yet) with the real path it led
   * to when its watch was made (undefined: nowhere). fs.watch follows a link once: `rm -rf build`
   * and a rebuild left latest → build watching the removed folder, and `ln -sfn v2 current` left
   * shipped → current/dist on v1/dist, so their changes were no longer named under the link.
   */
  const linkTargets = new Map<string, string | undefined>();
  /** Watches again, where they lead now, the links whose real path changed (relinkMoved: once per slice). */
  const relinkMoved = (): void => {
    for (const [path, target] of [...linkTargets]) {
      if (closed) return;
      if (realPathOf(path) === target) continue;
      // The folders walked through it too: they are where it led.
      forget(path);
      addLink(path);
    }
  };
  /**
   * The other names of `path` under links in the tree that lead to a folder above it, two levels or
   * more down (`latest` → `releases/v2`: releases/v2/css/app.css is latest/css/app.css too). The
   * link's own watch names what is directly in that folder; deeper, only the folders' own watches
   * see a change, under their real place, and a page that loaded latest/css/app.css matched no
   * stylesheet and reloaded whole (helper-112).
   */
  const aliasesOf = (path: string): string[] => {
    const out: string[] = [];
    for (const [link, inTreeTarget] of folderLinkTargets) {
      if (!path.startsWith(inTreeTarget + sep)) continue;
      const rest = path.slice(inTreeTarget.length + 1);
      if (rest.includes(sep)) out.push(join(link, rest));
    }
    return out;
  };
  /**
   * The watched links in the tree that lead to a folder in the tree, each with that folder's path
   * as the tree names it (rootReal, not where a --watch root's links lead): what aliasesOf looks
   * through for every changed path, so out-of-tree, dangling and file links cost it nothing. Kept
   * beside `links` (addLink, forget, a watch's error, dropAll, rewatch).
   */
  const folderLinkTargets = new Map<string, string>();
  /** True when a folder above `path` in the tree is a link (path lies in a folder a link leads to). */
  const underLink = (path: string): boolean => {
    for (let p = dirname(path); p.length > rootReal.length && p !== dirname(p); p = dirname(p)) if (links.has(p)) return true;
    return false;
  };
  /** True when the real path `real` is the root or inside it (watched in its own place), where the root leads (a --watch path through links). */
  const inTree = (real: string): boolean => {
    const top = rootTarget ?? rootReal;
    return real === top || real.startsWith(top.endsWith(sep) ? top : top + sep);
  };
  /** True when the server serves what the real path `real` is through a link (LinkJudge; by default, inside the tree). */
  const served = (real: string): boolean => (judge === undefined ? inTree(real) : judge(real));
  /** True while there is room for one more folder or link behind a link (MAX_LINKED_FOLDERS); says once when there is none. */
  const roomBehindLinks = (): boolean => {
    if (linked.size < MAX_LINKED_FOLDERS) return true;
    if (!linkedLimitSaid && !closed) onError(`live reload watches ${MAX_LINKED_FOLDERS} folders and links behind symbolic links that lead out of the served folder, no more: changes in the others reload nothing (link a smaller folder, or reload pages yourself)`);
    linkedLimitSaid = true;
    return false;
  };
  const addLink = (path: string): void => {
    if (closed || links.has(path) || skip(path)) return;
    // A link found behind a link (in a folder walked through one) counts toward the bound: not
    // even recorded past it (relinkMoved looks at each recorded link again).
    const behind = underLink(path);
    if (behind && !roomBehindLinks()) return;
    const target = realPathOf(path);
    linkTargets.set(path, target);
    // Leads nowhere (yet): watched once what it leads to is made (awaitTarget).
    if (target === undefined) {
      if (awaitTarget(path) && behind) linked.add(path);
      return;
    }
    // Refused by the server (a hidden real path; out of the tree without followSymlinks): nothing
    // through it can reload a page. Kept in linkTargets: re-pointed, it is judged again.
    if (!served(target)) return;
    try {
      // fs.watch follows the link. A change in a folder it leads to is reported under the link's
      // name plus the entry's (latest/access.log, latest/s.css), so the caller's rules (the log
      // file, ignore globs, editors' temporaries, a stylesheet swapped in place) see what changed;
      // a change of a file it leads to, as a change of the link.
      const intoFolder = statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
      // A folder outside the tree, served: walked into, so its entries made, renamed or removed
      // reshape the tree under the link as the tree's own do.
      const walked = intoFolder && target !== undefined && !inTree(target) && !behind;
      const leadsTo = identityOf(path);
      const w = watch(path, { persistent: false }, (event, filename) => {
        noteInotifyEvent();
        if (closed) return;
        // Where it leads removed or moved (see isOwnEvent): this watch is dead, even when a folder
        // is there again (`rm -rf build && mkdir build`, the same inode number): the link's own
        // entry changed, so it is watched again where it leads now.
        if (isOwnEvent(path, leadsTo, event, filename)) {
          arrive(path, false, true);
          return;
        }
        const named = intoFolder && filename !== null && filename.length > 0 ? join(path, filename.toString()) : path;
        arrive(named, event === 'change', walked && event === 'rename' && named !== path);
      });
      w.on('error', () => {
        w.close();
        // Only this watch: the name may be watched anew by now.
        if (links.get(path) === w) {
          links.delete(path);
          folderLinkTargets.delete(path);
        }
      });
      links.set(path, w);
      if (intoFolder && inTree(target)) folderLinkTargets.set(path, rootReal + target.slice((rootTarget ?? rootReal).length));
      if (behind) linked.add(path);
      if (walked) walkInto(path);
    } catch (err) {
      // Gone since the realpath: awaited as any link that leads nowhere.
      if (isGone(err)) {
        if (awaitTarget(path) && behind) linked.add(path);
      } else if (!denied(path, err)) failed(err);
    }
  };
  /**
   * The links that lead nowhere (yet) whose target is awaited (at most MAX_AWAITED_LINKS), each
   * with its watch's `close` (the watch of the nearest folder on its way that exists). fs.watch
   * cannot watch what is not there, and outside the tree nothing else sees it made: after a build's
   * `rm -rf ../ui/dist && mkdir ../ui/dist`, site/dist → ../ui/dist was never watched again and
   * saves there (served through it) reloaded nothing.
   */
  const awaitedLinks = new Map<string, { readonly close: () => void }>();
  let awaitedLimitSaid = false;
  /**
   * Where the link `path` would lead while it leads nowhere: the path it names, each link on the
   * way that exists followed (at most MAX_LINK_HOPS; a relative one from its folder's real path),
   * up to the first name that does not exist; undefined when that cannot be told (a loop, no
   * permission).
   */
  const pendingTarget = (path: string): string | undefined => {
    let p = path;
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      let text: string;
      try {
        if (lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() !== true) return p;
        text = readlinkSync(p);
      } catch {
        return undefined;
      }
      const folder = dirname(p);
      p = resolve(realPathOf(folder) ?? folder, text);
    }
    return undefined;
  };
  /**
   * Awaits the target of the link `path`, which leads nowhere now, when the server would serve it
   * there (else nothing could reload a page): watches the nearest folder on its way that exists
   * (one inotify watch; a deeper one as they are made; none where the tree watches that folder
   * already, whose changes relinkMoved follows), and once the link leads somewhere, it is handled
   * as an entry made (watched, walked where served, reported: pages reload). True when awaited.
   */
  const awaitTarget = (path: string): boolean => {
    if (closed || awaitedLinks.has(path)) return awaitedLinks.has(path);
    const pending = pendingTarget(path);
    if (pending === undefined || !served(pending)) return false;
    if (awaitedLinks.size >= MAX_AWAITED_LINKS) {
      if (!awaitedLimitSaid) onError(`live reload awaits ${MAX_AWAITED_LINKS} symbolic links that lead nowhere (yet), no more: the others are not watched once what they lead to is made, so changes there reload nothing (reload pages yourself, or start again once it is there)`);
      awaitedLimitSaid = true;
      return false;
    }
    let watched: string | undefined;
    /** The name in `watched` on the way to the target: events of other names are not looked at. */
    let next: string | undefined;
    let w: FSWatcher | undefined;
    const stop = (): void => {
      w?.close();
      w = undefined;
    };
    const check = (): void => {
      if (closed || awaitedLinks.get(path) !== entry) return;
      if (realPathOf(path) !== undefined) {
        stop();
        awaitedLinks.delete(path);
        arrive(path, false, true);
        return;
      }
      const target = pendingTarget(path);
      let dir = target === undefined ? undefined : dirname(target);
      while (dir !== undefined && dir !== dirname(dir) && statOrNone(dir)?.isDirectory() !== true) dir = dirname(dir);
      if (dir === watched) return;
      stop();
      watched = dir;
      if (dir === undefined || target === undefined || folders.has(dir)) return;
      next = target.slice(dir.length).split(sep).find((s) => s !== '');
      const identity = identityOf(dir);
      const here = dir;
      try {
        const made = watch(here, { persistent: false }, (event, filename) => {
          noteInotifyEvent();
          // This folder itself removed or moved (see isOwnEvent): one higher up is watched.
          if (isOwnEvent(here, identity, event, filename)) watched = undefined;
          else if (filename !== null && filename.toString() !== next) return;
          check();
        });
        made.on('error', () => {
          made.close();
          if (w === made) w = undefined;
          watched = undefined;
        });
        w = made;
      } catch {
        // Not watchable (no permission): the link is found again only when the tree reshapes.
      }
      // Made between the stat above and the watch: seen now.
      if (realPathOf(path) !== undefined) check();
    };
    const entry = { close: stop };
    awaitedLinks.set(path, entry);
    check();
    return true;
  };
  /** Watches the folders in `dir` (a folder a link leads to from outside the tree, or one in it), a link's own excepted. */
  const walkInto = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (closed) return;
      const path = join(dir, e.name);
      if (e.isDirectory()) addFolder(path, true);
      else if (e.isSymbolicLink()) addLink(path);
    }
  };
  /** An entry that was created, renamed or deleted: follow the tree's shape. */
  const entryChanged = (path: string): boolean => {
    let st;
    try {
      st = lstatSync(path, { throwIfNoEntry: false });
    } catch {
      return false;
    }
    const reshaped = folders.has(path) || links.has(path) || linkTargets.has(path) || st?.isDirectory() === true || st?.isSymbolicLink() === true;
    // An entry made, renamed or removed under this name: any folder watch there may be the old
    // folder's (rm -r a && mkdir a before this event was read: the watch follows the removed
    // folder, and the new one may even reuse its inode number), so it goes, and one is made
    // again for a folder there now; a file or a link in its place has none.
    // A link made again under this name (`ln -sfn v3 latest` renames a new link over it) may
    // lead elsewhere now: its watch goes too, and one is made where it leads now.
    if (st === undefined || folders.has(path) || links.has(path) || linkTargets.has(path)) forget(path);
    if (st?.isDirectory() === true) addFolder(path, underLink(path));
    else if (st?.isSymbolicLink() === true) addLink(path);
    return reshaped;
  };
  /**
   * `viaLink`: `dir` lies in a folder a link leads to from outside the tree; such folders are
   * bounded, never the tree's own, and judged by their real path as the server judges them.
   */
  const addFolder = (dir: string, viaLink = false): void => {
    if (closed || folders.has(dir) || (dir !== rootReal && skip(dir))) return;
    if (viaLink) {
      // Through a link that leads back into the tree (ui/app → ../site): watched where it is.
      const real = realPathOf(dir);
      if (real === undefined || inTree(real) || !served(real) || !roomBehindLinks()) return;
    }
    let w: FSWatcher;
    // The root's identity (isOwnEvent): a folder inside it named like it (dist/dist) is no removal of it.
    const ownIdentity = dir === rootReal ? identityOf(dir) : undefined;
    if (dir === rootReal) rootIdentity = ownIdentity;
    try {
      w = watch(dir, { persistent: false }, (event, filename) => {
        noteInotifyEvent();
        if (closed) return;
        // The root itself removed or moved away (see isOwnEvent): nothing above it is watched, so
        // its return must be awaited. Its inode number alone cannot tell: `rm -r dist && mkdir
        // dist` gives the new folder the old one's number at once on ext4 (CI, stop 33: a mount
        // made again in one go reloaded nothing after). A watched file's every `rename` is its own.
        if (dir === rootReal && event === 'rename' && (rootIsFile || isOwnEvent(dir, ownIdentity, event, filename) || rootReplaced())) {
          rootGone();
          return;
        }
        // A null name (rare) means "something changed here": the folder itself. A watched file
        // reports its own name: the change is the file's.
        const path = filename === null || (dir === rootReal && rootIsFile) ? dir : join(dir, filename.toString());
        arrive(path, event === 'change', event === 'rename' && path !== dir);
      });
    } catch (err) {
      if (denied(dir, err)) return;
      if (dir !== rootReal) failed(err);
      else if (isGone(err)) awaitRoot(true);
      else onError(describeWatchError(err));
      return;
    }
    w.on('error', (err) => {
      // The folder itself went away (its parent reports that too), or the watch broke.
      w.close();
      // Only this watch: the name may be watched anew by now (a folder made again).
      if (folders.get(dir) === w) folders.delete(dir);
      if (dir !== rootReal) return;
      if (rootReplaced()) rootGone();
      else failed(err);
    });
    folders.set(dir, w);
    if (viaLink) linked.add(dir);
    if (dir === rootReal) {
      const st = statOrNone(dir);
      rootIno = st?.ino;
      rootIsFile = st !== undefined && !st.isDirectory();
      guardLinks();
      // A file has no entries to walk.
      if (rootIsFile) return;
    }
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (!denied(dir, err)) failed(err);
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) addFolder(join(dir, e.name), viaLink);
      else if (e.isSymbolicLink()) addLink(join(dir, e.name));
    }
  };

  /**
   * True when the root is no longer the folder (or file) being watched: gone, of the other kind,
   * or another one (an atomic save renames a new file onto a watched file's name).
   */
  const rootReplaced = (): boolean => {
    try {
      const st = statSync(rootReal, { throwIfNoEntry: false });
      return st === undefined || st.isDirectory() === rootIsFile || st.ino !== rootIno;
    } catch {
      return true;
    }
  };
  /** The root went (`rm -rf dist`, a folder moved away): its watches go, and its return is awaited. */
  const rootGone = (): void => {
    dropAll();
    rootIno = undefined;
    awaitRoot(false);
  };
  /**
   * Waits for the root to be there again (a build that wipes and rebuilds its output, a --watch
   * folder made after the start, a watched file saved by renaming a temporary onto it or
   * deleted and written again): watches the nearest folder above it that exists (one
   * inotify watch; a deeper one once it is made), or, where that cannot be watched, polls every
   * ROOT_POLL_MS. Once it is back, it is walked and watched as at the start, and reported as
   * changed (pages reload: the build is new). `atStart`: it was not there at the start (said once).
   */
  const awaitRoot = (atStart: boolean): void => {
    if (closed) return;
    if (atStart) {
      // Under a file (`notes.txt/templates`), it cannot be made until that file goes: named.
      const file = notAFolderOnPath(rootReal);
      onError(
        file === undefined
          ? 'live reload: this folder does not exist (yet); it is watched from when it is made'
          : `live reload: this folder does not exist, nor can it yet: ${file}; it is watched from when it is made`,
      );
    }
    let watched: string | undefined;
    let ancestor: FSWatcher | undefined;
    let poll: NodeJS.Timeout | undefined;
    const stop = (): void => {
      ancestor?.close();
      ancestor = undefined;
      if (poll !== undefined) clearInterval(poll);
      poll = undefined;
    };
    awaiting = {
      close: stop,
      // The kernel's queue overflowed: the folder watched above may be gone, the root made.
      recheck: () => {
        watched = undefined;
        check();
      },
    };
    const check = (): void => {
      if (closed || awaiting?.close !== stop) return;
      if (statOrNone(rootReal) !== undefined) {
        stop();
        awaiting = undefined;
        addFolder(rootReal);
        if (folders.has(rootReal)) onChange(rootReal, false);
        return;
      }
      // The nearest folder above the root that exists now (it may be deeper than the last one).
      let dir = dirname(rootReal);
      while (dir !== dirname(dir) && statOrNone(dir)?.isDirectory() !== true) dir = dirname(dir);
      if (dir === watched) return;
      ancestor?.close();
      ancestor = undefined;
      watched = dir;
      const identity = identityOf(dir);
      try {
        const w = watch(dir, { persistent: false }, (event, filename) => {
          noteInotifyEvent();
          // This folder itself removed or moved (see isOwnEvent): watched anew, even where a
          // folder is there again under its name (the same inode number: the watch is dead).
          if (isOwnEvent(dir, identity, event, filename)) watched = undefined;
          check();
        });
        w.on('error', () => {
          w.close();
          if (ancestor === w) ancestor = undefined;
          watched = undefined;
          poll ??= setInterval(check, ROOT_POLL_MS).unref();
        });
        ancestor = w;
      } catch {
        poll ??= setInterval(check, ROOT_POLL_MS).unref();
      }
      // Made between the stat above and the watch: seen now.
      if (statOrNone(rootReal) !== undefined) check();
    };
    check();
  };

  /**
   * The kernel's inotify queue overflowed (onQueueOverflow): the events past its limit were
   * dropped, a folder made meanwhile is not watched, one removed and made again is watched where
   * it was, a link re-pointed still leads to its old place. The root removed, moved, replaced or
   * re-pointed meanwhile is gone and back; else the tree is walked again as at the start: each
   * folder still there is watched again by the same inotify watch (libuv keeps one per inode, so
   * the old handles are closed after, at no kernel cost), and one made meanwhile anew. Pages reload
   * (the root changed: which of their files changed is not known) when `reload`.
   */
  const rewatch = (reload = true): void => {
    if (closed) return;
    if (awaiting !== undefined) {
      awaiting.recheck();
      return;
    }
    const now = identityOf(rootReal);
    if (now === undefined || rootIdentity === undefined || !sameFile(now, rootIdentity) || rootReplaced() || (rootTarget !== undefined && rootTargetNow() !== rootTarget)) {
      rootGone();
      return;
    }
    const old = [...folders.values(), ...links.values(), ...linkGuards.splice(0)];
    const oldAwaited = [...awaitedLinks.values()];
    folders.clear();
    links.clear();
    linked.clear();
    linkTargets.clear();
    folderLinkTargets.clear();
    awaitedLinks.clear();
    rootTarget = undefined;
    addFolder(rootReal);
    for (const w of old) w.close();
    for (const a of oldAwaited) a.close();
    if (!closed && reload) onChange(rootReal, false);
  };
  const stopListening = onQueueOverflow(() => {
    overflowed = true;
    if (!flushing && !closed) {
      flushing = true;
      setImmediate(flush);
    }
  });

  addFolder(rootReal);
  return { close: closeAll, rewalk: () => rewatch(false) };
}

/**
 * Every fs.watch of a process (of a thread) on Linux shares libuv's one inotify instance, and its
 * queue of at most fs.inotify.max_queued_events events. Past that, the kernel drops every event
 * and queues IN_Q_OVERFLOW, which libuv drops too (it belongs to no watch): nothing tells a
 * watch. But libuv reads the whole queue in one go (until the read would block), each event to
 * its callbacks at once, so a queue that overflowed is read as one run of at least about its
 * length: every inotify callback calls noteInotifyEvent, and a run of half the queue's length or
 * more counts as an overflow (a longer run without one costs a walk of the tree, never an event).
 */
const overflowListeners = new Set<() => void>();
let runLength = 0;
let runEnd: NodeJS.Immediate | undefined;
let overflowRun: number | undefined;

/** Counts one inotify event (see overflowListeners); call it first in each fs.watch callback on Linux. */
export function noteInotifyEvent(): void {
  if (overflowListeners.size === 0) return;
  runLength += 1;
  // After the poll phase that read the run (setImmediate runs once it is done).
  runEnd ??= setImmediate(() => {
    runEnd = undefined;
    const length = runLength;
    runLength = 0;
    if (length >= (overflowRun ??= queueOverflowRun())) for (const listener of [...overflowListeners]) listener();
  });
}

/**
 * Calls `listener` after a run of inotify events long enough that the kernel's queue may have
 * overflowed (events were lost: what they said must be found out again). Returns the unsubscribe.
 */
export function onQueueOverflow(listener: () => void): () => void {
  overflowListeners.add(listener);
  return () => overflowListeners.delete(listener);
}

/** Half of fs.inotify.max_queued_events (see overflowListeners); never, where it cannot be read. */
function queueOverflowRun(): number {
  try {
    const queued = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'latin1').trim());
    return Number.isSafeInteger(queued) && queued > 0 ? Math.max(1, Math.floor(queued / 2)) : Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * Paths the Linux watcher handles in one turn of the event loop (watchFolders' `flush`): each
 * costs a few system calls and the reload's checks (about 25 µs), so a slice is a few
 * milliseconds, and requests are answered between slices while a build writes 40,000 files.
 */
export const PATHS_PER_SLICE = 256;

/**
 * Distinct paths that may wait to be handled (watchFolders' `arrive`, about 150 bytes each):
 * bounds that map's memory in a flood of new names. Reached, they are all handled at once, as
 * every event was before the slices (about 25 µs each): a build writing 20,000 files makes
 * 40,000-60,000 paths, handled in slices; only a flood past this stalls answers.
 */
export const MAX_WAITING_PATHS = 100_000;

/**
 * Folders and links watched behind links that lead out of the tree (watchFolders' `linked`), each
 * one inotify watch: a link to `/` walks no further (it took about 3,000 watches while links
 * found in there were not counted).
 */
export const MAX_LINKED_FOLDERS = 2_000;

/**
 * Links that lead nowhere (yet) whose target is awaited (watchFolders' awaitTarget), each one
 * inotify watch on the nearest folder on its way: a tree of dangling links (a checkout before
 * its build, links into a removed folder) costs no more.
 */
export const MAX_AWAITED_LINKS = 2_000;

/** How often the inotify watch limits are read again once one was reached (watchFolders' awaitLimitRaised), ms. */
export const LIMIT_POLL_MS = 2_000;

/**
 * The inotify watch limits that may bind now: the machine's (fs.inotify.max_user_watches) and this
 * user namespace's (user.max_inotify_watches); 0 for one that cannot be read.
 */
function watchLimits(): number[] {
  return ['/proc/sys/fs/inotify/max_user_watches', '/proc/sys/user/max_inotify_watches'].map((file) => {
    try {
      const n = Number(readFileSync(file, 'latin1').trim());
      return Number.isSafeInteger(n) ? n : 0;
    } catch {
      return 0;
    }
  });
}

/** The least time between two walks of the tree after inotify queue overflows (watchFolders' rewatch), ms. */
export const MIN_REWATCH_GAP_MS = 1_000;
/** ... and the least multiple of the last walk's length: such walks take at most a tenth of the time. */
export const REWATCH_GAP_FACTOR = 10;

/**
 * Symbolic links followed on a watched root's path when its links are guarded (watchFolders'
 * guardLinks): Linux's own bound for one path lookup (MAXSYMLINKS, past which it says ELOOP).
 */
const MAX_LINK_HOPS = 40;

/** How often a root that is gone is looked for where the folder above it cannot be watched (ms). */
const ROOT_POLL_MS = 1_000;

/**
 * What `path` is now (statSync: a link followed, as fs.watch follows it), as loopback-only's
 * FileIdentity; undefined when nothing is there.
 */
export function identityOf(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st === undefined ? undefined : { dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * True when a watch of `watchedPath` (made on `watched`, identityOf before the watch) reports its
 * own removal or move (inotify's IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED: libuv gives them as a
 * `rename`, named after the path that first watched that inode), after which the watch reports
 * nothing more, even when another folder or file is made under the name at once with the same
 * inode number. Where birth times are kept, every `rename` the watch reports is checked by the
 * path's identity (one stat), whatever its name. An entry
 * inside a folder that has the folder's own name (dist/dist) reports the same `rename`: it is told
 * apart by the folder's identity, still the one watched (its birth time too: a folder made again
 * at once may get the old inode number, never the old birth time). Each such event taken for the
 * folder's own re-walked and re-watched the whole tree (a file dist/dist written in a loop: an
 * event storm, and a full reload each time). Where the file system keeps no birth time, the
 * name alone decides (watched again: costly, never wrong).
 */
export function isOwnEvent(watchedPath: string, watched: FileIdentity | undefined, event: string, filename: string | Buffer | null): boolean {
  if (event !== 'rename') return false;
  // Told by identity where the file system keeps birth times, whatever the name: libuv names a
  // watch's own end after the path that first watched that inode (one inotify watch serves every
  // fs.watch of it), so a link's watch of a folder the tree also watches heard `build`, not
  // `latest` (CI, stop 34: 1 in 20 runs, the link then never watched again).
  if (watched !== undefined && (watched.birthtimeMs ?? 0) !== 0) {
    const now = identityOf(watchedPath);
    return now === undefined || !sameFile(now, watched);
  }
  return filename !== null && filename.toString() === basename(watchedPath);
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Folders that may not be read named one by one, at most; one more line says there are others. */
export const MAX_DENIED_NAMED = 5;

/** A folder (or link) `path` that may not be read (`code`: EACCES or EPERM): what happens, what to do. */
function describeDenied(path: string, code: string): string {
  return `live reload cannot watch ${path}: no permission to read it (${code}), so changes in it and in the folders in it reload nothing; give the user running Porthole permission to read it (e.g. chmod a+rx) and start again, or reload pages yourself`;
}

function describeWatchError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') {
    return 'live reload cannot watch every folder: the inotify watch limit is reached, so changes in the folders past it reload nothing (raise fs.inotify.max_user_watches: they are watched once it is raised; or add --reload-ignore globs for folders of generated files: ignored folders are not watched)';
  }
  if (code === 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM') return 'live reload: recursive file watching is not available on this platform';
  const instances = noWatcherLeft(err);
  if (instances !== undefined) return `live reload cannot watch files, so pages do not reload by themselves: ${instances}`;
  return `live reload stopped watching files: ${(err as Error).message}`;
}

/**
 * When fs.watch failed for want of an inotify instance (Linux: EMFILE from inotify_init1, once per
 * process; ENFILE: the system's file table), what happened and what to do, as one clause; else
 * undefined. Node's own words ("EMFILE: too many open files, watch '/site'") named neither
 * inotify nor its limit, which editors and sync tools often use up (128 instances per user).
 */
export function noWatcherLeft(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (process.platform !== 'linux' || (code !== 'EMFILE' && code !== 'ENFILE')) return undefined;
  return `no inotify instance could be made (${code}): the limit of inotify instances per user (fs.inotify.max_user_instances; editors and sync tools use them too) or of open files is reached; raise it (e.g. sudo sysctl fs.inotify.max_user_instances=512) or close programs that watch files, and start Porthole again`;
}
