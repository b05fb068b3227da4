import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatProcess, type ChatProcess, startChatCluster, type ChatClient, type TestCluster, identified, ok, record } from "@clusterkit/test-kit/chat";
import { io } from "socket.io-client";

const TTL_MS = 1_500;
let cluster: TestCluster;
const processes: ChatProcess[] = [];

beforeAll(async () => {
  cluster = await startChatCluster(1, { config: { presenceTtlMs: TTL_MS } });
});
afterAll(async () => {
  for (const { child } of processes) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await cluster.close();
});

async function spawnReplica(serverId: string) {
  const proc = await startChatProcess({
    REDIS_URL: cluster.redis.url,
    SERVER_ID: serverId,
    CHAT_PRESENCE_TTL_MS: String(TTL_MS),
    SHUTDOWN_TIMEOUT_MS: "2000",
    USERS_TARGET: "127.0.0.1:9", // nothing there: the chat must run without the user service
  });
  processes.push(proc);
  return proc;
}

function clientOf(url: string): ChatClient {
  return io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
}

describe("a replica process (src/main.ts)", () => {
  it("killed with SIGKILL: its members vanish within the lease and its clients resume elsewhere", async () => {
    const proc = await spawnReplica("chat-sigkill");
    const watcher = await identified(cluster.client(cluster.replicas[0]!), "watcher-k");
    await ok(watcher, "chat:join", { room: "sigkill" });
    const victim = await identified(clientOf(proc.url), "victim-k", "victim-k-browser-key");
    await ok(victim, "chat:join", { room: "sigkill" });
    const seen = record(victim, "chat:message");
    await ok(watcher, "chat:message", { room: "sigkill", text: "before" });
    const lastId = (await seen.until(1))[0]!.id;
    const presence = record(watcher, "chat:presence");

    const killedAt = Date.now();
    proc.child.kill("SIGKILL");
    expect(await proc.exited).toBe("SIGKILL");
    await ok(watcher, "chat:message", { room: "sigkill", text: "while down" });
    const left = await presence.find((e) => e.nickname === "victim-k" && e.action === "left", 15_000);
    expect(left.members).toEqual(["watcher-k"]);
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    const back = await identified(cluster.client(cluster.replicas[0]!), "victim-k", "victim-k-browser-key");
    const resumed = await ok(back, "chat:join", { room: "sigkill", since: lastId });
    expect(resumed.messages.map((m) => m.text)).toEqual(["while down"]);
    victim.disconnect();
  });

  it("on SIGTERM: drops its sockets so clients reconnect, removes its members at once, exits 0 in time", async () => {
    const proc = await spawnReplica("chat-sigterm");
    const watcher = await identified(cluster.client(cluster.replicas[0]!), "watcher-t");
    await ok(watcher, "chat:join", { room: "sigterm" });
    const leaving = await identified(clientOf(proc.url), "leaving-t");
    await ok(leaving, "chat:join", { room: "sigterm" });
    const presence = record(watcher, "chat:presence");
    const reason = new Promise<string>((resolve) => leaving.once("disconnect", resolve));

    const startedAt = Date.now();
    proc.child.kill("SIGTERM");
    // "transport close" is a reason Socket.IO clients reconnect after (unlike "io server disconnect").
    expect(await reason).toBe("transport close");
    expect(await proc.exited).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    const left = await presence.find((e) => e.nickname === "leaving-t" && e.action === "left");
    expect(left.members).toEqual(["watcher-t"]);
  });
});
