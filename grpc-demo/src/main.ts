import { connectRedis } from "@clusterkit/redis-kit";
import { exitOnFatalError, exitOnSignals } from "@clusterkit/service-kit";
import { pino } from "pino";
import { loadConfig } from "./config.js";
import { createUserServer } from "./server/create-user-server.js";

// The only place that reads the environment, connects, listens and handles signals.
const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { replica: config.serverId } });
exitOnFatalError(logger);

// Commands wait out a short Redis outage in the offline queue: every call carries a gRPC deadline
// that bounds the wait, and a write retried by the client after UNAVAILABLE could apply twice.
const QUEUE = { queueWhileOffline: true };
const redis = await connectRedis(config.redisUrl, logger, `users-${config.serverId}`, QUEUE);
const redisReader = await connectRedis(config.redisUrl, logger, `users-${config.serverId}-events`, QUEUE);
const server = await createUserServer({ redis, redisReader, logger }, config);
await server.listen(config.port, config.host);

// SIGTERM: health NOT_SERVING, streams ended, calls drained (server.close(), then Redis). A stuck
// Redis quit must not keep the container alive: 5 s past the drain timeout, the process is gone.
exitOnSignals({ logger, stop: () => server.close(), forceExitAfterMs: config.shutdownTimeoutMs + 5_000 });
