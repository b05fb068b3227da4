/**
 * Profile `redis-cluster` (compose/redis-cluster.yaml on top of compose.yaml) in real containers:
 * six Redis nodes joined by redis-cluster-init, chat x3 with CHAT_REDIS_CLUSTER, nginx in front
 * (CHAT_LB=cookie, so clients from one host still spread over the replicas).
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { ChatTester } from "./support/chat-client.js";
import { Kit, docker } from "./support/kit.js";
import { killReadersReplica } from "./support/replica-kill.js";

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
      env: { CHAT_LB: "cookie", CHAT_RATE_LIMIT: "100000" }, // the failover test sends 20 messages a second per writer
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

  it("reconnects the clients of a killed chat replica through nginx, and they lose nothing", async () => {
    const reader = await connect("creader");
    const writer = await connectWhere("cwriter", (server) => server !== reader.server);
    // Replayed from the room's stream on the cluster, then live through sharded pub/sub.
    const doomed = await killReadersReplica(kit, reader, writer, "crash");
    await docker("start", doomed.id);
    await kit.waitHealthy("chat", 3);
  });

  it("serves rooms from a replica added with --scale chat=4: it subscribes their shards on its own", async () => {
    const before = new Set((await kit.waitHealthy("chat", 3)).map((c) => c.hostname));
    // --no-deps: `up` would run the one-shot redis-cluster-init again, on a cluster already made.
    await kit.compose("up", "-d", "--no-build", "--no-recreate", "--no-deps", "--scale", "chat=4", "chat");
    const added = (await kit.waitHealthy("chat", 4)).find((c) => !before.has(c.hostname))!;
    // nginx re-resolves the name within its resolver's valid=5s.
    let newcomer: ChatTester | undefined;
    const deadline = Date.now() + 30_000;
    for (let i = 0; !newcomer && Date.now() < deadline; i++) {
      const client = await connect(`scaled${i}`);
      if (client.server === added.hostname) newcomer = client;
      else client.close();
    }
    expect(newcomer?.server).toBe(added.hostname);
    const elder = await connectWhere("elder", (server) => server !== added.hostname);
    for (const client of [newcomer!, elder]) await client.join("grown");
    await elder.send("grown", "to the new replica");
    await newcomer!.receive("grown", ["to the new replica"]);
    await newcomer!.send("grown", "from the new replica");
    await elder.receive("grown", ["from the new replica"]);
    await kit.compose("up", "-d", "--no-build", "--no-recreate", "--no-deps", "--scale", "chat=3", "chat");
    await kit.waitHealthy("chat", 3);
  });

  it("keeps delivering under load after the master of a room's slot is killed: nothing lost, nothing twice", async () => {
    const room = "failover";
    const reader = await connect("reader");
    const writers = [await connectWhere("writer-a", (server) => server !== reader.server), await connectWhere("writer-b", (server) => server !== reader.server)];
    for (const client of [reader, ...writers]) await client.join(room);

    // The node serving the room's slot, by name (CLUSTER NODES lists addresses).
    const [anyNode] = await kit.containers("redis-node-1");
    const slot = await docker("exec", anyNode!.id, "redis-cli", "cluster", "keyslot", `chat:room:{${room}}:log`);
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

    // Each writer sends a message every 50 ms; one refused (the slot has no master until a replica
    // is promoted: an error ack) is sent again until accepted, as the kit's page does.
    const accepted: string[][] = writers.map(() => []);
    const acceptedAt = new Map<string, number>();
    let refused = 0;
    let sending = true;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const loops = writers.map(async (writer, w) => {
      for (let n = 0; sending; n++) {
        const text = `w${w}-${n}`;
        for (;;) {
          try {
            await writer.send(room, text);
            break;
          } catch {
            refused += 1;
            await pause(50);
          }
        }
        accepted[w]!.push(text);
        acceptedAt.set(text, Date.now());
        await pause(50);
      }
    });
    await reader.until(() => reader.texts(room).length >= 20, 15_000, "20 messages before the kill");
    await docker("kill", victim!);
    const killedAt = Date.now();
    const afterKill = () => [...acceptedAt].filter(([, at]) => at > killedAt).map(([text]) => text);
    await reader.until(() => afterKill().some((text) => reader.texts(room).includes(text)), 30_000, "a message accepted after the kill");
    const recoveryMs = Date.now() - killedAt;
    await reader.until(() => afterKill().length >= 20, 15_000, "20 messages accepted after the kill");
    sending = false;
    await Promise.all(loops);

    const all = accepted.flat();
    await reader.receive(room, all, 15_000);
    const got = reader.texts(room);
    console.info(`[redis-cluster failover] ${all.length} accepted (${refused} sends refused meanwhile); a message crossed replicas again ${recoveryMs} ms after the kill`);
    expect(got.length).toBe(new Set(got).size); // nothing twice
    expect([...got].sort()).toEqual([...all].sort()); // nothing lost, nothing else
    for (const mine of accepted) expect(got.filter((text) => mine.includes(text))).toEqual(mine); // each writer's order kept
  });
});
