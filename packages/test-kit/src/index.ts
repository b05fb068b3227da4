// Helpers any test, drill or benchmark may use: they know Redis, nginx and Socket.IO's wire, not
// the services. The services' own helpers are the ./chat and ./users subpaths; the whole loopback
// stack (Redis, users, chat processes, nginx) is ./stack.
export * from "./free-port.js";
export * from "./nginx.js";
export * from "./raw-socket-io.js";
export * from "./redis-cluster.js";
export * from "./redis-relay.js";
export * from "./redis-server.js";
export * from "./seeded-random.js";
