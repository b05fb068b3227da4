import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import { clientEventNames, type Ack, type ErrorBody, type PrivateMessage } from "../contracts/events.js";
import {
  handoutJoinSchema,
  handoutMessageSchema,
  identifySchema,
  joinSchema,
  leaveSchema,
  privateMessageSchema,
  roomMessageSchema,
  usersPageSchema,
  usersSubscribeSchema,
} from "../contracts/payloads.js";
import { MAX_ROOMS_PER_SOCKET } from "../contracts/limits.js";
import { nicknameKey } from "../contracts/nicknames.js";
import { isRedisUnavailable } from "@clusterkit/redis-kit";
import type { ChatMetrics } from "../http/metrics.js";
import type { UsersFeed } from "../users/users-feed.js";
import { ChatError, parsePayload, splitArgs } from "./ack.js";
import { logout } from "./logout.js";
import type { Presence } from "./presence.js";
import type { BudgetKind, RateLimiter } from "./rate-limiter.js";
import { newestWithin } from "./reply-budget.js";
import { toPrivateMessage, type RoomFanout } from "./room-fanout.js";
import { START, inboxOf, type RoomHistory } from "./room-history.js";
import type { ChatServerIo, ChatSocket } from "./socket-types.js";

export interface ChatContext {
  io: ChatServerIo;
  serverId: string;
  presence: Presence;
  history: RoomHistory;
  fanout: RoomFanout;
  limiter: RateLimiter;
  /** Budget of users:subscribe, per token subject or else per socket: each may cost a snapshot. */
  usersFeed: UsersFeed;
  metrics: ChatMetrics;
  /** Largest share of CHAT_MAX_BUFFERED_BYTES one join or identify reply may take (the oldest messages give way). */
  maxReplyBytes: number;
  logger: Logger;
  /** True once the replica is being dropped without cleanup (tests' crash): skip Redis work. */
  isAborted: () => boolean;
}

const sha256 = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** Socket.IO room names (adapter fan-out): presence and typing hints of a chat room. */
export const ioRooms = {
  room: (room: string) => `room:${room}`,
};

const knownEvents = new Set<string>(clientEventNames);
/** Events of one socket waiting to be handled before new ones are refused. */
const MAX_QUEUED_EVENTS = 100;

/** What each budget counts, for RATE_LIMITED messages. */
const budgetNames: Record<BudgetKind | "rooms", string> = {
  message: "messages",
  join: "joins",
  subscribe: "users:subscribe",
  typing: "typing hints",
  replay: "characters replayed",
  rooms: "different rooms joined lately",
};

/**
 * What sending messages back costs the replay budget: about their size on the wire, text plus
 * ~100 characters of id, author, server and time each. A forged `since` into a full room of long
 * messages costs ~2 M, a page's 50 messages of history a few thousand.
 */
const replayCost = (messages: readonly { text: string }[]) => messages.reduce((sum, m) => sum + m.text.length + 100, 0);

/** What a handler returns: the ack body, and what must run right after the ack is sent. */
interface Reply {
  body: object;
  afterAck?: () => void;
}

/**
 * Wires one socket. Its events run one at a time, in arrival order, so `identify` then `join`
 * sent back to back behave as sent; every failure is answered, none escapes to the process.
 */
export function registerChatHandlers(socket: ChatSocket, ctx: ChatContext): Promise<void> {
  const kitRooms = new Set<string>();
  /** The proof this socket's nickname was claimed with, to release it as the same owner. */
  let owner: string | undefined;
  const handoutRooms = new Set<string>();
  const typingBudget = ctx.limiter.socketBudget("typing");
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;

  const enqueue = (task: () => Promise<void>) => {
    queued += 1;
    const run = () => task().finally(() => (queued -= 1));
    queue = queue.then(run, run);
    return queue;
  };

  const refuse = (event: string, ack: Ack<object> | undefined, error: ErrorBody) => {
    ctx.metrics.rejected.inc({ code: error.code });
    if (ack) ack({ error });
    else socket.emit("chat:error", { ...error, event });
  };

  function on<S extends z.ZodType>(event: string, schema: S, handler: (payload: z.infer<S>) => Promise<Reply | undefined>) {
    socket.on(event as "chat:join", (...args: unknown[]) => {
      const { payload, ack } = splitArgs(args);
      // A client that does not wait for its acks cannot pile up unbounded work here.
      if (queued >= MAX_QUEUED_EVENTS) {
        return refuse(event, ack, { code: "RATE_LIMITED", message: `more than ${MAX_QUEUED_EVENTS} events waiting; wait for the acks` });
      }
      void enqueue(async () => {
        try {
          const reply = await handler(parsePayload(schema, payload));
          if (reply) {
            ack?.({ ok: true, ...reply.body });
            reply.afterAck?.();
          }
        } catch (error) {
          if (error instanceof ChatError) return refuse(event, ack, error.toBody());
          if (isRedisUnavailable(error)) {
            return refuse(event, ack, { code: "UNAVAILABLE", message: "the chat store is unreachable right now; try again shortly" });
          }
          ctx.logger.error({ err: error, event, socket: socket.id }, "chat handler failed");
          refuse(event, ack, { code: "INTERNAL", message: "the server could not handle this event; try again" });
        }
      });
    });
  }

  socket.onAny((event: string, ...args: unknown[]) => {
    if (knownEvents.has(event)) return;
    refuse(event, splitArgs(args).ack, { code: "UNKNOWN_EVENT", message: `unknown event '${event}'` });
  });

  const nickname = (): string => {
    const name = socket.data.nickname;
    if (!name) throw new ChatError("NOT_IDENTIFIED", "identify with a nickname first (chat:identify)");
    return name;
  };
  const author = () => socket.data.nickname ?? socket.data.tokenNickname ?? socket.id;
  /** Whose budgets an event spends: the user's, or this socket's for an anonymous handout client. */
  // Every budget is keyed by the nickname's canonical key, so look-alike spellings share one.
  const identity = () =>
    socket.data.nicknameKey ?? (socket.data.tokenNickname ? nicknameKey(socket.data.tokenNickname) : `socket:${socket.id}`);

  const rateLimited = (retryAfterMs: number, what = "messages") =>
    new ChatError("RATE_LIMITED", `too many ${what}; try again in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs);
  const spend = async (who: string, kind: BudgetKind = "message") => {
    const decision = await ctx.limiter.hit(who, kind);
    if (!decision.allowed) throw rateLimited(decision.retryAfterMs, budgetNames[kind]);
  };
  const admitJoin = async (room: string, opts: { replays: boolean; countRoom: boolean }) => {
    const decision = await ctx.limiter.admitJoin(identity(), room, opts);
    if (!decision.allowed) throw rateLimited(decision.retryAfterMs, budgetNames[decision.budget]);
  };
  // Room messages spend the budget in the append script itself: one Redis round trip each.
  const appendToRoom = async (room: string, user: string, identity: string, text: string) => {
    const appended = await ctx.history.append({ room, user, text, server: ctx.serverId }, ctx.limiter.budget(identity));
    if ("retryAfterMs" in appended) throw rateLimited(appended.retryAfterMs);
    return appended.message;
  };

  const announce = (room: string, who: string, action: "joined" | "left", members: string[]) => {
    ctx.io.to(ioRooms.room(room)).emit("chat:presence", { room, nickname: who, action, members });
  };

  // The handout's dialect: no acks, anonymous users allowed, live messages only.
  on("join_room", handoutJoinSchema, async (room) => {
    if (!handoutRooms.has(room)) {
      if (handoutRooms.size >= MAX_ROOMS_PER_SOCKET) {
        throw new ChatError("INVALID_ARGUMENT", `a socket may be in at most ${MAX_ROOMS_PER_SOCKET} rooms`);
      }
      // Handout rooms are never left, so the per-socket cap already bounds the rooms it counts.
      await admitJoin(room, { replays: false, countRoom: false });
      handoutRooms.add(room);
      ctx.fanout.open(socket, room, "handout");
      try {
        // Live only, as in the handout; the position just lets a Redis blip be caught up.
        ctx.fanout.go(socket, room, "handout", await ctx.history.position(room));
      } catch (error) {
        ctx.fanout.go(socket, room, "handout", undefined);
        throw error;
      }
    }
    return { body: { room } };
  });

  on("message", handoutMessageSchema, async ({ room, message }) => {
    // Finding 11.9: writing needs a join (of either dialect), as chat:message does.
    if (!handoutRooms.has(room) && !kitRooms.has(room)) throw new ChatError("PERMISSION_DENIED", `join '${room}' (join_room) before writing to it`);
    const user = author();
    const stored = await appendToRoom(room, user, identity(), message);
    ctx.metrics.messagesIn.inc({ kind: "handout" });
    return { body: { message: stored } };
  });

  on("chat:identify", identifySchema, async (request) => {
    const tokenName = socket.data.tokenNickname;
    const wanted = request.nickname ?? tokenName;
    if (!wanted) throw new ChatError("INVALID_ARGUMENT", "nickname: required");
    const key = nicknameKey(wanted);
    if (tokenName && key !== nicknameKey(tokenName)) {
      throw new ChatError("PERMISSION_DENIED", `your token is for '${tokenName}', not '${wanted}'`);
    }
    if (socket.data.nickname) {
      if (socket.data.nicknameKey !== key) throw new ChatError("INVALID_ARGUMENT", `already identified as '${socket.data.nickname}'`);
      const privatePosition = await ctx.history.position(inboxOf(key));
      return { body: { nickname: socket.data.nickname, server: ctx.serverId, privates: [], privatePosition } };
    }
    // The proof of ownership: the token's subject, or a hash of the browser's key (Redis never
    // holds a key that would let its reader pose as the browser). Without either, this socket alone.
    const proof = tokenName ? `token:${key}` : request.sessionKey ? `key:${sha256(request.sessionKey)}` : `socket:${randomUUID()}`;
    const reserve = tokenName !== undefined || request.sessionKey !== undefined;
    const shown = await ctx.presence.claimNickname(key, tokenName ?? wanted, proof, reserve);
    if (shown === undefined) throw new ChatError("NICKNAME_TAKEN", `'${wanted}' is already used by someone else`);
    owner = proof;
    socket.data.nickname = shown;
    socket.data.nicknameKey = key;
    // Private messages: like a room join, buffer live ones while the inbox is read, meet at one id.
    const inbox = inboxOf(key);
    ctx.fanout.open(socket, inbox, "private");
    try {
      const since = request.privateSince;
      const replay = since ? await ctx.history.after(inbox, since) : undefined;
      // After a Redis reset (`unknown`) the inbox holds only what came since, all of it new to this tab.
      const privates = newestWithin(replay ? replay.messages.map(toPrivateMessage) : [], ctx.maxReplyBytes).messages;
      const privatePosition = replay ? (privates.at(-1)?.id ?? (replay.unknown ? START : since!)) : await ctx.history.position(inbox);
      return {
        body: { nickname: shown, server: ctx.serverId, privates, privatePosition },
        afterAck: () => ctx.fanout.go(socket, inbox, "private", privatePosition),
      };
    } catch (error) {
      ctx.fanout.go(socket, inbox, "private", undefined);
      throw error;
    }
  });

  on("chat:join", joinSchema, async ({ room, since }) => {
    const me = nickname();
    const rejoin = kitRooms.has(room);
    if (!rejoin && kitRooms.size >= MAX_ROOMS_PER_SOCKET) {
      throw new ChatError("INVALID_ARGUMENT", `a socket may be in at most ${MAX_ROOMS_PER_SOCKET} rooms; leave one first`);
    }
    await admitJoin(room, { replays: true, countRoom: true });
    ctx.fanout.open(socket, room, "kit");
    try {
      await socket.join(ioRooms.room(room));
      const { first, members } = rejoin
        ? { first: false, members: await ctx.presence.members(room) }
        : await ctx.presence.join(room, me);
      kitRooms.add(room);
      const replay = since ? await ctx.history.after(room, since) : undefined;
      // A `since` the room's stream never had (Redis was reset) starts the client over, with
      // everything stored since the reset: `history`, so it drops its old position and ids.
      const mode = replay && !replay.unknown ? "replay" : "history";
      const recent = replay === undefined ? await ctx.history.recent(room) : undefined;
      const fitted = newestWithin(recent?.messages ?? replay?.messages ?? [], ctx.maxReplyBytes);
      const messages = fitted.messages;
      // Sent back now, paid for now: the next join is refused while this overdraws the budget.
      await ctx.limiter.charge(identity(), "replay", replayCost(messages));
      const truncated = (replay?.truncated ?? false) || (replay !== undefined && fitted.dropped);
      if (first) announce(room, me, "joined", members);
      // The socket's position: live delivery (and catch-up after a Redis blip) continues after it.
      const lastId = recent?.position ?? messages.at(-1)?.id ?? (replay?.unknown ? START : since);
      return {
        body: { room, members, mode, messages, truncated },
        afterAck: () => ctx.fanout.go(socket, room, "kit", lastId),
      };
    } catch (error) {
      // Never leave a subscription buffering: undo a first join, or go live on a failed rejoin.
      if (rejoin) ctx.fanout.go(socket, room, "kit", undefined);
      else if (kitRooms.has(room)) await leaveRoom(room, me).catch(() => undefined);
      else ctx.fanout.close(socket, room, "kit");
      throw error;
    }
  });

  on("chat:leave", leaveSchema, async ({ room }) => {
    const me = nickname();
    if (!kitRooms.has(room)) throw new ChatError("NOT_FOUND", `you are not in '${room}'`);
    await leaveRoom(room, me);
    return { body: { room } };
  });

  on("chat:logout", z.strictObject({}).optional(), async () => {
    const me = nickname();
    const key = socket.data.nicknameKey!;
    const proof = owner!;
    owner = undefined;
    await logout({ socket, nicknameKey: key, owner: proof, rooms: kitRooms, leaveRoom: (room) => leaveRoom(room, me), presence: ctx.presence, fanout: ctx.fanout });
    return { body: { nickname: me } };
  });

  on("chat:message", roomMessageSchema, async ({ room, text }) => {
    const me = nickname();
    if (!kitRooms.has(room)) throw new ChatError("PERMISSION_DENIED", `join '${room}' before writing to it`);
    const message = await appendToRoom(room, me, socket.data.nicknameKey!, text);
    ctx.metrics.messagesIn.inc({ kind: "room" });
    return { body: { message } };
  });

  on("chat:private", privateMessageSchema, async ({ to, text }) => {
    const me = nickname();
    const myKey = socket.data.nicknameKey!;
    const toKey = nicknameKey(to);
    if (toKey === myKey) throw new ChatError("INVALID_ARGUMENT", "to: you cannot write to yourself");
    await spend(myKey);
    const recipient = await ctx.presence.isOnline(toKey);
    if (recipient === undefined) throw new ChatError("NOT_FOUND", `'${to}' is not connected`);
    // Stored in both inboxes and delivered from them to every tab of both users, on every replica.
    const { fromId, timestamp } = await ctx.history.appendPrivate({ from: me, fromKey: myKey, to: recipient, toKey, text, server: ctx.serverId });
    ctx.metrics.messagesIn.inc({ kind: "private" });
    const message: PrivateMessage = { id: fromId, from: me, to: recipient, text, server: ctx.serverId, timestamp };
    return { body: { message } };
  });

  on("chat:typing", leaveSchema, async ({ room }) => {
    const me = nickname();
    if (!kitRooms.has(room)) throw new ChatError("PERMISSION_DENIED", `join '${room}' first`);
    const typing = typingBudget.hit();
    if (!typing.allowed) throw rateLimited(typing.retryAfterMs, budgetNames.typing);
    // Volatile: a lost typing hint is not worth a retry. The sender's other tabs ignore it.
    socket.to(ioRooms.room(room)).volatile.emit("chat:typing", { room, nickname: me });
    return { body: {} };
  });

  on("users:subscribe", usersSubscribeSchema, async ({ since }) => {
    // A subscribe is a join of the users feed (the join budget) and has a small budget of its
    // own: a page subscribes once per connection, and again after a users-stream reset.
    await spend(identity(), "join");
    await spend(identity(), "subscribe");
    // No await from here to the ack: a live event cannot overtake the reply.
    return { body: { ...ctx.usersFeed.subscribe(socket, since), server: ctx.serverId } };
  });

  on("users:page", usersPageSchema, async ({ after }) => ({ body: ctx.usersFeed.page(socket, after) }));

  on("users:unsubscribe", z.strictObject({}).optional(), async () => {
    ctx.usersFeed.unsubscribe(socket);
    return { body: {} };
  });

  async function leaveRoom(room: string, me: string): Promise<void> {
    kitRooms.delete(room);
    ctx.fanout.close(socket, room, "kit");
    await socket.leave(ioRooms.room(room));
    const { gone, members } = await ctx.presence.leave(room, me);
    if (gone) announce(room, me, "left", members);
  }

  // Resolves once the socket's presence is cleaned up, so a graceful close can wait for it.
  return new Promise((resolve) => {
    socket.on("disconnect", () => {
      for (const room of handoutRooms) ctx.fanout.close(socket, room, "handout");
      if (socket.data.nicknameKey) ctx.fanout.close(socket, inboxOf(socket.data.nicknameKey), "private");
      ctx.usersFeed.unsubscribe(socket);
      void enqueue(async () => {
        const me = socket.data.nickname;
        if (ctx.isAborted() || !me) {
          for (const room of kitRooms) ctx.fanout.close(socket, room, "kit");
          return;
        }
        try {
          for (const room of [...kitRooms]) await leaveRoom(room, me);
          await ctx.presence.releaseNickname(socket.data.nicknameKey!, owner!);
        } catch (error) {
          ctx.logger.warn({ err: error, socket: socket.id }, "presence cleanup failed; the lease will expire it");
        }
      }).then(() => resolve());
    });
  });
}
