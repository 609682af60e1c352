/**
 * Every bound the README states, held to the code's value: each entry finds the README's own
 * words (a pattern whose groups are the numbers it states) and compares each number with the
 * constant that enforces it. A limit changed on one side only (the README says 8 KiB, the code
 * takes 16 KiB) fails here, naming both. The enforcement itself is tested over sockets elsewhere
 * (statuses, early-refusal, slow-clients, range, channel-caps, log-disk-full, …); those tests use
 * the constants, so without this one a constant could drift from what users are told.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_LIMITS,
  DEFAULT_OPTIONS,
  DEFAULT_PROXY,
  DEFAULT_RELOAD,
  DEFAULT_TIMEOUTS,
  MAX_CONNECTIONS_CEILING,
  connectionCapFor,
  loopbackReserveFor,
  perClientConnectionsFor,
  refusedConnectionsFor,
} from '../../src/core/options';
import { MAX_HEAD_BYTES, MAX_HEADER_FIELDS, MAX_METHOD_BYTES, MAX_TARGET_BYTES } from '../../src/core/http/limits';
import { CAP_DROP_REPORT_MS } from '../../src/core/server/server';
import { SHORT_LINE_FIELD_MAX } from '../../src/core/text/display-text';
import { FULL_PIECE_BYTES, SMALL_PIECE_BYTES } from '../../src/core/http/file-pieces';
import { BUSY_RETRY_AFTER_S, FIRST_FLIGHT_BYTES, LINGER_MAX_MS, LINGER_MS, MAX_UNANSWERED_LOGGED } from '../../src/core/http/connection';
import { MAX_RANGES } from '../../src/core/files/range';
import { MAX_WEBSOCKET_MESSAGE_BYTES } from '../../src/core/http/websocket';
import { LISTING_CACHE_MAX_AGE_MS, LISTING_MAX_BUILDS, LISTING_MAX_ENTRIES, LISTING_MAX_SCAN, LISTING_MAX_WAITING } from '../../src/core/files/listing';
import { COMPRESS_MAX_BYTES, COMPRESSED_MAX_TOTAL_BYTES } from '../../src/core/files/compressed-cache';
import { COMPRESS_MIN_BYTES } from '../../src/core/files/content-coding';
import { CACHE_MAX_FILE_BYTES } from '../../src/core/files/file-cache';
import { OPEN_ATTEMPTS } from '../../src/core/files/open-contained';
import { RETRY_AFTER_SECONDS, WRITE_SETTLE_MS } from '../../src/core/files/static-files';
import { DATED_VERSIONS_MAX, URL_DATES_MAX } from '../../src/core/files/validators';
import {
  MAX_CONSOLE_ADDRESSES,
  MAX_CONSOLE_ENTRIES_PER_SECOND,
  MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL,
  MAX_CONSOLE_STACK_CHARS,
  MAX_CONSOLE_STACK_LINES,
  MAX_CONSOLE_TEXT_CHARS,
  MAX_CONSOLE_TEXT_LINES,
  MAX_CONSOLE_URL_CHARS,
} from '../../src/core/reload/console-forward';
import { MAX_WEBSOCKET_BACKLOG_BYTES } from '../../src/core/reload/live-reload-channel';
import { PAGE_HOLD_MS, PAGE_PAUSE_MS } from '../../src/core/proxy/reverse-proxy';
import { HEARTBEAT_MS, MAX_CSP_WARNINGS, MAX_DEBOUNCE_WAIT_MS, MAX_EMPTY_FILE_WAIT_MS, MAX_EVENT_CLIENTS, SETTLE_MS } from '../../src/core/reload/live-reload';
import { MAX_CACHED_PLANS, MAX_INJECT_BYTES } from '../../src/core/reload/live-reload-pages';
import { MAX_WAITING_PLANS, PLAN_TIME_LIMIT_MS, PLAN_WAIT_LIMIT_MS } from '../../src/core/reload/page-planner';
import { FILE_FLUSH_BYTES, FILE_FLUSH_MS, FILE_HELD_MAX_BYTES } from '../../src/core/log/request-log';
import { MAX_CONFIG_FILE_BYTES } from '../../src/core/config/config-file';
import { MAX_SMALL_FILE_BYTES, PIPE_CLOSE_WAIT_MS } from '../../src/core/access/read-small-file';
import {
  LIMIT_POLL_MS,
  MAX_AWAITED_LINKS,
  MAX_DENIED_NAMED,
  MAX_LINKED_FOLDERS,
  MAX_WAITING_PATHS,
  MIN_REWATCH_GAP_MS,
  PATHS_PER_SLICE,
  REWATCH_GAP_FACTOR,
} from '../../src/core/reload/live-reload-watcher';
import { MAX_PENDING_OUTPUT_BYTES } from '../../src/cli/terminal-output';
import { MAX_WORKERS } from '../../src/cli/args';
import { REQUEST_STORE_MAX_BYTES } from '../../src/extension/requests/node-request-store';
import { OUTPUT_LINES_PER_SECOND } from '../../src/extension/output/node-line-budget';

// Whitespace as one space: a sentence the README wraps across lines still matches.
const README = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
const KiB = 1024;
const MiB = 1024 * 1024;

/** A number as the README writes it, in the code's unit: `16 KiB` → bytes, `10 s` → ms, `1,000` → 1000. */
function amount(text: string): number {
  const m = /^([\d,]+(?:\.\d+)?)\s*(KiB|MiB|s|ms)?$/.exec(text.trim());
  assert.ok(m !== null, `not a README amount: ${JSON.stringify(text)}`);
  const n = Number((m[1] ?? '').replace(/,/g, ''));
  const unit = { KiB, MiB, s: 1000, ms: 1, '': 1 }[m[2] ?? ''] ?? 1;
  return Math.round(n * unit);
}

/** [what, the README's words with one group per number, the code's numbers in the same order]. */
const DOCUMENTED: ReadonlyArray<readonly [string, RegExp, readonly number[]]> = [
  // The Limits table.
  [
    'connections at once',
    /\(soft `ulimit -n` − (\d+)\) \/ 2, between (\d+) and ([\d,]+) \(([\d,]+) → (\d+)\)/,
    [64, connectionCapFor(1), MAX_CONNECTIONS_CEILING, 1024, connectionCapFor(1024)],
  ],
  ['connections closed at the cap', /the connection is closed at once, and a warning says so \(stderr, the Output channel\): at once the first time, then one count per (\d+ s) while it goes on/, [CAP_DROP_REPORT_MS]],
  [
    'connections per client on the network',
    /a quarter of the cap \(at least (\d+) where the cap allows: (\d+) → (\d+)\) per client address; all clients on the network together the cap less an eighth \((\d+) → (\d+)\).*devices not in `allowedClients` \(each answered 403\) hold together an eighth of the cap at most \((\d+) → (\d+)\)/,
    [perClientConnectionsFor(40), 480, perClientConnectionsFor(480), 480, 480 - loopbackReserveFor(480), 480, refusedConnectionsFor(480)],
  ],
  ['request head', /\| request head \| (\d+ s) \(`--header-timeout`\), (\d+ KiB), (\d+) fields, target (\d+ KiB), method (\d+) characters /, [DEFAULT_TIMEOUTS.headersMs, MAX_HEAD_BYTES, MAX_HEADER_FIELDS, MAX_TARGET_BYTES, MAX_METHOD_BYTES]],
  ['method limit', /method ≤ (\d+) characters \(501\)/, [MAX_METHOD_BYTES]],
  [
    'request body',
    /\| request body \| (\d+ MiB); whole within (\d+ s) \(`timeouts\.bodyMs`\); no bytes for (\d+ s) \(`--header-timeout`\) is a stalled body; at least (\d+ KiB)\/s over each (\d+ s)/,
    [DEFAULT_OPTIONS.maxBodyBytes, DEFAULT_TIMEOUTS.bodyMs, DEFAULT_TIMEOUTS.headersMs, DEFAULT_LIMITS.minReceiveBytesPerSec, DEFAULT_LIMITS.rateWindowMs],
  ],
  ['idle keep-alive', /\| idle keep-alive \| (\d+ s) \(`--keep-alive-timeout`\)/, [DEFAULT_TIMEOUTS.idleMs]],
  ['response queue per connection', /(\d+ MiB) in memory beyond the kernel's buffer \(`limits\.maxQueuedBytes`\)/, [DEFAULT_LIMITS.maxQueuedBytes]],
  ['response queues, all connections', /\| (\d+ MiB) \(`limits\.maxQueuedTotalBytes`\)/, [DEFAULT_LIMITS.maxQueuedTotalBytes]],
  ['file pieces', /pieces are (\d+ KiB) while it has room, (\d+ KiB) past it/, [FULL_PIECE_BYTES, SMALL_PIECE_BYTES]],
  ['bodies built in memory', /(\d+ MiB) across all connections \(`limits\.maxBuiltBytes`\)/, [DEFAULT_LIMITS.maxBuiltBytes]],
  [
    'slow reader',
    /at least (\d+ KiB)\/s over the last (\d+ s) while a response waits \(`limits\.minSendBytesPerSec`; two windows of `rateWindowMs`, (\d+ s)/,
    [DEFAULT_LIMITS.minSendBytesPerSec, 2 * DEFAULT_LIMITS.rateWindowMs, DEFAULT_LIMITS.rateWindowMs],
  ],
  [
    'closing a connection',
    /all the connection wrote fits in a first flight \((\d+) × ([\d,]+) bytes, RFC 6928.* (\d+ s) with nothing from it, or (\d+ s) in all/,
    [FIRST_FLIGHT_BYTES / 1_448, 1_448, LINGER_MS, LINGER_MAX_MS],
  ],
  ['requests logged as not answered', /At most ([\d,]+) such lines a connection \(a client could otherwise have a lingering connection write lines, unanswered, for (\d+ s)\)/, [MAX_UNANSWERED_LOGGED, LINGER_MAX_MS]],
  ['built bodies refused', /\| 40 clients asking for a 12 MB page and never reading reached 690 MB \| `503` with `Retry-After: (\d+)` \|/, [BUSY_RETRY_AFTER_S]],
  ['stalled write', /\| stalled write \| (\d+ s) without progress \(`timeouts\.writeStallMs`\)/, [DEFAULT_TIMEOUTS.writeStallMs]],
  [
    'forwarded console messages',
    /\| (\d+) a second per client address across all its connections, (\d+) a second server-wide, (\d+) addresses tracked at once; text ([\d,]+) characters \/ (\d+) lines, stack ([\d,]+) \/ (\d+), URLs ([\d,]+);/,
    [
      MAX_CONSOLE_ENTRIES_PER_SECOND,
      MAX_CONSOLE_ENTRIES_PER_SECOND_TOTAL,
      MAX_CONSOLE_ADDRESSES,
      MAX_CONSOLE_TEXT_CHARS,
      MAX_CONSOLE_TEXT_LINES,
      MAX_CONSOLE_STACK_CHARS,
      MAX_CONSOLE_STACK_LINES,
      MAX_CONSOLE_URL_CHARS,
    ],
  ],
  ['CLI output', /\| (\d+ MiB) waiting for stdout \(`MAX_PENDING_OUTPUT_BYTES`\)/, [MAX_PENDING_OUTPUT_BYTES]],
  ['live-reload WebSocket queue', /(\d+ MiB) of the server's own messages beyond that buffer \(`MAX_WEBSOCKET_BACKLOG_BYTES`\)/, [MAX_WEBSOCKET_BACKLOG_BYTES]],
  ['live-reload peer that does not answer', /\| a ping every (\d+ s) \(`HEARTBEAT_MS`\).*?\| `1001` \(no pong\) and the connection closed, (\d+)–(\d+ s) after the last answer/, [HEARTBEAT_MS, HEARTBEAT_MS / 1000, 2 * HEARTBEAT_MS]],
  ['live-reload heartbeat', /Every (\d+) seconds each channel gets a ping .*? frees its slot (\d+)–(\d+) s after its last answer/, [HEARTBEAT_MS / 1000, HEARTBEAT_MS / 1000, (2 * HEARTBEAT_MS) / 1000]],
  ['live-reload streams', /\| (\d+) per client address \(`limits\.maxEventStreamsPerClient`\), ([\d,]+) in all/, [DEFAULT_LIMITS.maxEventStreamsPerClient, MAX_EVENT_CLIENTS]],
  ['proxied request body', /\| (\d+ MiB) \(`proxy\.maxBodyBytes`\), streamed; no bytes for (\d+ s) → `408`/, [DEFAULT_PROXY.maxBodyBytes, DEFAULT_TIMEOUTS.headersMs]],
  ['back-end', /connect within (\d+ s) \(`proxy\.connectTimeoutMs`\), response head within (\d+ s) \(`--proxy-timeout`/, [DEFAULT_PROXY.connectTimeoutMs, DEFAULT_PROXY.responseTimeoutMs]],
  // The CLI's flag table.
  ['--reload-debounce', /into one more reload \(default (\d+)\) \|/, [DEFAULT_RELOAD.debounceMs]],
  ['--proxy-timeout', /\| `--proxy-timeout S` \| a back-end must start answering within S seconds \(default (\d+), else 504\)/, [DEFAULT_PROXY.responseTimeoutMs / 1000]],
  ['--keep-alive-timeout', /\| `--keep-alive-timeout S` \| close idle keep-alive connections after S seconds \(default (\d+)\)/, [DEFAULT_TIMEOUTS.idleMs / 1000]],
  ['--header-timeout', /\| `--header-timeout S` \| a request head must arrive within S seconds \(default (\d+), else 408\)/, [DEFAULT_TIMEOUTS.headersMs / 1000]],
  ['--workers', /\| `--workers N` \| serve from N processes sharing the port \((\d+) to (\d+), default (\d+);/, [1, MAX_WORKERS, 1]],
  [
    'a change settling',
    /settled — (\d+ ms) without another event, .* and waited for, at most (\d+ ms) .* the server holds the site's GET and HEAD requests \(never longer than `--reload-debounce`, nor than (\d+ s)/,
    [SETTLE_MS, MAX_EMPTY_FILE_WAIT_MS, MAX_DEBOUNCE_WAIT_MS],
  ],
  ['terminal fields', /is escaped, and cut at (\d+) characters saying how many more/, [SHORT_LINE_FIELD_MAX]],
  ['--port tries', /When busy, the next free one is taken \((\d+) tries\)/, [DEFAULT_OPTIONS.portAttempts]],
  ['graceful stop', /in-flight responses finish \(for at most (\d+ s)\)/, [DEFAULT_TIMEOUTS.closeGraceMs]],
  // Security defaults and the rest.
  [
    'listings',
    /a listing shows at most ([\d,]+) entries, .* at most ([\d,]+) names read per folder/s,
    [LISTING_MAX_ENTRIES, LISTING_MAX_SCAN],
  ],
  ['listing builds', /reused for up to (\d+ s); requests for the same folder share one\s+build; at most (\d+) builds run at once and (\d+) wait/, [LISTING_CACHE_MAX_AGE_MS, LISTING_MAX_BUILDS, LISTING_MAX_WAITING]],
  ['out of descriptors', /fails with `EMFILE`\/`ENFILE`, the answer\s+is 503 with `Retry-After: (\d+)`/, [RETRY_AFTER_SECONDS]],
  ['a file saved atomically', /opened\s+again, up to (\d+) times; still being replaced, 503 with `Retry-After: (\d+)`/, [OPEN_ATTEMPTS, RETRY_AFTER_SECONDS]],
  ['a write still under way', /within (\d+ ms) of its last change\s+\(its ctime; `WRITE_SETTLE_MS`\)/, [WRITE_SETTLE_MS]],
  ['config file size', /the layered result once more\); ≤ (\d+ KiB)\./, [MAX_CONFIG_FILE_BYTES]],
  [
    'HTTPS files',
    /A certificate, key or passphrase file is read only when it is a regular file of at most (\d+ MiB) .* whose writer writes it and closes it within (\d+ s) .* stops the start at once \(the pipe after those (\d+ s)\)/,
    [MAX_SMALL_FILE_BYTES, PIPE_CLOSE_WAIT_MS, PIPE_CLOSE_WAIT_MS],
  ],
  ['live-reload channels', /\*\*Live reload's channels\*\*: at most ([\d,]+) open at once/, [MAX_EVENT_CLIENTS]],
  ['WebSocket messages', /messages are at most (\d+ KiB) \(close 1009 beyond/, [MAX_WEBSOCKET_MESSAGE_BYTES]],
  ['injected pages', /Pages are\s+injected up to (\d+ MiB)/, [MAX_INJECT_BYTES]],
  ['streamed back-end pages', /once the back-end pauses for more than (\d+ ms) in the middle of it/, [PAGE_PAUSE_MS]],
  ['trickling back-end pages', /or is still sending it ([\d,]+ ms) after its\s+first bytes/, [PAGE_HOLD_MS]],
  ['page parse', /answered within (\d+ s) of its request, waiting included \(`PLAN_TIME_LIMIT_MS`;[^)]*up to (\d+ s), `PLAN_WAIT_LIMIT_MS`/s, [PLAN_TIME_LIMIT_MS, PLAN_WAIT_LIMIT_MS]],
  ['waiting pages', /At most (\d+) pages wait\s+\(`MAX_WAITING_PLANS`/, [MAX_WAITING_PLANS]],
  ['kept parses', /The parse is kept for the\s+last (\d+) page versions/, [MAX_CACHED_PLANS]],
  ['CSP warnings', /the pages whose CSP blocks live\s+reload are remembered up to ([\d,]+)/, [MAX_CSP_WARNINGS]],
  ['URL dates', /the\s+latest date of up to ([\d,]+) URLs is remembered/, [URL_DATES_MAX]],
  ['dated versions', /Only versions this process answered are known \(up to ([\d,]+) files/, [DATED_VERSIONS_MAX]],
  ['validators by content', /a cached file \(≤ (\d+ MiB)\) is tagged by a hash of its content/, [CACHE_MAX_FILE_BYTES]],
  ['ranges', /more than (\d+) ranges after merging is treated as abuse/, [MAX_RANGES]],
  ['compression on the fly', /of \*\*(\d+ KiB) to (\d+ MiB)\*\* is compressed/, [COMPRESS_MIN_BYTES, COMPRESS_MAX_BYTES]],
  ['compressed copies', /the copy is kept \((\d+ MiB) in all, oldest out/, [COMPRESSED_MAX_TOTAL_BYTES]],
  ['log file writes', /a line reaches the file at most\s+(\d+(?:\.\d+)? s) after its request ends \(sooner once (\d+ KiB) of lines are waiting\)/, [FILE_FLUSH_MS, FILE_FLUSH_BYTES]],
  ['log lines held', /its lines wait in memory \(up to (\d+ MiB)\)/, [FILE_HELD_MAX_BYTES]],
  ['Requests view memory', /it also keeps them within (\d+ MiB) \(estimated\)/, [REQUEST_STORE_MAX_BYTES]],
  // Live reload's watcher (Linux).
  ['watched folders and links behind links', /its folders at any depth, at most ([\d,]+) folders and links behind such links/, [MAX_LINKED_FOLDERS]],
  ['awaited links', /At most ([\d,]+) such links are awaited, each one watch/, [MAX_AWAITED_LINKS]],
  ['inotify watch limit raised', /the others are watched once the limit is raised \(read every (\d+ s); no restart needed\)/, [LIMIT_POLL_MS]],
  ['walks after queue overflows', /such walks come at most once every (\d+ s), and at most every (\d+) times the last walk's length/, [MIN_REWATCH_GAP_MS, REWATCH_GAP_FACTOR]],
  ['unreadable folders named', /\(at most (\d+) are named, then one line for the rest\)/, [MAX_DENIED_NAMED]],
  ['a storm of changes', /each changed name is handled once however many events it had, (\d+) names a turn with requests answered between .* At most ([\d,]+) names wait;/, [PATHS_PER_SLICE, MAX_WAITING_PATHS]],
  ['Output request lines', /batched, at most (\d+) a second \(`OUTPUT_LINES_PER_SECOND`/, [OUTPUT_LINES_PER_SECOND]],
];

test('every bound the README states is the one the code enforces', () => {
  const wrong: string[] = [];
  for (const [what, words, code] of DOCUMENTED) {
    const m = words.exec(README);
    if (m === null) {
      wrong.push(`${what}: the README no longer says ${words}`);
      continue;
    }
    const said = m.slice(1).map((text) => amount(text ?? ''));
    assert.equal(said.length, code.length, `${what}: ${said.length} numbers in the pattern, ${code.length} in the code`);
    said.forEach((n, i) => {
      if (n !== code[i]) wrong.push(`${what}: the README says ${JSON.stringify(m[i + 1])}, the code ${code[i]}`);
    });
  }
  assert.deepEqual(wrong, []);
});

test('the README amounts are read as the code counts them', () => {
  assert.equal(amount('16 KiB'), 16 * KiB);
  assert.equal(amount('1 MiB'), MiB);
  assert.equal(amount('10 s'), 10_000);
  assert.equal(amount('0.1 s'), 100);
  assert.equal(amount('20 ms'), 20);
  assert.equal(amount('20,000'), 20_000);
});
