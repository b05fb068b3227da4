/**
 * Finding 11.4's attack, measured: a big user directory, and sockets that ask for the live users
 * snapshot and never read it.
 *
 *   npm run drill:snapshot -- [--users 200000] [--sockets 40] [--resubscribes 20] [--seconds 10]
 *                             [--max-buffered-bytes N] [--chat-dir <other checkout>/websocket-chat]
 *
 * On loopback: redis-server, `--users` users written straight into Redis (DRILL_USERS also sets
 * it), one user-service replica and one chat replica as a real process. Then `--sockets` raw
 * WebSockets each send users:subscribe, stop reading (still answering pings, so the heartbeat
 * keeps them) and send `--resubscribes` more. Meanwhile an honest page pings the replica with
 * users:subscribe round trips, and once the attack is in place another page reads the whole
 * snapshot. Prints the chat replica's RSS before, at its peak and at the end, Redis used_memory,
 * the round-trip latency during the attack and the bound (CHAT_MAX_BUFFERED_BYTES), and exits 1
 * when the replica held more than the bound for one connection. `--chat-dir` runs another
 * checkout's chat (e.g. /work/main/websocket-chat) for a before/after.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { io, type Socket } from "socket.io-client";
import { seedUsersDirectly, startUserReplica } from "@clusterkit/test-kit/users";
import type { ClientToServerEvents, ServerToClientEvents, UsersPage } from "../../websocket-chat/src/contracts/events.js";
import { closeRedis, connectRedis } from "@clusterkit/redis-kit";
import { startChatProcess } from "@clusterkit/test-kit/chat";
import { connectRawSocketIo, type RawSocketIo, startRedis } from "@clusterkit/test-kit";
import { stopProcess } from "@clusterkit/test-kit/stack";
import { ack, integerOption, percentile } from "./drill-kit.js";

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: process.env.DRILL_USERS ?? "200000" },
    sockets: { type: "string", default: "40" },
    resubscribes: { type: "string", default: "20" },
    seconds: { type: "string", default: "10" },
    "max-buffered-bytes": { type: "string", default: "1048576" },
    "chat-dir": { type: "string" },
  },
});
const USERS = integerOption("users", args.users, 0, 2_000_000);
const SOCKETS = integerOption("sockets", args.sockets, 1, 2_000);
const RESUBSCRIBES = integerOption("resubscribes", args.resubscribes, 0, 1_000);
const SECONDS = integerOption("seconds", args.seconds, 1, 300);
const BOUND = integerOption("max-buffered-bytes", args["max-buffered-bytes"], 16_384, 2 ** 31);

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The replica's metrics: a value by name, summed over the series whose labels contain `label`. */
async function metrics(url: string): Promise<(name: string, label?: string) => number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return (name, label = "") => {
    const values = [...text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, "gm"))]
      .filter((match) => (match[1] ?? "").includes(label))
      .map((match) => Number(match[2]));
    return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0);
  };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const logger = pino({ level: "silent" });
const redis = await startRedis();
const inspect = await connectRedis(redis.url, logger, "drill-inspect");
const raws: RawSocketIo[] = [];
const pages: Client[] = [];
let stopChat: (() => Promise<void>) | undefined;
let users: Awaited<ReturnType<typeof startUserReplica>> | undefined;
try {
  const seededAt = Date.now();
  await seedUsersDirectly(inspect, { count: USERS });
  console.log(`seeded ${USERS} users in ${Date.now() - seededAt} ms`);
  users = await startUserReplica({ redisUrl: redis.url, serverId: "users-1" });
  const chat = await startChatProcess(
    { SERVER_ID: "chat-1", REDIS_URL: redis.url, USERS_TARGET: users.target, CHAT_MAX_BUFFERED_BYTES: String(BOUND) },
    args["chat-dir"] ? { workspace: args["chat-dir"] } : {},
  );
  stopChat = () => stopProcess(chat);
  const loadedAt = Date.now();
  await waitFor("the chat's users feed", async () => ((await (await fetch(`${chat.url}/readyz`)).json()) as { usersFeed?: string }).usersFeed === "ready", 300_000);
  console.log(`chat replica loaded the directory in ${Date.now() - loadedAt} ms`);

  const honest = io(chat.url, { transports: ["websocket"], forceNew: true, reconnection: false }) as Client;
  pages.push(honest);
  await new Promise<void>((resolve, reject) => (honest.once("connect", resolve), honest.once("connect_error", reject)));
  const first = await ack(honest, "users:subscribe", {}, 30_000);
  if ("error" in first) throw new Error(`subscribe: ${first.error.message}`);
  const cursor = first.cursor;
  const before = await metrics(chat.url);
  const redisBefore = Number(/used_memory:(\d+)/.exec(await inspect.info("memory"))?.[1]);

  // Sampling: the replica's RSS and most backed-up connection, every 250 ms.
  const samples: { rss: number; largest: number }[] = [];
  const sampler = setInterval(() => {
    void metrics(chat.url).then(
      (m) => samples.push({ rss: m("process_resident_memory_bytes"), largest: m("chat_send_buffer_max_bytes") }),
      () => undefined,
    );
  }, 250);
  // Latency: an honest page's users:subscribe round trips, back to back, all along.
  const latencies: number[] = [];
  let refusedRoundTrips = 0;
  let attacking = true;
  const pinger = (async () => {
    while (attacking) {
      const sentAt = Date.now();
      const reply = await ack(honest, "users:subscribe", { since: cursor }, 30_000).catch(() => ({ error: { code: "TIMEOUT" } }));
      if ("error" in reply) refusedRoundTrips++;
      else latencies.push(Date.now() - sentAt);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    }
  })();

  console.log(`attack: ${SOCKETS} sockets subscribe and stop reading, then resubscribe ${RESUBSCRIBES} times each`);
  const attackAt = Date.now();
  for (let i = 0; i < SOCKETS; i++) {
    const raw = await connectRawSocketIo(chat.url);
    raws.push(raw);
    raw.stopReading({ answerPingsEveryMs: 1_000 });
    void raw.request("users:subscribe", {});
    for (let r = 0; r < RESUBSCRIBES; r++) void raw.request("users:subscribe", {});
  }
  // An honest page reads the whole snapshot while the attack holds.
  const reader = io(chat.url, { transports: ["websocket"], forceNew: true, reconnection: false }) as Client;
  pages.push(reader);
  await new Promise<void>((resolve, reject) => (reader.once("connect", resolve), reader.once("connect_error", reject)));
  const readAt = Date.now();
  let snapshotUsers = 0;
  let pageCount = 0;
  const snap = await ack(reader, "users:subscribe", {}, 120_000);
  if ("error" in snap) throw new Error(`snapshot: ${snap.error.message}`);
  if ("page" in snap) {
    let page: UsersPage = snap.page;
    for (;;) {
      pageCount++;
      snapshotUsers += (JSON.parse(Buffer.from(page.users as Uint8Array).toString()) as unknown[]).length;
      if (page.next === null) break;
      const next = await ack(reader, "users:page", { after: page.next }, 120_000);
      if ("error" in next) throw new Error(`page: ${next.error.message}`);
      page = next.page;
    }
  } else {
    // A chat without pages (before the fix) answers with the whole directory at once.
    pageCount = 1;
    snapshotUsers = "users" in snap && Array.isArray(snap.users) ? snap.users.length : 0;
  }
  const readMs = Date.now() - readAt;
  const remaining = SECONDS * 1_000 - (Date.now() - attackAt);
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
  attacking = false;
  await pinger;
  clearInterval(sampler);
  const after = await metrics(chat.url);
  const redisAfter = Number(/used_memory:(\d+)/.exec(await inspect.info("memory"))?.[1]);
  // NaN: a chat without the metric (before the fix).
  const measured = samples.map((s) => s.largest).filter(Number.isFinite);
  const largest = measured.length === 0 ? Number.NaN : Math.max(...measured);
  const report = {
    users: USERS,
    attackSockets: SOCKETS,
    resubscribesEach: RESUBSCRIBES,
    boundMB: mb(BOUND),
    chatRssBeforeMB: mb(before("process_resident_memory_bytes")),
    chatRssPeakMB: mb(Math.max(0, ...samples.map((s) => s.rss))),
    chatRssEndMB: mb(after("process_resident_memory_bytes")),
    largestSendBufferKB: Number.isFinite(largest) ? Math.round(largest / 1024) : -1,
    redisUsedBeforeMB: mb(redisBefore),
    redisUsedAfterMB: mb(redisAfter),
    roundTripP50Ms: percentile(latencies, 50),
    roundTripP99Ms: percentile(latencies, 99),
    roundTripMaxMs: Math.max(-1, ...latencies),
    roundTripsRefused: refusedRoundTrips,
    cutOff: after("chat_slow_consumers_total"),
    refusedRateLimited: after("chat_rejected_total", 'code="RATE_LIMITED"'),
    pagesEncoded: after("chat_users_pages_encoded_total"),
    honestSnapshotUsers: snapshotUsers,
    honestSnapshotPages: pageCount,
    honestSnapshotMs: readMs,
  };
  console.table(report);
  console.log(`DRILL ${JSON.stringify(report)}`);
  const ok = Number.isFinite(largest) && largest <= BOUND && snapshotUsers === USERS + 2;
  console.log(ok ? "PASS: no connection held more than the bound; the honest page read every user" : "FAIL");
  process.exitCode = ok ? 0 : 1;
} finally {
  for (const raw of raws) raw.close();
  for (const page of pages) page.disconnect();
  await stopChat?.();
  await users?.close();
  await closeRedis(inspect);
  await redis.close();
}
