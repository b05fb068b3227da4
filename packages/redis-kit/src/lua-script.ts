import { createHash } from "node:crypto";
import type { RedisClient } from "./connect-redis.js";

/**
 * A Lua script sent by its SHA-1 (EVALSHA), and in full (EVAL) only when Redis has not seen it
 * yet: NOSCRIPT after a restart or a SCRIPT FLUSH. Redis runs a script with nothing interleaved,
 * which is how a read-decide-write step, or a change and its event, stays atomic across replicas.
 */
export class LuaScript {
  readonly sha1: string;

  constructor(readonly source: string) {
    this.sha1 = createHash("sha1").update(source).digest("hex");
  }

  /** Runs the script; EVAL also caches it, so the next run goes by hash again. */
  async run(redis: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    const options = { keys, arguments: args.map(String) };
    try {
      return await redis.evalSha(this.sha1, options);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("NOSCRIPT")) return redis.eval(this.source, options);
      throw error;
    }
  }
}
