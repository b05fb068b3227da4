/**
 * Who the client is, for the limits keyed by address: the /api rate limit and the per-address
 * socket limits. Through the kit's own nginx config (Debian's nginx) and straight to a replica.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNginx, type TestNginx } from "@clusterkit/test-kit";
import { startChatCluster, type TestCluster, connected, tryConnect } from "@clusterkit/test-kit/chat";

const RATE = { rateLimit: 2, rateWindowMs: 60_000 };

let behindNginx: TestCluster;
let direct: TestCluster;
let limited: TestCluster;
let burst: TestCluster;
let rated: TestCluster;
let nginx: TestNginx;
let dir: string;

beforeAll(async () => {
  [behindNginx, direct, limited, burst, rated] = await Promise.all([
    // As compose runs it: one trusted hop, nginx.
    startChatCluster(1, { config: { ...RATE, trustProxy: 1 } }),
    // The default: no proxy believed.
    startChatCluster(1, { config: { ...RATE, trustProxy: 0 } }),
    startChatCluster(1, { config: { maxSocketsPerAddress: 3, maxConnectsPerAddress: 10_000 } }),
    startChatCluster(1, { config: { maxSocketsPerAddress: 5, maxConnectsPerAddress: 10_000 } }),
    startChatCluster(1, { config: { maxSocketsPerAddress: 10_000, maxConnectsPerAddress: 5, connectWindowMs: 60_000 } }),
  ]);
  dir = await mkdtemp(join(tmpdir(), "clusterkit-proxy-trust-"));
  nginx = await startNginx(join(dir, "nginx"), [new URL(behindNginx.replicas[0]!.url).host]);
});

afterAll(async () => {
  await nginx?.close();
  await Promise.all([behindNginx, direct, limited, burst, rated].map((cluster) => cluster?.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A change through /api/users with a made-up X-Forwarded-For; the status says whether the budget allowed it. */
async function spoofedChange(base: string, forwardedFor: string): Promise<number> {
  const response = await fetch(`${base}/api/users`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
    body: JSON.stringify({ name: "Spoof", email: "spoof@example.com" }),
  });
  await response.body?.cancel();
  return response.status;
}

/** A new Engine.IO session over long-polling: the raw HTTP answer, where a refusal says why. */
async function pollingHandshake(base: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${base}/socket.io/?EIO=4&transport=polling`);
  return { status: response.status, body: await response.text() };
}

describe("finding 11.6: rate-limit key spoofing", () => {
  // Without a user service the changes answer 503 once past the rate limit; over it, 429.
  it("through nginx, a made-up X-Forwarded-For does not give a client a fresh budget", async () => {
    const statuses = [];
    for (const n of [1, 2, 3, 4]) statuses.push(await spoofedChange(nginx.url, `203.0.113.${n}`));
    expect(statuses).toEqual([503, 503, 429, 429]);
  });

  it("straight to a replica that trusts no proxy, a made-up X-Forwarded-For is ignored", async () => {
    const statuses = [];
    for (const n of [1, 2, 3, 4]) statuses.push(await spoofedChange(direct.replicas[0]!.url, `198.51.100.${n}, 10.0.0.${n}`));
    expect(statuses).toEqual([503, 503, 429, 429]);
  });
});

describe("finding 11.6: connections per address", () => {
  it("refuses the 4th concurrent socket from one address with a clear reason, and admits one again once a socket closes", async () => {
    const replica = limited.replicas[0]!;
    const sockets = [limited.client(replica), limited.client(replica), limited.client(replica)];
    await Promise.all(sockets.map((socket) => connected(socket)));

    expect(await tryConnect(replica.url, { transports: ["websocket"] })).toEqual({ refused: "websocket error" });
    expect(await pollingHandshake(replica.url)).toEqual({
      status: 403,
      body: JSON.stringify({ code: 4, message: "too many connections from 127.0.0.1: at most 3 at once" }),
    });

    // The connection counts as closed once the server sees its transport close.
    const serverSide = replica.server.io.of("/").sockets.get(sockets[0]!.id!)!;
    const closedOnServer = new Promise((resolve) => serverSide.conn.once("close", resolve));
    sockets[0]!.disconnect();
    await closedOnServer;
    await connected(limited.client(replica));
  });

  it("admits exactly the cap from a burst of simultaneous handshakes", async () => {
    const replica = burst.replicas[0]!;
    const attempts = Array.from({ length: 9 }, () => connected(burst.client(replica)));
    const outcomes = await Promise.allSettled(attempts);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(5);
    expect(replica.server.io.of("/").sockets.size).toBe(5);
  });

  it("refuses new connections past the connect rate, even when each was closed again", async () => {
    const replica = rated.replicas[0]!;
    for (let n = 0; n < 5; n++) expect(await tryConnect(replica.url, { transports: ["websocket"] })).toEqual({ transport: "websocket" });
    expect(await tryConnect(replica.url, { transports: ["websocket"] })).toEqual({ refused: "websocket error" });
    const refused = await pollingHandshake(replica.url);
    expect(refused.status).toBe(403);
    expect((JSON.parse(refused.body) as { message: string }).message).toMatch(/^too many new connections from 127\.0\.0\.1: at most 5 per 60 s; try again in \d+ s$/);
  });
});
