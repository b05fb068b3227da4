import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A server the benchmark started as its own OS process, measured through /proc. */
export interface Service {
  name: string;
  pid: number;
  port: number;
  /** The last few KB of its stdout and stderr, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Ready when this port accepts TCP connections. */
  port: number;
  /** @default 30000 */
  readyTimeoutMs?: number;
  /** How often the port is tried; the start-up suite times readiness and wants it fine. @default 100 */
  pollMs?: number;
}

const running = new Set<ChildProcess>();

/** Kills every service still running (the benchmark's own children only), e.g. after an error. */
export function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}
process.once("exit", killAll);

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

function accepts(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts a process and waits (bounded) until its port accepts connections. */
export async function startService(options: StartOptions): Promise<Service> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const spawnError = new Promise<never>((_, reject) => {
    child.once("error", (error) => reject(new Error(`${options.name}: cannot start ${options.command}: ${error.message}`)));
  });
  spawnError.catch(() => undefined);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      throw new Error(`${options.name} exited before listening (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    if (await Promise.race([accepts(options.port), spawnError])) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${options.name} did not listen on ${options.port} within ${options.readyTimeoutMs ?? 30_000} ms:\n${output}`);
    }
    await sleep(options.pollMs ?? 100);
  }
  return {
    name: options.name,
    pid: child.pid!,
    port: options.port,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return void running.delete(child);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      running.delete(child);
    },
  };
}

/**
 * Runs a TypeScript entry point in one plain node process (no tsx wrapper process, so /proc sees
 * the server itself). With BENCH_PROFILE_DIR set, each server writes a V8 CPU profile there when
 * it stops (open it in Chrome DevTools or speedscope).
 */
export function tsNode(entry: string): { command: string; args: string[] } {
  return { command: process.execPath, args: [...profileArgs(), "--import", "tsx", entry] };
}

/**
 * Runs a service's compiled entry point (`<workspace>/dist/main.js`, built by `tsc -b`) the way
 * the images run it: plain node, workspace packages resolved to their compiled `dist/` too.
 * `compileServices` must have run first.
 */
export function compiledNode(repo: string, workspace: string): { command: string; args: string[] } {
  return { command: process.execPath, args: [...profileArgs(), "--conditions=compiled", join(repo, workspace, "dist/main.js")] };
}

/** Compiles our services (a no-op when dist/ is newer than src/), once before any of them starts. */
export function compileServices(repo: string): void {
  const built = spawnSync(process.execPath, [join(repo, "scripts/ensure-built.mjs"), "packages/redis-kit", "grpc-demo", "websocket-chat"], { cwd: repo, stdio: "inherit" });
  if (built.status !== 0) throw new Error(`compiling the services failed (exit ${built.status}); run npx tsc -b to see why`);
}

/**
 * Profilers for every server we start, ours and the peers alike: `--cpu-prof` into
 * BENCH_PROFILE_DIR, and the allocation sampler (servers/sample-allocations.mjs) into
 * BENCH_ALLOC_PROFILE_DIR, when they are set. Both write their file as the process exits.
 */
export const profileArgs = (): string[] => [
  ...(process.env.BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []),
  ...(process.env.BENCH_ALLOC_PROFILE_DIR ? ["--import", new URL("../servers/sample-allocations.mjs", import.meta.url).href] : []),
];

const CLOCK_TICKS = 100; // USER_HZ; `getconf CLK_TCK` is 100 on every Linux this runs on

/** A process's parent and CPU seconds from /proc/<pid>/stat, or undefined once it is gone. */
export function procStat(pid: number | string): { ppid: number; cpu: number; reapedChildrenCpu: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name (which may hold spaces and parentheses) comes state, field 3.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const field = (n: number) => Number(fields[n - 3]);
    return { ppid: field(4), cpu: (field(14) + field(15)) / CLOCK_TICKS, reapedChildrenCpu: (field(16) + field(17)) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  return procStat(pid)?.cpu ?? 0;
}

/** CPU seconds of the whole machine so far: all CPUs' busy time from /proc/stat. */
export function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = ticks;
  return (user + nice + system + irq + softirq) / CLOCK_TICKS;
}

/** Resident memory in KB (0 once the process is gone). */
export function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** CPU used by a set of processes between `start()` and `stop()`. */
export function cpuMeter(pids: number[]) {
  const before = pids.map(cpuSeconds);
  const self = process.cpuUsage();
  const startedAt = performance.now();
  return {
    stop() {
      const perProcess = pids.map((pid, i) => cpuSeconds(pid) - before[i]!);
      const own = process.cpuUsage(self);
      return {
        seconds: (performance.now() - startedAt) / 1000,
        perProcess,
        total: perProcess.reduce((a, b) => a + b, 0),
        /** This benchmark process (load generator, including its worker threads). */
        loadGenerator: (own.user + own.system) / 1e6,
      };
    },
  };
}
