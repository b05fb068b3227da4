/**
 * The kit on a single-node Docker swarm, deployed as `npm run swarm:up` does it (compose.yaml with
 * compose/stack.yaml merged over it) and removed as `npm run swarm:down -- --volumes` does:
 * convergence, a room message between two replicas, a gRPC call through the front door, and a
 * rolling update of the chat that nginx and its connected clients ride out.
 */
import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { connectUsers, unary, type CreateUserResponse, type GetUserResponse } from "grpc-demo/client";
import { ChatTester } from "./support/chat-client.js";
import { envoyAvailable } from "./support/kit.js";
import { SwarmStack } from "./support/swarm.js";

const frontDoor = envoyAvailable() ? "envoy" : "grpc-nginx";

/**
 * One HTTP request on a connection of its own. A kept-alive connection can be closed by an old
 * nginx worker at a reload just as a request is sent on it: browsers retry those, fetch does not,
 * and that race says nothing about whether nginx answers.
 */
function request(url: string, method = "GET", body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Long-polling sessions through nginx's sticky upstream (run.sh's list of replicas), one after
 * another until stopped: a handshake, then the session closed by a second request that must reach
 * the same replica (an Engine.IO close packet, which also keeps probes from piling up against the
 * chat's per-address connection limit). `failed`: nginx gave no working session; `moved`: the
 * close reached another replica ("Session ID unknown"), i.e. the client was re-placed between
 * its two requests.
 */
function probeSessions(url: string) {
  const result = { ok: 0, failed: [] as string[], moved: 0, slowestMs: 0 };
  let running = true;
  const once = async (): Promise<string | undefined> => {
    const handshake = await request(`${url}/socket.io/?EIO=4&transport=polling`);
    const sid = /"sid":"([^"]+)"/.exec(handshake.body)?.[1];
    if (handshake.status !== 200 || !sid) return `handshake ${handshake.status} ${handshake.body.slice(0, 100)}`;
    const close = await request(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, "POST", "1");
    if (close.status === 400 && close.body.includes("Session ID unknown")) return "moved";
    return close.status === 200 ? undefined : `close ${close.status} ${close.body.slice(0, 100)}`;
  };
  const loop = (async () => {
    while (running) {
      const sent = Date.now();
      const failure = await once().catch((error: unknown) => `${String(error)} (${String((error as { code?: string }).code)})`);
      if (failure === "moved") result.moved += 1;
      else if (failure) result.failed.push(failure);
      else result.ok += 1;
      result.slowestMs = Math.max(result.slowestMs, Date.now() - sent);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}

describe.skipIf(!inject("dockerAvailable"))(`swarm stack (chat x3, users x2, nginx, ${frontDoor}: npm run swarm:up)`, () => {
  let stack: SwarmStack | undefined;
  let url: string;
  const clients: ChatTester[] = [];

  beforeAll(async () => {
    stack = await SwarmStack.deploy();
    url = `http://127.0.0.1:${stack.nginxPort}`;
    console.info(`[swarm] ${stack.name} deployed and converged in ${stack.deployMs} ms`);
  }, 420_000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    if (!stack) return;
    const started = Date.now();
    await stack.remove();
    console.info(`[swarm] ${stack.name} removed in ${Date.now() - started} ms`);
    expect(await stack.leftovers(), "containers, networks or volumes of the stack").toEqual([]);
  }, 180_000);

  async function connect(target: string, nickname: string, transports?: ("polling" | "websocket")[]): Promise<ChatTester> {
    const client = await ChatTester.connect(target, nickname, transports ? { transports } : {});
    clients.push(client);
    return client;
  }

  /** A client on a chat replica other than `server`, through that replica's own port. */
  async function connectElsewhere(server: string, nickname: string): Promise<ChatTester> {
    const other = (await stack!.tasks("chat")).find((t) => t.hostname !== server);
    if (!other) throw new Error(`no chat replica but ${server}`);
    const client = await connect(`http://127.0.0.1:${await stack!.hostPort(other.containerId, 3000)}`, nickname, ["websocket"]);
    expect(client.server).toBe(other.hostname);
    return client;
  }

  it("converges: every service runs its replicas, each task healthy, with the stack's update policy", async () => {
    const wanted: Record<string, number> = { redis: 1, users: 2, chat: 3, nginx: 1, [frontDoor]: 1 };
    for (const [service, count] of Object.entries(wanted)) {
      const tasks = await stack!.tasks(service);
      expect(tasks, service).toHaveLength(count);
      // Envoy's image has no health check; every other service's comes from compose.yaml.
      for (const task of tasks) expect(task.health, service).toBe(service === "envoy" ? "none" : "healthy");
    }
    expect(await stack!.inspect("chat", ".Spec.UpdateConfig")).toMatchObject({ Parallelism: 1, Order: "start-first", FailureAction: "rollback" });
    expect(await stack!.inspect("chat", ".Spec.EndpointSpec.Mode")).toBe("dnsrr");
    expect(await stack!.inspect("redis", ".Spec.UpdateConfig.Order")).toBe("stop-first");
  });

  it("delivers a room message between a client through nginx and a client on another chat replica", async () => {
    const replicas = (await stack!.tasks("chat")).map((t) => t.hostname);
    const alice = await connect(url, "alice");
    expect(replicas).toContain(alice.server);
    const bob = await connectElsewhere(alice.server, "bob");
    for (const client of [alice, bob]) await client.join("swarm");
    await alice.send("swarm", `from ${alice.server}`);
    await bob.send("swarm", `from ${bob.server}`);
    for (const client of [alice, bob]) await client.receive("swarm", [`from ${alice.server}`, `from ${bob.server}`]);
  });

  it(`answers CreateUser and GetUser through ${frontDoor} on the published port, spread over both users replicas`, async () => {
    const client = await connectUsers(`127.0.0.1:${stack!.grpcPort}`);
    try {
      const email = `swarm-${Date.now()}@example.com`;
      const created = await unary<CreateUserResponse>((cb) => client.createUser({ name: "Swarm", email }, cb));
      const id = created.response.user!.id;
      const servedBy = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const got = await unary<GetUserResponse>((cb) => client.getUser({ id }, cb));
        expect(got.response.user).toMatchObject({ id, name: "Swarm", email });
        servedBy.add(got.servedBy ?? "?");
      }
      // No VIP in front of `users` (dnsrr): the front door sees both replicas and alternates.
      expect([...servedBy].sort()).toEqual((await stack!.tasks("users")).map((t) => t.hostname).sort());
    } finally {
      client.close();
    }
  });

  it("rolls the chat over one replica at a time: nginx answers throughout, clients follow, messages still cross", async () => {
    const before = new Set((await stack!.tasks("chat")).map((t) => t.hostname));
    const alice = await connect(url, "alice-rolling");
    const bob = await connect(url, "bob-rolling", ["polling"]);
    for (const client of [alice, bob]) await client.join("rolling");
    await alice.send("rolling", "before the update");
    await bob.receive("rolling", ["before the update"]);

    const probes = probeSessions(url);
    const started = Date.now();
    await stack!.forceUpdate("chat");
    await stack!.updateCompleted("chat", 240_000);
    const tookMs = Date.now() - started;
    const probed = await probes.stop();
    console.info(
      `[swarm] chat rolling update completed in ${tookMs} ms; sessions probed: ${probed.ok} ok, ${probed.moved} moved, ` +
        `${probed.failed.length} failed, slowest ${probed.slowestMs} ms`,
    );

    const after = await stack!.tasks("chat");
    expect(after).toHaveLength(3);
    for (const task of after) {
      expect(task.health).toBe("healthy");
      expect(before.has(task.hostname), "a replica outlived the forced update").toBe(false);
    }
    expect(probed.failed).toEqual([]);
    expect(probed.ok).toBeGreaterThan(0);
    // ip_hash is `hash % N` over run.sh's sorted list, and start-first takes N 3 -> 4 -> 3 for each
    // replica: every such change re-places most clients. Probes run one at a time, so each of the
    // (at most) 6 reloads can split at most the one session in flight; clients reconnect (below).
    expect(probed.moved).toBeLessThanOrEqual(6);

    // Both clients lost their replica, reconnected through nginx, and resumed the room.
    for (const client of [alice, bob]) {
      await client.until(() => after.some((t) => t.hostname === client.server), 30_000, "a connection to a new replica");
    }
    await alice.send("rolling", "after the update");
    const carol = await connectElsewhere(alice.server, "carol-rolling");
    await carol.join("rolling");
    await bob.send("rolling", "to carol");
    await bob.receive("rolling", ["before the update", "after the update", "to carol"]);
    await carol.receive("rolling", ["before the update", "after the update", "to carol"]);
  }, 300_000);
});
