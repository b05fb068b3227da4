import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorBody } from "../src/contracts/events.js";
import { startChatCluster, type TestCluster, connected, identified, joined, ok, record, request } from "@clusterkit/test-kit/chat";

/** Budgets small enough to exhaust in a test; a window long enough never to reset during one. */
const LIMITS = { joinRateLimit: 8, typingRateLimit: 3, replayRateLimit: 2_000, roomsPerUser: 4, rateWindowMs: 60_000 };
const IDLE_TTL_MS = 600;

let tight: TestCluster;
let brief: TestCluster;
beforeAll(async () => {
  [tight, brief] = await Promise.all([
    startChatCluster(2, { config: LIMITS }),
    startChatCluster(1, { config: { roomIdleTtlMs: IDLE_TTL_MS } }),
  ]);
});
afterAll(async () => {
  await Promise.all([tight?.close(), brief?.close()]);
});

/** Polls `check` until it holds: for state that changes on Redis's own clock (expiry, cleanup). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const rateLimited = (what: RegExp) => ({
  error: { code: "RATE_LIMITED", message: expect.stringMatching(what) as unknown, retryAfterMs: expect.any(Number) as number },
});

describe("finding 11.7: unbounded Redis growth", () => {
  it("prunes the instance's room set on leave and its nickname set on the last disconnect", async () => {
    const replica = tight.replicas[0]!;
    const roomsKey = `chat:instance:{${replica.server.instance}}:rooms`;
    const nicksKey = `chat:instance:{${replica.server.instance}}:nicks`;
    const tabA = await identified(tight.client(replica), "pruned", "pruned-browser-key-01");
    const tabB = await identified(tight.client(replica), "pruned", "pruned-browser-key-01");
    await ok(tabA, "chat:join", { room: "prune-a" });
    await ok(tabA, "chat:join", { room: "prune-b" });
    await ok(tabB, "chat:join", { room: "prune-b" });
    expect((await tight.inspect.sMembers(roomsKey)).sort()).toEqual(["prune-a", "prune-b"]);

    await ok(tabA, "chat:leave", { room: "prune-a" });
    await ok(tabA, "chat:leave", { room: "prune-b" });
    // tabB still holds prune-b here.
    expect(await tight.inspect.sMembers(roomsKey)).toEqual(["prune-b"]);
    await ok(tabB, "chat:leave", { room: "prune-b" });
    expect(await tight.inspect.sMembers(roomsKey)).toEqual([]);

    expect(await tight.inspect.sIsMember(nicksKey, "pruned")).toBe(true);
    tabA.disconnect();
    tabB.disconnect();
    await eventually("the nickname leaves the instance's set", async () => !(await tight.inspect.sIsMember(nicksKey, "pruned")));
  });

  it("lets an idle room's stream and a private inbox expire, and renews them on each message or join", async () => {
    const replica = brief.replicas[0]!;
    const writer = await identified(brief.client(replica), "idler");
    const reader = await identified(brief.client(replica), "reader");
    await ok(writer, "chat:join", { room: "idle" });
    await ok(writer, "chat:message", { room: "idle", text: "anyone?" });
    await ok(writer, "chat:private", { to: "reader", text: "psst" });
    const ttl = await brief.inspect.pTTL("chat:room:{idle}:log");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(IDLE_TTL_MS);
    await eventually("the idle room's stream expires", async () => (await brief.inspect.exists("chat:room:{idle}:log")) === 0);
    await eventually("both inboxes expire", async () => (await brief.inspect.exists(["chat:room:{@reader}:log", "chat:room:{@idler}:log"])) === 0);

    // A join keeps a room with history alive for another idle TTL.
    await ok(writer, "chat:message", { room: "idle", text: "back again" });
    await brief.inspect.pExpire("chat:room:{idle}:log", 60_000);
    await ok(reader, "chat:join", { room: "idle" });
    expect(await brief.inspect.pTTL("chat:room:{idle}:log")).toBeLessThanOrEqual(IDLE_TTL_MS);
  });

  it("refuses a join flood (either dialect) and a subscribe flood with RATE_LIMITED", async () => {
    const joiner = await identified(tight.client(tight.replicas[1]!), "joiner");
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push(await request(joiner, "chat:join", { room: "revolving" }));
    expect(replies.slice(0, LIMITS.joinRateLimit).every((r) => "ok" in r)).toBe(true);
    expect(replies.slice(LIMITS.joinRateLimit)).toEqual([rateLimited(/too many joins/), rateLimited(/too many joins/)]);
    expect(await request(joiner, "users:subscribe", {})).toMatchObject(rateLimited(/too many joins/));

    // The handout's page has no acks: its refusals come as chat:error.
    const page = tight.client(tight.replicas[0]!);
    await connected(page);
    const errors = record(page, "chat:error");
    for (let i = 0; i < 10; i++) page.emit("join_room", `handout-${i}`);
    const refused = await errors.until(2);
    expect(refused.map((e) => e.code)).toEqual(["RATE_LIMITED", "RATE_LIMITED"]);
    expect(refused[0]).toMatchObject({ event: "join_room", message: expect.stringMatching(/too many joins/) as unknown });
  });

  it("refuses a typing flood with RATE_LIMITED and relays only the hints within the budget", async () => {
    const typist = await joined(tight.client(tight.replicas[0]!), "typist", "keys");
    const watcher = await joined(tight.client(tight.replicas[1]!), "watcher", "keys");
    const hints = record(watcher, "chat:typing");
    const replies = await Promise.all(Array.from({ length: 10 }, () => request(typist, "chat:typing", { room: "keys" })));
    expect(replies.filter((r) => "ok" in r)).toHaveLength(LIMITS.typingRateLimit);
    expect(replies.filter((r) => !("ok" in r))).toEqual(Array(10 - LIMITS.typingRateLimit).fill(rateLimited(/too many typing hints/)));
    // The watcher's next message proves every hint sent before it has arrived (hints are
    // volatile: one may be dropped, none beyond the budget may arrive).
    const said = record(watcher, "chat:message");
    await ok(typist, "chat:message", { room: "keys", text: "done typing" });
    await said.until(1);
    expect(hints.items.length).toBeLessThanOrEqual(LIMITS.typingRateLimit);
  });

  it("refuses joins once the messages they sent back (a forged `since`) spend the replay budget", async () => {
    const author = await identified(tight.client(tight.replicas[0]!), "author");
    await ok(author, "chat:join", { room: "archive" });
    for (let i = 0; i < 15; i++) await ok(author, "chat:message", { room: "archive", text: `entry ${i}` });

    const replayer = await identified(tight.client(tight.replicas[1]!), "replayer");
    const first = await ok(replayer, "chat:join", { room: "archive", since: "0-0" });
    expect(first.messages).toHaveLength(15);
    await ok(replayer, "chat:leave", { room: "archive" });
    // 15 × (7 + 100) = 1605 of 2000 spent: one more replay is let through (and overdraws), the next is refused.
    expect((await ok(replayer, "chat:join", { room: "archive", since: "1-0" })).messages).toHaveLength(15);
    await ok(replayer, "chat:leave", { room: "archive" });
    const refused = (await request(replayer, "chat:join", { room: "archive", since: "0-0" })) as { error: ErrorBody };
    expect(refused).toMatchObject(rateLimited(/too many characters replayed/));
    expect(refused.error.retryAfterMs).toBeGreaterThan(0);
  });

  it("refuses one user more different rooms than the cap, across tabs and replicas", async () => {
    const tabA = await identified(tight.client(tight.replicas[0]!), "nomad", "nomad-browser-key-001");
    const tabB = await identified(tight.client(tight.replicas[1]!), "nomad", "nomad-browser-key-001");
    for (let n = 1; n <= LIMITS.roomsPerUser; n++) {
      await ok(tabA, "chat:join", { room: `camp-${n}` });
      await ok(tabA, "chat:leave", { room: `camp-${n}` });
    }
    expect(await request(tabA, "chat:join", { room: "camp-new" })).toMatchObject(rateLimited(/different rooms/));
    expect(await request(tabB, "chat:join", { room: "camp-new" })).toMatchObject(rateLimited(/different rooms/));
    // A room it was in lately is still open to it.
    await ok(tabB, "chat:join", { room: "camp-1" });
    expect(await tight.inspect.exists("chat:room:{camp-new}:members")).toBe(0);
  });
});

describe("finding 11.9: a handout message to a room the socket never joined", () => {
  it("is refused with PERMISSION_DENIED on chat:error and stores nothing", async () => {
    const page = tight.client(tight.replicas[0]!);
    await connected(page);
    const errors = record(page, "chat:error");
    page.emit("message", { room: "never-joined", message: "sneaking in" });
    expect((await errors.until(1))[0]).toEqual({
      code: "PERMISSION_DENIED",
      message: "join 'never-joined' (join_room) before writing to it",
      event: "message",
    });
    expect(await tight.inspect.exists("chat:room:{never-joined}:log")).toBe(0);

    // After join_room the same message goes through.
    page.emit("join_room", "never-joined");
    const inbox = record(page, "message");
    page.emit("message", { room: "never-joined", message: "now a member" });
    expect((await inbox.until(1))[0]).toMatchObject({ message: "now a member" });
    expect(await tight.inspect.xLen("chat:room:{never-joined}:log")).toBe(1);
  });
});
