import { noPayloadSchema, usersPageSchema, usersSubscribeSchema } from "../contracts/payloads.js";
import { budgetOwner, route, spend } from "./session.js";

/** users:subscribe / users:page / users:unsubscribe: the live users table of the page. */
export const usersFeedRoutes = [
  route("users:subscribe", usersSubscribeSchema, async (deps, { since }) => {
    const { ctx, socket } = deps;
    // A subscribe is a join of the users feed (the join budget) and has a small budget of its
    // own: a page subscribes once per connection, and again after a users-stream reset.
    await spend(deps, budgetOwner(socket), "join");
    await spend(deps, budgetOwner(socket), "subscribe");
    // No await from here to the ack: a live event cannot overtake the reply.
    return { body: { ...ctx.usersFeed.subscribe(socket, since), server: ctx.serverId } };
  }),

  route("users:page", usersPageSchema, async ({ ctx, socket }, { after }) => ({ body: ctx.usersFeed.page(socket, after) })),

  route("users:unsubscribe", noPayloadSchema, async ({ ctx, socket }) => {
    ctx.usersFeed.unsubscribe(socket);
    return { body: {} };
  }),
];
