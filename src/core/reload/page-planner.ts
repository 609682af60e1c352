/**
 * Plans pages (planPage: where the live-reload tag goes) on a thread of their own, one page at a
 * time, each answered within PLAN_TIME_LIMIT_MS of its request (waiting included). Parsing is the one step of serving whose cost the page's
 * shape decides, not its size: a page of 50,000 nested `<div>`s (250 KB) took 13 s on the server's
 * thread, one of 200,000 almost five minutes, and every other client waited. Here the server's
 * thread waits for nothing; a plan not ready in time ends the planner thread (a new one plans the
 * next page) and the page is served as it is, with the reason in the request's log note.
 *
 * The thread is started on the first page and then kept (unref'd: it never holds a process open).
 * Its script sits beside the module's file: dist/page-plan-worker.js beside the bundles,
 * page-plan-worker.js beside this file in a tsc build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as WorkerThreadsModule from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import type { PagePlan, PlacementWish } from './live-reload-inject';
import { timeoutAfterReads } from '../http/after-reads';

/**
 * The longest a page waits for its plan (ms), from the request for it: queued behind other pages
 * and planned. A 4 MiB page (MAX_INJECT_BYTES) of ordinary HTML plans in about 2 s on the
 * benchmark machine; pages that take longer are pathological (deep nesting, formatting elements
 * piling up), and their users are better served by the page without live reload than by a wait.
 * Counted from the request, not from the start of planning: ten slow pages queued (or asked for
 * and abandoned) once held a fresh page 50 s, past the connection's 30 s write timeout.
 */
export const PLAN_TIME_LIMIT_MS = 5_000;
/**
 * The longest a page waits for its plan (ms, from the request) when the planner thread had less
 * CPU time than it waited (Linux, where the thread's CPU time can be read): on a busy machine an
 * ordinary 4 MiB page (about 1 s of CPU) took 5.7 s, and was judged too slow to parse and kept
 * without live reload until edited. The plan goes on until the thread has used the CPU time it
 * would have had on an idle machine, up to this; under the connection's 30 s write timeout.
 */
export const PLAN_WAIT_LIMIT_MS = 15_000;
/**
 * Pages waiting for the planner at most; more are sent as they are at once. Each holds its bytes
 * (up to 4 MiB) while it waits, and none can wait longer than PLAN_TIME_LIMIT_MS anyway.
 */
export const MAX_WAITING_PLANS = 16;
/**
 * The planner thread's heap (MiB): parse5's tree with source locations of a 4 MiB page needs a few
 * hundred MiB. A page that needs more ends the thread, not the server.
 */
const PLANNER_HEAP_MB = 1_024;

/** One page to plan (posted to the planner thread; structured-clone safe). */
export interface PlanRequest {
  readonly id: number;
  readonly html: Uint8Array;
  readonly tag: string;
  readonly wish: PlacementWish;
  readonly charset: string | undefined;
}

/** The planner thread's answer to PlanRequest `id`. */
export interface PlanResponse {
  readonly id: number;
  readonly plan: PagePlan;
}

interface Job {
  readonly request: PlanRequest;
  /** When the page was asked for (Date.now() ms). */
  readonly askedAt: number;
  readonly resolve: (plan: PagePlan) => void;
  /** When the page stops waiting (Date.now() ms): PLAN_TIME_LIMIT_MS after it was asked for. */
  readonly deadline: number;
  /** Ends the wait of a page still queued at its deadline. */
  timer?: NodeJS.Timeout;
}

/** The page's own parse ran out of time: kept as its plan (it would again). */
const TOO_SLOW: PagePlan = {
  kind: 'unsupported',
  reason: `the page could not be parsed within ${PLAN_TIME_LIMIT_MS / 1000} s (hundreds of thousands of elements, or nesting thousands deep; smaller pages are parsed in time)`,
};
/** Other pages took the time: the next request for this one tries again. */
const WAITED_TOO_LONG: PagePlan = {
  kind: 'unsupported',
  reason: `the page could not be parsed within ${PLAN_TIME_LIMIT_MS / 1000} s (other pages were being parsed)`,
  transient: true,
};
const TOO_MANY: PagePlan = { kind: 'unsupported', reason: `over ${MAX_WAITING_PLANS} pages waiting to be parsed`, transient: true };

let worker: Worker | undefined;
/** The planner thread's kernel thread id (Linux; its first message), to read its CPU time. */
let workerTid: number | undefined;
let current: { job: Job; timer: NodeJS.Timeout } | undefined;
const waiting: Job[] = [];
let nextId = 1;
/** Where the planner thread's script is (beside this module's file, see above). */
const workerScript = join(__dirname, 'page-plan-worker.js');

/**
 * planPage(html, tag, wish, charset) on the planner thread. Never rejects: a page not planned
 * within PLAN_TIME_LIMIT_MS of this call (queued or planning), one asked for while
 * MAX_WAITING_PLANS wait, or a planner thread that fails (out of memory, a crash), gives
 * `unsupported` with the reason. Pages are planned one at a time in the order asked.
 */
export function planPageOffThread(html: Buffer, tag: string, wish: PlacementWish, charset?: string): Promise<PagePlan> {
  return new Promise((resolve) => {
    if (waiting.length >= MAX_WAITING_PLANS) {
      resolve(TOO_MANY);
      return;
    }
    const askedAt = Date.now();
    const job: Job = { request: { id: nextId++, html, tag, wish, charset }, resolve, askedAt, deadline: askedAt + PLAN_TIME_LIMIT_MS };
    // A page that is still queued at its deadline leaves the queue unplanned. (Judged after the
    // turn's reads, as the plan being made: the plan before it may have come in time.)
    job.timer = timeoutAfterReads(PLAN_TIME_LIMIT_MS, () => {
      const at = waiting.indexOf(job);
      if (at < 0) return;
      waiting.splice(at, 1);
      resolve(WAITED_TOO_LONG);
    });
    waiting.push(job);
    startNext();
  });
}

/** Pages waiting for the planner now, the one being planned not counted (preparePages leaves room). */
export function waitingPlans(): number {
  return waiting.length;
}

function startNext(): void {
  if (current !== undefined) return;
  let job = waiting.shift();
  // A page whose wait ran out while the loop was held up (its verdict still to come, after the
  // turn's reads) is not handed on: with no time left it would only cost a thread restart.
  while (job !== undefined && Date.now() >= job.deadline) {
    clearTimeout(job.timer);
    job.resolve(WAITED_TOO_LONG);
    job = waiting.shift();
  }
  if (job === undefined) return;
  clearTimeout(job.timer);
  // Planned for what is left of its wait. The thread is ended before the next page is handed on,
  // so that page gets a fresh one. On a busy machine (the thread had less CPU time than the wall
  // time it was given) the plan goes on, up to PLAN_WAIT_LIMIT_MS from the request.
  const startedAt = Date.now();
  const thread = worker;
  // A thread started for this page: all its CPU time counts (its start-up too).
  const cpuAtStart = thread === undefined ? 0 : plannerCpuMs();
  const cpuUsed = (): number | undefined => {
    const now = worker === thread || thread === undefined ? plannerCpuMs() : undefined;
    return now === undefined || cpuAtStart === undefined ? undefined : now - cpuAtStart;
  };
  // The CPU time it would have had on an idle machine: the wall time left of its wait.
  const budget = Math.max(0, job.deadline - startedAt);
  // Judged after the turn's reads (timeoutAfterReads): a plan the thread sent in time but still in
  // its port behind a held-up loop is taken (finish), not thrown away with the thread and the page
  // called too slow. Only while this page is still the one being planned.
  const expire = (): void => {
    if (current?.job !== job) return;
    const now = Date.now();
    const used = cpuUsed();
    if (used !== undefined && used < budget - 1 && now < job.askedAt + PLAN_WAIT_LIMIT_MS) {
      // Starved, not slow: wait for the rest of its CPU time (or the wait limit).
      current.timer = timeoutAfterReads(Math.min(budget - used, job.askedAt + PLAN_WAIT_LIMIT_MS - now), expire);
      return;
    }
    const given = now - startedAt;
    restart();
    // The page's own fault only when it had a fair share of the time to itself: its thread's CPU
    // time where known, else the wall time.
    finish(job, (used ?? given) >= PLAN_TIME_LIMIT_MS / 2 ? TOO_SLOW : WAITED_TOO_LONG);
  };
  const timer = timeoutAfterReads(Math.max(0, job.deadline - Date.now()), expire);
  current = { job, timer };
  try {
    planner().postMessage(job.request);
  } catch (err) {
    restart();
    finish(job, { kind: 'unsupported', reason: `the page planner could not start (${err instanceof Error ? err.message : String(err)})` });
  }
}

function planner(): Worker {
  if (worker !== undefined) return worker;
  // node:worker_threads is loaded with the first page to plan, not at every start-up.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Worker: PlannerThread } = require('node:worker_threads') as typeof WorkerThreadsModule;
  const w = new PlannerThread(workerScript, { resourceLimits: { maxOldGenerationSizeMb: PLANNER_HEAP_MB } });
  w.on('message', (response: PlanResponse | { readonly tid: number }) => {
    if ('tid' in response) {
      if (worker === w) workerTid = response.tid;
      return;
    }
    if (current !== undefined && current.job.request.id === response.id) finish(current.job, response.plan);
  });
  // A thread that fails (out of memory, an error outside planPage) fails the page it was planning.
  const failed = (why: string): void => {
    if (worker !== w) return;
    worker = undefined;
    if (current !== undefined) finish(current.job, { kind: 'unsupported', reason: `the page planner stopped (${why})` });
  };
  w.on('error', (err) => failed(err.message));
  w.on('exit', (code) => failed(`exit code ${code}`));
  // After the listeners: attaching a 'message' listener refs the thread's port again.
  w.unref();
  worker = w;
  workerTid = undefined;
  return w;
}

/** The planner thread's CPU time (ms), where the system says it (Linux), else undefined. */
function plannerCpuMs(): number | undefined {
  if (workerTid === undefined) return undefined;
  try {
    // schedstat: time on the CPU (ns), time waiting for it (ns), time slices.
    const ns = Number(readFileSync(`/proc/self/task/${workerTid}/schedstat`, 'latin1').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Ends the planner thread after a plan ran out of time; the next page gets a new one. */
function restart(): void {
  const w = worker;
  worker = undefined;
  workerTid = undefined;
  if (w !== undefined) void w.terminate();
}

function finish(job: Job, plan: PagePlan): void {
  if (current?.job !== job) return;
  clearTimeout(current.timer);
  current = undefined;
  job.resolve(plan);
  startNext();
}
