import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { LuaScript, type RedisStore } from "@clusterkit/redis-kit";
import { chatKeys } from "../redis/keys.js";
import { ChatError } from "./ack.js";
import { inboxOf } from "./room-history.js";

/** Redis time in ms; every liveness decision uses the clock of the Redis (node) holding the leases, never a replica's. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/*
 * Every script below touches the keys of one hash slot only (a room's, a nickname's, or the lease
 * set's), so the same scripts run on one Redis and on a Redis Cluster. What used to be read inside
 * them from other slots is read beside them: the live instances are fetched in parallel and the
 * member lists filtered here; the per-instance cleanup sets are kept by this process (added to
 * before a claim or join, trimmed after a release or leave), a superset of what it holds.
 */

/**
 * Room membership (KEYS[1]). Fields are `<instance>|<nickname>` -> sockets; only fields of live
 * instances count (filtered by the caller), so a dead replica's members drop out of every list as
 * soon as its heartbeat lapses. op join/leave/list return the fields after the change; op purge
 * (a dead instance, ARGV[2]) removes that instance's fields and returns { removed nicknames, fields }.
 */
const membersScript = new LuaScript(`
local op, field = ARGV[1], ARGV[2] .. '|' .. ARGV[3]
if op == 'join' then
  redis.call('HINCRBY', KEYS[1], field, 1)
elseif op == 'leave' then
  if redis.call('HINCRBY', KEYS[1], field, -1) <= 0 then redis.call('HDEL', KEYS[1], field) end
elseif op == 'purge' then
  local removed = {}
  local prefix = ARGV[2] .. '|'
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, #prefix) == prefix then
      redis.call('HDEL', KEYS[1], fields[i])
      table.insert(removed, string.sub(fields[i], #prefix + 1))
    end
  end
  return { removed, redis.call('HGETALL', KEYS[1]) }
end
return redis.call('HGETALL', KEYS[1])
`);

/**
 * Nickname ownership, under the nickname's canonical key (KEYS[1]; KEYS[2] its inbox, same slot).
 * Fields: `owner`, the proof of whoever claimed it (`key:<sha256 of the browser's session key>`,
 * `token:<subject>`, or `socket:<random>` for a socket without a key); `name`, the nickname as
 * shown; `keep`, how long the reservation outlives the owner's last socket (ms); every other
 * field counts the owner's sockets on one instance. While any are counted the hash (and the
 * inbox) never expires; when the last goes, both expire after `keep`, or go at once when `keep`
 * is 0. A claim succeeds only for the owner, or when no reservation exists: then it starts a new
 * one, and drops whatever inbox an earlier holder left behind, so a newcomer never reads it.
 * claim/restore return { 1, name } | { 0 } (taken); holders returns { name, instances counting sockets }.
 */
const nicknameScript = new LuaScript(`
local op, instance, owner = ARGV[1], ARGV[2], ARGV[3]
local meta = { owner = true, name = true, keep = true }
local function counted()
  local fields = redis.call('HGETALL', KEYS[1])
  local found = {}
  for i = 1, #fields, 2 do
    if not meta[fields[i]] and tonumber(fields[i + 1]) > 0 then table.insert(found, fields[i]) end
  end
  return found
end
if op == 'claim' or op == 'restore' then
  local current = redis.call('HGET', KEYS[1], 'owner')
  if current and current ~= owner then return { 0 } end
  if not current then
    -- After a Redis reset the inbox holds only what reached this owner since: keep it.
    if op == 'claim' then redis.call('DEL', KEYS[2]) end
    redis.call('HSET', KEYS[1], 'owner', owner, 'name', ARGV[4])
  end
  redis.call('HSET', KEYS[1], 'keep', ARGV[5])
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
  if op == 'claim' then redis.call('HINCRBY', KEYS[1], instance, 1)
  else redis.call('HSET', KEYS[1], instance, ARGV[6]) end
  return { 1, redis.call('HGET', KEYS[1], 'name') }
elseif op == 'release' or op == 'purge' then
  local current = redis.call('HGET', KEYS[1], 'owner')
  -- Gone with a Redis reset (and not restored yet), or someone else's since: nothing of ours.
  if not current or (op == 'release' and current ~= owner) then return 0 end
  if op == 'purge' and redis.call('HEXISTS', KEYS[1], instance) == 0 then return 0 end
  if op == 'purge' or redis.call('HINCRBY', KEYS[1], instance, -1) <= 0 then
    redis.call('HDEL', KEYS[1], instance)
  end
  if #counted() > 0 then return 1 end
  -- A logout (ARGV[4] 'drop') gives the nickname back at once: no reservation, no inbox left.
  local keep = ARGV[4] == 'drop' and 0 or tonumber(redis.call('HGET', KEYS[1], 'keep') or '0')
  if keep > 0 then
    redis.call('PEXPIRE', KEYS[1], keep)
    redis.call('PEXPIRE', KEYS[2], keep)
  else
    redis.call('DEL', KEYS[1], KEYS[2])
  end
  return 1
elseif op == 'holders' then
  return { redis.call('HGET', KEYS[1], 'name') or '', counted() }
end
return redis.error_reply('unknown op ' .. op)
`);

/** Renews this instance's lease; returns 1 when the lease was missing (first beat, or reaped). */
const heartbeatScript = new LuaScript(`${NOW}
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
`);

/** Instances whose lease runs (ARGV[1], when given: whether that one's does: 1 or 0). */
const liveScript = new LuaScript(`${NOW}
if ARGV[1] then
  local until_ms = redis.call('ZSCORE', KEYS[1], ARGV[1])
  return (until_ms and tonumber(until_ms) > now) and 1 or 0
end
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`);

/** Takes every expired instance off the live set; only one replica gets each one to clean up. */
const reapScript = new LuaScript(`${NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, instance in ipairs(dead) do redis.call('ZREM', KEYS[1], instance) end
return dead
`);

/** Per nickname, the sockets of live instances: { total sockets, by nickname, members sorted }. */
function countMembers(fields: string[], live: Set<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const field = fields[i]!;
    const sep = field.indexOf("|");
    const owner = field.slice(0, sep);
    const who = field.slice(sep + 1);
    if (live.has(owner)) counts.set(who, (counts.get(who) ?? 0) + Number(fields[i + 1]));
  }
  return counts;
}

const sorted = (counts: Map<string, number>) => [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export interface PresenceOptions {
  serverId: string;
  ttlMs: number;
  /** How long a nickname stays reserved after its owner's last socket (CHAT_NICKNAME_RESERVATION_MS). */
  reservationMs: number;
  /** Called for every user a dead instance took with it, after the cleanup. */
  onLeft: (room: string, nickname: string, members: string[]) => void;
  /**
   * Called when a restore finds a local user's nickname owned by someone else (claimed in the
   * moment between a Redis reset and this replica's restore): its sockets must stop using it.
   */
  onNicknameLost?: (key: string) => void;
}

/** Who claimed a nickname on this instance, to claim it again after a Redis reset. */
interface LocalNickname {
  owner: string;
  name: string;
  keepMs: number;
  sockets: number;
}

/**
 * Who is where, cluster-wide. Each replica writes only its own sockets under a per-process
 * instance id and keeps a lease (heartbeat every ttl/3); lists count only live instances, and the
 * first replica to notice an expired lease removes its entries and announces who left.
 */
export class Presence {
  /** Unique per process, so a restarted container with the same SERVER_ID starts clean. */
  readonly instance: string;
  private readonly localRooms = new Map<string, Map<string, number>>();
  private readonly localNicks = new Map<string, LocalNickname>();
  /** Claims of a nickname on their way, so a release meanwhile leaves it on the instance's set. */
  private readonly claiming = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;
  /** The heartbeat in progress: a claim waits for it, so it never runs ahead of a restore. */
  private beating: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisStore,
    private readonly logger: Logger,
    private readonly options: PresenceOptions,
  ) {
    this.instance = `${options.serverId}:${randomUUID().slice(0, 8)}`;
  }

  /** Redis is back (maybe empty, after a restart): beat now, so our users are restored at once. */
  private readonly onRedisReady = () => void this.tick();

  async start(): Promise<void> {
    await this.beat();
    this.redis.on("ready", this.onRedisReady);
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops heartbeating; with `withdraw`, also takes this instance off the live set now. */
  async stop(withdraw: boolean): Promise<void> {
    clearInterval(this.timer);
    this.redis.off("ready", this.onRedisReady);
    if (!withdraw) return;
    await this.redis.zRem(chatKeys.instances, this.instance);
    await this.redis.del([chatKeys.instanceRooms(this.instance), chatKeys.instanceNicks(this.instance)]);
  }

  /**
   * Claims a nickname for `owner` (see nicknameScript); resolves with the name as shown (the
   * owner's first spelling) or undefined when someone else holds it. `reserve`: whether it
   * outlives the owner's sockets (owners with a proof they can present again).
   */
  async claimNickname(key: string, name: string, owner: string, reserve: boolean): Promise<string | undefined> {
    const keepMs = reserve ? this.options.reservationMs : 0;
    await this.beating?.catch(() => undefined); // a failed beat is the tick's to log; the claim says for itself
    if (!(await this.leaseRuns())) {
      // Redis lost our lease (a reset): put our users' nicknames back before anyone new claims one.
      await this.beat();
      if (!(await this.leaseRuns())) throw new ChatError("UNAVAILABLE", "the chat store was reset and is being restored; try again shortly");
    }
    this.claiming.set(key, (this.claiming.get(key) ?? 0) + 1);
    let status: number;
    let shown: string | undefined;
    try {
      // Listed before the claim: if this process dies right after it, the reaper still finds it.
      await this.redis.sAdd(chatKeys.instanceNicks(this.instance), key);
      [status, shown] = (await nicknameScript.run(this.redis, this.nickKeys(key), ["claim", this.instance, owner, name, keepMs])) as [number, string?];
    } finally {
      this.claiming.set(key, this.claiming.get(key)! - 1);
      if (this.claiming.get(key) === 0) this.claiming.delete(key);
    }
    if (status !== 1 || shown === undefined) {
      await this.unlistNickname(key);
      return undefined;
    }
    const local = this.localNicks.get(key);
    if (local) local.sockets += 1;
    else this.localNicks.set(key, { owner, name: shown, keepMs, sockets: 1 });
    return shown;
  }

  /**
   * One socket of `owner` lets go of the nickname. When it was the last one, the reservation
   * starts (the nickname and its inbox expire after it), or with `drop` (a logout) both go now.
   */
  async releaseNickname(key: string, owner: string, opts: { drop?: boolean } = {}): Promise<void> {
    const local = this.localNicks.get(key);
    if (!local || local.owner !== owner) return; // lost to someone else in a restore
    if (--local.sockets <= 0) this.localNicks.delete(key);
    await nicknameScript.run(this.redis, this.nickKeys(key), ["release", this.instance, owner, opts.drop ? "drop" : "keep"]);
    await this.unlistNickname(key);
  }

  /** The nickname as shown, if a live socket of its owner holds it. */
  async isOnline(key: string): Promise<string | undefined> {
    const [[name, holders], live] = await Promise.all([
      nicknameScript.run(this.redis, this.nickKeys(key), ["holders", this.instance, ""]) as Promise<[string, string[]]>,
      this.liveInstances(),
    ]);
    return holders.some((holder) => live.has(holder)) ? name : undefined;
  }

  /** Adds one socket of `nickname`; `first` when the user was not in the room before. */
  async join(room: string, nickname: string): Promise<{ first: boolean; members: string[] }> {
    let counts = this.localRooms.get(room);
    if (!counts) this.localRooms.set(room, (counts = new Map<string, number>()));
    bump(counts, nickname, 1);
    // Listed before the member: if this process dies right after, the reaper still finds the room.
    await this.redis.sAdd(chatKeys.instanceRooms(this.instance), room);
    const counted = await this.runMembers("join", room, nickname);
    return { first: counted.get(nickname) === 1, members: sorted(counted) };
  }

  /** Removes one socket of `nickname`; `gone` when that was the user's last one in the room. */
  async leave(room: string, nickname: string): Promise<{ gone: boolean; members: string[] }> {
    const counts = this.localRooms.get(room);
    if (counts) {
      bump(counts, nickname, -1);
      if (counts.size === 0) this.localRooms.delete(room);
    }
    const counted = await this.runMembers("leave", room, nickname);
    // Checked after the script: a join of the room that started meanwhile has put it back.
    if (!this.localRooms.has(room)) await this.redis.sRem(chatKeys.instanceRooms(this.instance), room);
    return { gone: !counted.has(nickname), members: sorted(counted) };
  }

  async members(room: string): Promise<string[]> {
    return sorted(await this.runMembers("list", room, ""));
  }

  /** Runs the members script and counts, per nickname, the sockets of live instances. */
  private async runMembers(op: string, room: string, nickname: string): Promise<Map<string, number>> {
    const [fields, live] = await Promise.all([
      membersScript.run(this.redis, [chatKeys.roomMembers(room)], [op, this.instance, nickname]) as Promise<string[]>,
      this.liveInstances(),
    ]);
    return countMembers(fields, live);
  }

  private async liveInstances(): Promise<Set<string>> {
    return new Set((await liveScript.run(this.redis, [chatKeys.instances], [])) as string[]);
  }

  private async leaseRuns(): Promise<boolean> {
    return (await liveScript.run(this.redis, [chatKeys.instances], [this.instance])) === 1;
  }

  /** Takes a nickname off this instance's set once no socket here holds it and no claim of it is under way. */
  private async unlistNickname(key: string): Promise<void> {
    if (this.localNicks.has(key) || this.claiming.has(key)) return;
    await this.redis.sRem(chatKeys.instanceNicks(this.instance), key);
  }

  private nickKeys(key: string): string[] {
    return [chatKeys.nickname(key), chatKeys.roomLog(inboxOf(key))];
  }

  private async tick(): Promise<void> {
    try {
      await this.beat();
      await this.reap();
    } catch (error) {
      this.logger.warn({ err: error }, "presence heartbeat failed");
    }
  }

  /** One heartbeat at a time; a caller that arrives during one waits for it. */
  private beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const added = await heartbeatScript.run(this.redis, [chatKeys.instances], [this.instance, this.options.ttlMs]);
    if (added === 1 && this.beats++ > 0) {
      // Another replica took us for dead (a long pause, a Redis restart): put our sockets back.
      this.logger.warn({ instance: this.instance }, "presence lease had expired; re-registering local sockets");
      await this.restore();
    }
  }

  private async restore(): Promise<void> {
    for (const [room, counts] of this.localRooms) {
      await this.redis.sAdd(chatKeys.instanceRooms(this.instance), room);
      for (const [nickname, sockets] of counts) {
        await this.redis.hSet(chatKeys.roomMembers(room), `${this.instance}|${nickname}`, sockets);
      }
    }
    // With the owner's proof: a nickname restored without it could be claimed by anyone (11.2).
    for (const [key, local] of this.localNicks) {
      await this.redis.sAdd(chatKeys.instanceNicks(this.instance), key);
      const [status] = (await nicknameScript.run(this.redis, this.nickKeys(key), [
        "restore", this.instance, local.owner, local.name, local.keepMs, local.sockets,
      ])) as [number];
      if (status !== 1) {
        this.logger.warn({ nickname: local.name }, "a nickname was claimed by someone else before it could be restored");
        this.localNicks.delete(key);
        await this.unlistNickname(key);
        this.options.onNicknameLost?.(key);
      }
    }
  }

  private async reap(): Promise<void> {
    const dead = (await reapScript.run(this.redis, [chatKeys.instances], [])) as string[];
    for (const instance of dead) {
      if (instance === this.instance) continue;
      this.logger.info({ instance }, "removing a dead replica's members");
      for (const room of await this.redis.sMembers(chatKeys.instanceRooms(instance))) {
        const [[removed, fields], live] = await Promise.all([
          membersScript.run(this.redis, [chatKeys.roomMembers(room)], ["purge", instance, ""]) as Promise<[string[], string[]]>,
          this.liveInstances(),
        ]);
        const counted = countMembers(fields, live);
        const members = sorted(counted);
        for (const nickname of new Set(removed)) if (!counted.has(nickname)) this.options.onLeft(room, nickname, members);
      }
      for (const key of await this.redis.sMembers(chatKeys.instanceNicks(instance))) {
        await nicknameScript.run(this.redis, this.nickKeys(key), ["purge", instance, ""]);
      }
      await this.redis.del([chatKeys.instanceRooms(instance), chatKeys.instanceNicks(instance)]);
    }
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
