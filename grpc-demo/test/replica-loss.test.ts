import { EventEmitter } from "node:events";
import { status, type ServiceError } from "@grpc/grpc-js";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "@clusterkit/test-kit";
import { connectUsers, unary, type UserServiceClient } from "../src/client/index.js";
import { Output } from "../src/cli/output.js";
import { followUpdates } from "../src/cli/subscribe.js";
import { USER_EVENTS_STREAM } from "../src/events/user-event.js";
import { startReplicaProcess, type ReplicaProcess } from "./support/replica-process.js";

/*
 * The drill from the workshop: two replica processes, a client round-robining calls over both
 * and subscribers following updates; one replica is SIGKILLed mid-run. Reads must not fail
 * (they are retried), only writes in flight on the dead replica may, and every subscriber must
 * end up with exactly the event stream: no gap, no duplicate.
 */
const CALLS = 240;
const KILL_AT = 80;
const SUBSCRIBERS = 6;

let redis: TestRedis;
let replicas: ReplicaProcess[];
let client: UserServiceClient;

beforeAll(async () => {
  redis = await startRedis();
  replicas = [];
  for (const id of ["users-a", "users-b"]) replicas.push(await startReplicaProcess({ REDIS_URL: redis.url, SERVER_ID: id }));
  client = await connectUsers(replicas.map((r) => r.target).join(","));
});
afterAll(async () => {
  client.close();
  await Promise.all(replicas.map((r) => (r.child.exitCode === null && r.child.signalCode === null ? r.stop() : Promise.resolve())));
  await redis.close();
});

describe("losing a users replica under load", () => {
  it("keeps reads succeeding, fails at most the writes in flight, and subscribers resume without gap", async () => {
    const abort = new AbortController();
    const progress = new EventEmitter();
    const received: string[][] = [];
    const subscriberClients: UserServiceClient[] = [];
    const ready: Promise<void>[] = [];
    const following: Promise<number>[] = [];
    const startCursor = await (async () => {
      const r = createClient({ url: redis.url });
      await r.connect();
      const newest = await r.xRevRange(USER_EVENTS_STREAM, "+", "-", { COUNT: 1 });
      await r.quit();
      return newest[0]!.id;
    })();
    for (let i = 0; i < SUBSCRIBERS; i += 1) {
      const sub = await connectUsers(replicas.map((r) => r.target).join(","));
      subscriberClients.push(sub);
      const cursors: string[] = [];
      received.push(cursors);
      const out = new Output(true, (line) => {
        cursors.push((JSON.parse(line) as { cursor: string }).cursor);
        progress.emit("update");
      }, () => undefined);
      ready.push(new Promise<void>((resolve) => following.push(followUpdates(sub, out, { since: startCursor, count: 0, signal: abort.signal, onReady: () => resolve(), maxBackoffMs: 300 }))));
    }
    await Promise.all(ready);

    const failures = { reads: 0, writes: 0 };
    let created = 0;
    for (let i = 0; i < CALLS; i += 1) {
      if (i === KILL_AT) await replicas[0]!.kill();
      // Two calls in flight at a time, as a small client pool would have.
      const [write, read] = await Promise.allSettled([
        unary((cb) => client.createUser({ name: `Load ${i}`, email: `load${i}@example.com` }, cb)),
        unary((cb) => client.getUser({ id: 1 }, cb)),
      ]);
      if (write.status === "rejected") {
        failures.writes += 1;
        expect((write.reason as ServiceError).code).toBe(status.UNAVAILABLE);
      } else created += 1;
      if (read.status === "rejected") failures.reads += 1;
    }
    expect(failures.reads).toBe(0);
    expect(failures.writes).toBeLessThanOrEqual(2);
    expect(created + failures.writes).toBe(CALLS);

    // The truth: what the event stream holds after the start cursor.
    const r = createClient({ url: redis.url });
    await r.connect();
    const stream = (await r.xRange(USER_EVENTS_STREAM, `(${startCursor}`, "+")).map((e) => e.id);
    await r.quit();
    expect(stream.length).toBeGreaterThanOrEqual(created);

    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`subscribers got ${received.map((c) => c.length).join(", ")} of ${stream.length}`)), 10_000);
      const check = () => {
        if (received.some((cursors) => cursors.length < stream.length)) return;
        clearTimeout(timer);
        progress.off("update", check);
        resolve();
      };
      progress.on("update", check);
      check();
    });
    abort.abort();
    await Promise.all(following);
    for (const sub of subscriberClients) sub.close();
    for (const cursors of received) expect(cursors).toEqual(stream);
  });
});

describe("SIGTERM", () => {
  it("ends open subscriptions with UNAVAILABLE and exits 0", async () => {
    const replica = await startReplicaProcess({ REDIS_URL: redis.url, SERVER_ID: "users-term" });
    const direct = await connectUsers(replica.target);
    const call = direct.subscribeToUpdates({ sinceCursor: "" });
    const ended = new Promise<ServiceError>((resolve) => call.on("error", resolve));
    await new Promise((resolve) => call.once("metadata", resolve));
    const exitCode = replica.stop();
    expect((await ended).code).toBe(status.UNAVAILABLE);
    expect(await exitCode).toBe(0);
    direct.close();
  });
});
