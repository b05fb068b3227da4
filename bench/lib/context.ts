import type { Peers } from "./peers.js";

/** What every suite gets from the runner. */
export interface BenchContext {
  repo: string;
  quick: boolean;
  /**
   * How many times a suite repeats its comparison cells (`--runs`, default 3 for a full run and 1
   * for --quick); a suite that honours it reports the median of the runs.
   */
  runs: number;
  peers: Peers;
  log(line: string): void;
}

/** Picks the quick or the full value of a setting. */
export function pick<T>(ctx: BenchContext, full: T, quick: T): T {
  return ctx.quick ? quick : full;
}

/** A comma-separated environment variable as a list (undefined when unset or empty): narrows a suite for profiling. */
export function envList(name: string): string[] | undefined {
  const items = process.env[name]?.split(",").map((item) => item.trim()).filter(Boolean);
  return items?.length ? items : undefined;
}

/** Like envList, for positive numbers (offered loads, concurrency levels); anything else stops the run, naming the variable. */
export function envNumbers(name: string): number[] | undefined {
  const items = envList(name);
  const numbers = items?.map(Number);
  if (numbers?.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`${name}: expected positive numbers, comma-separated; got '${process.env[name]}'`);
  return numbers;
}

/** Like envList, limited to `allowed`; anything else stops the run, naming the variable. */
export function envChoices<T extends string>(name: string, allowed: readonly T[]): T[] | undefined {
  const items = envList(name);
  const unknown = items?.filter((item) => !(allowed as readonly string[]).includes(item));
  if (unknown?.length) throw new Error(`${name}: unknown ${unknown.join(", ")}; choose from ${allowed.join(", ")}`);
  return items as T[] | undefined;
}

/** A whole number of at least 0 from the environment (`fallback` when unset); anything else stops the run, naming the variable. */
export function envCount(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected a whole number ≥ 0, got '${raw}'`);
  return n;
}
