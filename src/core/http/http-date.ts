/**
 * IMF-fixdate formatting (RFC 9110 §5.6.7), and lenient parsing of the three HTTP-date forms for
 * conditional requests (an unparsable date yields undefined, and the caller ignores the header).
 * The `Date` header's once-a-second cache lives with the head writer (response-head.ts).
 */

/** Formats epoch milliseconds as an IMF-fixdate (to the second). */
export function formatHttpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}

/** The last value parsed and its result: a browser revalidating a page's assets sends one date again and again. */
let lastValue = '';
let lastSeconds: number | undefined;

/** Whole seconds since the epoch, or undefined when the value is not a date we can read. */
export function parseHttpDate(value: string): number | undefined {
  if (value === lastValue) return lastSeconds;
  // IMF-fixdate, RFC 850 and asctime all start with a weekday name; Date.parse reads all three.
  if (value.length < 20 || value.length > 40) return undefined;
  const ms = Date.parse(value);
  lastValue = value;
  lastSeconds = Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  return lastSeconds;
}
