// The user service's test helpers: a replica on port 0, users written straight into Redis, and
// raw HTTP/2 calls (a subscriber that never reads, as flow control sees a slow client).
export * from "./user-replica.js";
export * from "./seed-users.js";
export * from "./raw-http2.js";
export * from "./followed-updates.js";
