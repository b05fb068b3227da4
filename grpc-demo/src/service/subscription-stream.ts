import { Metadata, type ServerWritableStream } from "@grpc/grpc-js";
import type { Subscription } from "../events/user-event-hub.js";
import type { UserEventEntry } from "../events/user-event.js";
import { toStatus } from "./grpc-errors.js";
import type { ServiceContext } from "./service-context.js";
import { BoundedStreamWriter } from "./stream-writer.js";

/**
 * Serves one SubscribeToUpdates call (either service's): subscribes to the hub from `since`,
 * writes each event as `toMessage` makes it, and lets go of everything when the client
 * cancels, its deadline passes, it stops reading, or the replica shuts down.
 */
export async function serveSubscription<T>(
  ctx: ServiceContext,
  call: ServerWritableStream<unknown, T>,
  since: string | undefined,
  toMessage: (event: UserEventEntry) => T,
): Promise<void> {
  const writer = new BoundedStreamWriter(call);
  const forget = ctx.subscriptions.add(call);
  let subscription: Subscription | undefined;
  let over = false;
  const stop = () => {
    over = true;
    subscription?.close();
    forget();
  };
  call.once("cancelled", stop);
  call.once("error", stop);
  call.once("finish", stop);
  try {
    subscription = await ctx.hub.subscribe(since, (event) => {
      if (!over && !writer.write(toMessage(event))) stop();
    });
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
