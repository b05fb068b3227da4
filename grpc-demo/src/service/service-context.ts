import type { EventEmitter } from "node:events";
import { status, type ServerDuplexStream, type ServerWritableStream } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { UserEventHub } from "../events/user-event-hub.js";
import type { RedisUserStore } from "../store/user-store.js";

/** What the service handlers share: the store, the event hub, and the open subscriptions. */
export interface ServiceContext {
  store: RedisUserStore;
  hub: UserEventHub;
  logger: Logger;
  subscriptions: OpenSubscriptions;
  subscriberLimits: SubscriberLimits;
}

/** How much a SubscribeToUpdates client that stops reading may cost its replica. */
export interface SubscriberLimits {
  /** USERS_SUBSCRIBER_MAX_BUFFERED_BYTES. */
  maxBufferedBytes: number;
  /** A replay waiting this long for a client that takes nothing cuts it off. @default 5000 */
  stallTimeoutMs?: number;
}

interface BufferStats {
  readonly peakBufferedBytes: number;
}

type EndableCall = Pick<ServerWritableStream<unknown, unknown>, "emit" | "cancelled">;

/**
 * SubscribeToUpdates calls never end by themselves, so a shutting-down replica ends them:
 * with UNAVAILABLE, which tells a client to resume from its cursor on another replica.
 */
export class OpenSubscriptions {
  private readonly calls = new Map<EndableCall, BufferStats>();
  private peakOfEnded = 0;

  get size(): number {
    return this.calls.size;
  }

  /** The most bytes any subscriber of this replica ever had waiting for it (the bound's witness). */
  get peakBufferedBytes(): number {
    let peak = this.peakOfEnded;
    for (const stats of this.calls.values()) peak = Math.max(peak, stats.peakBufferedBytes);
    return peak;
  }

  add(call: EndableCall, stats: BufferStats = { peakBufferedBytes: 0 }): () => void {
    this.calls.set(call, stats);
    return () => {
      if (!this.calls.delete(call)) return;
      this.peakOfEnded = Math.max(this.peakOfEnded, stats.peakBufferedBytes);
    };
  }

  endAll(): void {
    for (const call of this.calls.keys()) {
      if (!call.cancelled) {
        call.emit("error", { code: status.UNAVAILABLE, details: "replica shutting down; resume from your last cursor" });
      }
    }
    this.calls.clear();
  }
}

type WaitableCall<T> = Pick<ServerWritableStream<unknown, T> | ServerDuplexStream<unknown, T>, "write" | "cancelled"> &
  Pick<EventEmitter, "once" | "off">;

/**
 * Writes with backpressure: waits for 'drain' rather than buffering a whole listing. Whichever
 * of 'drain' and 'cancelled' comes first, the listener for the other is removed: a listing
 * waits thousands of times on one call, and each leftover listener would stay on it.
 */
export async function writeOrWait<T>(call: WaitableCall<T>, message: T): Promise<boolean> {
  if (call.cancelled) return false;
  if (!call.write(message)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        call.off("drain", done);
        call.off("cancelled", done);
        resolve();
      };
      call.once("drain", done);
      call.once("cancelled", done);
    });
  }
  return !call.cancelled;
}
