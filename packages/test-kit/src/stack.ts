import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startUserReplica, type UserReplica } from "./users/user-replica.js";
import { startRedis, type TestRedis } from "./redis-server.js";
import { startChatProcess, type ChatProcess } from "./chat/chat-process.js";
import { startNginx, type TestNginx } from "./nginx.js";

const chatWorkspace = fileURLToPath(new URL("../../../websocket-chat", import.meta.url));

export interface ChatReplicaProcess extends ChatProcess {
  serverId: string;
}

export interface E2EStack {
  dir: string;
  redis: TestRedis;
  users: UserReplica;
  chats: ChatReplicaProcess[];
  nginx: TestNginx;
  /** The page, through nginx. */
  url: string;
  /** Stops a chat replica with `signal` and starts it again on the same port (nginx keeps its upstream list). */
  restartChat(serverId: string, signal: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

/** Builds the page from the current source into `outDir` (not web/dist: others may be using it). */
function buildPage(outDir: string): void {
  // vite is hoisted to the root node_modules; it runs with the chat workspace's vite.config.ts.
  const vite = join(chatWorkspace, "..", "node_modules", "vite", "bin", "vite.js");
  const result = spawnSync(process.execPath, [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], {
    cwd: chatWorkspace,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
}

/**
 * The whole chat path a participant uses, on loopback: redis-server, one user-service replica,
 * three chat replicas as real processes (so one can be SIGKILLed), and Debian's nginx with the
 * kit's config in front of them.
 */
export async function startStack(
  options: {
    replicas?: number;
    presenceTtlMs?: number;
    /** Extra environment for every chat replica. */
    chatEnv?: Record<string, string>;
    /** Runs once Redis is up, before any service starts (to seed data the services load at start). */
    beforeServices?: (redis: TestRedis) => Promise<void>;
  } = {},
): Promise<E2EStack> {
  const dir = await mkdtemp(join(tmpdir(), "clusterkit-e2e-"));
  const started: { close(): Promise<unknown> }[] = [];
  try {
    const webDist = join(dir, "web");
    buildPage(webDist);
    const redis = await startRedis();
    started.push(redis);
    await options.beforeServices?.(redis);
    const users = await startUserReplica({ redisUrl: redis.url, serverId: "users-1" });
    started.push(users);
    const chats: ChatReplicaProcess[] = [];
    const startChat = async (serverId: string, port?: number): Promise<ChatReplicaProcess> => {
      const chat = await startChatProcess({
        SERVER_ID: serverId,
        REDIS_URL: redis.url,
        USERS_TARGET: users.target,
        WEB_DIST: webDist,
        CHAT_PRESENCE_TTL_MS: String(options.presenceTtlMs ?? 3_000),
        CHAT_TRUST_PROXY: "1", // nginx in front, as in compose
        LOG_LEVEL: "info",
        ...options.chatEnv,
        ...(port ? { PORT: String(port) } : {}),
      });
      return { ...chat, serverId, url: port ? `http://127.0.0.1:${port}` : chat.url };
    };
    for (let n = 1; n <= (options.replicas ?? 3); n++) chats.push(await startChat(`chat-${n}`));
    // Whatever replicas are current at close time (restartChat replaces entries).
    started.push({ close: async () => void (await Promise.all(chats.map((chat) => stopProcess(chat)))) });
    // CHAT_LB=cookie: every browser context here comes from 127.0.0.1, and ip_hash (the kit's
    // default) would put them all on one replica; the cookie places each context on its own.
    const nginx = await startNginx(join(dir, "nginx"), chats.map((c) => new URL(c.url).host), { chatLb: "cookie" });
    started.push(nginx);
    return {
      dir,
      redis,
      users,
      chats,
      nginx,
      url: nginx.url,
      async restartChat(serverId, signal) {
        const index = chats.findIndex((chat) => chat.serverId === serverId);
        if (index < 0) throw new Error(`no replica ${serverId}`);
        await stopProcess(chats[index]!, signal);
        chats[index] = await startChat(serverId, Number(new URL(chats[index]!.url).port));
      },
      async close() {
        for (const part of started.reverse()) await part.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const part of started.reverse()) await part.close().catch(() => undefined);
    throw error;
  }
}

/** SIGTERM (or SIGKILL) and wait for the exit. */
export async function stopProcess(chat: ChatProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (chat.child.exitCode !== null || chat.child.signalCode !== null) return;
  chat.child.kill(signal);
  await chat.exited;
}
