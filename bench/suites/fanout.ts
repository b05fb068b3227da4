import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { pick, type BenchContext } from "../lib/context.js";
import { forEachLimited } from "../lib/load.js";
import { cpuMeter, freePort, startService, tsNode, type Service } from "../lib/processes.js";
import { fmt, ratio, type SuiteResult, type Table } from "../lib/report.js";
import { Samples, nowMs, round, type LatencySummary } from "../lib/stats.js";

/** One configuration of bench/servers/fanout-server.ts and the matching client options. */
interface Variant {
  name: string;
  env: NodeJS.ProcessEnv;
  client: Partial<ManagerOptions & SocketOptions>;
}

const websocketOnly: Variant["client"] = { transports: ["websocket"] };

/** The write-path knobs, each against the same baseline: the broadcast RoomFanout uses for live sockets. */
const writeVariants: Variant[] = [
  { name: "per-socket emit", env: { MODE: "per-socket" }, client: websocketOnly },
  { name: "broadcast (baseline)", env: { MODE: "broadcast" }, client: websocketOnly },
  { name: "broadcast + msgpack parser", env: { MODE: "broadcast", PARSER: "msgpack" }, client: { ...websocketOnly, parser: msgpackParser } },
  { name: "broadcast + permessage-deflate", env: { MODE: "broadcast", DEFLATE: "1" }, client: websocketOnly },
];
const BASELINE = "broadcast (baseline)";

/** How a client reaches the server: Socket.IO's default (long-polling first, then upgrade) or WebSocket only. */
const connectVariants: Variant[] = [
  { name: "polling, then upgrade (Socket.IO default)", env: {}, client: {} },
  { name: "websocket only", env: { TRANSPORTS: "websocket" }, client: websocketOnly },
];

interface WriteRow {
  variant: string;
  offered: number;
  deliveries: number;
  expected: number;
  deliveriesPerSecond: number;
  serverCpuPer1kDeliveries: number;
  latencyMs: LatencySummary;
}

interface ConnectRow {
  variant: string;
  clients: number;
  seconds: number;
  perSecond: number;
  /** Server CPU seconds per 1,000 clients connected (handshake, upgrade, join). */
  serverCpuPer1k: number;
  /** Connect call to the WebSocket carrying the session, per client. */
  latencyMs: LatencySummary;
}

/**
 * Knobs measured in isolation on one replica's fan-out write path (no Redis, no handlers): per-socket
 * emit vs one broadcast, the msgpack parser, permessage-deflate; and what connecting costs with
 * Socket.IO's default transports vs WebSocket only.
 */
export async function fanoutSuite(ctx: BenchContext): Promise<SuiteResult> {
  const clients = pick(ctx, 300, 60);
  const rooms = pick(ctx, 10, 4);
  const loads = pick(ctx, [100, 200, 800], [100]);
  const seconds = pick(ctx, 6, 1.5);
  const connectClients = pick(ctx, 1000, 100);

  const writeRows: WriteRow[] = [];
  for (const offered of loads) {
    for (const variant of writeVariants) {
      const row = await measureWrites(ctx, variant, { clients, rooms, offered, seconds });
      writeRows.push(row);
      ctx.log(`fanout ${variant.name} ${offered} msg/s: ${row.deliveries}/${row.expected} delivered, ${row.serverCpuPer1kDeliveries} CPU s / 1k, p99 ${row.latencyMs.p99} ms`);
    }
  }
  const connectRows: ConnectRow[] = [];
  // Twice each, alternating, so background load on the machine falls on both alike.
  for (const variant of [...connectVariants, ...[...connectVariants].reverse()]) {
    const row = await measureConnects(ctx, variant, connectClients);
    connectRows.push(row);
    ctx.log(`connect ${variant.name}: ${row.clients} clients in ${row.seconds} s, ${row.serverCpuPer1k} CPU s / 1k, p99 ${row.latencyMs.p99} ms`);
  }

  const writeTable: Table = {
    title: `One replica's fan-out write path: ${clients} clients in ${rooms} rooms, no Redis`,
    columns: ["variant", "offered msg/s", "delivered", "deliveries/s", "server CPU s / 1k deliveries", "vs baseline", "p50 ms", "p99 ms"],
    rows: writeRows.map((r) => {
      const base = writeRows.find((x) => x.variant === BASELINE && x.offered === r.offered);
      return [
        r.variant,
        r.offered,
        `${fmt(r.deliveries)}/${fmt(r.expected)}`,
        fmt(r.deliveriesPerSecond),
        fmt(r.serverCpuPer1kDeliveries, 3),
        base ? ratio(r.serverCpuPer1kDeliveries, base.serverCpuPer1kDeliveries) : "",
        fmt(r.latencyMs.p50),
        fmt(r.latencyMs.p99),
      ];
    }),
  };
  const connectTable: Table = {
    title: `Connecting ${fmt(connectClients)} clients (50 at a time) to one replica, each joining a room`,
    columns: ["transports", "clients", "seconds", "clients/s", "server CPU s / 1k clients", "p50 ms", "p99 ms"],
    rows: connectRows.map((r) => [r.variant, fmt(r.clients), fmt(r.seconds), fmt(r.perSecond), fmt(r.serverCpuPer1k, 3), fmt(r.latencyMs.p50), fmt(r.latencyMs.p99)]),
  };
  return {
    id: "fanout",
    title: "Knobs on the fan-out path: broadcast, parser, compression, transports",
    method:
      `bench/servers/fanout-server.ts emits the handout's message payload to rooms from a timer, one replica with no Redis, so only the write path is measured: ` +
      `one socket.emit per member (how RoomFanout serves a socket still catching up) or one io.local.to(room).emit (how it serves live sockets: encoded once, ` +
      `the WebSocket frame reused), then that broadcast with the msgpack parser (socket.io-msgpack-parser on both ends) and with permessage-deflate. ` +
      `Clients (socket.io-client, WebSocket) run on the bench's event loop; server CPU from /proc. Then ${fmt(connectClients)} clients connect with Socket.IO's default ` +
      `transports (an HTTP long-polling handshake, then the upgrade) or straight over WebSocket (the server refusing polling).`,
    tables: [writeTable, connectTable],
    charts: [
      {
        file: "fanout-knob.svg",
        title: "Fan-out CPU per 1,000 deliveries by knob (lower is better)",
        unit: "CPU s / 1k deliveries",
        groups: loads.map((l) => `${l} msg/s`),
        series: writeVariants.map((v) => ({
          name: v.name,
          values: loads.map((l) => writeRows.find((r) => r.variant === v.name && r.offered === l)?.serverCpuPer1kDeliveries ?? null),
        })),
      },
    ],
    targets: [],
    notes: [],
    raw: { clients, rooms, loads, seconds, connectClients, writeRows, connectRows },
  };
}

async function startFanoutServer(ctx: BenchContext, variant: Variant, extra: NodeJS.ProcessEnv): Promise<Service> {
  const port = await freePort();
  const { command, args } = tsNode(join(ctx.repo, "bench/servers/fanout-server.ts"));
  return startService({ name: `fanout ${variant.name}`, command, args, cwd: ctx.repo, port, env: { ...variant.env, ...extra, PORT: String(port) } });
}

function connectClient(port: number, variant: Variant): Promise<Socket> {
  const socket = io(`http://127.0.0.1:${port}`, { ...variant.client, forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => {
      socket.close();
      reject(error);
    });
  });
}

const joinRoom = (socket: Socket, room: string) => socket.timeout(10_000).emitWithAck("join_room", room);

async function measureWrites(ctx: BenchContext, variant: Variant, load: { clients: number; rooms: number; offered: number; seconds: number }): Promise<WriteRow> {
  const server = await startFanoutServer(ctx, variant, { ROOMS: String(load.rooms), RATE: String(load.offered / load.rooms) });
  const sockets: Socket[] = [];
  const samples = new Samples();
  let deliveries = 0;
  try {
    for (let i = 0; i < load.clients; i++) {
      const socket = await connectClient(server.port, variant);
      sockets.push(socket);
      socket.on("message", (payload: { message: string }) => {
        deliveries++;
        samples.add(nowMs() - Number(payload.message.split("|")[2]));
      });
      await joinRoom(socket, `room-${i % load.rooms}`);
    }
    const meter = cpuMeter([server.pid]);
    sockets[0]!.emit("start", load.seconds);
    await sleep(load.seconds * 1000);
    const cpu = meter.stop();
    const expected = Math.floor(load.seconds * load.offered) * (load.clients / load.rooms);
    const deadline = Date.now() + 10_000;
    while (deliveries < expected && Date.now() < deadline) await sleep(100);
    return {
      variant: variant.name,
      offered: load.offered,
      deliveries,
      expected,
      deliveriesPerSecond: Math.round(deliveries / load.seconds),
      serverCpuPer1kDeliveries: round((cpu.perProcess[0]! / Math.max(1, deliveries)) * 1000),
      latencyMs: samples.summary(),
    };
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
  }
}

async function measureConnects(ctx: BenchContext, variant: Variant, clients: number): Promise<ConnectRow> {
  const server = await startFanoutServer(ctx, variant, {});
  const sockets: Socket[] = [];
  const samples = new Samples();
  try {
    const meter = cpuMeter([server.pid]);
    const started = nowMs();
    // 50 connecting at a time: a page load's worth of concurrency, without queueing in the backlog.
    await forEachLimited(clients, 50, async (i) => {
      const begun = nowMs();
      const socket = await connectClient(server.port, variant);
      sockets.push(socket);
      if (socket.io.engine.transport.name !== "websocket") await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
      await joinRoom(socket, `room-${i % 10}`);
      samples.add(nowMs() - begun);
    });
    const elapsed = (nowMs() - started) / 1000;
    const cpu = meter.stop();
    return {
      variant: variant.name,
      clients,
      seconds: round(elapsed),
      perSecond: Math.round(clients / elapsed),
      serverCpuPer1k: round((cpu.perProcess[0]! / clients) * 1000),
      latencyMs: samples.summary(),
    };
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
  }
}
