import type { RedisClient } from "../redis/connect-redis.js";
import { chatKeys } from "../redis/keys.js";
import { LuaScript } from "../redis/lua-script.js";

/**
 * Lua spending one hit of the fixed-window budget at `key` (window ms: `windowMs`): the first hit
 * starts the window. Leaves `hits` set; the window's rest (PTTL) is read only by whoever needs it.
 * Shared with scripts that spend the budget and write in the same step (room-history.ts), so both
 * count alike.
 */
export const spendBudgetLua = (key: string, windowMs: string) => `
local hits = redis.call('INCR', ${key})
if hits == 1 then redis.call('PEXPIRE', ${key}, ${windowMs}) end
`;

/** Returns { hits so far, ms left }. */
const hitScript = new LuaScript(`${spendBudgetLua("KEYS[1]", "ARGV[1]")}
return { hits, redis.call('PTTL', KEYS[1]) }
`);

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Where one identity's budget lives and its size, for a script that spends it along with a write. */
export interface RateBudget {
  key: string;
  limit: number;
  windowMs: number;
}

/** A per-user message budget kept in Redis, so it holds however the user's tabs are spread. */
export class RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly options: { limit: number; windowMs: number },
  ) {}

  async hit(identity: string): Promise<RateDecision> {
    const [hits, ttl] = (await hitScript.run(this.redis, [chatKeys.rate(identity)], [this.options.windowMs])) as [number, number];
    if (hits <= this.options.limit) return { allowed: true };
    return { allowed: false, retryAfterMs: Math.max(ttl, 0) };
  }

  /** The budget `hit(identity)` spends, for a script that spends it itself. */
  budget(identity: string): RateBudget {
    return { key: chatKeys.rate(identity), limit: this.options.limit, windowMs: this.options.windowMs };
  }
}
