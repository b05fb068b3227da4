/**
 * The user service's CLI (userctl) in a container on the compose network, through the gRPC front
 * door (`envoy:9000`, or `grpc-nginx:9000` where Envoy's image cannot be had), which spreads the
 * calls over every users replica and follows them when they die, restart or scale.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { docker, frontDoor, imagesEnv, type Kit } from "./kit.js";

const run = promisify(execFile);

const usersImage = () => imagesEnv()["USERS_IMAGE"] || "clusterkit/users:dev";
const inNetworkTarget = (_kit: Kit) => `${frontDoor().service}:9000`;

function cliArgs(kit: Kit, args: string[]): string[] {
  return ["--network", kit.network, usersImage(), "node", "--import", "tsx", "src/cli/main.ts", "--target", inNetworkTarget(kit), ...args];
}

/**
 * Makes `calls` GetUser calls on ONE channel from inside the compose network (the kit's client:
 * round_robin over what the target resolves to) and counts the `x-served-by` answers.
 */
export async function servedByFromNetwork(kit: Kit, calls: number): Promise<Record<string, number>> {
  const script = `
    const { connectUsers, unary } = await import("grpc-demo/client");
    const client = await connectUsers(${JSON.stringify(inNetworkTarget(kit))});
    const seen = {};
    for (let i = 0; i < ${calls}; i++) {
      const { servedBy } = await unary((cb) => client.getUser({ id: 1 }, cb));
      seen[servedBy] = (seen[servedBy] ?? 0) + 1;
    }
    console.log(JSON.stringify(seen));
    client.close();`;
  const { stdout } = await run(
    "docker",
    ["run", "--rm", "--network", kit.network, usersImage(), "node", "--import", "tsx", "--input-type=module", "-e", script],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, number>;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One CLI command, to completion. */
export async function runCli(kit: Kit, args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run("docker", ["run", "--rm", ...cliArgs(kit, args)], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** One line of `subscribe --json`: an event with its cursor. */
export interface JsonLine {
  action: string;
  cursor: string;
  user: { id: number; name: string; email: string };
}

/** A long-running CLI command (subscribe) in its own container. */
export class CliContainer {
  private constructor(private readonly id: string) {}

  static async start(kit: Kit, args: string[]): Promise<CliContainer> {
    return new CliContainer(await docker("run", "-d", ...cliArgs(kit, args)));
  }

  private async logs(): Promise<{ stdout: string; stderr: string }> {
    const { stdout, stderr } = await run("docker", ["logs", this.id], { maxBuffer: 16 * 1024 * 1024 });
    return { stdout, stderr };
  }

  async stderr(): Promise<string> {
    return (await this.logs()).stderr;
  }

  async waitFor(text: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { stdout, stderr } = await this.logs();
      if (stdout.includes(text) || stderr.includes(text)) return;
      if (Date.now() > deadline) throw new Error(`CLI never printed ${text}:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Resolves with the first `n` JSON lines printed on stdout. */
  async waitForLines(n: number, timeoutMs = 30_000): Promise<JsonLine[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { stdout, stderr } = await this.logs();
      const lines = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as JsonLine);
      if (lines.length >= n) return lines.slice(0, n);
      if (Date.now() > deadline) throw new Error(`CLI printed ${lines.length} of ${n} lines:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async stop(): Promise<void> {
    await docker("rm", "-f", this.id).catch(() => undefined);
  }
}
