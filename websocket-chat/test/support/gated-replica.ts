import { afterAll, afterEach, beforeAll } from "vitest";
import type { RedisClient } from "@clusterkit/redis-kit";
import { startRedisRelay, type RedisRelay } from "@clusterkit/test-kit";
import { startChatCluster, type TestCluster, type TestReplica } from "@clusterkit/test-kit/chat";

export interface GatedReplica {
  cluster: TestCluster;
  /** Between `gated` and Redis: decides which of its connections come back, and when, after a restart. */
  relay: RedisRelay;
  /** The replica straight on Redis (`chat-1`). */
  direct: TestReplica;
  /** The replica behind the relay (`chat-gated`). */
  gated: TestReplica;
}

/**
 * For a test file: one replica straight on Redis and one behind a relay that can keep it away
 * from Redis after a restart, or let its connections back one by one. Filled in `beforeAll`; the
 * relay lets everything through again after each test; all closed in `afterAll`.
 */
export function useGatedReplica(): GatedReplica {
  const parts = {} as GatedReplica;
  beforeAll(async () => {
    parts.cluster = await startChatCluster(1);
    parts.relay = await startRedisRelay(parts.cluster.redis.port);
    parts.direct = parts.cluster.replicas[0]!;
    parts.gated = await parts.cluster.startReplica("chat-gated", { redisUrl: parts.relay.url });
  });
  afterEach(() => parts.relay.releaseConnections());
  afterAll(async () => {
    await parts.cluster?.close();
    await parts.relay?.close();
  });
  return parts;
}

/** Resolves once the connection is usable (reconnect errors on the way are expected, not failures). */
export const redisReady = (client: RedisClient): Promise<void> =>
  client.isReady ? Promise.resolve() : new Promise<void>((resolve) => client.once("ready", () => resolve()));
