import { once } from "node:events";
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
}

type EndableCall = Pick<ServerWritableStream<unknown, unknown>, "emit" | "cancelled">;

/**
 * SubscribeToUpdates calls never end by themselves, so a shutting-down replica ends them:
 * with UNAVAILABLE, which tells a client to resume from its cursor on another replica.
 */
export class OpenSubscriptions {
  private readonly calls = new Set<EndableCall>();

  get size(): number {
    return this.calls.size;
  }

  add(call: EndableCall): () => void {
    this.calls.add(call);
    return () => void this.calls.delete(call);
  }

  endAll(): void {
    for (const call of this.calls) {
      if (!call.cancelled) {
        call.emit("error", { code: status.UNAVAILABLE, details: "replica shutting down; resume from your last cursor" });
      }
    }
    this.calls.clear();
  }
}

/** Writes with backpressure: waits for 'drain' rather than buffering a whole listing. */
export async function writeOrWait<T>(
  call: ServerWritableStream<unknown, T> | ServerDuplexStream<unknown, T>,
  message: T,
): Promise<boolean> {
  if (call.cancelled) return false;
  if (!call.write(message)) {
    await Promise.race([once(call, "drain"), once(call, "cancelled")]);
  }
  return !call.cancelled;
}
