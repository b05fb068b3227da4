import { Samples, nowMs, type LatencySummary } from "./stats.js";

export interface ClosedLoopResult {
  concurrency: number;
  seconds: number;
  completed: number;
  errors: number;
  /** Completed calls per second. */
  rate: number;
  latencyMs: LatencySummary;
  /** First error message seen, if any. */
  firstError?: string;
}

/**
 * Closed-loop load: `concurrency` callers, each issuing the next call as soon as the previous
 * one answers, for `seconds` (after `warmupSeconds` not counted). Bounded by time.
 */
export async function closedLoop(
  call: (i: number) => Promise<unknown>,
  options: { concurrency: number; seconds: number; warmupSeconds?: number },
): Promise<ClosedLoopResult> {
  const samples = new Samples();
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let counter = 0;
  const warmupEnd = nowMs() + (options.warmupSeconds ?? 0) * 1000;
  const end = warmupEnd + options.seconds * 1000;
  let measuredFrom = 0;
  const caller = async () => {
    for (;;) {
      const start = nowMs();
      if (start >= end) return;
      try {
        await call(counter++);
        const done = nowMs();
        if (start >= warmupEnd) {
          if (measuredFrom === 0) measuredFrom = start;
          samples.add(done - start);
          completed++;
        }
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        // A failing target must not turn into a hot loop.
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, caller));
  const seconds = Math.max(0.001, (nowMs() - (measuredFrom || warmupEnd)) / 1000);
  return {
    concurrency: options.concurrency,
    seconds: Math.round(seconds * 100) / 100,
    completed,
    errors,
    rate: Math.round(completed / seconds),
    latencyMs: samples.summary(),
    ...(firstError ? { firstError } : {}),
  };
}

/** Runs `fn(0..count-1)` with at most `concurrency` in flight; rejects on the first failure. */
export async function forEachLimited(count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
