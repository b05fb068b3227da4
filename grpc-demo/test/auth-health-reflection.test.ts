import { fileURLToPath } from "node:url";
import { credentials, loadPackageDefinition, status, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectUsers,
  HealthChecker,
  unary,
  type CreateUserResponse,
  type GetUserResponse,
  type ServingStatus,
  type UserServiceClient,
} from "../src/client/index.js";
import { startUserCluster, type UserCluster } from "./support/user-cluster.js";

const TOKEN = "s3cret-token";
let cluster: UserCluster;
let withToken: UserServiceClient;
let anonymous: UserServiceClient;
let wrongToken: UserServiceClient;

beforeAll(async () => {
  cluster = await startUserCluster(2, { authToken: TOKEN });
  withToken = cluster.clients[0]!;
  anonymous = await connectUsers(cluster.replicas[1]!.target);
  wrongToken = await connectUsers(cluster.replicas[0]!.target, { token: "guess" });
});
afterAll(async () => {
  anonymous.close();
  wrongToken.close();
  await cluster.close();
});

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: ServiceError) => e);

describe("USERS_AUTH_TOKEN", () => {
  it("rejects every mutating RPC without the bearer token with UNAUTHENTICATED", async () => {
    const calls = [
      () => unary((cb) => anonymous.createUser({ name: "Mallory", email: "m@example.com" }, cb)),
      () => unary((cb) => anonymous.updateUser({ id: 1, name: "Hacked" }, cb)),
      () => unary((cb) => anonymous.deleteUser({ id: 1 }, cb)),
      () =>
        new Promise((resolve, reject) => {
          const call = anonymous.importUsers((error, response) => (error ? reject(error) : resolve(response)));
          call.write({ name: "Mallory", email: "m2@example.com" });
          call.end();
        }),
    ];
    for (const call of calls) {
      const error = await failure(call());
      expect(error?.code).toBe(status.UNAUTHENTICATED);
      expect(error?.details).toMatch(/authorization: Bearer/);
    }
    const wrong = await failure(unary((cb) => wrongToken.deleteUser({ id: 1 }, cb)));
    expect(wrong?.code).toBe(status.UNAUTHENTICATED);
    expect(wrong?.details).toBe("invalid bearer token");
  });

  it("changed nothing, keeps reads open, and lets the right token write", async () => {
    const alice = await unary<GetUserResponse>((cb) => anonymous.getUser({ id: 1 }, cb));
    expect(alice.response.user?.name).toBe("Alice");
    const created = await unary<CreateUserResponse>((cb) =>
      withToken.createUser({ name: "Trent", email: "trent@example.com" }, cb),
    );
    expect(created.response.user?.id).toBe(3);
  });
});

describe("health and reflection", () => {
  it("reports SERVING for the server and each service, SERVICE_UNKNOWN otherwise", async () => {
    const health = new HealthChecker(cluster.replicas[0]!.target);
    for (const service of ["", "userservice.v1.UserService", "userservice.UserService"]) {
      expect(await health.check(service)).toBe("SERVING");
    }
    const unknown = await failure(health.check("nope.Service"));
    expect(unknown?.code).toBe(status.NOT_FOUND);
    health.close();
  });

  it("lists both services, health and reflection through server reflection", async () => {
    const protoDir = fileURLToPath(new URL("../../node_modules/@grpc/reflection/build/proto/", import.meta.url));
    const definition = loadSync("grpc/reflection/v1/reflection.proto", { includeDirs: [protoDir] });
    const pkg = loadPackageDefinition(definition) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (t: string, c: unknown) => ReflectionStub } } };
    };
    type ReflectionStub = { ServerReflectionInfo(): NodeJS.EventEmitter & { write(m: unknown): void; end(): void }; close(): void };
    const client = new pkg.grpc.reflection.v1.ServerReflection(cluster.replicas[1]!.target, credentials.createInsecure());
    const call = client.ServerReflectionInfo();
    const names = await new Promise<string[]>((resolve, reject) => {
      call.on("data", (m: { listServicesResponse?: { service: Array<{ name: string }> } }) =>
        resolve(m.listServicesResponse!.service.map((s) => s.name)),
      );
      call.on("error", reject);
      call.write({ listServices: "" });
    });
    call.end();
    client.close();
    expect(names).toEqual(
      expect.arrayContaining(["userservice.v1.UserService", "userservice.UserService", "grpc.health.v1.Health"]),
    );
  });
});

describe("graceful shutdown", () => {
  it("flips health to NOT_SERVING, ends subscriptions with UNAVAILABLE, then stops", async () => {
    const replica = cluster.replicas[1]!;
    const health = new HealthChecker(replica.target);
    const seen: ServingStatus[] = [];
    const flipped = new Promise<void>((resolve) => {
      health.watch("userservice.v1.UserService", (s) => {
        seen.push(s);
        if (s === "NOT_SERVING") resolve();
      });
    });
    const subscriber = cluster.clients[1]!.subscribeToUpdates({ sinceCursor: "" });
    const ended = new Promise<ServiceError>((resolve) => subscriber.on("error", resolve));
    await new Promise((resolve) => subscriber.once("metadata", resolve));

    const closing = replica.close();
    await flipped;
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    const error = await ended;
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toMatch(/resume/);
    await closing;
    health.close();
    // The other replica keeps serving.
    expect((await unary((cb) => cluster.clients[0]!.getUser({ id: 1 }, cb))).servedBy).toBe("users-1");
  });
});
