import { describe, expect, it } from "vitest";
import { unary } from "grpc-demo/client";
import { NOTICE_AUTHOR } from "../src/users/user-notices.js";
import { useChatWithUsers } from "./support/chat-with-users.js";
import { identified, ok, record } from "@clusterkit/test-kit/chat";

const env = useChatWithUsers(3);

describe("issue 14: a domain event pushed into a room (API → Redis → room)", () => {
  it("posts each user change once into the room that subscribed to user events, on every replica, and keeps it in its history", async () => {
    const watchers = await Promise.all([0, 2].map((i) => identified(env.cluster.client(env.cluster.replicas[i]!), `watcher${i}`)));
    for (const watcher of watchers) await ok(watcher, "chat:join", { room: "user-events" });
    const seen = watchers.map((watcher) => record(watcher, "chat:message"));

    const created = await unary<{ user?: { id: number } }>((cb) => env.direct.createUser({ name: "Hedy", email: "hedy.notice@example.com" }, cb));
    await unary((cb) => env.direct.deleteUser({ id: created.response.user!.id }, cb));

    for (const messages of seen) {
      const [made, gone] = await messages.until(2);
      expect(made).toMatchObject({ room: "user-events", user: NOTICE_AUTHOR, text: expect.stringMatching(/^Hedy <hedy\.notice@example\.com> \(#\d+\) was created on users-1$/) as unknown });
      expect(gone?.text).toMatch(/was deleted on users-1$/);
    }
    // Three replicas read the event; the room stored it once (and so delivered it once).
    const late = await identified(env.cluster.client(env.cluster.replicas[1]!), "latecomer");
    const history = await ok(late, "chat:join", { room: "user-events" });
    expect(history.messages.filter((m) => m.text.startsWith("Hedy <hedy.notice@"))).toHaveLength(2);
    expect(seen.every((messages) => messages.items.length === 2)).toBe(true);
  });
});
