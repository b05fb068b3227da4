import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatCluster, type TestCluster, connected, identified, ok, record, request } from "@clusterkit/test-kit/chat";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startChatCluster(3, { config: { historySize: 5 } });
});
afterAll(async () => {
  await cluster.close();
});

const replica = (i: number) => cluster.replicas[i]!;

describe("room messages", () => {
  it("reach every member of the room on every replica, with the sender's replica and an id", async () => {
    const [ana, ben, cai] = await Promise.all([
      identified(cluster.client(replica(0)), "ana"),
      identified(cluster.client(replica(1)), "ben"),
      identified(cluster.client(replica(2)), "cai"),
    ]);
    for (const socket of [ana, ben, cai]) await ok(socket, "chat:join", { room: "lobby" });
    const outsider = await identified(cluster.client(replica(1)), "dee");
    await ok(outsider, "chat:join", { room: "elsewhere" });
    const outsiderSaw = record(outsider, "chat:message");
    const received = [ana, ben, cai].map((socket) => record(socket, "chat:message"));

    const sent = await ok(ben, "chat:message", { room: "lobby", text: "hello from the middle" });

    for (const inbox of received) {
      const [message] = await inbox.until(1);
      expect(message).toEqual(sent.message);
      expect(message).toMatchObject({ room: "lobby", user: "ben", server: "chat-2", text: "hello from the middle" });
      expect(message?.id).toMatch(/^\d+-\d+$/);
    }
    // The outsider is in another room: a message there arrives, the lobby's never did.
    const other = await ok(ana, "chat:join", { room: "elsewhere" });
    await ok(ana, "chat:message", { room: "elsewhere", text: "over here" });
    const [first] = await outsiderSaw.until(1);
    expect(first?.text).toBe("over here");
    expect(other.members).toEqual(["ana", "dee"]);
  });

  it("keep the order they were stored in, for every receiver", async () => {
    const writers = await Promise.all([0, 1, 2].map((i) => identified(cluster.client(replica(i)), `w${i}x`)));
    const reader = await identified(cluster.client(replica(1)), "reader");
    for (const socket of [...writers, reader]) await ok(socket, "chat:join", { room: "race" });
    const inbox = record(reader, "chat:message");
    const acks = await Promise.all(
      writers.flatMap((socket, w) => [0, 1, 2, 3].map((n) => ok(socket, "chat:message", { room: "race", text: `${w}.${n}` }))),
    );
    const got = await inbox.until(12);
    const ids = got.map((message) => message.id);
    expect(new Set(ids).size).toBe(12);
    expect(ids).toEqual([...ids].sort(compareIds));
    expect(new Set(acks.map((a) => a.message.id))).toEqual(new Set(ids));
  });
});

describe("joining a busy room", () => {
  it("meets history and live messages at one id, on every replica: none missing, none twice, in order", async () => {
    const writers = await Promise.all([0, 2].map((i) => identified(cluster.client(replica(i)), `busy-w${i}`)));
    for (const writer of writers) await ok(writer, "chat:join", { room: "busy" });
    for (let n = 0; n < 5; n++) await ok(writers[0]!, "chat:message", { room: "busy", text: `warm-up ${n}` });
    // Joins land while messages stream in: some sockets read history that pub/sub has not
    // dispatched yet, some buffer messages their history already holds.
    const writing = Promise.all(
      writers.map(async (writer, w) => {
        for (let n = 0; n < 40; n++) await ok(writer, "chat:message", { room: "busy", text: `${w}.${n}` });
      }),
    );
    const readers = [];
    for (let r = 0; r < 9; r++) {
      const socket = await identified(cluster.client(replica(r % 3)), `busy-r${r}`);
      const live = record(socket, "chat:message");
      const joined = await ok(socket, "chat:join", { room: "busy" });
      readers.push({ live, history: joined.messages.map((message) => message.id) });
    }
    await writing;
    const last = await ok(writers[1]!, "chat:message", { room: "busy", text: "done" });
    const stream = (await cluster.inspect.xRange("chat:room:{busy}:log", "-", "+")).map((entry) => entry.id);
    for (const reader of readers) {
      await reader.live.find((message) => message.id === last.message.id);
      const ids = [...reader.history, ...reader.live.items.map((message) => message.id)];
      expect(ids).toEqual(stream.slice(stream.indexOf(ids[0]!)));
    }
  });
});

describe("history", () => {
  it("gives a newcomer the room's last messages, oldest first", async () => {
    const writer = await identified(cluster.client(replica(0)), "scribe");
    await ok(writer, "chat:join", { room: "archive" });
    for (let n = 1; n <= 7; n++) await ok(writer, "chat:message", { room: "archive", text: `line ${n}` });

    const late = await identified(cluster.client(replica(2)), "latecomer");
    const joined = await ok(late, "chat:join", { room: "archive" });
    expect(joined.mode).toBe("history");
    expect(joined.messages.map((m) => m.text)).toEqual(["line 3", "line 4", "line 5", "line 6", "line 7"]);
    expect(joined.messages.every((m) => m.server === "chat-1" && m.user === "scribe")).toBe(true);
  });
});

describe("members and presence", () => {
  it("are the same list on every replica, and each change is announced to the room", async () => {
    const first = await identified(cluster.client(replica(0)), "p1");
    await ok(first, "chat:join", { room: "plaza" });
    const announcements = record(first, "chat:presence");
    const second = await identified(cluster.client(replica(1)), "p2");
    const joined = await ok(second, "chat:join", { room: "plaza" });
    expect(joined.members).toEqual(["p1", "p2"]);
    const third = await identified(cluster.client(replica(2)), "p3");
    expect((await ok(third, "chat:join", { room: "plaza" })).members).toEqual(["p1", "p2", "p3"]);

    await announcements.until(2);
    expect(announcements.items.map((e) => [e.action, e.nickname])).toEqual([
      ["joined", "p2"],
      ["joined", "p3"],
    ]);
    expect(announcements.items[1]?.members).toEqual(["p1", "p2", "p3"]);

    await ok(second, "chat:leave", { room: "plaza" });
    const left = await announcements.find((e) => e.action === "left");
    expect(left).toMatchObject({ nickname: "p2", members: ["p1", "p3"] });
  });

  it("count a user with two tabs once, and announce the leave only when the last tab goes", async () => {
    const watcher = await identified(cluster.client(replica(0)), "watcher");
    await ok(watcher, "chat:join", { room: "tabs" });
    const events = record(watcher, "chat:presence");
    const tabA = await identified(cluster.client(replica(1)), "twotabs", "key-of-twotabs-browser");
    const tabB = await identified(cluster.client(replica(2)), "twotabs", "key-of-twotabs-browser");
    await ok(tabA, "chat:join", { room: "tabs" });
    expect((await ok(tabB, "chat:join", { room: "tabs" })).members).toEqual(["twotabs", "watcher"]);
    tabA.disconnect();
    await ok(tabB, "chat:leave", { room: "tabs" });
    await events.find((e) => e.action === "left");
    expect(events.items.map((e) => e.action)).toEqual(["joined", "left"]);
  });
});

describe("nicknames", () => {
  it("are unique across the cluster but shared by the tabs of one browser", async () => {
    await identified(cluster.client(replica(0)), "unique", "first-browser-key-0001");
    const impostor = cluster.client(replica(2));
    await connected(impostor);
    const refused = await request(impostor, "chat:identify", { nickname: "unique", sessionKey: "other-browser-key-0002" });
    expect(refused).toEqual({ error: { code: "NICKNAME_TAKEN", message: "'unique' is already used by someone else" } });
    const secondTab = cluster.client(replica(1));
    await connected(secondTab);
    expect(await request(secondTab, "chat:identify", { nickname: "unique", sessionKey: "first-browser-key-0001" })).toMatchObject({
      ok: true,
      nickname: "unique",
    });
  });
});

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
