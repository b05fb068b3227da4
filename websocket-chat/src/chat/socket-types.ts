import type { Server, Socket } from "socket.io";
import type { ClientToServerEvents, ServerToClientEvents } from "../contracts/events.js";

/** What the server remembers about a socket (`socket.data`). */
export interface SocketData {
  /** Set by a valid handshake token: the only nickname this socket may use. */
  tokenNickname: string | undefined;
  /** Set by chat:identify. */
  nickname: string | undefined;
}

export type ChatServerIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
