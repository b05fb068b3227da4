import type { UserEventEntry, UserRecord } from "grpc-demo/events";
import type {
  IdentifyRequest,
  JoinRequest,
  LeaveRequest,
  PrivateMessageRequest,
  RoomMessageRequest,
  UsersSubscribeRequest,
  HandoutMessageRequest,
} from "./payloads.js";

/**
 * The Socket.IO protocol, typed once for the server, the browser client and the tests.
 * Two dialects share the rooms: the handout's (`join_room`, `message`) and the kit's
 * (`chat:*`, `users:*`), where every client event is acknowledged.
 */

export const errorCodes = [
  "INVALID_ARGUMENT",
  "UNAUTHENTICATED",
  "PERMISSION_DENIED",
  "NICKNAME_TAKEN",
  "NOT_IDENTIFIED",
  "NOT_FOUND",
  "RATE_LIMITED",
  "UNKNOWN_EVENT",
  "UNAVAILABLE",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** For RATE_LIMITED: when the next message will be accepted. */
  retryAfterMs?: number;
}

/** Every acknowledgement: `{ ok: true, ... }` or `{ error }`. */
export type AckResult<T extends object = object> = ({ ok: true } & T) | { error: ErrorBody };
export type Ack<T extends object = object> = (result: AckResult<T>) => void;

/** A room message as stored and delivered; `id` is its stream position in the room. */
export interface RoomMessage {
  id: string;
  room: string;
  /** Nickname, or the socket id of a handout client that never identified. */
  user: string;
  text: string;
  /** SERVER_ID of the replica that accepted it. */
  server: string;
  /** ISO 8601. */
  timestamp: string;
}

export interface PrivateMessage {
  /**
   * Position in the receiving user's private inbox (a stream id): the same for every tab of that
   * user, different for the sender's copy. Resume with it as `privateSince`.
   */
  id: string;
  from: string;
  to: string;
  text: string;
  server: string;
  timestamp: string;
}

export interface PresenceEvent {
  room: string;
  nickname: string;
  action: "joined" | "left";
  /** Everyone in the room after the change, sorted. */
  members: string[];
}

export interface JoinResult {
  room: string;
  members: string[];
  /**
   * `history`: the room's last messages; `replay`: everything after `since`, in order. A join
   * with a `since` the room's stream does not have any more (its Redis was reset) gets `history`
   * with every message stored since the reset (up to the room's retention) and `truncated`:
   * start over, forgetting the old ids (after a reset, new ids need not sort after them).
   */
  mode: "history" | "replay";
  messages: RoomMessage[];
  /** True when messages after `since` may be gone for good (trimmed by the cap, or a Redis reset). */
  truncated: boolean;
}

export interface IdentifyResult {
  nickname: string;
  server: string;
  /**
   * With `privateSince`: the private messages after it, oldest first; if the inbox no longer has
   * that position (a Redis reset), every private message stored since the reset.
   */
  privates: PrivateMessage[];
  /** Where this socket's private messages continue from. */
  privatePosition: string;
}

/** The handout's broadcast, unchanged. */
export interface HandoutMessage {
  user: string;
  message: string;
  server: string;
  timestamp: string;
}

/** What a page needs to be current: a snapshot, or the events after its cursor. */
export type UsersCatchUp =
  | { mode: "snapshot"; users: UserRecord[]; cursor: string }
  | { mode: "events"; events: UserEventEntry[]; cursor: string };

/** The ack of users:subscribe; `server` is the replica whose stream reader feeds the page. */
export type UsersSubscription = UsersCatchUp & { server: string };

export interface ClientToServerEvents {
  join_room: (room: string) => void;
  message: (payload: HandoutMessageRequest) => void;
  "chat:identify": (payload: IdentifyRequest, ack: Ack<IdentifyResult>) => void;
  "chat:join": (payload: JoinRequest, ack: Ack<JoinResult>) => void;
  "chat:leave": (payload: LeaveRequest, ack: Ack<{ room: string }>) => void;
  /**
   * Leaves every room, stops private messages and gives the nickname back (another session key
   * may take it once no other socket of this user holds it); the socket stays connected and may
   * identify again.
   */
  "chat:logout": (payload: Record<string, never>, ack: Ack<{ nickname: string }>) => void;
  "chat:message": (payload: RoomMessageRequest, ack: Ack<{ message: RoomMessage }>) => void;
  "chat:private": (payload: PrivateMessageRequest, ack: Ack<{ message: PrivateMessage }>) => void;
  /** "I am typing in this room"; send at most every couple of seconds. Not stored, may be dropped. */
  "chat:typing": (payload: LeaveRequest, ack: Ack) => void;
  "users:subscribe": (payload: UsersSubscribeRequest, ack: Ack<UsersSubscription>) => void;
  "users:unsubscribe": (payload: Record<string, never>, ack: Ack) => void;
}

export interface ServerToClientEvents {
  message: (payload: HandoutMessage) => void;
  "chat:message": (message: RoomMessage) => void;
  "chat:private": (message: PrivateMessage) => void;
  "chat:presence": (event: PresenceEvent) => void;
  "chat:typing": (event: { room: string; nickname: string }) => void;
  /** Errors for events sent without an acknowledgement callback (the handout client). */
  "chat:error": (error: ErrorBody & { event: string }) => void;
  "users:event": (event: UserEventEntry) => void;
}

/** Names of every event a client may send; anything else gets UNKNOWN_EVENT. */
export const clientEventNames = [
  "join_room",
  "message",
  "chat:identify",
  "chat:join",
  "chat:leave",
  "chat:logout",
  "chat:message",
  "chat:private",
  "chat:typing",
  "users:subscribe",
  "users:unsubscribe",
] as const satisfies readonly (keyof ClientToServerEvents)[];

export type { UserEventEntry, UserRecord };
