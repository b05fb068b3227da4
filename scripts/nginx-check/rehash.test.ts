/**
 * What each CHAT_LB mode costs when the replica count changes, measured on Debian's nginx with the
 * kit's config (docs/architecture.md's figures come from this file's output). Linux routes all of
 * 127.0.0.0/8 to loopback, so a client socket bound to 127.a.b.1 is a client "from network
 * 127.a.b.0/24" as far as nginx can tell. Backends stand in for replicas at fixed addresses
 * (127.20.0.2…5:3000, like compose's 172.x.0.y:3000), so the ring points of `hash … consistent`
 * and therefore the figures are the same on every run.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNginx, type ChatLb } from "@clusterkit/test-kit";

const REPLICAS = ["127.20.0.2:3000", "127.20.0.3:3000", "127.20.0.4:3000", "127.20.0.5:3000"];
/** 1,000 clients, each from its own /24: 127.100.0.1, 127.100.1.1, … 127.103.231.1. */
const CLIENTS = Array.from({ length: 1000 }, (_, i) => `127.${100 + (i >> 8)}.${i & 255}.1`);

let backends: Server[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  backends = await Promise.all(
    REPLICAS.map(async (replica) => {
      const [host, port] = replica.split(":");
      const server = createServer((_req, res) => res.end(replica));
      server.listen(Number(port), host);
      await once(server, "listening");
      return server;
    }),
  );
});

afterAll(() => {
  for (const server of backends) server.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** One long-polling handshake from `localAddress`, on a connection of its own: the replica that answered. */
export function pollFrom(url: string, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/socket.io/?EIO=4&transport=polling`, { localAddress, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Where every client lands with `mode` in front of `replicas`. */
async function placement(mode: ChatLb, replicas: string[]): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), `nginx-rehash-${mode}-`));
  dirs.push(dir);
  const nginx = await startNginx(dir, replicas, { chatLb: mode });
  try {
    const landed: string[] = [];
    // In batches: 1,000 at once would only measure the accept queue.
    for (let i = 0; i < CLIENTS.length; i += 50) {
      landed.push(...(await Promise.all(CLIENTS.slice(i, i + 50).map((client) => pollFrom(nginx.url, client)))));
    }
    return landed;
  } finally {
    await nginx.close();
  }
}

const share = (n: number) => Math.round((n / CLIENTS.length) * 1000) / 10;

function spread(landed: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const replica of landed) counts[replica] = (counts[replica] ?? 0) + 1;
  return counts;
}

describe("nginx: scaling the chat from 3 to 4 replicas (1,000 clients, one per /24)", () => {
  const moved: Partial<Record<ChatLb, number>> = {};

  for (const mode of ["ip_hash", "hash"] as const) {
    it(`${mode}: spreads the clients over every replica, and says how many move`, async () => {
      const before = await placement(mode, REPLICAS.slice(0, 3));
      const after = await placement(mode, REPLICAS);
      for (const [replica, n] of Object.entries(spread(before))) expect(n, `${replica} of 3`).toBeGreaterThan(200);
      for (const [replica, n] of Object.entries(spread(after))) expect(n, `${replica} of 4`).toBeGreaterThan(150);
      expect(Object.keys(spread(after))).toHaveLength(4);
      moved[mode] = before.filter((replica, i) => after[i] !== replica).length;
      console.info(
        `[rehash] CHAT_LB=${mode}: 3 -> 4 replicas moves ${moved[mode]} of ${CLIENTS.length} clients (${share(moved[mode])} %); ` +
          `spread over 3: ${JSON.stringify(spread(before))}; over 4: ${JSON.stringify(spread(after))}`,
      );
    });
  }

  it("consistent hashing moves fewer clients than ip_hash (ideal: 1/4 of them)", () => {
    expect(moved.ip_hash).toBeDefined();
    expect(moved.hash).toBeDefined();
    // ip_hash maps hash % count: only the clients whose hash agrees modulo 3 and 4 stay (~1/4).
    expect(share(moved.ip_hash!)).toBeGreaterThan(60);
    expect(share(moved.hash!)).toBeLessThan(40);
  });
});

describe("nginx: one of 3 chat replicas going away (1,000 clients, one per /24)", () => {
  for (const mode of ["ip_hash", "hash"] as const) {
    it(`${mode}: says how many clients of the surviving replicas move too`, async () => {
      const [a, gone, c] = REPLICAS;
      const before = await placement(mode, [a!, gone!, c!]);
      const after = await placement(mode, [a!, c!]);
      const survivors = before.map((replica, i) => ({ replica, now: after[i] })).filter((p) => p.replica !== gone);
      const movedNeedlessly = survivors.filter((p) => p.now !== p.replica).length;
      console.info(
        `[rehash] CHAT_LB=${mode}: 3 -> 2 replicas (the middle one gone) moves ${movedNeedlessly} of the ` +
          `${survivors.length} clients whose replica is still there (${Math.round((movedNeedlessly / survivors.length) * 1000) / 10} %)`,
      );
      if (mode === "hash") expect(movedNeedlessly).toBe(0);
      else expect(movedNeedlessly / survivors.length).toBeGreaterThan(0.3);
    });
  }
});
