import { afterAll, beforeAll } from "vitest";
import { startRedisRelay, type RedisRelay, startRedis, type TestRedis } from "@clusterkit/test-kit";
import { connectUsers, type UserServiceClient } from "../../src/client/index.js";
import { startUserReplica, type UserReplica, type UserReplicaOptions } from "@clusterkit/test-kit/users";

export interface UserClusterOptions extends Omit<UserReplicaOptions, "redisUrl" | "readerRedisUrl" | "serverId"> {
  /** Puts each replica's event reader behind a relay of its own (`readerRelays`), so a test can make it lag. @default false */
  relayReaders?: boolean;
}

export interface UserCluster {
  redis: TestRedis;
  replicas: UserReplica[];
  /** One client per replica, pinned to it. */
  clients: UserServiceClient[];
  /** A client that round-robins over every replica. */
  balanced: UserServiceClient;
  /** With `relayReaders`: the relay between replica `index`'s event reader and Redis. */
  readerRelay(index: number): RedisRelay;
  close(): Promise<void>;
}

/** A real redis-server and `count` user-service replicas over it, each on port 0. */
export async function startUserCluster(count = 2, options: UserClusterOptions = {}): Promise<UserCluster> {
  const { relayReaders = false, ...replicaOptions } = options;
  const redis = await startRedis();
  const readerRelays: RedisRelay[] = [];
  const replicas: UserReplica[] = [];
  for (let i = 0; i < count; i += 1) {
    const relay = relayReaders ? await startRedisRelay(redis.port) : undefined;
    if (relay) readerRelays.push(relay);
    replicas.push(await startUserReplica({ ...replicaOptions, redisUrl: redis.url, readerRedisUrl: relay?.url, serverId: `users-${i + 1}` }));
  }
  const clients = await Promise.all(replicas.map((r) => connectUsers(r.target, { token: options.authToken })));
  const balanced = await connectUsers(replicas.map((r) => r.target).join(","), { token: options.authToken });
  return {
    redis,
    replicas,
    clients,
    balanced,
    readerRelay(index) {
      const relay = readerRelays[index];
      if (!relay) throw new Error(`replica ${index + 1} has no reader relay (start the cluster with relayReaders)`);
      return relay;
    },
    async close() {
      for (const client of [...clients, balanced]) client.close();
      // A reader whose replies are held could never finish its last command and close.
      for (const relay of readerRelays) relay.releaseReplies();
      await Promise.all(replicas.map((r) => r.close()));
      await Promise.all(readerRelays.map((r) => r.close()));
      await redis.close();
    },
  };
}

/** The cluster `useUserCluster` starts; its fields can be read once the suite's beforeAll has run. */
export interface SuiteUserCluster extends Omit<UserCluster, "close"> {
  /** The client pinned to the first replica (users-1). */
  readonly a: UserServiceClient;
  /** The client pinned to the second replica (users-2). */
  readonly b: UserServiceClient;
}

/**
 * Starts a cluster before the tests of the enclosing suite (or file) and closes it after them.
 * Call it where `beforeAll` may be called; read the result inside tests and hooks.
 */
export function useUserCluster(count = 2, options: UserClusterOptions = {}): SuiteUserCluster {
  let started: UserCluster | undefined;
  beforeAll(async () => {
    started = await startUserCluster(count, options);
  });
  afterAll(() => started?.close());
  const cluster = (): UserCluster => {
    if (!started) throw new Error("the user cluster is read before its beforeAll has started it");
    return started;
  };
  const pinned = (index: number): UserServiceClient => {
    const client = cluster().clients[index];
    if (!client) throw new Error(`the user cluster has no replica ${index + 1}`);
    return client;
  };
  return {
    get redis() {
      return cluster().redis;
    },
    get replicas() {
      return cluster().replicas;
    },
    get clients() {
      return cluster().clients;
    },
    get balanced() {
      return cluster().balanced;
    },
    readerRelay: (index) => cluster().readerRelay(index),
    get a() {
      return pinned(0);
    },
    get b() {
      return pinned(1);
    },
  };
}
