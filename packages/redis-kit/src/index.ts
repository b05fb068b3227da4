export { closeRedis, connectRedis, type ConnectRedisOptions, type RedisClient, type WarnLogger } from "./connect-redis.js";
export { LuaScript } from "./lua-script.js";
export { StreamFollower, type StreamEntry, type StreamFollowerOptions } from "./stream-follower.js";
export { compareStreamIds, parseStreamId, type ParsedStreamId } from "./stream-ids.js";
export { isRedisUnavailable } from "./unavailable.js";
