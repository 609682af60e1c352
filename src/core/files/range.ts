/**
 * Range requests (RFC 9110 §14): `bytes=a-b`, `a-`, `-n`, lists. An unparsable header or another
 * unit is ignored (full 200). Overlapping or adjacent ranges are merged; the ranges left keep the
 * order the client asked for them in (§14.6); more than MAX_RANGES after merging is treated as
 * abuse and ignored (full 200). Numbers longer than 15 significant digits are clamped rather than
 * trusted (overflow guard); leading zeros do not count.
 */
/** More ranges than this (after merging) is treated as abuse: the whole file is sent. */
export const MAX_RANGES = 32;

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export type RangeResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

const NONE: RangeResult = { kind: 'none' };
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' };
const MAX_DIGITS = 15;

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Parses a Range header for a representation of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined || size === 0) return NONE;
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return NONE;
  const specs = header.slice(eq + 1).split(',');
  const satisfiable: ByteRange[] = [];
  let sawSpec = false;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec.length === 0) continue; // empty list elements are allowed (RFC 9110 §5.6.1)
    const dash = spec.indexOf('-');
    if (dash < 0) return NONE;
    // 1*DIGIT allows leading zeros (RFC 9110 §14.1.2): the digit-count guard counts the others.
    const first = withoutLeadingZeros(spec.slice(0, dash).trim());
    const last = withoutLeadingZeros(spec.slice(dash + 1).trim());
    sawSpec = true;
    if (first.length === 0) {
      // suffix-range: the last n bytes
      if (!isDigits(last)) return NONE;
      const n = last.length > MAX_DIGITS ? size : Number(last);
      if (n === 0) continue;
      satisfiable.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    if (!isDigits(first) || (last.length > 0 && !isDigits(last))) return NONE;
    // Only a written last-pos can make the spec invalid; `a-` with a past the end is merely
    // unsatisfiable (416), so the open end is filled in after this check, not before it.
    // An invalid byte-range-spec (last < first): the whole header is ignored. Judged on the
    // digits, before any clamping, so a number too long for a double is compared too.
    if (last.length > 0 && digitsLess(last, first)) return NONE;
    if (first.length > MAX_DIGITS) continue; // beyond any file we serve: not satisfiable
    const start = Number(first);
    if (start >= size) continue;
    const end = last.length === 0 || last.length > MAX_DIGITS ? size - 1 : Math.min(Number(last), size - 1);
    satisfiable.push({ start, end });
  }
  if (!sawSpec) return NONE;
  if (satisfiable.length === 0) return UNSATISFIABLE;
  const merged = mergeRanges(satisfiable);
  if (merged.length > MAX_RANGES) return NONE;
  return { kind: 'ranges', ranges: merged };
}

/**
 * Merges overlapping or adjacent ranges (RFC 9110 §14.6 lets a server coalesce them) and returns
 * the ranges left in the order the client listed them: §14.6 says the parts SHOULD come "in the
 * same order that the corresponding range-spec appeared in the received Range header field,
 * excluding those ranges that were ... coalesced into other ranges". A merged range takes the
 * place of the first of the ranges it covers. (`bytes=10-19,0-4` is 10–19 then 0–4, as a client
 * that asked for the end of a file before its start expects; sorting them broke that.)
 */
function mergeRanges(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length === 1) return ranges;
  // Merge in start order, each merged range remembering the earliest position among its members.
  const byStart = ranges.map((r, at) => ({ r, at })).sort((a, b) => a.r.start - b.r.start || a.at - b.at);
  const merged: Array<{ r: ByteRange; at: number }> = [];
  for (const next of byStart) {
    const prev = merged[merged.length - 1];
    if (prev !== undefined && next.r.start <= prev.r.end + 1) {
      merged[merged.length - 1] = { r: { start: prev.r.start, end: Math.max(prev.r.end, next.r.end) }, at: Math.min(prev.at, next.at) };
    } else {
      merged.push(next);
    }
  }
  return merged.sort((a, b) => a.at - b.at).map((m) => m.r);
}

/** `a` < `b` for digit strings without leading zeros, at any length (no double rounding). */
function digitsLess(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

/** `007` → `7`, `000` → `0`; anything else as it is (isDigits judges it after). */
function withoutLeadingZeros(text: string): string {
  let i = 0;
  while (i < text.length - 1 && text.charCodeAt(i) === 0x30) i++;
  return i === 0 ? text : text.slice(i);
}
