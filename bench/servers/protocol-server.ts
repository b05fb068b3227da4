// One process serving "get user" over one protocol, for the REST vs gRPC vs WebSocket comparison.
// Every mode reads the same Redis through the kit's own store (RedisUserStore.get), so the rows
// differ only in the protocol stack: express JSON over HTTP/1.1 keep-alive, gRPC unary, or a
// Socket.IO event with an acknowledgement over a WebSocket.
//
// Env: MODE=rest|grpc|socketio, PORT, REDIS_URL.
import { Server as GrpcServer, ServerCredentials, loadPackageDefinition, status, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import express from "express";
import { createServer } from "node:http";
import { join } from "node:path";
import { createClient } from "redis";
import { Server as SocketServer } from "socket.io";
import { RedisUserStore } from "../../grpc-demo/src/store/user-store.js";
import type { UserRecord } from "grpc-demo/events";

const mode = process.env.MODE ?? "rest";
const port = Number(process.env.PORT ?? 0);
const redis = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
await redis.connect();
const store = new RedisUserStore(redis, { origin: `bench-${mode}`, eventsRetention: 10_000 });

const toJson = (u: UserRecord) => ({ id: u.id, name: u.name, email: u.email, created_at: u.createdAt });

if (mode === "rest") {
  const app = express();
  app.get("/users/:id", async (req, res) => {
    try {
      res.json(toJson(await store.get(Number(req.params.id))));
    } catch (error) {
      res.status(404).json({ error: String(error) });
    }
  });
  createServer(app).listen(port, "127.0.0.1");
} else if (mode === "socketio") {
  const http = createServer();
  const io = new SocketServer(http, { transports: ["websocket"] });
  io.on("connection", (socket) => {
    socket.on("get_user", async (id: number, ack: (reply: unknown) => void) => {
      try {
        ack({ user: toJson(await store.get(id)) });
      } catch (error) {
        ack({ error: String(error) });
      }
    });
  });
  http.listen(port, "127.0.0.1");
} else if (mode === "grpc") {
  const definition = loadSync(join(import.meta.dirname, "../../proto/userservice/handout.proto"));
  const pkg = loadPackageDefinition(definition) as unknown as { userservice: { UserService: { service: never } } };
  const server = new GrpcServer();
  server.addService(pkg.userservice.UserService.service, {
    getUser: (call: ServerUnaryCall<{ id: number }, unknown>, callback: sendUnaryData<unknown>) => {
      store.get(call.request.id).then(
        (user) => callback(null, toJson(user)),
        (error: unknown) => callback({ code: status.NOT_FOUND, details: String(error) }),
      );
    },
  });
  server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => {
    if (error) throw error;
  });
} else {
  throw new Error(`MODE must be rest, grpc or socketio, not '${mode}'`);
}

process.on("SIGTERM", () => process.exit(0));
