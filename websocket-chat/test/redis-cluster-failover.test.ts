import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomMessage } from "../src/contracts/events.js";
import { chatKeys } from "../src/redis/keys.js";
import { startChatOnRedisCluster, type ChatOnRedisCluster } from "./support/chat-on-redis-cluster.js";
import { connected, identified, ok, record, request, type ChatClient } from "@clusterkit/test-kit/chat";

// A short version of `npm run drill:failover` (scripts/drills/failover-drill.ts), which measures.
let chat: ChatOnRedisCluster;
beforeAll(async () => {
  chat = await startChatOnRedisCluster(3, { config: { rateLimit: 100_000, presenceTtlMs: 3_000 } });
}, 60_000);
afterAll(async () => {
  await chat?.close();
});

const replica = (i: number) => chat.replicas[i]!;

/** Sends `text` until a replica accepts it (an outage answers UNAVAILABLE or INTERNAL): its id. */
async function sendUntilAccepted(socket: ChatClient, room: string, text: string): Promise<string> {
  for (;;) {
    const reply = await request(socket, "chat:message", { room, text }).catch(() => undefined);
    if (reply && "ok" in reply) return reply.message.id;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("a Redis Cluster master failing over under load", () => {
  it("loses nothing for clients that stay and for a client that rejoins from its last id, and duplicates nothing", async () => {
    const room = "busy-failover";
    const senders = await Promise.all([0, 1, 2].map((i) => identified(chat.client(replica(i)), `fsender${i}`)));
    const stayers = await Promise.all([0, 1, 2].map((i) => identified(chat.client(replica(i)), `fstayer${i}`)));
    const leaver = await identified(chat.client(replica(1)), "fleaver");
    for (const socket of [...senders, ...stayers, leaver]) await ok(socket, "chat:join", { room });
    const heard = stayers.map((socket) => record(socket, "chat:message"));
    const leaverHeard = record(leaver, "chat:message");

    const accepted = new Map<string, string>(); // text -> id
    let sending = true;
    const loops = senders.map(async (socket, s) => {
      for (let n = 0; sending; n++) {
        const text = `s${s}-${n}`;
        accepted.set(text, await sendUntilAccepted(socket, room, text));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    const acceptedBy = (count: number) => new Promise<void>((resolve) => {
      const check = () => (accepted.size >= count ? resolve() : setTimeout(check, 10));
      check();
    });

    await acceptedBy(30);
    const master = await chat.redisCluster.masterOf(chatKeys.roomLog(room));
    // The leaver drops its connection around the crash and comes back later from its last id.
    leaver.disconnect();
    const killedAt = accepted.size;
    await chat.redisCluster.kill(master);
    await acceptedBy(killedAt + 30);
    sending = false;
    await Promise.all(loops);

    const back = chat.client(replica(2));
    await identified(back, "fleaver2");
    const lastId = leaverHeard.items.at(-1)?.id;
    expect(lastId).toBeDefined();
    const rejoined = await ok(back, "chat:join", { room, since: lastId! });
    const leaverGot = [...leaverHeard.items, ...rejoined.messages];

    const wanted = new Set(accepted.keys());
    for (const inbox of heard) {
      await inbox.find((message) => message.id === [...accepted.values()].at(-1));
      expectComplete(inbox.items, wanted);
    }
    const live = record(back, "chat:message");
    await ok(senders[0]!, "chat:message", { room, text: "after all" });
    await live.find((message) => message.text === "after all");
    expectComplete([...leaverGot, ...live.items.filter((m) => m.text !== "after all")], wanted);
    await connected(senders[0]!);
  });
});

/** Every accepted text arrived (none lost), and no text nor id arrived twice. */
function expectComplete(got: RoomMessage[], wanted: Set<string>): void {
  const texts = got.map((message) => message.text);
  const ids = got.map((message) => message.id);
  expect([...wanted].filter((text) => !texts.includes(text))).toEqual([]);
  expect(texts.length - new Set(texts).size).toBe(0);
  expect(ids.length - new Set(ids).size).toBe(0);
}
