import type { createCluster } from "redis";
import type { RedisClient } from "./connect-redis.js";

/** A node-redis Redis Cluster client (`createCluster`). */
export type RedisClusterClient = ReturnType<typeof createCluster>;

/**
 * Where a service keeps its data: one Redis, or a Redis Cluster. Code written against it sticks to
 * what both offer (keyed commands, scripts, events) and keeps the keys one command or script
 * touches in one hash slot; `keyCommand` covers the one call whose shape differs.
 */
export type RedisStore = RedisClient | RedisClusterClient;

/** Whether `store` is a cluster client (routes each command by its key's slot). */
export function isRedisCluster(store: RedisStore): store is RedisClusterClient {
  return typeof (store as Partial<RedisClusterClient>).getSlotMaster === "function";
}

/**
 * Sends a raw command about `key` (XINFO, WAIT, ...): on a cluster, to the node that holds the
 * key's slot; on one Redis, as is.
 */
export function keyCommand<T = unknown>(store: RedisStore, key: string, args: string[]): Promise<T> {
  return isRedisCluster(store) ? store.sendCommand<T>(key, false, args) : store.sendCommand<T>(args);
}

/** PING: one Redis, or any node of a cluster (a cluster client has no keyless PING of its own). */
export function pingStore(store: RedisStore): Promise<string> {
  return isRedisCluster(store) ? store.sendCommand<string>(undefined, true, ["PING"]) : store.ping();
}
