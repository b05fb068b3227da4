import { compareStreamIds, parseStreamId, StreamFollower, type RedisClient, type StreamEntry } from "@clusterkit/redis-kit";
import type { Logger } from "pino";
import { quote } from "../store/quote.js";
import { UserError } from "../store/user-errors.js";
import { userKeys } from "../store/user-keys.js";
import { Slots } from "./slots.js";
import { parseUserEventEntry, type UserEventEntry } from "./user-event.js";

export type UserEventListener = (event: UserEventEntry) => void;

export interface Subscription {
  /** Stops delivery; safe to call more than once. */
  close(): void;
  /** Where delivery started: resuming from here later misses nothing. */
  startCursor: string;
}

/**
 * State derived from the stream in this replica (the user cache), kept in step by the reader.
 * Called synchronously, so nothing runs between an event and its application.
 */
export interface UserEventFollower {
  /** Every event, in stream order, before any subscriber gets it. */
  apply(event: UserEventEntry): void;
  /** The reader has read the stream up to `cursor` (at start, and after every read). */
  caughtUp(cursor: string): void;
  /** The reader may have missed events (a read failed, an entry was malformed, or history it had not read was trimmed). */
  lost(): void;
}

export interface UserEventHubOptions {
  /** How long one XREAD blocks; bounds how long close() waits for the reader. @default 2000 */
  blockMs?: number;
  /** Wait before retrying after Redis failed a read. @default 500 */
  retryMs?: number;
  /** Events the writers keep in the stream (USERS_EVENTS_RETENTION), to tell when the reader may have fallen behind it. @default 10000 */
  retention?: number;
  follower?: UserEventFollower;
  /** Subscribers replaying at once; the rest wait their turn (live-only subscribers never wait). @default 32 */
  concurrentReplays?: number;
}

/** Small enough that one batch stays well under a subscriber's buffer bound (see `pace`). */
const REPLAY_BATCH = 100;
const READ_BATCH = 500;

/**
 * The one reader of the users event stream in this replica. It follows the stream with a
 * blocking XREAD on its own connection and hands each event to every local subscriber, so a
 * thousand SubscribeToUpdates calls cost one Redis connection, not a thousand.
 *
 * A subscriber that resumes from a cursor is first replayed what it missed with XRANGE, then
 * joined to the live feed at the last id it was given, so nothing is skipped or repeated.
 */
export class UserEventHub {
  private readonly listeners = new Set<UserEventListener>();
  private lastId = "0-0";
  private readonly reading: StreamFollower;
  private readonly follower: UserEventFollower | undefined;
  /** A read returning this many entries may have come after trimmed ones; fewer cannot (see follow). */
  private readonly gapCheckAt: number;
  private readonly replays: Slots;
  private readonly batchSlots: Slots;
  /** Full replay batches by the cursor they follow, least recently used first (see replayBatch). */
  private readonly replayBatches = new Map<string, Promise<UserEventEntry[]>>();
  private readonly maxReplayBatches: number;

  constructor(
    /** Used for replays and cursor checks. */
    private readonly redis: RedisClient,
    /** A dedicated connection: XREAD BLOCK holds it. The hub owns it and closes it in stop(). */
    reader: RedisClient,
    private readonly logger: Logger,
    options: UserEventHubOptions = {},
  ) {
    this.reading = new StreamFollower(reader, {
      key: userKeys.events,
      cursor: () => this.lastId,
      onEntries: (entries) => this.onEntries(entries),
      onError: (error) => {
        this.follower?.lost();
        this.logger.warn({ err: error }, "users event stream read failed; retrying");
      },
      blockMs: options.blockMs ?? 2000,
      retryMs: options.retryMs ?? 500,
      count: READ_BATCH,
    });
    this.follower = options.follower;
    this.gapCheckAt = Math.min(READ_BATCH, options.retention ?? 10_000);
    this.replays = new Slots(options.concurrentReplays ?? 32);
    this.batchSlots = new Slots(4);
    // About one copy of the retained history.
    this.maxReplayBatches = Math.ceil((options.retention ?? 10_000) / REPLAY_BATCH) + 1;
  }

  /** Id of the last event the reader has read ("0-0" for an empty stream). */
  get cursor(): string {
    return this.lastId;
  }

  /** Number of local subscribers. */
  get size(): number {
    return this.listeners.size;
  }

  /** Starts following the stream from its current end. */
  async start(): Promise<void> {
    if (this.reading.isRunning) return;
    const newest = await this.redis.xRevRange(userKeys.events, "+", "-", { COUNT: 1 });
    this.lastId = newest[0]?.id ?? "0-0";
    this.follower?.caughtUp(this.lastId);
    this.reading.start();
  }

  /** Stops the reader and closes its connection; subscribers get nothing more. */
  async stop(): Promise<void> {
    this.listeners.clear();
    await this.reading.stop();
  }

  /**
   * Delivers every event after `sinceCursor` (replayed from Redis), then every new one, to
   * `listener`, in stream order. Without a cursor, only events from now on.
   * Throws INVALID_ARGUMENT for a malformed cursor, OUT_OF_RANGE for one older than the
   * retained history or ahead of the stream.
   *
   * `pace` runs between replay batches and resolves once the subscriber has taken enough of what
   * it was given (false: it is gone, stop); without it a replay would read the whole retained
   * history into a client that reads slowly or not at all.
   */
  async subscribe(
    sinceCursor: string | undefined,
    listener: UserEventListener,
    pace?: () => Promise<boolean>,
  ): Promise<Subscription> {
    let delivered = sinceCursor ?? this.lastId;
    let replaying = sinceCursor !== undefined;
    const held: UserEventEntry[] = [];
    const deliver = (event: UserEventEntry) => {
      if (compareStreamIds(event.cursor, delivered) <= 0) return;
      delivered = event.cursor;
      listener(event);
    };
    const onLive: UserEventListener = (event) => (replaying ? held.push(event) : deliver(event));
    // Registered before the replay reads Redis: whatever the replay does not return, the live
    // feed will, and `deliver` drops what both return.
    this.listeners.add(onLive);
    const subscription = { close: () => void this.listeners.delete(onLive), startCursor: delivered };
    if (sinceCursor === undefined) return subscription;
    try {
      await this.checkCursor(sinceCursor);
      // A replay holds one of `replays` from its first batch to its end (a client that stops
      // reading is cut off by its pace within seconds), and each batch one of `batchSlots`: the
      // cost of replays has a ceiling however many clients ask at once; the rest wait their turn.
      await this.replays.run(async () => {
        for (;;) {
          const count = await this.batchSlots.run(async () => {
            const events = await this.replayBatch(delivered);
            for (const event of events) deliver(event);
            return events.length;
          });
          if (count < REPLAY_BATCH || !this.listeners.has(onLive)) return;
          if (pace && !(await pace())) return;
        }
      });
      replaying = false;
      for (const event of held.splice(0)) deliver(event);
      return subscription;
    } catch (error) {
      subscription.close();
      throw error;
    }
  }

  /**
   * The (up to) REPLAY_BATCH events after `after`. A full batch never changes (the stream only
   * grows at its end), so it is kept, parsed, and shared by every subscriber replaying past that
   * point: a hundred clients resuming from one cursor after a replica restart, or a hundred
   * attackers replaying the whole history, cost one XRANGE and one parse per batch, not one each.
   */
  private replayBatch(after: string): Promise<UserEventEntry[]> {
    const cached = this.replayBatches.get(after);
    if (cached) {
      // Least recently used goes first: move this one to the end.
      this.replayBatches.delete(after);
      this.replayBatches.set(after, cached);
      return cached;
    }
    const batch = this.redis
      .xRange(userKeys.events, `(${after}`, "+", { COUNT: REPLAY_BATCH })
      .then((entries) => entries.map((entry) => parseUserEventEntry(entry.id, entry.message)));
    this.replayBatches.set(after, batch);
    const forget = () => {
      if (this.replayBatches.get(after) === batch) this.replayBatches.delete(after);
    };
    batch.then((events) => events.length < REPLAY_BATCH && forget(), forget);
    if (this.replayBatches.size > this.maxReplayBatches) this.replayBatches.delete(this.replayBatches.keys().next().value!);
    return batch;
  }

  private async checkCursor(cursor: string): Promise<void> {
    if (!parseStreamId(cursor)) {
      throw new UserError(
        "INVALID_ARGUMENT",
        `since_cursor '${quote(cursor, 40)}' is not a cursor (expected "<ms>-<seq>", as given by an update)`,
        "since_cursor",
      );
    }
    const [horizon, newest] = await Promise.all([
      this.redis.get(userKeys.eventsHorizon),
      this.redis.xRevRange(userKeys.events, "+", "-", { COUNT: 1 }),
    ]);
    if (horizon !== null && compareStreamIds(cursor, horizon) < 0) {
      throw new UserError(
        "OUT_OF_RANGE",
        `since_cursor ${cursor} is older than the retained history (events up to ${horizon} were trimmed); ` +
          "reload with ListUsers and subscribe from its cursor",
      );
    }
    const newestId = newest[0]?.id ?? "0-0";
    if (compareStreamIds(cursor, newestId) > 0) {
      throw new UserError(
        "OUT_OF_RANGE",
        `since_cursor ${cursor} is ahead of the newest event ${newestId} (was the store reset?); ` +
          "reload with ListUsers and subscribe from its cursor",
      );
    }
  }

  /** One read's entries (none when the block timed out): checked for a gap, then dispatched in order. */
  private async onEntries(entries: StreamEntry[]): Promise<void> {
    if (entries.length >= this.gapCheckAt) await this.checkGap(this.lastId);
    for (const entry of entries) {
      this.lastId = entry.id;
      this.dispatch(entry.id, entry.message);
    }
    this.follower?.caughtUp(this.lastId);
  }

  /**
   * Writers trim the stream to `retention` entries (user-scripts.ts records the newest trimmed id
   * as the horizon). Entries after `readFrom` can only have been trimmed if the stream then held
   * `retention` entries, all after `readFrom`, so a read returning fewer cannot have skipped any.
   */
  private async checkGap(readFrom: string): Promise<void> {
    const horizon = await this.redis.get(userKeys.eventsHorizon);
    if (horizon === null || compareStreamIds(horizon, readFrom) <= 0) return;
    this.logger.warn({ readFrom, horizon }, "the users event reader fell behind the retained history; events were skipped");
    this.follower?.lost();
  }

  private dispatch(id: string, fields: Record<string, string>): void {
    let event: UserEventEntry;
    try {
      event = parseUserEventEntry(id, fields);
    } catch (error) {
      this.logger.error({ err: error, id }, "skipping a malformed users event");
      // Which user it was about is unknown, so nothing derived can be trusted.
      this.follower?.lost();
      return;
    }
    this.follower?.apply(event);
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, "a users event subscriber failed");
      }
    }
  }
}
