/**
 * nginx/grpc.conf, the gRPC front door on :9000 where Envoy's image cannot be had, with Debian's
 * nginx in front of real user-service replicas on loopback: the file passes `nginx -t`, calls on
 * ONE client channel are spread per call, a subscription resumes through the door when its replica
 * goes away, and a quiet stream is not cut by nginx's 60 s defaults.
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUsers, unary, type CreateUserResponse, type GetUserResponse, type UserServiceClient } from "grpc-demo/client";
import { followUserUpdates, startUserReplica, type UserReplica } from "@clusterkit/test-kit/users";
import { nginxBin, startGrpcNginx, startRedis, type TestRedis } from "@clusterkit/test-kit";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const dirs: string[] = [];
const scratch = (name: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), `nginx-grpc-${name}-`));
  dirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("nginx/grpc.conf as shipped", () => {
  it("passes nginx -t", () => {
    // stdout not a pipe: node's pipes are sockets, which nginx cannot open as /dev/stdout (its access log).
    const result = spawnSync(nginxBin(), ["-t", "-c", path.join(repoRoot, "nginx/grpc.conf")], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
    expect(result.stderr).toMatch(/test is successful/);
    expect(result.status).toBe(0);
  });

  it("lets a stream be quiet for more than 10 minutes (nginx's defaults end it after 60 s)", () => {
    const text = readFileSync(path.join(repoRoot, "nginx/grpc.conf"), "utf8");
    const minutes = (directive: string) => {
      const value = new RegExp(`^\\s*${directive} (\\d+)([smh]);`, "m").exec(text);
      if (!value) return 1; // unset: nginx's default, 60 s
      return (Number(value[1]) * { s: 1, m: 60, h: 3600 }[value[2] as "s" | "m" | "h"]) / 60;
    };
    for (const directive of ["grpc_read_timeout", "grpc_send_timeout", "client_body_timeout"]) {
      expect(minutes(directive), directive).toBeGreaterThanOrEqual(10);
    }
  });
});

describe("nginx as the gRPC front door (users x2 on loopback)", () => {
  let redis: TestRedis;
  let replicas: UserReplica[];
  let door: Awaited<ReturnType<typeof startGrpcNginx>>;
  let client: UserServiceClient;

  beforeAll(async () => {
    redis = await startRedis();
    replicas = [
      await startUserReplica({ redisUrl: redis.url, serverId: "users-1" }),
      await startUserReplica({ redisUrl: redis.url, serverId: "users-2" }),
    ];
    door = await startGrpcNginx(scratch("door"), replicas.map((r) => r.target));
    // ONE address: any spreading is nginx's, not the client's round_robin.
    client = await connectUsers(door.target);
  });

  afterAll(async () => {
    client?.close();
    await door?.close();
    for (const replica of replicas ?? []) await replica.close();
    await redis?.close();
  });

  it("spreads the calls of one client channel over both replicas, call by call", async () => {
    const servedBy: string[] = [];
    for (let i = 0; i < 10; i++) servedBy.push((await unary<GetUserResponse>((cb) => client.getUser({ id: 1 }, cb))).servedBy ?? "?");
    expect(new Set(servedBy)).toEqual(new Set(["users-1", "users-2"]));
    expect(servedBy.filter((s) => s === "users-1").length).toBeGreaterThanOrEqual(3);
  });

  it("answers UNIMPLEMENTED for a service it does not route", async () => {
    const raw = new grpc.Client(door.target, grpc.credentials.createInsecure());
    const code = await new Promise<number>((resolve) => {
      raw.makeUnaryRequest("/nope.Service/Call", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (error) => resolve(error?.code ?? 0));
    });
    raw.close();
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it("keeps a subscription going through the door when its replica shuts down: it resumes from its cursor on the other", async () => {
    const updates = followUserUpdates(client, { maxBackoffMs: 200, timeoutMs: 15_000, pollMs: 20 });
    const create = (name: string) => unary<CreateUserResponse>((cb) => client.createUser({ name, email: `${name}@example.com` }, cb));
    try {
      await updates.until(() => updates.opened === 1, "the subscription");
      await create("before");
      await updates.until(() => updates.lines.length === 1, "the first update");

      // SIGTERM's path (what `docker restart` does first): the stream's replica drains and ends it
      // with UNAVAILABLE; the client reopens it through the same door, which now reaches the other.
      const serving = replicas.find((r) => r.server.openSubscriptions > 0);
      expect(serving, "no replica holds the subscription").toBeDefined();
      await serving!.close();
      await updates.until(() => updates.opened === 2, "the resumed subscription");
      await create("after");
      await updates.until(() => updates.lines.length === 2, "the update after the shutdown");
    } finally {
      await updates.stop();
    }
    expect(updates.names()).toEqual(["before", "after"]);
    expect(updates.notes.join("\n")).toMatch(/stream dropped \(UNAVAILABLE.*resuming from \d+-\d+/);
  });
});

describe("nginx/grpc.conf: a quiet stream", () => {
  // Scaled down: grpc_read_timeout 2 s instead of the shipped value, a stream quiet for 4 s.
  const id = (b: Buffer) => b;
  const watch = { path: "/grpc.health.v1.Health/Watch", requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };

  async function quietStream(keepaliveMs: number): Promise<{ code: number; data: string[] }> {
    const server = new grpc.Server({ "grpc.keepalive_time_ms": keepaliveMs, "grpc.keepalive_timeout_ms": 1_000 });
    server.addService({ watch }, {
      watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        call.sendMetadata(new grpc.Metadata()); // the subscription's x-subscription-cursor header
        const timer = setTimeout(() => (call.write(Buffer.from("after 4 s of silence")), call.end()), 4_000);
        call.on("cancelled", () => clearTimeout(timer));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const door = await startGrpcNginx(scratch("quiet"), [`127.0.0.1:${port}`], { grpc_read_timeout: "2s" });
    const raw = new grpc.Client(door.target, grpc.credentials.createInsecure());
    try {
      return await new Promise((resolve) => {
        const data: string[] = [];
        const call = raw.makeServerStreamRequest(watch.path, id, id, Buffer.alloc(0));
        call.on("data", (chunk: Buffer) => data.push(chunk.toString()));
        call.on("error", () => undefined);
        call.on("status", (s: grpc.StatusObject) => resolve({ code: s.code, data }));
      });
    } finally {
      raw.close();
      server.forceShutdown();
      await door.close();
    }
  }

  it("is still delivered to after more than grpc_read_timeout when the replica pings (the kit's replicas: every 30 s)", async () => {
    expect(await quietStream(500)).toEqual({ code: grpc.status.OK, data: ["after 4 s of silence"] });
  });

  it("is cut at grpc_read_timeout when nothing at all comes from the replica", async () => {
    expect((await quietStream(60_000)).code).toBe(grpc.status.INTERNAL);
  });
});

describe("nginx/grpc.conf: a replica that dies with the call in flight", () => {
  let redis: TestRedis;
  let replica: UserReplica;
  let dying: Server;
  let door: Awaited<ReturnType<typeof startGrpcNginx>>;
  let client: UserServiceClient;

  beforeAll(async () => {
    redis = await startRedis();
    replica = await startUserReplica({ redisUrl: redis.url, serverId: "users-1" });
    // Takes the connection and the call, then drops both without a word: a replica SIGKILLed mid-call.
    dying = createServer((socket) => socket.once("data", () => setTimeout(() => socket.destroy(), 50)));
    dying.listen(0, "127.0.0.1");
    await once(dying, "listening");
    const port = (dying.address() as { port: number }).port;
    door = await startGrpcNginx(scratch("dying"), [`127.0.0.1:${port}`, replica.target]);
    client = await connectUsers(door.target);
  });

  afterAll(async () => {
    client?.close();
    await door?.close();
    dying?.close();
    await replica?.close();
    await redis?.close();
  });

  it("ends the call with a trailers-only UNAVAILABLE, which the client retries for reads: every GetUser is answered", async () => {
    for (let i = 0; i < 6; i++) {
      expect((await unary<GetUserResponse>((cb) => client.getUser({ id: 1 }, cb))).servedBy).toBe("users-1");
    }
  });

  it("never sends a write twice: a create that reached the dying replica fails with UNAVAILABLE", async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const name = `once-${i}`;
      outcomes.push(
        await unary<CreateUserResponse>((cb) => client.createUser({ name, email: `${name}@example.com` }, cb)).then(
          () => "created",
          (error: grpc.ServiceError) => grpc.status[error.code],
        ),
      );
    }
    // Round robin: half of them went to the dying replica first.
    expect(outcomes.filter((o) => o === "created").length).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((o) => o === "UNAVAILABLE").length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o === "created" || o === "UNAVAILABLE")).toBe(true);
  });
});
