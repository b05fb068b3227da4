import { Writable } from "node:stream";
import { pino, type Level } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "@clusterkit/test-kit";
import { connectUsers, unary, type UserServiceClient } from "../src/client/index.js";
import { startUserReplica, type UserReplica } from "@clusterkit/test-kit/users";

type Line = Record<string, unknown>;
let redis: TestRedis;
const opened: { replica: UserReplica; client: UserServiceClient }[] = [];

/** A replica logging at `level` into an array, and a client of it. */
async function replicaLoggingAt(level: Level, serverId: string) {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  const replica = await startUserReplica({ redisUrl: redis.url, serverId, logger: pino({ level }, sink) });
  const client = await connectUsers(replica.target);
  opened.push({ replica, client });
  return { lines, client };
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const { replica, client } of opened) {
    client.close();
    await replica.close();
  }
  await redis.close();
});

describe("the logging interceptor", () => {
  it("at LOG_LEVEL=debug, writes one structured line per call with method, code, duration and replica", async () => {
    const { lines, client } = await replicaLoggingAt("debug", "users-log");
    await unary((cb) => client.getUser({ id: 1 }, cb));
    await unary((cb) => client.getUser({ id: 77 }, cb)).catch(() => undefined);
    const rpcs = lines.filter((l) => l.msg === "rpc");
    expect(rpcs).toEqual([
      expect.objectContaining({ method: "/userservice.v1.UserService/GetUser", code: "OK", replica: "users-log", level: 20 }),
      expect.objectContaining({
        method: "/userservice.v1.UserService/GetUser",
        code: "NOT_FOUND",
        details: "user 77 not found",
        level: 40,
      }),
    ]);
    for (const line of rpcs) expect(typeof line.ms).toBe("number");
  });

  it("at the default LOG_LEVEL=info, logs failed calls only", async () => {
    const { lines, client } = await replicaLoggingAt("info", "users-quiet");
    await unary((cb) => client.getUser({ id: 1 }, cb));
    await unary((cb) => client.getUser({ id: 78 }, cb)).catch(() => undefined);
    expect(lines.filter((l) => l.msg === "rpc")).toEqual([expect.objectContaining({ code: "NOT_FOUND", details: "user 78 not found", level: 40 })]);
  });
});
