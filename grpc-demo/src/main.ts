import { connectRedis } from "@clusterkit/redis-kit";
import { pino } from "pino";
import { loadConfig } from "./config.js";
import { createUserServer } from "./server/create-user-server.js";

// The only place that reads the environment, connects, listens and handles signals.
const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { replica: config.serverId } });

// Commands wait out a short Redis outage in the offline queue: every call carries a gRPC deadline
// that bounds the wait, and a write retried by the client after UNAVAILABLE could apply twice.
const QUEUE = { queueWhileOffline: true };
const redis = await connectRedis(config.redisUrl, logger, `users-${config.serverId}`, QUEUE);
const redisReader = await connectRedis(config.redisUrl, logger, `users-${config.serverId}-events`, QUEUE);
const server = await createUserServer({ redis, redisReader, logger }, config);
await server.listen(config.port, config.host);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // Bound the whole shutdown: a stuck Redis quit must not keep the container alive.
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5000).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
