import { status } from "@grpc/grpc-js";

/** The failures a caller can cause; each maps to one gRPC status at the boundary. */
export type UserErrorCode = "INVALID_ARGUMENT" | "NOT_FOUND" | "ALREADY_EXISTS" | "OUT_OF_RANGE";

export class UserError extends Error {
  constructor(
    readonly code: UserErrorCode,
    message: string,
    /** The request field at fault, for INVALID_ARGUMENT. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "UserError";
  }
}

export const grpcStatusOf: Record<UserErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  OUT_OF_RANGE: status.OUT_OF_RANGE,
};
