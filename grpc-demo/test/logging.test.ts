import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "../../test-support/redis-server.js";
import { connectUsers, unary, type UserServiceClient } from "../src/client/index.js";
import { startUserReplica, type UserReplica } from "./support/user-replica.js";

const lines: Array<Record<string, unknown>> = [];
let redis: TestRedis;
let replica: UserReplica;
let client: UserServiceClient;

beforeAll(async () => {
  redis = await startRedis();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  replica = await startUserReplica({ redisUrl: redis.url, serverId: "users-log", logger: pino({ level: "info" }, sink) });
  client = await connectUsers(replica.target);
});
afterAll(async () => {
  client.close();
  await replica.close();
  await redis.close();
});

describe("the logging interceptor", () => {
  it("writes one structured line per call with method, code, duration and replica", async () => {
    await unary((cb) => client.getUser({ id: 1 }, cb));
    await unary((cb) => client.getUser({ id: 77 }, cb)).catch(() => undefined);
    const rpcs = lines.filter((l) => l.msg === "rpc");
    expect(rpcs).toEqual([
      expect.objectContaining({ method: "/userservice.v1.UserService/GetUser", code: "OK", replica: "users-log", level: 30 }),
      expect.objectContaining({
        method: "/userservice.v1.UserService/GetUser",
        code: "NOT_FOUND",
        details: "user 77 not found",
        level: 40,
      }),
    ]);
    for (const line of rpcs) expect(typeof line.ms).toBe("number");
  });
});
