import { compareStreamIds } from "@clusterkit/redis-kit";
import type { UserEventFollower } from "../events/user-event-hub.js";
import type { UserEventEntry, UserEventType, UserRecord } from "../events/user-event.js";
import { ReadFence } from "./read-fence.js";

export interface UserCacheOptions {
  /** Most users kept; the least recently used go first. 0 turns the cache off. */
  maxSize: number;
  /**
   * Reads the cursor of the newest event in the stream from Redis: the read fence (see
   * {@link UserCache}). Without it, a change made on another replica shows here once this
   * replica's event reader has applied it.
   */
  newestCursor?: () => Promise<string>;
  /**
   * Cached users are served only while the event reader has answered within this long. Its
   * blocking read returns at least every `blockMs` even when nothing changes, so longer silence
   * means the reader is stuck and the cache can no longer vouch for what it holds.
   * @default 5000
   */
  maxSilenceMs?: number;
  /** Monotonic clock in ms, injectable for tests. */
  now?: () => number;
}

/** A change this replica made itself, with the cursor of its event. */
export interface OwnChange {
  type: UserEventType;
  user: UserRecord;
  cursor: string;
}

/** A read from Redis in flight; shared by every read of that id that misses meanwhile. */
interface Fill {
  promise: Promise<UserRecord | undefined>;
  /** Set when the user changed (or the reader lost track) while the read was in flight. */
  stale: boolean;
}

/**
 * This replica's read-through cache of users, kept current by its event reader: every change
 * to a user, from any replica, is in the users event stream, and the reader applies each one
 * here in stream order before any subscriber sees it.
 *
 * Always:
 * - Once this replica has seen a change, it never serves the older user: an event replaces or
 *   removes the user, and a Redis read that was in flight when the event (or this replica's own
 *   write) landed is answered but not kept, so it cannot overwrite the newer state.
 * - Read-your-writes on the replica that took the write: its result is stored at once (remember),
 *   unless the reader has already applied that event and so possibly a newer one.
 * - While the reader is failing, silent for longer than `maxSilenceMs`, or has skipped trimmed
 *   history, the cache is emptied and bypassed until the reader follows again.
 * - At most `maxSize` users are held; the least recently used go first.
 *
 * Staleness on other replicas (the default, unfenced): a GetUser on replica B right after an
 * UpdateUser on replica A returns the previous user until B's reader has applied the event:
 * typically a few milliseconds (one XREAD reply plus B's event-loop delay), bounded by
 * `maxSilenceMs` if the reader stalls. A client that must read its own write should read from
 * the replica that took it, or use ListUsers, which always reads Redis.
 *
 * With the read fence (`newestCursor`, USERS_CACHE_FENCE): a read first learns the newest event
 * id from Redis, by a read issued after the call arrived, and is served from memory only if the
 * reader has applied every event up to it, otherwise from Redis. Every write acknowledged before
 * the read arrived, on any replica, is at or before that id, so no window remains. Reads that
 * arrive while a fence read is in flight share the next one; but when reads are spread thin
 * (about 1,300/s per replica on the bench box) most fences serve one read, and the fence costs
 * what the cache saves.
 */
export class UserCache implements UserEventFollower {
  /** Map order is recency: the first key is the least recently used. */
  private readonly users = new Map<number, UserRecord>();
  private readonly fills = new Map<number, Fill>();
  /** Cursor of the newest event the reader has applied (or started after). */
  private applied = "0-0";
  private following = false;
  private heardAt = Number.NEGATIVE_INFINITY;
  private readonly maxSilenceMs: number;
  private readonly now: () => number;
  /** Resolves true when the reader had applied everything up to a fence read issued after the call. */
  private readonly fence: ReadFence<boolean> | undefined;

  constructor(private readonly options: UserCacheOptions) {
    this.maxSilenceMs = options.maxSilenceMs ?? 5000;
    this.now = options.now ?? (() => performance.now());
    const newestCursor = options.newestCursor;
    if (newestCursor) this.fence = new ReadFence(async () => compareStreamIds(this.applied, await newestCursor()) >= 0);
  }

  /** Users held now. */
  get size(): number {
    return this.users.size;
  }

  /**
   * The user with `id`: from memory when the cache can vouch for it, else from `load` (Redis),
   * kept unless the user changed while it was being read. `undefined` (no such user) is never
   * cached: a user created elsewhere must not be hidden by an old miss.
   */
  read(id: number, load: (id: number) => Promise<UserRecord | undefined>): Promise<UserRecord | undefined> {
    if (!this.live()) return load(id);
    if (!this.fence) return this.readThrough(id, load);
    return this.fence.next().then((current) => (current && this.live() ? this.readThrough(id, load) : load(id)));
  }

  /** Read-your-writes: the result of a write this replica made (fenced reads see it anyway). */
  remember(change: OwnChange): void {
    if (!this.live()) return;
    // The reader applies events in order: if it is already past this one, the cache holds this
    // change or a newer one, which must not be overwritten with this older state.
    if (compareStreamIds(change.cursor, this.applied) <= 0) return;
    this.change(change.type, change.user);
  }

  /** From the event reader: every change to a user, in stream order. */
  apply(event: UserEventEntry): void {
    this.applied = event.cursor;
    if (this.following) this.change(event.type, event.user);
  }

  /** From the event reader: it has read the stream up to `cursor`. */
  caughtUp(cursor: string): void {
    if (compareStreamIds(cursor, this.applied) > 0) this.applied = cursor;
    this.following = this.options.maxSize > 0;
    this.heardAt = this.now();
  }

  /** From the event reader: it may have missed changes, so nothing held can be trusted. */
  lost(): void {
    this.following = false;
    this.users.clear();
    for (const fill of this.fills.values()) fill.stale = true;
    this.fills.clear();
  }

  private live(): boolean {
    if (!this.following) return false;
    if (this.now() - this.heardAt <= this.maxSilenceMs) return true;
    this.lost();
    return false;
  }

  private readThrough(id: number, load: (id: number) => Promise<UserRecord | undefined>): Promise<UserRecord | undefined> {
    const cached = this.users.get(id);
    if (cached !== undefined) {
      this.users.delete(id);
      this.users.set(id, cached);
      return Promise.resolve(cached);
    }
    const pending = this.fills.get(id);
    if (pending) return pending.promise;
    const fill: Fill = { promise: load(id), stale: false };
    this.fills.set(id, fill);
    const settle = () => {
      if (this.fills.get(id) === fill) this.fills.delete(id);
    };
    fill.promise.then((user) => {
      settle();
      if (user !== undefined && !fill.stale && this.live()) this.store(user);
    }, settle);
    return fill.promise;
  }

  private change(type: UserEventType, user: UserRecord): void {
    const fill = this.fills.get(user.id);
    if (fill) {
      // Later misses must not join a read that may predate this change.
      fill.stale = true;
      this.fills.delete(user.id);
    }
    this.users.delete(user.id);
    if (type !== "user.deleted") this.store(user);
  }

  private store(user: UserRecord): void {
    this.users.delete(user.id);
    this.users.set(user.id, user);
    if (this.users.size > this.options.maxSize) this.users.delete(this.users.keys().next().value!);
  }
}
