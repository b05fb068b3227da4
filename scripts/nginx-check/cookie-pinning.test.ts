/**
 * nginx/nginx.conf's long-polling stickiness, with Debian's nginx on loopback: the
 * `chat_replica` cookie pins a polling session to a replica, but the cookie is the client's, so
 * nginx must honour it only for an address inside its own network on the chat port. Otherwise a
 * crafted cookie turns the proxy into a door to any host (an internal service, a metadata API).
 * Loopback stands in for the compose network: nginx listens on 127.0.0.1, so 127.0.x.x is "its
 * /16" and 127.1.0.1 is outside it.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNginx, type TestNginx } from "@clusterkit/test-kit";

interface Backend {
  server: Server;
  hits: number;
}

async function backend(host: string, port: number, name: string): Promise<Backend> {
  const result: Backend = { server: createServer(), hits: 0 };
  result.server.on("request", (_req, res) => {
    result.hits++;
    res.end(name);
  });
  result.server.listen(port, host);
  await once(result.server, "listening");
  return result;
}

const dir = mkdtempSync(path.join(tmpdir(), "nginx-pinning-"));
let replica: Backend;
let inside: Backend; // another "container" of nginx's own network
let outside: Backend; // a host elsewhere that a cookie must not reach
let nginx: TestNginx;

beforeAll(async () => {
  replica = await backend("127.0.0.1", 0, "replica");
  inside = await backend("127.0.0.2", 3000, "inside");
  outside = await backend("127.1.0.1", 3000, "outside");
  const address = replica.server.address();
  if (address === null || typeof address === "string") throw new Error("no replica port");
  nginx = await startNginx(dir, [`127.0.0.1:${address.port}`], { chatLb: "cookie" });
});

afterAll(async () => {
  await nginx?.close();
  for (const b of [replica, inside, outside]) b?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function poll(cookie: string, transport = "polling"): Promise<string> {
  const res = await fetch(`${nginx.url}/socket.io/?EIO=4&transport=${transport}`, { headers: { cookie } });
  return res.text();
}

describe("nginx CHAT_LB=cookie: the chat_replica cookie", () => {
  it("pins long-polling to a replica inside nginx's own network", async () => {
    expect(await poll("chat_replica=127.0.0.2:3000")).toBe("inside");
  });

  it("is ignored when it names a host outside nginx's network", async () => {
    expect(await poll("chat_replica=127.1.0.1:3000")).toBe("replica");
    expect(outside.hits).toBe(0);
  });

  it("is ignored for any port but the chat's, and for a WebSocket-first connection", async () => {
    const before = inside.hits;
    expect(await poll("chat_replica=127.0.0.2:6379")).toBe("replica");
    expect(await poll("chat_replica=127.0.0.2:3000", "websocket")).toBe("replica");
    expect(inside.hits).toBe(before);
  });
});

describe("nginx CHAT_LB=ip_hash and hash: no cookie is read at all", () => {
  for (const mode of ["ip_hash", "hash"] as const) {
    it(`${mode}: a crafted chat_replica cookie sends nginx nowhere but a listed replica, and none is set`, async () => {
      const address = replica.server.address() as { port: number };
      const other = await startNginx(path.join(dir, mode), [`127.0.0.1:${address.port}`], { chatLb: mode });
      try {
        const before = { inside: inside.hits, outside: outside.hits };
        for (const cookie of ["chat_replica=127.0.0.2:3000", "chat_replica=127.1.0.1:3000"]) {
          const res = await fetch(`${other.url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie } });
          expect(await res.text()).toBe("replica");
          expect(res.headers.get("set-cookie")).toBeNull();
        }
        expect({ inside: inside.hits, outside: outside.hits }).toEqual(before);
      } finally {
        await other.close();
      }
    });
  }
});
