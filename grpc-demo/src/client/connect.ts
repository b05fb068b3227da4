import { credentials, Metadata, status, type Interceptor, InterceptingCall, type ClientOptions } from "@grpc/grpc-js";
import { UserServiceClient } from "../gen/userservice/v1/user_service.js";
import { resolveTarget } from "./target.js";

export interface UsersClientOptions {
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string | undefined;
  /** Extra channel options. */
  channelOptions?: ClientOptions | undefined;
}

/** Channel options shared by every client of the kit. */
export const defaultChannelOptions: ClientOptions = {
  // Spread calls over every address the target resolves to (a comma list, or a DNS name with
  // several A records such as a scaled compose service) instead of pinning one.
  "grpc.service_config": JSON.stringify({
    loadBalancingConfig: [{ round_robin: {} }],
    // Reads are idempotent: when a replica dies under a call, retry it on another. Writes are
    // not retried: a create that reached the dead replica may have happened.
    methodConfig: [
      {
        name: ["GetUser", "ListUsers", "LookupUsers"].map((method) => ({ service: "userservice.v1.UserService", method })),
        retryPolicy: {
          maxAttempts: 4,
          initialBackoff: "0.1s",
          maxBackoff: "1s",
          backoffMultiplier: 2,
          retryableStatusCodes: ["UNAVAILABLE"],
        },
      },
    ],
  }),
  // Ping an idle connection so a dead replica is noticed before the next call needs it.
  "grpc.keepalive_time_ms": 20_000,
  "grpc.keepalive_timeout_ms": 5_000,
};

function bearerInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata: Metadata, listener, next) {
        metadata.set("authorization", `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Why a request cannot be sent: a number field outside int32 (every number in a v1 request is one). */
function outOfRange(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  for (const [key, value] of Object.entries(message)) {
    if (typeof value !== "number" || (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX)) continue;
    const field = key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    const got = Number.isSafeInteger(value) ? `, got ${value}` : "";
    return `${field} must be an integer from ${INT32_MIN} to ${INT32_MAX} (a 32-bit proto field)${got}`;
  }
  return undefined;
}

/**
 * Refuses a request with an out-of-range id (or page size) as INVALID_ARGUMENT before sending it.
 * grpc-js would fail it while serializing, as INTERNAL "Request message serialization failure",
 * which reads as a server bug and got logged as one (finding 11.9); a client that truncated it
 * instead would ask for another user.
 */
function int32Interceptor(): Interceptor {
  return (options, nextCall) => {
    const call: InterceptingCall = new InterceptingCall(nextCall(options), {
      sendMessage(message, next) {
        const problem = outOfRange(message);
        if (problem) call.cancelWithStatus(status.INVALID_ARGUMENT, problem);
        else next(message);
      },
    });
    return call;
  };
}

/**
 * A typed UserService v1 client. `target` is one address, a comma list (client-side
 * round_robin over all of them), or any grpc-js target (`dns:///users:50051`).
 */
export async function connectUsers(target: string, options: UsersClientOptions = {}): Promise<UserServiceClient> {
  const resolved = await resolveTarget(target);
  return new UserServiceClient(resolved, credentials.createInsecure(), {
    ...defaultChannelOptions,
    ...options.channelOptions,
    interceptors: [int32Interceptor(), ...(options.token ? [bearerInterceptor(options.token)] : [])],
  });
}
