import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createSendBufferBound, type EngineConnection } from "../src/chat/slow-consumer.js";
import { connectRawSocketIo, type RawSocketIo } from "@clusterkit/test-kit";
import { startChatCluster, type TestCluster, identified, ok, record } from "@clusterkit/test-kit/chat";

const MAX_BUFFERED = 64 * 1024;
let cluster: TestCluster;
let slow: RawSocketIo | undefined;
beforeAll(async () => {
  cluster = await startChatCluster(2, { config: { maxBufferedBytes: MAX_BUFFERED, rateLimit: 100_000 } });
});
afterAll(async () => {
  slow?.close();
  await cluster.close();
});

// ~6 KB on the wire per message (3 bytes per "€"), so the kernel's socket buffers fill quickly.
const BIG = "€".repeat(2000);

describe("a client that stops reading", () => {
  it("is cut off once more than CHAT_MAX_BUFFERED_BYTES wait for it, and the room goes on", async () => {
    const [near, far] = cluster.replicas as [(typeof cluster.replicas)[0], (typeof cluster.replicas)[0]];
    slow = await connectRawSocketIo(near.url);
    expect(await slow.request("chat:identify", { nickname: "sleeper" })).toMatchObject({ ok: true });
    expect(await slow.request("chat:join", { room: "busy" })).toMatchObject({ ok: true });
    const reader = await identified(cluster.client(near), "reader");
    const writer = await identified(cluster.client(far), "writer");
    await ok(reader, "chat:join", { room: "busy" });
    await ok(writer, "chat:join", { room: "busy" });
    const seen = record(reader, "chat:message");
    const presence = record(reader, "chat:presence");
    const cutOff = presence.find((event) => event.nickname === "sleeper" && event.action === "left", 30_000);
    let gone = false;
    void cutOff.then(() => (gone = true));

    // It still answers pings, so the heartbeat alone would keep it forever.
    slow.stopReading({ answerPingsEveryMs: 1_000 });
    const sent: string[] = [];
    while (!gone && sent.length < 5_000) {
      const burst = await Promise.all(Array.from({ length: 20 }, () => ok(writer, "chat:message", { room: "busy", text: BIG })));
      sent.push(...burst.map((reply) => reply.message.id));
    }
    await cutOff;
    expect(sent.length).toBeLessThan(5_000);

    // Everyone else got every message, in order, once.
    const last = (await ok(writer, "chat:message", { room: "busy", text: "after the cut" })).message.id;
    await seen.find((m) => m.id === last);
    expect(seen.items.map((m) => m.id)).toEqual([...sent, last]);
    const metrics = await (await fetch(`${near.url}/metrics`)).text();
    expect(metrics).toMatch(/^chat_slow_consumers_total\{replica="chat-1"\} 1$/m);
  });
});

describe("finding 11.4: the bound counts every packet, the first one too", () => {
  it("a join or a replay bigger than half the bound gets its newest messages that fit, marked truncated, and stays connected", async () => {
    const writer = await identified(cluster.client(cluster.replicas[0]!), "historian");
    await ok(writer, "chat:join", { room: "long-history" });
    const sent: string[] = [];
    // ~240 KB of history, four times the bound.
    for (let i = 0; i < 40; i++) sent.push((await ok(writer, "chat:message", { room: "long-history", text: `${i}${BIG.slice(String(i).length)}` })).message.id);
    const reader = await identified(cluster.client(cluster.replicas[1]!), "late-reader");
    const fresh = await ok(reader, "chat:join", { room: "long-history" });
    const replay = await ok(writer, "chat:join", { room: "long-history", since: sent[0]! });
    for (const reply of [fresh, replay]) {
      expect(reply.messages.length).toBeGreaterThan(0);
      expect(reply.messages.length).toBeLessThan(20);
      expect(reply.messages.map((m) => m.id)).toEqual(sent.slice(-reply.messages.length));
    }
    expect(replay).toMatchObject({ mode: "replay", truncated: true });
    // Still connected: the next message arrives live.
    const seen = record(reader, "chat:message");
    const last = (await ok(writer, "chat:message", { room: "long-history", text: "still here?" })).message.id;
    expect((await seen.find((m) => m.id === last)).text).toBe("still here?");
  });

  it("cuts a fresh connection off instead of queueing one reply bigger than CHAT_MAX_BUFFERED_BYTES", async () => {
    const http = createServer();
    const io = new Server(http);
    const cutOff: number[] = [];
    const bound = createSendBufferBound(16_384, (_conn, waiting) => cutOff.push(waiting));
    io.engine.on("connection", (conn: EngineConnection) => bound.watch(conn));
    // The reply a non-reading socket used to get whole: one packet ten times the bound.
    io.on("connection", (socket) => socket.on("big", (ack: (body: string) => void) => ack("x".repeat(163_840))));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const client = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ["websocket"], reconnection: false });
    try {
      await new Promise<void>((resolve) => client.once("connect", resolve));
      const gone = new Promise<string>((resolve) => client.once("disconnect", resolve));
      let got: string | undefined;
      client.emit("big", (body: string) => (got = body));
      expect(await gone).toBe("transport close");
      expect(got).toBeUndefined();
      expect(cutOff).toHaveLength(1);
      expect(cutOff[0]).toBeGreaterThan(163_840);
    } finally {
      client.disconnect();
      await io.close();
    }
  });
});
