import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { LuaScript, type RedisClient } from "@clusterkit/redis-kit";
import { chatKeys } from "../redis/keys.js";
import { ChatError } from "./ack.js";
import { inboxOf } from "./room-history.js";

/** Redis time in ms; every liveness decision uses Redis's clock, never a replica's. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local alive = {}
local function is_alive(instance)
  if alive[instance] == nil then
    local until_ms = redis.call('ZSCORE', KEYS[2], instance)
    alive[instance] = until_ms ~= false and tonumber(until_ms) > now
  end
  return alive[instance]
end`;

/**
 * Room membership. Fields are `<instance>|<nickname>` -> sockets; only fields of live instances
 * count, so a dead replica's members drop out of every list as soon as its heartbeat lapses.
 * The instance's room set (KEYS[3]) holds exactly the rooms where it has a field: a leave that
 * takes its last one out also takes the room out, so the set cannot grow past live membership.
 * op join/leave returns { that user's live sockets in the room, members };
 * op purge (a dead instance) returns { nicknames now gone from the room, members }.
 */
const membersScript = new LuaScript(`${NOW}
local op, instance, nick, room = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local removed = {}
if op == 'join' then
  redis.call('HINCRBY', KEYS[1], instance .. '|' .. nick, 1)
  redis.call('SADD', KEYS[3], room)
elseif op == 'leave' then
  if redis.call('HINCRBY', KEYS[1], instance .. '|' .. nick, -1) <= 0 then
    redis.call('HDEL', KEYS[1], instance .. '|' .. nick)
  end
end
local counts = {}
local mine = false
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local sep = string.find(fields[i], '|', 1, true)
  local owner, who = string.sub(fields[i], 1, sep - 1), string.sub(fields[i], sep + 1)
  if owner == instance then mine = true end
  if op == 'purge' and owner == instance then
    redis.call('HDEL', KEYS[1], fields[i])
    table.insert(removed, who)
  elseif is_alive(owner) then
    counts[who] = (counts[who] or 0) + tonumber(fields[i + 1])
  end
end
if op == 'leave' and not mine then redis.call('SREM', KEYS[3], room) end
local members = {}
for who in pairs(counts) do table.insert(members, who) end
table.sort(members)
if op == 'purge' then
  local gone = {}
  for _, who in ipairs(removed) do if counts[who] == nil then table.insert(gone, who) end end
  return { gone, members }
end
return { counts[nick] or 0, members }
`);

/**
 * Nickname ownership, under the nickname's canonical key (KEYS[1]). Fields: `owner`, the proof
 * of whoever claimed it (`key:<sha256 of the browser's session key>`, `token:<subject>`, or
 * `socket:<random>` for a socket without a key); `name`, the nickname as shown; `keep`, how long
 * the reservation outlives the owner's last socket (ms); every other field counts the owner's
 * sockets on one instance. While any are counted the hash (and the inbox, KEYS[4]) never
 * expires; when the last goes, both expire after `keep`, or go at once when `keep` is 0.
 * A claim succeeds only for the owner, or when no reservation exists: then it starts a new one,
 * and drops whatever inbox an earlier holder left behind, so a newcomer never reads it.
 * claim returns { 1, name } | { 0 } (taken) | { -1 } (this instance's lease is missing: restore first).
 */
const nicknameScript = new LuaScript(`${NOW}
local op, instance, owner, key = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
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
  if op == 'claim' and not is_alive(instance) then return { -1 } end
  local current = redis.call('HGET', KEYS[1], 'owner')
  if current and current ~= owner then return { 0 } end
  if not current then
    -- After a Redis reset the inbox holds only what reached this owner since: keep it.
    if op == 'claim' then redis.call('DEL', KEYS[4]) end
    redis.call('HSET', KEYS[1], 'owner', owner, 'name', ARGV[5])
  end
  redis.call('HSET', KEYS[1], 'keep', ARGV[6])
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[4])
  if op == 'claim' then redis.call('HINCRBY', KEYS[1], instance, 1)
  else redis.call('HSET', KEYS[1], instance, ARGV[7]) end
  redis.call('SADD', KEYS[3], key)
  return { 1, redis.call('HGET', KEYS[1], 'name') }
elseif op == 'release' or op == 'purge' then
  local current = redis.call('HGET', KEYS[1], 'owner')
  -- Gone with a Redis reset (and not restored yet), or someone else's since: nothing of ours.
  if not current or (op == 'release' and current ~= owner) then return 0 end
  if op == 'purge' or redis.call('HINCRBY', KEYS[1], instance, -1) <= 0 then
    redis.call('HDEL', KEYS[1], instance)
    -- This instance holds the nickname no more: its set stays as small as its live users.
    redis.call('SREM', KEYS[3], key)
  end
  if #counted() > 0 then return 1 end
  -- A logout (ARGV[5] 'drop') gives the nickname back at once: no reservation, no inbox left.
  local keep = ARGV[5] == 'drop' and 0 or tonumber(redis.call('HGET', KEYS[1], 'keep') or '0')
  if keep > 0 then
    redis.call('PEXPIRE', KEYS[1], keep)
    redis.call('PEXPIRE', KEYS[4], keep)
  else
    redis.call('DEL', KEYS[1], KEYS[4])
  end
  return 1
elseif op == 'online' then
  for _, holder in ipairs(counted()) do
    if is_alive(holder) then return redis.call('HGET', KEYS[1], 'name') end
  end
  return false
end
return redis.error_reply('unknown op ' .. op)
`);

/** Renews this instance's lease; returns 1 when the lease was missing (first beat, or reaped). */
const heartbeatScript = new LuaScript(`${NOW}
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
`);

/** Takes every expired instance off the live set; only one replica gets each one to clean up. */
const reapScript = new LuaScript(`${NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, instance in ipairs(dead) do redis.call('ZREM', KEYS[1], instance) end
return dead
`);

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
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;
  /** The heartbeat in progress: a claim waits for it, so it never runs ahead of a restore. */
  private beating: Promise<void> | undefined;

  constructor(
    private readonly redis: RedisClient,
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
    const claim = () => nicknameScript.run(this.redis, this.nickKeys(key), ["claim", this.instance, owner, key, name, keepMs]) as Promise<[number, string?]>;
    await this.beating?.catch(() => undefined); // a failed beat is the tick's to log; the claim says for itself
    let [status, shown] = await claim();
    if (status === -1) {
      // Redis lost our lease (a reset): put our users' nicknames back before anyone new claims one.
      await this.beat();
      [status, shown] = await claim();
    }
    if (status === -1) throw new ChatError("UNAVAILABLE", "the chat store was reset and is being restored; try again shortly");
    if (status !== 1 || shown === undefined) return undefined;
    const local = this.localNicks.get(key);
    if (local) local.sockets += 1;
    else this.localNicks.set(key, { owner, name: shown, keepMs, sockets: 1 });
    return shown;
  }

  /** Releases one socket of `owner`'s; the reservation then runs for `reservationMs` (or ends now, without one). */
  /**
   * One socket of `owner` lets go of the nickname. When it was the last one, the reservation
   * starts (the nickname and its inbox expire after it), or with `drop` (a logout) both go now.
   */
  async releaseNickname(key: string, owner: string, opts: { drop?: boolean } = {}): Promise<void> {
    const local = this.localNicks.get(key);
    if (!local || local.owner !== owner) return; // lost to someone else in a restore
    if (--local.sockets <= 0) this.localNicks.delete(key);
    await nicknameScript.run(this.redis, this.nickKeys(key), ["release", this.instance, owner, key, opts.drop ? "drop" : "keep"]);
  }

  /** The nickname as shown, if a live socket of its owner holds it. */
  async isOnline(key: string): Promise<string | undefined> {
    const name = await nicknameScript.run(this.redis, this.nickKeys(key), ["online", this.instance, "", key]);
    return typeof name === "string" ? name : undefined;
  }

  /** Adds one socket of `nickname`; `first` when the user was not in the room before. */
  async join(room: string, nickname: string): Promise<{ first: boolean; members: string[] }> {
    let counts = this.localRooms.get(room);
    if (!counts) this.localRooms.set(room, (counts = new Map<string, number>()));
    bump(counts, nickname, 1);
    const [sockets, members] = await this.runMembers("join", room, nickname);
    return { first: sockets === 1, members };
  }

  /** Removes one socket of `nickname`; `gone` when that was the user's last one in the room. */
  async leave(room: string, nickname: string): Promise<{ gone: boolean; members: string[] }> {
    const counts = this.localRooms.get(room);
    if (counts) {
      bump(counts, nickname, -1);
      if (counts.size === 0) this.localRooms.delete(room);
    }
    const [sockets, members] = await this.runMembers("leave", room, nickname);
    return { gone: sockets === 0, members };
  }

  async members(room: string): Promise<string[]> {
    return (await this.runMembers("list", room, ""))[1];
  }

  private async runMembers(op: string, room: string, nickname: string): Promise<[number, string[]]> {
    const reply = (await membersScript.run(
      this.redis,
      [chatKeys.roomMembers(room), chatKeys.instances, chatKeys.instanceRooms(this.instance)],
      [op, this.instance, nickname, room],
    )) as [number, string[]];
    return reply;
  }

  private nickKeys(key: string, instance = this.instance): string[] {
    return [chatKeys.nickname(key), chatKeys.instances, chatKeys.instanceNicks(instance), chatKeys.roomLog(inboxOf(key))];
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
      for (const [nickname, sockets] of counts) {
        await this.redis.hSet(chatKeys.roomMembers(room), `${this.instance}|${nickname}`, sockets);
      }
      await this.redis.sAdd(chatKeys.instanceRooms(this.instance), room);
    }
    // With the owner's proof: a nickname restored without it could be claimed by anyone (11.2).
    for (const [key, local] of this.localNicks) {
      const [status] = (await nicknameScript.run(this.redis, this.nickKeys(key), [
        "restore", this.instance, local.owner, key, local.name, local.keepMs, local.sockets,
      ])) as [number];
      if (status !== 1) {
        this.logger.warn({ nickname: local.name }, "a nickname was claimed by someone else before it could be restored");
        this.localNicks.delete(key);
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
        const [gone, members] = (await membersScript.run(
          this.redis,
          [chatKeys.roomMembers(room), chatKeys.instances, chatKeys.instanceRooms(instance)],
          ["purge", instance, "", room],
        )) as [string[], string[]];
        for (const nickname of gone) this.options.onLeft(room, nickname, members);
      }
      for (const key of await this.redis.sMembers(chatKeys.instanceNicks(instance))) {
        await nicknameScript.run(this.redis, this.nickKeys(key, instance), ["purge", instance, "", key]);
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
