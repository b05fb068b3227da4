/**
 * What `GET /api/cluster` answers, typed once for the server, the cluster page and the tests.
 * Every number comes from a heartbeat its owner keeps in Redis with a lease: a replica that stops
 * beating drops out of the view when its lease runs out.
 */
import type { UsersReplicaBeat } from "./users-types.js";

export type { UsersReplicaBeat };

/** One room message as one replica saw it: who accepted it, and to how many local sockets it went. */
export interface MessageHop {
  /** Stream id of the message: the same on every replica, so hops of one message line up. */
  id: string;
  room: string;
  /** SERVER_ID of the replica that accepted it (the message's `server`). */
  takenBy: string;
  /** Sockets of this replica it was delivered to. */
  delivered: number;
}

export interface ChatReplicaBeat {
  /** SERVER_ID. */
  id: string;
  /** Presence identity of the process (`<serverId>:<random>`): tells a restart apart. */
  instance: string;
  uptimeS: number;
  connections: number;
  rooms: number;
  /** Messages accepted from this replica's sockets, since it started. */
  messagesIn: number;
  /** Messages delivered to this replica's sockets, since it started. */
  messagesOut: number;
  inPerS: number;
  outPerS: number;
  /** The last room messages this replica delivered, newest first. */
  recent: MessageHop[];
  /** ISO 8601, Redis clock not involved: the replica's own. */
  at: string;
}

export interface RedisStats {
  opsPerS: number;
  usedMemoryBytes: number;
  usedMemoryHuman: string;
  clients: number;
}

export interface ClusterView {
  /** The replica that answered. */
  servedBy: string;
  chat: ChatReplicaBeat[];
  users: UsersReplicaBeat[];
  redis: RedisStats | undefined;
}
