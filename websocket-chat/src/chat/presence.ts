import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { RedisClient } from "../redis/connect-redis.js";
import { chatKeys } from "../redis/keys.js";
import { LuaScript } from "../redis/lua-script.js";

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
 * Nickname ownership: `owner` is whoever claimed it (a session key or a token subject); other
 * fields count that user's sockets per instance. A claim by someone else succeeds only when no
 * live instance holds a socket of the current owner.
 */
const nicknameScript = new LuaScript(`${NOW}
local op, instance, owner, nick = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if op == 'claim' then
  local current = redis.call('HGET', KEYS[1], 'owner')
  if current and current ~= owner then
    local fields = redis.call('HGETALL', KEYS[1])
    for i = 1, #fields, 2 do
      if fields[i] ~= 'owner' and tonumber(fields[i + 1]) > 0 and is_alive(fields[i]) then return 0 end
    end
    redis.call('DEL', KEYS[1])
  end
  redis.call('HSET', KEYS[1], 'owner', owner)
  redis.call('HINCRBY', KEYS[1], instance, 1)
  redis.call('SADD', KEYS[3], nick)
  return 1
elseif op == 'release' or op == 'purge' then
  if op == 'purge' or redis.call('HINCRBY', KEYS[1], instance, -1) <= 0 then
    redis.call('HDEL', KEYS[1], instance)
    -- This instance holds the nickname no more: its set stays as small as its live users.
    redis.call('SREM', KEYS[3], nick)
  end
  if redis.call('HLEN', KEYS[1]) <= 1 then redis.call('DEL', KEYS[1]) end
  return 1
elseif op == 'online' then
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if fields[i] ~= 'owner' and tonumber(fields[i + 1]) > 0 and is_alive(fields[i]) then return 1 end
  end
  return 0
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
  /** Called for every user a dead instance took with it, after the cleanup. */
  onLeft: (room: string, nickname: string, members: string[]) => void;
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
  private readonly localNicks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly options: PresenceOptions,
  ) {
    this.instance = `${options.serverId}:${randomUUID().slice(0, 8)}`;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops heartbeating; with `withdraw`, also takes this instance off the live set now. */
  async stop(withdraw: boolean): Promise<void> {
    clearInterval(this.timer);
    if (!withdraw) return;
    await this.redis.zRem(chatKeys.instances, this.instance);
    await this.redis.del([chatKeys.instanceRooms(this.instance), chatKeys.instanceNicks(this.instance)]);
  }

  async claimNickname(nickname: string, owner: string): Promise<boolean> {
    const claimed = await nicknameScript.run(this.redis, this.nickKeys(nickname), ["claim", this.instance, owner, nickname]);
    if (claimed === 1) bump(this.localNicks, nickname, 1);
    return claimed === 1;
  }

  async releaseNickname(nickname: string): Promise<void> {
    bump(this.localNicks, nickname, -1);
    await nicknameScript.run(this.redis, this.nickKeys(nickname), ["release", this.instance, "", nickname]);
  }

  async isOnline(nickname: string): Promise<boolean> {
    return (await nicknameScript.run(this.redis, this.nickKeys(nickname), ["online", this.instance, "", nickname])) === 1;
  }

  /** Adds one socket of `nickname`; `first` when the user was not in the room before. */
  async join(room: string, nickname: string): Promise<{ first: boolean; members: string[] }> {
    let counts = this.localRooms.get(room);
    if (!counts) this.localRooms.set(room, (counts = new Map()));
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

  private nickKeys(nickname: string): string[] {
    return [chatKeys.nickname(nickname), chatKeys.instances, chatKeys.instanceNicks(this.instance)];
  }

  private async tick(): Promise<void> {
    try {
      await this.beat();
      await this.reap();
    } catch (error) {
      this.logger.warn({ err: error }, "presence heartbeat failed");
    }
  }

  private async beat(): Promise<void> {
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
    for (const [nickname, sockets] of this.localNicks) {
      await this.redis.hSet(chatKeys.nickname(nickname), this.instance, sockets);
      await this.redis.sAdd(chatKeys.instanceNicks(this.instance), nickname);
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
      for (const nickname of await this.redis.sMembers(chatKeys.instanceNicks(instance))) {
        await nicknameScript.run(
          this.redis,
          [chatKeys.nickname(nickname), chatKeys.instances, chatKeys.instanceNicks(instance)],
          ["purge", instance, "", nickname],
        );
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
