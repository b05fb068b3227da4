/**
 * How the kit's nginx places Socket.IO clients on chat replicas, per CHAT_LB mode: Debian's nginx
 * with the kit's config in front of 3 in-process chat replicas over one redis-server. Linux routes
 * all of 127.0.0.0/8 to loopback, so a client whose sockets are bound to 127.0.N.1 (an
 * http.Agent's localAddress: engine.io-client uses it for long-polling and WebSocket alike) is,
 * for nginx, a client from network 127.0.N.0/24.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { io, type Socket } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { nginxBin, startNginx, writeChatReplicas, type ChatLb, type TestNginx } from "@clusterkit/test-kit";
import { startChatCluster, type TestCluster } from "@clusterkit/test-kit/chat";
import type { AckResult, IdentifyResult } from "../../websocket-chat/src/contracts/events.js";

let cluster: TestCluster;
const dirs: string[] = [];
const sockets = new Set<Socket>();
const agents = new Set<Agent>();

beforeAll(async () => {
  cluster = await startChatCluster(3);
});

/**
 * Disconnects every client and drops its connections: a polling client's disconnect leaves its
 * last long-poll open until the server's next ping (25 s), and nginx's graceful stop waits for it.
 */
function disconnectAll(): void {
  for (const socket of sockets) socket.disconnect();
  for (const agent of agents) agent.destroy();
  sockets.clear();
  agents.clear();
}

afterEach(disconnectAll);

afterAll(async () => {
  await cluster?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const hosts = () => cluster.replicas.map((r) => new URL(r.url).host);

async function nginxWith(mode: ChatLb): Promise<TestNginx> {
  const dir = mkdtempSync(path.join(tmpdir(), `nginx-placement-${mode}-`));
  dirs.push(dir);
  return startNginx(dir, hosts(), { chatLb: mode });
}

interface Client {
  socket: Socket;
  /** Replica (SERVER_ID) of each connection, in order: the first, then one per reconnection. */
  servers: string[];
  /** Connection attempts refused (a polling request sent to a replica that does not know the session shows here). */
  errors: number;
}

/**
 * A Socket.IO client whose every socket starts from `from`. It identifies on each (re)connection
 * and records which replica answered.
 */
function clientFrom(url: string, from: string, transports: ("polling" | "websocket")[] = ["polling"]): Client {
  const agent = new Agent({ localAddress: from });
  agents.add(agent);
  const socket = io(url, {
    transports,
    agent: agent as unknown as string, // typed as string | boolean by engine.io-client; an http.Agent in Node
    forceNew: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    extraHeaders: { origin: url },
  });
  sockets.add(socket);
  socket.on("disconnect", () => undefined);
  const client: Client = { socket, servers: [], errors: 0 };
  socket.on("connect_error", () => (client.errors += 1));
  socket.on("connect", () => {
    const nickname = `n${from.replaceAll(".", "-")}-${client.servers.length}`;
    socket.emit("chat:identify", { nickname, sessionKey: `${nickname}-session-key` }, (result: AckResult<IdentifyResult>) => {
      client.servers.push("error" in result ? `error ${result.error.code}` : result.server);
    });
  });
  return client;
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Connects, then drops the transport `reconnects` times; resolves with the replica of each connection. */
async function connectAndReconnect(url: string, from: string, reconnects: number, transports?: ("polling" | "websocket")[]): Promise<Client> {
  const client = clientFrom(url, from, transports);
  await until(() => client.servers.length === 1, `${from}'s first connection`);
  for (let n = 2; n <= reconnects + 1; n++) {
    // What a network blip does: the transport closes and the client reconnects by itself.
    client.socket.io.engine.close();
    await until(() => client.servers.length === n, `${from}'s reconnection ${n - 1}`);
  }
  return client;
}

describe("nginx CHAT_LB=ip_hash (the default): the client's /24 picks the replica", () => {
  let nginx: TestNginx;
  beforeAll(async () => {
    nginx = await nginxWith("ip_hash");
  });
  afterAll(async () => {
    disconnectAll();
    await nginx?.close();
  });

  it("spreads clients of 12 networks over all 3 replicas; each stays on its own across reconnects (long-polling)", async () => {
    const clients = await Promise.all(Array.from({ length: 12 }, (_, i) => connectAndReconnect(nginx.url, `127.0.${i + 1}.1`, 2)));
    for (const client of clients) {
      expect(new Set(client.servers).size, `${client.servers.join(" -> ")}`).toBe(1);
      // A polling request that reached a replica without the session would have failed the connection.
      expect(client.errors).toBe(0);
    }
    expect(new Set(clients.map((c) => c.servers[0])).size).toBe(3);
  });

  it("puts every client of one /24 on the same replica, WebSocket or polling (one laptop's tabs, a NAT'd room)", async () => {
    const clients = await Promise.all(
      Array.from({ length: 8 }, (_, i) => connectAndReconnect(nginx.url, `127.0.50.${i + 1}`, 0, i % 2 ? ["websocket"] : ["polling"])),
    );
    expect(new Set(clients.map((c) => c.servers[0])).size).toBe(1);
  });

  it("follows a new replica list after a reload (what nginx/run.sh does on --scale)", async () => {
    const added = await cluster.startReplica("chat-4");
    try {
      await writeChatReplicas(path.dirname(nginx.config), hosts());
      await nginx.reload();
      // Until the old workers have handed over, a client may still be placed by the old list.
      const landed = new Set<string>();
      for (let n = 1; !landed.has("chat-4"); n++) {
        if (n > 200) throw new Error(`no client of 200 networks reached chat-4; saw ${[...landed].join(", ")}`);
        const client = await connectAndReconnect(nginx.url, `127.0.${n}.7`, 0);
        landed.add(client.servers[0]!);
        client.socket.disconnect();
      }
      expect(landed.has("chat-4")).toBe(true);
    } finally {
      cluster.replicas.pop();
      await added.close();
      await writeChatReplicas(path.dirname(nginx.config), hosts());
      await nginx.reload();
    }
  });
});

describe("nginx CHAT_LB=hash: `hash $remote_addr consistent` keys on the whole address", () => {
  it("spreads the clients of one /24 over the replicas; each stays on its own across reconnects (long-polling)", async () => {
    const nginx = await nginxWith("hash");
    try {
      const clients = await Promise.all(Array.from({ length: 12 }, (_, i) => connectAndReconnect(nginx.url, `127.0.50.${i + 1}`, 2)));
      for (const client of clients) expect(new Set(client.servers).size, `${client.servers.join(" -> ")}`).toBe(1);
      for (const client of clients) expect(client.errors).toBe(0);
      expect(new Set(clients.map((c) => c.servers[0])).size).toBeGreaterThanOrEqual(2);
    } finally {
      disconnectAll();
      await nginx.close();
    }
  });
});

describe("nginx/nginx.conf as shipped", () => {
  for (const mode of ["ip_hash", "hash", "cookie"] as const) {
    it(`passes nginx -t with CHAT_LB=${mode}, laid out as nginx/run.sh does`, () => {
      const dir = mkdtempSync(path.join(tmpdir(), `nginx-t-${mode}-`));
      dirs.push(dir);
      const kit = path.resolve(import.meta.dirname, "../../nginx");
      copyFileSync(path.join(kit, "nginx.conf"), path.join(dir, "nginx.conf"));
      copyFileSync(path.join(kit, "chat-lb", `${mode}.conf`), path.join(dir, "chat-lb.conf"));
      writeFileSync(path.join(dir, "chat-replicas.conf"), "server 172.18.0.3:3000;\nserver 172.18.0.4:3000;\n");
      // stdout not a pipe: node's pipes are sockets, which nginx cannot open as /dev/stdout (its access log).
      const result = spawnSync(nginxBin(), ["-t", "-c", path.join(dir, "nginx.conf")], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
      expect(result.stderr).toMatch(/test is successful/);
    });
  }
});
