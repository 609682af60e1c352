/**
 * Timers that judge what a peer sent (a client's head, body or rate; a back-end's answer; the
 * page planner's reply) give their verdict after the turn's reads. Pure Node.
 */

// `performance` is Node's global (the same object as node:perf_hooks' export), looked up when a
// timer runs: node:perf_hooks is loaded on that first look, not by every start (~1.2 ms of the
// CLI's start after node:net, `require` timed in a fresh `node`).

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

/**
 * Adds `member` to the group of `period` in `groups` (one Set per period, ms) and returns that
 * group (delete `member` from it to leave). Each group has one interval timer for all its members,
 * not one per member (a timer made and cleared per connection cost `Connection: close` traffic
 * about a tenth of its CPU): every `everyMs` it runs `tick(members, due)` after that turn's reads
 * (afterThisTurnsReads), `due` being performance.now() when the timer ran; the timer ends (unref'd
 * meanwhile) once its group is empty.
 */
export function joinGroupTimer<T>(groups: Map<number, Set<T>>, period: number, everyMs: number, member: T, tick: (members: Set<T>, due: number) => void): Set<T> {
  let members = groups.get(period);
  if (members === undefined) {
    const group = new Set<T>();
    members = group;
    groups.set(period, group);
    const timer = setInterval(() => {
      if (group.size === 0) {
        clearInterval(timer);
        if (groups.get(period) === group) groups.delete(period);
        return;
      }
      const due = performance.now();
      afterThisTurnsReads(() => tick(group, due));
    }, everyMs);
    timer.unref();
  }
  members.add(member);
  return members;
}
