import type { RedisClient } from "../redis/connect-redis.js";
import { chatKeys } from "../redis/keys.js";
import { LuaScript } from "../redis/lua-script.js";

/** Fixed window: the first hit starts the window; returns { hits so far, ms left }. */
const hitScript = new LuaScript(`
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { hits, redis.call('PTTL', KEYS[1]) }
`);

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

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
}
