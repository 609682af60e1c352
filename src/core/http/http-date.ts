/**
 * IMF-fixdate formatting (RFC 9110 §5.6.7), and parsing of the three HTTP-date forms that section
 * lets a recipient accept, exactly as it spells them (an invalid date yields undefined, and the
 * caller ignores the header, as §13.1.3 and §13.1.4 say it MUST):
 * - IMF-fixdate  `Sun, 06 Nov 1994 08:49:37 GMT`
 * - rfc850-date  `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit year more than 50 years ahead is
 *   the last year in the past with those digits)
 * - asctime-date `Sun Nov  6 08:49:37 1994`
 * Names are case-sensitive; the weekday is checked to be a day name, not to match the date (as
 * nginx and Apache do). The `Date` header's once-a-second cache lives with the head writer
 * (response-head.ts).
 */

/** Formats epoch milliseconds as an IMF-fixdate (to the second). */
export function formatHttpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}

/** The last value parsed and its result: a browser revalidating a page's assets sends one date again and again. */
let lastValue = '';
let lastSeconds: number | undefined;

const SHORT_DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const LONG_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const IMF_FIXDATE = /^([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^([A-Z][a-z]{5,8}), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^([A-Z][a-z]{2}) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * Whole seconds since the epoch for an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, rfc850-date or
 * asctime-date, GMT), or undefined when `value` is none of them or names no real moment (Feb 30,
 * hour 24). ISO 8601, a missing `GMT`, other zones and extra text are not HTTP-dates.
 */
export function parseHttpDate(value: string): number | undefined {
  if (value === lastValue) return lastSeconds;
  const seconds = parseStrict(value.trim());
  lastValue = value;
  lastSeconds = seconds;
  return seconds;
}

function parseStrict(value: string): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) {
    if (!SHORT_DAYS.includes(m[1] as string)) return undefined;
    return moment(Number(m[4]), m[3] as string, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  }
  m = RFC850_DATE.exec(value);
  if (m !== null) {
    if (!LONG_DAYS.includes(m[1] as string)) return undefined;
    // §5.6.7: a two-digit year more than 50 years in the future is the most recent past year with
    // those last two digits.
    const yy = Number(m[4]);
    const thisYear = new Date().getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + yy;
    if (year > thisYear + 50) year -= 100;
    return moment(year, m[3] as string, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  }
  m = ASCTIME_DATE.exec(value);
  if (m !== null) {
    if (!SHORT_DAYS.includes(m[1] as string)) return undefined;
    return moment(Number(m[7]), m[2] as string, Number((m[3] as string).trim()), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  return undefined;
}

/** Seconds since the epoch of a UTC moment, or undefined when it names none (month, day, time). */
function moment(year: number, monthName: string, day: number, hour: number, minute: number, second: number): number | undefined {
  const month = MONTHS.indexOf(monthName);
  // §5.6.7: second is 00–60 (a leap second); Date.UTC carries a 60 into the next minute.
  if (month < 0 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  // A day past the month's end (Feb 30) would roll over into the next month.
  if (new Date(ms).getUTCDate() !== day && second !== 60) return undefined;
  return Math.floor(ms / 1000);
}
