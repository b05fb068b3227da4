/**
 * The chat's one door to the user service's contract: the generated client and its messages,
 * the domain events on the users stream, and the users replicas' heartbeat. Everything in the
 * chat that needs the user service imports it from here, so a change of the contract shows up
 * in one file. The exception is contracts/, shared with the browser build: it takes the event and
 * heartbeat types straight from grpc-demo, since this file also carries the Node-only client.
 */
export { connectUsers } from "grpc-demo/client";
export type { ListUsersResponse, User, UserServiceClient } from "grpc-demo/client";
export { parseUserEventEntry, USER_EVENTS_STREAM } from "grpc-demo/events";
export type { UserEventEntry, UserRecord } from "grpc-demo/events";
export { usersHeartbeatKeys } from "grpc-demo/heartbeat";
export type { UsersReplicaBeat } from "grpc-demo/heartbeat";
