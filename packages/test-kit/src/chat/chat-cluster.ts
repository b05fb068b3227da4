import { pino, type Logger } from "pino";
import { io as connect, type Socket } from "socket.io-client";
import type { UserServiceClient } from "grpc-demo/client";
import { startRedis, type TestRedis } from "../redis-server.js";
import { createChatServer, type ChatServerConfig, type ChatServerHandle } from "../../../../websocket-chat/src/create-chat-server.js";
import { connectRedis, connectRedisCluster, closeRedis, type RedisClient, type RedisClusterClient } from "@clusterkit/redis-kit";
import type { TestRedisCluster } from "../redis-cluster.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../../../../websocket-chat/src/contracts/events.js";

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestReplica {
  serverId: string;
  url: string;
  server: ChatServerHandle;
  redis: RedisClient;
  /** Its connection to the Redis Cluster, when the chat runs on one (`redisCluster` below). */
  cluster: RedisClusterClient | undefined;
  /** Graceful close (what SIGTERM does). */
  close(): Promise<void>;
  /** Crash: no cleanup, every connection dropped. */
  kill(): Promise<void>;
}

export interface TestCluster {
  redis: TestRedis;
  /** A spare connection for assertions on what Redis holds. */
  inspect: RedisClient;
  replicas: TestReplica[];
  /** Another replica; `redisUrl` puts something between it and Redis (a relay, see redis-relay.ts). */
  startReplica(serverId: string, options?: { redisUrl?: string }): Promise<TestReplica>;
  /** A client on a replica; disconnected automatically at close(). `reconnection` lets socket.io-client retry on its own. */
  client(replica: TestReplica, options?: { token?: string; autoConnect?: boolean; reconnection?: boolean }): ChatClient;
  close(): Promise<void>;
}

/**
 * Connections other than `inspect` still open on the test Redis. A killed process's sockets take
 * a moment to be noticed, so this waits up to 2 s for the count to reach zero.
 */
async function leftoverConnections(inspect: RedisClient): Promise<string[]> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    let others: string[] = ["(Redis not answering)"];
    try {
      const list = await inspect.clientList();
      const self = await inspect.clientId();
      others = list.filter((client) => client.id !== self).map((client) => client.name || `#${client.id}`);
    } catch {
      // `inspect` may still be reconnecting after a test restarted Redis.
    }
    if (others.length === 0 || Date.now() > deadline) return others;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const testConfig = (serverId: string, overrides: Partial<ChatServerConfig> = {}): ChatServerConfig => ({
  serverId,
  authSecret: undefined,
  historySize: 50,
  roomRetention: 1000,
  rateLimit: 1000,
  rateWindowMs: 10_000,
  trustProxy: 0,
  // Far above what a test file opens from 127.0.0.1; the limits' own tests set small ones.
  maxSocketsPerAddress: 10_000,
  maxConnectsPerAddress: 10_000,
  connectWindowMs: 10_000,
  // Generous, like rateLimit: tests of the budgets themselves set them low.
  joinRateLimit: 10_000,
  typingRateLimit: 10_000,
  replayRateLimit: 1_000_000,
  roomsPerUser: 10_000,
  roomIdleTtlMs: 86_400_000,
  maxPayloadBytes: 16_384,
  maxBufferedBytes: 1_048_576,
  presenceTtlMs: 1_500,
  nicknameReservationMs: 86_400_000,
  userEventsRoom: "user-events",
  corsOrigins: [],
  transports: ["polling", "websocket"],
  pingIntervalMs: 25_000,
  pingTimeoutMs: 20_000,
  webDist: "/nonexistent",
  shutdownTimeoutMs: 2_000,
  usersAuthToken: undefined,
  usersFeed: { blockMs: 500, retryMs: 200 },
  ...overrides,
});

/**
 * `count` chat replicas in this process over one fresh redis-server, each on its own port, as
 * the socket.io-redis-adapter tests do. One cluster per test file. With `redisCluster`, the
 * chat's own keys and channels go there (CHAT_REDIS_CLUSTER) and the redis-server is only the
 * users service's side, as in production.
 */
export async function startChatCluster(
  count: number,
  options: {
    config?: Partial<ChatServerConfig>;
    users?: (redisUrl: string) => Promise<UserServiceClient>;
    /** Where the replicas log (each through a child with its `replica`); silent unless TEST_LOG_LEVEL. */
    logger?: Logger;
    redisCluster?: Pick<TestRedisCluster, "urls">;
  } = {},
): Promise<TestCluster> {
  const redis = await startRedis();
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const inspect = await connectRedis(redis.url, logger, "test-inspect");
  const clients = new Set<ChatClient>();
  const replicas: TestReplica[] = [];

  const startReplica = async (serverId: string, replicaOptions: { redisUrl?: string } = {}): Promise<TestReplica> => {
    const [connection, cluster] = await Promise.all([
      connectRedis(replicaOptions.redisUrl ?? redis.url, logger, `test-${serverId}`),
      options.redisCluster ? connectRedisCluster(options.redisCluster.urls, logger, `test-${serverId}`) : undefined,
    ]);
    const users = options.users ? await options.users(redis.url) : undefined;
    const server = await createChatServer(
      { redis: connection, cluster, logger: logger.child({ replica: serverId }), users },
      testConfig(serverId, options.config),
    );
    const port = await server.listen(0, "127.0.0.1");
    let stopped = false;
    const replica: TestReplica = {
      serverId,
      url: `http://127.0.0.1:${port}`,
      server,
      redis: connection,
      cluster,
      async close() {
        if (stopped) return;
        stopped = true;
        await server.close();
        await Promise.all([closeRedis(connection), cluster ? closeRedis(cluster) : Promise.resolve()]);
        users?.close();
      },
      async kill() {
        if (stopped) return;
        stopped = true;
        const drop = (closing: Promise<void>) => closing.catch(() => undefined);
        await Promise.all([drop(connection.disconnect()), cluster ? drop(cluster.disconnect()) : undefined]);
        await server.abort();
        users?.close();
      },
    };
    replicas.push(replica);
    return replica;
  };

  for (let i = 1; i <= count; i++) await startReplica(`chat-${i}`);

  return {
    redis,
    inspect,
    replicas,
    startReplica,
    client(replica, clientOptions = {}) {
      const socket: ChatClient = connect(replica.url, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: clientOptions.reconnection ?? false,
        autoConnect: clientOptions.autoConnect ?? true,
        auth: clientOptions.token ? { token: clientOptions.token } : {},
      });
      clients.add(socket);
      return socket;
    },
    async close() {
      for (const socket of clients) socket.disconnect();
      for (const replica of replicas) await replica.close();
      const leaked = await leftoverConnections(inspect);
      await closeRedis(inspect);
      await redis.close();
      if (leaked.length > 0) throw new Error(`Redis connections left open after close(): ${leaked.join(", ")}`);
    },
  };
}
