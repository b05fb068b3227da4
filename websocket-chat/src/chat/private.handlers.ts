import type { PrivateMessage } from "../contracts/events.js";
import { nicknameKey } from "../contracts/nicknames.js";
import { privateMessageSchema } from "../contracts/payloads.js";
import { ChatError } from "./ack.js";
import { nicknameOf, route, spend } from "./session.js";

/** chat:private: a message to one user, stored in both inboxes and delivered to every tab of both. */
export const privateRoutes = [
  route("chat:private", privateMessageSchema, async (deps, { to, text }) => {
    const { ctx, socket } = deps;
    const me = nicknameOf(socket);
    const myKey = socket.data.nicknameKey!;
    const toKey = nicknameKey(to);
    if (toKey === myKey) throw new ChatError("INVALID_ARGUMENT", "to: you cannot write to yourself");
    await spend(deps, myKey);
    const recipient = await ctx.presence.isOnline(toKey);
    if (recipient === undefined) throw new ChatError("NOT_FOUND", `'${to}' is not connected`);
    // Stored in both inboxes and delivered from them to every tab of both users, on every replica.
    const { fromId, timestamp } = await ctx.history.appendPrivate({ from: me, fromKey: myKey, to: recipient, toKey, text, server: ctx.serverId });
    ctx.metrics.messagesIn.inc({ kind: "private" });
    const message: PrivateMessage = { id: fromId, from: me, to: recipient, text, server: ctx.serverId, timestamp };
    return { body: { message } };
  }),
];
