import { pino } from "pino";
import { connectUsers } from "./users/users-contract.js";
import { loadConfig } from "./config.js";
import { createChatServer } from "./create-chat-server.js";
import { closeRedis, connectRedis, connectRedisCluster } from "@clusterkit/redis-kit";
import { exitOnFatalError, exitOnSignals } from "@clusterkit/service-kit";

// The only module that reads the environment, connects, listens and handles signals.
const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { replica: config.serverId } });
exitOnFatalError(logger);

const redis = await connectRedis(config.redisUrl, logger, `chat-${config.serverId}`);
// With CHAT_REDIS_CLUSTER the chat's own keys and channels live on the cluster, the users side on REDIS_URL.
const cluster = config.redisCluster.length > 0 ? await connectRedisCluster(config.redisCluster, logger, `chat-${config.serverId}`) : undefined;
// No channel-wide token: the chat's own calls are reads, and USERS_AUTH_TOKEN is attached per
// write, only for callers the chat authenticated (see http/users.routes.ts).
const users = await connectUsers(config.usersTarget);
const server = await createChatServer({ redis, cluster, logger, users }, config);
const port = await server.listen(config.port, config.host);
logger.info({ port, instance: server.instance, auth: config.authSecret ? "token" : "off" }, "chat replica listening");

exitOnSignals({
  logger,
  message: "shutting down: draining sockets",
  // Whatever hangs (a Redis that never answers QUIT), the process is gone 3 s past the drain timeout.
  forceExitAfterMs: config.shutdownTimeoutMs + 3_000,
  stop: async () => {
    await server.close();
    await Promise.all([closeRedis(redis), cluster && closeRedis(cluster)]);
    users.close();
  },
});
