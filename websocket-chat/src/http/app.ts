import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { UserServiceClient } from "../users/users-contract.js";
import type { ChatConfig } from "../config.js";
import { bearerToken, type ChatTokens } from "../auth/tokens.js";
import type { RateLimiter } from "../chat/rate-limiter.js";
import { ClusterViewReader } from "../cluster/cluster-view.js";
import { isRedisUnavailable, pingStore, type RedisClient, type RedisStore } from "@clusterkit/redis-kit";
import type { UsersFeed } from "../users/users-feed.js";
import { clusterRouter } from "./cluster.routes.js";
import type { ProxyTrust } from "./client-address.js";
import { corsMiddleware } from "./cors.js";
import type { ChatMetrics } from "../metrics.js";
import { usersRouter } from "./users.routes.js";

export type HttpAppConfig = Pick<ChatConfig, "serverId" | "trustProxy" | "corsOrigins" | "webDist" | "usersAuthToken">;

export interface HttpAppParts {
  /** The chat's own data (one Redis or a cluster): /readyz pings it. */
  store: RedisStore;
  /** The users service's Redis (the same one as `store` unless the chat runs on a cluster). */
  redis: RedisClient;
  logger: Logger;
  metrics: ChatMetrics;
  limiter: RateLimiter;
  usersFeed: UsersFeed;
  users: UserServiceClient | undefined;
  /** Set when CHAT_AUTH_SECRET is: `/api` then needs a bearer token. */
  tokens: ChatTokens | undefined;
  /** True once a graceful close began: /readyz fails so proxies stop sending. */
  isDraining: () => boolean;
}

const securityHeaders = (_req: Request, res: Response, next: NextFunction) => {
  res.setHeader(
    "Content-Security-Policy",
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  );
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  next();
};

/**
 * The replica's express app: health and readiness, metrics, the users REST twin and the cluster
 * view under /api, and the built page. Returns the app and the proxy-trust function that keys
 * per-address limits (only the configured proxies' X-Forwarded-For is believed: a client must
 * not choose its own address).
 */
export function createHttpApp(parts: HttpAppParts, config: HttpAppConfig): { app: Express; trust: ProxyTrust } {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  const trust = app.get("trust proxy fn") as ProxyTrust;
  addProbes(app, parts, config);
  addApi(app, parts, config);
  app.use(securityHeaders, express.static(config.webDist, { index: "index.html", maxAge: "1h" }));
  app.get("/", (_req, res) => {
    const built = existsSync(join(config.webDist, "index.html"));
    res.type("text/plain").send(built ? "" : "The web client is not built yet: npm run build:web -w websocket-chat\n");
  });
  return { app, trust };
}

function addProbes(app: Express, { store, metrics, usersFeed, isDraining }: HttpAppParts, config: HttpAppConfig): void {
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", server: config.serverId });
  });
  app.get("/readyz", (_req, res) => {
    if (isDraining()) return res.status(503).json({ status: "draining", server: config.serverId });
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("redis ping timed out")), 1_000).unref());
    Promise.race([pingStore(store), timeout]).then(
      () => res.json({ status: "ready", server: config.serverId, usersFeed: usersFeed.ready ? "ready" : "loading" }),
      (error: unknown) => res.status(503).json({ status: "redis unreachable", server: config.serverId, detail: (error as Error).message }),
    );
  });
  app.get("/metrics", (_req, res, next) => {
    res.setHeader("Content-Type", metrics.registry.contentType);
    metrics.registry.metrics().then((text) => res.send(text), next);
  });
}

function addApi(app: Express, { store, redis, logger, limiter, users, tokens }: HttpAppParts, config: HttpAppConfig): void {
  app.use("/api", corsMiddleware(config.corsOrigins), express.json({ limit: "16kb" }));
  if (tokens) {
    app.use("/api", (req, res, next) => {
      tokens.verify(bearerToken(req.headers.authorization)).then(
        (identity) => {
          res.locals.subject = identity.nickname;
          next();
        },
        (error: unknown) => res.status(401).json({ error: { code: "UNAUTHENTICATED", message: (error as Error).message } }),
      );
    });
  }
  app.use("/api/cluster", clusterRouter(new ClusterViewReader(store, redis, config.serverId), logger));
  // Changes share the chat's budget: per token subject, else per client address (behind a
  // trusted proxy, the address it forwards; see CHAT_TRUST_PROXY).
  app.use("/api/users", (req, res, next) => {
    if (req.method === "GET" || req.method === "OPTIONS") return next();
    limiter.hit(`api:${(res.locals.subject as string | undefined) ?? req.ip}`).then(
      (decision) => {
        if (decision.allowed) return next();
        res.setHeader("Retry-After", String(Math.ceil(decision.retryAfterMs / 1000)));
        const message = `too many changes; try again in ${Math.ceil(decision.retryAfterMs / 1000)} s`;
        res.status(429).json({ error: { code: "RATE_LIMITED", message, retryAfterMs: decision.retryAfterMs } });
      },
      (error: unknown) => {
        if (!isRedisUnavailable(error)) return next(error);
        res.status(503).json({ error: { code: "UNAVAILABLE", message: "the chat store is unreachable right now" } });
      },
    );
  });
  if (config.usersAuthToken && !tokens) {
    logger.warn(
      "USERS_AUTH_TOKEN is set but CHAT_AUTH_SECRET is not: /api/users callers are anonymous, so the chat sends their writes without the token (a user service that requires one answers 401)",
    );
  }
  app.use("/api/users", usersRouter(users, logger, { credential: config.usersAuthToken }));
  app.use("/api", (error: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const status = error.status && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error }, "API request failed");
    const message = error.type === "entity.parse.failed" ? "the body is not valid JSON" : status === 500 ? "internal error" : error.message;
    res.status(status).json({ error: { code: status === 500 ? "INTERNAL" : "INVALID_ARGUMENT", message } });
  });
}
