import { execFileSync } from "node:child_process";
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
