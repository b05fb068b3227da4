/**
 * The kit's compose file brought up by testcontainers, as participants run it: same file, same
 * profiles, same image variables (the ones scripts/prepare-images.sh chose, in .tmp/images.env).
 * Host ports are random so a suite can run beside a kit started with `npm start`.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from "testcontainers";

export const repoRoot = path.resolve(import.meta.dirname, "../../..");
const composeDir = path.join(repoRoot, "compose");
const run = promisify(execFile);

// The cleanup container (Ryuk) comes from Docker Hub; where it cannot be pulled, the suite
// cleans up itself (afterAll, and global-teardown for anything a crash left behind).
process.env["TESTCONTAINERS_RYUK_DISABLED"] ??= "true";

/**
 * Prefix of every compose project the suite creates (global-setup removes leftovers with it).
 * CLUSTERKIT_TEST_PROJECT_PREFIX sets another, so two runs on one engine (a CI run and a
 * developer's) do not remove each other's projects. @default "ck-test-"
 */
export const PROJECT_PREFIX = process.env["CLUSTERKIT_TEST_PROJECT_PREFIX"] || "ck-test-";

/** The image variables shared with compose and `npm start` (written by prepare-images.sh). */
export function imagesEnv(): Record<string, string> {
  const file = path.join(repoRoot, ".tmp/images.env");
  const env: Record<string, string> = {};
  if (!existsSync(file)) return env;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run("docker", args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

let composeV2: boolean | undefined;
/**
 * `docker compose` (v2) when the plugin is there, else `docker-compose` (1.29), as `npm start`
 * chooses; CLUSTERKIT_COMPOSE ("docker compose" or "docker-compose") picks one.
 */
async function hasComposeV2(): Promise<boolean> {
  const chosen = process.env["CLUSTERKIT_COMPOSE"];
  if (chosen) return chosen === "docker compose";
  composeV2 ??= await run("docker", ["compose", "version"]).then(
    () => true,
    () => false,
  );
  return composeV2;
}

export interface KitOptions {
  profile: "chat" | "grpc" | "all";
  /** More profiles to enable: `grpc-nginx` for Envoy's stand-in. */
  extraProfiles?: string[];
  /** Compose files added on top of compose.yaml, in compose/ (`redis-cluster.yaml`). */
  extraFiles?: string[];
  /** Services that run once and exit 0 (no healthcheck to wait for): `redis-cluster-init`. */
  oneShot?: string[];
  services: string[];
  scale?: Record<string, number>;
  /** Compose variables for this project (`CHAT_LB`, …), over the image choices. */
  env?: Record<string, string>;
}

/** The images prepare-images.sh chose include Envoy's. */
export const envoyAvailable = (): boolean => imagesEnv()["ENVOY_AVAILABLE"] === "1";

/**
 * The gRPC front door on :9000, as `npm start` picks it: Envoy where its image exists, else nginx
 * (nginx/grpc.conf) in its place. Its compose service, and the profile that enables it.
 */
export function frontDoor(): { service: "envoy" | "grpc-nginx"; profiles: string[] } {
  return envoyAvailable() ? { service: "envoy", profiles: [] } : { service: "grpc-nginx", profiles: ["grpc-nginx"] };
}

export interface ContainerInfo {
  id: string;
  name: string;
  /** The container's hostname: each service's default SERVER_ID. */
  hostname: string;
  health: string;
  running: boolean;
}

export class Kit {
  private constructor(
    readonly project: string,
    private readonly env: Record<string, string>,
    private readonly files: string[],
    /** Profiles beyond `all` that services of the extra files need (e.g. `redis-cluster`). */
    private readonly extraProfiles: string[],
    private started: StartedDockerComposeEnvironment | undefined,
  ) {}

  static async start(options: KitOptions): Promise<Kit> {
    const project = `${PROJECT_PREFIX}${options.profile}-${process.pid}-${Date.now().toString(36)}`;
    const env: Record<string, string> = {
      ...imagesEnv(),
      NGINX_PORT: "0",
      USERS_HOST_PORTS: "0",
      ENVOY_PORT: "0",
      ENVOY_ADMIN_PORT: "0",
      LOG_LEVEL: "warn",
      ...options.env,
    };
    const scale = Object.entries(options.scale ?? {}).flatMap(([service, n]) => ["--scale", `${service}=${n}`]);
    const standalone = !(await hasComposeV2());
    const files = ["compose.yaml", ...(options.extraFiles ?? [])];
    const environment = new DockerComposeEnvironment(composeDir, files)
      .withProjectName(project)
      .withProfiles(options.profile, ...(options.extraProfiles ?? []))
      .withEnvironment(env)
      .withDefaultWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000)
      .withClientOptions({
        commandOptions: ["--no-build", ...scale],
        ...(standalone ? { executable: { standalone: true } } : {}),
      });
    if (env["ENVOY_AVAILABLE"] === "1" && options.services.includes("envoy")) {
      // Envoy's image has no healthcheck: wait for its ports instead.
      const name = standalone ? `${project}_envoy_1` : "envoy-1";
      environment.withWaitStrategy(name, Wait.forListeningPorts());
    }
    for (const service of options.oneShot ?? []) {
      environment.withWaitStrategy(standalone ? `${project}_${service}_1` : `${service}-1`, Wait.forOneShotStartup());
    }
    const started = await environment.up(options.services);
    return new Kit(project, env, files, options.extraProfiles ?? [], started);
  }

  /** The compose network, for containers the tests run beside the kit (the CLI). */
  get network(): string {
    return `${this.project}_default`;
  }

  /** Runs a compose command on this project (the same CLI the suite brought it up with). */
  async compose(...args: string[]): Promise<string> {
    const profiles = ["all", ...this.extraProfiles].flatMap((profile) => ["--profile", profile]);
    const base = ["-p", this.project, ...this.files.flatMap((file) => ["-f", path.join(composeDir, file)]), ...profiles];
    const env = { ...process.env, ...this.env };
    const { stdout } = (await hasComposeV2())
      ? await run("docker", ["compose", ...base, ...args], { env })
      : await run("docker-compose", [...base, ...args], { env });
    return stdout.trim();
  }

  async containers(service: string): Promise<ContainerInfo[]> {
    const ids = (
      await docker(
        "ps",
        "-a",
        "-q",
        "--filter",
        `label=com.docker.compose.project=${this.project}`,
        "--filter",
        `label=com.docker.compose.service=${service}`,
      )
    )
      .split("\n")
      .filter(Boolean);
    if (ids.length === 0) return [];
    const raw = JSON.parse(await docker("inspect", ...ids)) as Array<{
      Id: string;
      Name: string;
      Config: { Hostname: string };
      State: { Running: boolean; Health?: { Status: string } };
    }>;
    return raw.map((c) => ({
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      hostname: c.Config.Hostname,
      health: c.State.Health?.Status ?? "none",
      running: c.State.Running,
    }));
  }

  /** The container's address on the compose network. */
  async address(containerId: string): Promise<string> {
    return docker("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", containerId);
  }

  /** The host port a container publishes for `privatePort`. */
  async hostPort(containerId: string, privatePort: number): Promise<number> {
    const out = await docker("port", containerId, `${privatePort}/tcp`);
    const port = Number(/:(\d+)\s*$/m.exec(out)?.[1]);
    if (!port) throw new Error(`container ${containerId} publishes no port for ${privatePort}: ${out}`);
    return port;
  }

  /** Waits until `service` has exactly `count` running containers, all healthy. */
  async waitHealthy(service: string, count: number, timeoutMs = 60_000): Promise<ContainerInfo[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = (await this.containers(service)).filter((c) => c.running);
      if (running.length === count && running.every((c) => c.health === "healthy")) return running;
      if (Date.now() > deadline) {
        throw new Error(`${service}: wanted ${count} healthy, have ${running.map((c) => `${c.name}=${c.health}`).join(", ")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** `docker stop -t graceSeconds` on one running container of `service`: how long it took, and its exit code. */
  async stopOne(service: string, graceSeconds: number): Promise<{ ms: number; exitCode: number }> {
    const [victim] = (await this.containers(service)).filter((c) => c.running);
    if (!victim) throw new Error(`no running ${service} container to stop`);
    const started = Date.now();
    await docker("stop", "-t", String(graceSeconds), victim.id);
    const ms = Date.now() - started;
    return { ms, exitCode: JSON.parse(await docker("inspect", "--format", "{{json .State.ExitCode}}", victim.id)) as number };
  }

  async down(): Promise<void> {
    if (!this.started) return;
    const started = this.started;
    this.started = undefined;
    await started.down({ removeVolumes: true, timeout: 5_000 });
  }
}
