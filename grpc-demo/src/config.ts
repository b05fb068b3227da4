import { hostname } from "node:os";
import { z } from "zod";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Every setting of the user service, read from the environment once, in `main.ts`.
 * Each key has a default; a bad value fails at start with the variable's name.
 */
const schema = z.object({
  /** gRPC port. @default 50051 */
  PORT: z.coerce.number().int().min(0).max(65535).default(50051),
  /** Address to bind. @default "0.0.0.0" */
  HOST: z.string().min(1).default("0.0.0.0"),
  /** The Redis shared by every replica. @default "redis://127.0.0.1:6379" */
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  /** Name of this replica in logs, events and the `x-served-by` header. @default hostname */
  SERVER_ID: z.string().min(1).default(hostname()),
  /** When set, every RPC but the reads (server/method-access.ts) needs `authorization: Bearer <token>`. @default unset */
  USERS_AUTH_TOKEN: z.string().min(1).optional(),
  /** pino level. @default "info" */
  LOG_LEVEL: z.enum(logLevels).default("info"),
  /**
   * Events kept in the stream; older cursors get OUT_OF_RANGE. Every replica of one Redis must
   * use the same value (each trims the stream when it writes). @default 10000
   */
  USERS_EVENTS_RETENTION: z.coerce.number().int().min(10).default(10_000),
  /**
   * Users each replica keeps in memory for GetUser and LookupUsers (least recently used evicted),
   * kept current by its event reader; 0 reads every user from Redis. The replica that took a
   * write reads it back at once; another replica shows it once its reader has applied the event,
   * usually within milliseconds (USERS_CACHE_FENCE closes that window). @default 10000
   */
  USERS_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
  /**
   * Fences every cached read: it first reads the stream's newest event id (one XREVRANGE shared
   * by the reads of a moment), so no replica returns a user older than a write any replica has
   * already acknowledged. The price is about one Redis round trip per read unless reads arrive
   * in bursts; on the 2-core bench it took back most of what the cache saves. @default false
   */
  USERS_CACHE_FENCE: z.stringbool().default(false),
  /**
   * Connections are closed (GOAWAY) after this long so clients reconnect and reach replicas
   * added by `--scale`; without it a long-lived channel stays pinned to old replicas. @default 300000
   */
  GRPC_MAX_CONNECTION_AGE_MS: z.coerce.number().int().min(1000).default(300_000),
  /**
   * After GOAWAY, open streams (SubscribeToUpdates) may run this long before being cut; a cut
   * subscriber resumes with its cursor. @default 600000
   */
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: z.coerce.number().int().min(0).default(600_000),
  /**
   * HTTP/2 streams (calls) one connection may have open at once; more are refused with
   * REFUSED_STREAM. grpc-js sets no limit, so one connection could open thousands of calls that
   * each hold a partly received message. @default 100
   */
  GRPC_MAX_CONCURRENT_STREAMS: z.coerce.number().int().min(1).max(10_000).default(100),
  /**
   * Largest request message accepted, in bytes; larger ones get RESOURCE_EXHAUSTED before they are
   * buffered. The largest valid request (a 100-character name and a 254-byte email) is under 1 KB:
   * 16 KiB leaves room for a too-long field to still get its clear INVALID_ARGUMENT, while a stream
   * that sends a message and never finishes it holds at most this much. @default 16384
   */
  GRPC_MAX_RECEIVE_MESSAGE_BYTES: z.coerce.number().int().min(1024).max(4 * 1024 * 1024).default(16 * 1024),
  /**
   * A connection with no open call for this long is closed (GOAWAY), so idle connections do not
   * pile up; clients reconnect on their next call. @default 120000
   */
  GRPC_MAX_CONNECTION_IDLE_MS: z.coerce.number().int().min(1000).default(120_000),
  /**
   * Bytes of updates one SubscribeToUpdates call may have waiting for its client (queued, or sent
   * but not yet taken by the client's flow-control window). A subscriber past it is not reading:
   * its stream is reset with RESOURCE_EXHAUSTED and it resumes from its last cursor. Replays wait
   * for the client to keep up, so only live bursts count against it. @default 524288
   */
  USERS_SUBSCRIBER_MAX_BUFFERED_BYTES: z.coerce.number().int().min(16 * 1024).default(512 * 1024),
  /** On SIGTERM, how long to wait for calls and streams to finish before forcing. @default 10000 */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
});

/** Every environment variable this service reads: docs/configuration.md lists each one (config.test.ts checks). */
export const usersEnvVariables: readonly string[] = Object.keys(schema.shape);

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
  const parsed = schema.safeParse(env);
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
