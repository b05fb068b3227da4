import { describe, expect, it } from "vitest";
import type { UserEventEntry, UserEventType, UserRecord } from "../events/user-event.js";
import { UserCache, type UserCacheOptions } from "./user-cache.js";

const user = (id: number, name = `user ${id}`): UserRecord => ({
  id,
  name,
  email: `u${id}@example.com`,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
});
const event = (type: UserEventType, record: UserRecord, cursor: string): UserEventEntry => ({
  type,
  user: record,
  cursor,
  occurredAt: record.updatedAt,
  origin: "users-2",
});

/** A load whose answer the test releases, to stage a Redis read overtaken by an event. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A cache over a fake Redis (a Map), counting loads; the reader has caught up to 1-0. */
function setup(options: Partial<UserCacheOptions> = {}) {
  let clock = 0;
  const redis = new Map<number, UserRecord>([1, 2, 3, 4].map((id) => [id, user(id)]));
  const loads: number[] = [];
  const load = async (id: number) => {
    loads.push(id);
    return redis.get(id);
  };
  const cache = new UserCache({ maxSize: 3, now: () => clock, ...options });
  cache.caughtUp("1-0");
  return { cache, redis, loads, load, advance: (ms: number) => (clock += ms) };
}

describe("UserCache", () => {
  it("reads Redis once per user, then answers from memory", async () => {
    const { cache, loads, load } = setup();
    expect(await cache.read(1, load)).toEqual(user(1));
    expect(await cache.read(1, load)).toEqual(user(1));
    expect(loads).toEqual([1]);
  });

  it("shares one Redis read among concurrent misses of a user", async () => {
    const { cache, loads, load } = setup();
    await Promise.all([cache.read(2, load), cache.read(2, load), cache.read(2, load)]);
    expect(loads).toEqual([2]);
  });

  it("never caches a miss, so a user created later is found", async () => {
    const { cache, redis, loads, load } = setup();
    expect(await cache.read(9, load)).toBeUndefined();
    redis.set(9, user(9));
    expect(await cache.read(9, load)).toEqual(user(9));
    expect(loads).toEqual([9, 9]);
  });

  it("holds at most maxSize users, evicting the least recently used", async () => {
    const { cache, loads, load } = setup();
    for (const id of [1, 2, 3, 1, 4]) await cache.read(id, load);
    expect(cache.size).toBe(3);
    loads.length = 0;
    for (const id of [1, 3, 4]) await cache.read(id, load);
    expect(loads).toEqual([]);
    await cache.read(2, load);
    expect(loads).toEqual([2]);
    expect(cache.size).toBe(3);
  });

  it("applies another replica's update and delete from the event stream", async () => {
    const { cache, redis, loads, load } = setup();
    await cache.read(1, load);
    cache.apply(event("user.updated", user(1, "Ada"), "2-0"));
    expect((await cache.read(1, load))?.name).toBe("Ada");
    redis.delete(1);
    cache.apply(event("user.deleted", user(1, "Ada"), "3-0"));
    expect(await cache.read(1, load)).toBeUndefined();
    expect(loads).toEqual([1, 1]);
  });

  it("answers but does not keep a Redis read that an update overtook", async () => {
    const { cache, loads } = setup();
    const old = deferred<UserRecord | undefined>();
    const first = cache.read(1, () => old.promise);
    cache.apply(event("user.updated", user(1, "Ada"), "2-0"));
    // A read after the event must not join the read that started before it.
    expect((await cache.read(1, async () => user(1, "from Redis")))?.name).toBe("Ada");
    old.resolve(user(1));
    expect((await first)?.name).toBe("user 1");
    expect((await cache.read(1, async () => user(1, "from Redis")))?.name).toBe("Ada");
    expect(loads).toEqual([]);
  });

  it("does not resurrect a user deleted while it was being read", async () => {
    const { cache, redis } = setup();
    const old = deferred<UserRecord | undefined>();
    void cache.read(1, () => old.promise);
    redis.delete(1);
    cache.apply(event("user.deleted", user(1), "2-0"));
    // Asked after the delete, while the older read is still in flight: must not share it.
    const after = cache.read(1, async (id) => redis.get(id));
    old.resolve(user(1));
    expect(await after).toBeUndefined();
    expect(await cache.read(1, async (id) => redis.get(id))).toBeUndefined();
  });

  it("reads its own write at once on the replica that made it", async () => {
    const { cache, load } = setup();
    await cache.read(1, load);
    cache.remember({ type: "user.updated", user: user(1, "Mine"), cursor: "5-0" });
    expect((await cache.read(1, load))?.name).toBe("Mine");
    cache.remember({ type: "user.deleted", user: user(1, "Mine"), cursor: "6-0" });
    expect(await cache.read(1, async () => undefined)).toBeUndefined();
  });

  it("keeps a newer change when its own older write's answer arrives after it", async () => {
    const { cache, load } = setup();
    await cache.read(1, load);
    cache.apply(event("user.updated", user(1, "Mine"), "5-0"));
    cache.apply(event("user.updated", user(1, "Theirs"), "6-0"));
    cache.remember({ type: "user.updated", user: user(1, "Mine"), cursor: "5-0" });
    expect((await cache.read(1, load))?.name).toBe("Theirs");
  });

  it("does not keep a Redis read that its own write overtook", async () => {
    const { cache } = setup();
    const old = deferred<UserRecord | undefined>();
    void cache.read(1, () => old.promise);
    cache.remember({ type: "user.updated", user: user(1, "Mine"), cursor: "5-0" });
    old.resolve(user(1));
    await old.promise;
    expect((await cache.read(1, async () => user(1, "from Redis")))?.name).toBe("Mine");
  });

  it("empties and bypasses itself when the reader loses track, until it follows again", async () => {
    const { cache, loads, load } = setup();
    await cache.read(1, load);
    cache.lost();
    expect(cache.size).toBe(0);
    await cache.read(1, load);
    await cache.read(1, load);
    cache.remember({ type: "user.updated", user: user(1, "Mine"), cursor: "5-0" });
    expect(cache.size).toBe(0);
    cache.caughtUp("5-0");
    await cache.read(1, load);
    await cache.read(1, load);
    expect(loads).toEqual([1, 1, 1, 1]);
  });

  it("does not keep a Redis read that was in flight when the reader lost track", async () => {
    const { cache, loads, load } = setup();
    const old = deferred<UserRecord | undefined>();
    void cache.read(1, () => old.promise);
    cache.lost();
    cache.caughtUp("2-0");
    old.resolve(user(1, "before the gap"));
    await old.promise;
    expect((await cache.read(1, load))?.name).toBe("user 1");
    expect(loads).toEqual([1]);
  });

  it("stops answering from memory when the reader has been silent too long", async () => {
    const { cache, loads, load, advance } = setup({ maxSilenceMs: 100 });
    await cache.read(1, load);
    advance(150);
    await cache.read(1, load);
    expect(cache.size).toBe(0);
    cache.caughtUp("1-0");
    await cache.read(1, load);
    await cache.read(1, load);
    expect(loads).toEqual([1, 1, 1]);
  });

  it("is off with maxSize 0", async () => {
    const { cache, loads, load } = setup({ maxSize: 0 });
    cache.caughtUp("1-0");
    await cache.read(1, load);
    await cache.read(1, load);
    expect(loads).toEqual([1, 1]);
  });

  describe("with the read fence", () => {
    it("answers from memory only once the reader has applied the newest event", async () => {
      let newest = "1-0";
      const { cache, loads, load } = setup({ newestCursor: async () => newest });
      await cache.read(1, load);
      await cache.read(1, load);
      expect(loads).toEqual([1]);
      // Another replica wrote (newest moved on) but this reader has not applied it yet: Redis answers.
      newest = "2-0";
      await cache.read(1, load);
      expect(loads).toEqual([1, 1]);
      cache.apply(event("user.updated", user(1, "Ada"), "2-0"));
      expect((await cache.read(1, load))?.name).toBe("Ada");
      expect(loads).toEqual([1, 1]);
    });

    it("shares one fence read among the calls of one event-loop turn", async () => {
      let fences = 0;
      const { cache, load } = setup({
        newestCursor: async () => {
          fences += 1;
          return "1-0";
        },
      });
      await Promise.all([1, 2, 3, 1, 2, 3].map((id) => cache.read(id, load)));
      expect(fences).toBe(1);
    });

    it("fails the read when the fence cannot reach Redis", async () => {
      const { cache, load } = setup({ newestCursor: () => Promise.reject(new Error("ClientClosedError")) });
      await expect(cache.read(1, load)).rejects.toThrow("ClientClosedError");
    });
  });
});
