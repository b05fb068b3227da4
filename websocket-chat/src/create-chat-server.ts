import { createServer, type Server as HttpServer } from "node:http";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import type { Logger } from "pino";
import type { UserServiceClient } from "grpc-demo/client";
import type { ChatConfig } from "./config.js";
import { disconnectWhenExpired } from "./auth/token-expiry.js";
import { ChatTokens, bearerToken } from "./auth/tokens.js";
import { logActivity } from "./chat/activity-log.js";
import { registerChatHandlers, ioRooms } from "./chat/chat.handlers.js";
import { Presence } from "./chat/presence.js";
import { RateLimiter } from "./chat/rate-limiter.js";
import { RoomFanout } from "./chat/room-fanout.js";
import { RoomHistory } from "./chat/room-history.js";
import { ChatHeartbeat } from "./cluster/heartbeat.js";
import { ClusterViewReader } from "./cluster/cluster-view.js";
import { boundSendBuffer, type EngineConnection } from "./chat/slow-consumer.js";
import type { ChatServerIo } from "./chat/socket-types.js";
import { clusterRouter } from "./http/cluster.routes.js";
import { clientAddress, type ProxyTrust } from "./http/client-address.js";
import { ConnectionLimits } from "./http/connection-limits.js";
import { corsMiddleware, originAllowed } from "./http/cors.js";
import { createChatMetrics, type ChatMetrics } from "./http/metrics.js";
import { usersRouter } from "./http/users.routes.js";
import { closeRedis, isRedisUnavailable, type RedisClient } from "@clusterkit/redis-kit";
import { UsersFeed, type UsersFeedOptions } from "./users/users-feed.js";

export type ChatServerConfig = Pick<
  ChatConfig,
  | "serverId"
  | "authSecret"
  | "historySize"
  | "roomRetention"
  | "rateLimit"
  | "rateWindowMs"
  | "trustProxy"
  | "maxSocketsPerAddress"
  | "maxConnectsPerAddress"
  | "connectWindowMs"
  | "joinRateLimit"
  | "typingRateLimit"
  | "replayRateLimit"
  | "roomsPerUser"
  | "roomIdleTtlMs"
  | "maxPayloadBytes"
  | "maxBufferedBytes"
  | "presenceTtlMs"
  | "nicknameReservationMs"
  | "corsOrigins"
  | "transports"
  | "pingIntervalMs"
  | "pingTimeoutMs"
  | "webDist"
  | "shutdownTimeoutMs"
  | "usersAuthToken"
> & { usersFeed?: UsersFeedOptions };

export interface ChatServerDeps {
  /** Commands connection. The server duplicates it for the adapter, its subscriber, its catch-up reads and the users reader, and closes those itself. */
  redis: RedisClient;
  logger: Logger;
  /**
   * The user service, connected without a credential: the chat's own calls (the users feed) are
   * reads. Writes made for a caller carry `config.usersAuthToken` only when the chat authenticated
   * that caller. Without a client the users feed and `/api/users` answer UNAVAILABLE.
   */
  users?: UserServiceClient | undefined;
}

export interface ChatServerHandle {
  io: ChatServerIo;
  http: HttpServer;
  metrics: ChatMetrics;
  /** Resolves once the live users view has its first snapshot (never, without a user service). */
  usersFeedReady: Promise<void>;
  /** This process's presence identity (`<serverId>:<random>`). */
  instance: string;
  /** Listens; resolves with the bound port (pass 0 for any). */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Graceful stop: /readyz fails, new connections are refused, every socket is closed at the
   * transport level (so clients reconnect, to another replica behind the proxy), presence is
   * withdrawn, then the server's own Redis connections close. Bounded by shutdownTimeoutMs.
   */
  close(): Promise<void>;
  /**
   * Drops everything at once and cleans nothing up, as a crash (SIGKILL) would: the cluster only
   * finds out when the presence lease runs out. For tests and chaos demos.
   */
  abort(): Promise<void>;
}

/**
 * users:subscribe calls per user (or per socket of an anonymous client) and window: a page
 * subscribes once per connection, again after a users-stream reset.
 */
const USERS_SUBSCRIBE_LIMIT = 10;

const securityHeaders = (_req: Request, res: Response, next: NextFunction) => {
  res.setHeader(
    "Content-Security-Policy",
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  );
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  next();
};

async function duplicate(redis: RedisClient, logger: Logger, role: string): Promise<RedisClient> {
  // Queue while reconnecting: the adapter publishes without awaiting, and a rejected publish
  // would be an unhandled rejection; a catch-up read should wait for Redis rather than fail;
  // subscribers and the blocking reader do not care either way. Named by role in CLIENT LIST.
  const name = `${redis.options?.name ?? "chat"}:${role}`;
  const client = redis.duplicate({ disableOfflineQueue: false, name });
  client.on("error", (error: Error) => logger.warn({ err: error, connection: role }, "redis connection error"));
  await client.connect();
  return client;
}

/**
 * The adapter publishes without awaiting: if Redis drops while a publish waits for its reply, the
 * rejection would go unhandled and, by Node's default, end the process. Every publish gets a
 * handler here (the broadcast is lost either way; the adapter cannot retry it).
 */
function guardPublishes(pub: RedisClient, logger: Logger): void {
  const publish = pub.publish.bind(pub);
  pub.publish = ((...args: Parameters<typeof publish>) => {
    const sent = publish(...args);
    sent.catch((error: unknown) => logger.warn({ err: error }, "a broadcast was lost: Redis dropped while publishing"));
    return sent;
  });
}

/**
 * Builds one chat replica from its parts: express (health, metrics, users API, the page), Socket.IO
 * over the Redis adapter, room history, presence and the users feed. Nothing listens until
 * `listen()`; `main.ts` is the only caller that reads the environment.
 */
export async function createChatServer(deps: ChatServerDeps, config: ChatServerConfig): Promise<ChatServerHandle> {
  const { redis, logger } = deps;
  const [pub, sub, roomSub, roomReader, usersReader] = await Promise.all([
    duplicate(redis, logger, "adapter-pub"),
    duplicate(redis, logger, "adapter-sub"),
    duplicate(redis, logger, "room-messages"),
    duplicate(redis, logger, "room-catch-up"),
    duplicate(redis, logger, "users-events"),
  ]);
  guardPublishes(pub, logger);
  const ownConnections = [pub, sub, roomSub, roomReader, usersReader];
  const tokens = config.authSecret ? new ChatTokens(config.authSecret) : undefined;
  let draining = false;
  let aborted = false;

  const app = express();
  app.disable("x-powered-by");
  // Only the configured proxies' X-Forwarded-For is believed (CHAT_TRUST_PROXY): the client
  // address keys the /api rate limit and the connection limits, so a client must not choose it.
  app.set("trust proxy", config.trustProxy);
  const trust = app.get("trust proxy fn") as ProxyTrust;
  const connectionLimits = new ConnectionLimits({
    maxSockets: config.maxSocketsPerAddress,
    maxConnects: config.maxConnectsPerAddress,
    windowMs: config.connectWindowMs,
  });
  const http = createServer(app);
  const io: ChatServerIo = new Server(http, {
    adapter: createAdapter(pub, sub),
    maxHttpBufferSize: config.maxPayloadBytes,
    transports: config.transports,
    pingInterval: config.pingIntervalMs,
    pingTimeout: config.pingTimeoutMs,
    cors: { origin: config.corsOrigins === true ? true : config.corsOrigins },
    allowRequest: (req, callback) => {
      if (draining) return callback("server shutting down", false);
      if (!originAllowed(config.corsOrigins, req.headers.origin, req.headers.host)) return callback("origin not allowed", false);
      // Called for new sessions only. Synchronous on purpose: Engine.IO goes from here to its
      // "connection" event (where the connection is counted open) without yielding to I/O, so
      // a burst of handshakes cannot all pass before the first is counted.
      const refused = connectionLimits.admit(clientAddress(req, trust));
      if (refused) {
        metrics.rejected.inc({ code: "TOO_MANY_CONNECTIONS" });
        return callback(refused, false);
      }
      callback(null, true);
    },
  });

  /** What waits to be written to each open connection, in bytes (see slow-consumer.ts). */
  const sendBuffers = new Map<EngineConnection, () => number>();

  const historyOptions = { historySize: config.historySize, retention: config.roomRetention, idleTtlMs: config.roomIdleTtlMs };
  const history = new RoomHistory(redis, historyOptions);
  // After a Redis restart the subscriber may be back before the commands connection (which fails
  // fast while offline, for senders): catch-up reads go through their own, queueing connection.
  const catchUpHistory = new RoomHistory(roomReader, historyOptions);
  const fanout = new RoomFanout(roomSub, io, logger, {
    onDelivered: (dialect, count, message) => {
      deliveredBy[dialect].inc(count);
      // Private messages stay out of the cluster view: their "room" is a nickname.
      if (dialect !== "private") heartbeat.delivered(message, count);
    },
    readAfter: async (room, after) => {
      const replay = await catchUpHistory.after(room, after);
      return { messages: replay.messages, reset: replay.unknown };
    },
  });
  const metrics = createChatMetrics(config.serverId, {
    sockets: () => io.of("/").sockets.size,
    rooms: () => fanout.roomCount,
    usersSubscribers: () => usersFeed.subscriberCount,
    largestSendBuffer: () => [...sendBuffers.values()].reduce((max, waiting) => Math.max(max, waiting()), 0),
  });
  // Labelled children looked up once: deliveries are counted per message, on the hot path.
  const deliveredBy = {
    kit: metrics.messagesOut.labels({ kind: "kit" }),
    handout: metrics.messagesOut.labels({ kind: "handout" }),
    private: metrics.messagesOut.labels({ kind: "private" }),
  };
  const presence = new Presence(redis, logger, {
    serverId: config.serverId,
    ttlMs: config.presenceTtlMs,
    reservationMs: config.nicknameReservationMs,
    onLeft: (room, nickname, members) =>
      io.to(ioRooms.room(room)).emit("chat:presence", { room, nickname, action: "left", members }),
    onNicknameLost: (key) => {
      for (const socket of io.of("/").sockets.values()) {
        if (socket.data.nicknameKey !== key) continue;
        const message = `'${socket.data.nickname}' was taken while the chat store was being restored; choose another`;
        socket.emit("chat:error", { code: "NICKNAME_TAKEN", message, event: "chat:identify" });
        socket.disconnect(true);
      }
    },
  });
  const limiter = new RateLimiter(redis, {
    windowMs: config.rateWindowMs,
    limits: {
      message: config.rateLimit,
      join: config.joinRateLimit,
      typing: config.typingRateLimit,
      replay: config.replayRateLimit,
      subscribe: USERS_SUBSCRIBE_LIMIT,
    },
    roomsPerUser: config.roomsPerUser,
    roomIdleTtlMs: config.roomIdleTtlMs,
  });
  const total = async (counter: ChatMetrics["messagesIn"]) => (await counter.get()).values.reduce((sum, { value }) => sum + value, 0);
  const heartbeat = new ChatHeartbeat(redis, logger, {
    serverId: config.serverId,
    instance: presence.instance,
    leaseMs: config.presenceTtlMs,
    sample: async () => ({
      connections: io.of("/").sockets.size,
      rooms: fanout.roomCount,
      messagesIn: await total(metrics.messagesIn),
      messagesOut: await total(metrics.messagesOut),
    }),
  });
  const usersFeed = new UsersFeed(
    {
      users: deps.users,
      reader: usersReader,
      logger,
      onEvent: () => metrics.userEvents.inc(),
      onPageEncoded: () => metrics.usersPagesEncoded.inc(),
      onReset: () => metrics.usersFeedResets.inc(),
    },
    // A page is a small share of what one connection may have waiting, so a page and the live
    // events behind it always fit under the bound.
    { pageBytes: Math.min(262_144, Math.floor(config.maxBufferedBytes / 4)), ...config.usersFeed },
  );

  // --- HTTP ---
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", server: config.serverId });
  });
  app.get("/readyz", async (_req, res) => {
    if (draining) return res.status(503).json({ status: "draining", server: config.serverId });
    try {
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("redis ping timed out")), 1_000).unref()),
      ]);
      res.json({ status: "ready", server: config.serverId, usersFeed: usersFeed.ready ? "ready" : "loading" });
    } catch (error) {
      res.status(503).json({ status: "redis unreachable", server: config.serverId, detail: (error as Error).message });
    }
  });
  app.get("/metrics", async (_req, res) => {
    res.setHeader("Content-Type", metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  app.use("/api", corsMiddleware(config.corsOrigins), express.json({ limit: "16kb" }));
  if (tokens) {
    app.use("/api", async (req, res, next) => {
      try {
        res.locals.subject = (await tokens.verify(bearerToken(req.headers.authorization))).nickname;
        next();
      } catch (error) {
        res.status(401).json({ error: { code: "UNAUTHENTICATED", message: (error as Error).message } });
      }
    });
  }
  app.use("/api/cluster", clusterRouter(new ClusterViewReader(redis, config.serverId), logger));
  // Changes share the chat's budget: per token subject, else per client address (behind a
  // trusted proxy, the address it forwards; see CHAT_TRUST_PROXY).
  app.use("/api/users", async (req, res, next) => {
    if (req.method === "GET" || req.method === "OPTIONS") return next();
    try {
      const decision = await limiter.hit(`api:${(res.locals.subject as string | undefined) ?? req.ip}`);
      if (decision.allowed) return next();
      res.setHeader("Retry-After", String(Math.ceil(decision.retryAfterMs / 1000)));
      const message = `too many changes; try again in ${Math.ceil(decision.retryAfterMs / 1000)} s`;
      res.status(429).json({ error: { code: "RATE_LIMITED", message, retryAfterMs: decision.retryAfterMs } });
    } catch (error) {
      if (!isRedisUnavailable(error)) return next(error);
      res.status(503).json({ error: { code: "UNAVAILABLE", message: "the chat store is unreachable right now" } });
    }
  });
  if (config.usersAuthToken && !tokens) {
    logger.warn(
      "USERS_AUTH_TOKEN is set but CHAT_AUTH_SECRET is not: /api/users callers are anonymous, so the chat sends their writes without the token (a user service that requires one answers 401)",
    );
  }
  app.use("/api/users", usersRouter(deps.users, logger, { credential: config.usersAuthToken }));
  app.use("/api", (error: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = error.status && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error }, "API request failed");
    const message = error.type === "entity.parse.failed" ? "the body is not valid JSON" : status === 500 ? "internal error" : error.message;
    res.status(status).json({ error: { code: status === 500 ? "INTERNAL" : "INVALID_ARGUMENT", message } });
  });
  app.use(securityHeaders, express.static(config.webDist, { index: "index.html", maxAge: "1h" }));
  app.get("/", (_req, res) => {
    const built = existsSync(join(config.webDist, "index.html"));
    res.type("text/plain").send(built ? "" : "The web client is not built yet: npm run build:web -w websocket-chat\n");
  });

  // --- Socket.IO ---
  io.engine.on("connection", (conn: EngineConnection) => {
    conn.once("close", connectionLimits.opened(clientAddress(conn.request, trust)));
    const waiting = boundSendBuffer(conn, config.maxBufferedBytes, (waitingBytes) => {
      metrics.slowConsumers.inc();
      logger.warn({ waitingBytes, address: conn.remoteAddress }, "cut off a client that stopped reading");
    });
    sendBuffers.set(conn, waiting);
    conn.once("close", () => sendBuffers.delete(conn));
  });
  io.use((socket, next) => {
    socket.data.nickname = undefined;
    socket.data.nicknameKey = undefined;
    socket.data.tokenNickname = undefined;
    socket.data.tokenExpiresAt = undefined;
    if (!tokens) return next();
    tokens.verify(socket.handshake.auth.token).then(
      (identity) => {
        socket.data.tokenNickname = identity.nickname;
        socket.data.tokenExpiresAt = identity.expiresAt;
        next();
      },
      (error: unknown) => {
        metrics.rejected.inc({ code: "UNAUTHENTICATED" });
        next(Object.assign(new Error((error as Error).message), { data: { code: "UNAUTHENTICATED" } }));
      },
    );
  });

  // One promise per connected socket, settled once it has disconnected and cleaned up after
  // itself: a graceful close waits for all of them.
  const cleanups = new Set<Promise<void>>();
  const ctx = {
    io,
    serverId: config.serverId,
    presence,
    history,
    fanout,
    limiter,
    usersFeed,
    metrics,
    maxReplyBytes: Math.floor(config.maxBufferedBytes / 2),
    logger,
    isAborted: () => aborted,
  };
  io.on("connection", (socket) => {
    if (socket.data.tokenExpiresAt !== undefined) {
      disconnectWhenExpired(socket, socket.data.tokenExpiresAt, () => metrics.rejected.inc({ code: "TOKEN_EXPIRED" }));
    }
    logActivity(socket, logger);
    const done = registerChatHandlers(socket, ctx);
    cleanups.add(done);
    void done.finally(() => cleanups.delete(done));
  });

  await fanout.start();
  await presence.start();
  await heartbeat.start();
  usersFeed.start();

  const closeConnections = async () => {
    await Promise.all(ownConnections.map((client) => closeRedis(client)));
  };

  return {
    io,
    http,
    metrics,
    instance: presence.instance,
    usersFeedReady: usersFeed.whenReady,
    listen(port, host = "0.0.0.0") {
      return new Promise((resolve, reject) => {
        http.once("error", reject);
        http.listen(port, host, () => {
          http.off("error", reject);
          resolve((http.address() as AddressInfo).port);
        });
      });
    },
    async close() {
      if (draining) return;
      draining = true;
      const bound = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeoutMs).unref());
      const drain = async () => {
        http.close();
        // A transport-level close reads as a lost connection: clients reconnect on their own.
        for (const socket of io.of("/").sockets.values()) socket.conn.close();
        await Promise.all(cleanups);
      };
      await Promise.race([drain(), bound]);
      fanout.stop();
      await usersFeed.stop();
      await presence.stop(true).catch((error: unknown) => logger.warn({ err: error }, "could not withdraw presence"));
      await heartbeat.stop(true).catch((error: unknown) => logger.warn({ err: error }, "could not withdraw the cluster heartbeat"));
      await io.close().catch(() => undefined);
      http.closeAllConnections();
      await closeConnections();
    },
    async abort() {
      aborted = true;
      draining = true;
      fanout.stop();
      await presence.stop(false);
      await heartbeat.stop(false);
      await Promise.all(ownConnections.filter((client) => client.isOpen).map((client) => client.disconnect().catch(() => undefined)));
      io.engine.close();
      http.closeAllConnections();
      http.close();
      await usersFeed.stop();
    },
  };
}
