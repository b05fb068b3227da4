import { usersHeartbeatKeys } from "../users/users-contract.js";
import type { ChatReplicaBeat, ClusterView, RedisStats, UsersReplicaBeat } from "../contracts/cluster.js";
import type { RedisClient, RedisStore } from "@clusterkit/redis-kit";
import { chatKeys } from "../redis/keys.js";

/** Requests within this long of a read share it: many open cluster pages cost Redis one read a moment. */
const FRESH_MS = 250;

/** Live records of one heartbeat family, ordered by replica name; expired ones are skipped. */
async function liveRecords<T extends { id: string }>(redis: RedisStore, index: string, keyOf: (instance: string) => string): Promise<T[]> {
  const instances = await redis.sMembers(index);
  if (instances.length === 0) return [];
  const records = await redis.mGet(instances.map(keyOf));
  const live: T[] = [];
  for (const record of records) {
    if (record === null) continue;
    try {
      live.push(JSON.parse(record) as T);
    } catch {
      // A record nobody can read is left out of the view rather than failing it.
    }
  }
  return live.sort((a, b) => a.id.localeCompare(b.id));
}

/** The few INFO fields the view shows. */
export function parseRedisInfo(info: string): RedisStats {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  const number = (key: string) => Number(fields.get(key) ?? 0) || 0;
  return {
    opsPerS: number("instantaneous_ops_per_sec"),
    usedMemoryBytes: number("used_memory"),
    usedMemoryHuman: fields.get("used_memory_human") ?? "",
    clients: number("connected_clients"),
  };
}

/**
 * Reads the cluster view from Redis: every live chat replica's last heartbeat (in the chat's
 * store), every users replica's (in the users service's Redis, the same one unless the chat runs
 * on a Redis Cluster) and that Redis's INFO. Concurrent and back-to-back requests share one read.
 */
export class ClusterViewReader {
  private last: { at: number; view: Promise<ClusterView> } | undefined;

  constructor(
    private readonly store: RedisStore,
    private readonly usersRedis: RedisClient,
    private readonly servedBy: string,
  ) {}

  read(): Promise<ClusterView> {
    const now = Date.now();
    if (this.last && now - this.last.at < FRESH_MS) return this.last.view;
    const view = this.load();
    this.last = { at: now, view };
    // A failed read is not shared: the next request tries again.
    view.catch(() => {
      if (this.last?.view === view) this.last = undefined;
    });
    return view;
  }

  private async load(): Promise<ClusterView> {
    const [chat, users, info] = await Promise.all([
      liveRecords<ChatReplicaBeat>(this.store, chatKeys.heartbeats, chatKeys.heartbeat),
      liveRecords<UsersReplicaBeat>(this.usersRedis, usersHeartbeatKeys.index, usersHeartbeatKeys.beat),
      this.usersRedis.info().catch(() => undefined),
    ]);
    return { servedBy: this.servedBy, chat, users, redis: info === undefined ? undefined : parseRedisInfo(info) };
  }
}
