export { createUserServer, SERVICE_NAMES, type UserServerDeps, type UserServerHandle } from "./server/create-user-server.js";
export { connectRedis } from "./server/connect-redis.js";
export { loadConfig, type UserServiceConfig } from "./config.js";
