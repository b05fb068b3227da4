import { createSocketRouter, type SocketRouter } from "../sockets/router.js";
import type { ChatContext } from "./context.js";
import { register as handout } from "./handout.handlers.js";
import { register as identity } from "./identity.handlers.js";
import { register as privateMessages } from "./private.handlers.js";
import { register as rooms } from "./rooms.handlers.js";
import { createSocketState, leaveRoom, type ChatDeps } from "./session.js";
import type { ChatSocket } from "./socket-types.js";
import { register as usersFeed } from "./users-feed.handlers.js";
import { inboxOf } from "./room-history.js";

export { ioRooms, type ChatContext } from "./context.js";

/** Every feature of the socket protocol; an event none of them handles gets UNKNOWN_EVENT. */
export const registrars: readonly ((router: SocketRouter, deps: ChatDeps) => void)[] = [handout, identity, rooms, privateMessages, usersFeed];

/**
 * Wires one socket: every feature on one router (validation, limits, error mapping, acks), over
 * one per-socket state. Resolves once the socket's presence is cleaned up after its disconnect,
 * so a graceful close can wait for it.
 */
export function registerChatHandlers(socket: ChatSocket, ctx: ChatContext): Promise<void> {
  const router = createSocketRouter(socket, ctx);
  const deps: ChatDeps = { ctx, socket, state: createSocketState(ctx) };
  for (const register of registrars) register(router, deps);
  return new Promise((resolve) => {
    socket.on("disconnect", () => {
      void cleanUp(router, deps).then(() => resolve());
    });
  });
}

/** After a disconnect: stop every delivery now, then (after the queued events) leave rooms and release the nickname. */
function cleanUp(router: SocketRouter, deps: ChatDeps): Promise<void> {
  const { ctx, socket, state } = deps;
  for (const room of state.handoutRooms) ctx.fanout.close(socket, room, "handout");
  if (socket.data.nicknameKey) ctx.fanout.close(socket, inboxOf(socket.data.nicknameKey), "private");
  ctx.usersFeed.unsubscribe(socket);
  return router.enqueue(async () => {
    const me = socket.data.nickname;
    if (ctx.isAborted() || !me) {
      for (const room of state.kitRooms) ctx.fanout.close(socket, room, "kit");
      return;
    }
    try {
      for (const room of [...state.kitRooms]) await leaveRoom(deps, room, me);
      await ctx.presence.releaseNickname(socket.data.nicknameKey!, state.owner!);
    } catch (error) {
      ctx.logger.warn({ err: error, socket: socket.id }, "presence cleanup failed; the lease will expire it");
    }
  });
}
