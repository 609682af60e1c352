/**
 * Timers that judge what a peer sent (a client's head, body or rate; a back-end's answer; the
 * page planner's reply) give their verdict after the turn's reads. Pure Node.
 */

/**
 * Runs a timer's `verdict` (a deadline or an inactivity timeout ran out) at the end of this
 * event-loop turn, after the turn's reads and writes. A timer runs before the sockets are polled:
 * after the loop was held up (a long task, a garbage collection, a busy machine) a timeout fired
 * though the bytes the client sent in time were waiting in the kernel, not yet read (CI: an upload
 * answered 408 just as its back-end read again). Node polls between timers and setImmediate
 * callbacks, so those bytes are read first (and a worker thread's messages: they come in the
 * same poll): a head or body they complete is answered, and the verdict is given on what then
 * stands (the caller checks that it still holds).
 */
export function afterThisTurnsReads(verdict: () => void): void {
  setImmediate(verdict);
}

/** setTimeout(verdict, ms), the verdict given after that turn's reads (afterThisTurnsReads). */
export function timeoutAfterReads(ms: number, verdict: () => void): NodeJS.Timeout {
  return setTimeout(() => afterThisTurnsReads(verdict), ms);
}
