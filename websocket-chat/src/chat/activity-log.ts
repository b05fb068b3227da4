import type { Logger } from "pino";
import { handoutJoinSchema, handoutMessageSchema } from "../contracts/payloads.js";
import type { ChatSocket } from "./socket-types.js";

/** Kit events whose success is worth one info line, by the line's message. */
const logged: Record<string, string> = {
  "chat:identify": "identify",
  "chat:join": "join",
  "chat:leave": "leave",
  "chat:logout": "logout",
};

type AckBody = { ok?: true; room?: string; nickname?: string; message?: { id: string; room: string; text: string } };

/**
 * One info line per connect, identify, join, leave and disconnect of a socket (with the logger's
 * `replica`, the socket id, the nickname and the room), so a replica's log tells who came and
 * went. Message text appears only at debug. Kept out of the handlers: it wraps the acks of
 * successful events (packet middleware), so it logs what the client was told, and nothing else.
 */
export function logActivity(socket: ChatSocket, logger: Logger): void {
  const who = () => ({ socket: socket.id, nickname: socket.data.nickname });
  logger.info({ ...who(), transport: socket.conn.transport.name }, "connect");

  socket.use((packet, next) => {
    const [event, payload] = packet as [string, unknown, ...unknown[]];
    const last: unknown = packet.length > 1 ? packet[packet.length - 1] : undefined;
    // The handout's dialect has no acks: a well-formed event is logged as it arrives.
    if (event === "join_room" && handoutJoinSchema.safeParse(payload).success) logger.info({ ...who(), room: payload as string }, "join");
    if (event === "message" && logger.isLevelEnabled("debug")) {
      const parsed = handoutMessageSchema.safeParse(payload);
      if (parsed.success) logger.debug({ ...who(), room: parsed.data.room, text: parsed.data.message }, "message");
    }
    const line = logged[event];
    const isMessage = event === "chat:message";
    if (typeof last === "function" && (line || isMessage)) {
      const ack = last as (body: AckBody) => void;
      packet[packet.length - 1] = (body: AckBody) => {
        if (body?.ok) {
          // After a logout the socket has no nickname any more: the ack names the one it gave back.
          if (line) logger.info({ ...who(), ...(body.nickname ? { nickname: body.nickname } : {}), ...(body.room ? { room: body.room } : {}) }, line);
          else if (body.message) logger.debug({ ...who(), room: body.message.room, id: body.message.id, text: body.message.text }, "message");
        }
        ack(body);
      };
    }
    next();
  });

  socket.on("disconnect", (reason) => logger.info({ ...who(), reason }, "disconnect"));
}
