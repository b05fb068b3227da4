import { isIP } from "node:net";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { parseClusterNodes } from "@clusterkit/redis-kit";
import { ROOM_PATTERN } from "./contracts/limits.js";

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const transportNames = ["polling", "websocket"] as const;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const atLeast = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

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
 * Every setting of a chat replica, each with its default and the one description there is of it:
 * `npm run docs:config` renders these into docs/configuration.md (markdown, links relative to
 * docs/), and scripts/docs/config-tables.test.ts fails when that page differs. Read from the
 * environment once, in `main.ts`; a bad value stops the start with the variable's name.
 */
export const chatEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe("HTTP and Socket.IO port"),
  HOST: z.string().min(1).default("0.0.0.0").describe("bind address"),
  REDIS_URL: z
    .string()
    .url()
    .default("redis://127.0.0.1:6379")
    .describe(
      "the Redis every replica shares (adapter, history, presence, users events); with `CHAT_REDIS_CLUSTER`, only the users " +
        "service's side (its event stream, its heartbeats)",
    ),
  CHAT_REDIS_CLUSTER: z
    .string()
    .default("")
    .refine((value) => value.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "").every((entry) => /^(rediss?:\/\/)?[\w.-]+:\d{1,5}$/.test(entry)), {
      message: "give a comma list of host:port (or redis://host:port) cluster nodes",
    })
    .describe(
      "a Redis Cluster (Redis 7) for the chat's own keys and channels: a comma list of a few of its nodes (`host:port` or " +
        "`redis://host:port`), the rest are discovered. Rooms spread over the masters; room channels and the Socket.IO " +
        "adapter use sharded pub/sub, so a replica receives only the traffic of rooms it has members in. Empty: everything " +
        "on `REDIS_URL`",
    ),
  SERVER_ID: z
    .string()
    .min(1)
    .max(64)
    .default(hostname())
    // The default is this machine's name: the page shows the word, not the name of the machine that rendered it.
    .meta({ description: "replica name shown on every message it accepts, and on metrics (≤ 64 characters)", defaultShown: "hostname" }),
  CHAT_AUTH_SECRET: z
    .string()
    .min(32, "must be at least 32 characters")
    .optional()
    .describe(
      "HS256 secret, at least 32 characters. When set, every socket needs `auth: { token }` and `/api` a bearer token; " +
        "the nickname comes from the token's `sub`. Tokens must carry `exp`; a socket is closed (`TOKEN_EXPIRED`) when it passes",
    ),
  CHAT_HISTORY_SIZE: z.coerce.number().int().min(0).max(1000).default(50).describe("messages a newcomer gets on join (0–1000)"),
  CHAT_ROOM_RETENTION: positiveInt(1000).describe(
    "messages kept per room (a capped stream); a client further behind gets `truncated: true`",
  ),
  CHAT_RATE_LIMIT: positiveInt(20).describe(
    "messages (room and private) one user may send per window, cluster-wide; `/api/users` changes share the budget " +
      "per token subject or client address (429 with `Retry-After`)",
  ),
  CHAT_TRUST_PROXY: trustProxy.describe(
    "proxies whose `X-Forwarded-For` names the client (for the `/api` rate limit and the connection limits): a number " +
      "of hops, or a comma list of proxy addresses, CIDR ranges, `loopback`, `linklocal`, `uniquelocal`. `0` believes no " +
      "header. Compose sets `1` (its nginx, which overwrites the header); trust only proxies that overwrite it, or a " +
      "client picks its own address",
  ),
  CHAT_MAX_SOCKETS_PER_ADDRESS: positiveInt(100).describe(
    "Socket.IO connections one client address may hold open on one replica; the next handshake is refused (HTTP 403 with the reason)",
  ),
  CHAT_MAX_CONNECTS_PER_ADDRESS: positiveInt(60).describe(
    "new Socket.IO connections one client address may open on one replica per `CHAT_CONNECT_WINDOW_MS`; more are " +
      "refused until the rate drops",
  ),
  CHAT_CONNECT_WINDOW_MS: positiveInt(10_000).describe("the window of `CHAT_MAX_CONNECTS_PER_ADDRESS`"),
  CHAT_RATE_WINDOW_MS: positiveInt(10_000).describe("the rate-limit window, shared by every budget"),
  CHAT_JOIN_RATE_LIMIT: positiveInt(100).describe(
    "joins (`chat:join`, `join_room` of a new room) and `users:subscribe` calls one user may make per window (a page " +
      "coming back rejoins each of its ≤ 50 rooms at once)",
  ),
  CHAT_TYPING_RATE_LIMIT: positiveInt(30).describe(
    "typing hints one socket may send per window (counted in the replica; the page sends one every 2 s at most)",
  ),
  CHAT_REPLAY_RATE_LIMIT: positiveInt(1_000_000).describe(
    "characters one user's joins may be sent back per window (history and replay, each message its text + 100); " +
      "charged after the read; a join is refused once it is spent, so a forged `since` into a full room of " +
      "2000-character messages (~2 M) gets through about once per window. A page rejoining 50 rooms of 50 short " +
      "messages costs ~0.5 M; raise it with `CHAT_HISTORY_SIZE`",
  ),
  CHAT_ROOMS_PER_USER: positiveInt(200).describe(
    "different rooms one user may `chat:join` within `CHAT_ROOM_IDLE_TTL_MS`; past it a new room is refused " +
      "(`RATE_LIMITED`, `retryAfterMs` = until the oldest stops counting)",
  ),
  CHAT_ROOM_IDLE_TTL_MS: atLeast(1_000, 86_400_000).describe(
    "a room's stream or private inbox expires this long after its last message or join (24 h), so abandoned rooms " +
      "do not pile up; a client coming back with a `since` into an expired room gets `history`, as after a Redis reset",
  ),
  CHAT_MAX_PAYLOAD_BYTES: positiveInt(16_384).describe("largest Socket.IO packet; a bigger one closes that connection"),
  CHAT_MAX_BUFFERED_BYTES: atLeast(16_384, 1_048_576).describe(
    "bytes one connection may have waiting to be written (Engine.IO's queue plus the WebSocket's); a packet that " +
      "would exceed it, the first one included, cuts it off (a client that stops reading costs at most this much; " +
      "users snapshot pages are a quarter of it, 256 KiB at most; join and identify replies drop their oldest " +
      "messages rather than exceed half of it)",
  ),
  CHAT_TRANSPORTS: z
    .string()
    .default("polling,websocket")
    .transform((value) => [...new Set(value.split(",").map((t) => t.trim()).filter((t) => t !== ""))])
    .pipe(z.array(z.enum(transportNames)).min(1, "name at least one of polling, websocket"))
    .describe(
      "transports a client may use. `websocket` alone skips the long-polling handshake (connecting costs about a " +
        "third of the server CPU, see [Performance](benchmarks.md#performance)) and needs no sticky sessions, but " +
        "refuses clients that start with polling, such as the handout's page; the kit's page starts with WebSocket",
    ),
  CHAT_PRESENCE_TTL_MS: atLeast(300, 10_000).describe(
    "a replica that stops heartbeating is dead after this long and its members leave every list; it heartbeats " +
      "every third of it (at least 300)",
  ),
  CHAT_NICKNAME_RESERVATION_MS: atLeast(0, 86_400_000).describe(
    "how long (24 h) a nickname stays its owner's (browser session key or token subject) after the owner's last " +
      "socket; it never lapses while one is connected, and its private inbox lives as long. Another key is refused " +
      "`NICKNAME_TAKEN` until then, and whoever takes it later starts with an empty inbox. `0` = released with the " +
      "last socket. See [security.md](security.md#identity-default-mode-and-token-mode)",
  ),
  CHAT_USER_EVENTS_ROOM: z
    .union([z.literal(""), z.string().regex(ROOM_PATTERN, "a room name: 1-64 letters, digits, '_', '.', '-'")])
    .default("user-events")
    .describe(
      "the room that subscribes to the user service's domain events: every create, update and delete is posted " +
        "there once, cluster-wide, by `users service` (stored and replayed like any message: the API → Redis → room " +
        "path). Empty turns it off",
    ),
  CORS_ORIGIN: z
    .string()
    .default("")
    .describe(
      "comma list of other origins allowed (`*` = any); the same origin always is; applies to WebSocket upgrades too",
    ),
  PING_INTERVAL_MS: positiveInt(25_000).describe(
    "Engine.IO ping interval; keep interval + timeout below the proxy's read timeout (nginx's default: 60 s; the " +
      "kit's nginx: 75 s) or idle sockets get cut",
  ),
  PING_TIMEOUT_MS: positiveInt(20_000).describe("Engine.IO ping timeout"),
  USERS_TARGET: z
    .string()
    .min(1)
    .default("127.0.0.1:50051")
    .describe(
      "the user service: `host:port`, a comma list (resolved once), or a grpc-js target such as `dns:///users:50051`",
    ),
  USERS_AUTH_TOKEN: z
    .string()
    .min(1)
    .optional()
    .describe(
      "bearer token for the user service's writes, lent only to `/api/users` callers signed in with a " +
        "`CHAT_AUTH_SECRET` token. Without `CHAT_AUTH_SECRET` it is never sent: a user service that requires a token " +
        "then refuses the page's writes (401); reads and the live users view work either way",
    ),
  WEB_DIST: z.string().default(fileURLToPath(new URL("../web/dist", import.meta.url))).describe("the built page served at `/`"),
  SHUTDOWN_TIMEOUT_MS: atLeast(0, 5_000).describe("on SIGTERM, how long sockets may drain before Redis is closed anyway"),
  LOG_LEVEL: z
    .enum(logLevels)
    .default("info")
    .describe(
      "pino level; `info` logs each socket's connect, identify, join, leave, logout and disconnect (replica, room, " +
        "nickname), `debug` adds message text",
    ),
});

/** The parsed settings: each field is one variable of {@link chatEnvSchema}, whose description and default are there. */
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
  const parsed = chatEnvSchema.safeParse(env);
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
    webDist: c.WEB_DIST,
    shutdownTimeoutMs: c.SHUTDOWN_TIMEOUT_MS,
    logLevel: c.LOG_LEVEL,
  };
}
