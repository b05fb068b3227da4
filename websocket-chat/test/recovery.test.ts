import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomMessage } from "../src/contracts/events.js";
import { appendScript } from "../src/chat/room-history.js";
import { chatKeys } from "../src/redis/keys.js";
import { startChatCluster, type ChatClient, type TestCluster, identified, ok, record } from "@clusterkit/test-kit/chat";

const TTL_MS = 1_500;
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startChatCluster(3, { config: { presenceTtlMs: TTL_MS } });
});
afterAll(async () => {
  await cluster.close();
});

const replica = (i: number) => cluster.replicas[i]!;

/** Everything stored in a room after `since`, from Redis itself. */
async function storedAfter(room: string, since: string): Promise<string[]> {
  const entries = await cluster.inspect.xRange(`chat:room:{${room}}:log`, `(${since}`, "+");
  return entries.map((entry) => entry.id);
}

function disconnected(socket: ChatClient): Promise<string> {
  return new Promise((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
}

/**
 * Rejoins on `target` with the last id while `writer` keeps writing, then checks that replay and
 * live traffic together are exactly what Redis stored after that id, in order.
 */
async function resumeDuringBurst(room: string, nickname: string, since: string, writer: ChatClient, target = replica(2)) {
  const back = await identified(cluster.client(target), nickname, `${nickname}-session-key-123`);
  const live = record(back, "chat:message");
  const burst = Promise.all(Array.from({ length: 15 }, (_, n) => ok(writer, "chat:message", { room, text: `burst ${n}` })));
  const joined = await ok(back, "chat:join", { room, since });
  const last = (await burst).at(-1)!.message.id;
  await live.find((m) => m.id === last);
  const seen = [...joined.messages, ...live.items].map((m: RoomMessage) => m.id);
  expect(joined.mode).toBe("replay");
  expect(joined.truncated).toBe(false);
  expect(seen).toEqual(await storedAfter(room, since));
  return back;
}

describe("recovery", () => {
  it("replays exactly what a client missed after a dropped connection, then continues live", async () => {
    const writer = await identified(cluster.client(replica(0)), "writer1");
    await ok(writer, "chat:join", { room: "resume" });
    const reader = await identified(cluster.client(replica(1)), "reader1", "reader1-session-key-123");
    await ok(reader, "chat:join", { room: "resume" });
    const inbox = record(reader, "chat:message");
    await ok(writer, "chat:message", { room: "resume", text: "before 1" });
    await ok(writer, "chat:message", { room: "resume", text: "before 2" });
    const lastSeen = (await inbox.until(2))[1]!.id;

    const gone = disconnected(reader);
    reader.io.engine.close(); // the network drops
    await gone;
    for (let n = 1; n <= 3; n++) await ok(writer, "chat:message", { room: "resume", text: `missed ${n}` });

    const back = await resumeDuringBurst("resume", "reader1", lastSeen, writer);
    const tail = record(back, "chat:message");
    await ok(writer, "chat:message", { room: "resume", text: "after" });
    expect((await tail.until(1)).map((m) => m.text)).toEqual(["after"]);
  });

  it("holds when the replica the client was on dies without warning", async () => {
    const victim = await cluster.startReplica("chat-doomed");
    const writer = await identified(cluster.client(replica(0)), "writer2");
    await ok(writer, "chat:join", { room: "crash" });
    const reader = await identified(cluster.client(victim), "reader2", "reader2-session-key-123");
    await ok(reader, "chat:join", { room: "crash" });
    const inbox = record(reader, "chat:message");
    await ok(writer, "chat:message", { room: "crash", text: "seen before the crash" });
    const lastSeen = (await inbox.until(1))[0]!.id;

    const gone = disconnected(reader);
    await victim.kill();
    await gone;
    await ok(writer, "chat:message", { room: "crash", text: "sent while the reader had no server" });

    await resumeDuringBurst("crash", "reader2", lastSeen, writer, replica(1));
  });

  it("says so when the client is further behind than the room keeps", async () => {
    const small = await cluster.startReplica("chat-small");
    const writer = await identified(cluster.client(small), "trimmer");
    await ok(writer, "chat:join", { room: "tiny" });
    await ok(writer, "chat:message", { room: "tiny", text: "soon gone" });
    // Trim the stream the way the cap would after many messages.
    const kept = await ok(writer, "chat:message", { room: "tiny", text: "kept" });
    await cluster.inspect.xTrim("chat:room:{tiny}:log", "MAXLEN", 1);
    const back = await identified(cluster.client(replica(0)), "trimmed-reader");
    const joined = await ok(back, "chat:join", { room: "tiny", since: "0-1" });
    expect(joined.truncated).toBe(true);
    expect(joined.messages.map((m) => m.text)).toEqual(["kept"]);
    const upToDate = await ok(back, "chat:join", { room: "tiny", since: kept.message.id });
    expect(upToDate).toMatchObject({ truncated: false, messages: [] });
  });
});

describe("a client from before a Redis reset", () => {
  it("is told to start over: history instead of a replay that could never fill the gap", async () => {
    const writer = await identified(cluster.client(replica(0)), "writer4");
    await ok(writer, "chat:join", { room: "reset" });
    await ok(writer, "chat:message", { room: "reset", text: "after the reset" });
    const returning = await identified(cluster.client(replica(1)), "from-the-past");
    const live = record(returning, "chat:message");
    const joined = await ok(returning, "chat:join", { room: "reset", since: "99999999999999-0" });
    expect(joined).toMatchObject({ mode: "history", truncated: true });
    expect(joined.messages.map((m) => m.text)).toEqual(["after the reset"]);
    await ok(writer, "chat:message", { room: "reset", text: "live again" });
    expect((await live.until(1))[0]?.text).toBe("live again");
  });
});

describe("presence after a replica dies", () => {
  it("drops its members from every list within the lease, announcing them as left", async () => {
    const victim = await cluster.startReplica("chat-victim");
    const watcher = await identified(cluster.client(replica(0)), "watcher");
    await ok(watcher, "chat:join", { room: "vigil" });
    const doomed = await identified(cluster.client(victim), "doomed");
    await ok(doomed, "chat:join", { room: "vigil" });
    const survivor = await identified(cluster.client(replica(2)), "survivor");
    expect((await ok(survivor, "chat:join", { room: "vigil" })).members).toEqual(["doomed", "survivor", "watcher"]);
    const presence = record(watcher, "chat:presence");

    const killedAt = Date.now();
    await victim.kill();
    const left = await presence.find((e) => e.action === "left" && e.nickname === "doomed", 15_000);
    const elapsed = Date.now() - killedAt;

    expect(left.members).toEqual(["survivor", "watcher"]);
    expect(elapsed).toBeLessThan((TTL_MS * 4) / 3 + 1_500); // lease + one heartbeat period, + slack for a loaded machine
    for (const i of [0, 1]) {
      const probe = await identified(cluster.client(replica(i)), `probe${i}`);
      const { members } = await ok(probe, "chat:join", { room: "vigil" });
      expect(members).not.toContain("doomed");
      expect(members).toEqual(expect.arrayContaining([`probe${i}`, "survivor", "watcher"]));
    }
    // Its nickname is free again.
    const again = await identified(cluster.client(replica(1)), "doomed", "a-different-browser-key");
    expect(again.connected).toBe(true);
  });
});

describe("a replica's Redis subscriber reconnecting", () => {
  it("loses nothing: what was published while it was away comes from the stream, once", async () => {
    const writer = await identified(cluster.client(replica(0)), "writer3");
    const reader = await identified(cluster.client(replica(1)), "reader3");
    await ok(writer, "chat:join", { room: "blip" });
    await ok(reader, "chat:join", { room: "blip" });
    await ok(reader, "chat:join", { room: "blip-empty" }); // nothing said there yet
    const inbox = record(reader, "chat:message");
    await ok(writer, "chat:message", { room: "blip", text: "warm-up" });
    await inbox.until(1);

    // One transaction: cut every pub/sub connection in the cluster, then append ten messages the
    // way a replica does. Pub/sub cannot deliver them to the cut connections; only the streams can.
    const append = (room: string, text: string) => [
      ...["EVAL", appendScript.source, "1", chatKeys.roomLog(room), chatKeys.roomChannel(room), "1000", room, "writer3"],
      ...[text, "chat-1", new Date().toISOString(), "86400000", "PUBLISH"],
    ];
    const transaction = cluster.inspect.multi().addCommand(["CLIENT", "KILL", "TYPE", "pubsub"]);
    for (let n = 0; n < 10; n++) {
      transaction.addCommand(append("blip", `during ${n}`));
    }
    transaction.addCommand(append("blip-empty", "first words"));
    const [killed, ...appended] = (await transaction.exec()) as [number, ...string[]];
    const sent = appended.slice(0, 10);
    expect(killed).toBeGreaterThanOrEqual(6);
    expect((await inbox.find((m) => m.room === "blip-empty")).text).toBe("first words");
    await ok(writer, "chat:message", { room: "blip", text: "after" });
    await inbox.find((m) => m.text === "after");
    const got = inbox.items.filter((m) => m.room === "blip");
    expect(got.slice(1, 11).map((m) => m.id)).toEqual(sent);
    expect(new Set(got.map((m) => m.id)).size).toBe(got.length);
    // The adapter's subscriptions came back too: private messages cross replicas again.
    const whispers = record(reader, "chat:private");
    await ok(writer, "chat:private", { to: "reader3", text: "still there?" });
    expect((await whispers.until(1))[0]?.text).toBe("still there?");
  });
});

describe("a room stream that lost its newest entries (a master failed over before they reached its replica)", () => {
  it("resumes a returning client after the newest entry kept, without replaying the room", async () => {
    const room = "lost-tail";
    const writer = await identified(cluster.client(replica(0)), "tailwriter");
    await ok(writer, "chat:join", { room });
    const sent = [];
    for (const text of ["kept 1", "kept 2", "lost"]) sent.push((await ok(writer, "chat:message", { room, text })).message);
    // What the promoted replica holds: the stream without its last entry.
    const key = chatKeys.roomLog(room);
    await cluster.inspect.del(key);
    for (const message of sent.slice(0, 2)) {
      await cluster.inspect.xAdd(key, message.id, { user: message.user, text: message.text, server: message.server, timestamp: message.timestamp });
    }

    const back = await identified(cluster.client(replica(1)), "tailreader");
    const joined = await ok(back, "chat:join", { room, since: sent[2]!.id });
    expect(joined).toMatchObject({ mode: "replay", messages: [], truncated: false });
    const live = record(back, "chat:message");
    await ok(writer, "chat:message", { room, text: "after the failover" });
    expect((await live.until(1)).map((message) => message.text)).toEqual(["after the failover"]);
  });
});
