import { status, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  collect,
  unary,
  type CreateUserResponse,
  type DeleteUserResponse,
  type GetUserResponse,
  type UpdateUserResponse,
  type UserServiceClient,
} from "../src/client/index.js";
import { useUserCluster } from "./support/user-cluster.js";
import { rawUnaryClient } from "./support/raw-unary.js";

const cluster = useUserCluster(2);

const create = (client: UserServiceClient, name: string, email: string) =>
  unary<CreateUserResponse>((cb) => client.createUser({ name, email }, cb));
const get = (client: UserServiceClient, id: number) => unary<GetUserResponse>((cb) => client.getUser({ id }, cb));
const rejection = (promise: Promise<unknown>) => promise.then(
  () => { throw new Error("expected the call to fail"); },
  (error: ServiceError) => error,
);

describe("unary RPCs over two replicas sharing Redis", () => {
  it("serves the seeded users Alice (1) and Bob (2) exactly once", async () => {
    expect((await get(cluster.a, 1)).response.user).toMatchObject({ id: 1, name: "Alice", email: "alice@example.com" });
    expect((await get(cluster.b, 2)).response.user).toMatchObject({ id: 2, name: "Bob", email: "bob@example.com" });
    const third = await create(cluster.a, "Carol", "carol@example.com");
    expect(third.response.user?.id).toBe(3);
  });

  it("creates on one replica, reads, updates and deletes on the other", async () => {
    const created = (await create(cluster.a, "  Dave  ", "dave@example.com")).response.user!;
    expect(created.name).toBe("Dave");
    expect(created.createTime).toBeInstanceOf(Date);
    expect((await get(cluster.b, created.id)).response.user).toEqual(created);

    const updated = await unary<UpdateUserResponse>((cb) => cluster.b.updateUser({ id: created.id, name: "David" }, cb));
    expect(updated.response.user).toMatchObject({ id: created.id, name: "David", email: "dave@example.com" });
    expect((await get(cluster.a, created.id)).response.user?.name).toBe("David");

    const deleted = await unary<DeleteUserResponse>((cb) => cluster.a.deleteUser({ id: created.id }, cb));
    expect(deleted.response.user?.name).toBe("David");
    expect((await rejection(get(cluster.b, created.id))).code).toBe(status.NOT_FOUND);
    // The email is free again once its owner is gone.
    expect((await create(cluster.b, "Dave again", "DAVE@example.com")).response.user?.email).toBe("DAVE@example.com");
  });

  it("stamps x-served-by so clients see which replica answered", async () => {
    expect((await get(cluster.a, 1)).servedBy).toBe("users-1");
    expect((await get(cluster.b, 1)).servedBy).toBe("users-2");
  });

  it("spreads calls over both replicas with client-side round_robin", async () => {
    const servedBy = new Set<string | undefined>();
    for (let i = 0; i < 20; i += 1) servedBy.add((await get(cluster.balanced, 1)).servedBy);
    expect([...servedBy].sort()).toEqual(["users-1", "users-2"]);
  });
});

describe("the email is unique across replicas", () => {
  it("lets exactly one of 50 concurrent creates with one email win; the rest get ALREADY_EXISTS", async () => {
    const attempts = Array.from({ length: 50 }, (_, i) =>
      create(i % 2 === 0 ? cluster.a : cluster.b, `Racer ${i}`, i % 3 === 0 ? "race@example.com" : "RACE@example.com").then(
        (ok) => ({ ok }),
        (error: ServiceError) => ({ error }),
      ),
    );
    const results = await Promise.all(attempts);
    const winners = results.filter((r) => "ok" in r);
    const losers = results.filter((r): r is { error: ServiceError } => "error" in r);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(49);
    for (const { error } of losers) {
      expect(error.code).toBe(status.ALREADY_EXISTS);
      expect(error.details).toMatch(/already exists/);
    }
  });

  it("refuses to update a user onto another user's email", async () => {
    const error = await rejection(unary((cb) => cluster.a.updateUser({ id: 2, email: "Alice@Example.com" }, cb)));
    expect(error.code).toBe(status.ALREADY_EXISTS);
    expect((await get(cluster.b, 2)).response.user?.email).toBe("bob@example.com");
  });
});

describe("bad input gets INVALID_ARGUMENT naming the field, and writes nothing", () => {
  const cases: Array<[string, (c: UserServiceClient) => Promise<unknown>, string]> = [
    ["an empty name", (c) => create(c, "   ", "x1@example.com"), "name"],
    ["a 101-character name", (c) => create(c, "n".repeat(101), "x2@example.com"), "name"],
    ["a malformed email", (c) => create(c, "Eve", "not-an-email"), "email"],
    ["an empty email", (c) => create(c, "Eve", ""), "email"],
    ["id 0 on get", (c) => get(c, 0), "id"],
    ["a negative id on delete", (c) => unary((cb) => c.deleteUser({ id: -4 }, cb)), "id"],
    ["an update with nothing to change", (c) => unary((cb) => c.updateUser({ id: 1 }, cb)), "name"],
    ["a malformed email on update", (c) => unary((cb) => c.updateUser({ id: 1, email: "@@" }, cb)), "email"],
  ];
  it.each(cases)("rejects %s", async (_label, call, field) => {
    const error = await rejection(call(cluster.a));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain(field);
    expect(error.metadata.get("x-field")).toEqual([field]);
  });

  it("accepts a 100-character name", async () => {
    const user = (await create(cluster.a, "ñ".repeat(100), "long@example.com")).response.user;
    expect(user?.name).toHaveLength(100);
  });

  it("returns NOT_FOUND for unknown ids on get, update and delete", async () => {
    for (const call of [
      () => get(cluster.b, 999_999),
      () => unary((cb) => cluster.b.updateUser({ id: 999_999, name: "Nobody" }, cb)),
      () => unary((cb) => cluster.b.deleteUser({ id: 999_999 }, cb)),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe(status.NOT_FOUND);
      expect(error.details).toBe("user 999999 not found");
    }
  });

  it("finding 11.9: refuses a 20-digit id (or any beyond int32) with INVALID_ARGUMENT, never INTERNAL", async () => {
    // What a client gets when it parses "12345678901234567890" (userctl get, a REST path).
    const huge = Number("12345678901234567890");
    for (const call of [
      () => get(cluster.a, huge),
      () => get(cluster.a, 2 ** 31),
      () => unary((cb) => cluster.a.updateUser({ id: huge, name: "Nobody" }, cb)),
      () => unary((cb) => cluster.a.deleteUser({ id: -(2 ** 31) - 1 }, cb)),
      () => collect(cluster.a.listUsers({ pageSize: 2 ** 40, pageToken: "", nameFilter: "" })),
    ]) {
      const error = await rejection(call());
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toMatch(/^(id|page_size) must be an integer from -2147483648 to 2147483647/);
    }
  });

  it("finding 11.9: answers a 20-digit id encoded on the wire as int64 with INVALID_ARGUMENT", async () => {
    // A client generated with int64 ids sends a 10-byte varint; int32 decoding keeps its low bits.
    let value = 12345678901234567890n;
    const varint: number[] = [];
    while (value > 127n) {
      varint.push(Number(value & 127n) | 128);
      value >>= 7n;
    }
    varint.push(Number(value));
    const raw = rawUnaryClient(cluster.replicas[0]!.target, "/userservice.v1.UserService/GetUser");
    const error = await raw.call(Buffer.from([0x08, ...varint]));
    raw.close();
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
  });

  it("left no half-written user behind", async () => {
    const listed = await collect(cluster.a.listUsers({ pageSize: 0, pageToken: "", nameFilter: "" }));
    const names = listed.map((m) => m.user!.name);
    expect(names).not.toContain("Eve");
    expect(names.filter((n) => n.startsWith("Racer"))).toHaveLength(1);
  });
});
