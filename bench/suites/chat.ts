import { setTimeout as sleep } from "node:timers/promises";
import { envNumbers, pick, type BenchContext } from "../lib/context.js";
import { cpuMeter, rssKb, type Service } from "../lib/processes.js";
import { fmt, ratio, type SuiteResult, type Table, type Target } from "../lib/report.js";
import { cluster, ourChatBenchEnv, startOurChat, startOurUsers, startPeerChat, startRedis, type Cluster } from "../lib/services.js";
import { Samples, median, nowMs, round, tailInBursts, type LatencySummary } from "../lib/stats.js";
import { WorkerPool } from "../lib/worker-pool.js";
import type { ChatLoadSetup, FromWorker, ToWorker } from "../workers/chat-load.js";

export interface ChatSettings {
  clients: number;
  rooms: number;
  workers: number;
  /** Offered load, messages sent per second (each one delivered to clients/rooms members). */
  loads: number[];
  warmupSeconds: number;
  seconds: number;
}

export interface ChatRow {
  side: string;
  offered: number;
  sent: number;
  expected: number;
  received: number;
  lost: number;
  late: number;
  rejected: number;
  deliveriesPerSecond: number;
  latencyMs: LatencySummary;
  cpu: { replicas: number[]; redis: number; proxy?: number; loadGenerator: number; seconds: number };
  /** Server-side CPU seconds (replicas + Redis) per 1,000 deliveries. */
  serverCpuPer1kDeliveries: number;
  loadGeneratorCpuPer1kDeliveries: number;
  rssMb: number[];
  /**
   * Of the deliveries slower than this row's p99, the share sent within the BURST_WINDOWS worst
   * quarter-seconds of the measured window: about BURST_WINDOWS / (quarter-seconds measured) when
   * the tail is spread evenly, near 1 when a few pauses of the whole machine (every sender and
   * replica at once) make it.
   */
  tailInBursts: number;
}

/** How many of the worst windows of BURST_WINDOW_MS {@link ChatRow.tailInBursts} adds up. */
const BURST_WINDOWS = 2;
const BURST_WINDOW_MS = 250;

export interface ChatCluster {
  cluster: Cluster;
  replicas: Service[];
  redis: Service;
  /** Where clients connect (default: the replicas themselves, spread evenly). */
  entry?: string[];
  /** A proxy's processes, counted as server CPU. */
  proxyPids?: () => number[];
  /** More redis-servers (a Redis Cluster's nodes), counted with `redis` as Redis CPU. */
  redisPids?: number[];
}

export interface ChatSide {
  name: string;
  label: string;
  start(): Promise<ChatCluster>;
}

/**
 * Part 1: chat fan-out, ours vs the handout's server, 3 replicas each on one fresh Redis, driven by
 * the same handout-protocol load generator (socket.io-client in worker threads).
 */
export async function chatSuite(ctx: BenchContext): Promise<SuiteResult> {
  const settings: ChatSettings = pick(
    ctx,
    { clients: 300, rooms: 10, workers: 2, loads: [50, 100, 200, 400, 800], warmupSeconds: 2, seconds: 8 },
    { clients: 60, rooms: 4, workers: 1, loads: [20, 60], warmupSeconds: 0.5, seconds: 1.5 },
  );
  // BENCH_CHAT_LOADS=100,200 runs only those offered loads (for profiling one step).
  const loads = envNumbers("BENCH_CHAT_LOADS");
  if (loads) settings.loads = loads;
  const sides = chatSides(ctx, {});
  const rows: ChatRow[] = [];
  const notes: string[] = [];
  if (!ctx.peers.dir("seed-chat")) notes.push(`peer not run: ${ctx.peers.problem}`);
  rows.push(...(await sideBySide(ctx, sides, settings)));
  rows.sort((a, b) => (a.side === b.side ? a.offered - b.offered : a.side === "peer" ? -1 : 1));
  // `--runs`: the reference load again, side by side on fresh clusters, so the targets are the
  // median of several runs rather than one run the machine's other work may have disturbed.
  const ref = referenceLoad(rows, "ours", "peer");
  const repeats: ChatRow[] = [];
  if (ref !== undefined && ctx.runs > 1 && sides.length > 1) {
    repeats.push(...(await sideBySide(ctx, sides, { ...settings, loads: Array.from({ length: ctx.runs - 1 }, () => ref) })));
  }
  return chatReport(ctx, settings, rows, repeats, notes);
}

/** The two contenders; `ourEnv` adds settings to our replicas (for knob experiments). */
export function chatSides(ctx: BenchContext, ourEnv: NodeJS.ProcessEnv, ourName = "ours", ourLabel = "ours (history + rate limit on)"): ChatSide[] {
  const sides: ChatSide[] = [];
  const peerDir = ctx.peers.dir("seed-chat");
  if (peerDir) {
    sides.push({
      name: "peer",
      label: "peer (handout)",
      async start() {
        const redis = await startRedis();
        const replicas = await Promise.all([1, 2, 3].map((i) => startPeerChat(peerDir, redis.url, `seed-${i}`)));
        return { cluster: cluster([...replicas, redis]), replicas, redis };
      },
    });
  }
  sides.push({
    name: ourName,
    label: ourLabel,
    async start() {
      const redis = await startRedis();
      // The chat replicas show the user directory; one user-service replica serves it (not counted in chat CPU).
      const users = await startOurUsers(ctx.repo, redis.url, "users-1");
      const replicas = await Promise.all([1, 2, 3].map((i) => startOurChat(ctx.repo, redis.url, `chat-${i}`, `127.0.0.1:${users.port}`, ourEnv)));
      return { cluster: cluster([...replicas, users, redis]), replicas, redis };
    },
  });
  return sides;
}

/** A side with its servers up and its clients connected and joined, ready for load steps. */
export interface OpenSide {
  step(phase: number, offered: number): Promise<ChatRow>;
  close(): Promise<void>;
}

/** Columns shared by the knob tables that set two of our cluster's variants side by side (proxy, bufferutil). */
export const variantColumns = ["offered msg/s", "deliveries/s", "p50 ms", "p99 ms", "lost", "server CPU s / 1k deliveries"];
export const variantCells = (r: ChatRow) => [r.offered, fmt(r.deliveriesPerSecond), fmt(r.latencyMs.p50), fmt(r.latencyMs.p99), r.lost, fmt(r.serverCpuPer1kDeliveries, 3)];

/** True when a step shows the side is past saturation: higher loads would only take time. */
export const saturated = (row: ChatRow) => row.lost > row.expected * 0.05 || row.latencyMs.p99 > 2000;

/** Starts a side's cluster, connects its clients (worker threads) and checks every member joined. */
export async function openSide(ctx: BenchContext, side: ChatSide, settings: ChatSettings): Promise<OpenSide> {
  const { cluster: running, replicas, redis, entry, proxyPids, redisPids = [] } = await side.start();
  const urls = entry ?? replicas.map((r) => `http://127.0.0.1:${r.port}`);
  const prefix = `bench-${Date.now().toString(36)}-`;
  const per = Math.ceil(settings.clients / settings.workers);
  const setups: ChatLoadSetup[] = Array.from({ length: settings.workers }, (_, w) => ({
    worker: w,
    urls,
    first: w * per,
    count: Math.min(per, settings.clients - w * per),
    totalClients: settings.clients,
    rooms: settings.rooms,
    prefix,
  }));
  const pool = new WorkerPool<ToWorker, FromWorker>(new URL("../workers/chat-load.ts", import.meta.url), setups);
  const close = async () => {
    await pool.close({ type: "close" }, "closed", 10_000);
    await running.stop();
  };
  try {
    const ready = await pool.all("ready", 120_000);
    const failed = ready.reduce((a, r) => a + r.failed, 0);
    if (failed) throw new Error(`${side.name}: ${failed} of ${settings.clients} clients could not connect: ${ready.find((r) => r.error)?.error}`);
    const probed = await pool.ask({ type: "probe" }, "probed", 30_000);
    const missing = probed.reduce((a, p) => a + p.missing, 0);
    if (missing) throw new Error(`${side.name}: ${missing} clients never received their room's probe message`);
    ctx.log(`chat ${side.name}: ${settings.clients} clients in ${settings.rooms} rooms over ${replicas.length} replicas`);
  } catch (error) {
    await close();
    throw error;
  }

  async function step(phase: number, offered: number): Promise<ChatRow> {
    const startAt = nowMs() + 200;
    const warmupMs = settings.warmupSeconds * 1000;
    const durationMs = settings.seconds * 1000;
    const sent = pool.ask({ type: "run", phase, rate: offered / settings.workers, startAt, warmupMs, durationMs }, "sent", durationMs + warmupMs + 60_000);
    await sleep(startAt + warmupMs - nowMs());
    const proxy = proxyPids?.() ?? [];
    const redisAll = [redis.pid, ...redisPids];
    const meter = cpuMeter([...replicas.map((r) => r.pid), ...redisAll, ...proxy]);
    await sleep(startAt + warmupMs + durationMs - nowMs());
    const cpu = meter.stop();
    const rssMb = replicas.map((r) => round(rssKb(r.pid) / 1024));
    const sentReplies = await sent;
    const expected = sentReplies.reduce((a, s) => a + s.expected, 0);
    // Drain: wait until everything arrived, or nothing more arrives for 2 s (bounded at 15 s).
    let last = -1;
    let stableSince = Date.now();
    const drainDeadline = Date.now() + 15_000;
    for (;;) {
      const counts = await pool.ask({ type: "count" }, "counted", 10_000);
      const total = counts.reduce((a, c) => a + c.received, 0);
      if (total >= expected || Date.now() > drainDeadline) break;
      if (total !== last) {
        last = total;
        stableSince = Date.now();
      } else if (Date.now() - stableSince > 2000) break;
      await sleep(100);
    }
    const collected = await pool.ask({ type: "collect", phase }, "collected", 30_000);
    const samples = new Samples();
    for (const c of collected) samples.addAll(c.latencies);
    const received = collected.reduce((a, c) => a + c.received, 0);
    const receivedMeasured = collected.reduce((a, c) => a + c.receivedMeasured, 0);
    const serverCpu = cpu.total;
    const latencyMs = samples.summary();
    const row: ChatRow = {
      side: side.name,
      offered,
      sent: sentReplies.reduce((a, s) => a + s.sent, 0),
      expected,
      received,
      lost: Math.max(0, expected - received),
      late: collected.reduce((a, c) => a + c.late, 0),
      rejected: collected.reduce((a, c) => a + c.errors, 0),
      deliveriesPerSecond: Math.round(receivedMeasured / settings.seconds),
      latencyMs,
      cpu: {
        replicas: cpu.perProcess.slice(0, replicas.length).map(round),
        redis: round(cpu.perProcess.slice(replicas.length, replicas.length + redisAll.length).reduce((a, b) => a + b, 0)),
        ...(proxy.length ? { proxy: round(cpu.perProcess.slice(replicas.length + redisAll.length).reduce((a, b) => a + b, 0)) } : {}),
        loadGenerator: round(cpu.loadGenerator),
        seconds: round(cpu.seconds),
      },
      serverCpuPer1kDeliveries: round((serverCpu / Math.max(1, receivedMeasured)) * 1000),
      loadGeneratorCpuPer1kDeliveries: round((cpu.loadGenerator / Math.max(1, receivedMeasured)) * 1000),
      rssMb,
      tailInBursts: round(tailInBursts(collected.map((c) => c.latencies), collected.map((c) => c.sentAt), latencyMs.p99, startAt + warmupMs, { windowMs: BURST_WINDOW_MS, windows: BURST_WINDOWS })),
    };
    ctx.log(
      `chat ${side.name}: ${offered} msg/s -> ${row.deliveriesPerSecond} deliveries/s, p50 ${row.latencyMs.p50} p99 ${row.latencyMs.p99} ms ` +
        `(${fmt(row.tailInBursts * 100, 0)} % of the slower ones in ${BURST_WINDOWS} quarter-seconds), lost ${row.lost}, ` +
        `server CPU ${fmt(serverCpu)} s (${row.serverCpuPer1kDeliveries} s/1k), generator ${fmt(cpu.loadGenerator)} s`,
    );
    // Let queues empty before the next step.
    await sleep(500);
    return row;
  }
  return { step, close };
}

/**
 * Every side's cluster stays up and they take turns at each load (the first side, then the next),
 * so a change in the machine's background load hits all sides alike. A saturated side stops.
 */
export async function sideBySide(ctx: BenchContext, sides: ChatSide[], settings: ChatSettings): Promise<ChatRow[]> {
  const rows: ChatRow[] = [];
  const open: { side: ChatSide; open: OpenSide; done: boolean }[] = [];
  try {
    for (const side of sides) open.push({ side, open: await openSide(ctx, side, settings), done: false });
    for (const [phase, offered] of settings.loads.entries()) {
      for (const entry of open.filter((o) => !o.done)) {
        const row = await entry.open.step(phase, offered);
        rows.push(row);
        if (saturated(row)) {
          ctx.log(`chat ${entry.side.name}: saturated at ${offered} msg/s; higher loads skipped`);
          entry.done = true;
        }
      }
    }
  } finally {
    for (const entry of open) await entry.open.close();
  }
  return rows;
}

/** Runs one side through every offered load, stopping once it is clearly saturated. */
export async function sweep(ctx: BenchContext, side: ChatSide, settings: ChatSettings): Promise<ChatRow[]> {
  const open = await openSide(ctx, side, settings);
  const rows: ChatRow[] = [];
  try {
    for (const [phase, offered] of settings.loads.entries()) {
      const row = await open.step(phase, offered);
      rows.push(row);
      if (saturated(row)) {
        ctx.log(`chat ${side.name}: saturated at ${offered} msg/s; higher loads skipped`);
        break;
      }
    }
  } finally {
    await open.close();
  }
  return rows;
}

const healthy = (r: ChatRow) => r.lost === 0 && r.latencyMs.p99 < 100;

export function knee(rows: ChatRow[], side: string): ChatRow | undefined {
  return rows.filter((r) => r.side === side && healthy(r)).sort((a, b) => b.offered - a.offered)[0];
}

/** Highest load where both sides were healthy (else the lowest load): where efficiency is compared. */
export function referenceLoad(rows: ChatRow[], a: string, b: string): number | undefined {
  const loads = [...new Set(rows.map((r) => r.offered))].sort((x, y) => x - y);
  const both = loads.filter((l) => [a, b].every((s) => rows.some((r) => r.side === s && r.offered === l && healthy(r))));
  return both.at(-1) ?? loads[0];
}

export function chatTable(title: string, rows: ChatRow[]): Table {
  return {
    title,
    columns: ["side", "offered msg/s", "deliveries/s", "p50 ms", "p95 ms", "p99 ms", `> p99 in ${BURST_WINDOWS} worst ¼ s`, "max ms", "lost", "rejected", "server CPU s / 1k deliveries", "Redis CPU s", "replica CPU s", "generator CPU s", "replica RSS MB"],
    rows: rows.map((r) => [
      r.side,
      r.offered,
      fmt(r.deliveriesPerSecond),
      fmt(r.latencyMs.p50),
      fmt(r.latencyMs.p95),
      fmt(r.latencyMs.p99),
      `${fmt(r.tailInBursts * 100, 0)} %`,
      fmt(r.latencyMs.max),
      r.lost,
      r.rejected,
      fmt(r.serverCpuPer1kDeliveries, 3),
      fmt(r.cpu.redis),
      r.cpu.replicas.map((c) => fmt(c)).join(" / "),
      fmt(r.cpu.loadGenerator),
      r.rssMb.map((m) => fmt(m, 0)).join(" / "),
    ]),
  };
}

/** One run of both sides at the reference load: the cells the targets are taken from. */
interface ReferenceRun {
  ours: ChatRow;
  peer: ChatRow;
}

/** The sweep's reference-load rows, then each repeat's (in the order sideBySide made them: peer, ours). */
function referenceRuns(rows: ChatRow[], repeats: ChatRow[], ref: number | undefined): ReferenceRun[] {
  const runs: ReferenceRun[] = [];
  const first = { ours: rows.find((r) => r.side === "ours" && r.offered === ref), peer: rows.find((r) => r.side === "peer" && r.offered === ref) };
  if (first.ours && first.peer) runs.push({ ours: first.ours, peer: first.peer });
  const ours = repeats.filter((r) => r.side === "ours");
  const peer = repeats.filter((r) => r.side === "peer");
  for (let i = 0; i < Math.min(ours.length, peer.length); i++) runs.push({ ours: ours[i]!, peer: peer[i]! });
  return runs;
}

function chatReport(ctx: BenchContext, settings: ChatSettings, rows: ChatRow[], repeats: ChatRow[], notes: string[]): SuiteResult {
  const members = settings.clients / settings.rooms;
  const ref = referenceLoad(rows, "ours", "peer");
  const runs = referenceRuns(rows, repeats, ref);
  const cpu = (side: "ours" | "peer") => median(runs.map((r) => r[side].serverCpuPer1kDeliveries));
  const p99 = (side: "ours" | "peer") => median(runs.map((r) => r[side].latencyMs.p99));
  const cpuRatio = median(runs.map((r) => r.ours.serverCpuPer1kDeliveries / r.peer.serverCpuPer1kDeliveries));
  const lost = runs.reduce((sum, r) => sum + r.ours.lost, 0);
  const over = runs.length > 1 ? `, median of ${runs.length} runs (ratios ${runs.map((r) => ratio(r.ours.serverCpuPer1kDeliveries, r.peer.serverCpuPer1kDeliveries)).join(", ")})` : "";
  const targets: Target[] = [
    {
      name: "Chat CPU per delivery",
      goal: "≤ 0.67× peer at the same load",
      measured: runs.length ? `${fmt(cpu("ours"), 3)} vs ${fmt(cpu("peer"), 3)} s / 1k deliveries at ${ref} msg/s (${fmt(cpuRatio, 2)}×${over})` : "–",
      met: runs.length ? cpuRatio <= 0.67 : undefined,
    },
    {
      name: "Chat p99 at the same load, 0 lost",
      goal: "≤ peer's p99, nothing lost",
      measured: runs.length ? `${fmt(p99("ours"))} vs ${fmt(p99("peer"))} ms at ${ref} msg/s${runs.length > 1 ? ` (medians of ${runs.length} runs)` : ""}, lost ${lost}` : "–",
      met: runs.length ? p99("ours") <= p99("peer") && lost === 0 : undefined,
    },
    {
      name: "Chat knee (p99 < 100 ms, 0 lost)",
      goal: "ours ≥ peer",
      measured: `ours ${knee(rows, "ours")?.offered ?? "none"} msg/s, peer ${knee(rows, "peer")?.offered ?? "none"} msg/s (highest load tried: ${Math.max(...settings.loads)})`,
      met: knee(rows, "peer") ? (knee(rows, "ours")?.offered ?? 0) >= knee(rows, "peer")!.offered : undefined,
    },
  ];
  const loads = settings.loads;
  const series = (metric: (r: ChatRow) => number) =>
    ["peer", "ours"].filter((s) => rows.some((r) => r.side === s)).map((s) => ({ name: s, values: loads.map((l) => { const r = rows.find((x) => x.side === s && x.offered === l); return r ? metric(r) : null; }) }));
  return {
    id: "chat",
    title: "Chat fan-out: ours vs the handout's server",
    method:
      `${settings.clients} clients (socket.io-client, WebSocket transport, ${settings.workers} worker thread(s) of this process) in ${settings.rooms} rooms of ${members}, spread evenly over 3 replicas on one fresh redis-server per side, ` +
      `speaking the handout protocol (join_room, message) so both sides get identical load; each message carries its send time, so latency is end to end, sender to every member. ` +
      `Both clusters run at once and take turns at each offered load (steps of ${settings.seconds} s after ${settings.warmupSeconds} s warm-up), so background load on the machine hits both alike; a side that loses > 5 % or passes p99 2 s stops there. Ours runs with room history in Redis streams and the rate limiter on ` +
      `(CHAT_RATE_LIMIT=${ourChatBenchEnv.CHAT_RATE_LIMIT} per ${ourChatBenchEnv.CHAT_RATE_WINDOW_MS} ms, above what a client offers, so every message still pays for the check). ` +
      `Server CPU is replicas + Redis from /proc during the measured window; the load generator's CPU is shown beside it because it shares the same cores. ` +
      `"> p99 in ${BURST_WINDOWS} worst ¼ s": of the deliveries slower than the row's p99, the share whose message was sent within the ${BURST_WINDOWS} worst quarter-seconds of the ${settings.seconds} s window ` +
      `(${fmt((BURST_WINDOWS / (settings.seconds * 4)) * 100, 0)} % if the tail were spread evenly): a high share means a few pauses of the whole machine (senders, replicas and Redis at once) made the p99, not a steady cost of one side.`,
    tables: [chatTable("Chat fan-out by offered load", rows), ...(repeats.length ? [chatTable(`The reference load (${ref} msg/s) again, on fresh clusters (--runs ${ctx.runs})`, repeats)] : [])],
    charts: [
      { file: "chat-cpu-per-delivery.svg", title: "Server CPU per 1,000 deliveries (lower is better)", unit: "CPU s / 1k deliveries", groups: loads.map((l) => `${l} msg/s`), series: series((r) => r.serverCpuPer1kDeliveries) },
      { file: "chat-p99.svg", title: "Chat end-to-end p99 latency by offered load", unit: "ms", groups: loads.map((l) => `${l} msg/s`), series: series((r) => r.latencyMs.p99) },
      { file: "chat-deliveries.svg", title: "Chat deliveries per second by offered load", unit: "deliveries/s", groups: loads.map((l) => `${l} msg/s`), series: series((r) => r.deliveriesPerSecond) },
    ],
    targets,
    notes: [...notes, ctx.quick ? "quick mode: small room set, two short steps" : ""].filter(Boolean),
    raw: { settings, ourEnv: ourChatBenchEnv, referenceLoad: ref, rows, repeats },
  };
}
