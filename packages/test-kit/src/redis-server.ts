import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { freePort } from "./free-port.js";

/** A throwaway redis-server on a free loopback port, for tests. */
export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGKILL when `hard`, to simulate a crash). */
  close(opts?: { hard?: boolean }): Promise<void>;
  /** Restarts on the same port, keeping nothing (no persistence in tests). */
  restart(): Promise<void>;
}


/**
 * Spawns redis-server (Debian's, or REDIS_SERVER_BIN) with `args` and resolves once it accepts
 * connections: the one launcher for single servers and cluster nodes alike.
 */
export function spawnRedisServer(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.env.REDIS_SERVER_BIN ?? "redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on("data", onData);
    child.once("error", (err) =>
      reject(new Error(`cannot start redis-server (npm test installs Debian's: scripts/test-prepare.sh): ${err.message}`)),
    );
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
}

const launch = (port: number) => spawnRedisServer(["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);

/** Starts redis-server from Debian's package on a free port. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child = await launch(port);
  const stop = async (hard = false) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill(hard ? "SIGKILL" : "SIGTERM");
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    close: (opts) => stop(opts?.hard ?? false),
    async restart() {
      await stop(true);
      child = await launch(port);
    },
  };
}
