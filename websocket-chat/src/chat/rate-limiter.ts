import { LuaScript, type RedisStore } from "@clusterkit/redis-kit";
import { chatKeys } from "../redis/keys.js";

/**
 * Lua spending one hit of the fixed-window budget at `key` (window ms: `windowMs`): the first hit
 * starts the window. Leaves `hits` set; the window's rest (PTTL) is read only by whoever needs it.
 */
/** Lua that spends one hit of the budget at `key` (a fixed window of `windowMs`), leaving the count in `hits`. */
export const spendBudgetLua = (key: string, windowMs: string) => `
local hits = redis.call('INCR', ${key})
if hits == 1 then redis.call('PEXPIRE', ${key}, ${windowMs}) end
`;

/** Returns { hits so far, ms left }. */
const hitScript = new LuaScript(`${spendBudgetLua("KEYS[1]", "ARGV[1]")}
return { hits, redis.call('PTTL', KEYS[1]) }
`);

/** Spends one hit of `budget` (as RateLimiter.hit does), for a caller that writes only if it is allowed. */
export async function spendBudget(redis: RedisStore, { key, limit, windowMs }: RateBudget): Promise<RateDecision> {
  const [hits, ttl] = (await hitScript.run(redis, [key], [windowMs])) as [number, number];
  if (hits <= limit) return { allowed: true };
  return { allowed: false, retryAfterMs: Math.max(ttl, 0) };
}

/** Takes one hit back from the budget at KEYS[1], unless its window has ended meanwhile. */
const refundScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
`);

/** Gives back a hit spendBudget took for a write that then failed: what was not stored costs nothing. */
export async function refundBudget(redis: RedisStore, { key }: RateBudget): Promise<void> {
  await refundScript.run(redis, [key], []);
}

/** Adds ARGV[2] to the budget at KEYS[1] without refusing (the cost was only known afterwards). */
const chargeScript = new LuaScript(`
local spent = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return spent
`);

/**
 * A join, in one step: spends one hit of the join budget (KEYS[1], limit ARGV[1], window ARGV[2]);
 * refuses if the replay budget (KEYS[3], limit ARGV[4]; 0 = not checked) is already spent; with a
 * rooms cap (ARGV[5] > 0), refuses a room the identity has not been in within the idle TTL
 * (ARGV[6]) once it has been in that many (sorted set KEYS[2]: room -> Redis time its entry
 * lapses). All three keys are the identity's (one hash slot). Returns { 1 } or
 * { 0, ms until it may work again, which budget refused }.
 */
const admitJoinScript = new LuaScript(`${spendBudgetLua("KEYS[1]", "ARGV[2]")}
if hits > tonumber(ARGV[1]) then return { 0, redis.call('PTTL', KEYS[1]), 'join' } end
if tonumber(ARGV[4]) > 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
  return { 0, redis.call('PTTL', KEYS[3]), 'replay' }
end
local ttl = tonumber(ARGV[6])
if tonumber(ARGV[5]) > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if not redis.call('ZSCORE', KEYS[2], ARGV[3]) and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return { 0, tonumber(oldest[2]) - now, 'rooms' }
  end
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return { 1 }
`);

/**
 * What a client spends: `message` (room and private messages, /api changes), `join` (joins of
 * either dialect, users:subscribe), `typing` (typing hints; per socket, see SocketBudget) and
 * `replay` (messages sent back on a join, history or replay, charged by size after the read) and
 * `subscribe` (users:subscribe, which also spends a join). Each has its own limit per window and identity.
 */
export type BudgetKind = "message" | "join" | "typing" | "replay" | "subscribe";

export interface RateLimits {
  windowMs: number;
  limits: Record<BudgetKind, number>;
  /** Different rooms one identity may join within `roomIdleTtlMs` (kit dialect). */
  roomsPerUser: number;
  /** A room's stream lives this long after its last message or join. */
  roomIdleTtlMs: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };
/** A refused join also says which budget refused it. */
export type JoinDecision = { allowed: true } | { allowed: false; retryAfterMs: number; budget: "join" | "replay" | "rooms" };

/** Where one identity's budget lives and its size, for a script that spends it along with a write. */
export interface RateBudget {
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * A fixed-window budget kept in the process for one socket, for events that store nothing and
 * only fan out (typing hints): refusing them then costs no Redis round trip, and relaying them
 * needs no Redis at all, as before budgets existed.
 */
export class SocketBudget {
  private windowEnds = 0;
  private hits = 0;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  hit(now = Date.now()): RateDecision {
    if (now >= this.windowEnds) {
      this.windowEnds = now + this.windowMs;
      this.hits = 0;
    }
    this.hits += 1;
    return this.hits <= this.limit ? { allowed: true } : { allowed: false, retryAfterMs: this.windowEnds - now };
  }
}

/** Per-user budgets kept in Redis, so they hold however the user's tabs are spread. */
export class RateLimiter {
  constructor(
    private readonly redis: RedisStore,
    private readonly options: RateLimits,
  ) {}

  hit(identity: string, kind: BudgetKind = "message"): Promise<RateDecision> {
    return spendBudget(this.redis, this.budget(identity, kind));
  }

  /** Adds a cost known only after the work (what a join sent back); the next request pays for an overdraft. */
  async charge(identity: string, kind: BudgetKind, cost: number): Promise<void> {
    if (cost <= 0) return;
    const { key, windowMs } = this.budget(identity, kind);
    await chargeScript.run(this.redis, [key], [windowMs, cost]);
  }

  /**
   * Admits a join of `room`: one hit of the join budget; with `replays`, only while the replay
   * budget has something left; with `countRoom`, within the rooms-per-user cap. Keeps the room's
   * stream from expiring for another idle TTL (a second command: the room's key lives in the
   * room's slot, the budgets in the identity's).
   */
  async admitJoin(identity: string, room: string, opts: { replays: boolean; countRoom: boolean }): Promise<JoinDecision> {
    const join = this.budget(identity, "join");
    const replay = this.budget(identity, "replay");
    const { roomsPerUser, roomIdleTtlMs } = this.options;
    const [allowed, retryAfterMs, budget] = (await admitJoinScript.run(
      this.redis,
      [join.key, chatKeys.roomsVisited(identity), replay.key],
      [join.limit, join.windowMs, room, opts.replays ? replay.limit : 0, opts.countRoom ? roomsPerUser : 0, roomIdleTtlMs],
    )) as [number, number?, ("join" | "replay" | "rooms")?];
    if (allowed === 1) {
      await this.redis.pExpire(chatKeys.roomLog(room), roomIdleTtlMs);
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.max(Number(retryAfterMs), 0), budget: budget ?? "join" };
  }

  /** A fresh per-socket budget of `kind`'s size. */
  socketBudget(kind: BudgetKind): SocketBudget {
    return new SocketBudget(this.options.limits[kind], this.options.windowMs);
  }

  /** The budget `hit(identity, kind)` spends, for a script that spends it itself. */
  budget(identity: string, kind: BudgetKind = "message"): RateBudget {
    const key = kind === "message" ? chatKeys.rate(identity) : chatKeys.rate(identity, kind);
    return { key, limit: this.options.limits[kind], windowMs: this.options.windowMs };
  }
}
