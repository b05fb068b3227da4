import { MAX_ROOMS_PER_SOCKET } from "../contracts/limits.js";
import { handoutJoinSchema, handoutMessageSchema } from "../contracts/payloads.js";
import { ChatError } from "./ack.js";
import { admitJoin, appendToRoom, authorOf, budgetOwner, route } from "./session.js";

/** The handout's dialect: no acks, anonymous users allowed, live messages only. */
export const handoutRoutes = [
  route("join_room", handoutJoinSchema, async (deps, room) => {
    const { ctx, socket, state } = deps;
    if (!state.handoutRooms.has(room)) {
      if (state.handoutRooms.size >= MAX_ROOMS_PER_SOCKET) {
        throw new ChatError("INVALID_ARGUMENT", `a socket may be in at most ${MAX_ROOMS_PER_SOCKET} rooms`);
      }
      // Handout rooms are never left, so the per-socket cap already bounds the rooms it counts.
      await admitJoin(deps, room, { replays: false, countRoom: false });
      state.handoutRooms.add(room);
      try {
        await ctx.fanout.open(socket, room, "handout");
        // Live only, as in the handout; the position just lets a Redis blip be caught up.
        ctx.fanout.go(socket, room, "handout", await ctx.history.position(room));
      } catch (error) {
        ctx.fanout.go(socket, room, "handout", undefined);
        throw error;
      }
    }
    return { body: { room } };
  }),

  route("message", handoutMessageSchema, async (deps, { room, message }) => {
    const { ctx, socket, state } = deps;
    // Finding 11.9: writing needs a join (of either dialect), as chat:message does.
    if (!state.handoutRooms.has(room) && !state.kitRooms.has(room)) {
      throw new ChatError("PERMISSION_DENIED", `join '${room}' (join_room) before writing to it`);
    }
    const stored = await appendToRoom(deps, room, authorOf(socket), budgetOwner(socket), message);
    ctx.metrics.messagesIn.inc({ kind: "handout" });
    return { body: { message: stored } };
  }),
];
