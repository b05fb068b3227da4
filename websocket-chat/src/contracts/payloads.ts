import { z } from "zod";
import { MAX_MESSAGE_CHARS, ROOM_PATTERN } from "./limits.js";
import { checkNickname } from "./nicknames.js";

/**
 * What clients may send, as zod schemas; the TS types every side uses are inferred from them.
 * The browser imports only the types (`import type`), so zod stays out of its bundle.
 */

/** A nickname, normalized (NFKC) and of one script: see nicknames.ts. */
export const nicknameSchema = z.string().transform((raw, ctx) => {
  const checked = checkNickname(raw);
  if ("nickname" in checked) return checked.nickname;
  ctx.addIssue({ code: "custom", message: checked.problem });
  return z.NEVER;
});
export const roomSchema = z.string().regex(ROOM_PATTERN, "1-64 letters, digits, '_', '.', '-'");
/** A Redis stream id, the position of a room message. */
export const messageIdSchema = z.string().regex(/^\d{1,20}-\d{1,20}$/, "a message id looks like '1700000000000-0'");
const textSchema = z
  .string()
  .refine((text) => text.trim() !== "", "message must not be empty")
  .refine((text) => text.length <= MAX_MESSAGE_CHARS, `message is longer than ${MAX_MESSAGE_CHARS} characters`);

export const identifySchema = z.strictObject({
  /** Optional when the handshake token already names the user. */
  nickname: nicknameSchema.optional(),
  /**
   * A random secret the browser keeps (localStorage): the proof that owns the nickname. Its tabs,
   * and the browser after a reload, get the nickname and its private inbox back; anyone else is
   * refused it while it is reserved (see docs/security.md). The server keeps only its
   * SHA-256. Without one, the nickname is held by this socket alone and released with it.
   * Ignored with token auth: the token is the identity.
   */
  sessionKey: z.string().min(16).max(128).optional(),
  /** Id of the last private message this client has: the ack carries everything after it. */
  privateSince: messageIdSchema.optional(),
});

export const joinSchema = z.strictObject({
  room: roomSchema,
  /** Last message id this client has for the room: the join replays everything after it. */
  since: messageIdSchema.optional(),
});

export const leaveSchema = z.strictObject({ room: roomSchema });
/** "I am typing in this room": its own schema, free to grow apart from chat:leave's. */
export const typingSchema = z.strictObject({ room: roomSchema });
/** Events that carry nothing (chat:logout, users:unsubscribe): `{}` or no payload at all. */
export const noPayloadSchema = z.strictObject({}).optional();
export const roomMessageSchema = z.strictObject({ room: roomSchema, text: textSchema });
export const privateMessageSchema = z.strictObject({ to: nicknameSchema, text: textSchema });
export const usersSubscribeSchema = z.strictObject({
  /** The last users-event cursor this page applied; omitted = send a snapshot. */
  since: messageIdSchema.optional(),
});

export const usersPageSchema = z.strictObject({
  /** The `next` of the page before; pages of one snapshot are read in order. */
  after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

/** The handout's own payloads, kept exactly as its HTML client sends them. */
export const handoutJoinSchema = roomSchema;
export const handoutMessageSchema = z.object({ room: roomSchema, message: textSchema });

export type IdentifyRequest = z.infer<typeof identifySchema>;
export type JoinRequest = z.infer<typeof joinSchema>;
export type LeaveRequest = z.infer<typeof leaveSchema>;
export type TypingRequest = z.infer<typeof typingSchema>;
export type RoomMessageRequest = z.infer<typeof roomMessageSchema>;
export type PrivateMessageRequest = z.infer<typeof privateMessageSchema>;
export type UsersSubscribeRequest = z.infer<typeof usersSubscribeSchema>;
export type UsersPageRequest = z.infer<typeof usersPageSchema>;
export type HandoutMessageRequest = z.infer<typeof handoutMessageSchema>;
