/**
 * Validators of a file (RFC 9110 §8.8): the strong entity tag and Last-Modified, built so that
 * they change whenever the bytes may have changed.
 *
 * Size and mtime alone are not enough: `cp -p`, `rsync -t`, unzip, `touch -r` and `utimes()` put
 * an old mtime back on new bytes, and a same-size rewrite then kept its tag (a browser holding it
 * got 304 and kept the old code). So:
 * - a file read whole (every cached file) is tagged by a hash of its bytes: the tag changes
 *   exactly when the content does (a `touch` or a same-content save keeps it);
 * - a file streamed from disk (too big to cache) is tagged by its identity and change time too:
 *   device, inode (a rename-over or a copy is a new inode), size, mtime and ctime. The kernel sets
 *   ctime on every write, rename and utimes() and no user call can set it back.
 * Last-Modified is the later of mtime and ctime, for clients that revalidate by date only
 * (If-Modified-Since, If-Range with a date): a restored mtime no longer makes a changed file look
 * unmodified to them.
 *
 * Both tags have the shape `"<16 hex>-<size in hex>"`; the two kinds never share a hash input.
 */
import { nodeCrypto } from '../node-crypto';
import type { Stats } from 'node:fs';
import { formatHttpDate } from '../http/http-date';
import type { Validators } from './preconditions';

/** The moment Last-Modified states, in milliseconds since the epoch: max(mtime, ctime). */
export function lastModifiedMsOf(st: Stats): number {
  return Math.max(st.mtimeMs, st.ctimeMs);
}

function tag(hash: string, size: number): string {
  return `"${hash.slice(0, 16)}-${size.toString(16)}"`;
}

/**
 * The strong ETag of a file known by its Stats only: a hash of device, inode, size, mtime and
 * ctime (microseconds). Costs one SHA-1 of ~60 bytes (about a microsecond).
 */
export function statEtag(st: Stats): string {
  const identity = `s:${st.dev}:${st.ino}:${st.size}:${Math.floor(st.mtimeMs * 1000)}:${Math.floor(st.ctimeMs * 1000)}`;
  return tag(nodeCrypto().createHash('sha1').update(identity).digest('hex'), st.size);
}

/** The strong ETag of bytes read whole: a SHA-1 of the content (computed once, when cached). */
export function contentEtag(body: Buffer): string {
  return tag(nodeCrypto().createHash('sha1').update('c:').update(body).digest('hex'), body.length);
}

/** Validators of a file streamed from disk: statEtag and Last-Modified (whole seconds). */
export function statValidators(st: Stats): Validators {
  return { etag: statEtag(st), ...lastModifiedOf(st) };
}

/** Validators of a file read whole into `body` (its Stats from the same descriptor). */
export function contentValidators(st: Stats, body: Buffer): Validators {
  return { etag: contentEtag(body), ...lastModifiedOf(st) };
}

/**
 * Last-Modified of a file now: max(mtime, ctime), but never later than now (RFC 9110 §8.8.2.1: a
 * time in the future, from `touch -d 2099-01-01` or a clock set wrong, MUST be replaced by the
 * message's Date). A file read again after an edit then gets a later date, even though its
 * future mtime stays.
 */
function lastModifiedOf(st: Stats): Pick<Validators, 'lastModifiedSec' | 'lastModified'> {
  const ms = Math.min(lastModifiedMsOf(st), Date.now());
  return { lastModifiedSec: Math.floor(ms / 1000), lastModified: formatHttpDate(ms) };
}

/** Files DatedVersions remembers (a Map of a number and a string each: well under 2 MB). */
export const DATED_VERSIONS_MAX = 8192;

/**
 * The Last-Modified second and ETag of the version of each file (by real path) this server last
 * gave validators to, so that a second two versions share is known for what it is. A date names a
 * whole second: a file saved twice in one (an editor's quick saves, `cp` twice, a build, a FAT or
 * network folder's coarse clock) keeps its Last-Modified with other bytes, and If-Modified-Since
 * would answer 304 to a client holding the first save, If-Range a range of the second to splice
 * into the first (RFC 9110 §8.8.2.2). A version given validators in a second another version of
 * the same file already had is marked lastModifiedAmbiguous; date conditions then never match it,
 * until a later save moves Last-Modified on. Only versions this process answered are known: a
 * client holding a version from before a restart is not covered (entity tags are, always).
 * Bounded: the files answered least recently are forgotten first (DATED_VERSIONS_MAX).
 */
export class DatedVersions {
  private readonly seen = new Map<string, { sec: number; etag: string; ambiguous: boolean }>();

  /** `v` as answered for the file at real path `real`: with lastModifiedAmbiguous when its second is shared. */
  note(real: string, v: Validators): Validators {
    const sec = v.lastModifiedSec;
    if (sec === undefined) return v;
    const known = this.seen.get(real);
    let ambiguous = false;
    if (known !== undefined && known.sec === sec) {
      ambiguous = known.ambiguous || known.etag !== v.etag;
      // Moved to the end either way: a file answered again is the most recently answered (left
      // first in line, an ambiguous one answered constantly was the first forgotten, and its
      // shared second matched date conditions again).
      this.seen.delete(real);
      if (known.etag === v.etag && known.ambiguous === ambiguous) {
        this.seen.set(real, known);
        return ambiguous ? { ...v, lastModifiedAmbiguous: true } : v;
      }
    } else if (known !== undefined) {
      this.seen.delete(real);
    } else if (this.seen.size >= DATED_VERSIONS_MAX) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(real, { sec, etag: v.etag, ambiguous });
    return ambiguous ? { ...v, lastModifiedAmbiguous: true } : v;
  }
}

/** One memory for the process: what it holds are facts about files, whichever server answered them. */
export const datedVersions = new DatedVersions();

/** URL paths UrlDates remembers (a Map of a string and a number each: well under 2 MB), as DATED_VERSIONS_MAX files. */
export const URL_DATES_MAX = 8192;

/**
 * The latest Last-Modified second each URL path (the file cache's key: the request path without
 * its query) was answered with, so that a URL that goes back in time is known: a link re-pointed
 * back to an older release (`ln -sfn v1 current`), a mount or clean URL now naming an older file.
 * A client holding the newer version names its date in If-Modified-Since; the older version's
 * Last-Modified is earlier, so RFC 9110 §13.1.3's "not modified since" held and a 304 kept the
 * newer bytes (nginx, `if_modified_since exact` by default, answers 200). A version answered at a
 * URL that had a later date is marked lastModifiedWentBack: date conditions hold for its exact
 * date only, until the URL answers a version at least as new as the latest again. Only what this
 * process answered is known (entity tags, which browsers send too, are exact always). Bounded:
 * the URLs answered least recently are forgotten first (URL_DATES_MAX).
 */
export class UrlDates {
  private readonly latest = new Map<string, number>();

  /** `v` as answered at `url`: with lastModifiedWentBack when `url` answered a later date before. */
  note(url: string, v: Validators): Validators {
    const sec = v.lastModifiedSec;
    if (sec === undefined) return v;
    const known = this.latest.get(url);
    if (known !== undefined && known > sec) {
      // Moved to the end as well: a URL answered while gone back is the most recently answered
      // (left first in line, it was the first forgotten, and a 304 then kept the newer bytes).
      this.latest.delete(url);
      this.latest.set(url, known);
      return { ...v, lastModifiedWentBack: true };
    }
    if (known === undefined && this.latest.size >= URL_DATES_MAX) {
      const oldest = this.latest.keys().next().value;
      if (oldest !== undefined) this.latest.delete(oldest);
    }
    // Moved to the end: the URL's latest date, most recently answered.
    this.latest.delete(url);
    this.latest.set(url, sec);
    return v;
  }
}

/** One memory for the process, as datedVersions: what a URL answered, whichever server answered it. */
export const urlDates = new UrlDates();
