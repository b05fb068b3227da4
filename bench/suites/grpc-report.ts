import type { BenchContext } from "../lib/context.js";
import type { FanOutRound } from "../lib/fan-out.js";
import type { HandoutClient } from "../lib/handout-client.js";
import type { ClosedLoopResult } from "../lib/load.js";
import { fmt, type SuiteResult, type Table } from "../lib/report.js";
import type { Cluster } from "../lib/services.js";
import { median } from "../lib/stats.js";
import type { UnaryLoad } from "../lib/unary-load.js";

export interface GrpcSide {
  name: "ours" | "peer";
  label: string;
  cluster: Cluster;
  /** On the bench's event loop: seeding and listings. */
  client: HandoutClient;
  addresses: string[];
  load?: UnaryLoad;
}

export interface UnaryRow extends ClosedLoopResult {
  side: string;
  rpc: string;
  /** Which of the `--runs` repetitions (0-based). */
  run: number;
  /** Server-side CPU seconds (replicas + Redis) per 1,000 calls. */
  cpuPer1k: number;
  /** The same, per server process (ours: each replica and Redis). */
  cpuPer1kByProcess: Record<string, number>;
  loadGeneratorCpuPer1k: number;
}

export interface ListingRow {
  side: string;
  api: string;
  users: number;
  ms: number;
  usersPerSecond: number;
}

interface Settings {
  users: number;
  seconds: number;
  levels: number[];
  slices: number;
  threads: number;
  connections: number;
  runs: number;
  subscriberThreads: number;
  fanOutRate: number;
  fanOutEvents: number;
}

/** One cell (RPC, concurrency, side) over every run: medians, and the ours/peer ratio of each run. */
interface CellSummary {
  rpc: string;
  concurrency: number;
  side: string;
  rate: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  cpuPer1k: number;
  loadGeneratorCpuPer1k: number;
  /** ours/peer req/s per run, for ours when the peer ran. */
  ratios: number[];
}

function summarizeCells(unary: UnaryRow[]): CellSummary[] {
  const keys = [...new Map(unary.map((r) => [`${r.rpc}|${r.concurrency}|${r.side}`, r])).values()];
  return keys.map(({ rpc, concurrency, side }) => {
    const rows = unary.filter((r) => r.rpc === rpc && r.concurrency === concurrency && r.side === side);
    const ratios =
      side === "ours"
        ? rows.flatMap((r) => {
            const peer = unary.find((p) => p.side === "peer" && p.rpc === rpc && p.concurrency === concurrency && p.run === r.run);
            return peer ? [r.rate / peer.rate] : [];
          })
        : [];
    return {
      rpc,
      concurrency,
      side,
      rate: median(rows.map((r) => r.rate)),
      p50: median(rows.map((r) => r.latencyMs.p50)),
      p99: median(rows.map((r) => r.latencyMs.p99)),
      max: Math.max(...rows.map((r) => r.latencyMs.max)),
      errors: rows.reduce((sum, r) => sum + r.errors, 0),
      cpuPer1k: median(rows.map((r) => r.cpuPer1k)),
      loadGeneratorCpuPer1k: median(rows.map((r) => r.loadGeneratorCpuPer1k)),
      ratios,
    };
  });
}

const times = (values: number[]) => values.map((v) => `${v.toFixed(2)}×`).join(", ");

function unaryTarget(cells: CellSummary[], rpc: string, goal: number) {
  const ours = cells.find((c) => c.rpc === rpc && c.concurrency === 100 && c.side === "ours");
  const peer = cells.find((c) => c.rpc === rpc && c.concurrency === 100 && c.side === "peer");
  const name = `gRPC ${rpc} at c=100`;
  const goalText = `≥ ${goal.toFixed(1)}× peer req/s (median of runs)`;
  if (!ours || !peer || ours.ratios.length === 0) return { name, goal: goalText, measured: "–", met: undefined };
  const m = median(ours.ratios);
  return {
    name,
    goal: goalText,
    measured: `${m.toFixed(2)}× (runs: ${times(ours.ratios)}); ${fmt(ours.rate)} vs ${fmt(peer.rate)} req/s`,
    met: m >= goal,
  };
}

/** The fan-out rounds of one subscriber count, as medians. */
function summarizeFanOut(rounds: FanOutRound[]) {
  const counts = [...new Set(rounds.map((r) => r.subscribers))];
  return counts.map((subscribers) => {
    const rs = rounds.filter((r) => r.subscribers === subscribers);
    return {
      subscribers,
      events: rs[0]!.events,
      rate: rs[0]!.rate,
      deliveries: rs.reduce((sum, r) => sum + r.deliveries, 0),
      expected: rs.reduce((sum, r) => sum + r.expected, 0),
      p50: median(rs.map((r) => r.latencyMs.p50)),
      p95: median(rs.map((r) => r.latencyMs.p95)),
      p99: median(rs.map((r) => r.latencyMs.p99)),
      p99s: rs.map((r) => r.latencyMs.p99),
      max: Math.max(...rs.map((r) => r.latencyMs.max)),
      serverCpu: median(rs.map((r) => r.serverCpuMsPerEvent)),
      clientCpu: median(rs.map((r) => r.clientCpuMsPerEvent)),
      writeErrors: rs.reduce((sum, r) => sum + r.writeErrors, 0),
    };
  });
}

export function grpcReport(
  ctx: BenchContext,
  data: { sides: GrpcSide[]; unary: UnaryRow[]; listing: ListingRow[]; fanOut: FanOutRound[]; peerSubscribe: string; notes: string[]; settings: Settings },
): SuiteResult {
  const { sides, unary, listing, fanOut, peerSubscribe, notes, settings } = data;
  const cells = summarizeCells(unary);
  const runsNote = settings.runs > 1 ? `, median of ${settings.runs} runs` : "";
  const unaryTable: Table = {
    title: `gRPC unary, handout client (proto-loader) on both sides, ${settings.threads} load threads × ${settings.connections} connections${runsNote}`,
    columns: ["RPC", "concurrency", "side", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "server CPU s / 1k", "client CPU s / 1k", "ours/peer req/s", "per run"],
    rows: cells.map((c) => [
      c.rpc,
      c.concurrency,
      c.side,
      fmt(c.rate),
      fmt(c.p50),
      fmt(c.p99),
      fmt(c.max),
      c.errors,
      fmt(c.cpuPer1k, 3),
      fmt(c.loadGeneratorCpuPer1k, 3),
      c.ratios.length ? `${median(c.ratios).toFixed(2)}×` : "",
      c.ratios.length > 1 ? times(c.ratios) : "",
    ]),
  };
  const listTable: Table = {
    title: `ListUsers: streaming ${settings.users.toLocaleString("en-US")} users (best of runs)`,
    columns: ["side", "API", "users", "ms", "users/s"],
    rows: listing.map((r) => [r.side, r.api, r.users, fmt(r.ms), fmt(r.usersPerSecond)]),
  };
  const fan = summarizeFanOut(fanOut);
  const where = settings.subscriberThreads > 0 ? `${settings.subscriberThreads} subscriber threads` : "subscribers on the writer's event loop";
  const subTable: Table = {
    title: `SubscribeToUpdates: CreateUser at ${settings.fanOutRate}/s to N subscribers over 2 replicas (${where}${runsNote})`,
    columns: ["side", "subscribers", "events/s", "events", "delivered", "p50 ms", "p95 ms", "p99 ms", "max ms", "p99 per run", "server CPU ms / event", "client CPU ms / event"],
    rows: [
      ...fan.map((f) => [
        "ours",
        f.subscribers,
        f.rate,
        f.events,
        `${f.deliveries}/${f.expected}`,
        fmt(f.p50),
        fmt(f.p95),
        fmt(f.p99),
        fmt(f.max),
        f.p99s.map((v) => fmt(v)).join(", "),
        fmt(f.serverCpu),
        fmt(f.clientCpu),
      ]),
      ["peer", "–", "–", "–", peerSubscribe, "–", "–", "–", "–", "–", "–", "–"],
    ],
  };
  const chartSeries = (rpc: string) => sides.map((s) => ({ name: s.label, values: settings.levels.map((c) => cells.find((x) => x.side === s.name && x.rpc === rpc && x.concurrency === c)?.rate ?? null) }));
  const fan1000 = fan.find((f) => f.subscribers === 1000) ?? fan[0];
  const writeErrors = fan.reduce((sum, f) => sum + f.writeErrors, 0);
  return {
    id: "grpc",
    title: "gRPC: unary, streaming and subscriptions",
    method:
      `Closed loop for ${settings.seconds} s per cell and side, taken in ${settings.slices} turns in ABBA order (peer, ours, ours, peer) with a short warm-up each, so drifting background load falls on both sides alike` +
      (settings.runs > 1 ? `; every cell is run ${settings.runs} times (all cells, then all again) and the tables give the median of the runs, the ratio column the median of each run's ours/peer ratio. ` : ". ") +
      `The load comes from ${settings.threads} worker threads of the bench process, each with its own event loop and ${settings.connections} connections (one channel each, calls in turn), using the handout's proto-loader client: the same code, threads and connection count for both sides, only the address list differs. ` +
      `Ours: 2 replicas of grpc-demo (LOG_LEVEL=warn, default user cache: 10,000 users, unfenced) on one redis-server, one connection per replica per thread. Peer: the handout's in-memory server, 1 process, called over the same number of connections. ` +
      `Each side holds ${settings.users.toLocaleString("en-US")} users; GetUser asks for ids spread over them. Server CPU is read from /proc (replicas + Redis), client CPU is the bench process (the load threads), both counted over the measured part of each turn. ` +
      `Everything shares the machine's cores: the client spends more CPU per call than either server, so req/s follows total CPU per call (client + server) more than the server alone. ` +
      `Fan-out: N subscribers (v1 client, one connection each, half per replica) decoded in ${where}; a writer on the bench's event loop sends ${settings.fanOutEvents} CreateUser calls at ${settings.fanOutRate}/s on schedule (open loop), each carrying its send time; latency runs from the send to each subscriber having decoded the update.`,
    tables: [unaryTable, listTable, subTable],
    charts: [
      { file: "grpc-getuser.svg", title: "GetUser req/s by concurrency", unit: "req/s", groups: settings.levels.map((c) => `c=${c}`), series: chartSeries("GetUser") },
      { file: "grpc-createuser.svg", title: "CreateUser req/s by concurrency", unit: "req/s", groups: settings.levels.map((c) => `c=${c}`), series: chartSeries("CreateUser") },
      {
        file: "grpc-listusers.svg",
        title: `ListUsers: ${settings.users.toLocaleString("en-US")} users streamed`,
        unit: "users/s",
        groups: listing.map((r) => `${r.side}: ${r.api}`),
        series: [{ name: "users/s", values: listing.map((r) => r.usersPerSecond) }],
      },
    ].filter((chart) => chart.groups.length > 0 && chart.series.some((s) => s.values.some((v) => v !== null))),
    targets: [
      unaryTarget(cells, "GetUser", 1.2),
      unaryTarget(cells, "CreateUser", 1.0),
      fan1000
        ? {
            name: `Subscription fan-out p99 at ${fan1000.subscribers.toLocaleString("en-US")} subscribers, ${settings.fanOutRate} events/s`,
            goal: "< 20 ms, nothing lost (median of runs)",
            measured: `p50 ${fmt(fan1000.p50)} ms, p99 ${fmt(fan1000.p99)} ms (runs: ${fan1000.p99s.map((v) => fmt(v)).join(", ")}), ${fan1000.deliveries}/${fan1000.expected} delivered`,
            met: fan1000.p99 < 20 && fan1000.deliveries === fan1000.expected,
          }
        : { name: "Subscription fan-out p99", goal: "< 20 ms, nothing lost", measured: "–", met: undefined },
    ],
    notes: [
      ...notes,
      writeErrors ? `${writeErrors} fan-out creates failed (their updates are not expected).` : "",
      "Subscription latency includes the client: its CPU per event (decoding every subscriber's update) is in the table beside the replicas' and Redis's, all on the same 2 cores.",
      ctx.quick ? "quick mode: short cells, numbers are a smoke test only" : "",
    ].filter(Boolean),
    raw: { settings, unary, cells, listing, fanOut, peerSubscribe },
  };
}
