import { createHash } from "node:crypto";
import { isRedisCluster, type RedisStore } from "./redis-store.js";

/**
 * A Lua script sent by its SHA-1 (EVALSHA), and in full (EVAL) only when Redis has not seen it
 * yet: NOSCRIPT after a restart or a SCRIPT FLUSH. Redis runs a script with nothing interleaved,
 * which is how a read-decide-write step, or a change and its event, stays atomic across replicas.
 * On a cluster the script goes to the node of its first key: every key it names must share that
 * key's hash slot (a `{tag}`), or Redis refuses it with CROSSSLOT.
 */
export class LuaScript {
  readonly sha1: string;

  constructor(readonly source: string) {
    this.sha1 = createHash("sha1").update(source).digest("hex");
  }

  /** Runs the script; EVAL also caches it, so the next run goes by hash again. */
  async run(redis: RedisStore, keys: string[], args: (string | number)[]): Promise<unknown> {
    const call = (command: "EVALSHA" | "EVAL", body: string) => {
      const raw = [command, body, String(keys.length), ...keys, ...args.map(String)];
      // node-redis 4's cluster client routes its own evalSha/eval to a random node (it reads the
      // first key from the wrong argument): a raw command names the node by the first key.
      return isRedisCluster(redis) ? redis.sendCommand(keys[0], false, raw) : redis.sendCommand(raw);
    };
    try {
      return await call("EVALSHA", this.sha1);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("NOSCRIPT")) return call("EVAL", this.source);
      throw error;
    }
  }
}
