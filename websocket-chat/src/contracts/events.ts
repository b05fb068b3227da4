import type { UserEventEntry, UserRecord } from "./users-types.js";
import type {
  IdentifyRequest,
  JoinRequest,
  LeaveRequest,
  PrivateMessageRequest,
  RoomMessageRequest,
  TypingRequest,
  UsersSubscribeRequest,
  UsersPageRequest,
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
  /** The handshake token has expired: the server closes the connection right after this error. */
  "TOKEN_EXPIRED",
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

/**
 * One page of the users snapshot: the users with ids greater than `after`, in id order, as many
 * as fit in a bounded number of bytes. `users` is the UTF-8 JSON of a `UserRecord[]`, sent as a
 * binary attachment: the replica encodes each page once and shares the bytes between every
 * socket that asks for it. Decode with `decodeUsersPage` (users-page.ts).
 */
export interface UsersPage {
  after: number;
  users: ArrayBuffer | Uint8Array;
  /** Id of this page's last user when more follow: ask `users:page { after: next }`; null on the last page. */
  next: number | null;
}

/**
 * What a page needs to be current: a snapshot (its first page; `users:page` for the rest), or the
 * events after its cursor. Each snapshot page shows the users as they are when it is sent, and
 * every event after `cursor` follows live: a page replaces the rows in its id range, except rows
 * a later event already changed.
 */
export type UsersCatchUp =
  | { mode: "snapshot"; page: UsersPage; cursor: string; total: number }
  | { mode: "events"; events: UserEventEntry[]; cursor: string };

/** The ack of users:subscribe; `server` is the replica whose stream reader feeds the page. */
export type UsersSubscription = UsersCatchUp & { server: string };

/** The ack of users:page: the page, and the feed's cursor when it was taken. */
export interface UsersPageResult {
  page: UsersPage;
  cursor: string;
}

/** Sent when the users event stream was reset (Redis wiped or restarted empty): subscribe again without `since`. */
export interface UsersReset {
  reason: string;
}

export interface ClientToServerEvents {
  /**
   * The handout's events: its page sends them without an ack and hears of a refusal as
   * `chat:error`; a client that passes an ack anyway is answered through it, like the kit's events.
   */
  join_room: (room: string, ack?: Ack<{ room: string }>) => void;
  message: (payload: HandoutMessageRequest, ack?: Ack<{ message: RoomMessage }>) => void;
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
  "chat:typing": (payload: TypingRequest, ack: Ack) => void;
  "users:subscribe": (payload: UsersSubscribeRequest, ack: Ack<UsersSubscription>) => void;
  /** The next page of a snapshot this socket is reading: `after` is the previous page's `next`. */
  "users:page": (payload: UsersPageRequest, ack: Ack<UsersPageResult>) => void;
  "users:unsubscribe": (payload: Record<string, never>, ack: Ack) => void;
}

/** What a client sends with `E`. */
export type PayloadOf<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
/** What `E`'s ack carries besides `ok: true` when it succeeds; `AckResult<AckBody<E>>` is the whole ack. */
export type AckBody<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]> extends [unknown, Ack<infer T>?] ? T : never;

export interface ServerToClientEvents {
  message: (payload: HandoutMessage) => void;
  "chat:message": (message: RoomMessage) => void;
  "chat:private": (message: PrivateMessage) => void;
  "chat:presence": (event: PresenceEvent) => void;
  "chat:typing": (event: { room: string; nickname: string }) => void;
  /** Errors for events sent without an acknowledgement callback (the handout client). */
  "chat:error": (error: ErrorBody & { event: string }) => void;
  "users:event": (event: UserEventEntry) => void;
  /** The feed started over (its event stream was reset); live events stop until the page subscribes again. */
  "users:reset": (reset: UsersReset) => void;
}

/**
 * Names of every event a client may send (the fuzzer's alphabet). Keyed by the contract, so the
 * compiler refuses a list that misses an event; the server refuses any event it has no handler
 * for (sockets/router.ts), and a test checks that every name here has one.
 */
const clientEvents: { readonly [E in keyof ClientToServerEvents]: true } = {
  join_room: true,
  message: true,
  "chat:identify": true,
  "chat:join": true,
  "chat:leave": true,
  "chat:logout": true,
  "chat:message": true,
  "chat:private": true,
  "chat:typing": true,
  "users:subscribe": true,
  "users:page": true,
  "users:unsubscribe": true,
};
export const clientEventNames = Object.keys(clientEvents) as readonly (keyof ClientToServerEvents)[];

export type { UserEventEntry, UserRecord };
