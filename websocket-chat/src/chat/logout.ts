import { inboxOf } from "./room-history.js";
import type { Presence } from "./presence.js";
import type { RoomFanout } from "./room-fanout.js";
import type { ChatSocket } from "./socket-types.js";

/** What `chat:logout` undoes for one socket: its rooms, its private inbox, its nickname. */
export interface LoggedInSocket {
  socket: ChatSocket;
  nickname: string;
  /** The kit rooms the socket is in (the handler's own set; emptied by `leaveRoom`). */
  rooms: ReadonlySet<string>;
  /** The handler's leave: presence, the room's live set, the "left" announcement. */
  leaveRoom: (room: string) => Promise<void>;
  presence: Pick<Presence, "releaseNickname">;
  fanout: Pick<RoomFanout, "close">;
}

/**
 * Logs a socket out without closing it: it leaves every room (others see it leave), stops
 * getting the nickname's private messages, and gives the nickname back, so another session key
 * may claim it once no other socket of this user holds it. The socket may identify again.
 */
export async function logout({ socket, nickname, rooms, leaveRoom, presence, fanout }: LoggedInSocket): Promise<void> {
  for (const room of [...rooms]) await leaveRoom(room);
  fanout.close(socket, inboxOf(nickname), "private");
  // Forgotten before the release, so the disconnect cleanup never releases the nickname twice.
  socket.data.nickname = undefined;
  await presence.releaseNickname(nickname);
}
