import type { ClientReadableStream } from "@grpc/grpc-js";
import { connectUsers, type SubscribeToUpdatesResponse, type UserServiceClient } from "grpc-demo/client";
import { Samples, nowMs } from "./stats.js";

/**
 * What a measured create carries in its name: `<tag> <n> <sent at, epoch ms>`. Every subscriber
 * computes its delivery latency from the name alone, on the same clock as the writer (nowMs is
 * comparable across threads), so subscribers can live in other threads than the writer.
 */
export function fanOutName(tag: string, n: number, sentAt: number): string {
  return `${tag} ${n} ${sentAt.toFixed(3)}`;
}

/** Delivered updates and their latencies (ms), in one group of subscribers. */
export interface GroupTally {
  deliveries: number;
  latencies: Float64Array<ArrayBuffer>;
}

/**
 * SubscribeToUpdates subscribers, each on its own connection (as separate clients would be),
 * spread over the replicas in turn. Runs on whatever event loop creates it: the bench's own, or a
 * worker thread's (workers/grpc-subscribers.ts).
 */
export class SubscriberGroup {
  private tag = "";
  private samples = new Samples();
  private deliveries = 0;
  private wanted = Number.POSITIVE_INFINITY;
  private reached: (() => void) | undefined;

  private constructor(
    private readonly clients: UserServiceClient[],
    private readonly streams: ClientReadableStream<SubscribeToUpdatesResponse>[],
  ) {}

  /** Opens `count` subscribers (the k-th to addresses[(offset + k) % n]) and waits until each is registered. */
  static async open(addresses: string[], count: number, offset = 0): Promise<SubscriberGroup> {
    const group = new SubscriberGroup([], []);
    // A few at a time: a thousand handshakes at once only make the replicas' event loops stall.
    for (let start = 0; start < count; start += 50) {
      const batch = Array.from({ length: Math.min(50, count - start) }, (_, k) => group.add(addresses[(offset + start + k) % addresses.length]!));
      await Promise.all(batch);
    }
    return group;
  }

  private async add(address: string): Promise<void> {
    // A local subchannel pool gives each subscriber its own connection.
    const client = await connectUsers(address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    this.clients.push(client);
    const stream = client.subscribeToUpdates({ sinceCursor: "" });
    this.streams.push(stream);
    stream.on("data", (update: SubscribeToUpdatesResponse) => this.onUpdate(update));
    stream.on("error", () => undefined);
    // The replica sends headers once the subscription is registered (see subscription-stream.ts).
    await new Promise((resolve, reject) => {
      stream.once("metadata", resolve);
      stream.once("error", reject);
    });
  }

  private onUpdate(update: SubscribeToUpdatesResponse): void {
    const name = update.user?.name ?? "";
    if (this.tag === "" || !name.startsWith(`${this.tag} `)) return;
    const sentAt = Number(name.slice(name.lastIndexOf(" ") + 1));
    this.samples.add(nowMs() - sentAt);
    this.deliveries++;
    if (this.deliveries >= this.wanted) this.reached?.();
  }

  get size(): number {
    return this.streams.length;
  }

  /** Starts counting the updates whose name carries `tag` (see fanOutName); forgets earlier counts. */
  begin(tag: string): void {
    this.tag = tag;
    this.samples = new Samples();
    this.deliveries = 0;
    this.wanted = Number.POSITIVE_INFINITY;
  }

  /** Resolves once every subscriber has had `events` updates of this round, or after `timeoutMs`. */
  async settle(events: number, timeoutMs: number): Promise<GroupTally> {
    this.wanted = events * this.streams.length;
    if (this.deliveries < this.wanted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.reached = undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.reached = done;
      });
    }
    const tally = { deliveries: this.deliveries, latencies: this.samples.copy() };
    this.begin("");
    return tally;
  }

  close(): void {
    for (const stream of this.streams) stream.cancel();
    for (const client of this.clients) client.close();
  }
}
