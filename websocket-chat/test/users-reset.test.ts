import { describe, expect, it } from "vitest";
import { unary, type CreateUserResponse } from "grpc-demo/client";
import type { UsersModel } from "../web/src/users-model.js";
import { useChatWithUsers } from "./support/chat-with-users.js";
import { usersIn, usersModelOn } from "./support/users-client.js";
import { connected, record } from "@clusterkit/test-kit/chat";

const env = useChatWithUsers(2);

const create = async (name: string, email: string) =>
  (await unary<CreateUserResponse>((cb) => env.direct.createUser({ name, email }, cb))).response.user!;

/** Resolves once the model's users, by name, are `names` (checked on every change). */
function showing(model: UsersModel, names: string[], timeoutMs = 15_000): Promise<void> {
  const now = () => usersIn(model).map((user) => user.name);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the page shows ${JSON.stringify(now())}, not ${JSON.stringify(names)}`)), timeoutMs);
    const check = () => {
      if (JSON.stringify(now()) !== JSON.stringify(names)) return;
      clearTimeout(timer);
      resolve();
    };
    model.onChange(check);
    check();
  });
}

describe("finding 11.8: the users feed after a Redis wipe", () => {
  it("starts over by itself: the old users vanish and a user created after the wipe shows, without reconnecting", async () => {
    const pages = env.cluster.replicas.map((replica) => env.cluster.client(replica));
    await Promise.all(pages.map((page) => connected(page)));
    const models = pages.map((page) => usersModelOn(page));
    const resets = pages.map((page) => record(page, "users:reset"));
    await Promise.all(models.map((model) => model.subscribe()));
    await create("Before Wipe", "before@example.org");
    await Promise.all(models.map((model) => showing(model, ["Alice", "Bob", "Before Wipe"])));

    await env.cluster.inspect.flushAll();
    const after = await create("After Wipe", "after@example.org");
    expect(after.id).toBe(1);
    await Promise.all(models.map((model) => showing(model, ["After Wipe"])));
    for (const reset of resets) expect(reset.items.length).toBeGreaterThanOrEqual(1);
    for (const page of pages) expect(page.connected).toBe(true);

    // Live again: later changes arrive as events.
    await create("Later", "later@example.org");
    await Promise.all(models.map((model) => showing(model, ["After Wipe", "Later"])));
    const metrics = await (await fetch(`${env.cluster.replicas[0]!.url}/metrics`)).text();
    expect(metrics).toMatch(/^chat_users_feed_resets_total\{replica="chat-1"\} [1-9]/m);
  });
});
