import { startRedis, type TestRedis } from "../../../test-support/redis-server.js";
import { connectUsers, type UserServiceClient } from "../../src/client/index.js";
import { startUserReplica, type UserReplica, type UserReplicaOptions } from "./user-replica.js";

export interface UserCluster {
  redis: TestRedis;
  replicas: UserReplica[];
  /** One client per replica, pinned to it. */
  clients: UserServiceClient[];
  /** A client that round-robins over every replica. */
  balanced: UserServiceClient;
  close(): Promise<void>;
}

/** A real redis-server and `count` user-service replicas over it, each on port 0. */
export async function startUserCluster(
  count = 2,
  options: Omit<UserReplicaOptions, "redisUrl" | "serverId"> = {},
): Promise<UserCluster> {
  const redis = await startRedis();
  const replicas: UserReplica[] = [];
  for (let i = 0; i < count; i += 1) {
    replicas.push(await startUserReplica({ ...options, redisUrl: redis.url, serverId: `users-${i + 1}` }));
  }
  const clients = await Promise.all(replicas.map((r) => connectUsers(r.target, { token: options.authToken })));
  const balanced = await connectUsers(replicas.map((r) => r.target).join(","), { token: options.authToken });
  return {
    redis,
    replicas,
    clients,
    balanced,
    async close() {
      for (const client of [...clients, balanced]) client.close();
      await Promise.all(replicas.map((r) => r.close()));
      await redis.close();
    },
  };
}
