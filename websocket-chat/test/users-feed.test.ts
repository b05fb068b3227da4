import { describe, expect, it } from "vitest";
import type { UserEventEntry } from "../src/contracts/events.js";
import { decodeUsersPage } from "../src/contracts/users-page.js";
import { useChatWithUsers } from "./support/chat-with-users.js";
import { connected, ok, record } from "@clusterkit/test-kit/chat";

const env = useChatWithUsers(3);

const api = (i: number, path: string, method: string, body?: unknown) =>
  fetch(`${env.cluster.replicas[i]!.url}/api/users${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** A page's subscription once the replica's feed has its snapshot. */
async function subscribePage(i: number, since?: string) {
  const page = env.cluster.client(env.cluster.replicas[i]!);
  await connected(page);
  const events = record(page, "users:event");
  const reply = await ok(page, "users:subscribe", since ? { since } : {});
  return { page, events, reply };
}

describe("live users feed", () => {
  it("starts from a snapshot and shows create, update and delete made through the gRPC service", async () => {
    const first = await subscribePage(0);
    const second = await subscribePage(2);
    expect(first.reply).toMatchObject({ mode: "snapshot", server: "chat-1" });
    const names = (first.reply.mode === "snapshot" ? decodeUsersPage(first.reply.page) : []).map((u) => u.name);
    expect(names).toEqual(expect.arrayContaining(["Alice", "Bob"]));

    const created = await api(1, "", "POST", { name: "Carol", email: "carol@example.com" });
    expect(created.status).toBe(201);
    const { user } = (await created.json()) as { user: { id: number } };
    expect((await api(1, `/${user.id}`, "PUT", { name: "Caroline" })).status).toBe(200);
    expect((await api(0, `/${user.id}`, "DELETE")).status).toBe(200);

    for (const { events } of [first, second]) {
      const mine = (await events.until(3)).filter((e) => e.user.id === user.id);
      expect(mine.map((e) => [e.type, e.user.name])).toEqual([
        ["user.created", "Carol"],
        ["user.updated", "Caroline"],
        ["user.deleted", "Caroline"],
      ]);
    }
    const cursors = first.events.items.map((e) => e.cursor);
    expect(cursors).toEqual(second.events.items.map((e) => e.cursor));
  });

  it("carries changes made by any gRPC client, and catches a returning page up from its cursor", async () => {
    // Replica 1 (chat-1) and replica 3 (chat-3) both applied the first test's events: same cursor.
    const watching = await subscribePage(0);
    const lastCursor = watching.reply.cursor;
    watching.page.disconnect();

    await new Promise<void>((resolve, reject) =>
      env.direct.createUser({ name: "Dave", email: "dave@example.com" }, (error) => (error ? reject(error) : resolve())),
    );
    const back = await subscribePage(2, lastCursor);
    let caughtUp: UserEventEntry[] = back.reply.mode === "events" ? back.reply.events : [];
    if (caughtUp.length === 0) caughtUp = [await back.events.find((e) => e.user.name === "Dave")];
    expect(back.reply.mode).toBe("events");
    expect(caughtUp.map((e) => [e.type, e.user.name])).toEqual([["user.created", "Dave"]]);
  });

  it("maps gRPC errors to HTTP statuses", async () => {
    expect((await api(0, "/999999", "PUT", { name: "Ghost" })).status).toBe(404);
    expect((await api(0, "", "POST", { name: "No Email" })).status).toBe(400);
    const clash = await api(0, "", "POST", { name: "Alice Again", email: "alice@example.com" });
    expect(clash.status).toBe(409);
    expect(await clash.json()).toMatchObject({ error: { code: "ALREADY_EXISTS" } });
    const garbled = await fetch(`${env.cluster.replicas[0]!.url}/api/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toEqual({ error: { code: "INVALID_ARGUMENT", message: "the body is not valid JSON" } });
  });
});
