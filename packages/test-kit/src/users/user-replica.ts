import { pino, type Logger } from "pino";
import { connectRedis } from "@clusterkit/redis-kit";
import { createUserServer, type UserServerHandle } from "grpc-demo/server";

export interface UserReplica {
  /** `127.0.0.1:<port>` */
  target: string;
  port: number;
  serverId: string;
  server: UserServerHandle;
  close(): Promise<void>;
}

export interface UserReplicaOptions {
  redisUrl: string;
  /** Where the event reader connects (default `redisUrl`); a test puts a relay here to make the reader lag. */
  readerRedisUrl?: string;
  serverId: string;
  authToken?: string;
  eventsRetention?: number;
  shutdownTimeoutMs?: number;
  /** Users cached per replica (USERS_CACHE_SIZE); 0 turns the cache off. @default 10000 */
  cacheSize?: number;
  /** USERS_CACHE_FENCE. @default false */
  cacheFence?: boolean;
  /** GRPC_MAX_CONCURRENT_STREAMS. @default 100 */
  maxConcurrentStreams?: number;
  /** GRPC_MAX_RECEIVE_MESSAGE_BYTES. @default 16384 */
  maxReceiveMessageBytes?: number;
  /** USERS_SUBSCRIBER_MAX_BUFFERED_BYTES. @default 524288 */
  subscriberMaxBufferedBytes?: number;
  /** How long a replay waits for a client that reads nothing before cutting it off. @default 10000 */
  subscriberStallTimeoutMs?: number;
  /** Defaults to a silent logger (TEST_LOG_LEVEL to see logs). */
  logger?: Logger;
}

/** A real user-service replica on 127.0.0.1, port 0, over the given Redis. */
export async function startUserReplica(options: UserReplicaOptions): Promise<UserReplica> {
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const redis = await connectRedis(options.redisUrl, logger, `${options.serverId}-test`, { queueWhileOffline: true });
  const redisReader = await connectRedis(options.readerRedisUrl ?? options.redisUrl, logger, `${options.serverId}-test-events`, { queueWhileOffline: true });
  const server = await createUserServer(
    { redis, redisReader, logger },
    {
      serverId: options.serverId,
      authToken: options.authToken,
      eventsRetention: options.eventsRetention ?? 10_000,
      maxConnectionAgeMs: 300_000,
      maxConnectionAgeGraceMs: 600_000,
      maxConnectionIdleMs: 120_000,
      maxConcurrentStreams: options.maxConcurrentStreams ?? 100,
      maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? 16 * 1024,
      subscriberMaxBufferedBytes: options.subscriberMaxBufferedBytes ?? 512 * 1024,
      subscriberStallTimeoutMs: options.subscriberStallTimeoutMs,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? 2_000,
      cacheSize: options.cacheSize ?? 10_000,
      cacheFence: options.cacheFence ?? false,
    },
  );
  const port = await server.listen(0, "127.0.0.1");
  return { target: `127.0.0.1:${port}`, port, serverId: options.serverId, server, close: () => server.close() };
}

