import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const workspace = fileURLToPath(new URL("../../", import.meta.url));

export interface ReplicaProcess {
  target: string;
  serverId: string;
  child: ChildProcess;
  /** SIGKILL: the replica dies without draining anything. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful path. Resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `src/main.ts` as its own process, as in production, on a free port (PORT=0). */
export async function startReplicaProcess(env: { REDIS_URL: string; SERVER_ID: string }): Promise<ReplicaProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: workspace,
    env: { ...process.env, ...env, PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((l) => l.includes('"msg":"user service listening"'));
      if (line) {
        child.stdout.off("data", onData);
        child.stdout.resume();
        resolve((JSON.parse(line) as { port: number }).port);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`replica ${env.SERVER_ID} exited with ${code}:\n${output}`)));
  });
  const exited = once(child, "exit");
  return {
    target: `127.0.0.1:${port}`,
    serverId: env.SERVER_ID,
    child,
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
