import { types } from "node:util";
import calculateSlot from "cluster-key-slot";
import { createCluster } from "redis";
import type { WarnLogger } from "./connect-redis.js";
import type { RedisClusterClient } from "./redis-store.js";

export interface ConnectRedisClusterOptions {
  /** As connectRedis's: queue commands while a node is away instead of failing them at once. @default false */
  queueWhileOffline?: boolean;
  /** How long one connection attempt may take. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Connect to a node only when a command needs it (the client still reads the topology at
   * connect). For connections that only subscribe, which use their own per-node connections.
   * @default false
   */
  minimizeConnections?: boolean;
}

/** Longest pause between reconnection attempts to one node: short, since each failed attempt is also the signal to look for a new master. */
const MAX_BACKOFF_MS = 500;
/** Shortest time between two topology reads while nodes keep failing. */
const REFRESH_EVERY_MS = 200;

/**
 * Seed nodes for a cluster: a comma list of `host:port` or `redis://host:port` entries (any
 * few of the cluster's nodes; the rest are discovered). Returns redis:// URLs.
 */
export function parseClusterNodes(list: string): string[] {
  return list
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => (/^rediss?:\/\//.test(entry) ? entry : `redis://${entry}`));
}

/**
 * Opens a node-redis cluster client that, like connectRedis, reconnects to each node with a
 * capped backoff and logs connection errors, and that also finds a failed-over master by itself.
 *
 * node-redis 4 reads the cluster's topology at connect and again only when a node answers
 * MOVED or ASK. A master that dies never answers again: its slots' commands would keep going to
 * the dead address after a replica has taken over. So a connection error starts topology reads
 * (one per 200 ms at most), which go on while any master's connection is down, until the failed
 * node is out of the slot map. Errors alone are not enough: reconnecting to a host that vanished
 * (a container killed, a machine gone) hangs until the connect timeout, so the next error may come
 * seconds after the replica took over. A master that never comes back and has no replica keeps
 * each client reading five times a second (one EVAL on a live master): cheap, and how a manual
 * failover (CLUSTER FAILOVER on a replica added later) is noticed.
 */
export async function connectRedisCluster(
  nodes: string[],
  logger: WarnLogger,
  name: string,
  options: ConnectRedisClusterOptions = {},
): Promise<RedisClusterClient> {
  if (nodes.length === 0) throw new Error("a Redis Cluster needs at least one seed node");
  return open(createCluster({ rootNodes: nodes.map((url) => ({ url })), ...clientOptions(name, options) }), logger, name);
}

/**
 * Another client to the same cluster (for subscribing, blocking reads, a queueing reader), with
 * its own options, named `name`, and recovering from failovers like connectRedisCluster's.
 */
export function duplicateRedisCluster(
  cluster: RedisClusterClient,
  logger: WarnLogger,
  name: string,
  options: ConnectRedisClusterOptions = {},
): Promise<RedisClusterClient> {
  return open(cluster.duplicate(clientOptions(name, options)), logger, name);
}

function clientOptions(name: string, options: ConnectRedisClusterOptions) {
  return {
    minimizeConnections: options.minimizeConnections ?? false,
    defaults: {
      name,
      disableOfflineQueue: !(options.queueWhileOffline ?? false),
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 5_000,
        reconnectStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, MAX_BACKOFF_MS),
      },
    },
  };
}

async function open(cluster: RedisClusterClient, logger: WarnLogger, name: string): Promise<RedisClusterClient> {
  const refresher = new TopologyRefresher(cluster, logger, name);
  cluster.on("error", (error: Error) => {
    logger.warn({ err: error, connection: name }, "redis cluster connection error");
    refresher.poke();
  });
  await cluster.connect();
  return cluster;
}

/**
 * Makes a node-redis cluster client read the topology again. The client does that on its own
 * only when a reply says ASK or MOVED; so a live master is asked to run a script that answers
 * `ASK` for an address nobody has: the client, finding no such node, reads the slot map from
 * that live master (and then gives up the redirect, which is the error swallowed here).
 */
class TopologyRefresher {
  private running = false;
  private again = false;
  private lastAt = 0;

  constructor(
    private readonly cluster: RedisClusterClient,
    private readonly logger: WarnLogger,
    private readonly name: string,
  ) {}

  /** A node failed: read the topology soon, unless a read is already on its way. */
  poke(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    const wait = Math.max(0, this.lastAt + REFRESH_EVERY_MS - Date.now());
    setTimeout(() => void this.refresh(), wait).unref();
  }

  private async refresh(): Promise<void> {
    try {
      this.lastAt = Date.now();
      const key = this.keyOnLiveMaster();
      if (key !== undefined && this.cluster.isOpen) {
        await this.cluster.sendCommand(key, false, ["EVAL", "return redis.error_reply('ASK 0 0.0.0.0:0')", "0"]).catch(() => undefined);
      }
    } catch (error) {
      this.logger.warn({ err: error, connection: this.name }, "could not read the cluster topology");
    } finally {
      this.running = false;
      if ((this.again || this.masterDown()) && this.cluster.isOpen) {
        this.again = false;
        this.poke();
      }
    }
  }

  /** Whether a master's connection (commands or sharded pub/sub) is down, i.e. reconnecting. */
  private masterDown(): boolean {
    const down = (client: unknown) => client !== undefined && !types.isPromise(client) && !(client as { isReady: boolean }).isReady;
    return this.cluster.shards.some(({ master }) => down(master.client) || down(master.pubSubClient));
  }

  /** A key whose slot belongs to a master this client is connected to right now. */
  private keyOnLiveMaster(): string | undefined {
    const live = new Set(this.cluster.masters.filter((node) => node.client !== undefined && !types.isPromise(node.client) && node.client.isReady));
    if (live.size === 0) return undefined;
    for (let n = 0; n < 1_000; n++) {
      const key = `topology-probe:${n}`;
      const master = this.cluster.slots[calculateSlot(key)]?.master;
      if (master && live.has(master)) return key;
    }
    return undefined;
  }
}
