import type { Server, Socket } from "socket.io";
import type { ClientToServerEvents, ServerToClientEvents } from "../contracts/events.js";

/** What the server remembers about a socket (`socket.data`). */
export interface SocketData {
  /** Set by a valid handshake token: the only nickname this socket may use. */
  tokenNickname: string | undefined;
  /** When that token expires (ms since the epoch): the socket is disconnected then. */
  tokenExpiresAt: number | undefined;
  /** Set by chat:identify: the nickname as shown. */
  nickname: string | undefined;
  /** Set by chat:identify: the key the nickname is owned under (nicknames.ts `nicknameKey`). */
  nicknameKey: string | undefined;
}

export type ChatServerIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
