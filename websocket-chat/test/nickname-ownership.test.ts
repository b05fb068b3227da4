import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatCluster, type ChatClient, type TestCluster, connected, identified, ok, record, request } from "@clusterkit/test-kit/chat";

// Two clusters: the default reservation (24 h, never lapses within a test), and none at all.
let cluster: TestCluster;
let unreserved: TestCluster;
beforeAll(async () => {
  [cluster, unreserved] = await Promise.all([
    startChatCluster(2),
    startChatCluster(1, { config: { nicknameReservationMs: 0 } }),
  ]);
});
afterAll(async () => {
  await Promise.all([cluster?.close(), unreserved?.close()]);
});

const replica = (i: number) => cluster.replicas[i]!;
/** The owner's browser key and another browser's. */
const OWNER_KEY = "owner-browser-key-0123456789";
const OTHER_KEY = "another-browser-key-9876543210";

/** A connected client that asks for `nickname` with `sessionKey` and its whole private history. */
async function claim(socket: ChatClient, nickname: string, sessionKey: string) {
  await connected(socket);
  return request(socket, "chat:identify", { nickname, sessionKey, privateSince: "0-0" });
}

/** Gives `nickname` a private message from a friend and waits until the owner has it. */
async function whisperTo(owner: ChatClient, nickname: string, friend: ChatClient, text: string) {
  const inbox = record(owner, "chat:private");
  await ok(friend, "chat:private", { to: nickname, text });
  return (await inbox.find((m) => m.text === text)).id;
}

describe("finding 11.1: private inbox takeover", () => {
  it("refuses another browser's key the nickname after its owner has left, so its inbox stays unread", async () => {
    const ownersReplica = await cluster.startReplica("chat-owner");
    const owner = await identified(cluster.client(ownersReplica), "victim", OWNER_KEY);
    const friend = await identified(cluster.client(replica(0)), "friend");
    await whisperTo(owner, "victim", friend, "the door code is 4711");
    // A graceful close: every socket of the owner is gone and released before it resolves.
    await ownersReplica.close();

    const attacker = cluster.client(replica(1));
    expect(await claim(attacker, "victim", OTHER_KEY)).toEqual({
      error: { code: "NICKNAME_TAKEN", message: "'victim' is already used by someone else" },
    });
    // Nobody answers as the owner either: a message to it is refused, not delivered to a stranger.
    expect(await request(friend, "chat:private", { to: "victim", text: "still there?" })).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("refuses it too after the owner's replica crashed and its lease lapsed", async () => {
    const doomed = await cluster.startReplica("chat-doomed");
    const owner = await identified(cluster.client(doomed), "crashed-owner", OWNER_KEY);
    const watcher = await identified(cluster.client(replica(0)), "watcher");
    await ok(owner, "chat:join", { room: "crash-watch" });
    await ok(watcher, "chat:join", { room: "crash-watch" });
    const presence = record(watcher, "chat:presence");
    await whisperTo(owner, "crashed-owner", watcher, "crash secret");
    await doomed.kill();
    // The lease has lapsed and another replica has cleaned up after the dead one.
    await presence.find((e) => e.action === "left" && e.nickname === "crashed-owner", 15_000);

    expect(await claim(cluster.client(replica(1)), "crashed-owner", OTHER_KEY)).toMatchObject({ error: { code: "NICKNAME_TAKEN" } });
  });

  it("gives the owner's key its nickname and private history back: another tab, a reload, after its replica died", async () => {
    const ownersReplica = await cluster.startReplica("chat-reloaded");
    const friend = await identified(cluster.client(replica(0)), "friend-of-honest");
    const tab = cluster.client(replica(0));
    expect(await claim(tab, "honest", OWNER_KEY)).toMatchObject({ ok: true, nickname: "honest", privates: [] });
    const first = await whisperTo(tab, "honest", friend, "first");

    // Another tab of the same browser, on another replica.
    const secondTab = cluster.client(ownersReplica);
    expect(await claim(secondTab, "honest", OWNER_KEY)).toMatchObject({ ok: true, privates: [{ id: first, text: "first" }] });
    // Both tabs gone (a reload), then the page again.
    tab.disconnect();
    secondTab.disconnect();
    const reloaded = cluster.client(replica(1));
    expect(await claim(reloaded, "honest", OWNER_KEY)).toMatchObject({ ok: true, privates: [{ id: first, text: "first" }] });
    const second = await whisperTo(reloaded, "honest", friend, "second");
    reloaded.disconnect();

    // Its replica dies under it; it comes back at once through another one, lease or not.
    const onDoomed = cluster.client(ownersReplica);
    await claim(onDoomed, "honest", OWNER_KEY);
    await ownersReplica.kill();
    const back = cluster.client(replica(1));
    const reply = await claim(back, "honest", OWNER_KEY);
    expect(reply).toMatchObject({ ok: true, nickname: "honest" });
    expect("ok" in reply && reply.privates.map((m) => m.id)).toEqual([first, second]);
  });

  it("keeps only a hash of the session key in Redis, never the key itself", async () => {
    const key = "a-browser-key-that-must-never-be-stored";
    await identified(cluster.client(replica(0)), "hashed", key);
    const dump: string[] = [];
    for await (const name of cluster.inspect.scanIterator({ MATCH: "*", COUNT: 500 })) {
      const type = await cluster.inspect.type(name);
      if (type === "hash") dump.push(name, JSON.stringify(await cluster.inspect.hGetAll(name)));
      else if (type === "set") dump.push(name, ...(await cluster.inspect.sMembers(name)));
      else if (type === "string") dump.push(name, (await cluster.inspect.get(name)) ?? "");
      else if (type === "zset") dump.push(name, ...(await cluster.inspect.zRange(name, 0, -1)));
      else if (type === "stream") dump.push(name, JSON.stringify(await cluster.inspect.xRange(name, "-", "+")));
      else dump.push(name);
    }
    expect(dump.join("\n")).toContain("hashed");
    expect(dump.join("\n")).not.toContain(key);
  });
});

describe("finding 11.1: a nickname whose reservation has ended", () => {
  it("goes to the next key with an empty inbox that never shows the earlier holder's messages", async () => {
    const ownersReplica = await unreserved.startReplica("chat-short-lived");
    const owner = await identified(unreserved.client(ownersReplica), "passing", OWNER_KEY);
    const friend = await identified(unreserved.client(unreserved.replicas[0]!), "passing-friend");
    const earlier = await whisperTo(owner, "passing", friend, "for the first holder only");
    await ownersReplica.close();

    const next = unreserved.client(unreserved.replicas[0]!);
    expect(await claim(next, "passing", OTHER_KEY)).toMatchObject({ ok: true, nickname: "passing", privates: [] });
    // Not even another tab that sends the earlier holder's position.
    const tab = unreserved.client(unreserved.replicas[0]!);
    await connected(tab);
    const again = await request(tab, "chat:identify", { nickname: "passing", sessionKey: OTHER_KEY, privateSince: earlier });
    expect(again).toMatchObject({ ok: true, privates: [] });
    await whisperTo(next, "passing", friend, "for the new holder");
  });
});

describe("finding 11.9a: confusable nicknames", () => {
  it("gives every spelling that folds to one name (case, fullwidth, Cyrillic look-alikes) one owner", async () => {
    const alice = await identified(cluster.client(replica(0)), "Alice", OWNER_KEY);
    const other = cluster.client(replica(1));
    await connected(other);
    for (const nickname of ["alice", "ALICE", "ａｌｉｃｅ"]) {
      expect(await request(other, "chat:identify", { nickname, sessionKey: OTHER_KEY }), nickname).toMatchObject({
        error: { code: "NICKNAME_TAKEN" },
      });
    }
    // A whole-Cyrillic look-alike of a Latin name ("сосо" is four Cyrillic letters).
    await identified(cluster.client(replica(0)), "coco", OWNER_KEY);
    expect(await request(other, "chat:identify", { nickname: "сосо", sessionKey: OTHER_KEY })).toMatchObject({ error: { code: "NICKNAME_TAKEN" } });

    // The owner may type it any way: it keeps the spelling it chose first, and its inbox.
    const tab = cluster.client(replica(1));
    expect(await claim(tab, "ａｌｉｃｅ", OWNER_KEY)).toMatchObject({ ok: true, nickname: "Alice" });
    const friend = await identified(cluster.client(replica(1)), "alices-friend");
    const inboxes = [alice, tab].map((socket) => record(socket, "chat:private"));
    const sent = await ok(friend, "chat:private", { to: "ALICE", text: "one inbox" });
    expect(sent.message.to).toBe("Alice");
    for (const inbox of inboxes) expect((await inbox.until(1))[0]).toMatchObject({ to: "Alice", text: "one inbox" });
  });

  it("refuses a name that mixes scripts, and accepts names written in one", async () => {
    const socket = cluster.client(replica(0));
    await connected(socket);
    // "аlice": its first letter is Cyrillic.
    for (const nickname of ["аlice", "pаypal", "Αlpha"]) {
      expect(await request(socket, "chat:identify", { nickname, sessionKey: OTHER_KEY }), nickname).toEqual({
        error: { code: "INVALID_ARGUMENT", message: "nickname: letters of one script only (no Latin mixed with Cyrillic or Greek)" },
      });
    }
    expect(await request(socket, "chat:private", { to: "аlice", text: "hi" })).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
    for (const nickname of ["Ольга", "José", "山田たろう", "Σωκράτης", "user_42"]) {
      const tab = cluster.client(replica(1));
      expect(await claim(tab, nickname, OTHER_KEY), nickname).toMatchObject({ ok: true, nickname });
    }
  });
});
