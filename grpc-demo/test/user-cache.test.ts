import { status, type ServiceError } from "@grpc/grpc-js";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "../../test-support/redis-server.js";
import { connectUsers, unary, type GetUserResponse, type SubscribeToUpdatesResponse, type UserServiceClient } from "../src/client/index.js";
import { startPausableRelay, type PausableRelay } from "./support/pausable-relay.js";
import { StreamRecorder } from "./support/recorder.js";
import { startUserCluster, type UserCluster } from "./support/user-cluster.js";
import { startUserReplica, type UserReplica } from "./support/user-replica.js";

/*
 * Each replica keeps users in memory, fed by its event reader and fenced by the stream's newest
 * id (src/store/user-cache.ts). What a client must observe: exactly what it would without the
 * cache, on whichever replica it asks.
 */
const get = (client: UserServiceClient, id: number) => unary<GetUserResponse>((cb) => client.getUser({ id }, cb));
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: ServiceError) => error,
  );

/** Calls of one Redis command so far, from the server's own statistics. */
async function commandCalls(redisUrl: string, command: string): Promise<number> {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const info = await redis.info("commandstats");
  await redis.quit();
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe("the user cache over two replicas", () => {
  let cluster: UserCluster;
  let a: UserServiceClient;
  let b: UserServiceClient;
  beforeAll(async () => {
    cluster = await startUserCluster(2);
    [a, b] = cluster.clients as [UserServiceClient, UserServiceClient];
  });
  afterAll(() => cluster.close());

  it("serves another replica's update and delete at once, though it had the user cached", async () => {
    const created = (await unary<{ user?: { id: number } }>((cb) => a.createUser({ name: "Ada", email: "ada.cache@example.com" }, cb))).response.user!;
    for (let i = 0; i < 25; i += 1) {
      await get(b, created.id);
      await unary((cb) => a.updateUser({ id: created.id, name: `Ada ${i}` }, cb));
      expect((await get(b, created.id)).response.user?.name).toBe(`Ada ${i}`);
    }
    await unary((cb) => a.deleteUser({ id: created.id }, cb));
    expect((await rejection(get(b, created.id))).code).toBe(status.NOT_FOUND);
  });

  it("reads its own writes on the replica that took them", async () => {
    const created = (await unary<{ user?: { id: number } }>((cb) => a.createUser({ name: "Bea", email: "bea.cache@example.com" }, cb))).response.user!;
    for (let i = 0; i < 25; i += 1) {
      await unary((cb) => a.updateUser({ id: created.id, email: `bea${i}.cache@example.com` }, cb));
      expect((await get(a, created.id)).response.user?.email).toBe(`bea${i}.cache@example.com`);
    }
  });

  it("answers repeated reads of a user without reading its hash again", async () => {
    await get(a, 2);
    const before = await commandCalls(cluster.redis.url, "hgetall");
    for (let i = 0; i < 10; i += 1) await get(a, 2);
    expect(await commandCalls(cluster.redis.url, "hgetall")).toBe(before);
  });
});

describe("the read fence", () => {
  let redis: TestRedis;
  let relay: PausableRelay;
  let replicas: UserReplica[];
  let a: UserServiceClient;
  let b: UserServiceClient;
  beforeAll(async () => {
    redis = await startRedis();
    relay = await startPausableRelay(redis.port);
    replicas = [
      await startUserReplica({ redisUrl: redis.url, serverId: "users-1", eventsRetention: 10 }),
      // Replica B's event reader goes through the relay, so the test can hold it back.
      await startUserReplica({ redisUrl: redis.url, readerRedisUrl: relay.url, serverId: "users-2", eventsRetention: 10 }),
    ];
    [a, b] = (await Promise.all(replicas.map((r) => connectUsers(r.target)))) as [UserServiceClient, UserServiceClient];
  });
  afterAll(async () => {
    a.close();
    b.close();
    relay.resume();
    await Promise.all(replicas.map((r) => r.close()));
    await relay.close();
    await redis.close();
  });

  it("never serves a user older than a write completed on another replica, even while its event reader lags", async () => {
    const created = (await unary<{ user?: { id: number } }>((cb) => a.createUser({ name: "Dee", email: "dee.fence@example.com" }, cb))).response.user!;
    expect((await get(b, created.id)).response.user?.name).toBe("Dee");
    relay.pause();
    await unary((cb) => a.updateUser({ id: created.id, name: "Dee Lagged" }, cb));
    expect((await get(b, created.id)).response.user?.name).toBe("Dee Lagged");
    await unary((cb) => a.deleteUser({ id: created.id }, cb));
    expect((await rejection(get(b, created.id))).code).toBe(status.NOT_FOUND);
    relay.resume();
  });

  it("answers from memory again once its reader has caught up", async () => {
    await get(b, 1);
    const deadline = Date.now() + 5000;
    for (;;) {
      const before = await commandCalls(redis.url, "hgetall");
      await get(b, 1);
      if ((await commandCalls(redis.url, "hgetall")) === before) break;
      if (Date.now() > deadline) throw new Error("replica B kept reading user 1 from Redis");
    }
  });

  it("forgets what it holds when its reader falls behind the retained history", async () => {
    const create = (name: string) =>
      unary<{ user?: { id: number } }>((cb) => a.createUser({ name, email: `${name.toLowerCase()}.gap@example.com` }, cb)).then((r) => r.response.user!);
    const eve = await create("Eve");
    expect((await get(b, eve.id)).response.user?.name).toBe("Eve");
    const updates = b.subscribeToUpdates({ sinceCursor: "" });
    const recorder = new StreamRecorder<SubscribeToUpdatesResponse>(updates);
    await recorder.ready();
    relay.pause();
    // Answers the read B's reader has pending, so the update below can only come in a later read.
    await create("Pending");
    await unary((cb) => a.updateUser({ id: eve.id, name: "Eve Trimmed" }, cb));
    // Twelve more events push the update out of the 10 the stream keeps, before B's reader sees it.
    let last = eve;
    for (let i = 0; i < 12; i += 1) last = await create(`Filler${i}`);
    relay.resume();
    await recorder.until(() => recorder.items.some((u) => u.user?.id === last.id), "B's reader to catch up");
    updates.cancel();
    expect((await get(b, eve.id)).response.user?.name).toBe("Eve Trimmed");
  });
});

describe("the user cache's bound", () => {
  let cluster: UserCluster;
  beforeAll(async () => {
    cluster = await startUserCluster(1, { cacheSize: 2 });
  });
  afterAll(() => cluster.close());

  it("keeps at most USERS_CACHE_SIZE users, evicting the least recently used", async () => {
    const [client] = cluster.clients as [UserServiceClient];
    await unary((cb) => client.createUser({ name: "Cy", email: "cy.cache@example.com" }, cb));
    const reads = async (ids: number[]) => {
      const before = await commandCalls(cluster.redis.url, "hgetall");
      for (const id of ids) await get(client, id);
      return (await commandCalls(cluster.redis.url, "hgetall")) - before;
    };
    // Cached, oldest first: Cy (3), kept from its own write; then 1 is read once from Redis: [3, 1].
    expect(await reads([1, 3, 1, 3])).toBe(1);
    // 2 evicts 1, the least recently used: [3, 2].
    expect(await reads([2, 3, 2])).toBe(1);
    // 1 is read from Redis again and evicts 3: [2, 1].
    expect(await reads([1, 2, 1])).toBe(1);
    expect(await reads([3])).toBe(1);
  });
});

describe("the user cache when Redis loses its data", () => {
  let cluster: UserCluster;
  beforeAll(async () => {
    cluster = await startUserCluster(1);
  });
  afterAll(() => cluster.close());

  it("forgets every user once the replica loses its Redis connections", async () => {
    const [client] = cluster.clients as [UserServiceClient];
    expect((await get(client, 1)).response.user?.name).toBe("Alice");
    await cluster.redis.restart();
    // Calls may fail while the replica reconnects; the first answer must come from the new, empty Redis.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const error = await rejection(get(client, 1));
      if (error.code !== status.UNAVAILABLE || Date.now() > deadline) {
        expect(error.code).toBe(status.NOT_FOUND);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});
