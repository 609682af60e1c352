/** The start of a Combined Log Format line: `host ident user [time] "`. */
const COMBINED_LOG_LINE = /^\S+ \S+ \S+ \[[^\]\r\n]+\] "/;

/**
 * True when `head` (the first bytes of a file, as latin1) is empty or starts with a Combined Log
 * Format line: a file log lines may be appended to. The request log (RequestLog.openFile) and a
 * porthole.config.json's logFile check (config-file.ts) judge a file by it.
 */
export function mayAppendLogLines(head: string): boolean {
  return head.length === 0 || COMBINED_LOG_LINE.test(head);
}
