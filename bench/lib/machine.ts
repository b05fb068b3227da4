import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { machineBusySeconds, procStat } from "./processes.js";

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  /** 1, 5 and 15 minute load averages when the run started: above nproc means others were using the CPUs. */
  loadAverage: number[];
  node: string;
  redis: string;
  nginx: string;
  kernel: string;
}

function version(command: string, args: string[]): string {
  try {
    const out = execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return out.trim().split("\n")[0] ?? "";
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    return stderr?.trim().split("\n")[0] ?? "not installed";
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    redis: version("redis-server", ["--version"]),
    // nginx prints its version on stderr.
    nginx: version("nginx", ["-v"]),
    kernel: version("uname", ["-r"]),
  };
}

/** Stops with a message saying what to install when a system binary is missing. */
export function requireBinaries(names: string[]): void {
  const missing = names.filter((name) => {
    try {
      execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    const packages = missing.map((m) => (m === "redis-server" ? "redis-server" : m)).join(" ");
    throw new Error(`missing ${missing.join(", ")}: install Debian's packages first: apt-get install -y ${packages}`);
  }
}

/** Cumulative CPU seconds, at one moment, of the whole machine and of this benchmark's process tree. */
export interface CpuLedger {
  at: number;
  machineBusy: number;
  benchTree: number;
}

/**
 * Reads /proc: busy time of all CPUs, and CPU time of this process plus every live descendant
 * (servers, Redis, nginx, client processes; those that exited count through their parent's
 * reaped-children time). The difference between two ledgers says how much CPU *other* work took
 * during a run, which the load average cannot: the benchmark's own servers raise it.
 */
export function cpuLedger(): CpuLedger {
  const machineBusy = machineBusySeconds();
  const stats = new Map<number, NonNullable<ReturnType<typeof procStat>>>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  let benchTree = 0;
  const pending = [process.pid];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    const stat = stats.get(pid);
    benchTree += stat ? stat.cpu + stat.reapedChildrenCpu : 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return { at: performance.now(), machineBusy, benchTree };
}

/** What other processes took between two ledgers: CPU seconds, and their share of the machine's capacity then. */
export interface OtherWork {
  cpuSeconds: number;
  /** Of the machine's capacity over the interval (nproc × seconds), 0..1. */
  share: number;
}

export function otherWork(start: CpuLedger, end: CpuLedger, nproc: number): OtherWork {
  const cpuSeconds = Math.max(0, end.machineBusy - start.machineBusy - (end.benchTree - start.benchTree));
  const capacity = ((end.at - start.at) / 1000) * nproc;
  return { cpuSeconds: Math.round(cpuSeconds * 10) / 10, share: capacity > 0 ? Math.round((cpuSeconds / capacity) * 1000) / 1000 : 0 };
}
