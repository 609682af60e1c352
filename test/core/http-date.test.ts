/**
 * HTTP-date parsing (RFC 9110 §5.6.7): the three forms a recipient must accept, exactly as spelled,
 * and nothing else (helper-48: an ISO 8601 date, a date without GMT, or with another zone, was
 * read as one and could answer 304).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpDate } from '../../src/core/http/http-date';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;

test('IMF-fixdate, rfc850-date and asctime-date name the same moment', () => {
  for (const value of ['Sun, 06 Nov 1994 08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994', 'Sun Nov 06 08:49:37 1994']) {
    assert.equal(parseHttpDate(value), NOV_6_1994, value);
  }
  assert.equal(parseHttpDate('Wed, 31 Dec 2025 23:59:60 GMT'), Date.UTC(2026, 0, 1) / 1000, 'a leap second');
});

test('an rfc850 two-digit year more than 50 years ahead is the last past year with those digits', () => {
  const year = new Date().getUTCFullYear();
  const ahead = (year + 60) % 100;
  const got = parseHttpDate(`Monday, 01-Jan-${String(ahead).padStart(2, '0')} 00:00:00 GMT`);
  assert.equal(new Date((got ?? 0) * 1000).getUTCFullYear(), year + 60 - 100);
});

test('anything else is no HTTP-date', () => {
  for (const value of [
    '2099-12-01T19:13:10Z',
    'Tue, 01 Dec 2026 19:13:10',
    'Tue, 01 Dec 2026 19:13:10 PST',
    'Tue, 01 Dec 2026 19:13:10 +0000',
    'Tue, 01 Dec 2026 19:13:10 UTC',
    'tue, 01 dec 2026 19:13:10 GMT',
    'Tue, 30 Feb 2026 19:13:10 GMT',
    'Tue, 01 Dec 2026 24:00:00 GMT',
    'Tue, 01 Dec 2026 19:60:00 GMT',
    'Tue, 1 Dec 2026 19:13:10 GMT',
    'Xyz, 01 Dec 2026 19:13:10 GMT',
    'Tue, 01 Dec 2026 19:13:10 GMT, Wed, 02 Dec 2026 19:13:10 GMT',
    '1733080390',
    '',
  ]) {
    assert.equal(parseHttpDate(value), undefined, value);
  }
});
