import type { Server as HttpServer } from "node:http";
import { Server, type ServerOptions } from "socket.io";
import type { Logger } from "pino";
import type { ChatConfig } from "../config.js";
import { disconnectWhenExpired } from "../auth/token-expiry.js";
import type { ChatTokens } from "../auth/tokens.js";
import { logActivity } from "../chat/activity-log.js";
import { registerChatHandlers, type ChatContext } from "../chat/chat.handlers.js";
import { boundSendBuffer, type EngineConnection } from "../chat/slow-consumer.js";
import type { ChatServerIo } from "../chat/socket-types.js";
import { clientAddress, type ProxyTrust } from "../http/client-address.js";
import type { ConnectionLimits } from "../http/connection-limits.js";
import { originAllowed } from "../http/cors.js";
import type { ChatMetrics } from "../http/metrics.js";

export type IoServerConfig = Pick<
  ChatConfig,
  "maxPayloadBytes" | "maxBufferedBytes" | "transports" | "pingIntervalMs" | "pingTimeoutMs" | "corsOrigins"
>;

export interface IoServerParts {
  http: HttpServer;
  /** The Redis adapter (plain or sharded), on connections the caller owns and closes. */
  adapter: NonNullable<ServerOptions["adapter"]>;
  connectionLimits: ConnectionLimits;
  trust: ProxyTrust;
  metrics: ChatMetrics;
  logger: Logger;
  isDraining: () => boolean;
}

/**
 * Socket.IO over the Redis adapter, admitting a handshake only while the replica is not draining,
 * from an allowed origin, and within the per-address connection limits.
 */
export function createIoServer({ http, adapter, connectionLimits, trust, metrics, isDraining }: IoServerParts, config: IoServerConfig): ChatServerIo {
  return new Server(http, {
    adapter,
    maxHttpBufferSize: config.maxPayloadBytes,
    transports: config.transports,
    pingInterval: config.pingIntervalMs,
    pingTimeout: config.pingTimeoutMs,
    cors: { origin: config.corsOrigins === true ? true : config.corsOrigins },
    allowRequest: (req, callback) => {
      if (isDraining()) return callback("server shutting down", false);
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
}

export interface SocketWiring {
  ctx: ChatContext;
  tokens: ChatTokens | undefined;
  connectionLimits: ConnectionLimits;
  trust: ProxyTrust;
  /** What waits to be written to each open connection, in bytes (filled here, read by metrics). */
  sendBuffers: Map<EngineConnection, () => number>;
  maxBufferedBytes: number;
}

/**
 * Every connection: its address counted open until it closes, its send buffer bounded, its token
 * checked at the handshake (and the socket closed when the token expires), its activity logged
 * and its events handled. Returns the set of per-socket cleanups a graceful close waits for.
 */
export function wireSockets(io: ChatServerIo, { ctx, tokens, connectionLimits, trust, sendBuffers, maxBufferedBytes }: SocketWiring): Set<Promise<void>> {
  const { metrics, logger } = ctx;
  io.engine.on("connection", (conn: EngineConnection) => {
    conn.once("close", connectionLimits.opened(clientAddress(conn.request, trust)));
    const waiting = boundSendBuffer(conn, maxBufferedBytes, (waitingBytes) => {
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
  io.on("connection", (socket) => {
    if (socket.data.tokenExpiresAt !== undefined) {
      disconnectWhenExpired(socket, socket.data.tokenExpiresAt, () => metrics.rejected.inc({ code: "TOKEN_EXPIRED" }));
    }
    logActivity(socket, logger);
    const done = registerChatHandlers(socket, ctx);
    cleanups.add(done);
    void done.finally(() => cleanups.delete(done));
  });
  return cleanups;
}
