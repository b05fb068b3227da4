import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatCluster, type TestCluster, identified, ok, request, tryConnect } from "@clusterkit/test-kit/chat";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startChatCluster(2, { config: { corsOrigins: ["https://workshop.example"] } });
});
afterAll(async () => {
  await cluster.close();
});

const url = (i: number) => cluster.replicas[i]!.url;

describe("operations endpoints", () => {
  it("report health, readiness and per-replica metrics", async () => {
    expect(await (await fetch(`${url(0)}/healthz`)).json()).toEqual({ status: "ok", server: "chat-1" });
    const ready = await fetch(`${url(1)}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", server: "chat-2" });

    const writer = await identified(cluster.client(cluster.replicas[0]!), "counted");
    await ok(writer, "chat:join", { room: "metrics" });
    await ok(writer, "chat:message", { room: "metrics", text: "count me" });
    const metrics = await (await fetch(`${url(0)}/metrics`)).text();
    expect(metrics).toContain('chat_messages_in_total{kind="room",replica="chat-1"} 1');
    expect(metrics).toMatch(/chat_sockets\{replica="chat-1"\} [1-9]/);
    expect(metrics).toContain('chat_rooms{replica="chat-1"} 1');
    const other = await (await fetch(`${url(1)}/metrics`)).text();
    expect(other).not.toContain('replica="chat-1"');
  });
});

describe("CORS", () => {
  const attempt = async (origin: string) =>
    "transport" in (await tryConnect(url(0), { transports: ["websocket"], extraHeaders: { origin } })) ? "connected" : "refused";

  it("lets configured origins and the same origin in, and keeps other sites out, WebSocket included", async () => {
    expect(await attempt("https://workshop.example")).toBe("connected");
    expect(await attempt(url(0))).toBe("connected");
    expect(await attempt("https://evil.example")).toBe("refused");
    const preflight = await fetch(`${url(0)}/api/users`, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
    expect(preflight.status).toBe(403);
    const allowed = await fetch(`${url(0)}/api/users`, { method: "OPTIONS", headers: { origin: "https://workshop.example" } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://workshop.example");
  });
});

describe("readiness", () => {
  it("fails while Redis is unreachable, senders get UNAVAILABLE at once, and both recover with it", async () => {
    const writer = await identified(cluster.client(cluster.replicas[0]!), "during-outage");
    await ok(writer, "chat:join", { room: "outage" });
    await cluster.redis.close({ hard: true });
    const down = await fetch(`${url(0)}/readyz`);
    expect(down.status).toBe(503);
    expect((await fetch(`${url(0)}/healthz`)).status).toBe(200);
    expect(await request(writer, "chat:message", { room: "outage", text: "anyone?" })).toEqual({
      error: { code: "UNAVAILABLE", message: "the chat store is unreachable right now; try again shortly" },
    });
    await cluster.redis.restart(); // empty: tests keep no data
    await expect.poll(async () => (await fetch(`${url(0)}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    await ok(writer, "chat:message", { room: "outage", text: "back" });
  });

  it("survives Redis dying while a broadcast waits for its reply", async () => {
    await expect.poll(async () => (await fetch(`${url(0)}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    const typist = await identified(cluster.client(cluster.replicas[0]!), "typist-crash");
    await ok(typist, "chat:join", { room: "crash-publish" });
    // Hold every reply, so the adapter's publish of the next broadcast is still in flight...
    await cluster.inspect.sendCommand(["CLIENT", "PAUSE", "10000", "ALL"]).catch(() => undefined);
    await ok(typist, "chat:typing", { room: "crash-publish" });
    // ...when Redis dies. Unhandled, that rejection would end the process.
    await cluster.redis.close({ hard: true });
    await cluster.redis.restart();
    await expect.poll(async () => (await fetch(`${url(0)}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    expect((await fetch(`${url(0)}/healthz`)).status).toBe(200);
  });
});
