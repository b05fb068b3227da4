import type { Metadata, ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  parseUserEventEntry,
  USER_EVENTS_STREAM,
  type UserEventEntry,
  type UserRecord,
} from "grpc-demo/events";
import type { ListUsersResponse, User, UserServiceClient } from "grpc-demo/client";
import type { UsersCatchUp } from "../contracts/events.js";
import { ChatError } from "../chat/ack.js";
import type { ChatSocket } from "../chat/socket-types.js";
import type { RedisClient } from "../redis/connect-redis.js";
import { compareStreamIds } from "../redis/keys.js";

export interface UsersFeedOptions {
  /** Recent events kept in memory so a returning page can catch up without a snapshot. @default 1000 */
  replayWindow?: number;
  /** How long one XREAD blocks; bounds how long stop() waits. @default 2000 */
  blockMs?: number;
  /** Pause after a failed snapshot or read. @default 1000 */
  retryMs?: number;
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

/**
 * The live users view of this replica. It loads one snapshot through gRPC ListUsers (which
 * reports the event-stream position it was taken at), then a single blocking XREAD on the users
 * event stream continues from exactly that position and keeps the table current. Pages subscribe
 * in-process: a snapshot (or the events they missed) plus live events, handed over in one
 * synchronous step, so there is no gap and no duplicate between the two.
 */
export class UsersFeed {
  private readonly users = new Map<number, UserRecord>();
  private readonly recent: UserEventEntry[] = [];
  /** Position of the newest applied event; undefined until the snapshot has loaded. */
  private cursor: string | undefined;
  /** Position just before `recent[0]`: pages at or after it can be caught up from memory. */
  private recentFrom = "0-0";
  private readonly subscribers = new Set<ChatSocket>();
  private markReady: () => void = () => undefined;
  /** Resolves once the first snapshot has loaded. */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly replayWindow: number;
  private readonly blockMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly deps: {
      users: UserServiceClient | undefined;
      reader: RedisClient;
      logger: Logger;
      onEvent?: () => void;
    },
    options: UsersFeedOptions = {},
  ) {
    this.replayWindow = options.replayWindow ?? 1000;
    this.blockMs = options.blockMs ?? 2000;
    this.retryMs = options.retryMs ?? 1000;
  }

  get ready(): boolean {
    return this.cursor !== undefined;
  }

  start(): void {
    if (!this.deps.users || this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.subscribers.clear();
    // Disconnecting aborts a blocked XREAD at once.
    if (this.deps.reader.isOpen) await this.deps.reader.disconnect().catch(() => undefined);
    await this.loop;
  }

  /** Adds a page: returns what it needs to be current; live events follow on `users:event`. */
  subscribe(socket: ChatSocket, since: string | undefined): UsersCatchUp {
    if (this.cursor === undefined) {
      const why = this.deps.users ? "is still loading (is the user service reachable?)" : "is not configured (USERS_TARGET)";
      throw new ChatError("UNAVAILABLE", `the users feed ${why}; try again shortly`);
    }
    this.subscribers.add(socket);
    // A cursor ahead of ours (another replica reads faster, or the stream was reset) gets a
    // snapshot: the page reconciles its rows with it and continues from our cursor.
    if (since !== undefined && compareStreamIds(since, this.recentFrom) >= 0 && compareStreamIds(since, this.cursor) <= 0) {
      const events = this.recent.filter((event) => compareStreamIds(event.cursor, since) > 0);
      return { mode: "events", events, cursor: this.cursor };
    }
    const users = [...this.users.values()].sort((a, b) => a.id - b.id);
    return { mode: "snapshot", users, cursor: this.cursor };
  }

  unsubscribe(socket: ChatSocket): void {
    this.subscribers.delete(socket);
  }

  private async run(): Promise<void> {
    while (this.running && this.cursor === undefined) {
      try {
        await this.loadSnapshot();
      } catch (error) {
        this.deps.logger.warn({ err: error }, "users snapshot failed; retrying");
        await this.pause();
      }
    }
    while (this.running) {
      try {
        const reply = await this.deps.reader.xRead(
          { key: USER_EVENTS_STREAM, id: this.cursor ?? "0-0" },
          { BLOCK: this.blockMs, COUNT: 100 },
        );
        for (const stream of reply ?? []) for (const entry of stream.messages) this.apply(entry.id, entry.message);
      } catch (error) {
        if (!this.running) break;
        this.deps.logger.warn({ err: error }, "users event stream read failed; retrying");
        await this.pause();
      }
    }
  }

  private async loadSnapshot(): Promise<void> {
    const client = this.deps.users;
    if (!client) return;
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
    this.users.clear();
    for (const user of users) this.users.set(user.id, user);
    this.cursor = cursor === "" ? "0-0" : cursor;
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
    if (event.type === "user.deleted") this.users.delete(event.user.id);
    else this.users.set(event.user.id, event.user);
    this.recent.push(event);
    if (this.recent.length > this.replayWindow) this.recentFrom = this.recent.shift()?.cursor ?? this.recentFrom;
    this.deps.onEvent?.();
    for (const socket of this.subscribers) socket.emit("users:event", event);
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.retryMs).unref());
  }
}
