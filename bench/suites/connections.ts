import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { io } from "socket.io-client";
import { pick, type BenchContext } from "../lib/context.js";
import { cpuMeter, rssKb } from "../lib/processes.js";
import { fmt, type SuiteResult, type Table } from "../lib/report.js";
import { median, round, nowMs } from "../lib/stats.js";
import { chatSides, type ChatSide } from "./chat.js";
import type { FromIdle, ToIdle } from "../workers/idle-clients.js";

interface CapacityRow {
  side: string;
  target: number;
  connected: number;
  failed: number;
  connectSeconds: number;
  connectsPerSecond: number;
  /** Sum of the replicas' RSS growth divided by the connections held. */
  kbPerConnection: number;
  rssMbBefore: number[];
  rssMbAfter: number[];
  connectCpuSeconds: number;
  broadcastReached: number;
  broadcastMs: number;
  droppedWhileIdle: number;
  error?: string;
}

function request<T extends FromIdle["type"]>(child: ChildProcess, message: ToIdle, reply: T, timeoutMs: number): Promise<Extract<FromIdle, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", on);
      reject(new Error(`client process gave no '${reply}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: FromIdle) => {
      if (m.type !== reply) return;
      clearTimeout(timer);
      child.off("message", on);
      resolve(m as Extract<FromIdle, { type: T }>);
    };
    child.on("message", on);
    child.send(message);
  });
}

/**
 * Part 2: idle clients across 3 replicas up to 20,000 (in quick mode 1,000), opened by several
 * client processes (each has its own open-files limit); memory per connection from the replicas'
 * RSS, connect rate, and whether one broadcast still reaches every one of them.
 */
export async function connectionsSuite(ctx: BenchContext): Promise<SuiteResult> {
  const target = pick(ctx, 20_000, 1_000);
  const processes = pick(ctx, 4, 2);
  const rows: CapacityRow[] = [];
  for (const side of chatSides(ctx, {})) rows.push(await capacity(ctx, side, target, processes));
  // Memory per idle socket at the issue's size (5,000), each side in turn, `--runs` times: RSS
  // growth is noisy (heap growth steps, GC timing), so the target is the median of the runs.
  const memoryRows: CapacityRow[] = [];
  const memoryTarget = pick(ctx, 5_000, 500);
  for (let run = 0; run < ctx.runs; run++) for (const side of chatSides(ctx, {})) memoryRows.push(await capacity(ctx, side, memoryTarget, 2));
  const kb = (side: string) => median(memoryRows.filter((r) => r.side === side).map((r) => r.kbPerConnection));
  const table: Table = {
    title: `Idle connections: ${target.toLocaleString("en-US")} clients over 3 replicas`,
    columns: ["side", "connected", "failed", "connect s", "connects/s", "KB / connection", "replica RSS MB before", "after", "connect CPU s", "broadcast reached", "broadcast ms", "dropped while idle"],
    rows: rows.map((r) => [
      r.side,
      fmt(r.connected),
      r.failed,
      fmt(r.connectSeconds),
      fmt(r.connectsPerSecond),
      fmt(r.kbPerConnection),
      r.rssMbBefore.map((m) => fmt(m, 0)).join(" / "),
      r.rssMbAfter.map((m) => fmt(m, 0)).join(" / "),
      fmt(r.connectCpuSeconds),
      `${fmt(r.broadcastReached)}/${fmt(r.connected)}`,
      fmt(r.broadcastMs),
      r.droppedWhileIdle,
    ]),
  };
  const ours = rows.find((r) => r.side === "ours");
  return {
    id: "connections",
    title: "Connection capacity",
    method:
      `${processes} client processes open ${target.toLocaleString("en-US")} idle Socket.IO clients (WebSocket transport, at most 100 handshakes in flight per process) spread evenly over 3 replicas; each joins one room. ` +
      `KB per connection is the growth of the replicas' RSS divided by the connections held; then one more client sends one message to that room and every client counts it.`,
    tables: [
      table,
      {
        title: `Memory per idle socket: ${memoryTarget.toLocaleString("en-US")} clients over 3 replicas, ${ctx.runs} run(s) per side`,
        columns: ["run", "side", "connected", "KB / connection", "replica RSS MB before", "after"],
        rows: memoryRows.map((r, i) => [Math.floor(i / 2) + 1, r.side, fmt(r.connected), fmt(r.kbPerConnection), r.rssMbBefore.map((m) => fmt(m, 0)).join(" / "), r.rssMbAfter.map((m) => fmt(m, 0)).join(" / ")]),
      },
    ],
    charts: [
      { file: "connections-kb.svg", title: "Replica memory per idle connection", unit: "KB", groups: ["KB / connection"], series: rows.map((r) => ({ name: r.side, values: [r.kbPerConnection] })) },
      { file: "connections-rate.svg", title: "Connect rate", unit: "connections/s", groups: ["connects/s"], series: rows.map((r) => ({ name: r.side, values: [r.connectsPerSecond] })) },
    ],
    targets: [
      {
        name: `${target.toLocaleString("en-US")} concurrent clients`,
        goal: ctx.quick ? "quick run: 1,000 (full run: 20,000)" : "20,000 on 2 cores, broadcast reaches all",
        measured: ours ? `${fmt(ours.connected)} connected, ${fmt(ours.kbPerConnection)} KB each, broadcast reached ${fmt(ours.broadcastReached)}` : "–",
        met: ours ? ours.connected === target && ours.broadcastReached === target && ours.droppedWhileIdle === 0 : undefined,
      },
      {
        name: "Memory per idle socket",
        goal: "≤ the peer's",
        measured: memoryRows.some((r) => r.side === "peer")
          ? `${fmt(kb("ours"))} vs ${fmt(kb("peer"))} KB per connection (median of ${ctx.runs} run(s) of ${memoryTarget.toLocaleString("en-US")} clients)`
          : "–",
        met: memoryRows.some((r) => r.side === "peer") ? kb("ours") <= kb("peer") : undefined,
      },
    ],
    notes: ctx.quick ? ["quick mode: 1,000 clients"] : [],
    raw: { target, processes, rows, memoryTarget, memoryRows },
  };
}

async function capacity(ctx: BenchContext, side: ChatSide, target: number, processes: number): Promise<CapacityRow> {
  const { cluster: running, replicas } = await side.start();
  const urls = replicas.map((r) => `http://127.0.0.1:${r.port}`);
  const room = `idle-${Date.now().toString(36)}`;
  const entry = fileURLToPath(new URL("../workers/idle-clients.ts", import.meta.url));
  const children = Array.from({ length: processes }, () => fork(entry, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  try {
    await sleep(pick(ctx, 2000, 500));
    const rssBefore = replicas.map((r) => rssKb(r.pid));
    const meter = cpuMeter(replicas.map((r) => r.pid));
    const started = nowMs();
    const share = Math.ceil(target / processes);
    const opened = await Promise.all(
      children.map((child, i) =>
        request(child, { type: "open", urls, count: Math.min(share, target - i * share), offset: i, room, inFlight: 100 }, "opened", 600_000),
      ),
    );
    const connectSeconds = (nowMs() - started) / 1000;
    const cpu = meter.stop();
    const connected = opened.reduce((a, o) => a + o.connected, 0);
    const failed = opened.reduce((a, o) => a + o.failed, 0);
    ctx.log(`connections ${side.name}: ${connected}/${target} connected in ${round(connectSeconds)} s${failed ? `, ${failed} failed (${opened.find((o) => o.error)?.error})` : ""}`);
    // Let joins land and allocations settle before reading memory.
    await sleep(pick(ctx, 3000, 1000));
    const rssAfter = replicas.map((r) => rssKb(r.pid));
    const growthKb = rssAfter.reduce((a, v) => a + v, 0) - rssBefore.reduce((a, v) => a + v, 0);

    const sender = io(urls[0], { transports: ["websocket"], forceNew: true, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      sender.once("connect", resolve);
      sender.once("connect_error", reject);
    });
    sender.emit("join_room", room);
    await sleep(500);
    const sentAt = nowMs();
    sender.emit("message", { room, message: `broadcast|${sentAt}` });
    // Wait until every client has it, or nothing new arrives for 3 s (bounded at 30 s).
    const countAll = () => Promise.all(children.map((c) => request(c, { type: "count" }, "counted", 10_000)));
    let counts = await countAll();
    let reached = 0;
    let stableSince = Date.now();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const total = counts.reduce((a, c) => a + c.received, 0);
      if (total !== reached) stableSince = Date.now();
      reached = total;
      if (reached >= connected || Date.now() > deadline || Date.now() - stableSince > 3000) break;
      await sleep(250);
      counts = await countAll();
    }
    sender.close();
    const lastAt = Math.max(...counts.map((c) => c.lastAt));
    ctx.log(`connections ${side.name}: broadcast reached ${reached}/${connected} in ${round(lastAt - sentAt)} ms`);
    const row: CapacityRow = {
      side: side.name,
      target,
      connected,
      failed,
      connectSeconds: round(connectSeconds),
      connectsPerSecond: Math.round(connected / connectSeconds),
      kbPerConnection: round(growthKb / Math.max(1, connected)),
      rssMbBefore: rssBefore.map((k) => round(k / 1024)),
      rssMbAfter: rssAfter.map((k) => round(k / 1024)),
      connectCpuSeconds: round(cpu.total),
      broadcastReached: reached,
      broadcastMs: round(lastAt > 0 ? lastAt - sentAt : 0),
      droppedWhileIdle: counts.reduce((a, c) => a + c.disconnected, 0),
    };
    const error = opened.find((o) => o.error)?.error;
    return error ? { ...row, error } : row;
  } finally {
    await Promise.all(children.map((c) => request(c, { type: "close" }, "closed", 30_000).catch(() => c.kill("SIGKILL"))));
    await running.stop();
  }
}
