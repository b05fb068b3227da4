import { createHash, randomUUID } from "node:crypto";
import type { IdentifyRequest } from "../contracts/payloads.js";
import { nicknameKey } from "../contracts/nicknames.js";
import { identifySchema, noPayloadSchema } from "../contracts/payloads.js";
import type { Reply } from "../sockets/router.js";
import { ChatError } from "./ack.js";
import { logout } from "./logout.js";
import { newestWithin } from "./reply-budget.js";
import { toPrivateMessage } from "./room-fanout.js";
import { START, inboxOf } from "./room-history.js";
import { leaveRoom, nicknameOf, route, type ChatDeps } from "./session.js";

const sha256 = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** chat:identify and chat:logout: who this socket is, its nickname and its private inbox. */
export const identityRoutes = [
  route("chat:identify", identifySchema, identify),

  route("chat:logout", noPayloadSchema, async (deps) => {
    const { ctx, socket, state } = deps;
    const me = nicknameOf(socket);
    const key = socket.data.nicknameKey!;
    const proof = state.owner!;
    state.owner = undefined;
    const { presence, fanout } = ctx;
    await logout({ socket, nicknameKey: key, owner: proof, rooms: state.kitRooms, leaveRoom: (room) => leaveRoom(deps, room, me), presence, fanout });
    return { body: { nickname: me } };
  }),
];

async function identify(deps: ChatDeps, request: IdentifyRequest): Promise<Reply<"chat:identify">> {
  const { ctx, socket, state } = deps;
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
  state.owner = proof;
  socket.data.nickname = shown;
  socket.data.nicknameKey = key;
  // Private messages: like a room join, buffer live ones while the inbox is read, meet at one id.
  const inbox = inboxOf(key);
  try {
    await ctx.fanout.open(socket, inbox, "private");
    const since = request.privateSince;
    const replay = since ? await ctx.history.after(inbox, since) : undefined;
    // After a Redis reset (`unknown`) the inbox holds only what came since, all of it new to this tab.
    const privates = newestWithin(replay ? replay.messages.map(toPrivateMessage) : [], ctx.maxReplyBytes).messages;
    const privatePosition = replay ? (privates.at(-1)?.id ?? (replay.unknown ? START : (replay.resumeAt ?? since!))) : await ctx.history.position(inbox);
    return {
      body: { nickname: shown, server: ctx.serverId, privates, privatePosition },
      afterAck: () => ctx.fanout.go(socket, inbox, "private", privatePosition),
    };
  } catch (error) {
    ctx.fanout.go(socket, inbox, "private", undefined);
    throw error;
  }
}
