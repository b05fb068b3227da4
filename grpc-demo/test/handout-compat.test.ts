import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { credentials, loadPackageDefinition, status, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { StreamRecorder } from "./support/recorder.js";
import { useUserCluster } from "./support/user-cluster.js";

/*
 * A client built the handout's way: proto-loader over the handout's .proto, dynamic stubs,
 * package `userservice`. It runs against our copy of the contract and, when the workshop's
 * shared folder sits beside the repository (always in CI), against the handout's own file.
 */
const protos: Array<[string, string]> = [["the kit's handout.proto", fileURLToPath(new URL("../../proto/userservice/handout.proto", import.meta.url))]];
const sharedProto = fileURLToPath(new URL("../../../shared/peers/seed-grpc/proto/service.proto", import.meta.url));
if (existsSync(sharedProto)) protos.push(["the handout's own service.proto", sharedProto]);

interface HandoutUser {
  id: number;
  name: string;
  email: string;
  // proto-loader camel-cases field names unless keepCase is set.
  createdAt: string;
}
type Callback<T> = (error: ServiceError | null, value?: T) => void;
interface HandoutClient extends Client {
  GetUser(request: { id: number }, callback: Callback<HandoutUser>): void;
  CreateUser(request: { name: string; email: string }, callback: Callback<HandoutUser>): void;
  ListUsers(request: object): NodeJS.EventEmitter;
  SubscribeToUpdates(request: object): NodeJS.EventEmitter & { cancel(): void };
}

const cluster = useUserCluster(2);

function handoutClient(protoPath: string, target: string): HandoutClient {
  const definition = loadSync(protoPath);
  const pkg = loadPackageDefinition(definition) as unknown as {
    userservice: { UserService: new (target: string, creds: unknown) => HandoutClient };
  };
  return new pkg.userservice.UserService(target, credentials.createInsecure());
}

const call = <T>(start: (cb: Callback<T>) => void) =>
  new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));

describe.each(protos)("a handout client (proto-loader) using %s", (_label, protoPath) => {
  it("gets Alice, lists users, creates a user, and gets NOT_FOUND for an unknown id", async () => {
    const client = handoutClient(protoPath, cluster.replicas[0]!.target);
    const alice = await call<HandoutUser>((cb) => client.GetUser({ id: 1 }, cb));
    expect(alice).toMatchObject({ id: 1, name: "Alice", email: "alice@example.com" });
    expect(new Date(alice.createdAt).toString()).not.toBe("Invalid Date");

    const email = `charlie.${Math.random().toString(36).slice(2)}@example.com`;
    const created = await call<HandoutUser>((cb) => client.CreateUser({ name: "Charlie", email }, cb));
    expect(created).toMatchObject({ name: "Charlie", email });

    const listed = new StreamRecorder<HandoutUser>(client.ListUsers({}));
    await listed.until(() => listed.ended, "the end of ListUsers");
    expect(listed.items.map((u) => u.id)).toEqual(expect.arrayContaining([1, 2, created.id]));

    const missing = await call((cb) => client.GetUser({ id: 4242 }, cb)).catch((e: ServiceError) => e);
    expect((missing as ServiceError).code).toBe(status.NOT_FOUND);
    const invalid = await call((cb) => client.CreateUser({ name: "", email: "x@example.com" }, cb)).catch((e: ServiceError) => e);
    expect((invalid as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    client.close();
  });

  it("streams real changes from any replica on SubscribeToUpdates: created, updated, deleted", async () => {
    const client = handoutClient(protoPath, cluster.replicas[1]!.target);
    const stream = client.SubscribeToUpdates({});
    const updates = new StreamRecorder<{ action: string; user: HandoutUser }>(stream);
    await updates.ready();
    const v1 = cluster.clients[0]!;
    const user = await call<{ user?: { id: number } }>((cb) =>
      v1.createUser({ name: "Dora", email: `dora.${Math.random().toString(36).slice(2)}@example.com` }, cb),
    );
    const id = user.user!.id;
    await call((cb) => v1.updateUser({ id, name: "Dora E" }, cb));
    await call((cb) => v1.deleteUser({ id }, cb));
    await updates.count(3);
    expect(updates.items.map((u) => [u.action, u.user.id, u.user.name])).toEqual([
      ["created", id, "Dora"],
      ["updated", id, "Dora E"],
      ["deleted", id, "Dora E"],
    ]);
    stream.cancel();
    client.close();
  });
});
