import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nicknameKey } from "../src/contracts/nicknames.js";
import { chatKeys } from "../src/redis/keys.js";
import { startChatOnRedisCluster, type ChatOnRedisCluster } from "./support/chat-on-redis-cluster.js";
import { identified, ok, request } from "@clusterkit/test-kit/chat";

// On a cluster a message spends the author's budget (the author's slot) before it is appended
// (the room's slot); on one Redis both happen in one script. The two must agree on what a refused
// message costs: nothing.
const LIMIT = 5;
let chat: ChatOnRedisCluster;
beforeAll(async () => {
  chat = await startChatOnRedisCluster(1, { config: { rateLimit: LIMIT, rateWindowMs: 60_000 } });
}, 60_000);
afterAll(async () => {
  await chat?.close();
});

describe("the message budget on a Redis Cluster", () => {
  it("charges nothing for the messages refused while the room's slot fails over", async () => {
    const socket = await identified(chat.client(chat.replicas[0]!), "budgeter");
    const budgetMaster = await chat.redisCluster.masterOf(chatKeys.rate(nicknameKey("budgeter")));
    // A room whose stream lives on another master than the author's budget: that one stays up.
    let room = "";
    for (let n = 0; room === ""; n++) {
      if ((await chat.redisCluster.masterOf(chatKeys.roomLog(`refund-${n}`))) !== budgetMaster) room = `refund-${n}`;
    }
    await ok(socket, "chat:join", { room });
    await ok(socket, "chat:message", { room, text: "before" });

    await chat.redisCluster.kill(await chat.redisCluster.masterOf(chatKeys.roomLog(room)));
    // Twice the budget, refused while no master serves the room's slot (or stored, if the
    // failover is already over: then they count, and the send below would show it).
    const refused: string[] = [];
    for (let n = 0; n < 2 * LIMIT; n++) {
      const reply = await request(socket, "chat:message", { room, text: `during ${n}` });
      if ("error" in reply) refused.push(reply.error.code);
    }
    expect(refused.length).toBe(2 * LIMIT);
    expect(refused).not.toContain("RATE_LIMITED");

    // Once a replica has taken over, the author still has the budget left after "before".
    for (;;) {
      const reply = await request(socket, "chat:message", { room, text: "after" });
      if ("ok" in reply) break;
      expect(reply.error.code).not.toBe("RATE_LIMITED");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (let n = 2; n < LIMIT; n++) await ok(socket, "chat:message", { room, text: `spare ${n}` });
    const over = await request(socket, "chat:message", { room, text: "one too many" });
    expect("error" in over && over.error.code).toBe("RATE_LIMITED");
  });
});
