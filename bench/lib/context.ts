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
