import type { Socket } from "socket.io-client";
import type { AckBody, AckResult, ClientToServerEvents, ErrorBody, PayloadOf, ServerToClientEvents } from "./events.js";

/** A client's socket, typed by the contract: the page's, the tests', the drills'. */
export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RequestOptions {
  /** How long to wait for the ack before rejecting (socket.io's "operation has timed out"). */
  timeoutMs: number;
}

/**
 * Sends `event` with `payload` and resolves with the server's ack, both typed by the contract;
 * rejects when no ack comes within `timeoutMs`. Browser-safe (a type-only import of
 * socket.io-client): the page, the tests and the drills all send through it.
 */
export function request<E extends keyof ClientToServerEvents>(
  socket: ClientSocket,
  event: E,
  payload: PayloadOf<E>,
  { timeoutMs }: RequestOptions,
): Promise<AckResult<AckBody<E>>> {
  // socket.io-client cannot check a generic event's arguments, and types an ack waited for under
  // timeout() as `any` (the timeout error it adds hides the ack's type): the contract's types in
  // this signature are what callers get, and this plain view of the socket is the one place they
  // are taken on trust.
  const plain: Socket = socket;
  return plain.timeout(timeoutMs).emitWithAck(event, payload);
}

/** The ack's error, or `undefined` when it succeeded. */
export function ackError(result: AckResult<object>): ErrorBody | undefined {
  return "error" in result ? result.error : undefined;
}
