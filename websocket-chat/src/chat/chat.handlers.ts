import { createSocketRouter, type Route, type SocketRouter } from "../sockets/router.js";
import type { ActivityLog } from "./activity-log.js";
import type { ChatContext } from "./context.js";
import { handoutRoutes } from "./handout.handlers.js";
import { identityRoutes } from "./identity.handlers.js";
import { privateRoutes } from "./private.handlers.js";
import { roomRoutes } from "./rooms.handlers.js";
import { createSocketState, leaveRoom, type ChatDeps } from "./session.js";
import type { ChatSocket } from "./socket-types.js";
import { usersFeedRoutes } from "./users-feed.handlers.js";
import { inboxOf } from "./room-history.js";

export { ioRooms, type ChatContext } from "./context.js";

/** Every feature of the socket protocol; an event none of them handles gets UNKNOWN_EVENT. */
export const chatRoutes: readonly Route<ChatDeps>[] = [...handoutRoutes, ...identityRoutes, ...roomRoutes, ...privateRoutes, ...usersFeedRoutes];

export interface ChatHandlers {
  /** Serves a new socket: its events, and its cleanup once it disconnects. */
  connect(socket: ChatSocket): void;
  /** Resolves once every socket has disconnected and cleaned up after itself (presence, nicknames). */
  settled(): Promise<void>;
}

/**
 * The chat's socket protocol for one replica: every feature on one router (validation, limits,
 * error mapping, acks) built once, and per socket only its state. The listeners are shared by all
 * sockets (Socket.IO calls them with the socket as `this`), so an idle connection holds no closures.
 */
export function createChatHandlers(ctx: ChatContext, activity: ActivityLog): ChatHandlers {
  const router = createSocketRouter(chatRoutes, { logger: ctx.logger, metrics: ctx.metrics, onHandled: activity.handled });
  const cleanups = new Set<Promise<void>>();
  let connected = 0;
  let waiters: (() => void)[] = [];
  const wakeIfSettled = () => {
    if (connected > 0 || cleanups.size > 0) return;
    const waiting = waiters;
    waiters = [];
    for (const wake of waiting) wake();
  };

  function onDisconnect(this: ChatSocket, reason: string): void {
    activity.disconnected(this, reason);
    const deps = router.sessionOf(this);
    if (!deps) return;
    connected -= 1;
    const done = cleanUp(router, deps);
    cleanups.add(done);
    void done.finally(() => {
      cleanups.delete(done);
      wakeIfSettled();
    });
  }

  return {
    connect(socket) {
      const deps: ChatDeps = { ctx, socket, state: createSocketState() };
      connected += 1;
      router.attach(socket, deps);
      activity.connected(socket);
      socket.on("disconnect", onDisconnect);
    },
    settled() {
      return new Promise((resolve) => {
        waiters.push(resolve);
        wakeIfSettled();
      });
    },
  };
}

/** After a disconnect: stop every delivery now, then (after the queued events) leave rooms and release the nickname. */
function cleanUp(router: SocketRouter<ChatDeps>, deps: ChatDeps): Promise<void> {
  const { ctx, socket, state } = deps;
  for (const room of state.handoutRooms) ctx.fanout.close(socket, room, "handout");
  if (socket.data.nicknameKey) ctx.fanout.close(socket, inboxOf(socket.data.nicknameKey), "private");
  ctx.usersFeed.unsubscribe(socket);
  return router.enqueue(socket, async () => {
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
