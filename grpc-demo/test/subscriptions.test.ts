import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it, vi } from "vitest";
import {
  deadlineIn,
  unary,
  UserAction,
  type CreateUserResponse,
  type SubscribeToUpdatesResponse,
  type UserServiceClient,
} from "../src/client/index.js";
import { compareStreamIds } from "@clusterkit/redis-kit";
import { SubscribeToUpdatesResponse as UpdateMessage } from "../src/gen/userservice/v1/user_service.js";
import { StreamRecorder } from "./support/recorder.js";
import { useUserCluster } from "./support/user-cluster.js";

const cluster = useUserCluster(2, { eventsRetention: 20 });

const subscribe = (client: UserServiceClient, sinceCursor = "", options: { deadline?: Date } = {}) => {
  const call = client.subscribeToUpdates({ sinceCursor }, options);
  return { call, recorder: new StreamRecorder<SubscribeToUpdatesResponse>(call) };
};
const create = (client: UserServiceClient, name: string) =>
  unary<CreateUserResponse>((cb) => client.createUser({ name, email: `${name.toLowerCase()}@example.com` }, cb));
const waitUntil = async (predicate: () => boolean, what: string) => {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
};

describe("SubscribeToUpdates", () => {
  it("delivers a create made on replica A to a subscriber on replica B within a second", async () => {
    const { call, recorder } = subscribe(cluster.b);
    await recorder.ready();
    const started = Date.now();
    const created = (await create(cluster.a, "Frank")).response.user!;
    await recorder.count(1, 1000);
    const update = recorder.items[0]!;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(update).toMatchObject({ action: UserAction.USER_ACTION_CREATED, origin: "users-1" });
    expect(update.user).toEqual(created);
    expect(update.cursor).toMatch(/^\d+-\d+$/);
    expect(update.occurredAt).toBeInstanceOf(Date);
    call.cancel();
  });

  it("sees every replica's changes in one order, the same on both replicas", async () => {
    const onA = subscribe(cluster.a);
    const onB = subscribe(cluster.b);
    await Promise.all([onA.recorder.ready(), onB.recorder.ready()]);
    const grace = (await create(cluster.a, "Grace")).response.user!;
    await unary((cb) => cluster.b.updateUser({ id: grace.id, name: "Grace H" }, cb));
    await unary((cb) => cluster.a.deleteUser({ id: grace.id }, cb));
    await Promise.all([onA.recorder.count(3), onB.recorder.count(3)]);
    const actions = onB.recorder.items.map((u) => [u.action, u.user?.name, u.origin]);
    expect(actions).toEqual([
      [UserAction.USER_ACTION_CREATED, "Grace", "users-1"],
      [UserAction.USER_ACTION_UPDATED, "Grace H", "users-2"],
      [UserAction.USER_ACTION_DELETED, "Grace H", "users-1"],
    ]);
    expect(onA.recorder.items.map((u) => u.cursor)).toEqual(onB.recorder.items.map((u) => u.cursor));
    onA.call.cancel();
    onB.call.cancel();
  });

  it("resumes from a cursor with exactly the missed updates, once each, then live ones", async () => {
    const first = subscribe(cluster.a);
    await first.recorder.ready();
    await create(cluster.b, "Heidi");
    await first.recorder.count(1);
    const lastSeen = first.recorder.items[0]!.cursor;
    first.call.cancel();

    const missed = ["Ivan", "Judy", "Ken"];
    for (const name of missed) await create(cluster.a, name);

    const resumed = subscribe(cluster.b, lastSeen);
    await resumed.recorder.count(3);
    await create(cluster.b, "Leo");
    await resumed.recorder.count(4);
    const names = resumed.recorder.items.map((u) => u.user?.name);
    expect(names).toEqual([...missed, "Leo"]);
    const cursors = resumed.recorder.items.map((u) => u.cursor);
    expect(new Set(cursors).size).toBe(cursors.length);
    resumed.call.cancel();
  });

  it("joins replay and live feed without gap or duplicate while writes keep coming", async () => {
    const start = subscribe(cluster.a);
    await start.recorder.ready();
    await create(cluster.a, "Mallory");
    await start.recorder.count(1);
    const from = start.recorder.items[0]!.cursor;
    start.call.cancel();

    const writes = Array.from({ length: 15 }, (_, i) => create(i % 2 ? cluster.a : cluster.b, `Burst${i}`));
    const resumed = subscribe(cluster.b, from);
    await Promise.all(writes);
    await resumed.recorder.count(15);
    const names = resumed.recorder.items.map((u) => u.user?.name);
    expect(names.sort()).toEqual(Array.from({ length: 15 }, (_, i) => `Burst${i}`).sort());
    const cursors = resumed.recorder.items.map((u) => u.cursor);
    expect(cursors).toEqual([...cursors].sort(compareStreamIds));
    resumed.call.cancel();
  });

  it("answers OUT_OF_RANGE for a cursor older than the retained history", async () => {
    // Retention is 20 events here: 25 more push the oldest cursors out.
    for (let i = 0; i < 25; i += 1) await create(cluster.b, `Filler${i}`);
    const error = await subscribe(cluster.a, "1-0").recorder.failed();
    expect(error.code).toBe(status.OUT_OF_RANGE);
    expect(error.details).toMatch(/older than the retained history/);
  });

  it("answers OUT_OF_RANGE for a cursor ahead of the stream, INVALID_ARGUMENT for garbage", async () => {
    expect((await subscribe(cluster.a, "99999999999999-0").recorder.failed()).code).toBe(status.OUT_OF_RANGE);
    const garbage = await subscribe(cluster.b, "yesterday").recorder.failed();
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.details).toContain("since_cursor");
  });

  it("frees the subscription when the client cancels or its deadline passes", async () => {
    const replica = cluster.replicas[0]!.server;
    const cancelled = subscribe(cluster.a);
    await cancelled.recorder.ready();
    expect(replica.openSubscriptions).toBe(1);
    cancelled.call.cancel();
    await waitUntil(() => replica.openSubscriptions === 0, "the cancelled subscription to be released");

    const timed = subscribe(cluster.a, "", { deadline: deadlineIn(300) });
    await timed.recorder.ready();
    expect(replica.openSubscriptions).toBe(1);
    const error: ServiceError = await timed.recorder.failed();
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    await waitUntil(() => replica.openSubscriptions === 0, "the expired subscription to be released");
  });

  it("encodes each update once for all the subscribers of a replica, and every one of them decodes it", async () => {
    const subscribers = [subscribe(cluster.a), subscribe(cluster.a), subscribe(cluster.a)];
    await Promise.all(subscribers.map((s) => s.recorder.ready()));
    const encode = vi.spyOn(UpdateMessage, "encode");
    try {
      const created = (await create(cluster.b, "Olga")).response.user!;
      await Promise.all(subscribers.map((s) => s.recorder.count(1, 5000)));
      for (const s of subscribers) expect(s.recorder.items[0]!.user).toEqual(created);
      expect(encode).toHaveBeenCalledTimes(1);
    } finally {
      encode.mockRestore();
      for (const s of subscribers) s.call.cancel();
    }
  });
});

describe("deadlines on unary calls", () => {
  it("fails with DEADLINE_EXCEEDED when the deadline is already past", async () => {
    const error = await unary((cb) => cluster.a.getUser({ id: 1 }, new Metadata(), { deadline: new Date(Date.now() - 1) }, cb)).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
  });
});
