import type { Server as HttpServer } from "node:http";
import { Server, type ServerOptions } from "socket.io";
import type { Logger } from "pino";
import type { ChatConfig } from "../config.js";
import { disconnectWhenExpired } from "../auth/token-expiry.js";
import type { ChatTokens } from "../auth/tokens.js";
import { activityLog } from "../chat/activity-log.js";
import { createChatHandlers, type ChatContext, type ChatHandlers } from "../chat/chat.handlers.js";
import type { EngineConnection, SendBufferBound } from "../chat/slow-consumer.js";
import type { ChatServerIo } from "../chat/socket-types.js";
import { clientAddress, type ProxyTrust } from "../http/client-address.js";
import type { ConnectionLimits } from "../http/connection-limits.js";
import { originAllowed } from "../http/cors.js";
import type { ChatMetrics } from "../metrics.js";

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
  /** Bounds what waits to be written to each open connection (and tells the metrics the largest). */
  sendBuffers: SendBufferBound;
}

/**
 * Every connection: its address counted open until it closes, its send buffer bounded, its token
 * checked at the handshake (and the socket closed when the token expires), its activity logged
 * and its events handled. Every listener here is one function shared by all connections (Node's
 * emitters call it with the emitter as `this`), so a connection costs records, not closures.
 * Returns the socket handlers, whose cleanups a graceful close waits for.
 */
export function wireSockets(io: ChatServerIo, { ctx, tokens, connectionLimits, trust, sendBuffers }: SocketWiring): ChatHandlers {
  const { metrics, logger } = ctx;
  // Each connection's address, counted against the per-address limits until it closes.
  const addresses = new Map<EngineConnection, string>();
  function onConnectionClose(this: EngineConnection): void {
    const address = addresses.get(this);
    if (address === undefined) return;
    addresses.delete(this);
    connectionLimits.closed(address);
  }
  io.engine.on("connection", (conn: EngineConnection) => {
    const address = clientAddress(conn.request, trust);
    addresses.set(conn, address);
    connectionLimits.opened(address);
    conn.once("close", onConnectionClose);
    sendBuffers.watch(conn);
    // Nothing reads the handshake's HTTP request after this (the token comes in the CONNECT
    // packet, the origin was checked in allowRequest): letting it go frees its headers and
    // parser state for as long as the connection lives, as Socket.IO's memory guide advises.
    (conn as { request: unknown }).request = null;
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
  const handlers = createChatHandlers(ctx, activityLog(logger));
  io.on("connection", (socket) => {
    if (socket.data.tokenExpiresAt !== undefined) {
      disconnectWhenExpired(socket, socket.data.tokenExpiresAt, () => metrics.rejected.inc({ code: "TOKEN_EXPIRED" }));
    }
    handlers.connect(socket);
  });
  return handlers;
}
