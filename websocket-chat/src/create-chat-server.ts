import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { UserServiceClient } from "./users/users-contract.js";
import type { UserEventEntry } from "./users/users-contract.js";
import type { ChatConfig } from "./config.js";
import { ChatTokens } from "./auth/tokens.js";
import { ioRooms, type ChatContext } from "./chat/chat.handlers.js";
import { Presence } from "./chat/presence.js";
import { RateLimiter } from "./chat/rate-limiter.js";
import { isLiveSet, RoomFanout } from "./chat/room-fanout.js";
import { RoomHistory } from "./chat/room-history.js";
import { createSendBufferBound } from "./chat/slow-consumer.js";
import type { ChatServerIo } from "./chat/socket-types.js";
import { ChatHeartbeat } from "./cluster/heartbeat.js";
import { createHttpApp } from "./http/app.js";
import { ConnectionLimits } from "./http/connection-limits.js";
import { createChatMetrics, type ChatMetrics } from "./metrics.js";
import { abortAtOnce, closeGracefully, type RunningParts } from "./lifecycle/shutdown.js";
import {
  duplicateRedisCluster,
  isRedisCluster,
  PlainChannelSubscriber,
  ShardedChannelSubscriber,
  type ChannelSubscriber,
  type RedisClient,
  type RedisClusterClient,
  type RedisStore,
} from "@clusterkit/redis-kit";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import type { ServerOptions } from "socket.io";
import { createIoServer, wireSockets } from "./sockets/io-server.js";
import { UserNotices } from "./users/user-notices.js";
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
  | "userEventsRoom"
  | "corsOrigins"
  | "transports"
  | "pingIntervalMs"
  | "pingTimeoutMs"
  | "webDist"
  | "shutdownTimeoutMs"
  | "usersAuthToken"
> & { usersFeed?: UsersFeedOptions };

export interface ChatServerDeps {
  /**
   * The users service's Redis: the users event stream the users feed follows. Without `cluster`,
   * also the chat's own store. The server duplicates what it needs (the adapter's connections, its
   * subscriber, its catch-up reads, the users reader) and closes those itself.
   */
  redis: RedisClient;
  /**
   * A Redis Cluster for the chat's own keys and channels (CHAT_REDIS_CLUSTER): room streams and
   * sharded channels, presence, budgets, the Socket.IO sharded adapter. Duplicated like `redis`.
   */
  cluster?: RedisClusterClient | undefined;
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

/** The connections a replica opens for itself, and what it builds on them. */
interface ChatConnections {
  /** The chat's own data: the caller's cluster client, or its Redis. */
  store: RedisStore;
  adapter: NonNullable<ServerOptions["adapter"]>;
  roomChannels: ChannelSubscriber;
  /** Catch-up reads, queueing while Redis is away (the subscriber may be back before the commands connection). */
  roomReader: RedisStore;
  usersReader: RedisClient;
  own: RedisStore[];
  /** Subscription trackers to stop on close. */
  trackers: { stop(): void }[];
}

async function openConnections({ redis, cluster, logger }: ChatServerDeps): Promise<ChatConnections> {
  if (!cluster) {
    const [pub, sub, roomSub, roomReader, usersReader] = await Promise.all([
      duplicate(redis, logger, "adapter-pub"),
      duplicate(redis, logger, "adapter-sub"),
      duplicate(redis, logger, "room-messages"),
      duplicate(redis, logger, "room-catch-up"),
      duplicate(redis, logger, "users-events"),
    ]);
    guardPublishes(pub, logger);
    const own = [pub, sub, roomSub, roomReader, usersReader];
    return { store: redis, adapter: createAdapter(pub, sub), roomChannels: new PlainChannelSubscriber(roomSub), roomReader, usersReader, own, trackers: [] };
  }
  const [pub, sub, roomSub, roomReader, usersReader] = await Promise.all([
    duplicateRedisCluster(cluster, logger, "chat:adapter-pub"),
    duplicateRedisCluster(cluster, logger, "chat:adapter-sub"),
    duplicateRedisCluster(cluster, logger, "chat:room-messages"),
    duplicateRedisCluster(cluster, logger, "chat:room-catch-up", { queueWhileOffline: true }),
    duplicate(redis, logger, "users-events"),
  ]);
  // The sharded adapter subscribes through sub.sSubscribe: tracked, its channels come back after a failover.
  const adapterChannels = ShardedChannelSubscriber.track(sub, logger);
  const roomChannels = new ShardedChannelSubscriber(roomSub, logger);
  // "dynamic": a channel per Socket.IO room, so a replica gets only its rooms' broadcasts.
  const adapter = withoutChannels(createShardedAdapter(pub, sub, { subscriptionMode: "dynamic" }), isLiveSet);
  return { store: cluster, adapter, roomChannels, roomReader, usersReader, own: [pub, sub, roomSub, roomReader, usersReader], trackers: [adapterChannels] };
}

/**
 * The sharded adapter in "dynamic" mode subscribes a channel for every Socket.IO room but a
 * socket's own, when the room is created here, and drops it when the room empties. The live sets
 * are only broadcast to locally, so their channels would carry nothing, yet cost a subscription
 * per room and replica on the room's shard, and a SSUBSCRIBE/SUNSUBSCRIBE pair each time a room's
 * sockets leave the live set to catch up and come back. The adapter has no option for such rooms;
 * the method that decides (private in its types) is narrowed per instance. The cluster test checks
 * that a live set has no subscriber, so a change in the library would show.
 */
function withoutChannels(factory: NonNullable<ServerOptions["adapter"]>, isLocalOnly: (room: string) => boolean): NonNullable<ServerOptions["adapter"]> {
  return function (nsp: unknown) {
    const adapter = new (factory as unknown as new (nsp: unknown) => { shouldUseASeparateNamespace(room: string): boolean })(nsp);
    const separate = adapter.shouldUseASeparateNamespace.bind(adapter);
    adapter.shouldUseASeparateNamespace = (room) => !isLocalOnly(room) && separate(room);
    return adapter;
  } as unknown as NonNullable<ServerOptions["adapter"]>;
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
 * Wires one chat replica from its parts: the express app (http/app.ts), Socket.IO over the Redis
 * adapter with the socket handlers (sockets/), room history and fan-out, presence, the cluster
 * heartbeat and the users feed; shutdown lives in lifecycle/. Nothing listens until `listen()`;
 * `main.ts` is the only caller that reads the environment.
 */
export async function createChatServer(deps: ChatServerDeps, config: ChatServerConfig): Promise<ChatServerHandle> {
  const { redis, logger } = deps;
  const connections = await openConnections(deps);
  const { store, usersReader } = connections;
  const tokens = config.authSecret ? new ChatTokens(config.authSecret) : undefined;
  let draining = false;
  let aborted = false;
  const isDraining = () => draining;

  const metrics = createChatMetrics(config.serverId);
  const sendBuffers = createSendBufferBound(config.maxBufferedBytes, (conn, waitingBytes) => {
    metrics.slowConsumers.inc();
    logger.warn({ waitingBytes, address: conn.remoteAddress }, "cut off a client that stopped reading");
  });
  const limiter = createRateLimiter(store, config);
  // Two callbacks name parts made further down (`notices`, `heartbeat`): they depend on the room
  // delivery, which needs the io server, which needs the app this feed goes into. Neither runs
  // before the start calls at the end.
  const usersFeed = createUsersFeed({ users: deps.users, usersReader, logger, metrics, onEvent: (event) => notices?.post(event) }, config);

  const { app, trust } = createHttpApp({ store, redis, logger, metrics, limiter, usersFeed, users: deps.users, tokens, isDraining }, config);
  const http = createServer(app);
  const connectionLimits = new ConnectionLimits({
    maxSockets: config.maxSocketsPerAddress,
    maxConnects: config.maxConnectsPerAddress,
    windowMs: config.connectWindowMs,
  });
  const io = createIoServer({ http, adapter: connections.adapter, connectionLimits, trust, metrics, logger, isDraining }, config);

  const { history, fanout } = createRoomDelivery(
    { store, roomChannels: connections.roomChannels, roomReader: connections.roomReader, io, logger, metrics, onDelivered: (message, count) => heartbeat.delivered(message, count) },
    config,
  );
  const notices = config.userEventsRoom ? new UserNotices(history, logger, { room: config.userEventsRoom, serverId: config.serverId }) : undefined;
  const presence = createPresence(store, logger, io, config);
  const heartbeat = createHeartbeat(store, logger, { io, fanout, metrics, instance: presence.instance }, config);

  metrics.observe({
    sockets: () => io.of("/").sockets.size,
    rooms: () => fanout.roomCount,
    usersSubscribers: () => usersFeed.subscriberCount,
    largestSendBuffer: () => sendBuffers.largest(),
  });

  const maxReplyBytes = Math.floor(config.maxBufferedBytes / 2);
  const ctx: ChatContext = { io, serverId: config.serverId, presence, history, fanout, limiter, usersFeed, metrics, logger, maxReplyBytes, isAborted: () => aborted };
  const sockets = wireSockets(io, { ctx, tokens, connectionLimits, trust, sendBuffers });

  fanout.start();
  await presence.start();
  await heartbeat.start();
  usersFeed.start();

  const running: RunningParts = {
    http, io, fanout, usersFeed, presence, heartbeat, ownConnections: connections.own, trackers: connections.trackers, sockets, logger,
  };
  return {
    io,
    http,
    metrics,
    instance: presence.instance,
    usersFeedReady: usersFeed.whenReady,
    listen: (port, host = "0.0.0.0") => listenOn(http, port, host),
    async close() {
      if (draining) return;
      draining = true;
      await closeGracefully(running, config.shutdownTimeoutMs);
    },
    async abort() {
      aborted = true;
      draining = true;
      await abortAtOnce(running);
    },
  };
}

/** The live users feed, counted in the metrics; `onEvent` also sees each live event. */
function createUsersFeed(
  parts: { users: UserServiceClient | undefined; usersReader: RedisClient; logger: Logger; metrics: ChatMetrics; onEvent: (event: UserEventEntry) => void },
  config: ChatServerConfig,
): UsersFeed {
  const { metrics } = parts;
  return new UsersFeed(
    {
      users: parts.users,
      reader: parts.usersReader,
      logger: parts.logger,
      onEvent: (event) => {
        metrics.userEvents.inc();
        parts.onEvent(event);
      },
      onPageEncoded: () => metrics.usersPagesEncoded.inc(),
      onReset: () => metrics.usersFeedResets.inc(),
    },
    // A page is a small share of what one connection may have waiting, so a page and the live
    // events behind it always fit under the bound.
    { pageBytes: Math.min(262_144, Math.floor(config.maxBufferedBytes / 4)), ...config.usersFeed },
  );
}

/** Listens on `port` (0: any free one); resolves with the bound port. */
function listenOn(http: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => {
      http.off("error", reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

/**
 * Room history (appends through the commands connection) and the fan-out that delivers each
 * stored message to this replica's sockets, counting deliveries per dialect.
 */
function createRoomDelivery(
  parts: {
    store: RedisStore;
    roomChannels: ChannelSubscriber;
    roomReader: RedisStore;
    io: ChatServerIo;
    logger: Logger;
    metrics: ChatMetrics;
    /** A room message delivered to `count` local sockets (private messages excluded). */
    onDelivered: (message: { id: string; room: string; server: string }, count: number) => void;
  },
  config: ChatServerConfig,
): { history: RoomHistory; fanout: RoomFanout } {
  const historyOptions = {
    historySize: config.historySize, retention: config.roomRetention, idleTtlMs: config.roomIdleTtlMs, sharded: isRedisCluster(parts.store),
  };
  const history = new RoomHistory(parts.store, historyOptions);
  // After a Redis restart the subscriber may be back before the commands connection (which fails
  // fast while offline, for senders): catch-up reads go through their own, queueing connection.
  const catchUpHistory = new RoomHistory(parts.roomReader, historyOptions);
  // Labelled children looked up once: deliveries are counted per message, on the hot path.
  const deliveredBy = {
    kit: parts.metrics.messagesOut.labels({ kind: "kit" }),
    handout: parts.metrics.messagesOut.labels({ kind: "handout" }),
    private: parts.metrics.messagesOut.labels({ kind: "private" }),
  };
  const fanout = new RoomFanout(parts.roomChannels, parts.io, parts.logger, {
    onDelivered: (dialect, count, message) => {
      deliveredBy[dialect].inc(count);
      // Private messages stay out of the cluster view: their "room" is a nickname.
      if (dialect !== "private") parts.onDelivered(message, count);
    },
    onReceived: (bytes) => {
      parts.metrics.roomChannelMessages.inc();
      parts.metrics.roomChannelBytes.inc(bytes);
    },
    readAfter: async (room, after) => {
      const replay = await catchUpHistory.after(room, after);
      return { messages: replay.messages, reset: replay.unknown, resumeAt: replay.resumeAt };
    },
  });
  return { history, fanout };
}

function createRateLimiter(redis: RedisStore, config: ChatServerConfig): RateLimiter {
  return new RateLimiter(redis, {
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
}

/** Presence, announcing who a dead replica took with it and closing sockets whose nickname was lost in a Redis reset. */
function createPresence(redis: RedisStore, logger: Logger, io: ChatServerIo, config: ChatServerConfig): Presence {
  return new Presence(redis, logger, {
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
}

/** The cluster view's heartbeat: this replica's connections, rooms and message counters, in Redis. */
function createHeartbeat(
  redis: RedisStore,
  logger: Logger,
  { io, fanout, metrics, instance }: { io: ChatServerIo; fanout: RoomFanout; metrics: ChatMetrics; instance: string },
  config: ChatServerConfig,
): ChatHeartbeat {
  const total = async (counter: ChatMetrics["messagesIn"]) => (await counter.get()).values.reduce((sum, { value }) => sum + value, 0);
  return new ChatHeartbeat(redis, logger, {
    serverId: config.serverId,
    instance,
    leaseMs: config.presenceTtlMs,
    sample: async () => ({
      connections: io.of("/").sockets.size,
      rooms: fanout.roomCount,
      messagesIn: await total(metrics.messagesIn),
      messagesOut: await total(metrics.messagesOut),
    }),
  });
}
