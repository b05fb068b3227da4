// One worker thread of the chat load generator. It owns a slice of the clients (handout protocol:
// join_room, message), sends its share of the offered load, and records the end-to-end latency of
// every delivery from the send time carried inside the message text. Same code for both servers.
import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { io, type Socket } from "socket.io-client";
import { nowMs } from "../lib/stats.js";

export interface ChatLoadSetup {
  worker: number;
  urls: string[];
  /** Global index of this worker's first client, and how many it owns. */
  first: number;
  count: number;
  totalClients: number;
  rooms: number;
  /** Room name prefix, unique per run. */
  prefix: string;
}

export type ToWorker =
  | { type: "probe" }
  | { type: "run"; phase: number; rate: number; startAt: number; warmupMs: number; durationMs: number }
  | { type: "count" }
  | { type: "collect"; phase: number }
  | { type: "close" };

export type FromWorker =
  | { type: "ready"; connected: number; failed: number; error?: string }
  | { type: "probed"; missing: number }
  | { type: "sent"; sent: number; expected: number; sentMeasured: number }
  | { type: "counted"; received: number }
  /** `sentAt[i]` is when the message of `latencies[i]` was sent (nowMs), to see when the slow ones happened. */
  | { type: "collected"; received: number; receivedMeasured: number; late: number; errors: number; latencies: Float64Array; sentAt: Float64Array }
  | { type: "closed" };

const setup = workerData as ChatLoadSetup;
const port = parentPort!;
const sockets: Socket[] = [];
const roomOf = (g: number) => g % setup.rooms;
const members = (room: number) => Math.floor(setup.totalClients / setup.rooms) + (room < setup.totalClients % setup.rooms ? 1 : 0);

let phase = -1;
let measureFrom = Infinity;
let measureTo = Infinity;
let received = 0;
let receivedMeasured = 0;
let late = 0;
let errors = 0;
let latencies = new Float64Array(1 << 16);
let sentTimes = new Float64Array(1 << 16);
let latencyCount = 0;
const probed = new Set<number>();

function record(ms: number, sentAt: number): void {
  if (latencyCount === latencies.length) {
    const grow = (values: Float64Array) => {
      const grown = new Float64Array(values.length * 2);
      grown.set(values);
      return grown;
    };
    latencies = grow(latencies);
    sentTimes = grow(sentTimes);
  }
  sentTimes[latencyCount] = sentAt;
  latencies[latencyCount++] = ms;
}

/** Message text: `b|<phase>|<sendTimeMs>|<worker>` then padding to a typical chat line length. */
function onMessage(local: number, payload: { message?: string }): void {
  const text = payload?.message ?? "";
  if (text.startsWith("probe|")) {
    if (Number(text.split("|")[1]) === roomOf(setup.first + local)) probed.add(local);
    return;
  }
  if (!text.startsWith("b|")) return;
  const [, phaseText, sentText] = text.split("|");
  if (Number(phaseText) !== phase) {
    late++;
    return;
  }
  const sentAt = Number(sentText);
  received++;
  if (sentAt >= measureFrom && sentAt < measureTo) {
    receivedMeasured++;
    record(nowMs() - sentAt, sentAt);
  }
}

async function connectAll(): Promise<{ connected: number; failed: number; error?: string }> {
  let connected = 0;
  let failed = 0;
  let error: string | undefined;
  const open = (local: number) =>
    new Promise<void>((resolve) => {
      const g = setup.first + local;
      const socket = io(setup.urls[g % setup.urls.length], { transports: ["websocket"], forceNew: true, reconnection: false, timeout: 20_000 });
      sockets[local] = socket;
      socket.on("message", (payload: { message?: string }) => onMessage(local, payload));
      socket.on("chat:error", () => errors++);
      socket.once("connect", () => {
        connected++;
        socket.emit("join_room", `${setup.prefix}${roomOf(g)}`);
        resolve();
      });
      socket.once("connect_error", (e: Error) => {
        failed++;
        error ??= e.message;
        resolve();
      });
    });
  // A bounded number of handshakes in flight, so the servers' accept queues never overflow.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(50, setup.count) }, async () => {
      while (next < setup.count) await open(next++);
    }),
  );
  return error ? { connected, failed, error } : { connected, failed };
}

/**
 * This worker's first client in each room sends that room a probe; `probe` waits until every
 * local client got its room's. Every worker probes the rooms of its own clients, so the one that
 * resends is always the one still waiting: when only the first worker probed, its resends stopped
 * once its own clients had theirs, and another worker's clients that joined after the first probe
 * waited in vain (seen with 6 replicas, where the joins take longer).
 */
function sendProbes(): void {
  const probedRooms = new Set<number>();
  for (let local = 0; local < setup.count; local++) {
    const room = roomOf(setup.first + local);
    if (probedRooms.has(room)) continue;
    probedRooms.add(room);
    sockets[local]!.emit("message", { room: `${setup.prefix}${room}`, message: `probe|${room}` });
  }
}

async function probe(): Promise<number> {
  sendProbes();
  const deadline = Date.now() + 15_000;
  let resendAt = Date.now() + 1000;
  while (probed.size < setup.count && Date.now() < deadline) {
    await sleep(50);
    // Resend once a second in case a join was still in flight when the probe went out.
    if (Date.now() >= resendAt) {
      resendAt += 1000;
      sendProbes();
    }
  }
  return setup.count - probed.size;
}

async function run(msg: Extract<ToWorker, { type: "run" }>): Promise<void> {
  phase = msg.phase;
  received = receivedMeasured = late = errors = latencyCount = 0;
  measureFrom = msg.startAt + msg.warmupMs;
  measureTo = measureFrom + msg.durationMs;
  const endAt = measureTo;
  while (nowMs() < msg.startAt) await sleep(1);
  let sent = 0;
  let sentMeasured = 0;
  let expected = 0;
  let next = 0;
  const pad = "x".repeat(40);
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowMs();
      const due = Math.min(Math.floor(((Math.min(now, endAt) - msg.startAt) / 1000) * msg.rate), Math.ceil(((endAt - msg.startAt) / 1000) * msg.rate));
      while (sent < due) {
        const local = next++ % setup.count;
        const room = roomOf(setup.first + local);
        const t = nowMs();
        sockets[local]!.emit("message", { room: `${setup.prefix}${room}`, message: `b|${phase}|${t}|${setup.worker}|${pad}` });
        sent++;
        expected += members(room);
        if (t >= measureFrom) sentMeasured++;
      }
      if (now >= endAt) return resolve();
      setTimeout(tick, 2);
    };
    tick();
  });
  port.postMessage({ type: "sent", sent, expected, sentMeasured } satisfies FromWorker);
}

port.on("message", (msg: ToWorker) => {
  void (async () => {
    if (msg.type === "probe") port.postMessage({ type: "probed", missing: await probe() } satisfies FromWorker);
    else if (msg.type === "run") await run(msg);
    else if (msg.type === "count") port.postMessage({ type: "counted", received } satisfies FromWorker);
    else if (msg.type === "collect") {
      const out = latencies.slice(0, latencyCount);
      const sentAt = sentTimes.slice(0, latencyCount);
      port.postMessage({ type: "collected", received, receivedMeasured, late, errors, latencies: out, sentAt } satisfies FromWorker, [out.buffer, sentAt.buffer]);
    } else if (msg.type === "close") {
      for (const socket of sockets) socket?.close();
      port.postMessage({ type: "closed" } satisfies FromWorker);
    }
  })();
});

port.postMessage({ type: "ready", ...(await connectAll()) } satisfies FromWorker);
