import type { Logger } from "pino";
import type { ClientEvent } from "../sockets/router.js";
import type { ChatSocket } from "./socket-types.js";

/** Events whose success is worth one info line, by the line's message. */
const logged: Partial<Record<ClientEvent, string>> = {
  "chat:identify": "identify",
  "chat:join": "join",
  "chat:leave": "leave",
  "chat:logout": "logout",
  join_room: "join",
};

/** The parts of an ack body a line may name. */
type AckBody = { room?: string; nickname?: string; message?: { id?: string; room: string; text: string } };

/**
 * One info line per connect, identify, join, leave, logout and disconnect of a socket (with the
 * logger's `replica`, the socket id, the nickname and the room), so a replica's log tells who
 * came and went. Message text appears only at debug. Fed by the router with what the client was
 * told (events answered with success), never by the handlers, and made of functions shared by
 * every socket: an idle connection costs the log nothing.
 */
export function activityLog(logger: Logger) {
  const who = (socket: ChatSocket) => ({ socket: socket.id, nickname: socket.data.nickname });
  return {
    connected: (socket: ChatSocket): void => {
      logger.info({ ...who(socket), transport: socket.conn.transport.name }, "connect");
    },
    handled: (socket: ChatSocket, event: ClientEvent, body: AckBody): void => {
      const line = logged[event];
      if (line) {
        // After a logout the socket has no nickname any more: the ack names the one it gave back.
        logger.info({ ...who(socket), ...(body.nickname ? { nickname: body.nickname } : {}), ...(body.room ? { room: body.room } : {}) }, line);
      } else if ((event === "chat:message" || event === "message") && body.message && logger.isLevelEnabled("debug")) {
        logger.debug({ ...who(socket), room: body.message.room, id: body.message.id, text: body.message.text }, "message");
      }
    },
    disconnected: (socket: ChatSocket, reason: string): void => {
      logger.info({ ...who(socket), reason }, "disconnect");
    },
  };
}

export type ActivityLog = ReturnType<typeof activityLog>;
