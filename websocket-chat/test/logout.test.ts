/**
 * `chat:logout` across the wire, two replicas over one Redis: the socket leaves every room and
 * gives its nickname back, so another session key can take it; the socket stays connected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatCluster, type TestCluster, type TestReplica, connected, identified, ok, record, request } from "@clusterkit/test-kit/chat";

const ALICE_KEY = "alice-session-key-0001";
const MALLORY_KEY = "other-session-key-0002";

let cluster: TestCluster;
let one: TestReplica;
let two: TestReplica;
beforeAll(async () => {
  cluster = await startChatCluster(2);
  [one, two] = cluster.replicas as [TestReplica, TestReplica];
});
afterAll(async () => {
  await cluster?.close();
});

describe("chat:logout", () => {
  it("leaves every room, and after it another session key can take the nickname", async () => {
    const alice = await identified(cluster.client(one), "alice-lo", ALICE_KEY);
    await ok(alice, "chat:join", { room: "lo-a" });
    await ok(alice, "chat:join", { room: "lo-b" });
    const bob = await identified(cluster.client(two), "bob-lo");
    const bobSees = record(bob, "chat:presence");
    await ok(bob, "chat:join", { room: "lo-a" });
    await ok(bob, "chat:join", { room: "lo-b" });

    // Before: the nickname is alice's.
    const other = cluster.client(two);
    await connected(other);
    expect(await request(other, "chat:identify", { nickname: "alice-lo", sessionKey: MALLORY_KEY })).toMatchObject({ error: { code: "NICKNAME_TAKEN" } });

    expect(await request(alice, "chat:logout", {})).toEqual({ ok: true, nickname: "alice-lo" });
    for (const room of ["lo-a", "lo-b"]) {
      const left = await bobSees.find((e) => e.room === room && e.nickname === "alice-lo" && e.action === "left");
      expect(left.members).toEqual(["bob-lo"]);
    }
    expect((await ok(bob, "chat:join", { room: "lo-a" })).members).toEqual(["bob-lo"]);

    // After: another session key, on another replica, takes it; alice's socket is still connected.
    expect(await request(other, "chat:identify", { nickname: "alice-lo", sessionKey: MALLORY_KEY })).toMatchObject({ ok: true, nickname: "alice-lo" });
    expect(alice.connected).toBe(true);
    expect(await request(alice, "chat:message", { room: "lo-a", text: "still here?" })).toMatchObject({ error: { code: "NOT_IDENTIFIED" } });
    expect(await request(alice, "chat:identify", { nickname: "alice-lo", sessionKey: ALICE_KEY })).toMatchObject({ error: { code: "NICKNAME_TAKEN" } });
    expect(await request(alice, "chat:identify", { nickname: "alice-again", sessionKey: ALICE_KEY })).toMatchObject({ ok: true });
  });

  it("stops the logged-out socket's private messages; its later disconnect leaves the new holder online", async () => {
    const first = await identified(cluster.client(one), "carol-lo", ALICE_KEY);
    const firstPrivates = record(first, "chat:private");
    await ok(first, "chat:logout", {});
    // The new holder on the same replica: a second release of the nickname there would drop it.
    const second = await identified(cluster.client(one), "carol-lo", MALLORY_KEY);
    const secondPrivates = record(second, "chat:private");
    const dave = await identified(cluster.client(one), "dave-lo");
    await ok(dave, "chat:private", { to: "carol-lo", text: "for the new carol" });
    expect((await secondPrivates.until(1))[0]).toMatchObject({ from: "dave-lo", text: "for the new carol" });
    expect(firstPrivates.items).toEqual([]);

    const firstId = first.id!;
    first.disconnect();
    await new Promise<void>((resolve) => {
      const check = () => (one.server.io.of("/").sockets.has(firstId) ? setTimeout(check, 10) : resolve());
      check();
    });
    await ok(dave, "chat:private", { to: "carol-lo", text: "still there?" });
    expect((await secondPrivates.until(2))[1]).toMatchObject({ text: "still there?" });
  });

  it("answers NOT_IDENTIFIED to a socket that never identified, and INVALID_ARGUMENT to a payload", async () => {
    const anonymous = cluster.client(one);
    await connected(anonymous);
    expect(await request(anonymous, "chat:logout", {})).toMatchObject({ error: { code: "NOT_IDENTIFIED" } });
    const named = await identified(cluster.client(one), "erin-lo");
    expect(await request(named, "chat:logout", { nickname: "someone" } as never)).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
  });
});
