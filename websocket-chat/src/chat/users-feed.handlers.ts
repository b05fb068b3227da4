import { z } from "zod";
import { usersPageSchema, usersSubscribeSchema } from "../contracts/payloads.js";
import type { SocketRouter } from "../sockets/router.js";
import { budgetOwner, spend, type ChatDeps } from "./session.js";

/** users:subscribe / users:page / users:unsubscribe: the live users table of the page. */
export function register(router: SocketRouter, deps: ChatDeps): void {
  const { ctx, socket } = deps;

  router.on("users:subscribe", usersSubscribeSchema, async ({ since }) => {
    // A subscribe is a join of the users feed (the join budget) and has a small budget of its
    // own: a page subscribes once per connection, and again after a users-stream reset.
    await spend(deps, budgetOwner(socket), "join");
    await spend(deps, budgetOwner(socket), "subscribe");
    // No await from here to the ack: a live event cannot overtake the reply.
    return { body: { ...ctx.usersFeed.subscribe(socket, since), server: ctx.serverId } };
  });

  router.on("users:page", usersPageSchema, async ({ after }) => ({ body: ctx.usersFeed.page(socket, after) }));

  router.on("users:unsubscribe", z.strictObject({}).optional(), async () => {
    ctx.usersFeed.unsubscribe(socket);
    return { body: {} };
  });
}
