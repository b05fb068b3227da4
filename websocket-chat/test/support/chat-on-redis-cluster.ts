import type { Logger } from "pino";
import { pino } from "pino";
import { startRedisCluster, type RedisClusterOptions, type TestRedis, type TestRedisCluster } from "@clusterkit/test-kit";
import { startChatCluster, type TestCluster } from "@clusterkit/test-kit/chat";
import { closeRedis, connectRedisCluster, type RedisClusterClient } from "@clusterkit/redis-kit";
import type { ChatServerConfig } from "../../src/create-chat-server.js";

/** Chat replicas in this process on a real Redis Cluster (their own keys) plus one Redis (the users service's). */
export interface ChatOnRedisCluster extends Omit<TestCluster, "redis" | "inspect"> {
  redisCluster: TestRedisCluster;
  /** The users service's Redis (the users feed follows its stream). */
  usersRedis: TestRedis;
  /** A spare cluster client for assertions on what the cluster holds. */
  inspect: RedisClusterClient;
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
  const redisCluster = await startRedisCluster(options.cluster);
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  let chat: TestCluster | undefined;
  let inspect: RedisClusterClient | undefined;
  try {
    chat = await startChatCluster(count, { config: options.config, logger, redisCluster });
    inspect = await connectRedisCluster(redisCluster.urls, logger, "test-inspect", { queueWhileOffline: true });
  } catch (error) {
    await chat?.close().catch(() => undefined);
    await redisCluster.close();
    throw error;
  }
  const started = chat;
  const clusterInspect = inspect;
  return {
    replicas: started.replicas,
    startReplica: (serverId, replicaOptions) => started.startReplica(serverId, replicaOptions),
    client: (replica, clientOptions) => started.client(replica, clientOptions),
    redisCluster,
    usersRedis: started.redis,
    inspect: clusterInspect,
    async close() {
      try {
        await closeRedis(clusterInspect);
        await started.close();
      } finally {
        // Whatever failed above, no redis-server outlives the test file.
        await redisCluster.close();
      }
    },
  };
}
