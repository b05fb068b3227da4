import { isIP } from "node:net";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { parseClusterNodes } from "@clusterkit/redis-kit";
import { ROOM_PATTERN } from "./contracts/limits.js";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const transportNames = ["polling", "websocket"] as const;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const namedRanges = new Set(["loopback", "linklocal", "uniquelocal"]);
/** An address, a CIDR range (`10.0.0.0/8`), or one of express's names for a range. */
function isProxyAddress(entry: string): boolean {
  if (namedRanges.has(entry)) return true;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const trustProxy = z
  .string()
  .default("0")
  .transform((value, ctx): number | string[] => {
    const trimmed = value.trim();
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    const entries = trimmed.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
    const bad = entries.filter((entry) => !isProxyAddress(entry));
    if (entries.length === 0 || bad.length > 0) {
      ctx.addIssue({ code: "custom", message: `give a number of proxy hops, or a comma list of addresses, CIDR ranges, loopback, linklocal, uniquelocal (not: ${bad.join(", ") || "empty"})` });
      return z.NEVER;
    }
    return entries;
  });

/**
 * Every setting of a chat replica. Read from the environment once, in `main.ts`; each key has a
 * default, and a bad value stops the start with the variable's name.
 */
const schema = z.object({
  /** HTTP + Socket.IO port. @default 3000 */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Address to bind. @default "0.0.0.0" */
  HOST: z.string().min(1).default("0.0.0.0"),
  /**
   * The Redis every replica shares (adapter, history, presence, users events). With
   * CHAT_REDIS_CLUSTER, only the users service's side (its event stream, its heartbeats). @default "redis://127.0.0.1:6379"
   */
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  /**
   * A Redis Cluster (Redis 7) for the chat's own keys and channels, as a comma list of a few of its
   * nodes (`host:port` or `redis://host:port`); the rest are discovered. Rooms spread over the
   * masters, room channels and the Socket.IO adapter use sharded pub/sub, so a replica receives
   * only the traffic of rooms it has members in. Empty: everything on REDIS_URL. @default ""
   */
  CHAT_REDIS_CLUSTER: z
    .string()
    .default("")
    .refine((value) => value.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "").every((entry) => /^(rediss?:\/\/)?[\w.-]+:\d{1,5}$/.test(entry)), {
      message: "give a comma list of host:port (or redis://host:port) cluster nodes",
    }),
  /** This replica's name, shown on every message it accepts. @default hostname */
  SERVER_ID: z.string().min(1).max(64).default(hostname()),
  /** HMAC secret (>= 32 chars) for HS256 tokens; when set, every socket and /api call needs one. @default unset */
  CHAT_AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Messages a room sends to whoever joins it. @default 50 */
  CHAT_HISTORY_SIZE: z.coerce.number().int().min(0).max(1000).default(50),
  /**
   * Proxies in front of the chat whose X-Forwarded-For is believed, for the client address that
   * keys the /api rate limit and the connection limits: a number of hops (`1` = one proxy, as
   * compose puts the kit's nginx in front), or a comma list of proxy addresses / CIDR ranges /
   * `loopback`, `linklocal`, `uniquelocal`. `0` believes no header: the peer is the client. Trust
   * only proxies that overwrite the header, or a client picks its own address. @default 0
   */
  CHAT_TRUST_PROXY: trustProxy,
  /** Socket.IO connections one client address may hold open on one replica; the next is refused. @default 100 */
  CHAT_MAX_SOCKETS_PER_ADDRESS: positiveInt(100),
  /** New Socket.IO connections one client address may open on one replica per CHAT_CONNECT_WINDOW_MS; more are refused. @default 60 */
  CHAT_MAX_CONNECTS_PER_ADDRESS: positiveInt(60),
  /** The window of CHAT_MAX_CONNECTS_PER_ADDRESS. @default 10000 */
  CHAT_CONNECT_WINDOW_MS: positiveInt(10_000),
  /** Messages kept per room (capped stream); a reconnect further behind than this is told so. @default 1000 */
  CHAT_ROOM_RETENTION: positiveInt(1000),
  /** Messages (room + private) one user may send per window, across the whole cluster. @default 20 */
  CHAT_RATE_LIMIT: positiveInt(20),
  /** Rate-limit window, shared by every budget below. @default 10000 */
  CHAT_RATE_WINDOW_MS: positiveInt(10_000),
  /**
   * Joins (`chat:join`, a new room by `join_room`) and `users:subscribe` calls one user may make
   * per window; a page coming back rejoins each of its rooms (at most 50) at once. @default 100
   */
  CHAT_JOIN_RATE_LIMIT: positiveInt(100),
  /** Typing hints one socket may send per window (the page sends one every 2 s at most). @default 30 */
  CHAT_TYPING_RATE_LIMIT: positiveInt(30),
  /**
   * Characters one user may be sent back by joins per window: history and replay, each message
   * counting its text plus 100, charged after the read; a join is refused once it is spent. A
   * forged `since` into a full room costs up to ~2 M, a page rejoining 50 rooms of short
   * messages ~0.5 M. @default 1000000
   */
  CHAT_REPLAY_RATE_LIMIT: positiveInt(1_000_000),
  /** Different rooms one user may join (kit dialect) within CHAT_ROOM_IDLE_TTL_MS. @default 200 */
  CHAT_ROOMS_PER_USER: positiveInt(200),
  /**
   * A room's (or private inbox's) stream expires this long after its last message or join, so
   * abandoned rooms do not pile up; a `since` into an expired room replays as after a reset. @default 86400000 (24 h)
   */
  CHAT_ROOM_IDLE_TTL_MS: z.coerce.number().int().min(1_000).default(86_400_000),
  /** Largest Socket.IO packet accepted; bigger ones close that connection. @default 16384 */
  CHAT_MAX_PAYLOAD_BYTES: positiveInt(16_384),
  /**
   * Bytes one connection may have waiting to be written (Engine.IO's queue plus the WebSocket's):
   * a packet that would exceed it, the first one included, cuts the connection off, so a client
   * that stops reading costs at most this much memory. Users snapshot pages are a quarter of it
   * (256 KiB at most); join and identify replies drop their oldest messages rather than exceed
   * half of it. @default 1048576
   */
  CHAT_MAX_BUFFERED_BYTES: z.coerce.number().int().min(16_384).default(1_048_576),
  /**
   * A replica that stops heartbeating is declared dead after this long and its members vanish
   * from every list; it heartbeats every third of it. @default 10000
   */
  CHAT_PRESENCE_TTL_MS: z.coerce.number().int().min(300).default(10_000),
  /**
   * How long a nickname stays reserved for its owner (the browser's session key, or the token
   * subject) after the owner's last socket is gone; it never lapses while one is connected. The
   * private inbox lives exactly as long: whoever takes the nickname after it lapses starts with
   * an empty inbox. 0 = released with the last socket. @default 86400000 (24 h)
   */
  CHAT_NICKNAME_RESERVATION_MS: z.coerce.number().int().min(0).default(86_400_000),
  /**
   * The room that subscribes to the user service's domain events: each create, update and delete
   * is posted there once, cluster-wide, as a notice from "users service" (stored and replayed like
   * any message). Empty turns it off. @default user-events
   */
  CHAT_USER_EVENTS_ROOM: z.union([z.literal(""), z.string().regex(ROOM_PATTERN, "a room name: 1-64 letters, digits, '_', '.', '-'")]).default("user-events"),
  /** Comma list of origins allowed to connect from another site; empty = same origin only; "*" = any. @default "" */
  CORS_ORIGIN: z.string().default(""),
  /**
   * Transports a client may use, comma list. Socket.IO's default lets a client start with HTTP
   * long-polling and upgrade; "websocket" alone skips that handshake (the bench measured
   * connecting at about a third of the server CPU) but refuses clients that cannot open a
   * WebSocket or that start with polling, like the handout's page (the kit's page starts with
   * WebSocket). @default "polling,websocket"
   */
  CHAT_TRANSPORTS: z
    .string()
    .default("polling,websocket")
    .transform((value) => [...new Set(value.split(",").map((t) => t.trim()).filter((t) => t !== ""))])
    .pipe(z.array(z.enum(transportNames)).min(1, "name at least one of polling, websocket")),
  /**
   * Engine.IO ping interval. Keep interval + timeout below the proxy's read timeout (nginx
   * proxy_read_timeout defaults to 60 s) or idle sockets get cut. @default 25000
   */
  PING_INTERVAL_MS: positiveInt(25_000),
  /** Engine.IO ping timeout. @default 20000 */
  PING_TIMEOUT_MS: positiveInt(20_000),
  /** gRPC address of the user service (one host:port, a comma list, or a grpc-js target). @default "127.0.0.1:50051" */
  USERS_TARGET: z.string().min(1).default("127.0.0.1:50051"),
  /**
   * Bearer token for the user service's writes. Lent only to /api/users callers the chat
   * authenticated with a CHAT_AUTH_SECRET token; without CHAT_AUTH_SECRET it is never sent, so a
   * user service that requires it refuses the page's writes (401). @default unset
   */
  USERS_AUTH_TOKEN: z.string().min(1).optional(),
  /** Built browser client served at `/`. @default "<workspace>/web/dist" */
  WEB_DIST: z.string().optional(),
  /** On SIGTERM, how long sockets may take to drain before Redis is closed anyway. @default 5000 */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(5_000),
  /** pino level. @default "info" */
  LOG_LEVEL: z.enum(logLevels).default("info"),
});

/** Every environment variable this service reads: docs/configuration.md lists each one (config.test.ts checks). */
export const chatEnvVariables: readonly string[] = Object.keys(schema.shape);

export interface ChatConfig {
  port: number;
  host: string;
  redisUrl: string;
  /** Seed nodes of the chat's Redis Cluster (redis:// URLs); empty = no cluster. */
  redisCluster: string[];
  serverId: string;
  authSecret: string | undefined;
  historySize: number;
  roomRetention: number;
  rateLimit: number;
  rateWindowMs: number;
  /** Express's `trust proxy`: hops, or proxy addresses and ranges. */
  trustProxy: number | string[];
  maxSocketsPerAddress: number;
  maxConnectsPerAddress: number;
  connectWindowMs: number;
  joinRateLimit: number;
  typingRateLimit: number;
  replayRateLimit: number;
  roomsPerUser: number;
  roomIdleTtlMs: number;
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  presenceTtlMs: number;
  nicknameReservationMs: number;
  /** Where user events are posted as notices; undefined when off. */
  userEventsRoom: string | undefined;
  /** `true` = any origin, `[]` = same origin only. */
  corsOrigins: true | string[];
  transports: (typeof transportNames)[number][];
  pingIntervalMs: number;
  pingTimeoutMs: number;
  usersTarget: string;
  usersAuthToken: string | undefined;
  webDist: string;
  shutdownTimeoutMs: number;
  logLevel: (typeof logLevels)[number];
}

/** Parses the environment; throws one error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ChatConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid chat configuration:\n${problems.join("\n")}`);
  }
  const c = parsed.data;
  const origins = c.CORS_ORIGIN.split(",").map((o) => o.trim()).filter((o) => o !== "");
  return {
    port: c.PORT,
    host: c.HOST,
    redisUrl: c.REDIS_URL,
    redisCluster: parseClusterNodes(c.CHAT_REDIS_CLUSTER),
    serverId: c.SERVER_ID,
    authSecret: c.CHAT_AUTH_SECRET,
    historySize: c.CHAT_HISTORY_SIZE,
    roomRetention: c.CHAT_ROOM_RETENTION,
    rateLimit: c.CHAT_RATE_LIMIT,
    rateWindowMs: c.CHAT_RATE_WINDOW_MS,
    trustProxy: c.CHAT_TRUST_PROXY,
    maxSocketsPerAddress: c.CHAT_MAX_SOCKETS_PER_ADDRESS,
    maxConnectsPerAddress: c.CHAT_MAX_CONNECTS_PER_ADDRESS,
    connectWindowMs: c.CHAT_CONNECT_WINDOW_MS,
    joinRateLimit: c.CHAT_JOIN_RATE_LIMIT,
    typingRateLimit: c.CHAT_TYPING_RATE_LIMIT,
    replayRateLimit: c.CHAT_REPLAY_RATE_LIMIT,
    roomsPerUser: c.CHAT_ROOMS_PER_USER,
    roomIdleTtlMs: c.CHAT_ROOM_IDLE_TTL_MS,
    maxPayloadBytes: c.CHAT_MAX_PAYLOAD_BYTES,
    maxBufferedBytes: c.CHAT_MAX_BUFFERED_BYTES,
    presenceTtlMs: c.CHAT_PRESENCE_TTL_MS,
    nicknameReservationMs: c.CHAT_NICKNAME_RESERVATION_MS,
    userEventsRoom: c.CHAT_USER_EVENTS_ROOM === "" ? undefined : c.CHAT_USER_EVENTS_ROOM,
    corsOrigins: origins.includes("*") ? true : origins,
    transports: c.CHAT_TRANSPORTS,
    pingIntervalMs: c.PING_INTERVAL_MS,
    pingTimeoutMs: c.PING_TIMEOUT_MS,
    usersTarget: c.USERS_TARGET,
    usersAuthToken: c.USERS_AUTH_TOKEN,
    webDist: c.WEB_DIST ?? fileURLToPath(new URL("../web/dist", import.meta.url)),
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    logLevel: c.LOG_LEVEL,
  };
}
