import type { Peers } from "./peers.js";

/** What every suite gets from the runner. */
export interface BenchContext {
  repo: string;
  quick: boolean;
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
