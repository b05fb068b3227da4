/**
 * The chat's `/api/users` in front of a user service that requires a token, across the wire: real
 * chat processes (src/main.ts, wired as `npm start` wires them) and a real user-service replica.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUsers, unary, type GetUserResponse, type UserServiceClient, type CreateUserResponse } from "grpc-demo/client";
import { startUserReplica, type UserReplica } from "@clusterkit/test-kit/users";
import { Metadata } from "@grpc/grpc-js";
import { startRedis, type TestRedis } from "@clusterkit/test-kit";
import { ChatTokens } from "../src/auth/tokens.js";
import { startChatProcess, type ChatProcess } from "@clusterkit/test-kit/chat";

const USERS_TOKEN = "users-service-token";
const CHAT_SECRET = "a-chat-secret-that-is-long-enough-0123";

let redis: TestRedis;
let users: UserReplica;
let admin: UserServiceClient;
let anonymousChat: ChatProcess;
let signedInChat: ChatProcess;
let victimId: number;

beforeAll(async () => {
  redis = await startRedis();
  users = await startUserReplica({ redisUrl: redis.url, serverId: "users-1", authToken: USERS_TOKEN });
  admin = await connectUsers(users.target, { token: USERS_TOKEN });
  const base = { REDIS_URL: redis.url, USERS_TARGET: users.target, USERS_AUTH_TOKEN: USERS_TOKEN, SHUTDOWN_TIMEOUT_MS: "1000" };
  [anonymousChat, signedInChat] = await Promise.all([
    startChatProcess({ ...base, SERVER_ID: "chat-anon" }),
    startChatProcess({ ...base, SERVER_ID: "chat-signed", CHAT_AUTH_SECRET: CHAT_SECRET }),
  ]);
  const created = await unary<CreateUserResponse>((cb) =>
    admin.createUser({ name: "Victim", email: "victim@example.com" }, new Metadata(), {}, cb),
  );
  victimId = created.response.user!.id;
}, 60_000);

afterAll(async () => {
  for (const chat of [anonymousChat, signedInChat]) {
    if (chat && chat.child.exitCode === null && chat.child.signalCode === null) {
      chat.child.kill("SIGTERM");
      await chat.exited;
    }
  }
  admin?.close();
  await users?.close();
  await redis?.close();
});

async function api(chat: ChatProcess, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${chat.url}/api/users${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { user?: { id: number }; error?: { code: string; message: string } } };
}

async function victimName(): Promise<string | undefined> {
  const { response } = await unary<GetUserResponse>((cb) => admin.getUser({ id: victimId }, new Metadata(), {}, cb));
  return response.user?.name;
}

describe("finding 11.3: anonymous writes through the chat's service credential", () => {
  it("without CHAT_AUTH_SECRET, an anonymous caller cannot create, change or delete users on a service that requires a token", async () => {
    const created = await api(anonymousChat, "POST", "", { name: "Mallory", email: "mallory@example.com" });
    const changed = await api(anonymousChat, "PUT", `/${victimId}`, { name: "Owned" });
    const deleted = await api(anonymousChat, "DELETE", `/${victimId}`);
    for (const reply of [created, changed, deleted]) {
      expect(reply.status).toBe(401);
      expect(reply.body.error?.code).toBe("UNAUTHENTICATED");
      expect(reply.body.error?.message).toMatch(/USERS_AUTH_TOKEN.*CHAT_AUTH_SECRET/);
    }
    expect(await victimName()).toBe("Victim");
  });

  it("with CHAT_AUTH_SECRET, a caller without a chat token is refused before the user service is called", async () => {
    const deleted = await api(signedInChat, "DELETE", `/${victimId}`);
    expect(deleted.status).toBe(401);
    expect(await victimName()).toBe("Victim");
  });

  it("a caller signed in with a chat token has its writes made with the chat's credential", async () => {
    const token = await new ChatTokens(CHAT_SECRET).sign("alice");
    const created = await api(signedInChat, "POST", "", { name: "Alice", email: "alice-credential@example.com" }, token);
    expect(created.status).toBe(201);
    const deleted = await api(signedInChat, "DELETE", `/${created.body.user!.id}`, undefined, token);
    expect(deleted.status).toBe(200);
  });
});

describe("finding 11.9: REST ids are checked at the boundary", () => {
  it("answers 400 with a clear message for an id beyond int32, and for ids that are not positive whole numbers", async () => {
    const token = await new ChatTokens(CHAT_SECRET).sign("alice");
    const tooBig = await api(signedInChat, "DELETE", "/2147483648", undefined, token);
    expect(tooBig).toEqual({ status: 400, body: { error: { code: "INVALID_ARGUMENT", message: "the id must be at most 2147483647" } } });
    const huge = await api(signedInChat, "PUT", "/99999999999999999999", { name: "x" }, token);
    expect(huge.status).toBe(400);
    for (const id of ["0", "-1", "1.5", "1e3", "abc", "0x10"]) {
      const reply = await api(signedInChat, "DELETE", `/${id}`, undefined, token);
      expect(reply.status, id).toBe(400);
      expect(reply.body.error?.message, id).toBe("the id must be a positive whole number");
    }
    // The largest int32 is a valid id: it reaches the service, which has no such user.
    expect((await api(signedInChat, "DELETE", "/2147483647", undefined, token)).status).toBe(404);
  });
});
