import { status, type ServiceError } from "@grpc/grpc-js";
import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "@clusterkit/test-kit";
import { connectUsers, HealthChecker, unary, type UserServiceClient } from "../src/client/index.js";
import { userKeys } from "../src/store/user-keys.js";
import { NAME_MAX_LENGTH, validEmail } from "../src/store/user-validation.js";
import { useUserCluster } from "./support/user-cluster.js";
import { rawUnaryClient } from "./support/raw-unary.js";

/*
 * Hostile input against two replicas: random fields (huge, empty, control characters, lone
 * surrogates, out-of-range ids), raw garbage bytes where a protobuf message belongs, and a burst
 * of streams opened and dropped. Afterwards both replicas must still serve, and every stored
 * user must be valid with a consistent email index. FUZZ_SEED / FUZZ_ITERATIONS replay or
 * lengthen a run (scripts/fuzz.sh runs a long one).
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261122);
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 400);
const random = new SeededRandom(seed);
const cluster = useUserCluster(2);

const ALLOWED = new Set([status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.ALREADY_EXISTS, status.RESOURCE_EXHAUSTED]);

function randomId(): number {
  return random.pick([0, -1, 1, 2, 3, 2147483647, -2147483648, random.int(-100, 1000)]);
}

function randomCall(client: UserServiceClient): Promise<unknown> {
  const name = random.hostileString(2000);
  const email = random.chance(0.3) ? `${random.hostileString(30)}@example.com` : random.hostileString(300);
  switch (random.int(0, 5)) {
    case 0:
      return unary((cb) => client.createUser({ name, email }, cb));
    case 1:
      return unary((cb) => client.updateUser({ id: randomId(), name: random.chance(0.5) ? name : undefined, email: random.chance(0.5) ? email : undefined }, cb));
    case 2:
      return unary((cb) => client.getUser({ id: randomId() }, cb));
    case 3:
      return unary((cb) => client.deleteUser({ id: random.chance(0.9) ? random.int(1000, 5000) : randomId() }, cb));
    case 4:
      return new Promise((resolve, reject) => {
        const call = client.listUsers({ pageSize: random.int(-5, 20), pageToken: random.chance(0.5) ? random.hostileString(40) : "", nameFilter: random.hostileString(200) });
        call.on("data", () => undefined);
        call.on("error", reject);
        call.on("end", resolve);
      });
    default:
      return new Promise((resolve, reject) => {
        const call = client.subscribeToUpdates({ sinceCursor: random.hostileString(60) });
        call.on("data", () => undefined);
        call.on("error", (error: ServiceError) => (error.code === status.CANCELLED ? resolve(undefined) : reject(error)));
        call.on("metadata", () => call.cancel());
      });
  }
}

describe(`fuzzing the gRPC surface (seed ${seed}, ${iterations} calls)`, () => {
  it("answers every random call with a clear status and never an internal error", { timeout: 60_000 }, async () => {
    const codes = new Map<string, number>();
    for (let i = 0; i < iterations; i += 1) {
      const client = cluster.clients[i % 2]!;
      const code = await randomCall(client).then(
        () => status.OK,
        (error: ServiceError) => {
          if (!ALLOWED.has(error.code) && error.code !== status.OUT_OF_RANGE) {
            throw new Error(`call ${i} (seed ${seed}) got ${status[error.code]}: ${error.details}`);
          }
          return error.code;
        },
      );
      codes.set(status[code], (codes.get(status[code]) ?? 0) + 1);
    }
    expect(codes.get("INVALID_ARGUMENT")).toBeGreaterThan(0);
    expect([...codes.values()].reduce((a, b) => a + b, 0)).toBe(iterations);
  });

  it("survives garbage bytes in place of protobuf messages", async () => {
    const raw = rawUnaryClient(cluster.replicas[0]!.target, "/userservice.v1.UserService/CreateUser");
    for (let i = 0; i < 50; i += 1) {
      const bytes = random.bytes(2048);
      const error = await raw.call(bytes);
      // Bytes that happen to decode as a valid request may create a user; otherwise a clear error.
      if (error) expect([status.INTERNAL, status.INVALID_ARGUMENT, status.ALREADY_EXISTS]).toContain(error.code);
    }
    raw.close();
  });

  it("takes a burst of 300 streams opened and dropped without leaking them", async () => {
    // Two connections per replica: one holds at most GRPC_MAX_CONCURRENT_STREAMS (100) at once.
    const connections = await Promise.all(
      [0, 1, 0, 1].map((i) => connectUsers(cluster.replicas[i]!.target, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } })),
    );
    const calls = Array.from({ length: 300 }, (_, i) => {
      const call = connections[i % 4]!.subscribeToUpdates({ sinceCursor: "" });
      call.on("error", () => undefined);
      return call;
    });
    await Promise.all(calls.map((call) => new Promise((resolve) => call.once("metadata", resolve))));
    for (const call of calls) call.cancel();
    const started = Date.now();
    while (cluster.replicas.some((r) => r.server.openSubscriptions > 0)) {
      if (Date.now() - started > 5000) throw new Error("subscriptions were not released");
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const connection of connections) connection.close();
  });

  it("leaves both replicas serving and only valid, consistent users stored", async () => {
    for (const replica of cluster.replicas) {
      const health = new HealthChecker(replica.target);
      expect(await health.check()).toBe("SERVING");
      health.close();
    }
    const redis = createClient({ url: cluster.redis.url });
    await redis.connect();
    const ids = await redis.zRange(userKeys.ids, 0, -1);
    const byEmail = await redis.hGetAll(userKeys.byEmail);
    expect(Object.keys(byEmail)).toHaveLength(ids.length);
    for (const id of ids) {
      const user = await redis.hGetAll(`${userKeys.userPrefix}${id}`);
      expect(user.name!.trim()).toBe(user.name);
      expect([...user.name!].length).toBeGreaterThan(0);
      expect([...user.name!].length).toBeLessThanOrEqual(NAME_MAX_LENGTH);
      expect(validEmail(user.email!)).toBe(user.email);
      expect(byEmail[user.email!.toLowerCase()]).toBe(id);
    }
    await redis.quit();
  });
});
