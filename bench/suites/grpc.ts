import type { ClientReadableStream } from "@grpc/grpc-js";
import { connectUsers, type SubscribeToUpdatesResponse, type UserServiceClient } from "grpc-demo/client";
import { setTimeout as sleep } from "node:timers/promises";
import { envChoices, envNumbers, pick, type BenchContext } from "../lib/context.js";
import { call, drain, handoutClient, type HandoutClient } from "../lib/handout-client.js";
import { forEachLimited, type ClosedLoopResult } from "../lib/load.js";
import { fmt, ratio, type SuiteResult, type Table } from "../lib/report.js";
import { cluster, startOurUsers, startPeerUsers, startRedis, type Cluster } from "../lib/services.js";
import { Samples, nowMs, round } from "../lib/stats.js";
import { alternateCell, startUnaryLoad, type UnaryLoad } from "../lib/unary-load.js";

/**
 * The unary load runs in worker threads, not on the bench's own event loop: one event loop
 * driving the proto-loader client saturated near 0.8 core (client CPU per call was 2-3x either
 * server's) and so measured the client. Two threads on this 2-core machine, each opening as many
 * connections to either side as ours has replicas, so the peer is called over as many
 * connections (and as little batching per connection) as ours.
 */
const LOAD_THREADS = 2;
/** Turns per cell and side, taken ABBA, so drifting background load falls on both sides alike. */
const SLICES = 4;

interface Side {
  name: "ours" | "peer";
  label: string;
  cluster: Cluster;
  /** On the bench's event loop: seeding and listings. */
  client: HandoutClient;
  addresses: string[];
  load?: UnaryLoad;
}

interface UnaryRow extends ClosedLoopResult {
  side: string;
  rpc: string;
  /** Server-side CPU seconds (replicas + Redis) per 1,000 calls. */
  cpuPer1k: number;
  loadGeneratorCpuPer1k: number;
}

/** The unary cells, in the order they run. */
const UNARY_RPCS = ["GetUser", "CreateUser"] as const;

/** Part 3: unary GetUser/CreateUser, ListUsers streaming and SubscribeToUpdates fan-out. */
export async function grpcSuite(ctx: BenchContext): Promise<SuiteResult> {
  const users = pick(ctx, 10_000, 1_000);
  const seconds = pick(ctx, 8, 1);
  const warmup = pick(ctx, 0.3, 0.2);
  const slices = pick(ctx, SLICES, 2);
  const levels = envNumbers("BENCH_GRPC_LEVELS") ?? pick(ctx, [1, 10, 100], [1, 100]);
  // BENCH_GRPC_RPCS=CreateUser BENCH_GRPC_LEVELS=100: only those cells (for profiling one of them).
  const rpcs = envChoices("BENCH_GRPC_RPCS", UNARY_RPCS) ?? UNARY_RPCS;
  const notes: string[] = [];

  const redis = await startRedis();
  const replicas = [await startOurUsers(ctx.repo, redis.url, "users-1"), await startOurUsers(ctx.repo, redis.url, "users-2")];
  const ours: Side = {
    name: "ours",
    label: "ours (2 replicas + Redis)",
    cluster: cluster([...replicas, redis]),
    client: handoutClient(ctx.repo, replicas.map((r) => `127.0.0.1:${r.port}`)),
    addresses: replicas.map((r) => `127.0.0.1:${r.port}`),
  };
  const sides: Side[] = [ours];
  const peerDir = ctx.peers.dir("seed-grpc");
  if (peerDir) {
    const peer = await startPeerUsers(peerDir);
    const addresses = [`127.0.0.1:${peer.port}`];
    sides.unshift({ name: "peer", label: "peer (handout, in memory)", cluster: cluster([peer]), client: handoutClient(ctx.repo, addresses), addresses });
  } else notes.push(`peer not run: ${ctx.peers.problem}`);

  const v1 = await connectUsers(replicas.map((r) => `127.0.0.1:${r.port}`).join(","));
  try {
    // Same directory size on both sides: ours through ImportUsers, the peer (no import RPC) by CreateUser.
    ctx.log(`grpc: seeding ${users} users on each side`);
    await importUsers(v1, users);
    for (const side of sides.filter((s) => s.name === "peer")) {
      await forEachLimited(users - 2, 50, (i) => createOn(side.client, `seed-${i}`));
    }
    const listing = await measureListing(ctx, sides, v1, users);

    const connections = Math.max(...sides.map((s) => s.addresses.length));
    for (const side of sides) side.load = await startUnaryLoad({ repo: ctx.repo, addresses: side.addresses, users, tag: runTag, connections }, LOAD_THREADS);
    const cellSides = sides.map((s) => ({ name: s.name, load: s.load!, pids: s.cluster.pids }));
    const unary: UnaryRow[] = [];
    for (const rpc of rpcs) {
      for (const concurrency of levels) {
        const cell = await alternateCell(cellSides, rpc, { label: `c${concurrency}`, concurrency, seconds, warmupSeconds: warmup, slices });
        for (const side of sides) {
          const result = cell.get(side.name)!;
          const { serverCpu, clientCpu, ...loop } = result;
          unary.push({
            side: side.name,
            rpc,
            ...loop,
            cpuPer1k: round((serverCpu / Math.max(1, result.completed)) * 1000),
            loadGeneratorCpuPer1k: round((clientCpu / Math.max(1, result.completed)) * 1000),
          });
          ctx.log(`grpc: ${rpc} c=${concurrency} ${side.name}: ${result.rate} req/s p99 ${result.latencyMs.p99} ms${result.errors ? ` errors ${result.errors} (${result.firstError})` : ""}`);
        }
      }
    }

    const subscription = await measureSubscriptions(ctx, replicas.map((r) => `127.0.0.1:${r.port}`), v1);
    const peerSubscribe = peerDir ? await peerSubscribeStatus(sides.find((s) => s.name === "peer")!.client) : "not run";

    return report(ctx, sides, unary, listing, subscription, peerSubscribe, notes, { users, seconds, levels, slices, threads: LOAD_THREADS, connections });
  } finally {
    v1.close();
    for (const side of sides) await side.load?.close();
    for (const side of sides) side.client.close();
    for (const side of sides) await side.cluster.stop();
  }
}

const runTag = Date.now().toString(36);
/** Creates a user on the peer; `name` must be unique in the run (it makes the email). */
function createOn(client: HandoutClient, name: string) {
  return call((cb) => client.createUser({ name, email: `${name}.${runTag}@bench.example` }, cb));
}

async function importUsers(client: UserServiceClient, count: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const stream = client.importUsers((error, response) => {
      if (error) return reject(error);
      if (response.createdCount !== count) return reject(new Error(`ImportUsers created ${response.createdCount} of ${count}`));
      resolve();
    });
    for (let i = 0; i < count; i++) stream.write({ name: `user ${i}`, email: `import-${i}.${runTag}@bench.example` });
    stream.end();
  });
}

interface ListingRow {
  side: string;
  api: string;
  users: number;
  ms: number;
  usersPerSecond: number;
}

async function measureListing(ctx: BenchContext, sides: Side[], v1: UserServiceClient, users: number): Promise<ListingRow[]> {
  const rounds = pick(ctx, 3, 1);
  const rows: ListingRow[] = [];
  const best = async (side: string, api: string, list: () => Promise<number>) => {
    let fastest = Infinity;
    let count = 0;
    for (let i = 0; i < rounds; i++) {
      const start = nowMs();
      count = await list();
      fastest = Math.min(fastest, nowMs() - start);
    }
    rows.push({ side, api, users: count, ms: round(fastest), usersPerSecond: Math.round((count / fastest) * 1000) });
    ctx.log(`grpc: ListUsers ${side} ${api}: ${count} users in ${round(fastest)} ms`);
  };
  for (const side of sides) await best(side.name, "handout ListUsers", () => drain(side.client.listUsers({})));
  await best("ours", "v1 ListUsers", () => drain(v1.listUsers({ pageSize: 0, pageToken: "", nameFilter: "" })));
  if (rows.some((r) => r.users < users)) throw new Error(`a listing returned fewer than ${users} users: ${JSON.stringify(rows)}`);
  return rows;
}

interface SubscriptionResult {
  subscribers: number;
  events: number;
  deliveries: number;
  expected: number;
  latencyMs: ReturnType<Samples["summary"]>;
}

/** 100 subscribers on separate connections, half on each replica; each CreateUser's delivery latency from the moment it was sent. */
async function measureSubscriptions(ctx: BenchContext, addresses: string[], writer: UserServiceClient): Promise<SubscriptionResult> {
  const subscribers = 100;
  const events = pick(ctx, 300, 40);
  const sentAt = new Map<string, number>();
  const samples = new Samples();
  let deliveries = 0;
  const clients: UserServiceClient[] = [];
  const streams: ClientReadableStream<SubscribeToUpdatesResponse>[] = [];
  try {
    for (let i = 0; i < subscribers; i++) {
      // A local subchannel pool gives each subscriber its own connection, as separate clients have.
      const client = await connectUsers(addresses[i % addresses.length]!, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
      clients.push(client);
      const stream = client.subscribeToUpdates({ sinceCursor: "" });
      stream.on("data", (update: SubscribeToUpdatesResponse) => {
        const t0 = sentAt.get(update.user?.email ?? "");
        if (t0 === undefined) return;
        samples.add(nowMs() - t0);
        deliveries++;
      });
      stream.on("error", () => undefined);
      streams.push(stream);
    }
    await Promise.all(streams.map((s) => new Promise((resolve) => s.once("metadata", resolve))));
    for (let i = 0; i < events; i++) {
      const email = `sub-${i}.${runTag}@bench.example`;
      sentAt.set(email, nowMs());
      await new Promise<void>((resolve, reject) => writer.createUser({ name: `sub ${i}`, email }, (e) => (e ? reject(e) : resolve())));
      await sleep(10);
    }
    const deadline = Date.now() + 5000;
    while (deliveries < events * subscribers && Date.now() < deadline) await sleep(20);
  } finally {
    for (const s of streams) s.cancel();
    for (const c of clients) c.close();
  }
  const result = { subscribers, events, deliveries, expected: events * subscribers, latencyMs: samples.summary() };
  ctx.log(`grpc: subscriptions ${deliveries}/${events * subscribers} delivered, p50 ${result.latencyMs.p50} ms p99 ${result.latencyMs.p99} ms`);
  return result;
}

async function peerSubscribeStatus(client: HandoutClient): Promise<string> {
  const stream = client.subscribeToUpdates({});
  const outcome = await Promise.race([
    new Promise<string>((resolve) => stream.once("error", (e: { code?: number; details?: string }) => resolve(`error ${e.code}: ${e.details}`))),
    new Promise<string>((resolve) => stream.once("data", () => resolve("streams"))),
    sleep(2000).then(() => "no answer in 2 s"),
  ]);
  stream.cancel();
  return outcome;
}

function report(
  ctx: BenchContext,
  sides: Side[],
  unary: UnaryRow[],
  listing: ListingRow[],
  subscription: SubscriptionResult,
  peerSubscribe: string,
  notes: string[],
  settings: { users: number; seconds: number; levels: number[]; slices: number; threads: number; connections: number },
): SuiteResult {
  const find = (side: string, rpc: string, c: number) => unary.find((r) => r.side === side && r.rpc === rpc && r.concurrency === c);
  const unaryTable: Table = {
    title: `gRPC unary, handout client (proto-loader) on both sides, ${settings.threads} load threads × ${settings.connections} connections`,
    columns: ["RPC", "concurrency", "side", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "server CPU s / 1k", "client CPU s / 1k", "ours/peer req/s"],
    rows: unary.map((r) => {
      const peer = find("peer", r.rpc, r.concurrency);
      return [r.rpc, r.concurrency, r.side, fmt(r.rate), fmt(r.latencyMs.p50), fmt(r.latencyMs.p99), fmt(r.latencyMs.max), r.errors, fmt(r.cpuPer1k, 3), fmt(r.loadGeneratorCpuPer1k, 3), r.side === "ours" && peer ? ratio(r.rate, peer.rate) : ""];
    }),
  };
  const listTable: Table = {
    title: `ListUsers: streaming ${settings.users.toLocaleString("en-US")} users (best of runs)`,
    columns: ["side", "API", "users", "ms", "users/s"],
    rows: listing.map((r) => [r.side, r.api, r.users, fmt(r.ms), fmt(r.usersPerSecond)]),
  };
  const subTable: Table = {
    title: "SubscribeToUpdates: CreateUser to 100 subscribers over 2 replicas",
    columns: ["side", "subscribers", "events", "delivered", "p50 ms", "p95 ms", "p99 ms", "max ms"],
    rows: [
      ["ours", subscription.subscribers, subscription.events, `${subscription.deliveries}/${subscription.expected}`, fmt(subscription.latencyMs.p50), fmt(subscription.latencyMs.p95), fmt(subscription.latencyMs.p99), fmt(subscription.latencyMs.max)],
      ["peer", "–", "–", peerSubscribe, "–", "–", "–", "–"],
    ],
  };
  const chartSeries = (rpc: string) => sides.map((s) => ({ name: s.label, values: settings.levels.map((c) => find(s.name, rpc, c)?.rate ?? null) }));
  const get100 = { ours: find("ours", "GetUser", 100), peer: find("peer", "GetUser", 100) };
  const create100 = { ours: find("ours", "CreateUser", 100), peer: find("peer", "CreateUser", 100) };
  return {
    id: "grpc",
    title: "gRPC: unary, streaming and subscriptions",
    method:
      `Closed loop for ${settings.seconds} s per cell and side, taken in ${settings.slices} turns in ABBA order (peer, ours, ours, peer) with a short warm-up each, so drifting background load falls on both sides alike. ` +
      `The load comes from ${settings.threads} worker threads of the bench process, each with its own event loop and ${settings.connections} connections (one channel each, calls in turn), using the handout's proto-loader client: the same code, threads and connection count for both sides, only the address list differs. ` +
      `Ours: 2 replicas of grpc-demo (LOG_LEVEL=warn, default user cache: 10,000 users, unfenced) on one redis-server, one connection per replica per thread. Peer: the handout's in-memory server, 1 process, called over the same number of connections. ` +
      `Each side holds ${settings.users.toLocaleString("en-US")} users; GetUser asks for ids spread over them. Server CPU is read from /proc (replicas + Redis), client CPU is the bench process (the load threads), both counted over the measured part of each turn. ` +
      `Everything shares the machine's cores: the client spends more CPU per call than either server, so req/s follows total CPU per call (client + server) more than the server alone.`,
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
    ],
    targets: [
      {
        name: "gRPC GetUser at c=100",
        goal: "≥ 1.0× peer req/s",
        measured: get100.ours && get100.peer ? `${fmt(get100.ours.rate)} vs ${fmt(get100.peer.rate)} req/s (${ratio(get100.ours.rate, get100.peer.rate)})` : "–",
        met: get100.ours && get100.peer ? get100.ours.rate >= get100.peer.rate : undefined,
      },
      {
        name: "gRPC CreateUser at c=100",
        goal: "≥ 1.0× peer req/s",
        measured: create100.ours && create100.peer ? `${fmt(create100.ours.rate)} vs ${fmt(create100.peer.rate)} req/s (${ratio(create100.ours.rate, create100.peer.rate)})` : "–",
        met: create100.ours && create100.peer ? create100.ours.rate >= create100.peer.rate : undefined,
      },
      {
        name: "Subscription fan-out p99",
        goal: "< 20 ms, nothing lost",
        measured: `p99 ${fmt(subscription.latencyMs.p99)} ms, ${subscription.deliveries}/${subscription.expected} delivered`,
        met: subscription.latencyMs.p99 < 20 && subscription.deliveries === subscription.expected,
      },
    ],
    notes: [
      ...notes,
      "Subscription latency includes the client: the 100 subscribers and the writer share one event loop, so the last subscriber of each event waits for the other 99 to be decoded (moving them to 2 worker threads measured worse on 2 cores).",
      ctx.quick ? "quick mode: short cells, numbers are a smoke test only" : "",
    ].filter(Boolean),
    raw: { settings, unary, listing, subscription, peerSubscribe },
  };
}
