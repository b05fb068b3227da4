import { createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisCluster, type TestRedisCluster } from "@clusterkit/test-kit";
import { ShardedChannelSubscriber } from "./channel-subscriber.js";
import { closeRedis } from "./connect-redis.js";
import { connectRedisCluster, duplicateRedisCluster } from "./connect-redis-cluster.js";
import { LuaScript } from "./lua-script.js";
import type { RedisClusterClient } from "./redis-store.js";

const quiet = { warn: () => undefined };
let cluster: TestRedisCluster;
let client: RedisClusterClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  client = await connectRedisCluster(cluster.urls, quiet, "redis-kit-cluster-test");
}, 60_000);

afterAll(async () => {
  if (client) await closeRedis(client);
  await cluster?.close();
});

async function eventually<T>(what: string, attempt: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe("LuaScript on a cluster", () => {
  it("runs on the node of its first key, for keys on every master", async () => {
    const incr = new LuaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    // Enough keys that every master holds some: each is refused with MOVED if sent elsewhere.
    for (let n = 0; n < 12; n++) expect(await incr.run(client, [`lua:{k${n}}`], [n])).toBe(n);
  });
});

describe("connectRedisCluster when a master dies", () => {
  it("finds its promoted replica by itself, and a sharded subscription comes back and reports the gap", async () => {
    const subscriberClient = await duplicateRedisCluster(client, quiet, "redis-kit-cluster-sub");
    const subscriber = new ShardedChannelSubscriber(subscriberClient, quiet);
    const gaps: string[] = [];
    subscriber.watch({ interrupted: (channels) => gaps.push(`interrupted ${channels.join()}`), resumed: (channels) => gaps.push(`resumed ${channels.join()}`) });
    const heard: string[] = [];
    const channel = "news:{failover}";
    await subscriber.subscribe(channel, (message) => heard.push(message));
    await client.sPublish(channel, "before");
    await eventually("the first message", async () => expect(heard).toEqual(["before"]));
    await client.set("value:{failover}", "kept");

    await cluster.kill(await cluster.masterOf(channel));
    // The same client reads and writes that slot again, on the replica that took over.
    expect(await eventually("a read after the failover", () => client.get("value:{failover}"))).toBe("kept");
    await eventually("the subscription on the new master", async () => {
      await client.sPublish(channel, "after");
      expect(heard).toContain("after");
    });
    // Reported as interrupted (maybe more than once: the old connection's reconnect attempts, then
    // the move), and resumed last: a listener holding messages back lets them go.
    expect(gaps[0]).toBe(`interrupted ${channel}`);
    expect(gaps.at(-1)).toBe(`resumed ${channel}`);
    subscriber.stop();
    await closeRedis(subscriberClient);
  });

  it("finds it too while reconnecting to the dead master hangs (a host that vanished), with no error to wake it", async () => {
    // A connect timeout longer than the test: the hung attempt never fails, so no error ever says "look again".
    const patient = await connectRedisCluster(cluster.urls, quiet, "redis-kit-cluster-patient", { connectTimeoutMs: 120_000 });
    await patient.set("value:{vanished}", "kept");
    const master = await cluster.masterOf("value:{vanished}");
    await cluster.kill(master);
    // Where the master was, something now accepts connections and never answers, as a machine
    // that went away leaves a connect hanging: the client's reconnect waits there indefinitely.
    const held = new Set<Socket>();
    const blackHole = createServer((socket) => held.add(socket)).listen(master.port, "127.0.0.1");
    try {
      expect(await eventually("a read after the failover", () => patient.get("value:{vanished}"))).toBe("kept");
    } finally {
      for (const socket of held) socket.destroy();
      blackHole.close();
      await closeRedis(patient);
    }
  });
});
