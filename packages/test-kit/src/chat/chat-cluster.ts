import { pino, type Logger } from "pino";
import { io as connect, type Socket } from "socket.io-client";
import type { UserServiceClient } from "grpc-demo/client";
import { startRedis, type TestRedis } from "../redis-server.js";
import { createChatServer, type ChatServerConfig, type ChatServerHandle } from "../../../../websocket-chat/src/create-chat-server.js";
import { connectRedis, closeRedis, type RedisClient } from "@clusterkit/redis-kit";
import type { ClientToServerEvents, ServerToClientEvents } from "../../../../websocket-chat/src/contracts/events.js";

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestReplica {
  serverId: string;
  url: string;
  server: ChatServerHandle;
  redis: RedisClient;
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
  /** A client on a replica; disconnected automatically at close(). */
  client(replica: TestReplica, options?: { token?: string; autoConnect?: boolean }): ChatClient;
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
 * the socket.io-redis-adapter tests do. One cluster per test file.
 */
export async function startChatCluster(
  count: number,
  options: {
    config?: Partial<ChatServerConfig>;
    users?: (redisUrl: string) => Promise<UserServiceClient>;
    /** Where the replicas log (each through a child with its `replica`); silent unless TEST_LOG_LEVEL. */
    logger?: Logger;
  } = {},
): Promise<TestCluster> {
  const redis = await startRedis();
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const inspect = await connectRedis(redis.url, logger, "test-inspect");
  const clients = new Set<ChatClient>();
  const replicas: TestReplica[] = [];

  const startReplica = async (serverId: string, replicaOptions: { redisUrl?: string } = {}): Promise<TestReplica> => {
    const connection = await connectRedis(replicaOptions.redisUrl ?? redis.url, logger, `test-${serverId}`);
    const users = options.users ? await options.users(redis.url) : undefined;
    const server = await createChatServer(
      { redis: connection, logger: logger.child({ replica: serverId }), users },
      testConfig(serverId, options.config),
    );
    const port = await server.listen(0, "127.0.0.1");
    let stopped = false;
    const replica: TestReplica = {
      serverId,
      url: `http://127.0.0.1:${port}`,
      server,
      redis: connection,
      async close() {
        if (stopped) return;
        stopped = true;
        await server.close();
        await closeRedis(connection);
        users?.close();
      },
      async kill() {
        if (stopped) return;
        stopped = true;
        await connection.disconnect().catch(() => undefined);
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
        reconnection: false,
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
