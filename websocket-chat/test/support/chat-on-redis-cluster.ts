import { pino, type Logger } from "pino";
import { io as connect } from "socket.io-client";
import { startRedis, startRedisCluster, type RedisClusterOptions, type TestRedis, type TestRedisCluster } from "@clusterkit/test-kit";
import { createChatServer, type ChatServerConfig, type ChatServerHandle } from "../../src/create-chat-server.js";
import { closeRedis, connectRedis, connectRedisCluster, type RedisClient, type RedisClusterClient } from "@clusterkit/redis-kit";
import { testConfig, type ChatClient } from "@clusterkit/test-kit/chat";

export interface ClusterReplica {
  serverId: string;
  url: string;
  server: ChatServerHandle;
  close(): Promise<void>;
}

/** Chat replicas in this process on a real Redis Cluster (their own keys) plus one Redis (the users service's). */
export interface ChatOnRedisCluster {
  redisCluster: TestRedisCluster;
  /** The users service's Redis (the users feed follows its stream). */
  usersRedis: TestRedis;
  /** A spare cluster client for assertions on what the cluster holds. */
  inspect: RedisClusterClient;
  replicas: ClusterReplica[];
  startReplica(serverId: string): Promise<ClusterReplica>;
  /** A client on a replica; disconnected automatically at close(). `reconnection` lets socket.io-client retry on its own. */
  client(replica: ClusterReplica, options?: { reconnection?: boolean }): ChatClient;
  close(): Promise<void>;
}

/**
 * `count` chat replicas over a fresh Redis Cluster (3 masters, a replica each, see
 * packages/test-kit/src/redis-cluster.ts) and a fresh redis-server for the users side, as
 * CHAT_REDIS_CLUSTER runs them. One per test file: a cluster takes a few seconds to form.
 */
export async function startChatOnRedisCluster(
  count: number,
  options: { config?: Partial<ChatServerConfig>; cluster?: RedisClusterOptions; logger?: Logger } = {},
): Promise<ChatOnRedisCluster> {
  const [redisCluster, usersRedis] = await Promise.all([startRedisCluster(options.cluster), startRedis()]);
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const inspect = await connectRedisCluster(redisCluster.urls, logger, "test-inspect", { queueWhileOffline: true });
  const clients = new Set<ChatClient>();
  const replicas: ClusterReplica[] = [];

  const startReplica = async (serverId: string): Promise<ClusterReplica> => {
    const [redis, cluster]: [RedisClient, RedisClusterClient] = await Promise.all([
      connectRedis(usersRedis.url, logger, `test-${serverId}`),
      connectRedisCluster(redisCluster.urls, logger, `test-${serverId}`),
    ]);
    const server = await createChatServer({ redis, cluster, logger: logger.child({ replica: serverId }) }, testConfig(serverId, options.config));
    const port = await server.listen(0, "127.0.0.1");
    let stopped = false;
    const replica: ClusterReplica = {
      serverId,
      url: `http://127.0.0.1:${port}`,
      server,
      async close() {
        if (stopped) return;
        stopped = true;
        await server.close();
        await Promise.all([closeRedis(redis), closeRedis(cluster)]);
      },
    };
    replicas.push(replica);
    return replica;
  };

  for (let i = 1; i <= count; i++) await startReplica(`chat-${i}`);

  return {
    redisCluster,
    usersRedis,
    inspect,
    replicas,
    startReplica,
    client(replica, clientOptions = {}) {
      const socket: ChatClient = connect(replica.url, { transports: ["websocket"], forceNew: true, reconnection: clientOptions.reconnection ?? false });
      clients.add(socket);
      return socket;
    },
    async close() {
      try {
        for (const socket of clients) socket.disconnect();
        for (const replica of replicas) await replica.close();
        await closeRedis(inspect);
      } finally {
        // Whatever failed above, no redis-server outlives the test file.
        await Promise.all([redisCluster.close(), usersRedis.close()]);
      }
    },
  };
}
