import { describe, expect, it } from "vitest";
import { connected, identified, ok, record, request } from "@clusterkit/test-kit/chat";
import { redisReady as ready, useGatedReplica } from "./support/gated-replica.js";

// One replica straight on Redis, one behind a relay that can keep it away from Redis after a restart.
const gate = useGatedReplica();

const OWNER_KEY = "owner-browser-key-0123456789";
const OTHER_KEY = "another-browser-key-9876543210";

describe("finding 11.2: nickname ownership lost on a Redis reset", () => {
  it("keeps a connected user's nickname its own through a restart that empties Redis", async () => {
    const [near, far] = [gate.direct, gate.gated];
    const owner = await identified(gate.cluster.client(near), "keeper", OWNER_KEY);
    const friend = await identified(gate.cluster.client(far), "keepers-friend", "friend-browser-key-0123456");

    await gate.cluster.redis.restart();
    await Promise.all([ready(near.redis), ready(far.redis)]);
    // Through the owner's own replica: a claim waits for that replica's restore.
    const sameReplica = gate.cluster.client(near);
    await connected(sameReplica);
    expect(await request(sameReplica, "chat:identify", { nickname: "keeper", sessionKey: OTHER_KEY, privateSince: "0-0" })).toEqual({
      error: { code: "NICKNAME_TAKEN", message: "'keeper' is already used by someone else" },
    });
    // Through another replica: the refusal above came after the owner's replica restored its users.
    const elsewhere = gate.cluster.client(far);
    await connected(elsewhere);
    expect(await request(elsewhere, "chat:identify", { nickname: "keeper", sessionKey: OTHER_KEY })).toMatchObject({
      error: { code: "NICKNAME_TAKEN" },
    });

    // The owner is still itself: reachable, and its key opens another tab.
    const inbox = record(owner, "chat:private");
    await ok(friend, "chat:private", { to: "keeper", text: "after the reset" });
    expect((await inbox.until(1))[0]).toMatchObject({ to: "keeper", text: "after the reset" });
    const tab = gate.cluster.client(far);
    await connected(tab);
    const reply = await ok(tab, "chat:identify", { nickname: "keeper", sessionKey: OWNER_KEY, privateSince: "0-0" });
    expect(reply.privates.map((m) => m.text)).toEqual(["after the reset"]);
  });

  it("closes the owner's sockets with NICKNAME_TAKEN if someone claimed the name before the owner's replica was back", async () => {
    await Promise.all([ready(gate.direct.redis), ready(gate.gated.redis)]);
    const owner = await identified(gate.cluster.client(gate.gated), "unlucky", OWNER_KEY);
    const errors = record(owner, "chat:error");
    const closed = new Promise<string>((resolve) => owner.once("disconnect", resolve));

    // The owner's replica stays cut off from the restarted Redis while a stranger claims the name.
    gate.relay.holdConnections(() => true);
    await gate.cluster.redis.restart();
    await ready(gate.direct.redis);
    const stranger = gate.cluster.client(gate.direct);
    await connected(stranger);
    await ok(stranger, "chat:identify", { nickname: "unlucky", sessionKey: OTHER_KEY });
    gate.relay.releaseConnections();

    // Two users under one name would be worse than one told to pick another.
    expect(await closed).toBe("io server disconnect");
    expect(errors.items).toEqual([
      { code: "NICKNAME_TAKEN", message: "'unlucky' was taken while the chat store was being restored; choose another", event: "chat:identify" },
    ]);
  });
});
