import { isRedisUnavailable } from "@clusterkit/redis-kit";
import { status, type ServiceError, Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { wellFormed } from "../store/quote.js";
import { grpcStatusOf, UserError } from "../store/user-errors.js";

export type StatusObject = Partial<ServiceError> & { code: status; details: string };

/**
 * Maps any failure to the status a client gets: a caller's mistake to its own code, an
 * unreachable Redis to UNAVAILABLE (safe to retry), anything else to INTERNAL without
 * internals (logged here instead).
 */
export function toStatus(error: unknown, logger: Logger): StatusObject {
  if (error instanceof UserError) {
    const metadata = new Metadata();
    if (error.field) metadata.set("x-field", error.field);
    // Messages quote user input through quote(); wellFormed is the last line of defence, as a
    // lone surrogate in the grpc-message header would lose the whole status.
    return { code: grpcStatusOf[error.code], details: wellFormed(error.message), metadata };
  }
  if (isRedisUnavailable(error)) {
    logger.warn({ err: error }, "store unavailable");
    return { code: status.UNAVAILABLE, details: "the user store is unavailable; retry shortly" };
  }
  logger.error({ err: error }, "unexpected failure");
  return { code: status.INTERNAL, details: "internal error" };
}

/** The gRPC code name of a status, e.g. "NOT_FOUND". */
export function codeName(code: status): string {
  return status[code] ?? String(code);
}
