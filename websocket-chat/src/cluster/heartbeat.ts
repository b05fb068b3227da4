import type { Logger } from "pino";
import type { ChatReplicaBeat, MessageHop } from "../contracts/cluster.js";
import { LuaScript, type RedisStore } from "@clusterkit/redis-kit";
import { chatKeys } from "../redis/keys.js";

/** Writes one record (KEYS[2], ARGV[2] for ARGV[3] ms) and lists it (set KEYS[1]); both in one slot. */
const beatScript = new LuaScript(`
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return redis.call('SADD', KEYS[1], ARGV[1])
`);

/** Removes one record and its entry in the set. */
const withdrawScript = new LuaScript(`
redis.call('DEL', KEYS[2])
return redis.call('SREM', KEYS[1], ARGV[1])
`);

/** Message paths each replica keeps for the cluster view. */
const RECENT_HOPS = 8;

export interface ChatHeartbeatOptions {
  serverId: string;
  /** The presence identity, so the view and the presence lease name a process alike. */
  instance: string;
  /** How long the record outlives its last beat (the presence lease). */
  leaseMs: number;
  /** Live numbers sampled at each beat; message totals since the replica started. */
  sample: () => Promise<{ connections: number; rooms: number; messagesIn: number; messagesOut: number }>;
}

/**
 * This replica's line in the cluster view: a JSON record under a key that expires one lease after
 * the last beat, so a crashed replica drops out by itself, with nobody cleaning up. Kept apart from
 * Presence: the view is for people watching, presence decides who is online.
 */
export class ChatHeartbeat {
  private readonly startedAt = Date.now();
  private readonly hops = new Map<string, MessageHop>();
  private last = { at: Date.now(), messagesIn: 0, messagesOut: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisStore,
    private readonly logger: Logger,
    private readonly options: ChatHeartbeatOptions,
  ) {}

  /** Beats at most every second (the page polls every second) and at least three times a lease. */
  get intervalMs(): number {
    return Math.max(100, Math.min(1_000, Math.floor(this.options.leaseMs / 3)));
  }

  /** A room message reached `count` local sockets: remembered for the view's message paths. */
  delivered(message: { id: string; room: string; server: string }, count: number): void {
    const hop = this.hops.get(message.id);
    if (hop) {
      hop.delivered += count;
      return;
    }
    this.hops.set(message.id, { id: message.id, room: message.room, takenBy: message.server, delivered: count });
    // Oldest first in a Map: drop from the front.
    if (this.hops.size > RECENT_HOPS) this.hops.delete(this.hops.keys().next().value!);
  }

  async start(): Promise<void> {
    const beat = () => this.beat().catch((error: unknown) => this.logger.warn({ err: error }, "cluster heartbeat failed"));
    await beat();
    this.timer = setInterval(() => void beat(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops beating; with `withdraw`, removes the record now (a graceful close leaves the view at once). */
  async stop(withdraw: boolean): Promise<void> {
    clearInterval(this.timer);
    if (!withdraw) return;
    const { instance } = this.options;
    await withdrawScript.run(this.redis, [chatKeys.heartbeats, chatKeys.heartbeat(instance)], [instance]);
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    const sample = await this.options.sample();
    const seconds = Math.max((now - this.last.at) / 1000, 0.001);
    const rate = (total: number, before: number) => Math.round(((total - before) / seconds) * 10) / 10;
    const record: ChatReplicaBeat = {
      id: this.options.serverId,
      instance: this.options.instance,
      uptimeS: Math.round((now - this.startedAt) / 1000),
      ...sample,
      inPerS: rate(sample.messagesIn, this.last.messagesIn),
      outPerS: rate(sample.messagesOut, this.last.messagesOut),
      recent: [...this.hops.values()].reverse(),
      at: new Date(now).toISOString(),
    };
    this.last = { at: now, messagesIn: sample.messagesIn, messagesOut: sample.messagesOut };
    const { instance, leaseMs } = this.options;
    await beatScript.run(this.redis, [chatKeys.heartbeats, chatKeys.heartbeat(instance)], [instance, JSON.stringify(record), leaseMs]);
    await this.prune();
  }

  /** Takes instances whose record has expired off the set (the writers own it; readers only read). */
  private async prune(): Promise<void> {
    const instances = await this.redis.sMembers(chatKeys.heartbeats);
    if (instances.length === 0) return;
    const records = await this.redis.mGet(instances.map(chatKeys.heartbeat));
    const expired = instances.filter((_, i) => records[i] === null);
    if (expired.length > 0) await this.redis.sRem(chatKeys.heartbeats, expired);
  }
}
