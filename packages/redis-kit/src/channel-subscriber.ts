import { types } from "node:util";
import calculateSlot from "cluster-key-slot";
import type { RedisClient, WarnLogger } from "./connect-redis.js";
import type { RedisClusterClient } from "./redis-store.js";

/** Told when some channels may have missed messages, and when they are subscribed again. */
export interface SubscriptionWatcher {
  /** From now on these channels' subscriptions are being (re)made: what was published meanwhile may be missing. */
  interrupted(channels: string[]): void;
  /** These channels are subscribed again: anything published from now on arrives. */
  resumed(channels: string[]): void;
}

/**
 * Per-channel pub/sub for a service that subscribes and unsubscribes often (a channel per room)
 * and must know when a subscription may have missed messages, to fill the gap from a stream.
 * `subscribe` resolves once messages published from then on arrive.
 */
export interface ChannelSubscriber {
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string, listener: (message: string) => void): Promise<void>;
  watch(watcher: SubscriptionWatcher): void;
  /** Stops watching (the connections are the caller's to close). */
  stop(): void;
}

/**
 * Runs one subscribe or unsubscribe per channel at a time, in call order: node-redis keeps a
 * channel's listeners only once Redis has answered, so an unsubscribe still on its way could
 * otherwise take a listener added just after it.
 */
class ChannelQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run(channel: string, step: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(channel) ?? Promise.resolve()).catch(() => undefined).then(step);
    const tail = next.catch(() => undefined);
    this.tails.set(channel, tail);
    void tail.then(() => {
      if (this.tails.get(channel) === tail) this.tails.delete(channel);
    });
    return next;
  }
}

/**
 * Plain pub/sub (SUBSCRIBE) on one Redis connection. When the connection drops, node-redis
 * subscribes again by itself on reconnect: every channel is interrupted from 'connect' (before
 * the SUBSCRIBE goes out) and resumed at 'ready' (once it is answered).
 */
export class PlainChannelSubscriber implements ChannelSubscriber {
  private readonly channels = new Set<string>();
  private readonly queue = new ChannelQueue();
  private watcher: SubscriptionWatcher | undefined;
  private readonly onConnect = () => this.watcher?.interrupted([...this.channels]);
  private readonly onReady = () => this.watcher?.resumed([...this.channels]);

  constructor(private readonly client: RedisClient) {
    client.on("connect", this.onConnect);
    client.on("ready", this.onReady);
  }

  watch(watcher: SubscriptionWatcher): void {
    this.watcher = watcher;
  }

  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    this.channels.add(channel);
    return this.queue.run(channel, () => this.client.subscribe(channel, listener));
  }

  unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    this.channels.delete(channel);
    return this.queue.run(channel, () => this.client.unsubscribe(channel, listener));
  }

  stop(): void {
    this.client.off("connect", this.onConnect);
    this.client.off("ready", this.onReady);
  }
}

type AnyListener = (message: never, channel: never) => unknown;
interface Tracked {
  listeners: Map<AnyListener, boolean>;
  /** The per-node connection the channel was last subscribed on. */
  client: RedisClient | undefined;
}

/** How often the subscriptions are checked against the client's slot map. */
const CHECK_EVERY_MS = 100;

/**
 * Sharded pub/sub (SSUBSCRIBE) on a cluster client, which subscribes each channel on a
 * connection to the master of the channel's slot. Two things can silently end a subscription:
 * that connection drops and comes back (node-redis subscribes again by itself: interrupted at
 * 'connect', resumed at 'ready'), or the slot gets a new master after a failover: node-redis then
 * closes the old master's connection with its subscriptions. A check every 100 ms finds channels
 * whose master's connection is not the one they were subscribed on and subscribes them again.
 *
 * `track(cluster)` also wraps the client's own sSubscribe/sUnsubscribe, so a library subscribing
 * through them (the Socket.IO sharded adapter) gets its channels back after a failover as well.
 */
export class ShardedChannelSubscriber implements ChannelSubscriber {
  private readonly tracked = new Map<string, Tracked>();
  private readonly queue = new ChannelQueue();
  private readonly watchedClients = new WeakSet<RedisClient>();
  private watcher: SubscriptionWatcher | undefined;
  private readonly timer: NodeJS.Timeout;
  private checking = false;
  private readonly sSubscribe: RedisClusterClient["sSubscribe"];
  private readonly sUnsubscribe: RedisClusterClient["sUnsubscribe"];

  constructor(
    private readonly cluster: RedisClusterClient,
    private readonly logger: WarnLogger,
  ) {
    this.sSubscribe = cluster.sSubscribe.bind(cluster);
    this.sUnsubscribe = cluster.sUnsubscribe.bind(cluster);
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Routes the cluster client's own sSubscribe/sUnsubscribe through this tracker. */
  static track(cluster: RedisClusterClient, logger: WarnLogger): ShardedChannelSubscriber {
    const subscriber = new ShardedChannelSubscriber(cluster, logger);
    cluster.sSubscribe = ((channels: string | string[], listener: AnyListener, buffers?: boolean) =>
      Promise.all([channels].flat().map((channel) => subscriber.add(channel, listener, buffers ?? false))).then(() => undefined));
    cluster.sUnsubscribe = ((channels: string | string[], listener?: AnyListener) =>
      Promise.all([channels].flat().map((channel) => subscriber.remove(channel, listener))).then(() => undefined));
    return subscriber;
  }

  watch(watcher: SubscriptionWatcher): void {
    this.watcher = watcher;
  }

  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.add(channel, listener, false);
  }

  unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.remove(channel, listener);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private add(channel: string, listener: AnyListener, buffers: boolean): Promise<void> {
    let entry = this.tracked.get(channel);
    if (!entry) this.tracked.set(channel, (entry = { listeners: new Map(), client: undefined }));
    entry.listeners.set(listener, buffers);
    return this.queue.run(channel, () => this.subscribeOnLiveMaster(channel));
  }

  private remove(channel: string, listener: AnyListener | undefined): Promise<void> {
    const entry = this.tracked.get(channel);
    if (entry) {
      if (listener) entry.listeners.delete(listener);
      else entry.listeners.clear();
      if (entry.listeners.size === 0) this.tracked.delete(channel);
    }
    // Never rejects (the adapter does not catch): a failed unsubscribe leaves at worst a
    // subscription whose messages nobody listens to, gone with its connection.
    return this.queue.run(channel, () => this.sUnsubscribe(channel, listener as never)).catch((error: unknown) => {
      this.logger.warn({ err: error, channel }, "unsubscribing a sharded channel failed");
    });
  }

  /** The connection that holds `channel`'s subscription now, if there is one yet. */
  private async connectionOf(channel: string): Promise<RedisClient | undefined> {
    const client = this.cluster.slots[calculateSlot(channel)]?.master.pubSubClient;
    return types.isPromise(client) ? await client.catch(() => undefined) : client;
  }

  private noteClient(channel: string, client: RedisClient | undefined): void {
    const entry = this.tracked.get(channel);
    if (entry) entry.client = client;
    if (!client || this.watchedClients.has(client)) return;
    this.watchedClients.add(client);
    // This node's connection dropped and is back: node-redis subscribes its channels again.
    const onThisClient = () => [...this.tracked].filter(([, tracked]) => tracked.client === client).map(([name]) => name);
    client.on("connect", () => this.watcher?.interrupted(onThisClient()));
    client.on("ready", () => this.watcher?.resumed(onThisClient()));
  }

  /** Subscribes again every channel whose slot's master connection is not the one it was subscribed on. */
  private async check(): Promise<void> {
    if (this.checking || !this.cluster.isOpen) return;
    this.checking = true;
    try {
      const moved: string[] = [];
      for (const [channel, entry] of this.tracked) {
        const current = this.cluster.slots[calculateSlot(channel)]?.master.pubSubClient;
        if (entry.client !== undefined && current !== entry.client) moved.push(channel);
      }
      if (moved.length === 0) return;
      this.watcher?.interrupted(moved);
      await Promise.all(moved.map((channel) => this.resubscribe(channel)));
      this.watcher?.resumed(moved.filter((channel) => this.tracked.has(channel)));
    } finally {
      this.checking = false;
    }
  }

  private resubscribe(channel: string): Promise<void> {
    return this.queue.run(channel, () => this.subscribeOnLiveMaster(channel));
  }

  /**
   * Subscribes the channel's listeners once its slot's master is connected. Never on a master
   * that is down: node-redis would open a connection to it that only ends once it connects, and
   * that pending connection would stall the next topology read. Retries until it is done, the
   * channel is dropped or the client closes; never rejects (the adapter does not catch).
   */
  private async subscribeOnLiveMaster(channel: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const entry = this.tracked.get(channel);
      if (!entry || !this.cluster.isOpen) return;
      if (this.masterIsUp(channel)) {
        try {
          for (const [listener, buffers] of entry.listeners) await this.sSubscribe(channel, listener as never, buffers);
          this.noteClient(channel, await this.connectionOf(channel));
          return;
        } catch (error) {
          if (attempt === 0) this.logger.warn({ err: error, channel }, "subscribing a channel on its master failed; retrying");
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500)));
    }
  }

  /** Whether the client's connection to the master of `channel`'s slot is up. */
  private masterIsUp(channel: string): boolean {
    const client = this.cluster.slots[calculateSlot(channel)]?.master.client;
    return client !== undefined && !types.isPromise(client) && client.isReady;
  }
}
