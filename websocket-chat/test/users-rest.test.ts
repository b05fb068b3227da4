/**
 * The REST twin of the user service: `GET /api/users/:id` and `GET /api/users?page_size=&page_token=`
 * on a chat replica, across the wire to a real users replica that requires a token for writes
 * (reads need none), over one real Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { connectUsers, unary, type CreateUserResponse, type UserServiceClient } from "grpc-demo/client";
import { startUserReplica, type UserReplica } from "@clusterkit/test-kit/users";
import type { UserRecord } from "../src/contracts/events.js";
import { startChatCluster, type TestCluster } from "@clusterkit/test-kit/chat";

const USERS_TOKEN = "users-rest-token";
let cluster: TestCluster;
let usersReplica: UserReplica | undefined;
let admin: UserServiceClient;

beforeAll(async () => {
  cluster = await startChatCluster(1, {
    // The chat's client carries no token: its reads must not need one.
    users: async (redisUrl) => {
      usersReplica ??= await startUserReplica({ redisUrl, serverId: "users-1", authToken: USERS_TOKEN });
      return connectUsers(usersReplica.target);
    },
  });
  admin = await connectUsers(usersReplica!.target, { token: USERS_TOKEN });
});
afterAll(async () => {
  admin?.close();
  await cluster?.replicas[0]?.close();
  await usersReplica?.close();
  await cluster?.close();
});

type Body = { user?: UserRecord; users?: UserRecord[]; nextPageToken?: string; cursor?: string; error?: { code: string; message: string } };
async function get(path: string): Promise<{ status: number; body: Body }> {
  const response = await fetch(`${cluster.replicas[0]!.url}/api/users${path}`);
  return { status: response.status, body: (await response.json()) as Body };
}

const create = async (name: string, email: string) =>
  (await unary<CreateUserResponse>((cb) => admin.createUser({ name, email }, new Metadata(), {}, cb))).response.user!;

describe("GET /api/users/:id", () => {
  it("answers a user the service has, as the page's feed shows it", async () => {
    const created = await create("Hedy Lamarr", "hedy@example.com");
    const { status, body } = await get(`/${created.id}`);
    expect(status).toBe(200);
    expect(body.user).toMatchObject({ id: created.id, name: "Hedy Lamarr", email: "hedy@example.com", createdAt: expect.any(String) as unknown });
  });

  it("answers 404 for an id the service does not have, the largest int32 included", async () => {
    const { status, body } = await get("/2147483647");
    expect(status).toBe(404);
    expect(body.error?.code).toBe("NOT_FOUND");
  });

  it("answers 400 for ids outside 1..2147483647 or not whole numbers", async () => {
    expect(await get("/2147483648")).toEqual({ status: 400, body: { error: { code: "INVALID_ARGUMENT", message: "the id must be at most 2147483647" } } });
    for (const id of ["0", "-1", "1.5", "1e3", "abc", "0x10", "99999999999999999999"]) {
      const reply = await get(`/${id}`);
      expect(reply.status, id).toBe(400);
      expect(reply.body.error?.code, id).toBe("INVALID_ARGUMENT");
    }
  });
});

describe("GET /api/users", () => {
  it("pages through every user with page_size and page_token, as ListUsers over gRPC does", async () => {
    for (let i = 0; i < 5; i++) await create(`Pager ${i}`, `pager-${i}@example.com`);
    const everyone: number[] = [];
    const grpc = admin.listUsers({ pageSize: 0, pageToken: "", nameFilter: "" });
    await new Promise<void>((resolve, reject) => {
      grpc.on("data", (item: { user?: { id: number } }) => everyone.push(item.user!.id));
      grpc.on("error", reject);
      grpc.on("end", resolve);
    });
    expect(everyone.length).toBeGreaterThan(5);

    const paged: number[] = [];
    let token = "";
    for (let pages = 0; pages < 100; pages++) {
      const { status, body } = await get(`?page_size=2${token ? `&page_token=${token}` : ""}`);
      expect(status).toBe(200);
      expect(body.users!.length).toBeLessThanOrEqual(2);
      expect(body.cursor).toMatch(/^\d+-\d+$/);
      paged.push(...body.users!.map((user) => user.id));
      token = body.nextPageToken!;
      if (token === "") break;
    }
    expect(paged).toEqual(everyone);
  });

  it("gives 20 users a page when page_size is left out", async () => {
    for (let i = 0; i < 20; i++) await create(`Filler ${i}`, `filler-${i}@example.com`);
    const { status, body } = await get("");
    expect(status).toBe(200);
    expect(body.users).toHaveLength(20);
    expect(body.nextPageToken).not.toBe("");
  });

  it("answers 400 for a page_size outside 1..100 and a page_token it never gave out", async () => {
    for (const query of ["page_size=0", "page_size=101", "page_size=-1", "page_size=x", "page_size=1&page_size=2"]) {
      const reply = await get(`?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.error?.message, query).toMatch(/^page_size: /);
    }
    expect((await get("?page_size=1&page_token=%21%21")).body.error).toEqual({ code: "INVALID_ARGUMENT", message: "page_token: not a token returned by this API" });
    const forged = await get("?page_token=bm90LWEtdG9rZW4");
    expect(forged.status).toBe(400);
    expect(forged.body.error?.message).toMatch(/page_token/);
    expect((await get(`?page_token=${"a".repeat(65)}`)).status).toBe(400);
  });
});
