/**
 * Conditional requests, RFC 9110 §13.2.2 order: If-Match, else If-Unmodified-Since (412);
 * If-None-Match (304 for GET/HEAD, 412 otherwise), else If-Modified-Since (GET/HEAD only, 304).
 * If-Range (§13.1.5) is decided here too, since it compares the same validators.
 */
import { parseHttpDate } from '../http/http-date';

export interface Validators {
  /** Strong entity tag, quotes included, e.g. "5f3a-1c". */
  readonly etag: string;
  /** Last modification, whole seconds since the epoch; undefined when there is none to state. */
  readonly lastModifiedSec: number | undefined;
  /**
   * True when this server has answered another version of the file (another ETag) with the same
   * Last-Modified second: that date no longer names one version, so no date condition can match
   * it (RFC 9110 §8.8.2.2: a date is strong only if the server knows the representation did not
   * change twice in the second it covers). Set by DatedVersions (validators.ts).
   */
  readonly lastModifiedAmbiguous?: boolean;
  /**
   * True when the URL this answers has answered a version with a later Last-Modified before (a
   * link re-pointed back to an older release: `ln -sfn v1 current`): a client may hold that newer
   * version and name its date, which is later than this one's, so "not modified since" proves
   * nothing. Date conditions then hold for this very date only (nginx's `if_modified_since exact`).
   * Set by UrlDates (validators.ts).
   */
  readonly lastModifiedWentBack?: boolean;
  /** The same moment as the Last-Modified field value (IMF-fixdate, RFC 9110 §5.6.7). */
  readonly lastModified: string | undefined;
}

export interface ConditionalHeaders {
  readonly ifMatch: string | undefined;
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly ifUnmodifiedSince: string | undefined;
}

export type PreconditionResult = 'proceed' | 'not-modified' | 'failed';

/** Splits an entity-tag list (`"a", W/"b"`), keeping quotes and the W/ prefix. */
function splitEtagList(value: string): string[] {
  const tags: string[] = [];
  for (const part of value.split(',')) {
    const tag = part.trim();
    if (tag.length > 0) tags.push(tag);
  }
  return tags;
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Strong comparison (§8.8.3.2): both strong and identical. */
export function strongMatch(tag: string, etag: string): boolean {
  return !tag.startsWith('W/') && tag === etag;
}

/** Weak comparison: the opaque tags are identical, W/ ignored. */
export function weakMatch(tag: string, etag: string): boolean {
  return opaque(tag) === opaque(etag);
}

/** What the conditional headers ask for, evaluated against the current validators. */
export function evaluatePreconditions(
  method: string,
  h: ConditionalHeaders,
  v: Validators,
): PreconditionResult {
  const getOrHead = method === 'GET' || method === 'HEAD';
  // Step 1 and 2: the request's own preconditions on the current state.
  if (h.ifMatch !== undefined) {
    const value = h.ifMatch.trim();
    if (value !== '*' && !splitEtagList(value).some((t) => strongMatch(t, v.etag))) return 'failed';
  } else if (h.ifUnmodifiedSince !== undefined) {
    const date = parseHttpDate(h.ifUnmodifiedSince);
    // Unmodified since a second two versions share: not known, so not met (a download resumed
    // with Range would splice the versions).
    // Unmodified since a date later than a URL that went back: the client may hold the newer version.
    if (
      date !== undefined &&
      v.lastModifiedSec !== undefined &&
      (v.lastModifiedSec > date || (v.lastModifiedSec === date && v.lastModifiedAmbiguous === true) || (v.lastModifiedSec < date && v.lastModifiedWentBack === true))
    ) {
      return 'failed';
    }
  }
  // Step 3 and 4: cache validation.
  if (h.ifNoneMatch !== undefined) {
    const value = h.ifNoneMatch.trim();
    if (value === '*' || splitEtagList(value).some((t) => weakMatch(t, v.etag))) {
      return getOrHead ? 'not-modified' : 'failed';
    }
  } else if (getOrHead && h.ifModifiedSince !== undefined) {
    const date = parseHttpDate(h.ifModifiedSince);
    // A date two versions share is no proof the client holds this one (issue 11, item 4); a date
    // later than now is no date the server ever stated (Last-Modified is never later than Date,
    // §8.8.2.1), so it is ignored rather than taken to cover every change until then.
    if (
      date !== undefined &&
      v.lastModifiedSec !== undefined &&
      ((v.lastModifiedSec < date && v.lastModifiedWentBack !== true) || (v.lastModifiedSec === date && v.lastModifiedAmbiguous !== true)) &&
      date <= Date.now() / 1000
    ) {
      return 'not-modified';
    }
  }
  return 'proceed';
}

/**
 * If-Range (§13.1.5): true when the Range header may be honoured. An entity tag must match
 * strongly; a date must equal Last-Modified exactly and name one version (not
 * lastModifiedAmbiguous); else the whole representation is sent (a 200, which is always safe).
 */
export function ifRangeAllows(ifRange: string | undefined, v: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return strongMatch(value, v.etag);
  const date = parseHttpDate(value);
  return date !== undefined && v.lastModifiedSec !== undefined && date === v.lastModifiedSec && v.lastModifiedAmbiguous !== true;
}

/**
 * True when an If-Range field value (RFC 9110 §13.1.5) is an HTTP-date rather than an entity-tag
 * (`"…"` or `W/"…"`); false for undefined. A date names a moment, not a representation: every
 * content coding of one file version shares its Last-Modified, so such a validator cannot say
 * which coding the client's partial copy is in (see sendNegotiated in static-files.ts).
 */
export function ifRangeIsDate(ifRange: string | undefined): boolean {
  if (ifRange === undefined) return false;
  const value = ifRange.trim();
  return !value.startsWith('"') && !value.startsWith('W/');
}
