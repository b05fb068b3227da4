import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { startRedisCluster } from "@clusterkit/test-kit";
import { envNumbers, pick, type BenchContext } from "../lib/context.js";
import { fmt, type SuiteResult, type Table } from "../lib/report.js";
import { cluster, ourChatBenchEnv, startOurChat, startOurUsers, startRedis } from "../lib/services.js";
import { round } from "../lib/stats.js";
import { knee, openSide, saturated, type ChatRow, type ChatSettings, type ChatSide, type OpenSide } from "./chat.js";

/** One configuration: our chat on one Redis or on a Redis Cluster, with so many replicas. */
interface Layout {
  name: string;
  replicas: number;
  redisCluster: boolean;
}

const layouts: Layout[] = [
  { name: "1 Redis × 3", replicas: 3, redisCluster: false },
  { name: "1 Redis × 6", replicas: 6, redisCluster: false },
  { name: "cluster × 3", replicas: 3, redisCluster: true },
  { name: "cluster × 6", replicas: 6, redisCluster: true },
];

/** A load step plus what the replicas said they received from Redis pub/sub during it. */
export interface ScaleRow extends ChatRow {
  replicaCount: number;
  /** Room-channel messages all replicas received (chat_room_channel_messages_total), per message sent. */
  channelMessagesPerSent: number;
  channelBytesPerSent: number;
}

/** Reads a counter's value from a replica's /metrics (0 when absent). */
async function counters(port: number): Promise<{ messages: number; bytes: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // Every sample carries the replica's default label: `name{replica="chat-1"} 42`.
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { messages: value("chat_room_channel_messages_total"), bytes: value("chat_room_channel_bytes_total") };
}

/** The pid a redis-server reports for itself (loopback, same machine): how a cluster node's CPU is found in /proc. */
function redisPid(port: number): number {
  const info = execFileSync(process.env.REDIS_CLI_BIN ?? "redis-cli", ["-p", String(port), "INFO", "server"], { encoding: "utf8" });
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (!pid) throw new Error(`redis-server on ${port} did not report its process_id`);
  return pid;
}

function side(ctx: BenchContext, layout: Layout, ports: Map<string, number[]>): ChatSide {
  return {
    name: layout.name,
    label: layout.name,
    async start() {
      // With the cluster, REDIS_URL still names one redis-server: the users service and its change stream live there.
      const redis = await startRedis(layout.redisCluster ? "redis-users" : "redis");
      // A busy 2-core machine must not make a node look dead: Redis's default node timeout, not the tests' 1 s.
      const redisCluster = layout.redisCluster ? await startRedisCluster({ nodeTimeoutMs: 15_000 }) : undefined;
      const env = redisCluster ? { CHAT_REDIS_CLUSTER: redisCluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(",") } : {};
      try {
        const users = await startOurUsers(ctx.repo, redis.url, "users-1");
        const replicas = await Promise.all(
          Array.from({ length: layout.replicas }, (_, i) => startOurChat(ctx.repo, redis.url, `chat-${i + 1}`, `127.0.0.1:${users.port}`, env)),
        );
        ports.set(layout.name, replicas.map((r) => r.port));
        const base = cluster([...replicas, users, redis]);
        return {
          cluster: { ...base, stop: async () => { await base.stop(); await redisCluster?.close(); } },
          replicas,
          redis,
          redisPids: redisCluster?.nodes.map((n) => redisPid(n.port)) ?? [],
        };
      } catch (error) {
        await redis.stop();
        await redisCluster?.close();
        throw error;
      }
    },
  };
}

/**
 * Issue 16's measured scale-out: our chat at the same offered loads on one Redis and on a
 * 3-master Redis Cluster, with 3 and with 6 replicas; every configuration up at once, taking turns.
 */
export async function scaleoutSuite(ctx: BenchContext): Promise<SuiteResult> {
  const settings: ChatSettings = pick(
    ctx,
    { clients: 300, rooms: 10, workers: 2, loads: [200, 400, 800, 1200, 1600, 2400, 3200], warmupSeconds: 1, seconds: 4 },
    { clients: 60, rooms: 4, workers: 1, loads: [40], warmupSeconds: 0.5, seconds: 1.5 },
  );
  const loads = envNumbers("BENCH_SCALEOUT_LOADS");
  if (loads) settings.loads = loads;
  const ports = new Map<string, number[]>();
  const rows: ScaleRow[] = [];
  const open: { layout: Layout; open: OpenSide; done: boolean }[] = [];
  try {
    for (const layout of layouts) open.push({ layout, open: await openSide(ctx, side(ctx, layout, ports), settings), done: false });
    for (const [phase, offered] of settings.loads.entries()) {
      for (const entry of open.filter((o) => !o.done)) {
        const replicaPorts = ports.get(entry.layout.name)!;
        const before = await Promise.all(replicaPorts.map(counters));
        const row = await entry.open.step(phase, offered);
        const after = await Promise.all(replicaPorts.map(counters));
        const delta = (k: "messages" | "bytes") => after.reduce((a, c, i) => a + c[k] - before[i]![k], 0);
        rows.push({
          ...row,
          replicaCount: entry.layout.replicas,
          channelMessagesPerSent: round(delta("messages") / Math.max(1, row.sent)),
          channelBytesPerSent: round(delta("bytes") / Math.max(1, row.sent)),
        });
        if (saturated(row)) {
          ctx.log(`scaleout ${entry.layout.name}: saturated at ${offered} msg/s; higher loads skipped`);
          entry.done = true;
        }
      }
    }
  } finally {
    for (const entry of open) await entry.open.close();
  }
  rows.sort((a, b) => layouts.findIndex((l) => l.name === a.side) - layouts.findIndex((l) => l.name === b.side) || a.offered - b.offered);
  return scaleoutReport(settings, rows);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** Messages sent during the measured window (offered rate × window). */
const measuredMessages = (r: ChatRow) => r.offered * r.cpu.seconds;
const redisPer1kMessages = (r: ChatRow) => (r.cpu.redis / Math.max(1, measuredMessages(r))) * 1000;
const cores = (cpuSeconds: number, r: ChatRow) => fmt(cpuSeconds / r.cpu.seconds, 2);

function table(settings: ChatSettings, rows: ScaleRow[]): Table {
  return {
    title: `Scale-out: ${settings.clients} clients in ${settings.rooms} rooms, by configuration and offered load`,
    columns: [
      "configuration", "offered msg/s", "deliveries/s", "deliveries/s per replica", "p50 ms", "p99 ms", "lost",
      "server CPU s / 1k deliveries", "replica CPU s (total)", "Redis CPU s (all nodes)", "Redis CPU s / 1k msgs", "generator CPU s",
      "room-channel msgs / msg sent", "room-channel bytes / msg sent",
    ],
    rows: rows.map((r) => [
      r.side,
      r.offered,
      fmt(r.deliveriesPerSecond),
      fmt(r.deliveriesPerSecond / r.replicaCount),
      fmt(r.latencyMs.p50),
      fmt(r.latencyMs.p99),
      r.lost,
      fmt(r.serverCpuPer1kDeliveries, 3),
      fmt(sum(r.cpu.replicas)),
      fmt(r.cpu.redis),
      fmt(redisPer1kMessages(r), 3),
      fmt(r.cpu.loadGenerator),
      fmt(r.channelMessagesPerSent),
      fmt(r.channelBytesPerSent, 0),
    ]),
  };
}

/** Per configuration: its knee and which process group used the most CPU there. */
function saturationNotes(settings: ChatSettings, rows: ScaleRow[]): string[] {
  const notes = layouts.map(({ name, replicas }) => {
    const mine = rows.filter((r) => r.side === name);
    const at = knee(rows, name);
    const first = mine.find(saturated);
    const after = first
      ? `; saturated (> 5 % lost or p99 > 2 s) at ${first.offered} msg/s (lost ${first.lost}, p99 ${fmt(first.latencyMs.p99)} ms)`
      : `; not saturated (> 5 % lost or p99 > 2 s) up to ${Math.max(...mine.map((r) => r.offered))} msg/s`;
    if (!at) return `${name}: no healthy step (p99 < 100 ms, 0 lost)${after}.`;
    const parts = [
      { part: "chat replicas", cpu: sum(at.cpu.replicas) },
      { part: "Redis", cpu: at.cpu.redis },
      { part: "load generator", cpu: at.cpu.loadGenerator },
    ].sort((a, b) => b.cpu - a.cpu);
    return (
      `${name}: highest healthy load (p99 < 100 ms, 0 lost) ${at.offered} msg/s = ${fmt(at.deliveriesPerSecond)} deliveries/s (${fmt(at.deliveriesPerSecond / replicas)} per replica), p99 ${fmt(at.latencyMs.p99)} ms; ` +
      `CPU there in cores: ${parts.map((p) => `${p.part} ${cores(p.cpu, at)}`).join(", ")}, together ${cores(sum(parts.map((p) => p.cpu)), at)} of ${availableParallelism()} (largest: ${parts[0]!.part}); ` +
      `Redis ${fmt(redisPer1kMessages(at), 3)} CPU s per 1k messages${after}.`
    );
  });
  return [
    ...notes,
    `Where it saturates: the machine has ${availableParallelism()} cores and every process here (replicas, every redis-server, the users service, the load generator) shares them, ` +
      "so a knee is where the sum of their CPU reaches the cores, not where one part runs out on its own; the largest part at the knee is the one that would need a machine of its own first. " +
      "More replicas on the same cores cannot raise the knee, they only add per-process overhead; on one machine the cluster's extra redis-servers share the same cores too.",
    `Room-channel messages per message sent is summed over the replicas: each room's ${settings.clients / settings.rooms} members sit on the replicas client i → replica i mod n picks, so it is the number of replicas holding a room's members (e.g. 3 of 6 with 6 replicas and 10 rooms: i ≡ room mod 10 fixes i's parity).`,
  ];
}

/** The suite's result from its rows (exported so a saved run's rows can be written up again). */
export function scaleoutReport(settings: ChatSettings, rows: ScaleRow[]): SuiteResult {
  return {
    id: "scaleout",
    title: "Measured scale-out: one Redis vs a Redis Cluster, 3 vs 6 chat replicas",
    method:
      `Our chat (compiled, history + rate limit on as in the chat suite) in four configurations: one redis-server or a loopback Redis Cluster (3 masters + 3 replicas, Debian's redis-server 7, CHAT_REDIS_CLUSTER; ` +
      `node timeout 15 s so a busy machine does not fail a node over), each with 3 or 6 chat replicas. The same ${settings.clients} handout-protocol clients (${settings.workers} worker threads) in ${settings.rooms} rooms connect straight to the replicas, client i to replica i mod n. ` +
      `All four run at once and take turns at each offered load (${settings.warmupSeconds} s warm-up, ${settings.seconds} s measured); a configuration that loses > 5 % or passes p99 2 s stops there. ` +
      `Server CPU = replicas + every redis-server; with the cluster that is its 6 nodes plus the one redis-server REDIS_URL still names for the users service and its change stream (the users service itself is not counted, as in the chat suite). ` +
      `Room-channel figures are the replicas' chat_room_channel_messages_total / _bytes_total deltas over a step (warm-up and drain included) divided by the messages sent in it.`,
    tables: [table(settings, rows)],
    charts: [],
    targets: [],
    notes: saturationNotes(settings, rows),
    raw: { settings, env: ourChatBenchEnv, rows },
  };
}
