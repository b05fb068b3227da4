import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatSession, type ConnectionState, type KeyValueStore } from "../web/src/session.js";
import { startChatCluster, type TestCluster, identified, ok } from "@clusterkit/test-kit/chat";

// The page's own connection logic (web/src/session.ts), run in Node against real replicas.
let cluster: TestCluster;
const sessions: ChatSession[] = [];
beforeAll(async () => {
  cluster = await startChatCluster(2);
});
afterAll(async () => {
  for (const session of sessions) session.socket.disconnect();
  await cluster.close();
});

function memoryStore(): KeyValueStore {
  const data = new Map<string, string>();
  return { getItem: (key) => data.get(key) ?? null, setItem: (key, value) => void data.set(key, value) };
}

function states(session: ChatSession) {
  const seen: ConnectionState[] = [];
  const waiters: { match: (s: ConnectionState) => boolean; resolve: (s: ConnectionState) => void }[] = [];
  session.on("state", (state) => {
    seen.push(state);
    for (const waiter of [...waiters]) {
      if (!waiter.match(state)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(state);
    }
  });
  return {
    next: (match: (s: ConnectionState) => boolean) =>
      new Promise<ConnectionState>((resolve) => waiters.push({ match, resolve })),
  };
}

describe("the page's session", () => {
  it("reconnects by itself after a drop and shows exactly the messages it missed, once", async () => {
    const storage = memoryStore(); // one browser: both tabs share its key
    const session = new ChatSession({ url: cluster.replicas[1]!.url, storage });
    const otherTab = new ChatSession({ url: cluster.replicas[0]!.url, storage });
    sessions.push(session, otherTab);
    const privates: string[] = [];
    session.on("private", (message) => privates.push(message.text));
    const watch = states(session);
    session.connect();
    await watch.next((s) => s.kind === "connected");
    await session.identify("page-user");
    await session.join("page-room");
    otherTab.connect();
    await new Promise<void>((resolve) => otherTab.socket.once("connect", () => resolve()));
    await otherTab.identify("page-user"); // keeps page-user online while the first tab is away
    const writer = await identified(cluster.client(cluster.replicas[0]!), "page-writer");
    await ok(writer, "chat:join", { room: "page-room" });
    await ok(writer, "chat:message", { room: "page-room", text: "one" });
    const room = session.rooms.get("page-room")!;
    const arrived = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => (room.messages.some((m) => m.text === text) ? resolve() : undefined);
        session.on("message", check);
        check();
      });
    await arrived("one");

    const recovered = watch.next((s) => s.kind === "recovered");
    const dropped = watch.next((s) => s.kind === "reconnecting");
    session.socket.io.engine.close(); // the network blinks
    await dropped;
    for (const text of ["two", "three"]) await ok(writer, "chat:message", { room: "page-room", text });
    await ok(writer, "chat:private", { to: "page-user", text: "psst" });

    expect(await recovered).toMatchObject({ kind: "recovered", count: 2, server: "chat-2" });
    await ok(writer, "chat:message", { room: "page-room", text: "four" });
    await arrived("four");
    expect(room.messages.map((m) => m.text)).toEqual(["one", "two", "three", "four"]);
    await ok(writer, "chat:private", { to: "page-user", text: "again" });
    await new Promise<void>((resolve) => {
      const check = () => (privates.includes("again") ? resolve() : undefined);
      session.on("private", check);
      check();
    });
    expect(privates).toEqual(["psst", "again"]);
  });
});
