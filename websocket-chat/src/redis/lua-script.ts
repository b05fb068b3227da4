import { createHash } from "node:crypto";
import type { RedisClient } from "./connect-redis.js";

/**
 * A Lua script sent by hash, and in full only when Redis has not seen it yet (NOSCRIPT, e.g.
 * after a Redis restart). Scripts make a read-decide-write step atomic across replicas.
 */
export class LuaScript {
  private readonly sha1: string;

  constructor(readonly source: string) {
    this.sha1 = createHash("sha1").update(source).digest("hex");
  }

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
