// One chat replica's fan-out write path, isolated (no Redis, no handlers), to measure the knobs
// that act on it. Every client joins a room; on "start" the server itself emits RATE messages per
// second to each room, the handout's message payload, either
//   MODE=per-socket  one socket.emit per member (how RoomFanout delivers to a socket that is still
//                    catching up, before it joins its room's live set), or
//   MODE=broadcast   one io.local.to(room).emit per message (how RoomFanout delivers to live
//                    sockets): Socket.IO encodes the packet once and engine.io reuses the
//                    encoded WebSocket frame for every member.
// Knobs, each off by default:
//   PARSER=msgpack      socket.io-msgpack-parser instead of JSON (clients must use it too)
//   DEFLATE=1           permessage-deflate on the WebSocket (compresses each frame)
//   TRANSPORTS=websocket  refuse HTTP long-polling (default: polling and websocket, as Socket.IO ships)
// Env: MODE, PORT, ROOMS, RATE (messages per second per room).
import { createServer } from "node:http";
import { Server, type ServerOptions, type Socket } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

function main(): void {
  const mode = process.env.MODE ?? "broadcast";
  const rooms = Number(process.env.ROOMS ?? 10);
  const rate = Number(process.env.RATE ?? 10);
  const options: Partial<ServerOptions> = {
    transports: process.env.TRANSPORTS === "websocket" ? ["websocket"] : ["polling", "websocket"],
    perMessageDeflate: process.env.DEFLATE === "1" ? { threshold: 0 } : false,
    ...(process.env.PARSER === "msgpack" ? { parser: msgpackParser } : {}),
  };
  const http = createServer();
  const io = new Server(http, options);
  const members = new Map<string, Set<Socket>>();

  const run = (seconds: number) => {
    const started = performance.now();
    let sent = 0;
    const emitOnce = (room: string) => {
      const payload = { user: "bench", message: `b|0|${performance.timeOrigin + performance.now()}|${sent}|${"x".repeat(40)}`, server: "fanout", timestamp: new Date().toISOString() };
      if (mode === "broadcast") io.local.to(room).emit("message", payload);
      else for (const socket of members.get(room) ?? []) socket.emit("message", payload);
    };
    const tick = () => {
      const elapsed = (performance.now() - started) / 1000;
      const due = Math.floor(Math.min(elapsed, seconds) * rate * rooms);
      while (sent < due) emitOnce(`room-${sent++ % rooms}`);
      if (elapsed < seconds) setTimeout(tick, 2);
    };
    tick();
  };

  io.on("connection", (socket) => {
    socket.on("join_room", (room: string, ack?: () => void) => {
      void socket.join(room);
      let set = members.get(room);
      if (!set) members.set(room, (set = new Set()));
      set.add(socket);
      socket.once("disconnect", () => set.delete(socket));
      ack?.();
    });
    socket.on("start", (seconds: number) => run(seconds));
  });

  http.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
  process.on("SIGTERM", () => process.exit(0));
}

main();
