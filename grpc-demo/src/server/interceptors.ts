import { timingSafeEqual } from "node:crypto";
import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status,
  type ServerInterceptor,
} from "@grpc/grpc-js";
import { constants as http2 } from "node:http2";
import type { Logger } from "pino";
import { resetStream } from "../service/stream-writer.js";
import { isRead } from "./method-access.js";

/** What the call interceptor needs from its replica. */
export interface CallBookkeeping {
  logger: Logger;
  serverId: string;
  /** Told every call's method path as it starts (the heartbeat's per-method counts). */
  countCall?: (path: string) => void;
}

/**
 * Every call's own bookkeeping, in one interceptor layer. Each layer grpc-js stacks costs a call
 * object and a pass-through of every event of every call; three layers (stop upload, heartbeat
 * count, logging) were about 7 % of a replica's CPU under GetUser load
 * (bench/results/profiles/grpc-getuser-before.md). It:
 *
 * - counts the call for the heartbeat (one map increment);
 * - logs one line when the call ends (method, status code, duration, replica): at debug for a
 *   call that succeeded (LOG_LEVEL=debug shows every RPC), at warn for one that failed; the log
 *   fields are built only when their level is enabled, so at the default LOG_LEVEL=info a
 *   successful call allocates nothing for logging;
 * - stamps `x-served-by` on the response headers and trailers, so load balancing is visible;
 * - when a call ends while its client is still sending (a message over the size limit, a
 *   client-streaming call answered early), resets the stream with NO_ERROR after the status, as
 *   gRPC over HTTP/2 allows, so the client stops uploading what nobody will read. grpc-js leaves
 *   the stream open: a client announcing a 1 MB message kept sending all of it after its
 *   RESOURCE_EXHAUSTED, and the replica kept reading it.
 *
 * It must be the first interceptor (it wraps grpc-js's own call): it must see every call end,
 * even one refused by an interceptor above it.
 */
export function callInterceptor({ logger, serverId, countCall }: CallBookkeeping): ServerInterceptor {
  const sendMetadata = (metadata: Metadata, next: (metadata: Metadata) => void) => {
    metadata.set("x-served-by", serverId);
    next(metadata);
  };
  return (method, call) => {
    countCall?.(method.path);
    const started = performance.now();
    let halfClosed = false;
    const listener = {
      onReceiveHalfClose(next: () => void) {
        halfClosed = true;
        next();
      },
      onCancel() {
        // grpc-js calls onCancel at the end of every call, after its status went out.
        if (!halfClosed) resetStream(call, http2.NGHTTP2_NO_ERROR);
      },
    };
    return new ServerInterceptingCall(call, {
      start: (next) => next(listener),
      sendMetadata,
      sendStatus(callStatus, next) {
        const ok = callStatus.code === status.OK || callStatus.code === status.CANCELLED;
        // Checked per call, not once, so a level changed at run time takes effect.
        if (logger.isLevelEnabled(ok ? "debug" : "warn")) {
          const ms = Math.round((performance.now() - started) * 100) / 100;
          const fields = { method: method.path, code: status[callStatus.code] ?? String(callStatus.code), ms, replica: serverId };
          if (ok) logger.debug(fields, "rpc");
          else logger.warn({ ...fields, details: callStatus.details }, "rpc");
        }
        const trailers = callStatus.metadata ?? new Metadata();
        trailers.set("x-served-by", serverId);
        next({ ...callStatus, metadata: trailers });
      },
    });
  };
}

/**
 * Rejects every call without `authorization: Bearer <token>` with UNAUTHENTICATED before any
 * handler runs, except the methods classified as reads (method-access.ts), which stay open as
 * in the handout. It fails closed: a new RPC nobody classified needs the token.
 */
export function authInterceptor(token: string): ServerInterceptor {
  const expected = Buffer.from(`Bearer ${token}`);
  const authorized = (metadata: Metadata) => {
    const given = metadata.get("authorization")[0];
    if (typeof given !== "string") return false;
    const candidate = Buffer.from(given);
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  };
  return (method, call) => {
    if (isRead(method.path)) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        if (authorized(metadata)) return next(metadata);
        call.sendStatus({
          code: status.UNAUTHENTICATED,
          details: metadata.get("authorization").length === 0
            ? "missing 'authorization: Bearer <token>' metadata"
            : "invalid bearer token",
          metadata: new Metadata(),
        });
      })
      .build();
    const responder = new ResponderBuilder().withStart((next) => next(listener)).build();
    return new ServerInterceptingCall(call, responder);
  };
}
