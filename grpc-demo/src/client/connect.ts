import { credentials, Metadata, type Interceptor, InterceptingCall, type ClientOptions } from "@grpc/grpc-js";
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

/**
 * A typed UserService v1 client. `target` is one address, a comma list (client-side
 * round_robin over all of them), or any grpc-js target (`dns:///users:50051`).
 */
export async function connectUsers(target: string, options: UsersClientOptions = {}): Promise<UserServiceClient> {
  const resolved = await resolveTarget(target);
  return new UserServiceClient(resolved, credentials.createInsecure(), {
    ...defaultChannelOptions,
    ...options.channelOptions,
    interceptors: options.token ? [bearerInterceptor(options.token)] : [],
  });
}
