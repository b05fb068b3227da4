import { Metadata, type ServerWritableStream } from "@grpc/grpc-js";
import type { Subscription } from "../events/user-event-hub.js";
import type { UserEventEntry } from "../events/user-event.js";
import type { EncodedUpdates } from "./encoded-updates.js";
import { toStatus } from "./grpc-errors.js";
import type { ServiceContext } from "./service-context.js";
import { BoundedStreamWriter } from "./stream-writer.js";

/** gRPC's length-prefixed framing of each message. */
const GRPC_FRAME_BYTES = 5;

/**
 * Serves one SubscribeToUpdates call (either service's): subscribes to the hub from `since`,
 * writes each event as `updates` encoded it (once for every subscriber), and lets go of
 * everything when the client cancels, its deadline passes, it stops reading, or the replica
 * shuts down. The service must be registered through withEncodedUpdates, which passes the bytes
 * through.
 */
export async function serveSubscription(
  ctx: ServiceContext,
  call: ServerWritableStream<unknown, unknown>,
  since: string | undefined,
  updates: EncodedUpdates,
): Promise<void> {
  const { maxBufferedBytes, stallTimeoutMs } = ctx.subscriberLimits;
  const encoded = (event: UserEventEntry) => updates.bytes(event);
  // The buffer bound counts each update's exact size on the wire.
  const size = (event: UserEventEntry) => updates.bytes(event).length + GRPC_FRAME_BYTES;
  const writer = new BoundedStreamWriter(call, encoded, size, {
    maxBufferedBytes,
    stallTimeoutMs,
    onCutOff: (bufferedBytes) => {
      ctx.logger.warn({ bufferedBytes, limit: maxBufferedBytes, peer: call.getPeer() }, "subscriber is not reading; stream reset (RESOURCE_EXHAUSTED)");
    },
  });
  const forget = ctx.subscriptions.add(call, writer);
  let subscription: Subscription | undefined;
  let over = false;
  const stop = () => {
    over = true;
    subscription?.close();
    writer.close();
    forget();
  };
  call.once("cancelled", stop);
  call.once("error", stop);
  call.once("finish", stop);
  // A replay waits for the client to take most of a batch before reading the next, so a slow
  // reader slows its own replay; a live burst is never held back, so it counts against the bound.
  // 16 KiB keeps a replay's pipe full (HTTP/2 lets 64 KB more be in flight) while a client that
  // stops reading is given little before the replay waits on it.
  const pace = () => writer.whenBelow(Math.min(16 * 1024, maxBufferedBytes / 4));
  try {
    subscription = await ctx.hub.subscribe(
      since,
      (event) => {
        if (!over && !writer.push(event)) stop();
      },
      pace,
    );
    if (over || call.cancelled) return stop();
    // Headers once registered, so a client knows the subscription is live before any change
    // arrives (ignored when a replay already sent them). A live-only subscriber learns where it
    // started, so it can resume from there if the stream drops before the first update.
    const headers = new Metadata();
    headers.set("x-subscription-cursor", subscription.startCursor);
    call.sendMetadata(headers);
  } catch (error) {
    stop();
    if (!call.cancelled) call.emit("error", toStatus(error, ctx.logger));
  }
}
