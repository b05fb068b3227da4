import { nicknameKey } from "../contracts/nicknames.js";
import { ChatError } from "./ack.js";
import { ioRooms, type ChatContext } from "./context.js";
import type { BudgetKind, SocketBudget } from "./rate-limiter.js";
import type { ChatSocket } from "./socket-types.js";
import { routeFor } from "../sockets/router.js";

/** What the server keeps about one socket besides `socket.data`; the feature handlers share it. */
export interface SocketState {
  /** The kit rooms (chat:join) the socket is in. */
  kitRooms: Set<string>;
  /** The handout rooms (join_room) the socket is in; never left before the disconnect. */
  handoutRooms: Set<string>;
  /** The proof this socket's nickname was claimed with, to release it as the same owner. */
  owner: string | undefined;
  /** chat:typing's budget: per socket, in memory (a hint is not worth a Redis round trip); made at the first hint. */
  typingBudget: SocketBudget | undefined;
}

/** What every feature's handlers get: the replica's parts and this socket's state. */
export interface ChatDeps {
  ctx: ChatContext;
  socket: ChatSocket;
  state: SocketState;
}

export function createSocketState(): SocketState {
  return { kitRooms: new Set(), handoutRooms: new Set(), owner: undefined, typingBudget: undefined };
}

/** Builds a route of the chat's socket protocol: `route(event, schema, (deps, payload) => reply)`. */
export const route = routeFor<ChatDeps>();

/** What each budget counts, for RATE_LIMITED messages. */
export const budgetNames: Record<BudgetKind | "rooms", string> = {
  message: "messages",
  join: "joins",
  subscribe: "users:subscribe",
  typing: "typing hints",
  replay: "characters replayed",
  rooms: "different rooms joined lately",
};

export const rateLimited = (retryAfterMs: number, what = "messages") =>
  new ChatError("RATE_LIMITED", `too many ${what}; try again in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs);

/** The socket's nickname, or NOT_IDENTIFIED. */
export function nicknameOf(socket: ChatSocket): string {
  const name = socket.data.nickname;
  if (!name) throw new ChatError("NOT_IDENTIFIED", "identify with a nickname first (chat:identify)");
  return name;
}

/** Who a handout message is from: the nickname, the token's, or else the socket. */
export const authorOf = (socket: ChatSocket) => socket.data.nickname ?? socket.data.tokenNickname ?? socket.id;

/**
 * Whose budgets an event spends: the user's, or this socket's for an anonymous handout client.
 * Every budget is keyed by the nickname's canonical key, so look-alike spellings share one.
 */
export const budgetOwner = (socket: ChatSocket) =>
  socket.data.nicknameKey ?? (socket.data.tokenNickname ? nicknameKey(socket.data.tokenNickname) : `socket:${socket.id}`);

/** Spends one of `who`'s `kind` budget, or throws RATE_LIMITED. */
export async function spend({ ctx }: ChatDeps, who: string, kind: BudgetKind = "message"): Promise<void> {
  const decision = await ctx.limiter.hit(who, kind);
  if (!decision.allowed) throw rateLimited(decision.retryAfterMs, budgetNames[kind]);
}

/** Spends the join budgets of joining `room`, or throws RATE_LIMITED naming the one exhausted. */
export async function admitJoin({ ctx, socket }: ChatDeps, room: string, opts: { replays: boolean; countRoom: boolean }): Promise<void> {
  const decision = await ctx.limiter.admitJoin(budgetOwner(socket), room, opts);
  if (!decision.allowed) throw rateLimited(decision.retryAfterMs, budgetNames[decision.budget]);
}

/** Stores a room message; the append script spends the budget itself: one Redis round trip each. */
export async function appendToRoom({ ctx }: ChatDeps, room: string, user: string, identity: string, text: string) {
  const appended = await ctx.history.append({ room, user, text, server: ctx.serverId }, ctx.limiter.budget(identity));
  if ("retryAfterMs" in appended) throw rateLimited(appended.retryAfterMs);
  return appended.message;
}

export function announce({ ctx }: ChatDeps, room: string, who: string, action: "joined" | "left", members: string[]): void {
  ctx.io.to(ioRooms.room(room)).emit("chat:presence", { room, nickname: who, action, members });
}

/** Leaves a kit room: its live set, its Socket.IO room, presence, and the "left" announcement. */
export async function leaveRoom(deps: ChatDeps, room: string, me: string): Promise<void> {
  const { ctx, socket, state } = deps;
  state.kitRooms.delete(room);
  ctx.fanout.close(socket, room, "kit");
  await socket.leave(ioRooms.room(room));
  const { gone, members } = await ctx.presence.leave(room, me);
  if (gone) announce(deps, room, me, "left", members);
}
