import { MAX_ROOMS_PER_SOCKET } from "../contracts/limits.js";
import { joinSchema, leaveSchema, roomMessageSchema, typingSchema, type JoinRequest } from "../contracts/payloads.js";
import type { Reply } from "../sockets/router.js";
import { ChatError } from "./ack.js";
import { ioRooms } from "./context.js";
import { newestWithin } from "./reply-budget.js";
import { START } from "./room-history.js";
import { admitJoin, announce, appendToRoom, budgetNames, budgetOwner, leaveRoom, nicknameOf, rateLimited, route, type ChatDeps } from "./session.js";

/**
 * What sending messages back costs the replay budget: about their size on the wire, text plus
 * ~100 characters of id, author, server and time each. A forged `since` into a full room of long
 * messages costs ~2 M, a page's 50 messages of history a few thousand.
 */
const replayCost = (messages: readonly { text: string }[]) => messages.reduce((sum, m) => sum + m.text.length + 100, 0);

/** The kit's rooms: chat:join / chat:leave / chat:message / chat:typing. */
export const roomRoutes = [
  route("chat:join", joinSchema, join),

  route("chat:leave", leaveSchema, async (deps, { room }) => {
    const me = nicknameOf(deps.socket);
    if (!deps.state.kitRooms.has(room)) throw new ChatError("NOT_FOUND", `you are not in '${room}'`);
    await leaveRoom(deps, room, me);
    return { body: { room } };
  }),

  route("chat:message", roomMessageSchema, async (deps, { room, text }) => {
    const { ctx, socket, state } = deps;
    const me = nicknameOf(socket);
    if (!state.kitRooms.has(room)) throw new ChatError("PERMISSION_DENIED", `join '${room}' before writing to it`);
    const message = await appendToRoom(deps, room, me, socket.data.nicknameKey!, text);
    ctx.metrics.messagesIn.inc({ kind: "room" });
    return { body: { message } };
  }),

  route("chat:typing", typingSchema, async ({ ctx, socket, state }, { room }) => {
    const me = nicknameOf(socket);
    if (!state.kitRooms.has(room)) throw new ChatError("PERMISSION_DENIED", `join '${room}' first`);
    const typing = (state.typingBudget ??= ctx.limiter.socketBudget("typing")).hit();
    if (!typing.allowed) throw rateLimited(typing.retryAfterMs, budgetNames.typing);
    // Volatile: a lost typing hint is not worth a retry. The sender's other tabs ignore it.
    socket.to(ioRooms.room(room)).volatile.emit("chat:typing", { room, nickname: me });
    return { body: {} };
  }),
];

async function join(deps: ChatDeps, { room, since }: JoinRequest): Promise<Reply<"chat:join">> {
  const { ctx, socket, state } = deps;
  const me = nicknameOf(socket);
  const rejoin = state.kitRooms.has(room);
  if (!rejoin && state.kitRooms.size >= MAX_ROOMS_PER_SOCKET) {
    throw new ChatError("INVALID_ARGUMENT", `a socket may be in at most ${MAX_ROOMS_PER_SOCKET} rooms; leave one first`);
  }
  await admitJoin(deps, room, { replays: true, countRoom: true });
  try {
    await ctx.fanout.open(socket, room, "kit");
    await socket.join(ioRooms.room(room));
    const { first, members } = rejoin ? { first: false, members: await ctx.presence.members(room) } : await ctx.presence.join(room, me);
    state.kitRooms.add(room);
    const replay = since ? await ctx.history.after(room, since) : undefined;
    // A `since` the room's stream never had (Redis was reset) starts the client over, with
    // everything stored since the reset: `history`, so it drops its old position and ids.
    const mode = replay && !replay.unknown ? "replay" : "history";
    const recent = replay === undefined ? await ctx.history.recent(room) : undefined;
    const fitted = newestWithin(recent?.messages ?? replay?.messages ?? [], ctx.maxReplyBytes);
    const messages = fitted.messages;
    // Sent back now, paid for now: the next join is refused while this overdraws the budget.
    await ctx.limiter.charge(budgetOwner(socket), "replay", replayCost(messages));
    const truncated = (replay?.truncated ?? false) || (replay !== undefined && fitted.dropped);
    if (first) announce(deps, room, me, "joined", members);
    // The socket's position: live delivery (and catch-up after a Redis blip) continues after it.
    const lastId = recent?.position ?? messages.at(-1)?.id ?? (replay?.unknown ? START : (replay?.resumeAt ?? since));
    return {
      body: { room, members, mode, messages, truncated },
      afterAck: () => ctx.fanout.go(socket, room, "kit", lastId),
    };
  } catch (error) {
    // Never leave a subscription buffering: undo a first join, or go live on a failed rejoin.
    if (rejoin) ctx.fanout.go(socket, room, "kit", undefined);
    else if (state.kitRooms.has(room)) await leaveRoom(deps, room, me).catch(() => undefined);
    else ctx.fanout.close(socket, room, "kit");
    throw error;
  }
}
