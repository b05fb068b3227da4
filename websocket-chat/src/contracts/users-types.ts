/**
 * The user service's types the chat's wire contract carries (users events, users records, the
 * users replicas' heartbeat), type-only, so the browser build can import them: the one place
 * contracts/ reaches grpc-demo. users/users-contract.ts re-exports them beside the Node-only
 * client, for the rest of the chat.
 */
export type { UserEventEntry, UserRecord } from "grpc-demo/events";
export type { UsersReplicaBeat } from "grpc-demo/heartbeat";
