import { createClient } from "redis";
import type { RedisStore } from "./redis-store.js";

export type RedisClient = ReturnType<typeof createClient>;

/** Where connection errors go: pino's Logger fits, as does anything with a `warn(object, message)`. */
export interface WarnLogger {
  warn(details: object, message: string): void;
}

export interface ConnectRedisOptions {
  /**
   * Queue commands while Redis is away and send them on reconnect, instead of failing them at
   * once with ClientOfflineError (which isRedisUnavailable reports). Failing fast suits a caller
   * that answers a client now; queueing suits one whose own deadline bounds the wait.
   * @default false
   */
  queueWhileOffline?: boolean;
  /** How long one connection attempt may take. @default 5000 */
  connectTimeoutMs?: number;
}

/** Longest pause between reconnection attempts: a restarted Redis is found within ~2 s. */
const MAX_BACKOFF_MS = 2_000;

/**
 * Opens one node-redis connection that keeps reconnecting with a capped exponential backoff and
 * reports connection errors to the log: node-redis emits them as 'error' events, which would
 * crash the process if nobody listened.
 */
export async function connectRedis(
  url: string,
  logger: WarnLogger,
  name: string,
  options: ConnectRedisOptions = {},
): Promise<RedisClient> {
  const client = createClient({
    url,
    name,
    disableOfflineQueue: !(options.queueWhileOffline ?? false),
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      reconnectStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_BACKOFF_MS),
    },
  });
  client.on("error", (error: Error) => logger.warn({ err: error, connection: name }, "redis connection error"));
  await client.connect();
  return client;
}

/** Closes a connection (or a cluster client's) politely (QUIT), or drops it when Redis does not answer in time. */
export async function closeRedis(client: RedisStore, timeoutMs = 1_000): Promise<void> {
  if (!client.isOpen) return;
  const timer = new Promise<"late">((resolve) => setTimeout(resolve, timeoutMs, "late").unref());
  const quit = (client.quit() as Promise<unknown>).then(() => "done" as const, () => "failed" as const);
  const outcome = await Promise.race([quit, timer]);
  if (outcome !== "done" && client.isOpen) await client.disconnect().catch(() => undefined);
}
