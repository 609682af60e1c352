/**
 * Measures this thread's event-loop delay over a bounded interval (perf_hooks histogram). Used by
 * the hidden `porthole._measureEventLoop` command to show that a loaded server (in its worker)
 * does not stall the extension host.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopDelay {
  readonly durationMs: number;
  /** The sampling interval; every recorded value includes it (a value of `resolutionMs` = no delay). */
  readonly resolutionMs: number;
  readonly samples: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Longest measurement accepted (every wait is bounded). */
export const MAX_MEASURE_MS = 60_000;

export async function measureEventLoopDelay(durationMs: number, resolutionMs = 10): Promise<EventLoopDelay> {
  const duration = Math.min(Math.max(Math.floor(durationMs), 100), MAX_MEASURE_MS);
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, duration));
  histogram.disable();
  const ms = (ns: number): number => Math.round((ns / 1e6) * 100) / 100;
  return {
    durationMs: duration,
    resolutionMs,
    samples: histogram.count,
    meanMs: ms(histogram.mean),
    p50Ms: ms(histogram.percentile(50)),
    p99Ms: ms(histogram.percentile(99)),
    maxMs: ms(histogram.max),
  };
}
