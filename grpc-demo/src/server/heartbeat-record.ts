/**
 * The users replicas' heartbeat in Redis, as its readers (the chat's cluster view) see it. No
 * imports on purpose: the chat and its browser page import this file's types.
 */

/** `users:heartbeats` lists instances; `users:heartbeat:<instance>` holds a record until its lease ends. */
export const usersHeartbeatKeys = {
  index: "users:heartbeats",
  beat: (instance: string) => `users:heartbeat:${instance}`,
} as const;

/** One users replica, as of its last beat (JSON in the beat key). */
export interface UsersReplicaBeat {
  /** SERVER_ID. */
  id: string;
  /** `<serverId>:<random>`, unique per process. */
  instance: string;
  uptimeS: number;
  /** Calls started per second over the last beat, by method path without its leading `/`. */
  callsPerS: Record<string, number>;
  /** Open SubscribeToUpdates streams on this replica. */
  subscribers: number;
  /** Id of the last users event this replica's stream reader has read. */
  cursor: string;
  /** ISO 8601, the replica's own clock. */
  at: string;
}
