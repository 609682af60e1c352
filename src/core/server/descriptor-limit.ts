/**
 * The process's descriptor limit (the soft RLIMIT_NOFILE, what `ulimit -n` shows). Node has no API
 * for it; on Linux /proc/self/limits says it ("Max open files  <soft>  <hard>  files"). Elsewhere,
 * or when it cannot be read, undefined (the caller falls back to FALLBACK_DESCRIPTOR_LIMIT).
 */
import { readFileSync } from 'node:fs';

/** Parses the text of /proc/self/limits; undefined when the line is missing or "unlimited". */
export function parseDescriptorLimit(procLimits: string): number | undefined {
  const m = /^Max open files\s+(\d+)\s/m.exec(procLimits);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The soft descriptor limit of this process, read once per call (cheap: one small proc file). */
export function readDescriptorLimit(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return parseDescriptorLimit(readFileSync('/proc/self/limits', 'latin1'));
  } catch {
    return undefined;
  }
}
