import type { Logger } from "pino";
import type { z } from "zod";
import type { Ack, AckBody, ClientToServerEvents, ErrorBody, PayloadOf } from "../contracts/events.js";
import { ChatError, parsePayload, splitArgs } from "../chat/ack.js";
import type { ChatSocket } from "../chat/socket-types.js";
import type { ChatMetrics } from "../metrics.js";
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

/** One event's handler for one socket's `session`, with its payload already parsed. */
export type Handler<Session, E extends ClientEvent, S extends SchemaFor<E>> = (session: Session, payload: z.infer<S>) => Promise<Reply<E>>;

/** One event, its schema and its handler, with the types erased so that features can be listed together. */
export interface Route<Session> {
  readonly event: ClientEvent;
  /** Parses the client's payload (INVALID_ARGUMENT when it does not fit) and handles it. */
  run(session: Session, payload: unknown): Promise<{ body: object; afterAck?: () => void }>;
}

/**
 * The typed way to write a route for sessions of type `Session`:
 * `const route = routeFor<ChatDeps>(); route("chat:leave", leaveSchema, async (deps, { room }) => …)`.
 * The payload's and the ack's types come from `ClientToServerEvents`.
 */
export function routeFor<Session>() {
  return <E extends ClientEvent, S extends SchemaFor<E>>(event: E, schema: S, handler: Handler<Session, E, S>): Route<Session> => ({
    event,
    run: (session, payload) => handler(session, parsePayload(schema, payload)),
  });
}

/** The one place every socket's events are validated, queued, answered and refused. */
export interface SocketRouter<Session> {
  /** Serves `socket`'s events with `session`. */
  attach(socket: ChatSocket, session: Session): void;
  /** The session `socket` was attached with. */
  sessionOf(socket: ChatSocket): Session | undefined;
  /** Runs `task` after every event already queued on `socket` (the disconnect cleanup). */
  enqueue(socket: ChatSocket, task: () => Promise<void>): Promise<void>;
  /** The events with a handler; any other gets UNKNOWN_EVENT. */
  readonly events: ReadonlySet<ClientEvent>;
}

export interface RouterDeps {
  logger: Logger;
  metrics: Pick<ChatMetrics, "rejected">;
  /** Told of every event answered with success, after its ack (the activity log). */
  onHandled?: (socket: ChatSocket, event: ClientEvent, body: object) => void;
}

/** What the router keeps per socket: its session and its queue. */
interface Lane<Session> {
  session: Session;
  /** The last queued event's promise; undefined while nothing waits. */
  tail: Promise<void> | undefined;
  queued: number;
}

/**
 * A router for every socket of a server. The routes are built once; each socket gets one
 * catch-all listener (the same function for all of them) and a small lane, so an idle connection
 * costs no closures. A socket's events run one at a time, in arrival order, so `identify` then
 * `join` sent back to back behave as sent; every failure is answered, none escapes to the process.
 */
export function createSocketRouter<Session>(routes: readonly Route<Session>[], { logger, metrics, onHandled }: RouterDeps): SocketRouter<Session> {
  const byEvent = new Map<string, Route<Session>>();
  for (const route of routes) {
    if (byEvent.has(route.event)) throw new Error(`'${route.event}' has two handlers`);
    byEvent.set(route.event, route);
  }
  const lanes = new WeakMap<ChatSocket, Lane<Session>>();

  const enqueueOn = (lane: Lane<Session>, task: () => Promise<void>): Promise<void> => {
    lane.queued += 1;
    const run = () =>
      task().finally(() => {
        lane.queued -= 1;
        // Nothing waits: drop the settled chain rather than keep it for an idle socket.
        if (lane.queued === 0) lane.tail = undefined;
      });
    const next = lane.tail ? lane.tail.then(run, run) : run();
    lane.tail = next;
    return next;
  };

  const refuse = (socket: ChatSocket, event: string, ack: Ack | undefined, error: ErrorBody) => {
    metrics.rejected.inc({ code: error.code });
    if (ack) ack({ error });
    else socket.emit("chat:error", { ...error, event });
  };

  const toErrorBody = (socket: ChatSocket, event: string, error: unknown): ErrorBody => {
    if (error instanceof ChatError) return error.toBody();
    if (isRedisUnavailable(error)) return { code: "UNAVAILABLE", message: "the chat store is unreachable right now; try again shortly" };
    logger.error({ err: error, event, socket: socket.id }, "chat handler failed");
    return { code: "INTERNAL", message: "the server could not handle this event; try again" };
  };

  const handle = async (socket: ChatSocket, lane: Lane<Session>, route: Route<Session>, payload: unknown, ack: Ack | undefined) => {
    let reply: Awaited<ReturnType<Route<Session>["run"]>>;
    try {
      reply = await route.run(lane.session, payload);
    } catch (error) {
      return refuse(socket, route.event, ack, toErrorBody(socket, route.event, error));
    }
    ack?.({ ok: true, ...reply.body });
    // Already acked: a failure here is logged, never answered a second time.
    try {
      onHandled?.(socket, route.event, reply.body);
      reply.afterAck?.();
    } catch (error) {
      logger.error({ err: error, event: route.event, socket: socket.id }, "chat handler failed after its ack");
    }
  };

  // Socket.IO calls catch-all listeners with the socket as `this`, so one function serves all.
  // Whatever the client sent: the contract's argument types are what it should send, not what it did.
  function onEvent(this: ChatSocket, event: string, ...args: unknown[]): void {
    const lane = lanes.get(this);
    // Socket.IO hands packets over a tick after decoding them: one may come after the disconnect.
    if (!lane || !this.connected) return;
    const { payload, ack } = splitArgs(args);
    const route = byEvent.get(event);
    if (!route) return refuse(this, event, ack, { code: "UNKNOWN_EVENT", message: `unknown event '${event}'` });
    // A client that does not wait for its acks cannot pile up unbounded work here.
    if (lane.queued >= MAX_QUEUED_EVENTS) {
      return refuse(this, event, ack, { code: "RATE_LIMITED", message: `more than ${MAX_QUEUED_EVENTS} events waiting; wait for the acks` });
    }
    void enqueueOn(lane, () => handle(this, lane, route, payload, ack));
  }

  return {
    attach(socket, session) {
      lanes.set(socket, { session, tail: undefined, queued: 0 });
      socket.onAny(onEvent);
    },
    sessionOf(socket) {
      return lanes.get(socket)?.session;
    },
    enqueue(socket, task) {
      const lane = lanes.get(socket);
      return lane ? enqueueOn(lane, task) : task();
    },
    events: new Set(byEvent.keys()) as ReadonlySet<ClientEvent>,
  };
}
