import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";

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

const CLOCK_TICKS = Number(version("getconf", ["CLK_TCK"])) || 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime: the process, its threads and its children already reaped. */
  cpuTicks: number;
}

function readProcStat(pid: string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may hold spaces and parentheses: state is field 3.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const at = (field: number) => Number(fields[field - 3]);
    return { ppid: at(4), cpuTicks: at(14) + at(15) + at(16) + at(17) };
  } catch {
    return undefined; // exited meanwhile
  }
}

/**
 * Reads /proc: busy time of all CPUs, and CPU time of this process plus every live descendant
 * (servers, Redis, nginx, client processes; those that exited count through their parent's
 * reaped-children time). The difference between two ledgers says how much CPU *other* work took
 * during a run, which the load average cannot: the benchmark's own servers raise it.
 */
export function cpuLedger(): CpuLedger {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = ticks;
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(entry);
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  let tree = 0;
  const pending = [process.pid];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    tree += stats.get(pid)?.cpuTicks ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return { at: performance.now(), machineBusy: (user + nice + system + irq + softirq) / CLOCK_TICKS, benchTree: tree / CLOCK_TICKS };
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
