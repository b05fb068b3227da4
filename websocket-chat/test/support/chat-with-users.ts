import { afterAll, beforeAll } from "vitest";
import { connectUsers, type UserServiceClient } from "grpc-demo/client";
import { startUserReplica } from "@clusterkit/test-kit/users";
import { startChatCluster, type TestCluster } from "@clusterkit/test-kit/chat";

export interface ChatWithUsers {
  cluster: TestCluster;
  /** A client of the user service itself, for changes made beside the chat. */
  direct: UserServiceClient;
}

/**
 * For a test file: `replicas` chat replicas over one Redis with a user service (`users-1`) on the
 * same Redis, every replica's users feed loaded before the tests run. The returned object is
 * filled in `beforeAll`; everything is closed in `afterAll`, the user service before its Redis
 * (or its reader would wait for Redis forever).
 */
export function useChatWithUsers(replicas: number): ChatWithUsers {
  const parts = {} as ChatWithUsers;
  let usersService: { target: string; close(): Promise<void> } | undefined;
  beforeAll(async () => {
    parts.cluster = await startChatCluster(replicas, {
      async users(redisUrl) {
        usersService ??= await startUserReplica({ redisUrl, serverId: "users-1" });
        return connectUsers(usersService.target);
      },
    });
    parts.direct = await connectUsers(usersService!.target);
    await Promise.all(parts.cluster.replicas.map((replica) => replica.server.usersFeedReady));
  });
  afterAll(async () => {
    parts.direct?.close();
    for (const replica of parts.cluster?.replicas ?? []) await replica.close();
    await usersService?.close();
    await parts.cluster?.close();
  });
  return parts;
}
