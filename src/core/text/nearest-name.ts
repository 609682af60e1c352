/**
 * "Did you mean …?" for a name a person typed wrong: a flag (`--prot`), a key of the config file
 * (`listng`). One function for both, so the two say the same thing about the same typo.
 */

/** Names longer than this are not compared (the work is length × length per candidate). */
const MAX_COMPARED_LENGTH = 64;

/**
 * The candidate nearest to `typed`, ignoring ASCII case, when it is at most `maxEdits` single-
 * character insertions, deletions or substitutions away (Levenshtein distance); the first of
 * equally near ones; undefined when none is that near or `typed` is longer than 64 characters.
 */
export function nearestName(typed: string, candidates: Iterable<string>, maxEdits = 2): string | undefined {
  if (typed.length > MAX_COMPARED_LENGTH) return undefined;
  const word = typed.toLowerCase();
  let best: { name: string; edits: number } | undefined;
  for (const name of candidates) {
    const edits = editDistance(word, name.toLowerCase());
    if (edits <= maxEdits && (best === undefined || edits < best.edits)) best = { name, edits };
  }
  return best?.name;
}

/** Levenshtein distance between two strings (UTF-16 units), one row at a time. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}
