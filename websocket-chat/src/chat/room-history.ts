import type { RoomMessage } from "../contracts/events.js";
import { compareStreamIds, keyCommand, LuaScript, type RedisStore } from "@clusterkit/redis-kit";
import { chatKeys } from "../redis/keys.js";
import { refundBudget, spendBudget, spendBudgetLua, type RateBudget } from "./rate-limiter.js";

/**
 * Appends to a room's (or inbox's) capped stream (KEYS[1]), keeps it for another idle TTL
 * (ARGV[8]) and publishes the stored message on the room's channel (ARGV[1]) with ARGV[9]
 * (PUBLISH, or SPUBLISH on a cluster, where the channel lives in the stream's slot), all in one
 * atomic step. The order on the channel is the order of the ids: every replica delivers a room's
 * messages in id order, which is what lets a client resume from its last id without gap or
 * duplicate. A private copy also names its recipient (ARGV[10], empty for a room message).
 * Leaves the new entry's id in `id`.
 */
const appendLua = `
local fields = { 'user', ARGV[4], 'text', ARGV[5], 'server', ARGV[6], 'timestamp', ARGV[7] }
local to = ARGV[10] ~= nil and ARGV[10] ~= '' and ARGV[10] or nil
if to then table.insert(fields, 3, 'to'); table.insert(fields, 4, to) end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[8])
local message = { id = id, room = ARGV[3], user = ARGV[4], text = ARGV[5], server = ARGV[6], timestamp = ARGV[7] }
if to then message.to = to end
redis.call(ARGV[9], ARGV[1], cjson.encode(message))
`;

/** The append alone (see appendLua); returns the id. */
export const appendScript = new LuaScript(`${appendLua}
return id
`);

/**
 * On one Redis: spends one hit of the author's budget (KEYS[2]; limit ARGV[11], window ARGV[12])
 * and, if it allows, appends, in one atomic step and one round trip. A cluster cannot run it (the
 * budget and the stream live in different slots) and takes the two steps instead. Returns
 * { 1, id }, or { 0, ms left in the window }.
 */
const spendAndAppendScript = new LuaScript(`${spendBudgetLua("KEYS[2]", "ARGV[12]")}
if hits > tonumber(ARGV[11]) then return { 0, redis.call('PTTL', KEYS[2]) } end
${appendLua}
return { 1, id }
`);

/**
 * The pseudo-room holding a user's private messages (room names cannot contain '@'), named by
 * the nickname's canonical key (nicknames.ts), so every spelling of a nickname is one inbox.
 */
export const inboxOf = (nicknameKey: string) => `@${nicknameKey}`;

/** What the append script stores of a message. */
type StoredEntry = { user: string; text: string; server: string; timestamp: string; to?: string };

/** A stored message; private ones also name their recipient. */
export type StoredMessage = RoomMessage & { to?: string };

export interface NewRoomMessage {
  room: string;
  user: string;
  text: string;
  server: string;
}

export interface Replay {
  /** What comes after `since`; when `unknown`, everything the room has stored since it started over. */
  messages: StoredMessage[];
  /** Messages after `since` may be gone for good: trimmed by the cap, or lost with a Redis reset. */
  truncated: boolean;
  /**
   * `since` was never a position of this room's stream as it is now: Redis lost it (restarted
   * empty, or came back with another clock, so new ids may even sort before `since`). Whoever
   * held it starts over from the messages stored since, whatever their ids.
   */
  unknown: boolean;
  /**
   * `since` is newer than anything the stream ever held: it lost its newest entries (a master
   * failed over before they reached its replica, or Redis came back from an older snapshot). The
   * stream and whoever held `since` agree up to this id; `messages` are what came after it.
   */
  resumeAt?: string;
}

/**
 * The longest tail a failover can take: what the master had not yet sent to its replica, milliseconds
 * of writes. A `since` further ahead of the stream's newest id is not a lost tail but a stream that
 * started over with lower ids (a restart on a host whose clock runs behind): read as a reset.
 */
const LOST_TAIL_MS = 2_000n;

/** Whether `since` is a little ahead of everything the stream ever held (see Replay.resumeAt). */
function lostTail(since: string, lastId: string): boolean {
  if (compareStreamIds(since, lastId) <= 0) return false;
  return BigInt(since.split("-")[0]!) - BigInt(lastId.split("-")[0]!) <= LOST_TAIL_MS;
}

/** The position before any message: a client that had an empty room or inbox. */
export const START = "0-0";

type StreamEntry = { id: string; message: Record<string, string> };

function toMessage(room: string, entry: StreamEntry): StoredMessage {
  const { user = "", text = "", server = "", timestamp = "", to } = entry.message;
  const message: StoredMessage = { id: entry.id, room, user, text, server, timestamp };
  if (to !== undefined) message.to = to;
  return message;
}

/** Room messages in Redis streams: append, last N for a newcomer, everything after an id for a returner. */
export class RoomHistory {
  constructor(
    private readonly redis: RedisStore,
    /**
     * `idleTtlMs`: a stream expires this long after its last append (joins renew it too, see
     * RateLimiter.admitJoin). `sharded`: publish with SPUBLISH (a Redis Cluster).
     */
    private readonly options: { historySize: number; retention: number; idleTtlMs: number; sharded?: boolean },
  ) {}

  /**
   * Appends a message if the author's `budget` allows it (spending one hit either way, as
   * RateLimiter.hit does); otherwise stores nothing and says how long the window still runs.
   * On one Redis that is one script; on a cluster two steps, budget then append (the budget lives
   * in the author's hash slot, the room's stream in the room's). Either way a message is stored
   * only after its hit is spent, and a message the store refused costs nothing: the one script
   * fails whole, and on a cluster the hit is given back when the append fails (the room's slot
   * failing over, say), so an author retrying through an outage is not rate-limited after it.
   */
  async append(input: NewRoomMessage, budget: RateBudget): Promise<{ message: RoomMessage } | { retryAfterMs: number }> {
    const timestamp = new Date().toISOString();
    const entry = { user: input.user, text: input.text, server: input.server, timestamp };
    if (!this.options.sharded) {
      const args = [...this.appendArgs(input.room, entry), "", budget.limit, budget.windowMs];
      const [allowed, result] = (await spendAndAppendScript.run(this.redis, [chatKeys.roomLog(input.room), budget.key], args)) as [number, string | number];
      if (allowed !== 1) return { retryAfterMs: Math.max(Number(result), 0) };
      return { message: { id: String(result), ...input, timestamp } };
    }
    const spent = await spendBudget(this.redis, budget);
    if (!spent.allowed) return { retryAfterMs: spent.retryAfterMs };
    let id: string;
    try {
      id = await this.store(input.room, entry);
    } catch (error) {
      // Best effort: if the author's slot is away too, the hit stays spent and the window ends it.
      await refundBudget(this.redis, budget).catch(() => undefined);
      throw error;
    }
    return { message: { id, ...input, timestamp } };
  }

  /**
   * Stores a private message in both inboxes (named by the nickname keys; the recipient's first)
   * and publishes each copy on its inbox's channel; returns their ids. Each inbox is one append:
   * the two live in their owners' slots.
   */
  async appendPrivate(input: { from: string; fromKey: string; to: string; toKey: string; text: string; server: string }): Promise<{ toId: string; fromId: string; timestamp: string }> {
    const timestamp = new Date().toISOString();
    const entry = { user: input.from, to: input.to, text: input.text, server: input.server, timestamp };
    const toId = await this.store(inboxOf(input.toKey), entry);
    const fromId = await this.store(inboxOf(input.fromKey), entry);
    return { toId, fromId, timestamp };
  }

  private async store(room: string, entry: StoredEntry): Promise<string> {
    const args = this.appendArgs(room, entry);
    if (entry.to !== undefined) args.push(entry.to);
    return String(await appendScript.run(this.redis, [chatKeys.roomLog(room)], args));
  }

  /** ARGV[1..9] of the append (appendLua). */
  private appendArgs(room: string, entry: StoredEntry): (string | number)[] {
    return [
      chatKeys.roomChannel(room), this.options.retention, room, entry.user, entry.text, entry.server, entry.timestamp,
      this.options.idleTtlMs, this.options.sharded ? "SPUBLISH" : "PUBLISH",
    ];
  }

  /**
   * The room's last `historySize` messages, oldest first, and the room's position: the newest id
   * ("0-0" for an empty room). A joining socket continues live from that position.
   */
  async recent(room: string): Promise<{ messages: RoomMessage[]; position: string }> {
    const count = Math.max(this.options.historySize, 1);
    const entries = await this.redis.xRevRange(chatKeys.roomLog(room), "+", "-", { COUNT: count });
    const position = entries[0]?.id ?? "0-0";
    const messages = this.options.historySize === 0 ? [] : entries.reverse().map((entry) => toMessage(room, entry));
    return { messages, position };
  }

  /** The room's newest id ("0-0" for an empty room). */
  async position(room: string): Promise<string> {
    const [newest] = await this.redis.xRevRange(chatKeys.roomLog(room), "+", "-", { COUNT: 1 });
    return newest?.id ?? "0-0";
  }

  /**
   * Every retained message strictly after `since`, oldest first. The read includes `since` itself:
   * if that entry is gone, the stream's state says why. Only the cap removes entries, and only
   * from the front, so a missing `since` that the cap may have taken means `truncated`; any other
   * missing `since` just ahead of the stream's newest id ever means its tail was lost (`resumeAt`);
   * any other (the stream is gone, or never held it) means the stream started over after a reset:
   * `unknown`, with the whole restarted stream.
   */
  async after(room: string, since: string): Promise<Replay> {
    const key = chatKeys.roomLog(room);
    const entries = await this.redis.xRange(key, since, "+", { COUNT: this.options.retention + 1 });
    if (entries[0]?.id === since) {
      return { messages: entries.slice(1).map((e) => toMessage(room, e)), truncated: false, unknown: false };
    }
    const state = await this.streamState(key);
    const trimmedAway = state !== undefined && state.removed && compareStreamIds(since, state.firstKept) < 0;
    if (since === START || trimmedAway) {
      return { messages: entries.map((entry) => toMessage(room, entry)), truncated: trimmedAway, unknown: false };
    }
    if (state !== undefined && lostTail(since, state.lastId)) {
      const after = await this.redis.xRange(key, `(${state.lastId}`, "+", { COUNT: this.options.retention });
      return { messages: after.map((entry) => toMessage(room, entry)), truncated: false, unknown: false, resumeAt: state.lastId };
    }
    // Newest first, so that a stream a little over the cap (MAXLEN ~) still ends at its newest id.
    const all = state === undefined ? [] : await this.redis.xRevRange(key, "+", "-", { COUNT: this.options.retention });
    return { messages: all.reverse().map((entry) => toMessage(room, entry)), truncated: true, unknown: true };
  }

  /** Whether the cap has removed entries, the oldest id kept and the newest ever given (Redis 7 XINFO). */
  private async streamState(key: string): Promise<{ removed: boolean; firstKept: string; lastId: string } | undefined> {
    let reply: unknown;
    try {
      reply = await keyCommand(this.redis, key, ["XINFO", "STREAM", key]);
    } catch (error) {
      // Only "no such key" means the stream is gone; a failed read must not pass for a reset.
      if (error instanceof Error && /no such key/i.test(error.message)) return undefined;
      throw error;
    }
    if (!Array.isArray(reply)) return undefined;
    const field = (name: string): unknown => {
      const at = reply.indexOf(name);
      return at >= 0 ? reply[at + 1] : undefined;
    };
    const added = Number(field("entries-added"));
    const length = Number(field("length"));
    const firstKept = field("recorded-first-entry-id");
    const lastId = field("last-generated-id");
    if (typeof firstKept !== "string" || typeof lastId !== "string") return undefined;
    return { removed: added > length, firstKept, lastId };
  }
}
