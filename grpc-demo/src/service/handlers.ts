import type {
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { toStatus } from "./grpc-errors.js";

/**
 * A unary handler from an async function: its result is the reply, anything it throws is mapped
 * to a status (toStatus), and the callback runs exactly once. grpc-js calls handlers for their
 * side effects only, so a handler written as a plain `async` function would leave a rejected
 * promise nobody sees and a call that never ends.
 */
export function unary<Req, Res>(logger: Logger, handle: (call: ServerUnaryCall<Req, Res>) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handle(call).then(
      (reply) => callback(null, reply),
      (error: unknown) => callback(toStatus(error, logger)),
    );
  };
}

/** A client-streaming handler from an async function, answered like `unary`. */
export function clientStream<Req, Res>(
  logger: Logger,
  handle: (call: ServerReadableStream<Req, Res>) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    handle(call).then(
      (reply) => callback(null, reply),
      (error: unknown) => callback(toStatus(error, logger)),
    );
  };
}

/**
 * A server-streaming handler from an async function that writes the stream: the call ends when
 * it returns (unless it ended the call itself), or with the mapped status when it throws.
 */
export function serverStream<Req, Res>(
  logger: Logger,
  handle: (call: ServerWritableStream<Req, Res>) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    handle(call).then(
      () => {
        if (!call.writableEnded) call.end();
      },
      (error: unknown) => {
        if (!call.cancelled) call.emit("error", toStatus(error, logger));
      },
    );
  };
}
