/**
 * Profile `chat` in real containers: redis, chat x3 and nginx, every client going through nginx
 * as a browser would. With CHAT_LB=cookie: every client here comes from the host, i.e. from one
 * address, like one laptop's browsers; the cookie is what places each on its own replica.
 * (The default, ip_hash, is chat-ip-hash.test.ts.)
 */
import { describe, expect, inject, it } from "vitest";
import type { ChatTester, ChatTesterOptions } from "./support/chat-client.js";
import { useChatProfile } from "./support/chat-profile.js";
import { docker } from "./support/kit.js";
import { killReadersReplica } from "./support/replica-kill.js";

describe.skipIf(!inject("dockerAvailable"))("chat profile (chat x3 behind nginx, CHAT_LB=cookie)", () => {
  const profile = useChatProfile({ CHAT_LB: "cookie" });

  /** Connects new clients (each its own "browser") until one lands on a replica that `accept`s. */
  async function connectWhere(prefix: string, accept: (server: string) => boolean, options?: ChatTesterOptions) {
    for (let i = 0; i < 30; i++) {
      const client = await profile.connect(`${prefix}${i}`, options);
      if (accept(client.server)) return client;
      client.close();
    }
    throw new Error(`no client of 30 landed on a wanted replica`);
  }

  it("places clients on all 3 replicas, keeps long-polling sessions sticky, and they see each other", async () => {
    const replicas = (await profile.kit.waitHealthy("chat", 3)).map((c) => c.hostname).sort();
    // Long-polling only: each request of a session must reach the replica that holds it.
    const byServer = new Map<string, ChatTester>();
    for (let i = 0; i < 30 && byServer.size < 3; i++) {
      const client = await profile.connect(`spread${i}`, { transports: ["polling"] });
      if (!byServer.has(client.server)) byServer.set(client.server, client);
    }
    expect([...byServer.keys()].sort()).toEqual(replicas);

    const trio = [...byServer.values()];
    for (const client of trio) await client.join("lobby");
    for (const client of trio) await client.send("lobby", `hello from ${client.server}`);
    const all = replicas.map((server) => `hello from ${server}`);
    await Promise.all(trio.map((client) => client.receive("lobby", all)));
    for (const client of trio) expect(client.connects).toBe(1); // no session was lost to a wrong replica
  });

  it("spreads WebSocket-first connections even from a browser pinned to one replica", async () => {
    const [pinned] = await profile.kit.waitHealthy("chat", 3);
    const cookie = `chat_replica=${await profile.kit.address(pinned!.id)}:3000`;
    const servers = new Set<string>();
    for (let i = 0; i < 20 && servers.size < 2; i++) {
      const tab = await profile.connect(`tab${i}`, { transports: ["websocket"], cookie });
      servers.add(tab.server);
    }
    expect(servers.size).toBeGreaterThanOrEqual(2);
    // The same browser's long-polling connection does follow the cookie.
    const polling = await profile.connect("poller", { transports: ["polling"], cookie });
    expect(polling.server).toBe(pinned!.hostname);
  });

  it("sends clients to a replica added with --scale, with no nginx edit or reload", async () => {
    const before = new Set((await profile.kit.waitHealthy("chat", 3)).map((c) => c.hostname));
    await profile.kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "chat=4", "chat");
    const added = (await profile.kit.waitHealthy("chat", 4)).find((c) => !before.has(c.hostname))!;
    // nginx re-resolves the name within its resolver's valid=5s.
    const deadline = Date.now() + 30_000;
    let landed: ChatTester | undefined;
    while (!landed && Date.now() < deadline) {
      const client = await profile.connect(`scaled${profile.clients.length}`);
      if (client.server === added.hostname) landed = client;
      else client.close();
    }
    expect(landed?.server).toBe(added.hostname);
    await profile.kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "chat=3", "chat");
    await profile.kit.waitHealthy("chat", 3);
  });

  it("resumes delivery within seconds after Redis restarts, and keeps history (append-only file)", async () => {
    const alice = await profile.connect("alice");
    const bob = await connectWhere("bob", (server) => server !== alice.server);
    for (const client of [alice, bob]) await client.join("ops");
    await alice.send("ops", "before the restart");
    await bob.receive("ops", ["before the restart"]);

    const [redis] = await profile.kit.containers("redis");
    await docker("restart", "-t", "5", redis!.id);
    const restartedAt = Date.now();
    // Probe until a message crosses replicas again. (A message accepted while a replica's pub/sub
    // connection is still reconnecting reaches the others' clients only through history/replay.)
    const probes = await alice.probeUntilHeard("ops", bob, { since: restartedAt, everyMs: 500, after: "the restart" });
    const lost = probes.filter((p) => !bob.texts("ops").includes(p));
    console.info(`[redis restart] cross-replica delivery back after ${Date.now() - restartedAt} ms; not delivered live: ${lost.length}`);
    expect(Date.now() - restartedAt).toBeLessThan(30_000);
    await alice.send("ops", "after the restart");
    await bob.receive("ops", ["after the restart"], 5_000);

    const carol = await profile.connect("carol");
    await carol.join("ops");
    expect(carol.texts("ops")).toEqual(["before the restart", ...probes, "after the restart"]);
  });

  it("reconnects the clients of a killed replica through nginx, and they lose nothing", async () => {
    const reader = await profile.connect("reader");
    const writer = await connectWhere("writer", (server) => server !== reader.server);
    await killReadersReplica(profile.kit, reader, writer, "crash");
  });

  it("runs the chat as a non-root user and publishes nothing but nginx", async () => {
    const [chat] = (await profile.kit.containers("chat")).filter((c) => c.running);
    expect(await docker("exec", chat!.id, "id", "-u")).not.toBe("0");
    for (const service of ["redis", "chat"]) {
      for (const container of await profile.kit.containers(service)) {
        expect(await docker("port", container.id), `${service} publishes a port`).toBe("");
      }
    }
  });

  it("stops a replica promptly on SIGTERM (docker stop)", async () => {
    const stopped = await profile.kit.stopOne("chat", 15);
    expect(stopped.ms).toBeLessThan(8_000);
    expect(stopped.exitCode).not.toBe(137); // 137 = SIGKILL after the grace period: SIGTERM was not handled
  });
});
