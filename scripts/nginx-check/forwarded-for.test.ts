/**
 * nginx/nginx.conf's X-Forwarded-For, with Debian's nginx on loopback. The chat believes one
 * proxy hop (CHAT_TRUST_PROXY=1 in compose), so the header nginx sends must hold only the address
 * nginx saw: appending to what the client sent would let the client pick its own rate-limit key.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNginx, type TestNginx } from "@clusterkit/test-kit";

const dir = mkdtempSync(path.join(tmpdir(), "nginx-forwarded-"));
let replica: Server;
let nginx: TestNginx;

beforeAll(async () => {
  // Answers with the X-Forwarded-For it was given.
  replica = createServer((req, res) => res.end(String(req.headers["x-forwarded-for"])));
  replica.listen(0, "127.0.0.1");
  await once(replica, "listening");
  const address = replica.address();
  if (address === null || typeof address === "string") throw new Error("no replica port");
  nginx = await startNginx(dir, [`127.0.0.1:${address.port}`]);
});

afterAll(async () => {
  await nginx?.close();
  replica?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("finding 11.6: nginx and X-Forwarded-For", () => {
  it.each(["/api/users", "/socket.io/?EIO=4&transport=polling", "/"])("%s: the replica gets the client's address, not what the client claimed", async (where) => {
    const res = await fetch(`${nginx.url}${where}`, { headers: { "x-forwarded-for": "203.0.113.7, 10.1.2.3" } });
    expect(await res.text()).toBe("127.0.0.1");
  });
});
