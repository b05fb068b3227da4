import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import { UserEventHub } from "../events/user-event-hub.js";
import { UserServiceService as HandoutServiceDefinition } from "../gen/userservice/handout.js";
import { UserServiceService } from "../gen/userservice/v1/user_service.js";
import { withEncodedUpdates } from "../service/encoded-updates.js";
import { createHandoutService } from "../service/handout-service.js";
import { OpenSubscriptions, type ServiceContext } from "../service/service-context.js";
import { createUserServiceV1 } from "../service/user-service-v1.js";
import type { RedisClient } from "@clusterkit/redis-kit";
import { UserCache } from "../store/user-cache.js";
import { RedisUserStore } from "../store/user-store.js";
import type { UserServiceConfig } from "../config.js";
import { UsersHeartbeat } from "./heartbeat.js";
import { authInterceptor, callInterceptor } from "./interceptors.js";
import { createReflection } from "./reflection.js";
import { serverOptions } from "./server-options.js";

export const SERVICE_NAMES = ["userservice.v1.UserService", "userservice.UserService"] as const;

export interface UserServerDeps {
  /** Commands; the server quits it on close. */
  redis: RedisClient;
  /** A second connection, held by the event stream's blocking reader; closed on close. */
  redisReader: RedisClient;
  logger: Logger;
}

export interface UserServerHandle {
  /** Binds and starts serving; resolves to the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Graceful stop: health NOT_SERVING, end open subscriptions (clients resume elsewhere), let
   * running calls finish up to the shutdown timeout, then force; then close Redis.
   */
  close(): Promise<void>;
  /** Local SubscribeToUpdates streams currently open. */
  readonly openSubscriptions: number;
  /** The most bytes any subscriber ever had waiting for it (bounded by USERS_SUBSCRIBER_MAX_BUFFERED_BYTES). */
  readonly peakSubscriberBufferedBytes: number;
}

/** What one replica is built with (from config.ts; tests pass their own). */
export type UserServerConfig = Pick<
  UserServiceConfig,
  | "serverId"
  | "authToken"
  | "eventsRetention"
  | "maxConnectionAgeMs"
  | "maxConnectionAgeGraceMs"
  | "maxConcurrentStreams"
  | "maxReceiveMessageBytes"
  | "maxConnectionIdleMs"
  | "subscriberMaxBufferedBytes"
  | "shutdownTimeoutMs"
  | "cacheSize"
  | "cacheFence"
> & {
  /** A replaying subscriber that takes nothing for this long is cut off (tests shorten it). @default 5000 */
  subscriberStallTimeoutMs?: number;
};

/**
 * Builds a user-service replica from connected Redis clients. It does not listen until
 * `listen` is called (only `main.ts` and tests do).
 */
export async function createUserServer(deps: UserServerDeps, config: UserServerConfig): Promise<UserServerHandle> {
  const { redis, redisReader, logger } = deps;
  // The event reader keeps the cache current (the hub below feeds it). Unfenced, another
  // replica's write shows here once the reader has applied it; fenced, every cached read first
  // checks the stream's newest id (see UserCache).
  const fence = config.cacheFence ? { newestCursor: (): Promise<string> => store.latestCursor() } : {};
  const cache = config.cacheSize > 0 ? new UserCache({ maxSize: config.cacheSize, ...fence }) : undefined;
  const store = new RedisUserStore(redis, { origin: config.serverId, eventsRetention: config.eventsRetention, cache });
  const seeded = await store.seed();
  if (seeded > 0) logger.info({ seeded }, "seeded the users store");
  const hub = new UserEventHub(redis, redisReader, logger, { retention: config.eventsRetention, follower: cache });
  await hub.start();

  const ctx: ServiceContext = {
    store,
    hub,
    logger,
    subscriptions: new OpenSubscriptions(),
    subscriberLimits: { maxBufferedBytes: config.subscriberMaxBufferedBytes, stallTimeoutMs: config.subscriberStallTimeoutMs },
  };
  // For the chat's cluster view: this replica's calls, subscribers and reader position, in Redis.
  const heartbeat = new UsersHeartbeat(redis, logger, {
    serverId: config.serverId,
    sample: () => ({ subscribers: ctx.subscriptions.size, cursor: hub.cursor }),
  });
  // The first wraps grpc-js's own call: it must see every call end, even one refused below it.
  const interceptors = [callInterceptor({ logger, serverId: config.serverId, countCall: heartbeat.count })];
  if (config.authToken) interceptors.push(authInterceptor(config.authToken));
  const server = new Server({ interceptors, ...serverOptions(config) });
  // SubscribeToUpdates writes each update encoded once for all its subscribers (encoded-updates.ts).
  server.addService(withEncodedUpdates(UserServiceService), createUserServiceV1(ctx));
  server.addService(withEncodedUpdates(HandoutServiceDefinition), createHandoutService(ctx));

  const setHealth = addHealth(server);
  createReflection().addToServer(server);

  let closing: Promise<void> | undefined;
  return {
    get openSubscriptions() {
      return ctx.subscriptions.size;
    },
    get peakSubscriberBufferedBytes() {
      return ctx.subscriptions.peakBufferedBytes;
    },
    async listen(port, host = "0.0.0.0") {
      const bound = await new Promise<number>((resolve, reject) =>
        server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (error, actual) =>
          error ? reject(error) : resolve(actual),
        ),
      );
      setHealth("SERVING");
      await heartbeat.start();
      logger.info({ port: bound, replica: config.serverId }, "user service listening");
      return bound;
    },
    close() {
      closing ??= (async () => {
        setHealth("NOT_SERVING");
        ctx.subscriptions.endAll();
        await drain(server, config.shutdownTimeoutMs, logger);
        await heartbeat.stop(true).catch((error: unknown) => logger.warn({ err: error }, "could not withdraw the heartbeat"));
        await hub.stop();
        if (redis.isOpen) await redis.quit().catch(() => undefined);
        logger.info("user service stopped");
      })();
      return closing;
    },
  };
}

/** Adds the health service, NOT_SERVING until told otherwise; returns the switch for every name. */
function addHealth(server: Server): (state: "SERVING" | "NOT_SERVING") => void {
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  for (const name of SERVICE_NAMES) health.setStatus(name, "NOT_SERVING");
  health.addToServer(server);
  return (state) => {
    health.setStatus("", state);
    for (const name of SERVICE_NAMES) health.setStatus(name, state);
  };
}

/** Lets running calls finish (new ones are refused), forcing them closed after `timeoutMs`. */
function drain(server: Server, timeoutMs: number, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      logger.warn("calls still running at the shutdown timeout; forcing");
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
