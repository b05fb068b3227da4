/**
 * Finding 11.5, against a real user-service replica process, on loopback only:
 *
 *   npm run drill:grpc -- [--users 10000] [--seconds 15] [--connections 20] [--streams 200]
 *                         [--subscribers 500] [--write-rate 50]
 *
 * Starts redis-server and one replica (`grpc-demo/src/main.ts`, LOG_LEVEL=warn), seeds `--users`
 * users (so a replay from the start is the whole retained history), then runs two attacks, each
 * for `--seconds`, while one client calls GetUser back to back and times it:
 *
 * 1. partial messages: `--connections` raw HTTP/2 connections each open `--streams` GetUser calls
 *    and send all but the last byte of a message, first announcing 1 MB (the finding's attack),
 *    then exactly GRPC_MAX_RECEIVE_MESSAGE_BYTES (the most the limit lets through);
 * 2. slow subscribers: `--subscribers` SubscribeToUpdates calls, 50 to a connection, replaying
 *    from the first event, first as raw HTTP/2 streams that read nothing (the real non-reader),
 *    then as grpc-js calls left paused (grpc-js still drains the connection into the client, so
 *    the replica sees fast readers and pays for whole replays); each one ended subscribes again,
 *    and `--write-rate` users/s are created meanwhile so the live feed runs too.
 *
 * Prints the replica's RSS (before, peak, after) and GetUser p50/p99 for each phase next to the
 * bounds it runs with, and exits 1 when GetUser p99 under attack is 50 ms or more.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ClientHttp2Session } from "node:http2";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { connectUsers, unary, type ImportUsersResponse, type SubscribeToUpdatesResponse, type UserServiceClient } from "../../grpc-demo/src/client/index.js";
import { HealthChecker } from "../../grpc-demo/src/client/health.js";
import { rawCall, rawSession, rawSubscriber } from "@clusterkit/test-kit/users";
import { freePort, startRedis } from "@clusterkit/test-kit";
import { integerOption, percentile } from "./drill-kit.js";

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "10000" },
    seconds: { type: "string", default: "15" },
    connections: { type: "string", default: "20" },
    streams: { type: "string", default: "200" },
    subscribers: { type: "string", default: "500" },
    "write-rate": { type: "string", default: "50" },
  },
});
const bounded = (name: keyof typeof args, min: number, max: number) => integerOption(name, args[name], min, max);
const USERS = bounded("users", 100, 100_000);
const SECONDS = bounded("seconds", 1, 300);
const CONNECTIONS = bounded("connections", 1, 500);
const STREAMS = bounded("streams", 1, 5_000);
const SUBSCRIBERS = bounded("subscribers", 1, 20_000);
const WRITE_RATE = bounded("write-rate", 0, 2_000);
const P99_TARGET_MS = 50;
/** The replica's bounds: its defaults, written out so the report can show them. */
const BOUNDS = {
  GRPC_MAX_CONCURRENT_STREAMS: 100,
  GRPC_MAX_RECEIVE_MESSAGE_BYTES: 16 * 1024,
  USERS_SUBSCRIBER_MAX_BUFFERED_BYTES: 512 * 1024,
};
const PER_SUBSCRIBER_CONNECTION = Math.min(50, BOUNDS.GRPC_MAX_CONCURRENT_STREAMS);

const workspace = fileURLToPath(new URL("../../grpc-demo/", import.meta.url));
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
const ms = (n: number) => `${n.toFixed(1)} ms`;

/** CPU seconds (user + system) the process has used so far. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssOf(pid: number): { rss: number; peak: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

async function startReplica(redisUrl: string, logFile: string): Promise<{ child: ChildProcess; target: string; cutOffs: () => number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: workspace,
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      SERVER_ID: "users-drill",
      // Per-call info lines would cost the replica as much as the calls; warnings (cut-offs) stay.
      LOG_LEVEL: "warn",
      // Room for the live writes too, so a replay from the first event stays in range.
      USERS_EVENTS_RETENTION: String(USERS * 2),
      GRPC_MAX_CONCURRENT_STREAMS: String(BOUNDS.GRPC_MAX_CONCURRENT_STREAMS),
      GRPC_MAX_RECEIVE_MESSAGE_BYTES: String(BOUNDS.GRPC_MAX_RECEIVE_MESSAGE_BYTES),
      USERS_SUBSCRIBER_MAX_BUFFERED_BYTES: String(BOUNDS.USERS_SUBSCRIBER_MAX_BUFFERED_BYTES),
    },
    // Into a file: through a pipe the replica's synchronous log writes would wait on this busy
    // process, and the drill would measure itself.
    stdio: ["ignore", openSync(logFile, "w"), "inherit"],
  });
  const cutOffs = () => readFileSync(logFile, "utf8").split("subscriber is not reading").length - 1;
  const target = `127.0.0.1:${port}`;
  const health = new HealthChecker(target);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the replica exited with ${child.exitCode}`);
    if ((await health.check("", 1000).catch(() => "down")) === "SERVING") break;
    if (Date.now() > deadline) throw new Error("the replica did not report SERVING within 30 s");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  health.close();
  return { child, target, cutOffs };
}

/** GetUser back to back, from a process of its own (get-user-timer.ts), until `stop` resolves. */
async function timeGetUser(target: string, stop: Promise<void>): Promise<{ latencies: number[]; errors: number }> {
  const script = fileURLToPath(new URL("get-user-timer.ts", import.meta.url));
  const timer = spawn(process.execPath, ["--import", "tsx", script, target, String(USERS)], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  timer.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await stop;
  timer.stdin.end();
  await once(timer, "exit");
  return JSON.parse(output) as { latencies: number[]; errors: number };
}

async function seed(client: UserServiceClient): Promise<void> {
  const response = await new Promise<ImportUsersResponse>((resolve, reject) => {
    const call = client.importUsers((error, result) => (error ? reject(error) : resolve(result)));
    // Long names: each replayed update is ~250 bytes, a full replay ~2.5 MB per subscriber.
    for (let i = 0; i < USERS - 2; i += 1) call.write({ name: `Drill user ${i} ${"x".repeat(80)}`, email: `drill-${i}-${"y".repeat(60)}@example.com` });
    call.end();
  });
  if (response.createdCount !== USERS - 2) throw new Error(`seeding created ${response.createdCount} users`);
}

/** Opens `STREAMS` GetUser calls on each of `CONNECTIONS` connections, each sending all but the last byte of a message announced as `announced` bytes. */
function partialMessages(target: string, announced: number): { sessions: ClientHttp2Session[]; outcome: () => Record<string, number> } {
  const outcomes = new Map<string, number>();
  const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  const body = Buffer.alloc(Math.min(announced, 1024 * 1024) - 1, 0x41);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(announced, 1);
  const sessions = Array.from({ length: CONNECTIONS }, () => {
    const session = connect(`http://${target}`);
    session.on("error", () => count("connection error"));
    for (let s = 0; s < STREAMS; s += 1) {
      const stream = rawCall(session, "GetUser");
      stream.on("response", (headers) => count(`answered grpc-status ${String(headers["grpc-status"] ?? "(in trailers)")}`));
      stream.on("close", () => count(stream.rstCode ? `reset (http2 code ${stream.rstCode})` : "closed"));
      stream.write(prefix);
      stream.write(body);
    }
    return session;
  });
  return { sessions, outcome: () => Object.fromEntries(outcomes) };
}

/**
 * `SUBSCRIBERS` subscribers replaying from `since` that read nothing, even at the HTTP/2 level
 * (raw streams left paused), 50 to a connection; each one reset subscribes again until `stop`.
 */
function silentSubscribers(target: string, since: string, stop: Promise<void>) {
  let running = true;
  void stop.then(() => (running = false));
  const sessions = Array.from({ length: Math.ceil(SUBSCRIBERS / PER_SUBSCRIBER_CONNECTION) }, () => rawSession(target));
  const ends = new Map<string, number>();
  const subscribe = (session: ClientHttp2Session) => {
    void rawSubscriber(session, since).closed.then((code) => {
      const what = code === 11 ? "reset ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED)" : `closed, http2 code ${code}`;
      ends.set(what, (ends.get(what) ?? 0) + 1);
      if (running && !session.destroyed) subscribe(session);
    });
  };
  for (let i = 0; i < SUBSCRIBERS; i += 1) subscribe(sessions[Math.floor(i / PER_SUBSCRIBER_CONNECTION)]!);
  return {
    ends: () => Object.fromEntries(ends),
    close() {
      running = false;
      for (const session of sessions) session.destroy();
    },
  };
}

/**
 * `SUBSCRIBERS` grpc-js subscribers replaying from `since` that call `pause()` and never read;
 * grpc-js still takes their data off the connection (into this process), so to the replica
 * they are readers. Each one ended subscribes again until `stop`.
 */
async function slowSubscribers(target: string, since: string, stop: Promise<void>) {
  let running = true;
  void stop.then(() => (running = false));
  const clients = await Promise.all(
    Array.from({ length: Math.ceil(SUBSCRIBERS / PER_SUBSCRIBER_CONNECTION) }, () =>
      connectUsers(target, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } }),
    ),
  );
  const calls = new Set<ClientReadableStream<SubscribeToUpdatesResponse>>();
  const result = { cutOff: 0, other: {} as Record<string, number> };
  const subscribe = (client: UserServiceClient) => {
    const call = client.subscribeToUpdates({ sinceCursor: since });
    calls.add(call);
    call.pause();
    call.on("error", (error: ServiceError) => {
      calls.delete(call);
      if (error.code === status.RESOURCE_EXHAUSTED) result.cutOff += 1;
      else result.other[error.details] = (result.other[error.details] ?? 0) + 1;
      if (running) subscribe(client);
    });
  };
  for (let i = 0; i < SUBSCRIBERS; i += 1) subscribe(clients[Math.floor(i / PER_SUBSCRIBER_CONNECTION)]!);
  return {
    result,
    close() {
      running = false;
      for (const call of calls) call.cancel();
      for (const client of clients) client.close();
    },
  };
}

const redis = await startRedis();
const logDir = mkdtempSync(join(tmpdir(), "drill-grpc-"));
const replica = await startReplica(redis.url, join(logDir, "replica.log"));
const pid = replica.child.pid!;
const client = await connectUsers(replica.target);
const rows: Array<Record<string, string>> = [];
try {
  console.log(`drill:grpc: one replica (pid ${pid}) at ${replica.target}; bounds ${JSON.stringify(BOUNDS)}`);
  await seed(client);
  const phase = async (name: string, attack: (stop: Promise<void>) => Promise<() => Record<string, unknown>>) => {
    const before = rssOf(pid).rss;
    const cpuBefore = cpuOf(pid);
    const startedAt = Date.now();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid).rss)), 100);
    let end!: () => void;
    const stop = new Promise<void>((resolve) => (end = resolve));
    const timing = timeGetUser(replica.target, stop);
    const finish = await attack(stop);
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    end();
    const { latencies, errors } = await timing;
    const details = finish();
    const cpu = (cpuOf(pid) - cpuBefore) / ((Date.now() - startedAt) / 1000);
    clearInterval(sampler);
    peak = Math.max(peak, rssOf(pid).rss);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const row = {
      phase: name,
      "RSS before": mb(before),
      "RSS peak": mb(peak),
      "RSS after": mb(rssOf(pid).rss),
      "GetUser p50": ms(percentile(latencies, 50, Number.NaN)),
      "GetUser p99": ms(percentile(latencies, 99, Number.NaN)),
      "replica CPU": `${Math.round(cpu * 100)}%`,
      calls: String(latencies.length),
      errors: String(errors),
      detail: JSON.stringify(details),
    };
    rows.push(row);
    console.log(row);
  };

  await phase("quiet (baseline)", async () => () => ({}));
  for (const announced of [1024 * 1024, BOUNDS.GRPC_MAX_RECEIVE_MESSAGE_BYTES]) {
    await phase(`partial messages of ${announced} bytes, ${CONNECTIONS} conns x ${STREAMS} streams`, async () => {
      const attack = partialMessages(replica.target, announced);
      return () => {
        const outcome = attack.outcome();
        for (const session of attack.sessions) session.destroy();
        return outcome;
      };
    });
  }
  const liveWrites = () => {
    let written = 0;
    const writer = WRITE_RATE > 0
      ? setInterval(() => {
          const n = written++;
          unary((cb) => client.createUser({ name: `Live ${n}`, email: `live-${n}@example.com` }, cb)).catch(() => undefined);
        }, 1000 / WRITE_RATE)
      : undefined;
    return () => {
      clearInterval(writer);
      return written;
    };
  };
  // "0-1": before the first event, so each subscriber is replayed the whole history.
  await phase(`${SUBSCRIBERS} subscribers replaying ${USERS} events that read nothing (raw HTTP/2), ${WRITE_RATE} writes/s`, async (stop) => {
    const attack = silentSubscribers(replica.target, "0-1", stop);
    const stopWrites = liveWrites();
    return () => {
      const written = stopWrites();
      const ends = attack.ends();
      attack.close();
      return { ends, replicaCutOffLogLines: replica.cutOffs(), liveWrites: written };
    };
  });
  await phase(`${SUBSCRIBERS} grpc-js subscribers replaying ${USERS} events, paused (the client buffers), ${WRITE_RATE} writes/s`, async (stop) => {
    const attack = await slowSubscribers(replica.target, "0-1", stop);
    const stopWrites = liveWrites();
    return () => {
      const written = stopWrites();
      attack.close();
      return { cutOffWithResourceExhausted: attack.result.cutOff, otherEnds: attack.result.other, liveWrites: written };
    };
  });
  const worst = Math.max(...rows.slice(1).map((r) => Number.parseFloat(r["GetUser p99"]!)));
  console.log(`\nsummary (GetUser p99 target < ${P99_TARGET_MS} ms; bounds ${JSON.stringify(BOUNDS)}):`);
  console.table(rows.map(({ detail: _detail, ...rest }) => rest));
  if (!(worst < P99_TARGET_MS)) process.exitCode = 1;
} finally {
  client.close();
  replica.child.kill("SIGTERM");
  await once(replica.child, "exit");
  await redis.close();
  rmSync(logDir, { recursive: true, force: true });
}
