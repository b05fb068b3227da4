export { closeRedis, connectRedis, type ConnectRedisOptions, type RedisClient, type WarnLogger } from "./connect-redis.js";
export { LuaScript } from "./lua-script.js";
export { StreamFollower, type StreamEntry, type StreamFollowerOptions } from "./stream-follower.js";
export { compareStreamIds, parseStreamId, type ParsedStreamId } from "./stream-ids.js";
export { isRedisUnavailable } from "./unavailable.js";
export { connectRedisCluster, duplicateRedisCluster, parseClusterNodes, type ConnectRedisClusterOptions } from "./connect-redis-cluster.js";
export { isRedisCluster, keyCommand, pingStore, type RedisClusterClient, type RedisStore } from "./redis-store.js";
export {
  PlainChannelSubscriber,
  ShardedChannelSubscriber,
  type ChannelSubscriber,
  type SubscriptionWatcher,
} from "./channel-subscriber.js";
