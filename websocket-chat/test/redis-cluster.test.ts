import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ioRooms } from "../src/chat/context.js";
import { chatKeys } from "../src/redis/keys.js";
import { startChatOnRedisCluster, type ChatOnRedisCluster } from "./support/chat-on-redis-cluster.js";
import { connected, identified, ok, record, request } from "@clusterkit/test-kit/chat";

// The chat's usual behaviour, with CHAT_REDIS_CLUSTER: three replicas on a Redis Cluster of three
// masters (a replica each). Every script runs in one slot, or Redis would refuse it (CROSSSLOT).
let chat: ChatOnRedisCluster;
beforeAll(async () => {
  chat = await startChatOnRedisCluster(3, { config: { historySize: 5 } });
}, 60_000);
afterAll(async () => {
  await chat?.close();
});

const replica = (i: number) => chat.replicas[i]!;

/** Subscribers of a sharded channel, as counted by the master that serves its slot. */
async function shardSubscribers(channel: string): Promise<number> {
  const reply = await chat.inspect.sendCommand<[string, number]>(channel, true, ["PUBSUB", "SHARDNUMSUB", channel]);
  return Number(reply[1]);
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("the chat on a Redis Cluster", () => {
  it("spreads rooms over the masters: a room's stream, members and channel share one slot", async () => {
    const masters = new Set<number>();
    for (const room of ["lobby", "news", "dev", "ops", "random", "help", "music", "games"]) {
      const [log, members, channel] = await Promise.all(
        [chatKeys.roomLog(room), chatKeys.roomMembers(room), chatKeys.roomChannel(room)].map((key) => chat.redisCluster.masterOf(key)),
      );
      expect(members).toBe(log);
      expect(channel).toBe(log);
      masters.add(log!.port);
    }
    expect(masters.size).toBeGreaterThan(1);
  });

  it("delivers a room's messages to its members on every replica, in stored order", async () => {
    const [ana, ben, cai] = await Promise.all([
      identified(chat.client(replica(0)), "ana"),
      identified(chat.client(replica(1)), "ben"),
      identified(chat.client(replica(2)), "cai"),
    ]);
    for (const socket of [ana, ben, cai]) await ok(socket, "chat:join", { room: "lobby" });
    const inboxes = [ana, ben, cai].map((socket) => record(socket, "chat:message"));
    const acks = [];
    for (let n = 0; n < 6; n++) acks.push(await ok([ana, ben, cai][n % 3]!, "chat:message", { room: "lobby", text: `m${n}` }));
    for (const inbox of inboxes) {
      const got = await inbox.until(6);
      expect(got.map((message) => message.id)).toEqual(acks.map((ack) => ack.message.id));
    }
    expect((await inboxes[0]!.until(6))[1]).toMatchObject({ user: "ben", server: "chat-2", text: "m1" });
  });

  it("sends history on join and replays exactly what a returning client missed", async () => {
    const writer = await identified(chat.client(replica(0)), "hwriter");
    await ok(writer, "chat:join", { room: "archive" });
    const first = await ok(writer, "chat:message", { room: "archive", text: "one" });
    await ok(writer, "chat:message", { room: "archive", text: "two" });
    await ok(writer, "chat:message", { room: "archive", text: "three" });

    const newcomer = await identified(chat.client(replica(1)), "hnewcomer");
    const joined = await ok(newcomer, "chat:join", { room: "archive" });
    expect(joined.mode).toBe("history");
    expect(joined.messages.map((message) => message.text)).toEqual(["one", "two", "three"]);

    const returner = await identified(chat.client(replica(2)), "hreturner");
    const replay = await ok(returner, "chat:join", { room: "archive", since: first.message.id });
    expect(replay.mode).toBe("replay");
    expect(replay.messages.map((message) => message.text)).toEqual(["two", "three"]);
  });

  it("delivers a private message to a user on another replica, and keeps it in both inboxes", async () => {
    const sender = await identified(chat.client(replica(0)), "psender", "key-of-the-sender-0123456789");
    const recipient = await identified(chat.client(replica(2)), "precipient", "key-of-the-recipient-0123456789");
    const whispers = record(recipient, "chat:private");
    const echoes = record(sender, "chat:private");
    await ok(sender, "chat:private", { to: "precipient", text: "psst" });
    expect((await whispers.until(1))[0]).toMatchObject({ from: "psender", to: "precipient", text: "psst" });
    expect((await echoes.until(1))[0]).toMatchObject({ from: "psender", text: "psst" });

    // Another tab of the recipient, on another replica, gets the inbox back.
    const tab = chat.client(replica(1));
    await connected(tab);
    const again = await ok(tab, "chat:identify", { nickname: "precipient", sessionKey: "key-of-the-recipient-0123456789", privateSince: "0-0" });
    expect(again.privates.map((message) => message.text)).toEqual(["psst"]);
  });

  it("keeps nicknames unique and member lists right across replicas", async () => {
    await identified(chat.client(replica(0)), "unique1");
    const rival = chat.client(replica(2));
    await connected(rival);
    expect(await request(rival, "chat:identify", { nickname: "unique1" })).toMatchObject({ error: { code: "NICKNAME_TAKEN" } });
    const [a, b] = [await identified(chat.client(replica(0)), "membera"), await identified(chat.client(replica(2)), "memberb")];
    await ok(a, "chat:join", { room: "crowd" });
    const presence = record(a, "chat:presence");
    const joined = await ok(b, "chat:join", { room: "crowd" });
    expect(joined.members).toEqual(["membera", "memberb"]);
    await presence.find((event) => event.room === "crowd" && event.nickname === "memberb" && event.action === "joined");
    await ok(b, "chat:leave", { room: "crowd" });
    const left = await presence.find((event) => event.nickname === "memberb" && event.action === "left");
    expect(left.members).toEqual(["membera"]);
  });
});

describe("sharded room channels", () => {
  it("reach only the replicas with members in the room, and are dropped with the last local member", async () => {
    const channel = chatKeys.roomChannel("quiet-corner");
    const first = await identified(chat.client(replica(0)), "corner1");
    const second = await identified(chat.client(replica(1)), "corner2");
    const bystander = await identified(chat.client(replica(2)), "corner3");
    await ok(bystander, "chat:join", { room: "elsewhere-entirely" });
    await ok(first, "chat:join", { room: "quiet-corner" });
    await ok(second, "chat:join", { room: "quiet-corner" });
    // Two replicas serve the room: its master counts two subscribers, the third replica is not one.
    expect(await shardSubscribers(channel)).toBe(2);
    const seen = record(bystander, "chat:message");
    const heard = record(second, "chat:message");
    const delivered = async () => (await replica(2).server.metrics.messagesOut.get()).values.find((value) => value.labels.kind === "kit")?.value ?? 0;
    const before = await delivered();
    await ok(first, "chat:message", { room: "quiet-corner", text: "between us" });
    await heard.until(1);
    await ok(bystander, "chat:message", { room: "elsewhere-entirely", text: "marker" });
    await seen.until(1);
    // The third replica delivered the marker and nothing of the corner's traffic.
    expect(seen.items.map((message) => message.text)).toEqual(["marker"]);
    expect(await delivered()).toBe(before + 1);

    await ok(second, "chat:leave", { room: "quiet-corner" });
    await eventually("the leaving replica unsubscribes", async () => (await shardSubscribers(channel)) === 1);
  });

  it("exist for a room's presence broadcasts, not for its live sets (those are broadcast locally only)", async () => {
    const adapterChannel = (ioRoom: string) => `socket.io#/#${ioRoom}#`;
    const [one, two] = [await identified(chat.client(replica(0)), "live1"), await identified(chat.client(replica(1)), "live2")];
    await ok(one, "chat:join", { room: "live-check" });
    await ok(two, "chat:join", { room: "live-check" });
    const heard = record(two, "chat:message");
    await ok(one, "chat:message", { room: "live-check", text: "both live now" });
    await heard.until(1);
    await eventually("both replicas follow the room's presence", async () => (await shardSubscribers(adapterChannel(ioRooms.room("live-check")))) === 2);
    // Both sockets are in the live set (they got the message through it), yet nobody subscribed its channel.
    expect(await shardSubscribers(adapterChannel("live:kit:live-check"))).toBe(0);
  });
});
