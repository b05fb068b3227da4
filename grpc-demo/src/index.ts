export { createUserServer, SERVICE_NAMES, type UserServerDeps, type UserServerHandle } from "./server/create-user-server.js";
export { loadConfig, type UserServiceConfig } from "./config.js";
