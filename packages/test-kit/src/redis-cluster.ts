import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import calculateSlot from "cluster-key-slot";
import { createClient } from "redis";
import { freePort } from "./free-port.js";
import { spawnRedisServer } from "./redis-server.js";

/** One redis-server of a test cluster. */
export interface ClusterNode {
  port: number;
  url: string;
  /** Whether the process runs (false once killed). */
  readonly alive: boolean;
}

/** A throwaway Redis Cluster on loopback: 3 masters with a replica each, for tests and drills. */
export interface TestRedisCluster {
  nodes: ClusterNode[];
  /** Seed URLs for a cluster client (every node). */
  urls: string[];
  /** The node serving `key`'s slot as master right now, as the cluster says. */
  masterOf(key: string): Promise<ClusterNode>;
  /** Crashes a node (SIGKILL): its replica takes over after `cluster-node-timeout`. */
  kill(node: ClusterNode): Promise<void>;
  /** Resolves once every live node reports cluster_state:ok, every slot has a live master and every live replica is in sync. */
  healthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Masters; each gets one replica. @default 3 */
  masters?: number;
  /** `cluster-node-timeout`: how long a silent master takes to be failed over (plus an election). @default 1000 */
  nodeTimeoutMs?: number;
}

interface Running {
  port: number;
  child: ChildProcess;
}

function launch(port: number, busPort: number, dir: string, nodeTimeoutMs: number): Promise<ChildProcess> {
  return spawnRedisServer(
    [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
      "--cluster-enabled", "yes", "--cluster-port", String(busPort), "--cluster-config-file", `nodes-${port}.conf`,
      "--cluster-node-timeout", String(nodeTimeoutMs),
      // A replica takes over however long ago it last heard from its master: a test kills masters on purpose.
      "--cluster-replica-validity-factor", "0",
      // Sync a new replica at once (the default waits 5 s for more replicas to share the transfer).
      "--repl-diskless-sync-delay", "0",
    ],
  );
}

async function run(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}: ${output}`);
  return output;
}

/** Asks one node something, on a short-lived connection (no retries: a dead node just fails). */
async function ask<T>(port: number, command: string[]): Promise<T> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.sendCommand(command));
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];

/**
 * Starts a Redis Cluster from Debian's redis-server (7.0: sharded pub/sub, `--cluster-port`):
 * each node on a free loopback port with its bus on another, joined with
 * `redis-cli --cluster create ... --cluster-replicas 1`, and waited for until healthy.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const dir = await mkdtemp(join(tmpdir(), "redis-cluster-"));
  const running: Running[] = [];
  const nodes: ClusterNode[] = [];
  try {
    for (let i = 0; i < masters * 2; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      const child = await launch(port, busPort, dir, nodeTimeoutMs);
      running.push({ port, child });
      nodes.push({ port, url: `redis://127.0.0.1:${port}`, get alive() { return child.exitCode === null && child.signalCode === null; } });
    }
    await run(process.env.REDIS_CLI_BIN ?? "redis-cli", [
      "--cluster", "create", ...running.map((node) => `127.0.0.1:${node.port}`), "--cluster-replicas", "1", "--cluster-yes",
    ]);
  } catch (error) {
    for (const node of running) node.child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const byPort = (port: number) => nodes.find((node) => node.port === port);
  const slots = async (): Promise<SlotRange[]> => {
    for (const node of nodes.filter((candidate) => candidate.alive)) {
      try {
        return await ask<SlotRange[]>(node.port, ["CLUSTER", "SLOTS"]);
      } catch {
        // that node is down too: ask the next
      }
    }
    throw new Error("no live node answers CLUSTER SLOTS");
  };
  const cluster: TestRedisCluster = {
    nodes,
    urls: nodes.map((node) => node.url),
    async masterOf(key) {
      const slot = calculateSlot(key);
      const range = (await slots()).find(([from, to]) => slot >= from && slot <= to);
      const node = range && byPort(Number(range[2][1]));
      if (!node) throw new Error(`no master serves slot ${slot}`);
      return node;
    },
    async kill(node) {
      const target = running.find((entry) => entry.port === node.port);
      if (!target || !node.alive) return;
      const exited = once(target.child, "exit");
      target.child.kill("SIGKILL");
      await exited;
    },
    async healthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const problem = await unhealthy(nodes, slots).catch((error: unknown) => String(error));
        if (problem === undefined) return;
        if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become healthy: ${problem}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      await Promise.all(running.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await exited;
      }));
      await rm(dir, { recursive: true, force: true });
    },
  };
  await cluster.healthy();
  return cluster;
}

/** What is still wrong with the cluster, or undefined when it is healthy (see TestRedisCluster.healthy). */
async function unhealthy(nodes: ClusterNode[], slots: () => Promise<SlotRange[]>): Promise<string | undefined> {
  for (const node of nodes.filter((candidate) => candidate.alive)) {
    const info = await ask<string>(node.port, ["CLUSTER", "INFO"]);
    if (!info.includes("cluster_state:ok")) return `node ${node.port} is not ok yet`;
    const replication = await ask<string>(node.port, ["INFO", "replication"]);
    // A replica that has not finished its first sync would take over with nothing.
    if (replication.includes("role:slave") && !replication.includes("master_link_status:up")) return `replica ${node.port} is not in sync yet`;
  }
  let covered = 0;
  for (const [from, to, [, port]] of await slots()) {
    const master = nodes.find((node) => node.port === Number(port));
    if (!master?.alive) return `slots ${from}-${to} still point at a dead master`;
    covered += to - from + 1;
  }
  return covered === 16_384 ? undefined : `only ${covered} slots are served`;
}
