import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RedisClient } from "../src/redis/connect-redis.js";
import { startChatCluster, type TestCluster } from "./support/chat-cluster.js";
import { connected, identified, ok, record, request } from "./support/wire.js";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startChatCluster(2);
});
afterAll(async () => {
  await cluster.close();
});

const OWNER_KEY = "owner-browser-key-0123456789";
const OTHER_KEY = "another-browser-key-9876543210";

/** Resolves once the connection is usable again (reconnect errors on the way are expected). */
const ready = (client: RedisClient) =>
  client.isReady ? Promise.resolve() : new Promise<void>((resolve) => client.once("ready", () => resolve()));

/** Waits until Redis holds `key` again (the owner's replica has restored it), checking every 20 ms. */
async function restored(key: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await cluster.inspect.exists(key).catch(() => 0)) === 0) {
    if (Date.now() > deadline) throw new Error(`${key} was not restored within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("finding 11.2: nickname ownership lost on a Redis reset", () => {
  it("keeps a connected user's nickname its own through a restart that empties Redis", async () => {
    const [near, far] = cluster.replicas as [(typeof cluster.replicas)[0], (typeof cluster.replicas)[0]];
    const owner = await identified(cluster.client(near), "keeper", OWNER_KEY);
    const friend = await identified(cluster.client(far), "keepers-friend", "friend-browser-key-0123456");

    await cluster.redis.restart();
    await Promise.all([ready(near.redis), ready(far.redis)]);
    // Through the owner's own replica: a claim waits for that replica's restore.
    const sameReplica = cluster.client(near);
    await connected(sameReplica);
    expect(await request(sameReplica, "chat:identify", { nickname: "keeper", sessionKey: OTHER_KEY, privateSince: "0-0" })).toEqual({
      error: { code: "NICKNAME_TAKEN", message: "'keeper' is already used by someone else" },
    });
    // Through another replica, once the owner's replica has restored its users.
    await restored("chat:nick:keeper");
    const elsewhere = cluster.client(far);
    await connected(elsewhere);
    expect(await request(elsewhere, "chat:identify", { nickname: "keeper", sessionKey: OTHER_KEY })).toMatchObject({
      error: { code: "NICKNAME_TAKEN" },
    });

    // The owner is still itself: reachable, and its key opens another tab.
    const inbox = record(owner, "chat:private");
    await ok(friend, "chat:private", { to: "keeper", text: "after the reset" });
    expect((await inbox.until(1))[0]).toMatchObject({ to: "keeper", text: "after the reset" });
    const tab = cluster.client(far);
    await connected(tab);
    const reply = await ok(tab, "chat:identify", { nickname: "keeper", sessionKey: OWNER_KEY, privateSince: "0-0" });
    expect(reply.privates.map((m) => m.text)).toEqual(["after the reset"]);
  });
});
