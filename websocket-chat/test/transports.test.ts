import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManagerOptions, SocketOptions } from "socket.io-client";
import { startChatCluster, type TestCluster, identified, ok, record, tryConnect } from "@clusterkit/test-kit/chat";

// CHAT_TRANSPORTS=websocket: the replica refuses long-polling, so clients must open a WebSocket first.
let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startChatCluster(1, { config: { transports: ["websocket"] } });
});
afterAll(async () => {
  await cluster.close();
});

const attempt = async (options: Partial<ManagerOptions & SocketOptions>) => {
  const outcome = await tryConnect(cluster.replicas[0]!.url, options);
  return "transport" in outcome ? `connected over ${outcome.transport}` : `refused: ${outcome.refused}`;
};

describe("a websocket-only replica", () => {
  it("refuses clients that start with long-polling and accepts WebSocket-first ones, the kit's page settings included", async () => {
    expect(await attempt({ transports: ["polling"] })).toMatch(/^refused/);
    expect(await attempt({})).toMatch(/^refused/); // socket.io-client's default starts with polling, like the handout's page
    expect(await attempt({ transports: ["websocket"] })).toBe("connected over websocket");
    expect(await attempt({ transports: ["websocket", "polling"], tryAllTransports: true })).toBe("connected over websocket");
  });

  it("serves rooms as usual", async () => {
    const replica = cluster.replicas[0]!;
    const [alice, bob] = await Promise.all([identified(cluster.client(replica), "alice-ws"), identified(cluster.client(replica), "bob-ws")]);
    await ok(alice, "chat:join", { room: "ws-only" });
    await ok(bob, "chat:join", { room: "ws-only" });
    const heard = record(bob, "chat:message");
    await ok(alice, "chat:message", { room: "ws-only", text: "no polling here" });
    const [message] = await heard.until(1);
    expect(message!.text).toBe("no polling here");
  });
});
