import type { Logger } from "pino";
import type { StoredMessage as RoomMessage } from "./room-history.js";
import type { PrivateMessage } from "../contracts/events.js";
import { compareStreamIds, type ChannelSubscriber } from "@clusterkit/redis-kit";
import { chatKeys } from "../redis/keys.js";
import type { ChatServerIo, ChatSocket } from "./socket-types.js";

export type Dialect = "kit" | "handout" | "private";

/** One socket's place in one room on this replica. */
interface Subscription {
  socket: ChatSocket;
  room: string;
  dialect: Dialect;
  /** Id of the last message this socket has (delivered, or sent in its join ack); stale while `live`. */
  lastId: string | undefined;
  /** Live messages held back while the socket's history or its missed messages are read; flushed after. */
  pending: RoomMessage[] | undefined;
  /** The join is still reading history: `go()` ends it. */
  joining: boolean;
  /** The room's generation when the socket's position was read: a newer one means pub/sub may have missed some. */
  generation: number;
  /** In the room's live set (a Socket.IO room): gets every dispatched message by one broadcast. */
  live: boolean;
  /** The room's `dispatched` count when the socket went live: more since means it has `lastDispatched`. */
  liveSince: number;
}

/** This replica's view of one room (or private inbox). */
interface RoomState {
  room: string;
  /** The room's pub/sub channel, subscribed while the room has local sockets. */
  channel: string;
  listener: (raw: string) => void;
  /** Settles once the channel is subscribed; reset after a failed attempt so the next join tries again. */
  subscribed: Promise<void> | undefined;
  /** Bumped when the channel's subscription is interrupted and when it is made again: older catch-ups give way. */
  generation: number;
  /** Between an interruption and the subscription being made again: pub/sub may still be missing messages. */
  resubscribing: boolean;
  subs: Map<string, Subscription>;
  /** Subscriptions outside the live set: joining, catching up, or not yet at the dispatch position. */
  tracked: Set<Subscription>;
  /** Live sets (Socket.IO room names) this room has had, by dialect. */
  liveRooms: Map<Dialect, string>;
  /** Id of the last message dispatched since the subscriber last (re)connected; undefined = none yet. */
  lastDispatched: string | undefined;
  /** Messages dispatched so far (never reset): tells whether a live socket got any since it went live. */
  dispatched: number;
}

/** What a catch-up read returns: the messages after `since`, or, when `reset`, the whole restarted stream. */
export interface CatchUp {
  messages: RoomMessage[];
  /** `since` is not a position of the stream any more (Redis lost it): forget it. */
  reset: boolean;
  /** The stream lost its entries after this id (RoomHistory's Replay.resumeAt): continue from it. */
  resumeAt?: string | undefined;
}

const RETRY_MS = { first: 100, max: 2_000 };

/** The Socket.IO room of a room's live sockets of one dialect (room names cannot contain ':'). */
const liveRoomOf = (room: string, dialect: Dialect) => `live:${dialect}:${room}`;

/** A live set: broadcast to on this replica only (`io.local`), never through the adapter. */
export const isLiveSet = (ioRoom: string) => ioRoom.startsWith("live:");

/**
 * Delivers room messages to this replica's sockets. Each room has its own channel, which the
 * append script publishes on, in id order; this replica subscribes to a room's channel while it
 * has sockets in the room (so it receives no traffic of rooms it does not serve: on a Redis
 * Cluster, a sharded channel, served by the room's node only). Each socket gets an id only once
 * and only after what it already has. A joining socket is registered, and the room's channel
 * subscribed, *before* its history is read, and it buffers meanwhile, so history and live
 * traffic meet at one id: no gap, no duplicate.
 *
 * A socket that has everything up to the last dispatched message joins the room's live set, a
 * Socket.IO room that gets each message by one local broadcast (encoded once, the WebSocket frame
 * built once) instead of one emit per socket. Since pub/sub delivers in id order, live sockets
 * need no id check. Only sockets outside it (joining, catching up, or whose history read saw
 * messages pub/sub has not dispatched yet) are tracked one by one; they go live synchronously
 * right after their last individual delivery, so no message falls between the two paths.
 *
 * When a room's subscription is interrupted (its connection dropped, or on a cluster the room's
 * slot failed over to another node), whatever was published meanwhile is gone from pub/sub but
 * not from the stream. The subscriber says which channels (ChannelSubscriber.watch): from the
 * interruption on, those rooms' sockets leave the live set (at the last id dispatched to them)
 * and buffer; once the channel is subscribed again, each such room is read from its stream after
 * the sockets' last id, then the buffer is flushed. Buffering must start before the subscription
 * is made again: messages may arrive before it is reported, and one delivered ahead of the older
 * ones it missed would hide them. The reads are retried until they succeed: a catch-up given up
 * is a gap. Each room keeps its own generation, so one shard's outage holds only its rooms.
 */
export class RoomFanout {
  private readonly rooms = new Map<string, RoomState>();
  private readonly roomOfChannel = new Map<string, string>();
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly io: ChatServerIo,
    private readonly logger: Logger,
    private readonly options: {
      /** `message` went to `count` local sockets of one dialect (for the metrics and the cluster view). */
      onDelivered: (dialect: Dialect, count: number, message: RoomMessage) => void;
      /** Reads a room's stored messages after an id, to fill what pub/sub lost during a reconnect. */
      readAfter: (room: string, after: string) => Promise<CatchUp>;
      /** A message of `bytes` arrived from pub/sub (what this replica's room channels cost it). */
      onReceived?: (bytes: number) => void;
    },
  ) {}

  start(): void {
    this.subscriber.watch({
      interrupted: (channels) => this.hold(this.statesOf(channels)),
      resumed: (channels) => this.catchUpRooms(this.statesOf(channels)),
    });
  }

  /** Stops catching up (the replica is closing): reads still waiting for Redis give up. */
  stop(): void {
    this.stopped = true;
    for (const state of this.rooms.values()) state.generation += 1;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.subscriber.stop();
  }

  private statesOf(channels: string[]): RoomState[] {
    const states: RoomState[] = [];
    for (const channel of channels) {
      const state = this.rooms.get(this.roomOfChannel.get(channel) ?? "");
      if (state) states.push(state);
    }
    return states;
  }

  /** These rooms' subscriptions are being made again: their sockets buffer from now on. */
  private hold(states: RoomState[]): void {
    for (const state of states) {
      state.generation += 1;
      state.resubscribing = true;
      for (const sub of state.subs.values()) {
        if (sub.live) this.leaveLive(state, sub);
        sub.pending ??= [];
      }
      // Positions from before the interruption say nothing about what the new subscription will
      // dispatch (after a Redis reset, ids may even start lower): nobody goes live on them.
      state.lastDispatched = undefined;
    }
  }

  /** These rooms are subscribed again: each catches up from its stream, then goes live. */
  private catchUpRooms(states: RoomState[]): void {
    if (this.stopped) return;
    for (const state of states) {
      state.resubscribing = false;
      const generation = ++state.generation;
      const behind = [...state.subs.values()].filter((sub) => !sub.joining);
      for (const sub of behind) {
        sub.pending ??= [];
        sub.generation = generation;
      }
      if (behind.length > 0) void this.catchUp(state.room, behind, generation);
    }
  }

  private isCurrent(room: string, generation: number): boolean {
    return !this.stopped && this.rooms.get(room)?.generation === generation;
  }

  /**
   * Delivers to `subs` (all buffering) what their room stored after each one's last id, then
   * what they buffered. Sockets at the same id share one read.
   */
  private async catchUp(room: string, subs: Subscription[], generation: number): Promise<void> {
    const byPosition = new Map<string | undefined, Subscription[]>();
    for (const sub of subs) byPosition.set(sub.lastId, [...(byPosition.get(sub.lastId) ?? []), sub]);
    await Promise.all(
      [...byPosition].map(async ([since, group]) => {
        const caught = since === undefined ? { messages: [], reset: false } : await this.readUntilDone(room, since, generation);
        // A newer interruption took these sockets over (or the replica is closing): it delivers.
        if (caught === undefined || !this.isCurrent(room, generation)) return;
        for (const sub of group) {
          const state = this.rooms.get(room);
          if (!state || state.subs.get(keyOf(sub)) !== sub) continue; // left meanwhile
          if (caught.reset) sub.lastId = undefined;
          else if (caught.resumeAt !== undefined && sub.lastId !== undefined && compareStreamIds(sub.lastId, caught.resumeAt) > 0) sub.lastId = caught.resumeAt;
          for (const message of caught.messages) this.deliver(sub, message);
          this.flush(state, sub);
        }
        if (caught.reset) this.logger.warn({ room, since }, "room stream started over (Redis lost it); sockets continue from its start");
      }),
    );
  }

  private async readUntilDone(room: string, since: string, generation: number): Promise<CatchUp | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (!this.isCurrent(room, generation)) return undefined;
      try {
        return await this.options.readAfter(room, since);
      } catch (error) {
        if (!this.isCurrent(room, generation)) return undefined;
        if (attempt === 0) this.logger.warn({ err: error, room }, "catching a room up after a Redis reconnect failed; retrying");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            resolve();
          }, Math.min(RETRY_MS.first * 2 ** attempt, RETRY_MS.max));
          this.timers.add(timer);
        });
      }
    }
  }

  /**
   * Starts buffering the room's live messages for a socket that is about to read history;
   * resolves once the room's channel is subscribed (read the history only then).
   */
  open(socket: ChatSocket, room: string, dialect: Dialect): Promise<void> {
    let state = this.rooms.get(room);
    if (!state) state = this.addRoom(room);
    const sub: Subscription = { socket, room, dialect, lastId: undefined, pending: [], joining: true, generation: state.generation, live: false, liveSince: 0 };
    // A rejoin replaces the socket's subscription: the old one must stop receiving.
    const old = state.subs.get(keyOf(sub));
    if (old) this.drop(state, old);
    state.subs.set(keyOf(sub), sub);
    state.tracked.add(sub);
    return this.subscribed(state);
  }

  private addRoom(room: string): RoomState {
    const channel = chatKeys.roomChannel(room);
    const state: RoomState = {
      room, channel, listener: (raw) => this.dispatch(state, raw), subscribed: undefined, generation: 0, resubscribing: false,
      subs: new Map(), tracked: new Set(), liveRooms: new Map(), lastDispatched: undefined, dispatched: 0,
    };
    this.rooms.set(room, state);
    this.roomOfChannel.set(channel, room);
    return state;
  }

  private subscribed(state: RoomState): Promise<void> {
    state.subscribed ??= this.subscriber.subscribe(state.channel, state.listener).catch((error: unknown) => {
      state.subscribed = undefined;
      throw error;
    });
    return state.subscribed;
  }

  /**
   * Ends buffering: the socket already has everything up to `lastId` (undefined = nothing), so
   * buffered messages after it go out now, in order, and the rest live. Call right after the ack.
   */
  go(socket: ChatSocket, room: string, dialect: Dialect, lastId: string | undefined): void {
    const state = this.rooms.get(room);
    const sub = state?.subs.get(`${socket.id}/${dialect}`);
    if (!state || !sub || !sub.joining) return;
    sub.joining = false;
    sub.lastId = lastId;
    // Still resubscribing: keep buffering, the catch-up once subscribed takes this socket along.
    if (state.resubscribing) return;
    // The subscription was interrupted while this socket read its history: what was published
    // in between may have reached neither, so read it like any other catch-up.
    if (sub.generation !== state.generation && !this.stopped) {
      sub.generation = state.generation;
      void this.catchUp(room, [sub], state.generation);
      return;
    }
    this.flush(state, sub);
  }

  close(socket: ChatSocket, room: string, dialect: Dialect): void {
    const state = this.rooms.get(room);
    const sub = state?.subs.get(`${socket.id}/${dialect}`);
    if (!state || !sub) return;
    this.drop(state, sub);
    state.subs.delete(keyOf(sub));
    if (state.subs.size > 0) return;
    // The last local socket left: stop receiving the room's traffic.
    this.rooms.delete(room);
    this.roomOfChannel.delete(state.channel);
    state.generation += 1;
    if (this.stopped) return;
    this.subscriber.unsubscribe(state.channel, state.listener).catch((error: unknown) => {
      this.logger.warn({ err: error, room }, "unsubscribing a room's channel failed");
    });
  }

  /** Chat rooms with at least one local socket (private inboxes not counted). */
  get roomCount(): number {
    let count = 0;
    for (const room of this.rooms.keys()) if (!room.startsWith("@")) count += 1;
    return count;
  }

  private dispatch(state: RoomState, raw: string): void {
    this.options.onReceived?.(Buffer.byteLength(raw));
    // A listener of a room this replica left (and maybe joined again since, with a new state).
    if (this.rooms.get(state.room) !== state) return;
    let message: RoomMessage;
    try {
      message = JSON.parse(raw) as RoomMessage;
    } catch (error) {
      this.logger.error({ err: error }, "skipping an unreadable room message");
      return;
    }
    state.lastDispatched = message.id;
    state.dispatched += 1;
    // The live sets first: a tracked socket that goes live below must not get this one twice.
    const ioRooms = this.io.of("/").adapter.rooms;
    for (const [dialect, liveRoom] of state.liveRooms) {
      const count = ioRooms.get(liveRoom)?.size ?? 0;
      if (count === 0) continue;
      if (dialect === "kit") this.io.local.to(liveRoom).emit("chat:message", message);
      else if (dialect === "private") this.io.local.to(liveRoom).emit("chat:private", toPrivateMessage(message));
      else this.io.local.to(liveRoom).emit("message", toHandoutMessage(message));
      this.options.onDelivered(dialect, count, message);
    }
    for (const sub of state.tracked) {
      if (sub.pending) sub.pending.push(message);
      else {
        this.deliver(sub, message);
        this.goLive(state, sub);
      }
    }
  }

  private flush(state: RoomState, sub: Subscription): void {
    const pending = sub.pending ?? [];
    sub.pending = undefined;
    for (const message of pending) this.deliver(sub, message);
    this.goLive(state, sub);
  }

  /**
   * Moves a socket that has everything dispatched so far into the live set, in the same tick as
   * its last individual delivery. One whose last id is ahead of what was dispatched (its history
   * read saw messages still on their way through pub/sub) stays tracked until they pass.
   */
  private goLive(state: RoomState, sub: Subscription): void {
    if (sub.live || sub.pending || sub.joining) return;
    const caughtUp = sub.lastId === undefined || (state.lastDispatched !== undefined && compareStreamIds(sub.lastId, state.lastDispatched) <= 0);
    if (!caughtUp) return;
    let liveRoom = state.liveRooms.get(sub.dialect);
    if (!liveRoom) state.liveRooms.set(sub.dialect, (liveRoom = liveRoomOf(sub.room, sub.dialect)));
    sub.live = true;
    sub.liveSince = state.dispatched;
    state.tracked.delete(sub);
    void sub.socket.join(liveRoom);
  }

  /** Takes a socket out of the live set, at the last id the live set got since it joined. */
  private leaveLive(state: RoomState, sub: Subscription): void {
    sub.live = false;
    if (state.dispatched > sub.liveSince) sub.lastId = state.lastDispatched;
    state.tracked.add(sub);
    void sub.socket.leave(liveRoomOf(sub.room, sub.dialect));
  }

  /** Stops all delivery to a subscription that is being replaced or removed. */
  private drop(state: RoomState, sub: Subscription): void {
    if (sub.live) void sub.socket.leave(liveRoomOf(sub.room, sub.dialect));
    sub.live = false;
    state.tracked.delete(sub);
  }

  private deliver(sub: Subscription, message: RoomMessage): void {
    if (sub.lastId !== undefined && compareStreamIds(message.id, sub.lastId) <= 0) return;
    sub.lastId = message.id;
    if (sub.dialect === "kit") sub.socket.emit("chat:message", message);
    else if (sub.dialect === "private") sub.socket.emit("chat:private", toPrivateMessage(message));
    else sub.socket.emit("message", toHandoutMessage(message));
    this.options.onDelivered(sub.dialect, 1, message);
  }
}

const keyOf = (sub: Pick<Subscription, "socket" | "dialect">) => `${sub.socket.id}/${sub.dialect}`;

/** A stored inbox entry as the client sees it. */
export function toPrivateMessage(message: RoomMessage): PrivateMessage {
  const { id, user, to = "", text, server, timestamp } = message;
  return { id, from: user, to, text, server, timestamp };
}

/** A room message as the handout's client expects it. */
const toHandoutMessage = (message: RoomMessage) => ({ user: message.user, message: message.text, server: message.server, timestamp: message.timestamp });
