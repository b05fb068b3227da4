import { hostname } from "node:os";
import { z } from "zod";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const atLeast = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

/**
 * Every setting of the user service, each with its default and the one description there is of
 * it: `npm run docs:config` renders these into docs/configuration.md (markdown, links relative to
 * docs/), and scripts/docs/config-tables.test.ts fails when that page differs. Read from the
 * environment once, in `main.ts`; a bad value fails at start with the variable's name.
 */
export const usersEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(50051).describe("gRPC port"),
  HOST: z.string().min(1).default("0.0.0.0").describe("bind address"),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379").describe("the Redis shared by every replica"),
  SERVER_ID: z
    .string()
    .min(1)
    .default(hostname())
    // The default is this machine's name: the page shows the word, not the name of the machine that rendered it.
    .meta({ description: "replica name in logs, events and `x-served-by`", defaultShown: "hostname" }),
  USERS_AUTH_TOKEN: z
    .string()
    .min(1)
    .optional()
    .describe(
      "when set, every RPC not on the read allow-list (`grpc-demo/src/server/method-access.ts`: `GetUser`, " +
        "`ListUsers`, `SubscribeToUpdates`, `LookupUsers`, health, reflection) needs `authorization: Bearer <token>`, " +
        "else `UNAUTHENTICATED`: today `CreateUser`, `UpdateUser`, `DeleteUser`, `ImportUsers` and the handout's " +
        "`CreateUser`, and any RPC added later until it is classified",
    ),
  LOG_LEVEL: z
    .enum(logLevels)
    .default("info")
    .describe("pino level; failed calls are logged at `warn`, every call (method, code, ms, replica) at `debug`"),
  USERS_EVENTS_RETENTION: atLeast(10, 10_000).describe(
    "events kept in `users:events` (at least 10); older cursors get `OUT_OF_RANGE`. Every replica of one Redis " +
      "must use the same value (each trims the stream when it writes)",
  ),
  USERS_CACHE_SIZE: atLeast(0, 10_000).describe(
    "users each replica keeps in memory (LRU) for `GetUser` and `LookupUsers`, filled by reads and writes and kept " +
      "current by the replica's event reader; `0` turns the cache off",
  ),
  USERS_CACHE_FENCE: z
    .stringbool()
    .default(false)
    .describe(
      "`true`: every cached read first checks the event stream's newest id (one shared Redis read per batch), so a " +
        "write finished on any replica is never missed; on the 2-core bench it took back most of what the cache " +
        "saves. Off: the replica that took a write reads it back at once; another replica's write shows once this " +
        "replica's reader has applied it, typically within milliseconds",
    ),
  GRPC_MAX_CONNECTION_AGE_MS: atLeast(1000, 300_000).describe(
    "connections are closed (GOAWAY) after 5 min so clients re-resolve and replicas added by `--scale` get " +
      "traffic; without it a long-lived channel stays pinned to the old replicas",
  ),
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: atLeast(0, 600_000).describe("open streams may run 10 more minutes after GOAWAY; a cut subscriber resumes from its cursor"),
  GRPC_MAX_CONCURRENT_STREAMS: z.coerce.number().int().min(1).max(10_000).default(100).describe(
    "calls one connection may have open at once; more are refused (`REFUSED_STREAM`); grpc-js has no limit by " +
      "default, so one connection could open thousands of calls that each hold a partly received message",
  ),
  GRPC_MAX_RECEIVE_MESSAGE_BYTES: z.coerce.number().int().min(1024).max(4 * 1024 * 1024).default(16 * 1024).describe(
    "largest request accepted; larger ones get `RESOURCE_EXHAUSTED` before being buffered (the largest valid " +
      "request is under 1 KB: the rest leaves room for a too-long field to still get its clear " +
      "`INVALID_ARGUMENT`, while a stream that never finishes a message holds at most this much)",
  ),
  GRPC_MAX_CONNECTION_IDLE_MS: atLeast(1000, 120_000).describe("a connection with no call open this long is closed (GOAWAY); clients reconnect on their next call"),
  USERS_SUBSCRIBER_MAX_BUFFERED_BYTES: atLeast(16 * 1024, 512 * 1024).describe(
    "updates one `SubscribeToUpdates` call may have waiting for its client (queued, or sent but not yet taken by " +
      "its flow-control window); past it the stream is reset with `RESOURCE_EXHAUSTED` (the client resumes from " +
      "its cursor). Replays wait for the client instead; one that takes nothing for 5 s is cut off the same way",
  ),
  SHUTDOWN_TIMEOUT_MS: atLeast(0, 10_000).describe(
    "on SIGTERM: health `NOT_SERVING`, subscriptions ended with `UNAVAILABLE` (clients resume elsewhere), calls " +
      "drained up to this long, then forced; then Redis is closed",
  ),
});

/** The parsed settings: each field is one variable of {@link usersEnvSchema}, whose description and default are there. */
export type UserServiceConfig = {
  port: number;
  host: string;
  redisUrl: string;
  serverId: string;
  authToken: string | undefined;
  logLevel: (typeof logLevels)[number];
  eventsRetention: number;
  cacheSize: number;
  cacheFence: boolean;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  maxConcurrentStreams: number;
  maxReceiveMessageBytes: number;
  maxConnectionIdleMs: number;
  subscriberMaxBufferedBytes: number;
  shutdownTimeoutMs: number;
};

/** Parses the environment; throws one error listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): UserServiceConfig {
  const parsed = usersEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid user service configuration:\n${problems.join("\n")}`);
  }
  const c = parsed.data;
  return {
    port: c.PORT,
    host: c.HOST,
    redisUrl: c.REDIS_URL,
    serverId: c.SERVER_ID,
    authToken: c.USERS_AUTH_TOKEN,
    logLevel: c.LOG_LEVEL,
    eventsRetention: c.USERS_EVENTS_RETENTION,
    cacheSize: c.USERS_CACHE_SIZE,
    cacheFence: c.USERS_CACHE_FENCE,
    maxConnectionAgeMs: c.GRPC_MAX_CONNECTION_AGE_MS,
    maxConnectionAgeGraceMs: c.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
    maxConcurrentStreams: c.GRPC_MAX_CONCURRENT_STREAMS,
    maxReceiveMessageBytes: c.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
    maxConnectionIdleMs: c.GRPC_MAX_CONNECTION_IDLE_MS,
    subscriberMaxBufferedBytes: c.USERS_SUBSCRIBER_MAX_BUFFERED_BYTES,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
  };
}
