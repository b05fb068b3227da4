import type { FromWorker, GrpcLoadSetup, ToWorker } from "../workers/grpc-load.js";
import { mergeClosedLoop, type ClosedLoopPart, type ClosedLoopResult } from "./load.js";
import { cpuMeter } from "./processes.js";
import { nowMs } from "./stats.js";
import { WorkerPool } from "./worker-pool.js";

type Rpc = "GetUser" | "CreateUser";

/** Closed-loop GetUser / CreateUser load on one side, from worker threads of this process. */
export interface UnaryLoad {
  /** One closed loop over every thread; the shares of each thread, over a common window. */
  run(rpc: Rpc, options: { label: string; concurrency: number; seconds: number; warmupSeconds: number; startAt: number }): Promise<ClosedLoopPart[]>;
  close(): Promise<void>;
}

/**
 * Starts `threads` load threads for one side, each with `setup.connections` channels to the
 * side's addresses. A cell's concurrency is split over the threads (c=1 uses one). Both sides
 * get the same threads, connections and code, so only the servers differ.
 */
export async function startUnaryLoad(setup: Omit<GrpcLoadSetup, "worker">, threads: number): Promise<UnaryLoad> {
  const pool = new WorkerPool<ToWorker, FromWorker>(
    new URL("../workers/grpc-load.ts", import.meta.url),
    Array.from({ length: threads }, (_, worker) => ({ ...setup, worker }) satisfies GrpcLoadSetup),
  );
  const ready = await pool.all("ready", 30_000);
  const failed = ready.find((r) => r.error);
  if (failed) {
    await pool.terminate();
    throw new Error(`load thread could not reach ${setup.addresses.join(",")}: ${failed.error}`);
  }
  return {
    async run(rpc, options) {
      const shares = Array.from({ length: threads }, (_, i) => Math.floor(options.concurrency / threads) + (i < options.concurrency % threads ? 1 : 0));
      const { startAt } = options;
      const timeoutMs = (options.seconds + options.warmupSeconds) * 1000 + 30_000;
      const replies = await pool.askEach(
        shares.map((concurrency) => ({ type: "run", rpc, label: options.label, concurrency, seconds: options.seconds, warmupSeconds: options.warmupSeconds, startAt }) satisfies ToWorker),
        "ran",
        timeoutMs,
      );
      return replies.map((r) => r.part);
    },
    async close() {
      await pool.close({ type: "close" }, "closed", 5000);
    },
  };
}

export interface CellSide {
  name: string;
  load: UnaryLoad;
  /** The side's server processes, for CPU from /proc. */
  pids: number[];
}

export interface CellResult extends ClosedLoopResult {
  /** CPU seconds of the side's servers, and of this process (the load threads), while it ran. */
  serverCpu: number;
  clientCpu: number;
  /** CPU seconds of each of the side's server processes (in `pids` order), e.g. replicas apart from Redis. */
  serverCpuByProcess: number[];
}

/**
 * Measures one cell (RPC, concurrency) on every side in `slices` turns of `seconds / slices`,
 * in ABBA order (peer, ours, ours, peer, ...), so a change in the machine's background load
 * during the cell falls on each side alike. Each turn has its own short warm-up.
 */
export async function alternateCell(
  sides: CellSide[],
  rpc: Rpc,
  options: { label: string; concurrency: number; seconds: number; warmupSeconds: number; slices: number },
): Promise<Map<string, CellResult>> {
  const runs = new Map(sides.map((s) => [s.name, { slices: [] as ClosedLoopPart[][], serverCpu: 0, clientCpu: 0, byProcess: s.pids.map(() => 0) }]));
  for (let slice = 0; slice < options.slices; slice++) {
    for (const side of slice % 2 === 0 ? sides : [...sides].reverse()) {
      // A common start a little ahead, so every thread's window is the same; CPU is counted from
      // the end of the warm-up, like the calls.
      const startAt = nowMs() + 50;
      let meter: ReturnType<typeof cpuMeter> | undefined;
      const timer = setTimeout(() => (meter = cpuMeter(side.pids)), startAt + options.warmupSeconds * 1000 - nowMs());
      const parts = await side.load.run(rpc, { ...options, label: `${options.label}-${side.name}-${slice}`, seconds: options.seconds / options.slices, startAt });
      clearTimeout(timer);
      const cpu = (meter ?? cpuMeter(side.pids)).stop();
      const run = runs.get(side.name)!;
      run.slices.push(parts);
      run.serverCpu += cpu.total;
      run.clientCpu += cpu.loadGenerator;
      cpu.perProcess.forEach((seconds, i) => (run.byProcess[i]! += seconds));
    }
  }
  return new Map([...runs].map(([name, run]) => [name, { ...mergeClosedLoop(run.slices), serverCpu: run.serverCpu, clientCpu: run.clientCpu, serverCpuByProcess: run.byProcess }]));
}
