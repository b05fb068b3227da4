// The client package (`grpc-demo/client`). connect.ts holds the channel setup on its own so the
// CLI can load it without the health client (grpc-health-check parses its .proto at import).
export * from "../gen/userservice/v1/user_service.js";
export { resolveTarget } from "./target.js";
export { connectUsers, defaultChannelOptions, type UsersClientOptions } from "./connect.js";
export { unary, collect, headersOf, deadlineIn, servedByOf, type UnaryResult } from "./calls.js";
export { HealthChecker, type ServingStatus } from "./health.js";
