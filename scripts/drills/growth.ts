/**
 * Hostile clients against everything a client can make the cluster store or do (finding 11.7):
 *
 *   npm run drill:growth -- [--seconds 20] [--hostile 30] [--baseline 5] [--unbounded] [--fixed-identities]
 *
 * Starts the loopback stack (redis-server, a user service, three chat processes, nginx; see
 * @clusterkit/test-kit/stack). Five honest users send one message a second each into one room and
 * time it to a reader on another replica, first alone (--baseline s), then while --hostile
 * sockets, spread over the replicas, each loop as fast as their acks come back: `roomer`s join a
 * new room, write once and leave (a new nickname once refused a room); `typer`s send typing
 * hints; `replayer`s join a 1000-message room with a forged `since` and leave; `subscriber`s
 * call users:subscribe; `handout` sockets join_room new rooms and write once (a new socket, so a
 * new identity, whenever refused). Prints Redis used_memory and key count (start, peak, end, and
 * keys by family), each replica's RSS, hostile events answered / refused, and the honest round
 * trip p50/p99 before and during, next to the configured bounds. `--unbounded` lifts every
 * budget (1e9) to show what the bounds hold back; `--fixed-identities` keeps each hostile socket
 * (and nickname) instead of starting over with a new one when refused, to show the per-identity
 * bounds alone. Measured `after` once the hostile sockets have disconnected.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, PayloadOf, ServerToClientEvents } from "../../websocket-chat/src/contracts/events.js";
import { loadConfig } from "../../websocket-chat/src/config.js";
import { closeRedis, connectRedis, type RedisClient } from "@clusterkit/redis-kit";
import { startStack, type E2EStack } from "@clusterkit/test-kit/stack";
import { ack, integerOption, percentile } from "./drill-kit.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    hostile: { type: "string", default: "30" },
    baseline: { type: "string", default: "5" },
    unbounded: { type: "boolean", default: false },
    "fixed-identities": { type: "boolean", default: false },
  },
});
const bounded = (name: string, value: string, max: number) => integerOption(name, value, 1, max);
const SECONDS = bounded("seconds", args.seconds, 300);
const HOSTILE = bounded("hostile", args.hostile, 500);
const BASELINE = bounded("baseline", args.baseline, 60);
const HONEST = 5;
const ARCHIVE = "growth-archive";
const roles = ["roomer", "typer", "replayer", "subscriber", "handout"] as const;
type Role = (typeof roles)[number];

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const connect = (url: string): Promise<Client> =>
  new Promise((resolve, reject) => {
    const socket: Client = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const chatEnv: Record<string, string> = args.unbounded
  ? Object.fromEntries(
      ["CHAT_RATE_LIMIT", "CHAT_JOIN_RATE_LIMIT", "CHAT_TYPING_RATE_LIMIT", "CHAT_REPLAY_RATE_LIMIT", "CHAT_ROOMS_PER_USER"].map((v) => [v, "1000000000"]),
    )
  : {};
/** The settings the replicas run with: their defaults, under chatEnv. */
const limits = loadConfig({ ...chatEnv });

interface Sample {
  at: number;
  usedMemory: number;
  keys: number;
  rss: number[];
}
async function sample(redis: RedisClient, stack: E2EStack): Promise<Sample> {
  const info = await redis.info("memory");
  const rss = await Promise.all(
    stack.chats.map(async (chat) => {
      const text = await (await fetch(`${chat.url}/metrics`)).text();
      return Number(/^process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
    }),
  );
  return { at: Date.now(), usedMemory: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN), keys: await redis.dbSize(), rss };
}

/** Keys by family: what the attack left in Redis. */
async function keyFamilies(redis: RedisClient): Promise<Record<string, number>> {
  const families: Record<string, number> = {};
  for await (const key of redis.scanIterator({ COUNT: 1_000 })) {
    const family = key
      .replace(/^chat:room:\{@[^}]+\}:log$/, "chat:room:{@<nick>}:log")
      .replace(/^chat:room:\{.+\}:(log|members)$/, "chat:room:{<room>}:$1")
      .replace(/^chat:rate:\{.+\}:(join|typing|replay|rooms|subscribe)$/, "chat:rate:{<id>}:$1")
      .replace(/^chat:rate:\{.+\}$/, "chat:rate:{<id>}")
      .replace(/^chat:instance:\{.+\}:(rooms|nicks)$/, "chat:instance:{<i>}:$1")
      .replace(/^chat:nick:\{.+\}$/, "chat:nick:{@<nick>}")
      .replace(/^users:\d+$/, "users:<id>");
    families[family] = (families[family] ?? 0) + 1;
  }
  return families;
}

const stack = await startStack({ presenceTtlMs: 3_000, chatEnv });
const redis = await connectRedis(stack.redis.url, pino({ level: "silent" }), "drill-growth");
const sockets = new Set<Client>();
const hostileSockets = new Set<Client>();
let attacking = false;
let stopping = false;
/** What the honest messages sent now are timed for. */
let phase: "baseline" | "attack" | "after" = "baseline";
try {
  const urls = stack.chats.map((c) => c.url);
  const track = (socket: Client) => (sockets.add(socket), socket);
  // The replayers' target: a full room of long messages, as if it had been busy.
  const filler = "€".repeat(2_000);
  for (let i = 0; i < limits.roomRetention; i += 100) {
    const batch = redis.multi();
    for (let j = 0; j < 100; j++) batch.xAdd(`chat:room:{${ARCHIVE}}:log`, "*", { user: "archivist", text: filler, server: "chat-1", timestamp: new Date().toISOString() });
    await batch.exec();
  }

  // Honest users: one message a second each (a tenth of their budget), timed to a reader elsewhere.
  const reader = track(await connect(urls[0]!));
  await ack(reader, "chat:identify", { nickname: "honest-reader" });
  await ack(reader, "chat:join", { room: "honest" });
  const rtt = { baseline: [] as number[], attack: [] as number[] };
  const honestRefused: Record<string, number> = {};
  reader.on("chat:message", (message) => {
    const [tag, sentAt, sentIn] = message.text.split("|");
    if (tag === "rtt") rtt[sentIn as keyof typeof rtt]?.push(Date.now() - Number(sentAt));
  });
  const writers = await Promise.all(
    Array.from({ length: HONEST }, async (_, n) => {
      const socket = track(await connect(urls[(n + 1) % urls.length]!));
      await ack(socket, "chat:identify", { nickname: `honest-${n}` });
      await ack(socket, "chat:join", { room: "honest" });
      return socket;
    }),
  );
  const honestLoop = (async () => {
    for (let tick = 0; !stopping; tick++) {
      const writer = writers[tick % HONEST]!;
      void ack(writer, "chat:message", { room: "honest", text: `rtt|${Date.now()}|${phase}` }).then(
        (reply) => void ("error" in reply && (honestRefused[reply.error.code] = (honestRefused[reply.error.code] ?? 0) + 1)),
        () => void (honestRefused["no ack"] = (honestRefused["no ack"] ?? 0) + 1),
      );
      await sleep(1_000 / HONEST);
    }
  })();

  const samples: Sample[] = [await sample(redis, stack)];
  const sampler = setInterval(() => void sample(redis, stack).then((s) => samples.push(s), () => undefined), 500);
  console.log(`growth drill: ${HONEST} honest users alone for ${BASELINE} s, then ${HOSTILE} hostile sockets for ${SECONDS} s${args.unbounded ? " (budgets lifted)" : ""}`);
  await sleep(BASELINE * 1_000);
  const start = samples.at(-1)!;

  // Hostile sockets.
  const tally: Record<Role, Record<string, number>> = Object.fromEntries(roles.map((r) => [r, {}])) as never;
  const count = (role: Role, outcome: string) => (tally[role][outcome] = (tally[role][outcome] ?? 0) + 1);
  let identities = 0;
  const hostile = async (n: number) => {
    const role = roles[n % roles.length]!;
    const url = urls[n % urls.length]!;
    const fresh = async (): Promise<Client> => {
      const socket = await connect(url);
      hostileSockets.add(socket);
      identities++;
      if (role !== "handout") {
        const who = await ack(socket, "chat:identify", { nickname: `h${n}-${identities}` });
        if ("error" in who) throw new Error(`identify: ${who.error.code}`);
      }
      return socket;
    };
    let socket = await fresh();
    const send = async <E extends keyof ClientToServerEvents>(event: E, payload: PayloadOf<E>): Promise<string> => {
      const reply = await ack(socket, event, payload).catch(() => ({ error: { code: "no ack", message: "" } }));
      const outcome = "error" in reply ? reply.error.code : "ok";
      count(role, outcome);
      return "error" in reply && outcome === "RATE_LIMITED" && /different rooms/.test(reply.error.message) ? "CAPPED" : outcome;
    };
    const churn = async () => {
      if (args["fixed-identities"]) return;
      socket.disconnect();
      hostileSockets.delete(socket);
      socket = await fresh();
    };
    if (role === "typer") await send("chat:join", { room: `typing-${n}` });
    for (let k = 0; attacking; k++) {
      if (role === "roomer") {
        const room = `r${n}-${k}`;
        const joined = await send("chat:join", { room });
        if (joined === "CAPPED") await churn();
        if (joined !== "ok") continue;
        await send("chat:message", { room, text: filler.slice(0, 500) });
        await send("chat:leave", { room });
      } else if (role === "typer") {
        await send("chat:typing", { room: `typing-${n}` });
      } else if (role === "replayer") {
        if ((await send("chat:join", { room: ARCHIVE, since: "1-0" })) === "ok") await send("chat:leave", { room: ARCHIVE });
      } else if (role === "subscriber") {
        await send("users:subscribe", {});
      } else {
        // The handout dialect has no acks for join_room: an ack callback still gets the refusal.
        const room = `a${n}-${k}`;
        const joined = await send("join_room", room);
        if (joined !== "ok") await churn();
        else await send("message", { room, message: filler.slice(0, 500) });
      }
    }
  };
  attacking = true;
  phase = "attack";
  const attackStart = Date.now();
  const attackers = Array.from({ length: HOSTILE }, (_, n) => hostile(n).catch((error: Error) => console.log(`hostile ${n}: ${error.message}`)));
  await sleep(SECONDS * 1_000);
  attacking = false;
  phase = "after";
  await Promise.all(attackers);
  const attackEnd = Date.now();
  const during = samples.filter((s) => s.at >= attackStart && s.at <= attackEnd);
  // The attackers go; what they leave behind is what Redis keeps until it expires.
  for (const socket of hostileSockets) socket.disconnect();
  const nicknames = async () => {
    let n = 0;
    for await (const key of redis.scanIterator({ MATCH: "chat:nick:*", COUNT: 1_000 })) n += key.length > 0 ? 1 : 0;
    return n;
  };
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && (await nicknames()) > HONEST + 1; ) await sleep(100);
  stopping = true;
  clearInterval(sampler);
  await honestLoop;
  const end = await sample(redis, stack);
  const families = await keyFamilies(redis);
  // What the instances' cleanup sets still hold once the hostile sockets are gone: the honest users.
  // Rooms each hostile identity created: the author of each hostile room's first message.
  const roomsBy = new Map<string, number>();
  for await (const key of redis.scanIterator({ MATCH: "chat:room:{[ra][0-9]*}:log", COUNT: 1_000 })) {
    const [first] = await redis.xRange(key, "-", "+", { COUNT: 1 });
    if (first) roomsBy.set(first.message.user ?? "?", (roomsBy.get(first.message.user ?? "?") ?? 0) + 1);
  }
  let instanceSetEntries = 0;
  for await (const key of redis.scanIterator({ MATCH: "chat:instance:*", COUNT: 1_000 })) instanceSetEntries += await redis.sCard(key);

  const peak = (pick: (s: Sample) => number) => Math.max(...during.map(pick), pick(start));
  const hostileTotals = Object.fromEntries(roles.map((r) => [r, tally[r]]));
  const sent = Object.values(tally).reduce((sum, t) => sum + Object.values(t).reduce((a, b) => a + b, 0), 0);
  const report = {
    mode: `${args.unbounded ? "unbounded" : "bounded"}${args["fixed-identities"] ? ", fixed identities" : ""}`,
    hostileSockets: HOSTILE,
    hostileIdentities: identities,
    seconds: SECONDS,
    hostileEvents: sent,
    hostileEventsPerSecond: Math.round(sent / ((attackEnd - attackStart) / 1_000)),
    redisUsedMemoryMB: `${mb(start.usedMemory)} -> peak ${mb(peak((s) => s.usedMemory))} -> after ${mb(end.usedMemory)}`,
    redisKeys: `${start.keys} -> peak ${peak((s) => s.keys)} -> after ${end.keys}`,
    replicaRssMB: stack.chats.map((_, i) => `${mb(start.rss[i]!)}->${mb(peak((s) => s.rss[i]!))}`).join(" / "),
    honestRttBaselineMs: `p50 ${percentile(rtt.baseline, 50)} p99 ${percentile(rtt.baseline, 99)} (n=${rtt.baseline.length})`,
    honestRttAttackMs: `p50 ${percentile(rtt.attack, 50)} p99 ${percentile(rtt.attack, 99)} (n=${rtt.attack.length})`,
    honestRefused: JSON.stringify(honestRefused),
    instanceSetEntriesAtEnd: instanceSetEntries,
    roomsCreatedPerIdentityMax: Math.max(0, ...roomsBy.values()),
  };
  const window = `${limits.rateWindowMs / 1_000} s`;
  console.log(
    `bounds per identity and ${window}: ${limits.rateLimit} messages, ${limits.joinRateLimit} joins/subscribes, ${limits.typingRateLimit} typing hints, ` +
      `${limits.replayRateLimit} characters replayed; ${limits.roomsPerUser} different rooms per ${limits.roomIdleTtlMs / 3_600_000} h; ` +
      `50 rooms per socket; ${limits.roomRetention} messages per room; idle rooms expire after ${limits.roomIdleTtlMs / 3_600_000} h`,
  );
  console.log(`hostile outcomes by role: ${JSON.stringify(hostileTotals)}`);
  console.log(`keys by family at the end: ${JSON.stringify(families)}`);
  console.table(report);
  console.log(`GROWTH ${JSON.stringify({ ...report, hostileTotals, families })}`);
} finally {
  attacking = false;
  stopping = true;
  for (const socket of [...sockets, ...hostileSockets]) socket.disconnect();
  await closeRedis(redis);
  await stack.close();
}
