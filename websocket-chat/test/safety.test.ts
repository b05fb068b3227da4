import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { ChatTokens } from "../src/auth/tokens.js";
import { startChatCluster, type ChatClient, type TestCluster, connected, identified, ok, record, request, requestAnything } from "@clusterkit/test-kit/chat";

const SECRET = "a-test-secret-that-is-at-least-32-chars";
let open: TestCluster;
let locked: TestCluster;
beforeAll(async () => {
  [open, locked] = await Promise.all([
    startChatCluster(2, { config: { rateLimit: 3, rateWindowMs: 60_000, maxPayloadBytes: 16_384 } }),
    startChatCluster(1, { config: { authSecret: SECRET } }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.close(), locked?.close()]);
});

const stored = (cluster: TestCluster, room: string) => cluster.inspect.xLen(`chat:room:{${room}}:log`);

describe("rate limit", () => {
  it("is per user across replicas, answers RATE_LIMITED with a retry hint, and stores nothing over it", async () => {
    const tabA = await identified(open.client(open.replicas[0]!), "chatty", "chatty-browser-key-01");
    const tabB = await identified(open.client(open.replicas[1]!), "chatty", "chatty-browser-key-01");
    await ok(tabA, "chat:join", { room: "limits" });
    await ok(tabB, "chat:join", { room: "limits" });
    await ok(tabA, "chat:message", { room: "limits", text: "1" });
    await ok(tabB, "chat:message", { room: "limits", text: "2" });
    await ok(tabA, "chat:message", { room: "limits", text: "3" });

    const refused = await request(tabB, "chat:message", { room: "limits", text: "4" });
    expect(refused).toMatchObject({ error: { code: "RATE_LIMITED", message: expect.stringMatching(/too many messages/) as unknown } });
    expect("error" in refused && refused.error.retryAfterMs).toBeGreaterThan(0);
    expect(await request(tabA, "chat:private", { to: "chatty2", text: "also counted" })).toMatchObject({
      error: { code: "RATE_LIMITED" },
    });
    expect(await stored(open, "limits")).toBe(3);
    // Someone else is not affected.
    const calm = await identified(open.client(open.replicas[1]!), "calm");
    await ok(calm, "chat:join", { room: "limits" });
    await ok(calm, "chat:message", { room: "limits", text: "fine" });
  });
});

describe("rate limit of /api/users", () => {
  it("counts changes per client across replicas and answers 429 with Retry-After", async () => {
    const post = (i: number) =>
      fetch(`${open.replicas[i]!.url}/api/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "Flood", email: "flood@example.com" }),
      });
    // No user service in this cluster: allowed calls get 503, the fourth is refused before that.
    for (const i of [0, 1, 0]) expect((await post(i)).status).toBe(503);
    const refused = await post(1);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
  });
});

describe("bad input", () => {
  it("refuses a message over 2000 characters and keeps the socket usable", async () => {
    const writer = await identified(open.client(open.replicas[0]!), "verbose");
    await ok(writer, "chat:join", { room: "sizes" });
    expect(await request(writer, "chat:message", { room: "sizes", text: "x".repeat(2001) })).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "text: message is longer than 2000 characters" },
    });
    await ok(writer, "chat:message", { room: "sizes", text: "y".repeat(2000) });
    expect(await stored(open, "sizes")).toBe(1);
  });

  it("drops only the connection that sends a packet over maxHttpBufferSize", async () => {
    const bystander = await identified(open.client(open.replicas[0]!), "bystander");
    await ok(bystander, "chat:join", { room: "flood" });
    const flooder = await identified(open.client(open.replicas[0]!), "flooder");
    await ok(flooder, "chat:join", { room: "flood" });
    const dropped = new Promise<string>((resolve) => flooder.once("disconnect", resolve));
    flooder.emit("chat:message", { room: "flood", text: "z".repeat(40_000) }, () => undefined);
    expect(await dropped).toBe("transport close");
    expect(await stored(open, "flood")).toBe(0);
    await ok(bystander, "chat:message", { room: "flood", text: "still here" });
    const health = await fetch(`${open.replicas[0]!.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it.each([
    ["a string instead of an object", "just text", "Invalid input: expected object, received string"],
    ["a missing room", { text: "hi" }, "room: Invalid input: expected string, received undefined"],
    ["an unexpected field", { room: "bad", text: "hi", admin: true }, `Unrecognized key: "admin"`],
    ["an empty message", { room: "bad", text: "   " }, "text: message must not be empty"],
    ["a room name with spaces", { room: "no spaces", text: "hi" }, "room: 1-64 letters, digits, '_', '.', '-'"],
  ])("refuses %s with INVALID_ARGUMENT", async (_case, payload, message) => {
    const socket = await identified(open.client(open.replicas[1]!), `strict${_case.length}`);
    await ok(socket, "chat:join", { room: "bad" });
    expect(await requestAnything(socket, "chat:message", payload)).toEqual({ error: { code: "INVALID_ARGUMENT", message } });
    expect(await stored(open, "bad")).toBe(0);
  });

  it("answers an unknown event with UNKNOWN_EVENT, by ack or by chat:error", async () => {
    const socket = open.client(open.replicas[0]!);
    await connected(socket);
    expect(await requestAnything(socket, "chat:delete_everything", { room: "all" })).toEqual({
      error: { code: "UNKNOWN_EVENT", message: "unknown event 'chat:delete_everything'" },
    });
    const errors = record(socket, "chat:error");
    socket.emit("shout" as "join_room", "LOUD");
    expect((await errors.until(1))[0]).toEqual({ code: "UNKNOWN_EVENT", message: "unknown event 'shout'", event: "shout" });
    // The handout dialect has no acks either: its mistakes come back the same way.
    socket.emit("message", { room: "general", message: "" });
    expect((await errors.until(2))[1]).toMatchObject({ code: "INVALID_ARGUMENT", event: "message" });
  });

  it("refuses events beyond 100 waiting from one socket, without losing its earlier ones", async () => {
    const hasty = await identified(open.client(open.replicas[1]!), "hasty");
    const replies = await Promise.all(Array.from({ length: 300 }, () => requestAnything(hasty, "chat:join", { room: "hurry" })));
    const refused = replies.filter((r) => (r as { error?: { code: string } }).error?.code === "RATE_LIMITED");
    expect(replies.length - refused.length).toBeGreaterThanOrEqual(100);
    expect(refused.length).toBeGreaterThan(0);
    expect(await request(hasty, "chat:leave", { room: "hurry" })).toEqual({ ok: true, room: "hurry" });
  });

  it("caps the rooms one socket may be in", async () => {
    const collector = await identified(open.client(open.replicas[0]!), "collector");
    for (let n = 0; n < 50; n++) await ok(collector, "chat:join", { room: `many-${n}` });
    expect(await request(collector, "chat:join", { room: "one-too-many" })).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "a socket may be in at most 50 rooms; leave one first" },
    });
  });

  it("requires identify before rooms, and a join before writing", async () => {
    const anonymous = open.client(open.replicas[1]!);
    await connected(anonymous);
    expect(await request(anonymous, "chat:join", { room: "lobby" })).toMatchObject({ error: { code: "NOT_IDENTIFIED" } });
    await ok(anonymous, "chat:identify", { nickname: "newbie" });
    expect(await request(anonymous, "chat:message", { room: "lobby", text: "hi" })).toEqual({
      error: { code: "PERMISSION_DENIED", message: "join 'lobby' before writing to it" },
    });
  });
});

describe("token auth", () => {
  const tokens = new ChatTokens(SECRET);
  const connectError = (socket: ChatClient) =>
    new Promise<Error & { data?: unknown }>((resolve) => socket.once("connect_error", resolve));

  it("refuses a handshake without a token, or with a token signed by someone else", async () => {
    const replica = locked.replicas[0]!;
    const noToken = await connectError(locked.client(replica));
    expect(noToken.message).toBe("a token is required (auth: { token })");
    expect(noToken.data).toEqual({ code: "UNAUTHENTICATED" });
    const forged = await new ChatTokens("another-secret-that-is-at-least-32-chars").sign("alice");
    expect((await connectError(locked.client(replica, { token: forged }))).message).toBe("the token is not valid");
    const response = await fetch(`${replica.url}/api/users`, { method: "POST" });
    expect(response.status).toBe(401);
  });

  it("takes the nickname from the token and refuses any other", async () => {
    const socket = locked.client(locked.replicas[0]!, { token: await tokens.sign("alice") });
    await connected(socket);
    expect(await request(socket, "chat:identify", { nickname: "mallory" })).toEqual({
      error: { code: "PERMISSION_DENIED", message: "your token is for 'alice', not 'mallory'" },
    });
    expect(await request(socket, "chat:identify", {})).toMatchObject({ ok: true, nickname: "alice" });
    await ok(socket, "chat:join", { room: "secure" });
    const sent = await ok(socket, "chat:message", { room: "secure", text: "signed" });
    expect(sent.message.user).toBe("alice");
  });
});

describe("finding 11.9b: token lifetime", () => {
  const tokens = new ChatTokens(SECRET);
  const key = new TextEncoder().encode(SECRET);

  it("refuses a token without exp, at the handshake and on /api, saying why", async () => {
    const forever = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setIssuedAt().sign(key);
    const socket = locked.client(locked.replicas[0]!, { token: forever });
    const refused = await new Promise<Error & { data?: unknown }>((resolve) => socket.once("connect_error", resolve));
    expect(refused.message).toBe("the token has no expiry (exp); ask for a new one");
    expect(refused.data).toEqual({ code: "UNAUTHENTICATED" });
    const response = await fetch(`${locked.replicas[0]!.url}/api/users`, { method: "POST", headers: { authorization: `Bearer ${forever}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: "UNAUTHENTICATED", message: "the token has no expiry (exp); ask for a new one" } });
  });

  it("disconnects a socket when its token expires, with TOKEN_EXPIRED, and refuses it back", async () => {
    // Expires 3-4 s from now (exp has a one-second resolution): time enough to connect under load.
    const exp = Math.floor(Date.now() / 1000) + 4;
    const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("brief").setExpirationTime(exp).sign(key);
    const socket = locked.client(locked.replicas[0]!, { token });
    await connected(socket);
    const errors = record(socket, "chat:error");
    const closed = new Promise<string>((resolve) => socket.once("disconnect", resolve));
    await ok(socket, "chat:identify", {});

    expect(await closed).toBe("io server disconnect");
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    expect(errors.items).toEqual([
      { code: "TOKEN_EXPIRED", message: "your token has expired; sign in again with a new one", event: "connection" },
    ]);
    const again = locked.client(locked.replicas[0]!, { token });
    const refused = await new Promise<Error>((resolve) => again.once("connect_error", resolve));
    expect(refused.message).toBe("the token has expired");
    // A fresh token for the same user works.
    await connected(locked.client(locked.replicas[0]!, { token: await tokens.sign("brief") }));
  });
});
