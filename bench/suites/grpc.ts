import { connectUsers, type UserServiceClient } from "grpc-demo/client";
import { setTimeout as sleep } from "node:timers/promises";
import { envChoices, envCount, envNumbers, pick, type BenchContext } from "../lib/context.js";
import { fanOutRound, openSubscribers, type FanOutRound } from "../lib/fan-out.js";
import { call, drain, handoutClient } from "../lib/handout-client.js";
import { forEachLimited } from "../lib/load.js";
import type { SuiteResult } from "../lib/report.js";
import { cluster, startOurUsers, startPeerUsers, startRedis } from "../lib/services.js";
import { nowMs, round } from "../lib/stats.js";
import { alternateCell, startUnaryLoad } from "../lib/unary-load.js";
import { grpcReport, type GrpcSide, type ListingRow, type UnaryRow } from "./grpc-report.js";

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
/** The issue's fan-out case: creates per second while every subscriber listens. */
const FAN_OUT_RATE = 10;

/** The unary cells, in the order they run. */
const UNARY_RPCS = ["GetUser", "CreateUser"] as const;
/** What the suite measures; BENCH_GRPC_PARTS narrows it (e.g. to profile the unary cells alone). */
const PARTS = ["listing", "unary", "subscriptions"] as const;

/** Part 3: unary GetUser/CreateUser, ListUsers streaming and SubscribeToUpdates fan-out. */
export async function grpcSuite(ctx: BenchContext): Promise<SuiteResult> {
  const users = pick(ctx, 10_000, 1_000);
  const seconds = pick(ctx, 8, 1);
  const warmup = pick(ctx, 0.3, 0.2);
  const slices = pick(ctx, SLICES, 2);
  const levels = envNumbers("BENCH_GRPC_LEVELS") ?? pick(ctx, [1, 10, 100], [1, 100]);
  // BENCH_GRPC_RPCS=CreateUser BENCH_GRPC_LEVELS=100: only those cells (for profiling one of them).
  const rpcs = envChoices("BENCH_GRPC_RPCS", UNARY_RPCS) ?? UNARY_RPCS;
  const parts = new Set(envChoices("BENCH_GRPC_PARTS", PARTS) ?? PARTS);
  const subscriberCounts = envNumbers("BENCH_GRPC_SUBSCRIBERS") ?? pick(ctx, [1000, 100], [1000]);
  const fanOutEvents = pick(ctx, 100, 20);
  // Subscribers decoded in worker threads (0: on the bench's own event loop, beside the writer).
  const subscriberThreads = envCount("BENCH_GRPC_SUBSCRIBER_THREADS", 2);
  const notes: string[] = [];

  const redis = await startRedis();
  const replicas = [await startOurUsers(ctx.repo, redis.url, "users-1"), await startOurUsers(ctx.repo, redis.url, "users-2")];
  const ourAddresses = replicas.map((r) => `127.0.0.1:${r.port}`);
  const ours: GrpcSide = {
    name: "ours",
    label: "ours (2 replicas + Redis)",
    cluster: cluster([...replicas, redis]),
    client: handoutClient(ctx.repo, ourAddresses),
    addresses: ourAddresses,
  };
  const sides: GrpcSide[] = [ours];
  const peerDir = ctx.peers.dir("seed-grpc");
  if (peerDir) {
    const peer = await startPeerUsers(peerDir);
    const addresses = [`127.0.0.1:${peer.port}`];
    sides.unshift({ name: "peer", label: "peer (handout, in memory)", cluster: cluster([peer]), client: handoutClient(ctx.repo, addresses), addresses });
  } else notes.push(`peer not run: ${ctx.peers.problem}`);

  const v1 = await connectUsers(ourAddresses.join(","));
  try {
    // Same directory size on both sides: ours through ImportUsers, the peer (no import RPC) by CreateUser.
    ctx.log(`grpc: seeding ${users} users on each side`);
    await importUsers(v1, users);
    for (const side of sides.filter((s) => s.name === "peer")) {
      await forEachLimited(users - 2, 50, (i) => createOn(side, `seed-${i}`));
    }
    const listing = parts.has("listing") ? await measureListing(ctx, sides, v1, users) : [];

    const connections = Math.max(...sides.map((s) => s.addresses.length));
    const unary: UnaryRow[] = [];
    if (parts.has("unary")) {
      for (const side of sides) side.load = await startUnaryLoad({ repo: ctx.repo, addresses: side.addresses, users, tag: runTag, connections }, LOAD_THREADS);
      const cellSides = sides.map((s) => ({ name: s.name, load: s.load!, pids: s.cluster.pids }));
      // Every cell once per run, then again: a disturbance of the machine hits one run of many cells, not every run of one.
      for (let run = 0; run < ctx.runs; run++) {
        for (const rpc of rpcs) {
          for (const concurrency of levels) {
            const cell = await alternateCell(cellSides, rpc, { label: `r${run}c${concurrency}`, concurrency, seconds, warmupSeconds: warmup, slices });
            for (const side of sides) {
              const result = cell.get(side.name)!;
              const { serverCpu, clientCpu, serverCpuByProcess, ...loop } = result;
              const per1k = (seconds: number) => round((seconds / Math.max(1, result.completed)) * 1000);
              unary.push({
                side: side.name,
                rpc,
                run,
                ...loop,
                cpuPer1k: per1k(serverCpu),
                cpuPer1kByProcess: Object.fromEntries(side.cluster.services.map((service, i) => [service.name, per1k(serverCpuByProcess[i]!)])),
                loadGeneratorCpuPer1k: per1k(clientCpu),
              });
              const byProcess = side.cluster.services.length > 1 ? ` (${side.cluster.services.map((service, i) => `${service.name} ${per1k(serverCpuByProcess[i]!)}`).join(", ")})` : "";
              ctx.log(
                `grpc: run ${run + 1}/${ctx.runs} ${rpc} c=${concurrency} ${side.name}: ${result.rate} req/s p99 ${result.latencyMs.p99} ms, ` +
                  `server CPU s/1k ${per1k(serverCpu)}${byProcess}, client ${per1k(clientCpu)}${result.errors ? `, errors ${result.errors} (${result.firstError})` : ""}`,
              );
            }
          }
        }
      }
    }

    const fanOut: FanOutRound[] = [];
    if (parts.has("subscriptions")) {
      for (const count of subscriberCounts) fanOut.push(...(await measureFanOut(ctx, ourAddresses, v1, ours.cluster.pids, { count, threads: subscriberThreads, events: fanOutEvents })));
    }
    const peerSubscribe = peerDir && parts.has("subscriptions") ? await peerSubscribeStatus(sides.find((s) => s.name === "peer")!) : "not run";

    return grpcReport(ctx, { sides, unary, listing, fanOut, peerSubscribe, notes, settings: { users, seconds, levels, slices, threads: LOAD_THREADS, connections, runs: ctx.runs, subscriberThreads, fanOutRate: FAN_OUT_RATE, fanOutEvents } });
  } finally {
    v1.close();
    for (const side of sides) await side.load?.close();
    for (const side of sides) side.client.close();
    for (const side of sides) await side.cluster.stop();
  }
}

const runTag = Date.now().toString(36);
/** Creates a user on the peer; `name` must be unique in the run (it makes the email). */
function createOn(side: GrpcSide, name: string) {
  return call((cb) => side.client.createUser({ name, email: `${name}.${runTag}@bench.example` }, cb));
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

async function measureListing(ctx: BenchContext, sides: GrpcSide[], v1: UserServiceClient, users: number): Promise<ListingRow[]> {
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

/**
 * `count` subscribers on their own connections, half on each replica, then `ctx.runs` rounds of
 * creates at FAN_OUT_RATE through a writer on the bench's event loop; each update's latency runs
 * from its create being sent to a subscriber having decoded it.
 */
async function measureFanOut(
  ctx: BenchContext,
  addresses: string[],
  writer: UserServiceClient,
  pids: number[],
  options: { count: number; threads: number; events: number },
): Promise<FanOutRound[]> {
  const opened = nowMs();
  const subscribers = await openSubscribers(addresses, options.count, options.threads);
  ctx.log(`grpc: ${options.count} subscribers open in ${Math.round(nowMs() - opened)} ms (${options.threads} threads)`);
  const rounds: FanOutRound[] = [];
  try {
    // Let the connection storm's aftermath (GC, keepalive setup) pass, then one round not
    // counted: the first round after opening measured several times the next ones (JIT of the
    // delivery path on both sides).
    await sleep(500);
    await fanOutRound(subscribers, writer, { tag: `fan${runTag}s${options.count}warm`, events: Math.min(20, options.events), rate: FAN_OUT_RATE, pids, settleMs: 10_000 });
    for (let run = 0; run < ctx.runs; run++) {
      const result = await fanOutRound(subscribers, writer, { tag: `fan${runTag}s${options.count}r${run}`, events: options.events, rate: FAN_OUT_RATE, pids, settleMs: 10_000 });
      rounds.push(result);
      ctx.log(
        `grpc: fan-out run ${run + 1}/${ctx.runs}, ${options.count} subscribers: ${result.deliveries}/${result.expected} delivered, ` +
          `p50 ${result.latencyMs.p50} ms p99 ${result.latencyMs.p99} ms, CPU/event server ${result.serverCpuMsPerEvent} ms client ${result.clientCpuMsPerEvent} ms`,
      );
    }
  } finally {
    await subscribers.close();
  }
  return rounds;
}

async function peerSubscribeStatus(side: GrpcSide): Promise<string> {
  const stream = side.client.subscribeToUpdates({});
  const outcome = await Promise.race([
    new Promise<string>((resolve) => stream.once("error", (e: { code?: number; details?: string }) => resolve(`error ${e.code}: ${e.details}`))),
    new Promise<string>((resolve) => stream.once("data", () => resolve("streams"))),
    sleep(2000).then(() => "no answer in 2 s"),
  ]);
  stream.cancel();
  return outcome;
}
