// A child process of the connection-capacity benchmark: opens its share of idle Socket.IO clients
// (handout protocol: connect, join_room) and reports to the parent over IPC. Separate processes,
// not threads, because each process has its own open-files limit.
import { io, type Socket } from "socket.io-client";
import { nowMs } from "../lib/stats.js";

export type ToIdle = { type: "open"; urls: string[]; count: number; offset: number; room: string; inFlight: number } | { type: "count" } | { type: "close" };
export type FromIdle =
  | { type: "opened"; connected: number; failed: number; error?: string; ms: number }
  | { type: "counted"; received: number; lastAt: number; disconnected: number }
  | { type: "closed" };

const sockets: Socket[] = [];
let received = 0;
let lastAt = 0;
let disconnected = 0;
const send = (message: FromIdle) => process.send!(message);

async function open(msg: Extract<ToIdle, { type: "open" }>): Promise<void> {
  const started = nowMs();
  let connected = 0;
  let failed = 0;
  let error: string | undefined;
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const socket = io(msg.urls[(msg.offset + i) % msg.urls.length], { transports: ["websocket"], forceNew: true, reconnection: false, timeout: 60_000 });
      sockets.push(socket);
      socket.on("message", (payload: { message?: string }) => {
        if (!payload?.message?.startsWith("broadcast|")) return;
        received++;
        lastAt = nowMs();
      });
      socket.once("connect", () => {
        connected++;
        socket.emit("join_room", msg.room);
        socket.once("disconnect", () => disconnected++);
        resolve();
      });
      socket.once("connect_error", (e: Error) => {
        failed++;
        error ??= e.message;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: Math.min(msg.inFlight, msg.count) }, async () => {
      while (next < msg.count) await one(next++);
    }),
  );
  send({ type: "opened", connected, failed, ms: nowMs() - started, ...(error ? { error } : {}) });
}

process.on("message", (msg: ToIdle) => {
  if (msg.type === "open") void open(msg);
  else if (msg.type === "count") send({ type: "counted", received, lastAt, disconnected });
  else if (msg.type === "close") {
    for (const socket of sockets) socket.close();
    send({ type: "closed" });
    setTimeout(() => process.exit(0), 100);
  }
});
process.on("disconnect", () => process.exit(0));
