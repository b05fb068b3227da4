import type { Server as HttpServer } from "node:http";
import type { Logger } from "pino";
import type { Presence } from "../chat/presence.js";
import type { RoomFanout } from "../chat/room-fanout.js";
import type { ChatServerIo } from "../chat/socket-types.js";
import type { ChatHeartbeat } from "../cluster/heartbeat.js";
import { closeRedis, type RedisStore } from "@clusterkit/redis-kit";
import type { UsersFeed } from "../users/users-feed.js";
import type { ChatHandlers } from "../chat/chat.handlers.js";

/** What a replica stops, in the order it stops them. */
export interface RunningParts {
  http: HttpServer;
  io: ChatServerIo;
  fanout: RoomFanout;
  usersFeed: UsersFeed;
  presence: Presence;
  heartbeat: ChatHeartbeat;
  /** The Redis connections the server opened itself (not the caller's). */
  ownConnections: RedisStore[];
  /** Subscription trackers (timers) to stop before the connections close. */
  trackers: { stop(): void }[];
  /** Each connected socket's cleanup (presence, rooms), settled once done. */
  /** The socket handlers: every socket's cleanup after its disconnect. */
  sockets: Pick<ChatHandlers, "settled">;
  logger: Logger;
}

/**
 * Graceful stop (the caller has already made /readyz fail and refuses new handshakes): close
 * every socket at the transport level, so clients reconnect (to another replica behind the
 * proxy), wait for their cleanups within `timeoutMs`, withdraw presence and the heartbeat, then
 * close the server's own Redis connections.
 */
export async function closeGracefully(parts: RunningParts, timeoutMs: number): Promise<void> {
  const { http, io, fanout, usersFeed, presence, heartbeat, ownConnections, sockets, logger } = parts;
  const bound = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  const drain = async () => {
    http.close();
    // A transport-level close reads as a lost connection: clients reconnect on their own.
    for (const socket of io.of("/").sockets.values()) socket.conn.close();
    await sockets.settled();
  };
  await Promise.race([drain(), bound]);
  fanout.stop();
  await usersFeed.stop();
  await presence.stop(true).catch((error: unknown) => logger.warn({ err: error }, "could not withdraw presence"));
  await heartbeat.stop(true).catch((error: unknown) => logger.warn({ err: error }, "could not withdraw the cluster heartbeat"));
  await io.close().catch(() => undefined);
  http.closeAllConnections();
  for (const tracker of parts.trackers) tracker.stop();
  await Promise.all(ownConnections.map((client) => closeRedis(client)));
}

/**
 * Drops everything at once and cleans nothing up, as a crash (SIGKILL) would: the cluster only
 * finds out when the presence lease runs out.
 */
export async function abortAtOnce(parts: RunningParts): Promise<void> {
  const { http, io, fanout, usersFeed, presence, heartbeat, ownConnections } = parts;
  fanout.stop();
  for (const tracker of parts.trackers) tracker.stop();
  await presence.stop(false);
  await heartbeat.stop(false);
  await Promise.all(ownConnections.filter((client) => client.isOpen).map((client) => client.disconnect().catch(() => undefined)));
  io.engine.close();
  http.closeAllConnections();
  http.close();
  await usersFeed.stop();
}
