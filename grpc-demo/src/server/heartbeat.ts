import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { RedisClient } from "@clusterkit/redis-kit";
import { usersHeartbeatKeys, type UsersReplicaBeat } from "./heartbeat-record.js";

export interface UsersHeartbeatOptions {
  serverId: string;
  /** How often the record is rewritten. @default 1000 */
  intervalMs?: number;
  /** How long a record outlives its last beat: a replica that stops beating drops out after this. @default 3000 */
  leaseMs?: number;
  /** Live numbers sampled at each beat. */
  sample: () => { subscribers: number; cursor: string };
}

/** Distinct methods counted; more (calls to paths nobody serves) are not tracked. */
const MAX_METHODS = 64;

/**
 * Publishes this replica's load for the chat's cluster view: a JSON record under a key that
 * expires by itself (so a killed replica vanishes without anyone cleaning up), listed in a set
 * that readers prune. Calls are counted by the call interceptor: one map increment per call.
 */
export class UsersHeartbeat {
  readonly instance: string;
  private readonly startedAt = Date.now();
  private calls = new Map<string, number>();
  private lastBeat = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly options: UsersHeartbeatOptions,
  ) {
    this.instance = `${options.serverId}:${randomUUID().slice(0, 8)}`;
  }

  /** Counts a call this server starts, by method path (told by the call interceptor). */
  readonly count = (path: string): void => {
    const key = path.slice(1);
    const seen = this.calls.get(key);
    if (seen !== undefined) this.calls.set(key, seen + 1);
    else if (this.calls.size < MAX_METHODS) this.calls.set(key, 1);
  };

  /** Beats now and then every interval; a failed beat is logged, the next one retries. */
  async start(): Promise<void> {
    const beat = () => this.beat().catch((error: unknown) => this.logger.warn({ err: error }, "users heartbeat failed"));
    await beat();
    this.timer = setInterval(() => void beat(), this.options.intervalMs ?? 1_000);
    this.timer.unref();
  }

  /** Stops beating; with `withdraw`, also removes the record now instead of letting it expire. */
  async stop(withdraw: boolean): Promise<void> {
    clearInterval(this.timer);
    if (!withdraw || !this.redis.isOpen) return;
    await this.redis
      .multi()
      .del(usersHeartbeatKeys.beat(this.instance))
      .sRem(usersHeartbeatKeys.index, this.instance)
      .exec();
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    const seconds = Math.max((now - this.lastBeat) / 1000, 0.001);
    const callsPerS: Record<string, number> = {};
    for (const [method, count] of this.calls) callsPerS[method] = Math.round((count / seconds) * 10) / 10;
    this.calls = new Map();
    this.lastBeat = now;
    const record: UsersReplicaBeat = {
      id: this.options.serverId,
      instance: this.instance,
      uptimeS: Math.round((now - this.startedAt) / 1000),
      callsPerS,
      ...this.options.sample(),
      at: new Date(now).toISOString(),
    };
    await this.redis
      .multi()
      .set(usersHeartbeatKeys.beat(this.instance), JSON.stringify(record), { PX: this.options.leaseMs ?? 3_000 })
      .sAdd(usersHeartbeatKeys.index, this.instance)
      .exec();
    // The set is this service's: its replicas take expired instances off it, readers only read.
    const instances = await this.redis.sMembers(usersHeartbeatKeys.index);
    const records = await this.redis.mGet(instances.map(usersHeartbeatKeys.beat));
    const expired = instances.filter((_, i) => records[i] === null);
    if (expired.length > 0) await this.redis.sRem(usersHeartbeatKeys.index, expired);
  }
}
