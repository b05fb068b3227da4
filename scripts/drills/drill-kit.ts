/** What every drill parses, measures and sends the same way. */
import type { AckBody, AckResult, ClientToServerEvents, PayloadOf } from "../../websocket-chat/src/contracts/events.js";
import { request, type ClientSocket } from "../../websocket-chat/src/contracts/request.js";

/** `--name`'s value as an integer from `min` to `max`, or an error naming the option. */
export function integerOption(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** The `p`th percentile of `values` (nearest rank), or `empty` when there are none. */
export function percentile(values: readonly number[], p: number, empty = -1): number {
  if (values.length === 0) return empty;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A chat event and its ack, typed by the contract; rejects when no ack comes within `timeoutMs`. */
export function ack<E extends keyof ClientToServerEvents>(
  socket: ClientSocket,
  event: E,
  payload: PayloadOf<E>,
  timeoutMs = 5_000,
): Promise<AckResult<AckBody<E>>> {
  return request(socket, event, payload, { timeoutMs });
}
