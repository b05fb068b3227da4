import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "@clusterkit/test-kit";
import { closeRedis, connectRedis, type RedisClient } from "./connect-redis.js";
import { LuaScript } from "./lua-script.js";
import { StreamFollower, type StreamEntry } from "./stream-follower.js";
import { isRedisUnavailable } from "./unavailable.js";

const quiet = { warn: () => undefined };
let redis: TestRedis;
let client: RedisClient;

beforeAll(async () => {
  redis = await startRedis();
  client = await connectRedis(redis.url, quiet, "redis-kit-test");
});

afterAll(async () => {
  await closeRedis(client);
  await redis.close();
});

describe("LuaScript", () => {
  it("runs again after Redis forgot every script (NOSCRIPT)", async () => {
    const incr = new LuaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    expect(await incr.run(client, ["lua:counter"], [2])).toBe(2);
    await client.scriptFlush();
    expect(await incr.run(client, ["lua:counter"], [3])).toBe(5);
  });
});

describe("connectRedis", () => {
  it("fails a command at once while Redis is away, with an error isRedisUnavailable recognises", async () => {
    const victim = await startRedis();
    const connection = await connectRedis(victim.url, quiet, "redis-kit-offline");
    try {
      await victim.close({ hard: true });
      const error = await connection.get("k").then(() => undefined, (e: unknown) => e);
      expect(isRedisUnavailable(error)).toBe(true);
    } finally {
      await closeRedis(connection, 100);
    }
  });
});

describe("StreamFollower", () => {
  it("hands over every entry after its cursor, in order, and stops at once", async () => {
    const key = "follower:stream";
    const seen: StreamEntry[] = [];
    let cursor = await client.xAdd(key, "*", { n: "0" });
    let notify: () => void = () => undefined;
    const reader = await connectRedis(redis.url, quiet, "redis-kit-reader");
    const follower = new StreamFollower(reader, {
      key,
      cursor: () => cursor,
      onEntries: (entries) => {
        for (const entry of entries) cursor = entry.id;
        seen.push(...entries);
        if (entries.length > 0) notify();
      },
      onError: (error) => {
        throw error;
      },
      blockMs: 60_000,
    });
    follower.start();
    const arrived = new Promise<void>((resolve) => (notify = () => seen.length >= 2 && resolve()));
    await client.xAdd(key, "*", { n: "1" });
    await client.xAdd(key, "*", { n: "2" });
    await arrived;
    expect(seen.map((entry) => entry.message.n)).toEqual(["1", "2"]);
    // Blocked for up to a minute: stop() must not wait it out.
    const started = Date.now();
    await follower.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(reader.isOpen).toBe(false);
  });

  it("reports a failed read and keeps following once Redis answers again", async () => {
    const key = "follower:retry";
    const errors: unknown[] = [];
    let prepared = 0;
    let delivered: () => void = () => undefined;
    const reader = await connectRedis(redis.url, quiet, "redis-kit-retry");
    const follower = new StreamFollower(reader, {
      key,
      cursor: () => "0-0",
      prepare: async () => {
        prepared += 1;
        if (prepared === 1) throw new Error("snapshot not ready");
      },
      onEntries: (entries) => {
        if (entries.length > 0) delivered();
      },
      onError: (error) => errors.push(error),
      retryMs: 10,
      blockMs: 60_000,
    });
    const got = new Promise<void>((resolve) => (delivered = resolve));
    follower.start();
    await client.xAdd(key, "*", { n: "1" });
    await got;
    await follower.stop();
    expect(errors).toHaveLength(1);
    expect(prepared).toBeGreaterThanOrEqual(2);
  });

  it("stops at once while it waits to retry a failed read", async () => {
    let failed: () => void = () => undefined;
    const reader = await connectRedis(redis.url, quiet, "redis-kit-pause");
    const follower = new StreamFollower(reader, {
      key: "follower:pause",
      cursor: () => "0-0",
      prepare: async () => {
        throw new Error("not ready");
      },
      onEntries: () => undefined,
      onError: () => failed(),
      retryMs: 60_000,
    });
    const firstFailure = new Promise<void>((resolve) => (failed = resolve));
    follower.start();
    await firstFailure;
    const started = Date.now();
    await follower.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
