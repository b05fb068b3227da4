import { randomUUID } from "node:crypto";
import { compareStreamIds, StreamFollower, type RedisClient, type StreamEntry } from "@clusterkit/redis-kit";
import type { Metadata, ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  parseUserEventEntry,
  USER_EVENTS_STREAM,
  type UserEventEntry,
  type UserRecord,
} from "./users-contract.js";
import type { ListUsersResponse, User, UserServiceClient } from "./users-contract.js";
import type { UsersCatchUp, UsersPage, UsersPageResult } from "../contracts/events.js";
import { ChatError } from "../chat/ack.js";
import type { ChatSocket } from "../chat/socket-types.js";
import { chatKeys } from "../redis/keys.js";
import { UsersTable, type EncodedPage } from "./users-table.js";

export interface UsersFeedOptions {
  /** Recent events kept in memory so a returning page can catch up without a snapshot. @default 1000 */
  replayWindow?: number;
  /** How long one XREAD blocks; bounds how long stop() waits and how soon a reset is noticed. @default 2000 */
  blockMs?: number;
  /** Pause after a failed snapshot or read. @default 1000 */
  retryMs?: number;
  /** Largest snapshot page, in bytes of JSON; keep it well under CHAT_MAX_BUFFERED_BYTES. @default 262144 */
  pageBytes?: number;
}

/** A gRPC user as the page shows it. */
export function toUserRecord(user: User): UserRecord {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    createdAt: user.createTime?.toISOString() ?? "",
    updatedAt: user.updateTime?.toISOString() ?? user.createTime?.toISOString() ?? "",
  };
}

/** A subscribed socket, and the page of its snapshot it may ask for next (null: none). */
interface Subscriber {
  nextAfter: number | null;
}

/**
 * The live users view of this replica. It loads one snapshot through gRPC ListUsers (which
 * reports the event-stream position it was taken at), then a single blocking XREAD on the users
 * event stream continues from exactly that position and keeps the table current. Pages subscribe
 * in-process: the events they missed, or a snapshot read page by page, plus live events.
 *
 * A Redis wipe or an empty restart resets the event stream: this replica notices (its epoch key
 * is gone, or the stream's newest id is behind its cursor), loads a new snapshot, and tells its
 * subscribers to start over (`users:reset`).
 */
export class UsersFeed {
  private readonly table: UsersTable;
  private readonly recent: UserEventEntry[] = [];
  /** Position of the newest applied event; undefined until the snapshot has loaded. */
  private cursor: string | undefined;
  /** Position just before `recent[0]`: pages at or after it can be caught up from memory. */
  private recentFrom = "0-0";
  /** The value of the epoch key when the current snapshot was taken. */
  private epoch: string | undefined;
  private readonly subscribers = new Map<ChatSocket, Subscriber>();
  private markReady: () => void = () => undefined;
  /** Resolves once the first snapshot has loaded. */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));
  private readonly reading: StreamFollower;
  private readonly replayWindow: number;

  constructor(
    private readonly deps: {
      users: UserServiceClient | undefined;
      reader: RedisClient;
      logger: Logger;
      /** Each live event, after the table has it (not the snapshot's users). */
      onEvent?: (event: UserEventEntry) => void;
      onPageEncoded?: () => void;
      onReset?: () => void;
    },
    options: UsersFeedOptions = {},
  ) {
    this.replayWindow = options.replayWindow ?? 1000;
    this.reading = new StreamFollower(deps.reader, {
      key: USER_EVENTS_STREAM,
      cursor: () => this.cursor ?? "0-0",
      // Until a snapshot has loaded there is no position to continue from.
      prepare: async () => {
        if (this.cursor === undefined) await this.loadSnapshot();
      },
      onEntries: (entries) => this.onEntries(entries),
      onError: (error) =>
        this.deps.logger.warn(
          { err: error },
          this.cursor === undefined ? "users snapshot failed; retrying" : "users event stream read failed; retrying",
        ),
      blockMs: options.blockMs ?? 2000,
      retryMs: options.retryMs ?? 1000,
      count: 100,
    });
    this.table = new UsersTable({ pageBytes: options.pageBytes ?? 262_144, onEncode: deps.onPageEncoded });
  }

  get ready(): boolean {
    return this.cursor !== undefined;
  }

  /** Sockets subscribed on this replica. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  start(): void {
    if (!this.deps.users) return;
    this.reading.start();
  }

  async stop(): Promise<void> {
    this.subscribers.clear();
    // Closes the reader's connection too (a blocked XREAD ends at once), started or not.
    await this.reading.stop();
  }

  /**
   * Adds a page: returns what it needs to be current; live events follow on `users:event`.
   * Synchronous on purpose: the reply and the first live event are ordered on the socket.
   */
  subscribe(socket: ChatSocket, since: string | undefined): UsersCatchUp {
    const cursor = this.currentCursor();
    // A cursor ahead of ours (another replica reads faster, or the stream was reset) gets a
    // snapshot: the page reconciles its rows with it and continues from our cursor.
    if (since !== undefined && compareStreamIds(since, this.recentFrom) >= 0 && compareStreamIds(since, cursor) <= 0) {
      this.subscribers.set(socket, { nextAfter: null });
      const events = this.recent.filter((event) => compareStreamIds(event.cursor, since) > 0);
      return { mode: "events", events, cursor };
    }
    const page = this.table.page(0);
    this.subscribers.set(socket, { nextAfter: page.next });
    return { mode: "snapshot", page: toPage(0, page), cursor, total: this.table.size };
  }

  /** The next page of the snapshot this socket is reading. */
  page(socket: ChatSocket, after: number): UsersPageResult {
    const cursor = this.currentCursor();
    const subscriber = this.subscribers.get(socket);
    if (!subscriber) throw new ChatError("NOT_FOUND", "subscribe first (users:subscribe)");
    if (subscriber.nextAfter === null || subscriber.nextAfter !== after) {
      const expected = subscriber.nextAfter === null ? "no page: the snapshot is complete" : `after: ${subscriber.nextAfter}`;
      throw new ChatError("INVALID_ARGUMENT", `after: pages are read in order; expected ${expected}`);
    }
    const page = this.table.page(after);
    subscriber.nextAfter = page.next;
    return { page: toPage(after, page), cursor };
  }

  unsubscribe(socket: ChatSocket): void {
    this.subscribers.delete(socket);
  }

  private currentCursor(): string {
    if (this.cursor !== undefined) return this.cursor;
    const why = this.deps.users ? "is still loading (is the user service reachable?)" : "is not configured (USERS_TARGET)";
    throw new ChatError("UNAVAILABLE", `the users feed ${why}; try again shortly`);
  }

  private async onEntries(entries: StreamEntry[]): Promise<void> {
    // Checked before applying: entries of a new stream must not land on the old table.
    if (await this.wasReset()) return this.restart();
    for (const entry of entries) this.apply(entry.id, entry.message);
  }

  /**
   * Claims the epoch key if it is missing and returns its value. The key lives beside the stream
   * in Redis, so whatever empties Redis takes both: a value other than the one the snapshot was
   * taken under means the stream this feed follows is not the one in Redis any more.
   */
  private async readEpoch(): Promise<string> {
    const [, value] = (await this.deps.reader
      .multi()
      .set(chatKeys.usersFeedEpoch, randomUUID(), { NX: true })
      .get(chatKeys.usersFeedEpoch)
      .exec()) as [unknown, string];
    return value;
  }

  private async wasReset(): Promise<boolean> {
    if (this.cursor === undefined) return false;
    const [epoch, newest] = await Promise.all([
      this.readEpoch(),
      this.deps.reader.xRevRange(USER_EVENTS_STREAM, "+", "-", { COUNT: 1 }),
    ]);
    if (epoch !== this.epoch) return true;
    // Trimming never takes the newest entry: a stream whose newest id is behind ours went back
    // (Redis restored from an older snapshot).
    const newestId = newest[0]?.id ?? "0-0";
    return compareStreamIds(newestId, this.cursor) < 0;
  }

  /** After a reset: a new snapshot, then every subscriber is told to start over. */
  private async restart(): Promise<void> {
    this.deps.logger.warn({ cursor: this.cursor }, "the users event stream was reset; loading a new snapshot");
    this.deps.onReset?.();
    await this.loadSnapshot();
    const subscribers = [...this.subscribers.keys()];
    this.subscribers.clear();
    for (const socket of subscribers) socket.emit("users:reset", { reason: "the users event stream was reset" });
  }

  private async loadSnapshot(): Promise<void> {
    const client = this.deps.users;
    if (!client) return;
    // Read before the listing: a wipe during it changes the epoch, and the next check reloads.
    const epoch = await this.readEpoch();
    const { users, cursor } = await new Promise<{ users: UserRecord[]; cursor: string }>((resolve, reject) => {
      const call = client.listUsers({ pageSize: 0, pageToken: "", nameFilter: "" });
      const users: UserRecord[] = [];
      let cursor = "";
      call.on("metadata", (metadata: Metadata) => {
        const header = metadata.get("x-snapshot-cursor")[0];
        if (typeof header === "string" && cursor === "") cursor = header;
      });
      call.on("data", (item: ListUsersResponse) => {
        if (item.cursor) cursor = item.cursor;
        if (item.user) users.push(toUserRecord(item.user));
      });
      call.on("error", (error: ServiceError) => reject(error));
      call.on("end", () => resolve({ users, cursor }));
    });
    this.table.replaceAll(users);
    this.epoch = epoch;
    this.cursor = cursor === "" ? "0-0" : cursor;
    this.recent.length = 0;
    this.recentFrom = this.cursor;
    this.markReady();
    this.deps.logger.info({ users: users.length, cursor: this.cursor }, "users snapshot loaded");
  }

  private apply(id: string, fields: Record<string, string>): void {
    this.cursor = id;
    let event: UserEventEntry;
    try {
      event = parseUserEventEntry(id, fields);
    } catch (error) {
      this.deps.logger.error({ err: error, id }, "skipping a malformed users event");
      return;
    }
    if (event.type === "user.deleted") this.table.delete(event.user.id);
    else this.table.set(event.user);
    this.recent.push(event);
    if (this.recent.length > this.replayWindow) this.recentFrom = this.recent.shift()?.cursor ?? this.recentFrom;
    this.deps.onEvent?.(event);
    for (const socket of this.subscribers.keys()) socket.emit("users:event", event);
  }
}

function toPage(after: number, page: EncodedPage): UsersPage {
  return { after, users: page.data, next: page.next };
}
