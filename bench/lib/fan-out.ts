import type { UserServiceClient } from "grpc-demo/client";
import type { FromSubscribers, SubscribersSetup, ToSubscribers } from "../workers/grpc-subscribers.js";
import { cpuMeter } from "./processes.js";
import { SubscriberGroup, fanOutName, type GroupTally } from "./subscriber-group.js";
import { Samples, nowMs, round, type LatencySummary } from "./stats.js";
import { WorkerPool } from "./worker-pool.js";

/** Subscribers opened once and measured in rounds. */
export interface Subscribers {
  count: number;
  threads: number;
  begin(tag: string): Promise<void>;
  settle(events: number, timeoutMs: number): Promise<GroupTally[]>;
  close(): Promise<void>;
}

/**
 * Opens `count` subscribers over `addresses`: on this event loop (threads = 0) or split over
 * worker threads, each decoding its share.
 */
export async function openSubscribers(addresses: string[], count: number, threads: number): Promise<Subscribers> {
  if (threads === 0) {
    const group = await SubscriberGroup.open(addresses, count);
    return {
      count,
      threads,
      begin: async (tag) => group.begin(tag),
      settle: async (events, timeoutMs) => [await group.settle(events, timeoutMs)],
      close: async () => group.close(),
    };
  }
  const shares = Array.from({ length: threads }, (_, i) => Math.floor(count / threads) + (i < count % threads ? 1 : 0));
  const offsets = shares.map((_, i) => shares.slice(0, i).reduce((a, b) => a + b, 0));
  const pool = new WorkerPool<ToSubscribers, FromSubscribers>(
    new URL("../workers/grpc-subscribers.ts", import.meta.url),
    shares.map((share, i) => ({ addresses, count: share, offset: offsets[i]! }) satisfies SubscribersSetup),
  );
  const ready = await pool.all("ready", 120_000);
  const failed = ready.find((r) => r.error);
  if (failed) {
    await pool.terminate();
    throw new Error(`subscribers could not subscribe at ${addresses.join(",")}: ${failed.error}`);
  }
  return {
    count,
    threads,
    begin: async (tag) => void (await pool.ask({ type: "begin", tag }, "begun", 5000)),
    settle: async (events, timeoutMs) => (await pool.ask({ type: "settle", events, timeoutMs }, "settled", timeoutMs + 10_000)).map((r) => r.tally),
    async close() {
      await pool.close({ type: "close" }, "closed", 5000);
    },
  };
}

export interface FanOutRound {
  subscribers: number;
  events: number;
  /** Offered creates per second (open loop: each sent on schedule, not after the previous answer). */
  rate: number;
  deliveries: number;
  expected: number;
  latencyMs: LatencySummary;
  /** CPU ms per event: the replicas and Redis, and this process (writer and subscriber threads). */
  serverCpuMsPerEvent: number;
  clientCpuMsPerEvent: number;
  writeErrors: number;
}

/**
 * One round: `events` CreateUser calls sent at `rate` per second through `writer`, each to be
 * delivered to every subscriber; latency is from the create being sent to each subscriber having
 * decoded its update.
 */
export async function fanOutRound(
  subscribers: Subscribers,
  writer: UserServiceClient,
  options: { tag: string; events: number; rate: number; pids: number[]; settleMs: number },
): Promise<FanOutRound> {
  const { tag, events, rate } = options;
  await subscribers.begin(tag);
  const meter = cpuMeter(options.pids);
  const started = nowMs();
  const writes: Promise<boolean>[] = [];
  for (let i = 0; i < events; i++) {
    const due = started + (i * 1000) / rate;
    while (nowMs() < due) await new Promise((resolve) => setTimeout(resolve, Math.max(1, due - nowMs())));
    const sentAt = nowMs();
    const name = fanOutName(tag, i, sentAt);
    writes.push(new Promise((resolve) => writer.createUser({ name, email: `${tag}-${i}@bench.example` }, (error) => resolve(!error))));
  }
  const written = await Promise.all(writes);
  const tallies = await subscribers.settle(written.filter(Boolean).length, options.settleMs);
  const cpu = meter.stop();
  const samples = new Samples();
  for (const tally of tallies) samples.addAll(tally.latencies);
  const deliveries = tallies.reduce((sum, t) => sum + t.deliveries, 0);
  return {
    subscribers: subscribers.count,
    events,
    rate,
    deliveries,
    expected: events * subscribers.count,
    latencyMs: samples.summary(),
    serverCpuMsPerEvent: round((cpu.total * 1000) / events),
    clientCpuMsPerEvent: round((cpu.loadGenerator * 1000) / events),
    writeErrors: written.filter((ok) => !ok).length,
  };
}
