/**
 * Every Redis key the chat owns, in one place. All start with `chat:`; the users service owns
 * `users:*`, the Socket.IO adapter owns `socket.io#*` channels.
 */
export const chatKeys = {
  /** Stream of a room's messages (capped); entry ids are message ids. `@<nickname key>` is a private inbox. */
  roomLog: (room: string) => `chat:room:${room}:log`,
  /** Hash `<instance>|<nickname>` -> open sockets of that user in the room on that instance. */
  roomMembers: (room: string) => `chat:room:${room}:members`,
  /** Sorted set: instance -> time (Redis clock, ms) after which it counts as dead. */
  instances: "chat:instances",
  /** Rooms where an instance has (or had) members, for cleaning up after it dies. */
  instanceRooms: (instance: string) => `chat:instance:${instance}:rooms`,
  /** Nicknames an instance holds, for cleaning up after it dies. */
  instanceNicks: (instance: string) => `chat:instance:${instance}:nicks`,
  /**
   * Hash under a nickname's canonical key: `owner` -> the owner's proof (a hash of the session
   * key, or the token subject; never the key itself), `name` -> as shown, `keep` -> reservation
   * ms; `<instance>` -> the owner's sockets there. Expires `keep` ms after the last socket.
   */
  nickname: (nicknameKey: string) => `chat:nick:${nicknameKey}`,
  /**
   * Fixed-window counter of one user's messages; other budgets prefix the identity with their
   * kind (`join:`, `typing:`, `replay:`), which no identity starts with.
   */
  rate: (identity: string) => `chat:rate:${identity}`,
  /** Sorted set: rooms one user joined lately -> when each stops counting (Redis clock, ms). */
  roomsVisited: (identity: string) => `chat:rate:rooms:${identity}`,
  /**
   * A random value the users feeds set once (SET NX) beside the users event stream: if it vanishes
   * or changes, Redis was wiped and the stream they follow started over.
   */
  usersFeedEpoch: "chat:users-feed:epoch",
  /** Set of instances that publish a cluster-view heartbeat (pruned by the writers as records expire). */
  heartbeats: "chat:heartbeats",
  /** One instance's cluster-view record (JSON), expiring one lease after its last beat. */
  heartbeat: (instance: string) => `chat:heartbeat:${instance}`,
  /** Pub/sub channel carrying every accepted room message, in stream order. */
  roomMessagesChannel: "chat:room-messages",
} as const;

