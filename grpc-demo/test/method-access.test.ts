import { fileURLToPath } from "node:url";
import { Metadata, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { describe, expect, it } from "vitest";
import { authInterceptor } from "../src/server/interceptors.js";
import { METHOD_ACCESS } from "../src/server/method-access.js";
import { useUserCluster } from "./support/user-cluster.js";
import { rawUnaryClient, rawUnaryDefinition } from "./support/raw-unary.js";

const TOKEN = "method-access-token";
const cluster = useUserCluster(1, { authToken: TOKEN });

const repoProto = fileURLToPath(new URL("../../proto/", import.meta.url));
const reflectionProto = fileURLToPath(new URL("../../node_modules/@grpc/reflection/build/proto/", import.meta.url));

/** Every method path of every service in the .proto files a replica serves. */
function servedMethodPaths(): string[] {
  const definition = loadSync(
    [
      "userservice/v1/user_service.proto",
      "userservice/handout.proto",
      healthProtoPath,
      "grpc/reflection/v1/reflection.proto",
      "grpc/reflection/v1alpha/reflection.proto",
    ],
    { includeDirs: [repoProto, reflectionProto] },
  );
  const paths: string[] = [];
  for (const entry of Object.values(definition)) {
    if ("format" in entry) continue; // a message or enum, not a service
    for (const method of Object.values(entry)) paths.push(method.path);
  }
  return paths;
}

/** Calls `path` with an empty message, as any client could; resolves with the status code. */
async function rawCall(path: string, token?: string, target = cluster.replicas[0]!.target): Promise<status> {
  const client = rawUnaryClient(target, path);
  const metadata = new Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);
  const error = await client.call(Buffer.alloc(0), { metadata, deadlineMs: 1000 });
  client.close();
  return error?.code ?? status.OK;
}

describe("issue 13: write protection is an allow-list of reads and fails closed", () => {
  it("classifies every RPC of every .proto service a replica serves", () => {
    const paths = servedMethodPaths();
    expect(paths).toContain("/userservice.v1.UserService/CreateUser");
    expect(paths.filter((path) => !METHOD_ACCESS.has(path))).toEqual([]);
  });

  it("with USERS_AUTH_TOKEN, refuses every method not classified as a read without the token, and keeps reads open", async () => {
    for (const [path, access] of METHOD_ACCESS) {
      const code = await rawCall(path);
      if (access === "write") expect({ path, code: status[code] }).toEqual({ path, code: "UNAUTHENTICATED" });
      else expect({ path, code: status[code] }).not.toEqual({ path, code: "UNAUTHENTICATED" });
    }
  });

  it("makes a served method nobody classified need the token (UNAUTHENTICATED without it)", async () => {
    // A server with the real interceptor and one RPC missing from the classification, as a new
    // write RPC would be if someone forgot it.
    const unlisted = "/userservice.v1.UserService/DropAllUsers";
    const server = new Server({ interceptors: [authInterceptor(TOKEN)] });
    server.addService(rawUnaryDefinition(unlisted), { call: (_call: unknown, callback: (e: null, r: Buffer) => void) => callback(null, Buffer.alloc(0)) });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    try {
      expect(status[await rawCall(unlisted, undefined, `127.0.0.1:${port}`)]).toBe("UNAUTHENTICATED");
      expect(status[await rawCall(unlisted, TOKEN, `127.0.0.1:${port}`)]).toBe("OK");
    } finally {
      server.forceShutdown();
    }
  });
});
