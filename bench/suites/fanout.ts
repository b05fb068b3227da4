import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { io, type Socket } from "socket.io-client";
import { pick, type BenchContext } from "../lib/context.js";
import { cpuMeter, freePort, startService, tsNode } from "../lib/processes.js";
import { fmt, ratio, type SuiteResult, type Table } from "../lib/report.js";
import { Samples, nowMs, round, type LatencySummary } from "../lib/stats.js";

interface Row {
  mode: string;
  offered: number;
  deliveries: number;
  expected: number;
  deliveriesPerSecond: number;
  serverCpuPer1kDeliveries: number;
  latencyMs: LatencySummary;
}

const modes = ["per-socket", "broadcast"] as const;

/**
 * A knob measured in isolation: the cost of a replica's fan-out write path when each member gets
 * its own emit (today's RoomFanout) versus one room broadcast that encodes the packet once.
 */
export async function fanoutSuite(ctx: BenchContext): Promise<SuiteResult> {
  const clients = pick(ctx, 300, 60);
  const rooms = pick(ctx, 10, 4);
  const loads = pick(ctx, [200, 800], [100]);
  const seconds = pick(ctx, 6, 1.5);
  const rows: Row[] = [];
  for (const mode of modes) {
    for (const offered of loads) {
      const port = await freePort();
      const { command, args } = tsNode(join(ctx.repo, "bench/servers/fanout-server.ts"));
      const server = await startService({
        name: `fanout-${mode}`,
        command,
        args,
        cwd: ctx.repo,
        port,
        env: { MODE: mode, PORT: String(port), ROOMS: String(rooms), RATE: String(offered / rooms) },
      });
      const sockets: Socket[] = [];
      const samples = new Samples();
      let deliveries = 0;
      try {
        for (let i = 0; i < clients; i++) {
          const socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true, reconnection: false });
          socket.on("message", (payload: { message: string }) => {
            deliveries++;
            samples.add(nowMs() - Number(payload.message.split("|")[2]));
          });
          await new Promise<void>((resolve, reject) => {
            socket.once("connect", resolve);
            socket.once("connect_error", reject);
          });
          socket.emit("join_room", `room-${i % rooms}`);
          sockets.push(socket);
        }
        await sleep(500);
        const meter = cpuMeter([server.pid]);
        sockets[0]!.emit("start", seconds);
        await sleep(seconds * 1000);
        const cpu = meter.stop();
        const expected = Math.floor(seconds * offered) * (clients / rooms);
        const deadline = Date.now() + 10_000;
        while (deliveries < expected && Date.now() < deadline) await sleep(100);
        const row: Row = {
          mode,
          offered,
          deliveries,
          expected,
          deliveriesPerSecond: Math.round(deliveries / seconds),
          serverCpuPer1kDeliveries: round((cpu.perProcess[0]! / Math.max(1, deliveries)) * 1000),
          latencyMs: samples.summary(),
        };
        rows.push(row);
        ctx.log(`fanout ${mode} ${offered} msg/s: ${deliveries}/${expected} delivered, ${row.serverCpuPer1kDeliveries} CPU s / 1k, p99 ${row.latencyMs.p99} ms`);
      } finally {
        for (const s of sockets) s.close();
        await server.stop();
      }
    }
  }
  const table: Table = {
    title: `One replica's fan-out write path: ${clients} clients in ${rooms} rooms, no Redis`,
    columns: ["mode", "offered msg/s", "delivered", "deliveries/s", "server CPU s / 1k deliveries", "vs per-socket", "p50 ms", "p99 ms"],
    rows: rows.map((r) => {
      const base = rows.find((x) => x.mode === "per-socket" && x.offered === r.offered);
      return [r.mode, r.offered, `${fmt(r.deliveries)}/${fmt(r.expected)}`, fmt(r.deliveriesPerSecond), fmt(r.serverCpuPer1kDeliveries, 3), base ? ratio(r.serverCpuPer1kDeliveries, base.serverCpuPer1kDeliveries) : "", fmt(r.latencyMs.p50), fmt(r.latencyMs.p99)];
    }),
  };
  return {
    id: "fanout",
    title: "Knob: per-socket emit vs room broadcast",
    method:
      `bench/servers/fanout-server.ts emits the handout's message payload to rooms from a timer, either with one socket.emit per member (as websocket-chat's RoomFanout delivers today, ` +
      `to keep each socket's position) or with one io.local.to(room).emit, which encodes once and reuses the WebSocket frame. Same clients, same load; CPU of the server process from /proc.`,
    tables: [table],
    charts: [
      {
        file: "fanout-knob.svg",
        title: "Fan-out CPU per 1,000 deliveries: per-socket emit vs broadcast",
        unit: "CPU s / 1k deliveries",
        groups: loads.map((l) => `${l} msg/s`),
        series: modes.map((m) => ({ name: m, values: loads.map((l) => rows.find((r) => r.mode === m && r.offered === l)?.serverCpuPer1kDeliveries ?? null) })),
      },
    ],
    targets: [],
    notes: [],
    raw: { clients, rooms, loads, seconds, rows },
  };
}
