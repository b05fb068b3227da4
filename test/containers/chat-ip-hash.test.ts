/**
 * Profile `chat` with nginx's default CHAT_LB=ip_hash, in real containers: nginx/run.sh gives
 * nginx the chat replicas' addresses from Docker's DNS and reloads it when `--scale` changes them.
 * Every client here comes from the host (one address for nginx): that is ip_hash's limit, and the
 * tests show it too. The spread over networks is scripts/nginx-check/chat-placement.test.ts.
 */
import { describe, expect, inject, it } from "vitest";
import { useChatProfile } from "./support/chat-profile.js";
import { docker } from "./support/kit.js";

describe.skipIf(!inject("dockerAvailable"))("chat profile (chat x3 behind nginx, CHAT_LB=ip_hash: the default)", () => {
  const profile = useChatProfile();

  /** The `server` lines run.sh wrote for nginx, as addresses. */
  async function upstreamList(): Promise<string[]> {
    const [nginx] = await profile.kit.containers("nginx");
    const text = await docker("exec", nginx!.id, "cat", "/tmp/clusterkit-nginx/chat-replicas.conf");
    return [...text.matchAll(/server ([\d.]+):3000;/g)].map((m) => m[1]!).sort();
  }

  async function replicaAddresses(count: number): Promise<string[]> {
    const replicas = await profile.kit.waitHealthy("chat", count, 120_000);
    return (await Promise.all(replicas.map((r) => profile.kit.address(r.id)))).sort();
  }

  async function upstreamBecomes(addresses: string[]): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (JSON.stringify(await upstreamList()) !== JSON.stringify(addresses)) {
      if (Date.now() > deadline) throw new Error(`nginx's list is ${(await upstreamList()).join(", ")}, not ${addresses.join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  it("balances over exactly the chat replicas' addresses", async () => {
    expect(await upstreamList()).toEqual(await replicaAddresses(3));
  });

  it("keeps every client of one address on one replica, across reconnects, long-polling included", async () => {
    const servers = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const client = await profile.connect(`same-laptop-${i}`, { transports: i % 2 ? ["websocket"] : ["polling"] });
      servers.add(client.server);
    }
    // ip_hash's limit: one address (here the host, as nginx sees it through Docker's port mapping), one replica.
    expect(servers.size).toBe(1);
    for (const client of profile.clients) expect(client.connects).toBe(1);
  });

  it("follows --scale chat=4 and back to 3: nginx is reloaded with the new list, and clients still connect", async () => {
    await profile.kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "chat=4", "chat");
    await upstreamBecomes(await replicaAddresses(4));
    const during = await profile.connect("after-scale-up", { transports: ["polling"] });
    await during.join("lobby");
    await during.send("lobby", "on four replicas");
    await during.receive("lobby", ["on four replicas"]);

    await profile.kit.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "chat=3", "chat");
    await upstreamBecomes(await replicaAddresses(3));
    const after = await profile.connect("after-scale-down", { transports: ["polling"] });
    expect((await profile.kit.waitHealthy("chat", 3)).map((c) => c.hostname)).toContain(after.server);
  });
});
