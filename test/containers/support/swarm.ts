/**
 * The kit as a swarm stack, deployed and removed by the same scripts as `npm run swarm:up` and
 * `npm run swarm:down`, under a stack name of its own and free host ports (so it runs beside a
 * kit started with `npm start`). The engine is made a swarm if it is in none, and leaves it again
 * on removal.
 */
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { PROJECT_PREFIX, docker, repoRoot } from "./kit.js";

const run = promisify(execFile);

/** Prefix of every stack the suite deploys (leftovers of a crashed run are removed by it). */
export const STACK_PREFIX = `${PROJECT_PREFIX}swarm-`;

/**
 * Each chat replica's port 3000 on a random host port (test-only, merged last): a test client
 * can then sit on the replica it chooses. Through nginx it cannot: ip_hash keys on the client's
 * address, and every client here comes from this host.
 */
const replicaPortsFile = path.join(import.meta.dirname, "swarm-replica-ports.yaml");

export interface Task {
  containerId: string;
  /** The container's hostname: each service's default SERVER_ID. */
  hostname: string;
  health: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function script(name: string, args: string[], env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await run("bash", [path.join(repoRoot, "scripts", name), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`scripts/${name} ${args.join(" ")} failed:\n${stdout}\n${stderr}`);
  }
}

export class SwarmStack {
  private constructor(
    readonly name: string,
    readonly nginxPort: number,
    readonly grpcPort: number,
    /** The engine was in no swarm before this stack: removing the stack leaves it again. */
    private readonly madeSwarm: boolean,
  ) {}

  /** How long `swarm-up.sh` took, image check and convergence included. */
  deployMs = 0;

  static async deploy(): Promise<SwarmStack> {
    const before = await docker("info", "--format", "{{.Swarm.LocalNodeState}}");
    if (before === "active") await SwarmStack.removeLeftovers();
    const name = `${STACK_PREFIX}${process.pid}-${Date.now().toString(36)}`;
    const [nginxPort, grpcPort] = [await freePort(), await freePort()];
    const started = Date.now();
    const stack = new SwarmStack(name, nginxPort, grpcPort, before !== "active");
    try {
      await script("swarm-up.sh", ["--no-build", "-c", replicaPortsFile], {
        ...stack.env(),
        NGINX_PORT: String(nginxPort),
        ENVOY_PORT: String(grpcPort),
        LOG_LEVEL: "warn",
        SWARM_WAIT_SECONDS: "300",
      });
    } catch (error) {
      await stack.remove().catch(() => {});
      throw error;
    }
    stack.deployMs = Date.now() - started;
    return stack;
  }

  /** Stacks a crashed run of this suite left behind. */
  private static async removeLeftovers(): Promise<void> {
    const names = (await docker("stack", "ls", "--format", "{{.Name}}")).split("\n").filter((n) => n.startsWith(STACK_PREFIX));
    for (const name of names) await script("swarm-down.sh", ["--volumes"], { STACK_NAME: name });
  }

  private env(): Record<string, string> {
    return { STACK_NAME: this.name };
  }

  service(name: string): string {
    return `${this.name}_${name}`;
  }

  /** The service's running containers (one per task), with their health. */
  async tasks(service: string): Promise<Task[]> {
    const ids = (await docker("ps", "-q", "--filter", `label=com.docker.swarm.service.name=${this.service(service)}`)).split("\n").filter(Boolean);
    if (ids.length === 0) return [];
    const raw = JSON.parse(await docker("inspect", ...ids)) as Array<{ Id: string; Config: { Hostname: string }; State: { Health?: { Status: string } } }>;
    return raw.map((c) => ({ containerId: c.Id, hostname: c.Config.Hostname, health: c.State.Health?.Status ?? "none" }));
  }

  /** The host port a task's container publishes for `target` (host mode). */
  async hostPort(containerId: string, target: number): Promise<number> {
    const out = await docker("port", containerId, `${target}/tcp`);
    const port = Number(/:(\d+)\s*$/m.exec(out)?.[1]);
    if (!port) throw new Error(`container ${containerId} publishes no port for ${target}: ${out}`);
    return port;
  }

  async inspect<T>(service: string, format: string): Promise<T> {
    return JSON.parse(await docker("service", "inspect", "--format", `{{json ${format}}}`, this.service(service))) as T;
  }

  /** `docker service update --force`: every task replaced under the service's update_config. */
  async forceUpdate(service: string): Promise<void> {
    await docker("service", "update", "--force", "--detach", this.service(service));
  }

  /**
   * Waits until the service's update has completed (its monitor window passed with no failure);
   * fails at once if swarm rolled it back or paused it.
   */
  async updateCompleted(service: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.inspect<{ State: string; Message: string } | null>(service, ".UpdateStatus");
      if (status?.State === "completed") return;
      if (status && /rollback|paused/.test(status.State)) throw new Error(`${service}: update ${status.State}: ${status.Message}`);
      if (Date.now() > deadline) throw new Error(`${service}: update not completed within ${timeoutMs} ms (${JSON.stringify(status)})`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  /** What is left of the stack on the engine: containers, networks, volumes (empty once removed). */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.stack.namespace=${this.name}`;
    const lists = await Promise.all([
      docker("ps", "-aq", "--filter", label),
      docker("network", "ls", "-q", "--filter", label),
      docker("volume", "ls", "-q", "--filter", label),
    ]);
    return lists.flatMap((list) => list.split("\n").filter(Boolean));
  }

  /** `swarm-down.sh --volumes`, and `--leave` when this stack made the swarm. */
  async remove(): Promise<void> {
    await script("swarm-down.sh", ["--volumes", ...(this.madeSwarm ? ["--leave"] : [])], this.env());
  }
}
