/**
 * The page planner's own thread (bundled to dist/page-plan-worker.js; see page-planner.ts): plans
 * one page at a time with planPage and posts the plan back. Nothing else runs here, so a page
 * whose parse takes long (pathological nesting) stalls this thread alone, and the server's thread
 * can end it.
 */
import { readlinkSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { planPage } from './live-reload-inject';
import type { PlanRequest, PlanResponse } from './page-planner';

if (parentPort === null) throw new Error('page-plan-worker must run in a worker thread');
const port = parentPort;
// This thread's kernel thread id (Linux: /proc/thread-self is "pid/task/tid"), so that the
// server's thread can read its CPU time (a busy machine is not a slow page; see page-planner.ts).
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  if (Number.isInteger(tid)) port.postMessage({ tid });
} catch {
  // Not Linux: the planner judges by wall time.
}
port.on('message', (request: PlanRequest) => {
  const html = Buffer.from(request.html.buffer, request.html.byteOffset, request.html.byteLength);
  let response: PlanResponse;
  try {
    response = { id: request.id, plan: planPage(html, request.tag, request.wish, request.charset) };
  } catch (err) {
    response = { id: request.id, plan: { kind: 'unsupported', reason: `the page could not be parsed (${err instanceof Error ? err.message : String(err)})` } };
  }
  port.postMessage(response);
});
