import { status, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  collect,
  headersOf,
  unary,
  type ImportUsersResponse,
  type LookupUsersResponse,
  type UserServiceClient,
} from "../src/client/index.js";
import { useUserCluster } from "./support/user-cluster.js";

const cluster = useUserCluster(2);

const list = (client: UserServiceClient, request: { pageSize?: number; pageToken?: string; nameFilter?: string }) =>
  collect(client.listUsers({ pageSize: 0, pageToken: "", nameFilter: "", ...request }));

describe("ImportUsers (client streaming)", () => {
  it("creates the good rows and reports each bad one with its index and code", async () => {
    const result = await new Promise<ImportUsersResponse>((resolve, reject) => {
      const call = cluster.a.importUsers((error, response) => (error ? reject(error) : resolve(response)));
      for (let i = 0; i < 30; i += 1) call.write({ name: `Imported ${i}`, email: `imported${i}@example.com` });
      call.write({ name: "", email: "blank@example.com" });
      call.write({ name: "Dup", email: "imported0@example.com" });
      call.write({ name: "Bad", email: "nope" });
      call.end();
    });
    expect(result).toMatchObject({ receivedCount: 33, createdCount: 30, failedCount: 3 });
    expect(result.errors).toEqual([
      { index: 30, code: "INVALID_ARGUMENT", message: "name must not be empty" },
      { index: 31, code: "ALREADY_EXISTS", message: "a user with email 'imported0@example.com' already exists" },
      { index: 32, code: "INVALID_ARGUMENT", message: "email 'nope' is not a valid email address" },
    ]);
    expect(await list(cluster.b, { nameFilter: "imported" })).toHaveLength(30);
  });
});

describe("ListUsers (server streaming)", () => {
  it("streams every user in id order, each with the snapshot cursor", async () => {
    const all = await list(cluster.b, {});
    const ids = all.map((m) => m.user!.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(ids.slice(0, 2)).toEqual([1, 2]);
    expect(new Set(all.map((m) => m.cursor)).size).toBe(1);
    expect(all[0]!.cursor).toMatch(/^\d+-\d+$/);
  });

  it("pages with page_size and next_page_token, and filters by name case-insensitively", async () => {
    const seen: number[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await list(cluster.a, { pageSize: 7, pageToken: token, nameFilter: "IMPORTED" });
      expect(page.length).toBeLessThanOrEqual(7);
      seen.push(...page.map((m) => m.user!.id));
      token = page.at(-1)?.nextPageToken ?? "";
      pages += 1;
    } while (token !== "");
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
    expect(pages).toBe(5);
  });

  it("sends the snapshot cursor as a header even when nothing matches", async () => {
    const stream = cluster.a.listUsers({ pageSize: 0, pageToken: "", nameFilter: "no such name" });
    const [headers, items] = await Promise.all([headersOf(stream), collect(stream)]);
    expect(items).toEqual([]);
    expect(headers.get("x-snapshot-cursor")[0]).toMatch(/^\d+-\d+$/);
  });

  it("rejects a forged page token and a negative page size with INVALID_ARGUMENT", async () => {
    for (const request of [{ pageToken: "garbage" }, { pageSize: -1 }]) {
      const error = await list(cluster.a, request).then(() => undefined, (e: ServiceError) => e);
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
    }
  });
});

describe("LookupUsers (bidirectional streaming)", () => {
  it("answers each id in order, with a per-id error for unknown or invalid ones", async () => {
    const call = cluster.b.lookupUsers();
    const answers = collect<LookupUsersResponse>(call);
    for (const id of [2, 424242, 1, 0]) call.write({ id });
    call.end();
    const results = await answers;
    expect(results.map((r) => r.id)).toEqual([2, 424242, 1, 0]);
    expect(results[0]!.user?.name).toBe("Bob");
    expect(results[1]!.error).toEqual({ code: "NOT_FOUND", message: "user 424242 not found" });
    expect(results[2]!.user?.name).toBe("Alice");
    expect(results[3]!.error?.code).toBe("INVALID_ARGUMENT");
  });

  it("answers as ids arrive, before the client half-closes", async () => {
    const call = cluster.a.lookupUsers();
    const first = new Promise<LookupUsersResponse>((resolve) => call.once("data", resolve));
    call.write({ id: 1 });
    expect((await first).user?.name).toBe("Alice");
    call.end();
    await collect(call);
  });
});

describe("the unary path still works after streams", () => {
  it("gets a user", async () => {
    expect((await unary((cb) => cluster.a.getUser({ id: 1 }, cb))).response).toBeDefined();
  });
});
