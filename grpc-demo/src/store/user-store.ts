import type { UserEventType, UserRecord } from "../events/user-event.js";
import { userRecordSchema } from "../events/user-event.js";
import type { RedisClient } from "@clusterkit/redis-kit";
import type { UserCache } from "./user-cache.js";
import { createUserScript, deleteUserScript, seedUsersScript, updateUserScript } from "./user-scripts.js";
import { quote } from "./quote.js";
import { UserError } from "./user-errors.js";
import { scriptKeys, userKeys } from "./user-keys.js";
import { emailKey, validEmail, validId, validName } from "./user-validation.js";

/** A change made to the store, with the cursor of the event it published. */
export interface UserChange {
  type: UserEventType;
  user: UserRecord;
  cursor: string;
}

export interface UserStoreOptions {
  /** Name of this replica, recorded as the origin of its events. */
  origin: string;
  /** Events kept in the stream. */
  eventsRetention: number;
  /** Clock, injectable for tests. */
  now?: () => Date;
  /** This replica's user cache, fed by its event reader; without it every get reads Redis. */
  cache?: UserCache;
}

export interface UpdateFields {
  name?: string | undefined;
  email?: string | undefined;
}

/** The users shown in the handout, present in every fresh store. */
export const SEED_USERS = [
  { name: "Alice", email: "alice@example.com" },
  { name: "Bob", email: "bob@example.com" },
] as const;

const LIST_BATCH = 256;

/**
 * The user directory in Redis, shared by every replica. Each write is one Lua script that
 * changes the user and appends its domain event together, so readers of the event stream never
 * see a change that did not happen, nor miss one that did.
 */
export class RedisUserStore {
  private readonly now: () => Date;
  private readonly load = (id: number) => this.find(id);

  constructor(
    private readonly redis: RedisClient,
    private readonly options: UserStoreOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Creates Alice and Bob once per store; later calls, from any replica, do nothing. */
  async seed(): Promise<number> {
    const args = [userKeys.userPrefix, this.now().toISOString(), this.options.origin, String(this.options.eventsRetention)];
    for (const user of SEED_USERS) args.push(user.name, user.email, emailKey(user.email));
    return Number(await seedUsersScript.run(this.redis, [...scriptKeys, userKeys.seeded], args));
  }

  /**
   * A user by id, through the cache when there is one. The replica that made a write reads it
   * back at once; a write made on another replica shows once this replica's event reader has
   * applied it (typically within milliseconds), or at once with the read fence (see UserCache).
   */
  async get(id: number): Promise<UserRecord> {
    validId(id);
    const user = await (this.options.cache ? this.options.cache.read(id, this.load) : this.find(id));
    if (!user) throw new UserError("NOT_FOUND", `user ${id} not found`);
    return user;
  }

  /** The user as Redis holds it now (never cached), or undefined when there is none with that id. */
  async find(id: number): Promise<UserRecord | undefined> {
    const hash = await this.redis.hGetAll(`${userKeys.userPrefix}${id}`);
    return Object.keys(hash).length === 0 ? undefined : toRecord(hash);
  }

  async create(input: { name: string; email: string }): Promise<UserChange> {
    const name = validName(input.name);
    const email = validEmail(input.email);
    const reply = await createUserScript.run(this.redis, scriptKeys, [
      userKeys.userPrefix,
      name,
      email,
      emailKey(email),
      this.now().toISOString(),
      this.options.origin,
      String(this.options.eventsRetention),
    ]);
    return this.change("user.created", reply, { email });
  }

  async update(id: number, fields: UpdateFields): Promise<UserChange> {
    validId(id);
    const name = fields.name === undefined ? "" : validName(fields.name);
    const email = fields.email === undefined ? "" : validEmail(fields.email);
    const reply = await updateUserScript.run(this.redis, scriptKeys, [
      userKeys.userPrefix,
      String(id),
      name,
      email,
      email === "" ? "" : emailKey(email),
      this.now().toISOString(),
      this.options.origin,
      String(this.options.eventsRetention),
    ]);
    return this.change("user.updated", reply, { id, email });
  }

  async delete(id: number): Promise<UserChange> {
    validId(id);
    const reply = await deleteUserScript.run(this.redis, scriptKeys, [
      userKeys.userPrefix,
      String(id),
      this.now().toISOString(),
      this.options.origin,
      String(this.options.eventsRetention),
    ]);
    return this.change("user.deleted", reply, { id });
  }

  /** The cursor of the newest event, or "0-0" before the first one. */
  async latestCursor(): Promise<string> {
    const newest = await this.redis.xRevRange(userKeys.events, "+", "-", { COUNT: 1 });
    return newest[0]?.id ?? "0-0";
  }

  /**
   * Users in id order after `afterId` whose name contains `nameFilter` (case-insensitive),
   * read lazily in batches, so a listing of any size holds one batch in memory. Read
   * {@link latestCursor} first for a snapshot cursor: the listing then reflects at least every
   * change up to it.
   */
  async *scan(options: { afterId: number; nameFilter: string }): AsyncGenerator<UserRecord> {
    const filter = options.nameFilter.trim().toLowerCase();
    let after = options.afterId;
    for (;;) {
      const ids = await this.redis.zRangeByScore(userKeys.ids, `(${after}`, "+inf", {
        LIMIT: { offset: 0, count: LIST_BATCH },
      });
      if (ids.length === 0) return;
      const multi = this.redis.multi();
      for (const id of ids) multi.hGetAll(`${userKeys.userPrefix}${id}`);
      const hashes = (await multi.exec()) as unknown as Record<string, string>[];
      for (const hash of hashes) {
        // A user deleted between the two reads is simply absent from the listing.
        if (Object.keys(hash).length === 0) continue;
        const user = toRecord(hash);
        if (filter === "" || user.name.toLowerCase().includes(filter)) yield user;
      }
      after = Number(ids[ids.length - 1]);
      if (ids.length < LIST_BATCH) return;
    }
  }

  private change(type: UserEventType, reply: unknown, context: { id?: number; email?: string }): UserChange {
    const [outcome, json, cursor] = reply as [string, string?, string?];
    if (outcome === "NOT_FOUND") throw new UserError("NOT_FOUND", `user ${context.id} not found`);
    if (outcome === "ALREADY_EXISTS") {
      throw new UserError("ALREADY_EXISTS", `a user with email '${quote(context.email ?? "")}' already exists`, "email");
    }
    if (outcome !== "OK" || json === undefined || cursor === undefined) {
      throw new Error(`unexpected reply from the ${type} script: ${JSON.stringify(reply)}`);
    }
    const change = { type, user: userRecordSchema.parse(JSON.parse(json)), cursor };
    this.options.cache?.remember(change);
    return change;
  }
}

function toRecord(hash: Record<string, string>): UserRecord {
  return userRecordSchema.parse({ ...hash, id: Number(hash.id) });
}
