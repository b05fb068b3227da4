import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { collect, connectUsers, unary, type ListUsersResponse, type UserServiceClient } from "grpc-demo/client";
import { seedUsersDirectly, startUserReplica } from "@clusterkit/test-kit/users";
import { connectRawSocketIo, type RawSocketIo } from "@clusterkit/test-kit";
import { closeRedis, connectRedis } from "@clusterkit/redis-kit";
import { toUserRecord } from "../src/users/users-feed.js";
import { startChatCluster, type TestCluster, connected, record, request } from "@clusterkit/test-kit/chat";
import { readSnapshot, usersIn, usersModelOn } from "./support/users-client.js";

/** Per-connection bound of this file's replica; snapshot pages are a quarter of it. */
const MAX_BUFFERED = 256 * 1024;
/** ~170 bytes of JSON each: about 7 MB of snapshot, more than the kernel's socket buffers take. */
const SEEDED = 40_000;

let cluster: TestCluster;
let usersService: { target: string; close(): Promise<void> } | undefined;
let direct: UserServiceClient;
const raws: RawSocketIo[] = [];

beforeAll(async () => {
  cluster = await startChatCluster(1, {
    config: { maxBufferedBytes: MAX_BUFFERED },
    async users(redisUrl) {
      if (!usersService) {
        const seeder = await connectRedis(redisUrl, pino({ level: "silent" }), "test-seeder");
        await seedUsersDirectly(seeder, { count: SEEDED, namePadding: 40 });
        await closeRedis(seeder);
        usersService = await startUserReplica({ redisUrl, serverId: "users-1" });
      }
      return connectUsers(usersService.target);
    },
  });
  direct = await connectUsers(usersService!.target);
  await cluster.replicas[0]!.server.usersFeedReady;
}, 120_000);
afterAll(async () => {
  for (const raw of raws) raw.close();
  direct?.close();
  for (const replica of cluster?.replicas ?? []) await replica.close();
  await usersService?.close();
  await cluster?.close();
});

const replica = () => cluster.replicas[0]!;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${replica().url}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

/** Polls the replica's metrics until `done` holds (the replica's side of things has no event to wait for). */
async function metricUntil(name: string, done: (value: number) => boolean, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await metric(name);
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${name} stayed at ${value}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const storeNow = async () =>
  (await collect<ListUsersResponse>(direct.listUsers({ pageSize: 0, pageToken: "", nameFilter: "" }))).map((item) => toUserRecord(item.user!));

// Listing 40,000 users through gRPC to compare takes seconds on a busy machine.
describe("finding 11.4: snapshot amplification", { timeout: 90_000 }, () => {
  it("delivers the snapshot in pages under the bound whose concatenation is the store", async () => {
    const page = cluster.client(replica());
    await connected(page);
    const snapshot = await readSnapshot(page);
    expect(snapshot.pageBytes.length).toBeGreaterThan(20);
    expect(Math.max(...snapshot.pageBytes)).toBeLessThanOrEqual(MAX_BUFFERED / 4);
    expect(snapshot.total).toBe(SEEDED + 2);
    expect(snapshot.users).toEqual(await storeNow());
  });

  it("encodes each page once: a second page at the same cursor is served the same bytes", async () => {
    const first = cluster.client(replica());
    const second = cluster.client(replica());
    await Promise.all([connected(first), connected(second)]);
    const a = await readSnapshot(first);
    const encoded = await metric("chat_users_pages_encoded_total");
    const b = await readSnapshot(second);
    expect(b.cursor).toBe(a.cursor);
    expect(b.users).toEqual(a.users);
    expect(await metric("chat_users_pages_encoded_total")).toBe(encoded);
  });

  it("serves a change in a cached page's range from a fresh encoding, never the stale bytes", async () => {
    const reader = cluster.client(replica());
    await connected(reader);
    await readSnapshot(reader);
    // Somewhere in the middle of the directory, in a page every earlier reader had cached.
    const events = record(reader, "users:event");
    await unary((cb) => direct.updateUser({ id: 20_000, name: "Changed in a cached page" }, cb));
    await unary((cb) => direct.deleteUser({ id: 20_001 }, cb));
    await events.until(2);
    const again = cluster.client(replica());
    await connected(again);
    const snapshot = await readSnapshot(again);
    expect(snapshot.users.find((user) => user.id === 20_000)?.name).toBe("Changed in a cached page");
    expect(snapshot.users.some((user) => user.id === 20_001)).toBe(false);
    expect(snapshot.users).toEqual(await storeNow());
  });

  it("sockets that subscribe and never read hold at most the bound each on the replica", async () => {
    const before = await metric("chat_users_subscribers");
    for (let i = 0; i < 8; i++) {
      const raw = await connectRawSocketIo(replica().url);
      raws.push(raw);
      raw.stopReading({ answerPingsEveryMs: 1_000 });
      void raw.request("users:subscribe", {});
    }
    await metricUntil("chat_users_subscribers", (value) => value === before + 8);
    expect(await metric("chat_send_buffer_max_bytes")).toBeLessThanOrEqual(MAX_BUFFERED);
  });

  it("answers RATE_LIMITED to a socket that keeps subscribing", async () => {
    const page = cluster.client(replica());
    await connected(page);
    const replies = [];
    for (let i = 0; i < 12; i++) replies.push(await request(page, "users:subscribe", { since: "1-0" }));
    const refused = replies.filter((reply) => "error" in reply);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ error: { code: "RATE_LIMITED", retryAfterMs: expect.any(Number) as unknown } });
  });

  it("a page that reads the snapshot while users change ends up equal to the store", async () => {
    const page = cluster.client(replica());
    await connected(page);
    const model = usersModelOn(page);
    const reading = model.subscribe();
    const created = [];
    for (let i = 0; i < 20; i++) {
      const reply = await unary<{ user?: { id: number } }>((cb) => direct.createUser({ name: `During ${i}`, email: `during-${i}@example.org` }, cb));
      created.push(reply.response.user!.id);
    }
    await unary((cb) => direct.updateUser({ id: 5, name: "Renamed mid-snapshot" }, cb));
    await unary((cb) => direct.deleteUser({ id: 7 }, cb));
    await reading;
    // The last change is in once its event has arrived.
    const last = await unary<{ user?: { id: number } }>((cb) => direct.createUser({ name: "Last", email: "last@example.org" }, cb));
    const lastId = last.response.user!.id;
    if (!model.get(lastId)) await new Promise<void>((resolve) => model.onChange(() => void (model.get(lastId) && resolve())));
    expect(usersIn(model)).toEqual(await storeNow());
  });
});
