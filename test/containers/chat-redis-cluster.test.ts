/**
 * Profile `redis-cluster` (compose/redis-cluster.yaml on top of compose.yaml) in real containers:
 * six Redis nodes joined by redis-cluster-init, chat x3 with CHAT_REDIS_CLUSTER, nginx in front
 * (CHAT_LB=cookie, so clients from one host still spread over the replicas).
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { ChatTester } from "./support/chat-client.js";
import { Kit, docker } from "./support/kit.js";

const nodes = [1, 2, 3, 4, 5, 6].map((n) => `redis-node-${n}`);

describe.skipIf(!inject("dockerAvailable"))("redis-cluster profile (chat x3 on a 3+3 Redis Cluster, behind nginx)", () => {
  let kit: Kit;
  let url: string;
  const clients: ChatTester[] = [];

  beforeAll(async () => {
    kit = await Kit.start({
      profile: "chat",
      extraProfiles: ["redis-cluster"],
      extraFiles: ["redis-cluster.yaml"],
      services: ["redis", ...nodes, "redis-cluster-init", "chat", "nginx"],
      oneShot: ["redis-cluster-init"],
      scale: { chat: 3 },
      env: { CHAT_LB: "cookie" },
    });
    const [nginx] = await kit.containers("nginx");
    url = `http://127.0.0.1:${await kit.hostPort(nginx!.id, 80)}`;
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await kit?.down();
  });

  async function connect(nickname: string): Promise<ChatTester> {
    const client = await ChatTester.connect(url, nickname);
    clients.push(client);
    return client;
  }

  async function connectWhere(prefix: string, accept: (server: string) => boolean): Promise<ChatTester> {
    for (let i = 0; i < 30; i++) {
      const client = await connect(`${prefix}${i}`);
      if (accept(client.server)) return client;
      client.close();
    }
    throw new Error("no client of 30 landed on a wanted replica");
  }

  it("forms a cluster of three masters with a replica each", async () => {
    const [node] = await kit.containers("redis-node-1");
    const info = await docker("exec", node!.id, "redis-cli", "cluster", "info");
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_size:3/);
    expect(info).toMatch(/cluster_known_nodes:6/);
    const [init] = await kit.containers("redis-cluster-init");
    expect(await docker("inspect", "--format", "{{.State.ExitCode}}", init!.id)).toBe("0");
  });

  it("carries a message across replicas, keeps it in the cluster and gives it back as history", async () => {
    const alice = await connect("alice");
    const bob = await connectWhere("bob", (server) => server !== alice.server);
    for (const client of [alice, bob]) await client.join("lobby");
    await alice.send("lobby", "hello through the cluster");
    await bob.receive("lobby", ["hello through the cluster"]);

    const carol = await connectWhere("carol", (server) => server !== alice.server && server !== bob.server);
    await carol.join("lobby");
    expect(carol.texts("lobby")).toEqual(["hello through the cluster"]);
    // The room's stream lives on the cluster, not in the users service's Redis.
    const [redis] = await kit.containers("redis");
    expect(await docker("exec", redis!.id, "redis-cli", "exists", "chat:room:{lobby}:log")).toBe("0");
    const [node] = await kit.containers("redis-node-1");
    expect(await docker("exec", node!.id, "redis-cli", "-c", "xlen", "chat:room:{lobby}:log")).toBe("1");
  });

  it("keeps delivering after the master of a room's slot is killed, and loses nothing", async () => {
    const reader = await connect("reader");
    const writer = await connectWhere("writer", (server) => server !== reader.server);
    for (const client of [reader, writer]) await client.join("failover");
    await writer.send("failover", "before");
    await reader.receive("failover", ["before"]);

    // The node serving the room's slot, by name (CLUSTER NODES lists addresses).
    const [anyNode] = await kit.containers("redis-node-1");
    const slot = await docker("exec", anyNode!.id, "redis-cli", "cluster", "keyslot", "chat:room:{failover}:log");
    const owner = (await docker("exec", anyNode!.id, "redis-cli", "cluster", "nodes"))
      .split("\n")
      .find((line) => line.includes("master") && line.split(" ").slice(8).some((range) => {
        const [from, to = from] = range.split("-").map(Number);
        return Number(slot) >= from! && Number(slot) <= to!;
      }));
    const ownerAddress = owner!.split(" ")[1]!.split(":")[0]!;
    let victim: string | undefined;
    for (const name of nodes) {
      const [container] = await kit.containers(name);
      if ((await kit.address(container!.id)) === ownerAddress) victim = container!.id;
    }
    expect(victim).toBeDefined();
    await docker("kill", victim!);
    const killedAt = Date.now();

    // Until a replica is promoted, the room's slot has no master: sends are refused with an error ack.
    const sent = await writer.probeUntilHeard("failover", reader, { since: killedAt, everyMs: 250, after: "the kill" });
    console.info(`[redis-cluster failover] a message crossed replicas again ${Date.now() - killedAt} ms after the kill`);
    await writer.send("failover", "after");
    await reader.receive("failover", ["after"]);
    expect(reader.texts("failover")).toEqual(["before", ...sent, "after"]);
  });
});
