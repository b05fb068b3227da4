// The chat's test helpers: in-process replicas over one Redis, a replica as its own process, and
// the client side of the wire (acked requests, recorded events).
export * from "./chat-cluster.js";
export * from "./chat-process.js";
export * from "./wire.js";
