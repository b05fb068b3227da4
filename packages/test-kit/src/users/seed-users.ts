import type { RedisClient } from "@clusterkit/redis-kit";
import { userKeys } from "../../../../grpc-demo/src/store/user-keys.js";

export interface SeedOptions {
  /** Users to write. */
  count: number;
  /** Characters of filler in each name (a name is at most 100), to make users bigger on the wire. @default 0 */
  namePadding?: number;
  /** Users per pipelined batch. @default 5000 */
  batch?: number;
}

/**
 * Writes `count` users straight into the store's keys, far faster than the API (which appends an
 * event per user): for tests and drills that need a big directory. No events are published, so
 * seed before the readers load their snapshot. Ids continue after the store's counter, which is
 * moved past them; returns the first and last id written.
 */
export async function seedUsersDirectly(redis: RedisClient, options: SeedOptions): Promise<{ first: number; last: number }> {
  const batch = options.batch ?? 5_000;
  const pad = "x".repeat(Math.min(options.namePadding ?? 0, 80));
  const last = await redis.incrBy(userKeys.nextId, options.count);
  const first = last - options.count + 1;
  const now = new Date().toISOString();
  for (let start = first; start <= last; start += batch) {
    const pipeline = redis.multi();
    for (let id = start; id < Math.min(start + batch, last + 1); id++) {
      const email = `seeded-${id}@example.com`;
      pipeline.hSet(`${userKeys.userPrefix}${id}`, { id: String(id), name: `Seeded ${id} ${pad}`.trim(), email, createdAt: now, updatedAt: now });
      pipeline.hSet(userKeys.byEmail, email, String(id));
      pipeline.zAdd(userKeys.ids, { score: id, value: String(id) });
    }
    await pipeline.execAsPipeline();
  }
  return { first, last };
}
