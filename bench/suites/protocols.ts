import { connectUsers } from "grpc-demo/client";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { io as connectSocket, type Socket } from "socket.io-client";
import { pick, type BenchContext } from "../lib/context.js";
import { call, handoutClient } from "../lib/handout-client.js";
import { closedLoop, type ClosedLoopResult } from "../lib/load.js";
import { cpuMeter, freePort, rssKb, startService, tsNode, type Service } from "../lib/processes.js";
import { fmt, ratio, type SuiteResult, type Table } from "../lib/report.js";
import { startOurUsers, startRedis } from "../lib/services.js";
import { round } from "../lib/stats.js";

interface Row extends ClosedLoopResult {
  protocol: string;
  cpuPer1k: number;
  serverRssMb: number;
}

interface Caller {
  get: (id: number) => Promise<unknown>;
  close: () => void;
}

interface Contender {
  protocol: string;
  start(): Promise<Service>;
  /** Builds a caller for `get user` against the started service; returns it and a closer. */
  client(service: Service): Promise<Caller> | Caller;
}

/**
 * Part 4: the same "get user" (one Redis read through the kit's store) over express JSON, gRPC
 * unary and Socket.IO emit-with-ack, each in one server process on the same Redis.
 */
export async function protocolsSuite(ctx: BenchContext): Promise<SuiteResult> {
  const seconds = pick(ctx, 8, 1);
  const warmup = pick(ctx, 1, 0.3);
  const levels = pick(ctx, [1, 10, 100], [10]);
  const users = 1000;
  const redis = await startRedis();
  // The real user service seeds the store (and is itself the fourth row).
  const usersReplica = await startOurUsers(ctx.repo, redis.url, "users-1");
  const v1 = await connectUsers(`127.0.0.1:${usersReplica.port}`);
  await new Promise<void>((resolve, reject) => {
    const stream = v1.importUsers((error) => (error ? reject(error) : resolve()));
    for (let i = 0; i < users; i++) stream.write({ name: `user ${i}`, email: `p-${i}@bench.example` });
    stream.end();
  });
  v1.close();

  const server = (mode: string) => async () => {
    const port = await freePort();
    const { command, args } = tsNode(join(ctx.repo, "bench/servers/protocol-server.ts"));
    return startService({ name: `protocol-${mode}`, command, args, cwd: ctx.repo, port, env: { MODE: mode, PORT: String(port), REDIS_URL: redis.url } });
  };
  const contenders: Contender[] = [
    {
      protocol: "REST (express JSON, HTTP/1.1 keep-alive)",
      start: server("rest"),
      client(service) {
        const agent = new Agent({ keepAlive: true, maxSockets: 100 });
        const get = (id: number) =>
          new Promise<unknown>((resolve, reject) => {
            const req = request({ host: "127.0.0.1", port: service.port, path: `/users/${id}`, agent }, (res) => {
              let body = "";
              res.setEncoding("utf8");
              res.on("data", (chunk: string) => (body += chunk));
              res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`HTTP ${res.statusCode}`))));
            });
            req.on("error", reject);
            req.end();
          });
        return { get, close: () => agent.destroy() };
      },
    },
    {
      protocol: "gRPC unary (grpc-js, proto-loader)",
      start: server("grpc"),
      client(service) {
        const client = handoutClient(ctx.repo, [`127.0.0.1:${service.port}`]);
        return { get: (id) => call((cb) => client.getUser({ id }, cb)), close: () => client.close() };
      },
    },
    {
      protocol: "Socket.IO emit with ack (WebSocket)",
      start: server("socketio"),
      async client(service) {
        const socket: Socket = connectSocket(`http://127.0.0.1:${service.port}`, { transports: ["websocket"], reconnection: false });
        await new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("connect_error", reject);
        });
        return {
          get: async (id) => {
            const reply = (await socket.timeout(10_000).emitWithAck("get_user", id)) as { user?: unknown; error?: string };
            if (reply.error) throw new Error(reply.error);
            return reply.user;
          },
          close: () => socket.close(),
        };
      },
    },
    {
      protocol: "gRPC unary, the kit's user service (interceptors, validation)",
      start: () => Promise.resolve(usersReplica),
      client(service) {
        const client = handoutClient(ctx.repo, [`127.0.0.1:${service.port}`]);
        return { get: (id) => call((cb) => client.getUser({ id }, cb)), close: () => client.close() };
      },
    },
  ];

  const rows: Row[] = [];
  try {
    for (const contender of contenders) {
      const service = await contender.start();
      const { get, close } = await contender.client(service);
      try {
        for (const concurrency of levels) {
          const meter = cpuMeter([service.pid, redis.pid]);
          const result = await closedLoop((i) => get(1 + ((i * 7919) % users)), { concurrency, seconds, warmupSeconds: warmup });
          const cpu = meter.stop();
          rows.push({ protocol: contender.protocol, ...result, cpuPer1k: round((cpu.total / Math.max(1, result.completed)) * 1000), serverRssMb: round(rssKb(service.pid) / 1024) });
          ctx.log(`protocols: ${contender.protocol} c=${concurrency}: ${result.rate} req/s p99 ${result.latencyMs.p99} ms${result.errors ? ` errors ${result.errors} (${result.firstError})` : ""}`);
        }
      } finally {
        close();
        if (service !== usersReplica) await service.stop();
      }
    }
  } finally {
    await usersReplica.stop();
    await redis.stop();
  }

  const table: Table = {
    title: "get user: one Redis read behind each protocol, one server process each",
    columns: ["protocol", "concurrency", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "server CPU s / 1k", "server RSS MB", "vs REST req/s"],
    rows: rows.map((r) => {
      const rest = rows.find((x) => x.protocol.startsWith("REST") && x.concurrency === r.concurrency);
      return [r.protocol, r.concurrency, fmt(r.rate), fmt(r.latencyMs.p50), fmt(r.latencyMs.p99), fmt(r.latencyMs.max), r.errors, fmt(r.cpuPer1k, 3), fmt(r.serverRssMb), rest ? ratio(r.rate, rest.rate) : ""];
    }),
  };
  const short = (p: string) => p.split(" (")[0]!.replace("gRPC unary, the kit's user service", "kit user service");
  return {
    id: "protocols",
    title: "REST vs gRPC vs WebSocket: the same get user",
    method:
      `Each protocol in its own Node process serving GetUser from the same redis-server through the kit's RedisUserStore; one client (keep-alive agent, one gRPC channel, one WebSocket) ` +
      `in closed loop for ${seconds} s per concurrency level. The last row is the kit's real user service for reference. This replaces the handout's "Performance: Medium / High" table with measured rows.`,
    tables: [table],
    charts: [
      {
        file: "protocols.svg",
        title: "get user: req/s by protocol and concurrency",
        unit: "req/s",
        groups: levels.map((c) => `c=${c}`),
        series: contenders.map((c) => ({ name: short(c.protocol), values: levels.map((l) => rows.find((r) => r.protocol === c.protocol && r.concurrency === l)?.rate ?? null) })),
      },
    ],
    targets: [],
    notes: ctx.quick ? ["quick mode: one concurrency level, short cells"] : [],
    raw: { seconds, levels, users, rows },
  };
}
