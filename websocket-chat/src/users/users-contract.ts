/**
 * The chat's one door to the user service's contract: the generated client and its messages,
 * the domain events on the users stream, and the users replicas' heartbeat. Everything in the
 * chat that needs the user service imports it from here, so a change of the contract shows up
 * in one file (and its types in contracts/users-types.ts, which the browser build can import:
 * this file also carries the Node-only client).
 */
export { connectUsers } from "grpc-demo/client";
export type { ListUsersResponse, User, UserServiceClient } from "grpc-demo/client";
export { parseUserEventEntry, USER_EVENTS_STREAM } from "grpc-demo/events";
export { usersHeartbeatKeys } from "grpc-demo/heartbeat";
export type { UserEventEntry, UserRecord, UsersReplicaBeat } from "../contracts/users-types.js";
