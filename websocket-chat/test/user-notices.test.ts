import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUsers, unary, type UserServiceClient } from "grpc-demo/client";
import { startUserReplica } from "grpc-demo/testing";
import { NOTICE_AUTHOR } from "../src/users/user-notices.js";
import { startChatCluster, type TestCluster } from "./support/chat-cluster.js";
import { identified, ok, record } from "./support/wire.js";

let cluster: TestCluster;
let usersService: { target: string; close(): Promise<void> } | undefined;
let direct: UserServiceClient;

beforeAll(async () => {
  cluster = await startChatCluster(3, {
    async users(redisUrl) {
      usersService ??= await startUserReplica({ redisUrl, serverId: "users-1" });
      return connectUsers(usersService.target);
    },
  });
  direct = await connectUsers(usersService!.target);
  await Promise.all(cluster.replicas.map((replica) => replica.server.usersFeedReady));
});
afterAll(async () => {
  direct?.close();
  for (const replica of cluster?.replicas ?? []) await replica.close();
  await usersService?.close();
  await cluster?.close();
});

describe("issue 14: a domain event pushed into a room (API → Redis → room)", () => {
  it("posts each user change once into the room that subscribed to user events, on every replica, and keeps it in its history", async () => {
    const watchers = await Promise.all([0, 2].map((i) => identified(cluster.client(cluster.replicas[i]!), `watcher${i}`)));
    for (const watcher of watchers) await ok(watcher, "chat:join", { room: "user-events" });
    const seen = watchers.map((watcher) => record(watcher, "chat:message"));

    const created = await unary<{ user?: { id: number } }>((cb) => direct.createUser({ name: "Hedy", email: "hedy.notice@example.com" }, cb));
    await unary((cb) => direct.deleteUser({ id: created.response.user!.id }, cb));

    for (const messages of seen) {
      const [made, gone] = await messages.until(2);
      expect(made).toMatchObject({ room: "user-events", user: NOTICE_AUTHOR, text: expect.stringMatching(/^Hedy <hedy\.notice@example\.com> \(#\d+\) was created on users-1$/) as unknown });
      expect(gone?.text).toMatch(/was deleted on users-1$/);
    }
    // Three replicas read the event; the room stored it once (and so delivered it once).
    const late = await identified(cluster.client(cluster.replicas[1]!), "latecomer");
    const history = await ok(late, "chat:join", { room: "user-events" });
    expect(history.messages.filter((m) => m.text.startsWith("Hedy <hedy.notice@"))).toHaveLength(2);
    expect(seen.every((messages) => messages.items.length === 2)).toBe(true);
  });
});
