// The fan-out write path of one chat replica, isolated (no Redis, no handlers): every client joins a
// room, and the server itself emits RATE messages per second to each room, either
//   MODE=per-socket  one socket.emit per member (what a replica does when it tracks each socket's
//                    position in the room, as websocket-chat's RoomFanout does today), or
//   MODE=broadcast   one io.local.to(room).emit per message: Socket.IO encodes the packet once and
//                    engine.io reuses the encoded WebSocket frame for every member.
// Env: MODE, PORT, ROOMS, RATE (messages per second per room). Starts emitting on "start" from a client.
import { createServer } from "node:http";
import { Server } from "socket.io";

const mode = process.env.MODE ?? "per-socket";
const rooms = Number(process.env.ROOMS ?? 10);
const rate = Number(process.env.RATE ?? 10);
const http = createServer();
const io = new Server(http, { transports: ["websocket"] });
const members = new Map<string, Set<import("socket.io").Socket>>();

io.on("connection", (socket) => {
  socket.on("join_room", (room: string) => {
    void socket.join(room);
    let set = members.get(room);
    if (!set) members.set(room, (set = new Set()));
    set.add(socket);
    socket.once("disconnect", () => set.delete(socket));
  });
  socket.on("start", (seconds: number) => run(seconds));
});

let seq = 0;
function emitOnce(room: string): void {
  const payload = { user: "bench", message: `b|0|${performance.timeOrigin + performance.now()}|${seq++}|${"x".repeat(40)}`, server: "fanout", timestamp: new Date().toISOString() };
  if (mode === "broadcast") io.local.to(room).emit("message", payload);
  else for (const socket of members.get(room) ?? []) socket.emit("message", payload);
}

function run(seconds: number): void {
  const started = performance.now();
  let sent = 0;
  const tick = () => {
    const elapsed = (performance.now() - started) / 1000;
    const due = Math.floor(Math.min(elapsed, seconds) * rate * rooms);
    while (sent < due) emitOnce(`room-${sent++ % rooms}`);
    if (elapsed < seconds) setTimeout(tick, 2);
  };
  tick();
}

http.listen(Number(process.env.PORT ?? 0), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
