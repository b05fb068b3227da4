/**
 * The cluster view (`GET /api/cluster`, drawn by /cluster.html): three chat replicas and one users
 * replica over one real Redis, each publishing a heartbeat with a lease.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUsers, unary, type UserServiceClient } from "grpc-demo/client";
import { startUserReplica, type UserReplica } from "@clusterkit/test-kit/users";
import type { ClusterView } from "../src/contracts/cluster.js";
import { startChatCluster, testConfig, type TestCluster, type TestReplica, identified, ok } from "@clusterkit/test-kit/chat";

const LEASE_MS = testConfig("x").presenceTtlMs;

let cluster: TestCluster;
let users: UserReplica;
let usersClient: UserServiceClient;

beforeAll(async () => {
  cluster = await startChatCluster(3);
  users = await startUserReplica({ redisUrl: cluster.redis.url, serverId: "users-1" });
  usersClient = await connectUsers(users.target);
});
afterAll(async () => {
  usersClient?.close();
  await users?.close();
  await cluster?.close();
});

async function view(replica: TestReplica): Promise<ClusterView> {
  const response = await fetch(`${replica.url}/api/cluster`);
  expect(response.status).toBe(200);
  return (await response.json()) as ClusterView;
}

/** Reads the view until `match` holds (heartbeats land every few hundred ms), or fails with the last one. */
async function viewWhere(replica: TestReplica, match: (v: ClusterView) => boolean, timeoutMs = 8_000): Promise<ClusterView> {
  const deadline = Date.now() + timeoutMs;
  let last = await view(replica);
  while (!match(last)) {
    if (Date.now() > deadline) throw new Error(`the cluster view never matched; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await view(replica);
  }
  return last;
}

const chatIds = (v: ClusterView) => v.chat.map((r) => r.id);
const replicaIn = (v: ClusterView, id: string) => v.chat.find((r) => r.id === id);

describe("the cluster view", () => {
  it("lists every live chat replica, the users replicas and Redis, whichever replica answers", async () => {
    for (const replica of cluster.replicas) {
      const seen = await viewWhere(replica, (v) => v.users.length === 1);
      expect(seen.servedBy).toBe(replica.serverId);
      expect(chatIds(seen)).toEqual(["chat-1", "chat-2", "chat-3"]);
      for (const beat of seen.chat) expect(beat).toMatchObject({ connections: expect.any(Number) as unknown, rooms: expect.any(Number) as unknown, uptimeS: expect.any(Number) as unknown });
      expect(seen.users[0]).toMatchObject({ id: "users-1", subscribers: 0, cursor: expect.stringMatching(/^\d+-\d+$/) as unknown });
      expect(seen.redis?.clients).toBeGreaterThan(0);
      expect(seen.redis?.usedMemoryBytes).toBeGreaterThan(0);
    }
  });

  it("shows a users replica's calls per second by RPC", async () => {
    for (let i = 0; i < 5; i++) await unary((cb) => usersClient.getUser({ id: 1 }, cb));
    const seen = await viewWhere(cluster.replicas[0]!, (v) => (v.users[0]?.callsPerS["userservice.v1.UserService/GetUser"] ?? 0) > 0);
    expect(seen.users[0]!.id).toBe("users-1");
  });

  it("moves a replica's counters as people chat, and shows which replica took a message and which delivered it", async () => {
    const [one, two] = cluster.replicas as [TestReplica, TestReplica];
    const before = await view(one);
    const alice = await identified(cluster.client(one), "alice-cv");
    const bob = await identified(cluster.client(two), "bob-cv");
    await ok(alice, "chat:join", { room: "watch" });
    await ok(bob, "chat:join", { room: "watch" });
    const { message } = await ok(alice, "chat:message", { room: "watch", text: "can you see me?" });

    const seen = await viewWhere(one, (v) => {
      const took = replicaIn(v, "chat-1")?.recent.find((hop) => hop.id === message.id);
      const carried = replicaIn(v, "chat-2")?.recent.find((hop) => hop.id === message.id);
      return took !== undefined && carried !== undefined;
    });
    const chat1 = replicaIn(seen, "chat-1")!;
    const chat2 = replicaIn(seen, "chat-2")!;
    expect(chat1.messagesIn).toBe(replicaIn(before, "chat-1")!.messagesIn + 1);
    expect(chat1.messagesOut).toBeGreaterThan(replicaIn(before, "chat-1")!.messagesOut);
    expect(chat2.messagesOut).toBeGreaterThan(replicaIn(before, "chat-2")!.messagesOut);
    expect(chat1.connections).toBeGreaterThanOrEqual(1);
    expect(chat1.rooms).toBeGreaterThanOrEqual(1);
    expect(chat1.recent.find((hop) => hop.id === message.id)).toEqual({ id: message.id, room: "watch", takenBy: "chat-1", delivered: 1 });
    expect(chat2.recent.find((hop) => hop.id === message.id)).toEqual({ id: message.id, room: "watch", takenBy: "chat-1", delivered: 1 });
    expect(replicaIn(seen, "chat-3")!.recent.some((hop) => hop.id === message.id)).toBe(false);

    // While bob keeps talking, his replica's rate in and alice's replica's rate out are above zero.
    let sent = 0;
    const talking = setInterval(() => void ok(bob, "chat:message", { room: "watch", text: `steady ${sent++}` }).catch(() => undefined), 100);
    try {
      await viewWhere(one, (v) => (replicaIn(v, "chat-2")?.inPerS ?? 0) > 0 && (replicaIn(v, "chat-1")?.outPerS ?? 0) > 0);
    } finally {
      clearInterval(talking);
    }
  });

  it("drops a crashed replica within its lease, and a closed one at once", async () => {
    const watcher = cluster.replicas[0]!;
    const crashed = await cluster.startReplica("chat-crash");
    const closed = await cluster.startReplica("chat-closed");
    await viewWhere(watcher, (v) => chatIds(v).includes("chat-crash") && chatIds(v).includes("chat-closed"));

    await closed.close();
    let started = Date.now();
    await viewWhere(watcher, (v) => !chatIds(v).includes("chat-closed"));
    // Only the view's shared read (250 ms) stands between the close and its disappearance.
    expect(Date.now() - started).toBeLessThan(1_000);

    started = Date.now();
    await crashed.kill();
    const after = await viewWhere(watcher, (v) => !chatIds(v).includes("chat-crash"), LEASE_MS * 4);
    // The record expires one lease after the last beat, which came before the crash; the rest is polling.
    expect(Date.now() - started).toBeLessThan(LEASE_MS + 1_000);
    expect(chatIds(after)).toEqual(["chat-1", "chat-2", "chat-3"]);
  });
});
