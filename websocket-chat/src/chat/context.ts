import type { Logger } from "pino";
import type { ChatMetrics } from "../metrics.js";
import type { UsersCatchUp, UsersPageResult } from "../contracts/events.js";
import type { Presence } from "./presence.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { RoomFanout } from "./room-fanout.js";
import type { RoomHistory } from "./room-history.js";
import type { ChatServerIo, ChatSocket } from "./socket-types.js";

/** What the handlers ask of the users feed (users/users-feed.ts's UsersFeed is the one wired in). */
export interface UsersFeedPort {
  /** Adds the socket to the live feed and says what it missed since `since`, or gives a snapshot's first page. */
  subscribe(socket: ChatSocket, since: string | undefined): UsersCatchUp;
  /** The next page of the snapshot the socket is reading (pages are read in order). */
  page(socket: ChatSocket, after: number): UsersPageResult;
  unsubscribe(socket: ChatSocket): void;
}

/** What the chat handlers share across every socket of one replica. */
export interface ChatContext {
  io: ChatServerIo;
  serverId: string;
  presence: Presence;
  history: RoomHistory;
  fanout: RoomFanout;
  limiter: RateLimiter;
  /** Budget of users:subscribe, per token subject or else per socket: each may cost a snapshot. */
  usersFeed: UsersFeedPort;
  metrics: ChatMetrics;
  /** Largest share of CHAT_MAX_BUFFERED_BYTES one join or identify reply may take (the oldest messages give way). */
  maxReplyBytes: number;
  logger: Logger;
  /** True once the replica is being dropped without cleanup (tests' crash): skip Redis work. */
  isAborted: () => boolean;
}

/** Socket.IO room names (adapter fan-out): presence and typing hints of a chat room. */
export const ioRooms = {
  room: (room: string) => `room:${room}`,
};
