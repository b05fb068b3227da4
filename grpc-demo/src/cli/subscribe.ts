import { status, type Metadata, type ServiceError } from "@grpc/grpc-js";
import type { SubscribeToUpdatesResponse, UserServiceClient } from "../gen/userservice/v1/user_service.js";
import { UserAction } from "../gen/userservice/v1/user_service.js";
import { servedByOf } from "../client/calls.js";
import { describeUser, userJson, type Output } from "./output.js";

/** Codes after which the stream is worth reopening from the last cursor. */
const RESUMABLE = new Set([status.UNAVAILABLE, status.INTERNAL, status.UNKNOWN, status.RESOURCE_EXHAUSTED, status.CANCELLED]);

export interface SubscribeOptions {
  since: string;
  /** Stop after this many updates (0: run until interrupted). */
  count: number;
  /** Stop when this aborts (Ctrl-C). */
  signal: AbortSignal;
  /** Called each time a replica has registered the subscription (again after each resume), with its name. */
  onReady?: (servedBy: string | undefined) => void;
  /** Longest wait between reconnection attempts. @default 5000 */
  maxBackoffMs?: number;
}

export function actionName(action: UserAction): string {
  return UserAction[action]?.replace("USER_ACTION_", "").toLowerCase() ?? String(action);
}

/**
 * Follows SubscribeToUpdates and, when the connection drops (a replica died, a proxy cut the
 * stream), reopens it from the last cursor it printed, so nothing is missed or printed twice.
 */
export async function followUpdates(client: UserServiceClient, out: Output, options: SubscribeOptions): Promise<number> {
  let cursor = options.since;
  let received = 0;
  let attempt = 0;
  while (!options.signal.aborted) {
    const outcome = await new Promise<"done" | ServiceError>((resolve) => {
      const call = client.subscribeToUpdates({ sinceCursor: cursor });
      const abort = () => call.cancel();
      options.signal.addEventListener("abort", abort, { once: true });
      call.once("metadata", (metadata: Metadata) => {
        attempt = 0;
        const start = metadata.get("x-subscription-cursor")[0];
        if (cursor === "" && typeof start === "string") cursor = start;
        options.onReady?.(servedByOf(metadata));
      });
      call.on("data", (update: SubscribeToUpdatesResponse) => {
        cursor = update.cursor;
        received += 1;
        out.emit(`${actionName(update.action)}: ${describeUser(update.user)}  (cursor ${update.cursor}, by ${update.origin})`, {
          action: actionName(update.action),
          user: userJson(update.user),
          cursor: update.cursor,
          occurredAt: update.occurredAt?.toISOString(),
          origin: update.origin,
        });
        if (options.count > 0 && received >= options.count) call.cancel();
      });
      const finish = (result: "done" | ServiceError) => {
        options.signal.removeEventListener("abort", abort);
        resolve(result);
      };
      call.on("error", (error: ServiceError) => {
        const ours = error.code === status.CANCELLED && (options.signal.aborted || (options.count > 0 && received >= options.count));
        finish(ours ? "done" : error);
      });
      call.on("end", () => finish("done"));
    });
    if (outcome === "done" || (options.count > 0 && received >= options.count)) break;
    if (!RESUMABLE.has(outcome.code)) throw outcome;
    attempt += 1;
    const wait = Math.min(200 * 2 ** (attempt - 1), options.maxBackoffMs ?? 5000);
    out.note(`stream dropped (${status[outcome.code]}: ${outcome.details}); resuming from ${cursor || "now"} in ${wait} ms`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return received;
}
