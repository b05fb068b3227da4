import { createHash } from "node:crypto";
import type { createClient } from "redis";

export type RedisClient = ReturnType<typeof createClient>;

/**
 * A Lua script run by EVALSHA, loaded on first NOSCRIPT. Scripts are how the store makes a
 * change and its domain event one atomic step (Redis runs a script with nothing interleaved).
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(redis: RedisClient, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await redis.evalSha(this.sha, { keys, arguments: args });
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      await redis.scriptLoad(this.source);
      return redis.evalSha(this.sha, { keys, arguments: args });
    }
  }
}
