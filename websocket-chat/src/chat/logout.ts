import { inboxOf } from "./room-history.js";
import type { Presence } from "./presence.js";
import type { RoomFanout } from "./room-fanout.js";
import type { ChatSocket } from "./socket-types.js";

/** What `chat:logout` undoes for one socket: its rooms, its private inbox, its nickname. */
export interface LoggedInSocket {
  socket: ChatSocket;
  /** The nickname's canonical key (names its inbox and its ownership record). */
  nicknameKey: string;
  /** The proof the nickname was claimed with. */
  owner: string;
  /** The kit rooms the socket is in (the handler's own set; emptied by `leaveRoom`). */
  rooms: ReadonlySet<string>;
  /** The handler's leave: presence, the room's live set, the "left" announcement. */
  leaveRoom: (room: string) => Promise<void>;
  presence: Pick<Presence, "releaseNickname">;
  fanout: Pick<RoomFanout, "close">;
}

/**
 * Logs a socket out without closing it: it leaves every room (others see it leave), stops
 * getting the nickname's private messages, and gives the nickname back with no reservation, so
 * another session key may claim it (with an empty inbox) once no other socket of this user holds
 * it. The socket may identify again.
 */
export async function logout({ socket, nicknameKey, owner, rooms, leaveRoom, presence, fanout }: LoggedInSocket): Promise<void> {
  for (const room of [...rooms]) await leaveRoom(room);
  fanout.close(socket, inboxOf(nicknameKey), "private");
  // Forgotten before the release, so the disconnect cleanup never releases the nickname twice.
  socket.data.nickname = undefined;
  socket.data.nicknameKey = undefined;
  await presence.releaseNickname(nicknameKey, owner, { drop: true });
}
