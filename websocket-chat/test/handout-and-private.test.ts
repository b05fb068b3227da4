import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatCluster, type TestCluster, connected, identified, ok, record, request } from "@clusterkit/test-kit/chat";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startChatCluster(3);
});
afterAll(async () => {
  await cluster.close();
});

const replica = (i: number) => cluster.replicas[i]!;

describe("the handout's protocol", () => {
  it("works unchanged across replicas: join_room, then message in and message out", async () => {
    // Exactly what the handout's HTML page does: no identify, no acks.
    const pageA = cluster.client(replica(0));
    const pageB = cluster.client(replica(2));
    await Promise.all([connected(pageA), connected(pageB)]);
    pageA.emit("join_room", "general");
    pageB.emit("join_room", "general");
    const inboxA = record(pageA, "message");
    const inboxB = record(pageB, "message");
    // join_room has no ack; a kit client's join on the same socket order proves it was handled.
    await request(pageB, "chat:join", { room: "general" });

    pageA.emit("message", { room: "general", message: "hola desde el handout" });

    for (const inbox of [inboxA, inboxB]) {
      const [message] = await inbox.until(1);
      expect(Object.keys(message ?? {}).sort()).toEqual(["message", "server", "timestamp", "user"]);
      expect(message).toMatchObject({ user: pageA.id, message: "hola desde el handout", server: "chat-1" });
      expect(new Date(message?.timestamp ?? "").toISOString()).toBe(message?.timestamp);
    }
  });

  it("shares rooms with the kit's clients, both ways", async () => {
    const page = cluster.client(replica(1));
    await connected(page);
    page.emit("join_room", "mixed");
    const kit = await identified(cluster.client(replica(0)), "kituser");
    await ok(kit, "chat:join", { room: "mixed" });
    const pageInbox = record(page, "message");
    const kitInbox = record(kit, "chat:message");

    await ok(kit, "chat:message", { room: "mixed", text: "from the kit" });
    expect((await pageInbox.until(1))[0]).toMatchObject({ user: "kituser", message: "from the kit", server: "chat-1" });

    page.emit("message", { room: "mixed", message: "from the handout page" });
    const seen = await kitInbox.find((m) => m.text === "from the handout page");
    expect(seen).toMatchObject({ user: page.id, server: "chat-2", room: "mixed" });
  });
});

describe("private messages", () => {
  it("reach a user whose two tabs are on two other replicas, and the sender's tabs", async () => {
    const sender = await identified(cluster.client(replica(0)), "sender");
    const tab1 = await identified(cluster.client(replica(1)), "target", "target-browser-session");
    const tab2 = await identified(cluster.client(replica(2)), "target", "target-browser-session");
    const bystander = await identified(cluster.client(replica(1)), "bystander");
    const [in1, in2, echo, stray] = [tab1, tab2, sender, bystander].map((s) => record(s, "chat:private"));

    const sent = await ok(sender, "chat:private", { to: "target", text: "just for you" });

    expect(sent.message).toMatchObject({ from: "sender", to: "target", text: "just for you", server: "chat-1" });
    expect((await echo!.until(1))[0]).toEqual(sent.message);
    // The recipient's copy has its own id, the same in both of its tabs.
    const [copy1] = await in1!.until(1);
    const [copy2] = await in2!.until(1);
    expect(copy1).toEqual({ ...sent.message, id: expect.stringMatching(/^\d+-\d+$/) as unknown });
    expect(copy2).toEqual(copy1);
    // A room message afterwards proves the bystander's socket was live and still got nothing private.
    await ok(bystander, "chat:join", { room: "after-private" });
    await ok(sender, "chat:join", { room: "after-private" });
    const bystanderRoom = record(bystander, "chat:message");
    await ok(sender, "chat:message", { room: "after-private", text: "now public" });
    await bystanderRoom.until(1);
    expect(stray!.items).toEqual([]);
  });

  it("missed during a reconnect are handed over on identify, exactly once", async () => {
    const sender = await identified(cluster.client(replica(0)), "dm-sender");
    // Another tab keeps the reader online while the first one is away.
    await identified(cluster.client(replica(0)), "dm-reader", "dm-reader-browser-key");
    const first = cluster.client(replica(1));
    await connected(first);
    const start = await ok(first, "chat:identify", { nickname: "dm-reader", sessionKey: "dm-reader-browser-key" });
    expect(start.privates).toEqual([]);
    const live = record(first, "chat:private");
    await ok(sender, "chat:private", { to: "dm-reader", text: "one" });
    const [one] = await live.until(1);
    const gone = new Promise((resolve) => first.once("disconnect", resolve));
    first.io.engine.close();
    await gone;
    await ok(sender, "chat:private", { to: "dm-reader", text: "two" });

    const back = cluster.client(replica(2));
    await connected(back);
    const backLive = record(back, "chat:private");
    const resumed = ok(back, "chat:identify", { nickname: "dm-reader", sessionKey: "dm-reader-browser-key", privateSince: one!.id });
    await ok(sender, "chat:private", { to: "dm-reader", text: "three" }); // races the inbox read
    const reply = await resumed;
    await ok(sender, "chat:private", { to: "dm-reader", text: "four" });
    await backLive.find((m) => m.text === "four");
    expect([...reply.privates, ...backLive.items].map((m) => m.text)).toEqual(["two", "three", "four"]);
  });

  it("are refused for a nickname nobody uses", async () => {
    const sender = await identified(cluster.client(replica(2)), "lonely");
    expect(await request(sender, "chat:private", { to: "nobody-here", text: "hello?" })).toEqual({
      error: { code: "NOT_FOUND", message: "'nobody-here' is not connected" },
    });
  });
});

describe("typing hints", () => {
  it("reach the others in the room, on other replicas, and nobody outside it", async () => {
    const typist = await identified(cluster.client(replica(0)), "typist");
    const reader = await identified(cluster.client(replica(2)), "typing-reader");
    for (const socket of [typist, reader]) await ok(socket, "chat:join", { room: "typing" });
    const hints = record(reader, "chat:typing");
    await ok(typist, "chat:typing", { room: "typing" });
    expect((await hints.until(1))[0]).toEqual({ room: "typing", nickname: "typist" });
    expect(await request(reader, "chat:typing", { room: "not-joined" })).toMatchObject({ error: { code: "PERMISSION_DENIED" } });
  });
});
