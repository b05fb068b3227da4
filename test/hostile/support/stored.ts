import { MAX_MESSAGE_CHARS, NICKNAME_PATTERN, ROOM_PATTERN } from "../../../websocket-chat/src/contracts/limits.js";
import { nicknameKey } from "../../../websocket-chat/src/contracts/nicknames.js";
import type { RedisClient } from "@clusterkit/redis-kit";

/** A canonical nickname key (nicknames.ts): folding it again changes nothing; lower-casing may add marks. */
const isNicknameKey = (key: string) => nicknameKey(key) === key && /^[\p{L}\p{M}\p{N}_.-]{2,64}$/u.test(key);

/** A handout client that never identified writes under its Socket.IO id. */
const SOCKET_ID = /^[A-Za-z0-9_-]{20}$/;

export interface StoreAudit {
  keys: number;
  entries: number;
  /** One line per key or entry that a valid client could not have produced. */
  garbage: string[];
}

/**
 * Reads every key the chat owns and checks it could only have come from accepted input: room
 * and nickname keys name valid rooms and nickname keys (or `@<nickname key>` inboxes), and every stored
 * message has exactly the fields a message has (private ones also `to`, in the sender's or
 * recipient's inbox), with a valid author, a known replica, a non-empty text within the limit
 * and an ISO timestamp.
 */
export async function auditStore(redis: RedisClient, replicas: readonly string[]): Promise<StoreAudit> {
  const audit: StoreAudit = { keys: 0, entries: 0, garbage: [] };
  const bad = (what: string) => audit.garbage.push(what.slice(0, 300));
  for await (const key of redis.scanIterator({ MATCH: "chat:*", COUNT: 500 })) {
    audit.keys++;
    const room = /^chat:room:\{(.*)\}:(log|members)$/s.exec(key);
    const nick = /^chat:nick:\{@(.*)\}$/s.exec(key);
    if (room) {
      // `@<nickname>` is a user's private inbox: its entries also name the recipient (`to`).
      const inbox = room[1]!.startsWith("@") ? room[1]!.slice(1) : undefined;
      const validName = inbox !== undefined ? isNicknameKey(inbox) : ROOM_PATTERN.test(room[1]!);
      if (!validName) bad(`key for an invalid room or inbox: ${JSON.stringify(key)}`);
      if (room[2] === "members") continue;
      for (const entry of await redis.xRange(key, "-", "+")) {
        audit.entries++;
        const { user, text, server, timestamp, to, ...rest } = entry.message;
        const where = `${key} ${entry.id}`;
        if (Object.keys(rest).length > 0) bad(`${where}: extra fields ${Object.keys(rest).join(",")}`);
        if (!user || !(NICKNAME_PATTERN.test(user) || SOCKET_ID.test(user))) bad(`${where}: author ${JSON.stringify(user)}`);
        if (inbox === undefined && to !== undefined) bad(`${where}: a room message with a recipient`);
        // Inboxes are named by the nickname's canonical key; the entries carry the names as shown.
        if (inbox !== undefined && (!to || !NICKNAME_PATTERN.test(to) || (inbox !== nicknameKey(to) && inbox !== nicknameKey(user ?? "")))) {
          bad(`${where}: private message from ${JSON.stringify(user)} to ${JSON.stringify(to)} in the wrong inbox`);
        }
        if (!text || text.trim() === "" || text.length > MAX_MESSAGE_CHARS) bad(`${where}: text of ${text?.length} chars`);
        if (!server || !replicas.includes(server)) bad(`${where}: server ${JSON.stringify(server)}`);
        if (!timestamp || Number.isNaN(Date.parse(timestamp)) || new Date(timestamp).toISOString() !== timestamp) {
          bad(`${where}: timestamp ${JSON.stringify(timestamp)}`);
        }
      }
    } else if (nick) {
      if (!isNicknameKey(nick[1]!)) bad(`key for an invalid nickname: ${JSON.stringify(key)}`);
    } else if (/^chat:\{heartbeats\}:/.test(key)) {
      // The cluster view's record: its message paths name only rooms a valid client could join.
      const raw = await redis.get(key);
      if (raw === null) continue; // expired since the scan saw it
      try {
        const beat = JSON.parse(raw) as { id?: unknown; recent?: { room?: unknown; takenBy?: unknown }[] };
        if (typeof beat.id !== "string" || !replicas.includes(beat.id)) bad(`${key}: replica ${JSON.stringify(beat.id)}`);
        for (const hop of beat.recent ?? []) {
          if (typeof hop.room !== "string" || !ROOM_PATTERN.test(hop.room)) bad(`${key}: a path in room ${JSON.stringify(hop.room)}`);
          if (typeof hop.takenBy !== "string" || !replicas.includes(hop.takenBy)) bad(`${key}: a path taken by ${JSON.stringify(hop.takenBy)}`);
        }
      } catch {
        bad(`${key}: not JSON`);
      }
    } else if (!/^chat:(instances|instance:\{.+\}:(rooms|nicks)|rate:\{.+|users-feed:epoch|\{heartbeats\})$/s.test(key)) {
      bad(`unexpected key ${JSON.stringify(key)}`);
    }
  }
  return audit;
}
