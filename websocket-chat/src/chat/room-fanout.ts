import type { Logger } from "pino";
import type { StoredMessage as RoomMessage } from "./room-history.js";
import type { PrivateMessage } from "../contracts/events.js";
import type { RedisClient } from "../redis/connect-redis.js";
import { chatKeys, compareStreamIds } from "../redis/keys.js";
import type { ChatSocket } from "./socket-types.js";

export type Dialect = "kit" | "handout" | "private";

/** One socket's place in one room on this replica. */
interface Subscription {
  socket: ChatSocket;
  room: string;
  dialect: Dialect;
  /** Id of the last message this socket has (delivered, or sent in its join ack). */
  lastId: string | undefined;
  /** Messages that arrived while the join was reading history; flushed once it has. */
  pending: RoomMessage[] | undefined;
}

/**
 * Delivers room messages to this replica's sockets. Every replica subscribes to the one channel
 * the append script publishes on, so messages arrive in id order; each socket gets an id only
 * once and only after what it already has. A joining socket is registered *before* its history
 * is read and buffers meanwhile, so history and live traffic meet at one id: no gap, no duplicate.
 */
export class RoomFanout {
  private readonly rooms = new Map<string, Map<string, Subscription>>();

  constructor(
    private readonly subscriber: RedisClient,
    private readonly logger: Logger,
    private readonly options: {
      onDelivered: (dialect: Dialect) => void;
      /** Reads a room's stored messages after an id, to fill what pub/sub lost during a reconnect. */
      readAfter: (room: string, after: string) => Promise<RoomMessage[]>;
    },
  ) {}

  async start(): Promise<void> {
    await this.subscriber.subscribe(chatKeys.roomMessagesChannel, (raw) => this.dispatch(raw));
    // node-redis resubscribes after a reconnect, but whatever was published meanwhile is gone
    // from pub/sub; the streams still have it.
    this.subscriber.on("ready", () => void this.catchUp());
  }

  /** After a subscriber reconnect: deliver from the streams what each socket missed, then go on live. */
  private async catchUp(): Promise<void> {
    for (const [room, subs] of this.rooms) {
      const live = [...subs.values()].filter((sub) => !sub.pending && sub.lastId !== undefined);
      if (live.length === 0) continue;
      for (const sub of live) sub.pending = [];
      const oldest = live.map((sub) => sub.lastId!).sort(compareStreamIds)[0]!;
      try {
        const missed = await this.options.readAfter(room, oldest);
        for (const sub of live) for (const message of missed) this.deliver(sub, message);
      } catch (error) {
        this.logger.warn({ err: error, room }, "could not catch up a room after a Redis reconnect");
      }
      for (const sub of live) {
        const pending = sub.pending ?? [];
        sub.pending = undefined;
        for (const message of pending) this.deliver(sub, message);
      }
      this.logger.info({ room, sockets: live.length }, "room caught up after a Redis reconnect");
    }
  }

  /** Starts buffering the room's live messages for a socket that is about to read history. */
  open(socket: ChatSocket, room: string, dialect: Dialect): void {
    let subs = this.rooms.get(room);
    if (!subs) this.rooms.set(room, (subs = new Map()));
    subs.set(`${socket.id}/${dialect}`, { socket, room, dialect, lastId: undefined, pending: [] });
  }

  /**
   * Ends buffering: the socket already has everything up to `lastId` (undefined = nothing), so
   * buffered messages after it go out now, in order, and the rest live. Call right after the ack.
   */
  go(socket: ChatSocket, room: string, dialect: Dialect, lastId: string | undefined): void {
    const sub = this.rooms.get(room)?.get(`${socket.id}/${dialect}`);
    if (!sub) return;
    const pending = sub.pending ?? [];
    sub.pending = undefined;
    sub.lastId = lastId;
    for (const message of pending) this.deliver(sub, message);
  }

  close(socket: ChatSocket, room: string, dialect: Dialect): void {
    const subs = this.rooms.get(room);
    subs?.delete(`${socket.id}/${dialect}`);
    if (subs?.size === 0) this.rooms.delete(room);
  }

  /** Chat rooms with at least one local socket (private inboxes not counted). */
  get roomCount(): number {
    let count = 0;
    for (const room of this.rooms.keys()) if (!room.startsWith("@")) count += 1;
    return count;
  }

  private dispatch(raw: string): void {
    let message: RoomMessage;
    try {
      message = JSON.parse(raw) as RoomMessage;
    } catch (error) {
      this.logger.error({ err: error }, "skipping an unreadable room message");
      return;
    }
    const subs = this.rooms.get(message.room);
    if (!subs) return;
    for (const sub of subs.values()) {
      if (sub.pending) sub.pending.push(message);
      else this.deliver(sub, message);
    }
  }

  private deliver(sub: Subscription, message: RoomMessage): void {
    if (sub.lastId !== undefined && compareStreamIds(message.id, sub.lastId) <= 0) return;
    sub.lastId = message.id;
    if (sub.dialect === "kit") sub.socket.emit("chat:message", message);
    else if (sub.dialect === "private") sub.socket.emit("chat:private", toPrivateMessage(message));
    else sub.socket.emit("message", { user: message.user, message: message.text, server: message.server, timestamp: message.timestamp });
    this.options.onDelivered(sub.dialect);
  }
}

/** A stored inbox entry as the client sees it. */
export function toPrivateMessage(message: RoomMessage): PrivateMessage {
  const { id, user, to = "", text, server, timestamp } = message;
  return { id, from: user, to, text, server, timestamp };
}
