import type { z } from "zod";
import type { Ack, AckResult, ErrorBody, ErrorCode } from "../contracts/events.js";

/** An error meant for the client: its code and message go into the ack as they are. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs };
  }
}

/** Parses a payload or throws INVALID_ARGUMENT naming the first problem. */
export function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new ChatError("INVALID_ARGUMENT", `${where}${issue?.message ?? "invalid payload"}`);
}

/** Splits Socket.IO arguments into the payload and the ack, whatever the client sent. */
export function splitArgs(args: unknown[]): { payload: unknown; ack: Ack<object> | undefined } {
  const last = args[args.length - 1];
  if (typeof last === "function") return { payload: args.length > 1 ? args[0] : undefined, ack: last as Ack<object> };
  return { payload: args[0], ack: undefined };
}

export type { Ack, AckResult };
