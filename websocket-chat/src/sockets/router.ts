import type { Logger } from "pino";
import type { z } from "zod";
import type { Ack, AckBody, ClientToServerEvents, ErrorBody, PayloadOf } from "../contracts/events.js";
import { ChatError, parsePayload, splitArgs } from "../chat/ack.js";
import type { ChatSocket } from "../chat/socket-types.js";
import type { ChatMetrics } from "../http/metrics.js";
import { isRedisUnavailable } from "@clusterkit/redis-kit";

/** Events of one socket waiting to be handled before new ones are refused. */
export const MAX_QUEUED_EVENTS = 100;

export type ClientEvent = keyof ClientToServerEvents;

/** What a handler of `E` answers with: the contract's ack without its `ok: true`. */
export type BodyOf<E extends ClientEvent> = AckBody<E>;

/** What a handler returns: the ack body, and what must run right after the ack is sent. */
export interface Reply<E extends ClientEvent> {
  body: BodyOf<E>;
  afterAck?: () => void;
}

/**
 * A schema whose output the contract accepts as the event's payload; events whose payload is
 * an empty object may also be sent without one.
 */
export type SchemaFor<E extends ClientEvent> = z.ZodType<PayloadOf<E> | (PayloadOf<E> extends Record<string, never> ? undefined : never)>;

export type Handler<E extends ClientEvent, S extends SchemaFor<E>> = (payload: z.infer<S>) => Promise<Reply<E>>;

/** The one place a socket's events are validated, queued, answered and refused. */
export interface SocketRouter {
  /** Handles `event`: its payload parsed by `schema`, its result (or error) acked exactly once. */
  on<E extends ClientEvent, S extends SchemaFor<E>>(event: E, schema: S, handler: Handler<E, S>): void;
  /** Runs `task` after every event already queued on this socket (the disconnect cleanup). */
  enqueue(task: () => Promise<void>): Promise<void>;
  /** The events with a handler; any other gets UNKNOWN_EVENT. */
  readonly events: ReadonlySet<ClientEvent>;
}

export interface RouterDeps {
  logger: Logger;
  metrics: Pick<ChatMetrics, "rejected">;
}

/**
 * A router for one socket. Its events run one at a time, in arrival order, so `identify` then
 * `join` sent back to back behave as sent; every failure is answered, none escapes to the process.
 */
export function createSocketRouter(socket: ChatSocket, { logger, metrics }: RouterDeps): SocketRouter {
  const events = new Set<ClientEvent>();
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;

  const enqueue = (task: () => Promise<void>) => {
    queued += 1;
    const run = () => task().finally(() => (queued -= 1));
    queue = queue.then(run, run);
    return queue;
  };

  const refuse = (event: string, ack: Ack | undefined, error: ErrorBody) => {
    metrics.rejected.inc({ code: error.code });
    if (ack) ack({ error });
    else socket.emit("chat:error", { ...error, event });
  };

  const toErrorBody = (event: string, error: unknown): ErrorBody => {
    if (error instanceof ChatError) return error.toBody();
    if (isRedisUnavailable(error)) return { code: "UNAVAILABLE", message: "the chat store is unreachable right now; try again shortly" };
    logger.error({ err: error, event, socket: socket.id }, "chat handler failed");
    return { code: "INTERNAL", message: "the server could not handle this event; try again" };
  };

  socket.onAny((event: string, ...args: unknown[]) => {
    if (events.has(event as ClientEvent)) return;
    refuse(event, splitArgs(args).ack, { code: "UNKNOWN_EVENT", message: `unknown event '${event}'` });
  });

  function on<E extends ClientEvent, S extends SchemaFor<E>>(event: E, schema: S, handler: Handler<E, S>) {
    if (events.has(event)) throw new Error(`'${event}' has two handlers`);
    events.add(event);
    // Whatever the client sent: the contract's argument types are what it should send, not what it did.
    const listener = (...args: unknown[]) => {
      const { payload, ack } = splitArgs(args);
      // A client that does not wait for its acks cannot pile up unbounded work here.
      if (queued >= MAX_QUEUED_EVENTS) {
        return refuse(event, ack, { code: "RATE_LIMITED", message: `more than ${MAX_QUEUED_EVENTS} events waiting; wait for the acks` });
      }
      void enqueue(async () => {
        let reply: Reply<E>;
        try {
          reply = await handler(parsePayload(schema, payload));
        } catch (error) {
          return refuse(event, ack, toErrorBody(event, error));
        }
        ack?.({ ok: true, ...reply.body });
        // Already acked: a failure here is logged, never answered a second time.
        try {
          reply.afterAck?.();
        } catch (error) {
          logger.error({ err: error, event, socket: socket.id }, "chat handler failed after its ack");
        }
      });
    };
    (socket.on as (event: string, listener: (...args: unknown[]) => void) => void).call(socket, event, listener);
  }

  return { on, enqueue, events };
}
