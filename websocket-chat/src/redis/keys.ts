import { createHash } from "node:crypto";

/**
 * The part of a key Redis Cluster hashes (`{...}`): a room's stream, members and channel share
 * one, so each room's keys live on one node and its scripts touch one slot. Room names and
 * nickname keys never hold braces (ROOM_PATTERN, NICKNAME_PATTERN); any other text that might
 * (an identity) is hashed instead, so a `}` cannot end the tag early and split its keys.
 */
const tag = (text: string) => (/^[^{}]+$/.test(text) ? `{${text}}` : `{${createHash("sha1").update(text).digest("hex")}}`);

/**
 * Every Redis key and channel the chat owns, in one place. All start with `chat:`; the users
 * service owns `users:*`, the Socket.IO adapter owns `socket.io#*` channels. Keys that a script
 * or a MULTI uses together share a hash tag, so the same code runs on one Redis or on a cluster.
 */
export const chatKeys = {
  /** Stream of a room's messages (capped); entry ids are message ids. `@<nickname key>` is a private inbox. */
  roomLog: (room: string) => `chat:room:${tag(room)}:log`,
  /** Hash `<instance>|<nickname>` -> open sockets of that user in the room on that instance. */
  roomMembers: (room: string) => `chat:room:${tag(room)}:members`,
  /**
   * Pub/sub channel of one room (or inbox), published by the script that appends to its stream,
   * in stream order; a replica subscribes while it has sockets in the room. Sharded
   * (SPUBLISH/SSUBSCRIBE) on a cluster, so it stays on the node that holds the room.
   */
  roomChannel: (room: string) => `chat:room:${tag(room)}:messages`,
  /** Sorted set: instance -> time (Redis clock, ms) after which it counts as dead. */
  instances: "chat:instances",
  /** Rooms where an instance has (or had) members, for cleaning up after it dies. */
  instanceRooms: (instance: string) => `chat:instance:${tag(instance)}:rooms`,
  /** Nicknames an instance holds, for cleaning up after it dies. */
  instanceNicks: (instance: string) => `chat:instance:${tag(instance)}:nicks`,
  /**
   * Hash under a nickname's canonical key: `owner` -> the owner's proof (a hash of the session
   * key, or the token subject; never the key itself), `name` -> as shown, `keep` -> reservation
   * ms; `<instance>` -> the owner's sockets there. Expires `keep` ms after the last socket.
   * Tagged like the user's inbox (`@<nickname key>`), which the nickname's script expires with it.
   */
  nickname: (nicknameKey: string) => `chat:nick:${tag(`@${nicknameKey}`)}`,
  /**
   * Fixed-window counter of one user's messages; the other budgets of the same identity (`join`,
   * `typing`, `replay`, `subscribe`) add their kind after it, in the same slot.
   */
  rate: (identity: string, kind?: string) => `chat:rate:${tag(identity)}${kind === undefined ? "" : `:${kind}`}`,
  /** Sorted set: rooms one user joined lately -> when each stops counting (Redis clock, ms). */
  roomsVisited: (identity: string) => `chat:rate:${tag(identity)}:rooms`,
  /**
   * A random value the users feeds set once (SET NX) beside the users event stream, in the users
   * service's Redis: if it vanishes or changes, Redis was wiped and the stream they follow started over.
   */
  usersFeedEpoch: "chat:users-feed:epoch",
  /** Set of instances that publish a cluster-view heartbeat (pruned by the writers as records expire). */
  heartbeats: "chat:{heartbeats}",
  /** One instance's cluster-view record (JSON), expiring one lease after its last beat; in the set's slot, for one MGET. */
  heartbeat: (instance: string) => `chat:{heartbeats}:${instance}`,
} as const;
