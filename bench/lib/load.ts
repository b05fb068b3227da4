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

/** One event loop's share of a closed loop, unsummarised, so shares from worker threads can be merged. */
export interface ClosedLoopPart {
  concurrency: number;
  completed: number;
  errors: number;
  firstError?: string;
  /** Epoch ms (nowMs) of the first measured call's start, 0 when none; and when the last caller stopped. */
  measuredFrom: number;
  measuredTo: number;
  /** Latency of every measured call, in ms. */
  latencies: Float64Array<ArrayBuffer>;
}

export interface ClosedLoopOptions {
  concurrency: number;
  seconds: number;
  warmupSeconds?: number;
  /** Epoch ms (nowMs) to start at, so worker threads start together; default now. */
  startAt?: number;
}

/**
 * Closed-loop load: `concurrency` callers, each issuing the next call as soon as the previous
 * one answers, for `seconds` (after `warmupSeconds` not counted). Bounded by time.
 */
export async function closedLoopPart(call: (i: number) => Promise<unknown>, options: ClosedLoopOptions): Promise<ClosedLoopPart> {
  const samples = new Samples();
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  let counter = 0;
  const startAt = options.startAt ?? nowMs();
  while (nowMs() < startAt) await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, startAt - nowMs()))));
  const warmupEnd = startAt + (options.warmupSeconds ?? 0) * 1000;
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
  return {
    concurrency: options.concurrency,
    completed,
    errors,
    ...(firstError ? { firstError } : {}),
    measuredFrom: measuredFrom || warmupEnd,
    measuredTo: nowMs(),
    latencies: samples.copy(),
  };
}

/**
 * Merges closed loops into one result: each slice is the shares (one per event loop) of one run
 * over a common window; slices are runs at different times, whose windows add up.
 */
export function mergeClosedLoop(slices: ClosedLoopPart[][]): ClosedLoopResult {
  const samples = new Samples();
  const parts = slices.flat();
  for (const part of parts) samples.addAll(part.latencies);
  let ms = 0;
  for (const slice of slices) {
    const active = slice.filter((p) => p.concurrency > 0);
    ms += Math.max(...active.map((p) => p.measuredTo)) - Math.min(...active.map((p) => p.measuredFrom));
  }
  const seconds = Math.max(0.001, ms / 1000);
  const completed = parts.reduce((sum, p) => sum + p.completed, 0);
  const firstError = parts.find((p) => p.firstError)?.firstError;
  return {
    concurrency: slices[0]!.reduce((sum, p) => sum + p.concurrency, 0),
    seconds: Math.round(seconds * 100) / 100,
    completed,
    errors: parts.reduce((sum, p) => sum + p.errors, 0),
    rate: Math.round(completed / seconds),
    latencyMs: samples.summary(),
    ...(firstError ? { firstError } : {}),
  };
}

/** A closed loop on this event loop alone. */
export async function closedLoop(call: (i: number) => Promise<unknown>, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  return mergeClosedLoop([[await closedLoopPart(call, options)]]);
}

/** Runs `fn(0..count-1)` with at most `concurrency` in flight; rejects on the first failure. */
export async function forEachLimited(count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
