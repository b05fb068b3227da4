/** Latency samples in milliseconds, growing as needed, summarised once at the end. */
export class Samples {
  private values = new Float64Array(1024);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  addAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]!);
  }

  get count(): number {
    return this.length;
  }

  /** A copy of the samples, e.g. to send from a worker thread. */
  copy(): Float64Array<ArrayBuffer> {
    return this.values.slice(0, this.length);
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.length).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: sorted.length,
      mean: round(sorted.length ? sum / sorted.length : 0),
      p50: round(at(0.5)),
      p95: round(at(0.95)),
      p99: round(at(0.99)),
      max: round(sorted.length ? sorted[sorted.length - 1]! : 0),
      histogram: histogram(sorted),
    };
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Count of samples below each bound in ms ("<5": n, ...), then ">=2000". */
  histogram: Record<string, number>;
}

const bounds = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

function histogram(sorted: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  let i = 0;
  for (const bound of bounds) {
    let n = 0;
    while (i < sorted.length && sorted[i]! < bound) {
      n++;
      i++;
    }
    out[`<${bound}`] = n;
  }
  out[`>=${bounds.at(-1)}`] = sorted.length - i;
  return out;
}

/**
 * The median of repeated measurements (the mean of the middle two for an even count; NaN for
 * none): what a cell repeated with `--runs` reports, so one run disturbed by the machine's other
 * work does not decide the figure.
 */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Rounds for reports: 3 significant decimals below 10, 1 above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  const digits = Math.abs(value) < 10 ? 3 : 1;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across worker threads and processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Of the samples above `threshold` (`latencies[p][i]`, taken for something sent at `sentAt[p][i]`),
 * the share sent within the `windows` worst windows of `windowMs` from `from`: how much of a tail
 * a few short stretches made. Near windows/total when slow samples are spread evenly, near 1 when
 * a few pauses made them.
 */
export function tailInBursts(
  latencies: ArrayLike<number>[],
  sentAt: ArrayLike<number>[],
  threshold: number,
  from: number,
  { windowMs, windows }: { windowMs: number; windows: number },
): number {
  const slowPerWindow = new Map<number, number>();
  let slow = 0;
  latencies.forEach((part, p) => {
    for (let i = 0; i < part.length; i++) {
      if (part[i]! <= threshold) continue;
      slow += 1;
      const window = Math.floor((sentAt[p]![i]! - from) / windowMs);
      slowPerWindow.set(window, (slowPerWindow.get(window) ?? 0) + 1);
    }
  });
  if (slow === 0) return 0;
  const worst = [...slowPerWindow.values()].sort((a, b) => b - a).slice(0, windows);
  return worst.reduce((a, b) => a + b, 0) / slow;
}
