import { createClient } from "redis";
import type { Logger } from "pino";
import type { RedisClient } from "../store/redis-script.js";

/**
 * Connects a client that keeps reconnecting (capped backoff) and logs instead of crashing
 * on connection errors, which node-redis emits as 'error' events.
 */
export async function connectRedis(url: string, logger: Logger, name: string): Promise<RedisClient> {
  const client = createClient({
    url,
    name,
    socket: { reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000), connectTimeout: 5000 },
  });
  client.on("error", (error: Error) => logger.warn({ err: error, connection: name }, "redis connection error"));
  await client.connect();
  return client;
}
