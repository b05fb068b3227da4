import { ClientClosedError, ClientOfflineError, SocketClosedUnexpectedlyError, createClient } from "redis";
import type { Logger } from "pino";

export type RedisClient = ReturnType<typeof createClient>;

/**
 * Opens one node-redis connection that retries with a capped backoff and reports errors to the
 * log: node-redis emits them as 'error' events, which would crash the process if unheard.
 */
export async function connectRedis(url: string, logger: Logger, name: string): Promise<RedisClient> {
  const client = createClient({
    url,
    name,
    // While Redis is away, commands fail at once instead of queueing: a client asking to send
    // gets UNAVAILABLE now rather than a late success after its own timeout gave up.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5_000, reconnectStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000) },
  });
  client.on("error", (error: Error) => logger.warn({ err: error, connection: name }, "redis connection error"));
  await client.connect();
  return client;
}

/** Closes a connection politely (QUIT), or drops it when Redis does not answer in time. */
export async function closeRedis(client: RedisClient, timeoutMs = 1_000): Promise<void> {
  if (!client.isOpen) return;
  const timer = new Promise<"late">((resolve) => setTimeout(resolve, timeoutMs, "late").unref());
  const outcome = await Promise.race([client.quit().catch(() => "failed" as const), timer]);
  if (outcome !== "OK" && client.isOpen) await client.disconnect().catch(() => undefined);
}

/** Socket errors node-redis hands to the commands in flight when Redis dies under them. */
const lostConnectionCodes = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/** Whether an error means "Redis is not reachable right now" rather than a bug. */
export function isRedisUnavailable(error: unknown): boolean {
  return (
    error instanceof ClientOfflineError ||
    error instanceof ClientClosedError ||
    error instanceof SocketClosedUnexpectedlyError ||
    (error instanceof Error && lostConnectionCodes.has((error as NodeJS.ErrnoException).code ?? ""))
  );
}
