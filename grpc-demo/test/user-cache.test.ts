import { status, type ServiceError } from "@grpc/grpc-js";
import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import { unary, UserAction, type GetUserResponse, type SubscribeToUpdatesResponse, type UserServiceClient } from "../src/client/index.js";
import { StreamRecorder } from "./support/recorder.js";
import { useUserCluster } from "./support/user-cluster.js";

/*
 * Each replica keeps users in memory, fed by its event reader (src/store/user-cache.ts). What a
 * client may observe: its own writes at once on the replica that took them; another replica's
 * writes once this replica's reader has applied them (at once with USERS_CACHE_FENCE); never a
 * user older than a change the replica has already seen.
 */
const get = (client: UserServiceClient, id: number) => unary<GetUserResponse>((cb) => client.getUser({ id }, cb));
const nameOf = async (client: UserServiceClient, id: number) => (await get(client, id)).response.user?.name;
const create = (client: UserServiceClient, name: string) =>
  unary<{ user?: { id: number } }>((cb) => client.createUser({ name, email: `${name.toLowerCase().replace(/\W/g, "")}.cache@example.com` }, cb)).then(
    (r) => r.response.user!,
  );
const rename = (client: UserServiceClient, id: number, name: string) => unary((cb) => client.updateUser({ id, name }, cb));
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

/** Follows SubscribeToUpdates on a replica: an update it delivers has been applied to that replica's cache. */
function follow(client: UserServiceClient) {
  const call = client.subscribeToUpdates({ sinceCursor: "" });
  const recorder = new StreamRecorder<SubscribeToUpdatesResponse>(call);
  return {
    ready: () => recorder.ready(),
    seen: (what: string, match: (u: SubscribeToUpdatesResponse) => boolean) => recorder.until(() => recorder.items.some(match), what),
    close: () => call.cancel(),
  };
}

describe("the user cache over two replicas", () => {
  const cluster = useUserCluster(2);

  it("serves another replica's update and delete as soon as it has seen them, though it had the user cached", async () => {
    const { a, b } = cluster;
    const ada = await create(a, "Ada");
    const onB = follow(b);
    await onB.ready();
    for (let i = 0; i < 10; i += 1) {
      expect(await nameOf(b, ada.id)).toBe(i === 0 ? "Ada" : `Ada ${i - 1}`);
      await rename(a, ada.id, `Ada ${i}`);
      await onB.seen(`update ${i} on B`, (u) => u.user?.name === `Ada ${i}`);
      expect(await nameOf(b, ada.id)).toBe(`Ada ${i}`);
    }
    await unary((cb) => a.deleteUser({ id: ada.id }, cb));
    await onB.seen("the delete on B", (u) => u.user?.id === ada.id && u.action === UserAction.USER_ACTION_DELETED);
    expect((await rejection(get(b, ada.id))).code).toBe(status.NOT_FOUND);
    onB.close();
  });

  it("answers repeated reads of a user without any Redis command", async () => {
    await get(cluster.a, 2);
    const before = await commandCalls(cluster.redis.url, "hgetall");
    for (let i = 0; i < 10; i += 1) await get(cluster.a, 2);
    expect(await commandCalls(cluster.redis.url, "hgetall")).toBe(before);
  });
});

/** Creates a user on replica A, then waits until B has applied the creation and serves the user. */
async function createdAndServed(a: UserServiceClient, b: UserServiceClient, onB: ReturnType<typeof follow>, name: string) {
  await onB.ready();
  const user = await create(a, name);
  await onB.seen(`${name}'s creation on B`, (u) => u.user?.id === user.id);
  expect(await nameOf(b, user.id)).toBe(name);
  return user;
}

/** Two replicas whose event readers reach Redis through relays whose replies the test can hold. */
const useLaggingPair = (options: { cacheFence: boolean }) => useUserCluster(2, { relayReaders: true, eventsRetention: 10, ...options });

describe("replicas whose event reader lags", () => {
  const pair = useLaggingPair({ cacheFence: false });

  it("read their own writes at once, even while their own reader lags", async () => {
    const { a } = pair;
    const bea = await create(a, "Bea");
    expect(await nameOf(a, bea.id)).toBe("Bea");
    pair.readerRelay(0).holdReplies();
    for (let i = 0; i < 5; i += 1) {
      await rename(a, bea.id, `Bea ${i}`);
      expect(await nameOf(a, bea.id)).toBe(`Bea ${i}`);
    }
    await unary((cb) => a.deleteUser({ id: bea.id }, cb));
    expect((await rejection(get(a, bea.id))).code).toBe(status.NOT_FOUND);
    pair.readerRelay(0).releaseReplies();
  });

  it("serve another replica's change once their reader applies it, and the previous user until then", async () => {
    const { a, b } = pair;
    const onB = follow(b);
    const cy = await createdAndServed(a, b, onB, "Cy");
    pair.readerRelay(1).holdReplies();
    await rename(a, cy.id, "Cy Lagged");
    // The documented window: B has not seen the change yet.
    expect(await nameOf(b, cy.id)).toBe("Cy");
    pair.readerRelay(1).releaseReplies();
    await onB.seen("the rename on B", (u) => u.user?.name === "Cy Lagged");
    expect(await nameOf(b, cy.id)).toBe("Cy Lagged");
    onB.close();
  });

  it("forget what they hold when their reader falls behind the retained history", async () => {
    const { a, b } = pair;
    const onB = follow(b);
    const eve = await createdAndServed(a, b, onB, "Eve");
    pair.readerRelay(1).holdReplies();
    // Answers the read B's reader has pending, so the rename below can only come in a later read.
    await create(a, "Pending");
    await rename(a, eve.id, "Eve Trimmed");
    // Twelve more events push the rename out of the 10 the stream keeps, before B's reader sees it.
    let last = eve;
    for (let i = 0; i < 12; i += 1) last = await create(a, `Filler ${i}`);
    pair.readerRelay(1).releaseReplies();
    await onB.seen("B's reader to catch up", (u) => u.user?.id === last.id);
    onB.close();
    expect(await nameOf(b, eve.id)).toBe("Eve Trimmed");
  });
});

describe("the read fence (USERS_CACHE_FENCE)", () => {
  const pair = useLaggingPair({ cacheFence: true });

  it("never serves a user older than a write completed on another replica, even while its reader lags", async () => {
    const { a, b } = pair;
    const dee = await create(a, "Dee");
    expect(await nameOf(b, dee.id)).toBe("Dee");
    pair.readerRelay(1).holdReplies();
    await rename(a, dee.id, "Dee Lagged");
    expect(await nameOf(b, dee.id)).toBe("Dee Lagged");
    await unary((cb) => a.deleteUser({ id: dee.id }, cb));
    expect((await rejection(get(b, dee.id))).code).toBe(status.NOT_FOUND);
    pair.readerRelay(1).releaseReplies();
  });

  it("answers from memory again once its reader has caught up", async () => {
    const { b, redis } = pair;
    await get(b, 1);
    const deadline = Date.now() + 5000;
    for (;;) {
      const before = await commandCalls(redis.url, "hgetall");
      await get(b, 1);
      if ((await commandCalls(redis.url, "hgetall")) === before) break;
      if (Date.now() > deadline) throw new Error("replica B kept reading user 1 from Redis");
    }
  });
});

describe("the user cache's bound", () => {
  const cluster = useUserCluster(1, { cacheSize: 2 });

  it("keeps at most USERS_CACHE_SIZE users, evicting the least recently used", async () => {
    const client = cluster.a;
    await unary((cb) => client.createUser({ name: "Cy", email: "cy.bound@example.com" }, cb));
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
  const cluster = useUserCluster(1);

  it("forgets every user once the replica loses its Redis connections", async () => {
    const client = cluster.a;
    expect(await nameOf(client, 1)).toBe("Alice");
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
