import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compiledNode, freePort, profileArgs, startService, type Service } from "./processes.js";

/**
 * Every server a benchmark needs, each as its own OS process on loopback, so /proc gives each
 * one's CPU and memory. Ours run compiled (`dist/`, as the images and `npm start` do) at
 * LOG_LEVEL=warn: at info the user service logs one line per call.
 */
export interface Cluster {
  services: Service[];
  pids: number[];
  stop(): Promise<void>;
}

export function cluster(services: Service[]): Cluster {
  return {
    services,
    pids: services.map((s) => s.pid),
    stop: async () => {
      await Promise.all([...services].reverse().map((s) => s.stop()));
    },
  };
}

/** A fresh redis-server from Debian's package: no snapshots, no AOF (history lives in memory, as in the kit's tests). */
export async function startRedis(name = "redis"): Promise<Service & { url: string }> {
  const port = await freePort();
  const service = await startService({
    name,
    command: process.env.REDIS_SERVER_BIN ?? "redis-server",
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxclients", "1000"],
    port,
  });
  return { ...service, url: `redis://127.0.0.1:${port}` };
}

export async function startOurUsers(repo: string, redisUrl: string, serverId: string, env: NodeJS.ProcessEnv = {}): Promise<Service> {
  const port = await freePort();
  const { command, args } = compiledNode(repo, "grpc-demo");
  return startService({
    name: serverId,
    command,
    args,
    cwd: repo,
    port,
    env: { REDIS_URL: redisUrl, PORT: String(port), HOST: "127.0.0.1", SERVER_ID: serverId, LOG_LEVEL: "warn", ...env },
  });
}

export async function startPeerUsers(peerDir: string): Promise<Service> {
  const port = await freePort();
  return startService({
    name: "seed-grpc",
    command: process.execPath,
    args: [join(peerDir, "server.js")],
    cwd: peerDir,
    port,
    env: { PORT: String(port) },
  });
}

/** Chat settings for the benchmark; the rate limit stays on, raised above the load a client offers. */
export const ourChatBenchEnv = {
  LOG_LEVEL: "warn",
  // bufferutil is installed here (a devDependency, for the bufferutil suite) but not in the kit's images: measure what ships.
  WS_NO_BUFFER_UTIL: "1",
  CHAT_RATE_LIMIT: "100000",
  CHAT_RATE_WINDOW_MS: "10000",
  // Every bench client connects from 127.0.0.1: the per-address limits stay on, raised above the clients opened.
  CHAT_MAX_SOCKETS_PER_ADDRESS: "100000",
  CHAT_MAX_CONNECTS_PER_ADDRESS: "100000",
};

export async function startOurChat(repo: string, redisUrl: string, serverId: string, usersTarget: string, env: NodeJS.ProcessEnv = {}): Promise<Service> {
  const port = await freePort();
  const { command, args } = compiledNode(repo, "websocket-chat");
  return startService({
    name: serverId,
    command,
    args,
    cwd: join(repo, "websocket-chat"),
    port,
    env: {
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      SERVER_ID: serverId,
      USERS_TARGET: usersTarget,
      CORS_ORIGIN: "*",
      ...ourChatBenchEnv,
      ...env,
    },
  });
}

export async function startPeerChat(peerDir: string, redisUrl: string, serverId: string): Promise<Service> {
  const port = await freePort();
  return startService({
    name: serverId,
    command: process.execPath,
    // Profiled, the peer needs an orderly exit on SIGTERM to write its profiles.
    args: [...profileArgs(), ...(profileArgs().length ? ["--require", fileURLToPath(new URL("../servers/exit-on-sigterm.cjs", import.meta.url))] : []), join(peerDir, "server.js")],
    cwd: peerDir,
    port,
    env: { REDIS_URL: redisUrl, PORT: String(port), SERVER_ID: serverId },
  });
}
