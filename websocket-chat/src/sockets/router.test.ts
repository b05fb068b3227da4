import pino from "pino";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { chatRoutes } from "../chat/chat.handlers.js";
import { ChatError } from "../chat/ack.js";
import type { ChatSocket } from "../chat/socket-types.js";
import { clientEventNames, type AckResult } from "../contracts/events.js";
import { leaveSchema, typingSchema } from "../contracts/payloads.js";
import { MAX_QUEUED_EVENTS, createSocketRouter, routeFor, type Route } from "./router.js";

type Listener = (...args: unknown[]) => void;

/** Just enough of a Socket.IO socket to deliver events the way it does: catch-all listeners first. */
function fakeSocket() {
  const listeners = new Map<string, Listener>();
  const anyListeners: Listener[] = [];
  const emitted: { event: string; payload: unknown }[] = [];
  const socket = {
    id: "fake-socket",
    connected: true,
    on: (event: string, listener: Listener) => listeners.set(event, listener),
    onAny: (listener: Listener) => anyListeners.push(listener),
    emit: (event: string, payload: unknown) => emitted.push({ event, payload }),
  };
  // As Socket.IO does: catch-all listeners are called with the socket as `this`.
  const deliver = (event: string, ...args: unknown[]) => {
    for (const listener of anyListeners) listener.call(socket, event, ...args);
    listeners.get(event)?.call(socket, ...args);
  };
  /** Delivers an event with an ack and resolves with every ack call made within a tick of the first. */
  const request = (event: string, payload?: unknown) =>
    new Promise<AckResult[]>((resolve) => {
      const calls: AckResult[] = [];
      deliver(event, payload, (result: AckResult) => {
        calls.push(result);
        if (calls.length === 1) setTimeout(() => resolve(calls), 20);
      });
    });
  return { socket: socket as unknown as ChatSocket, emitted, deliver, request };
}

const route = routeFor<object>();

/** A router serving `routes` to one fake socket. */
function routerOn(fake: ReturnType<typeof fakeSocket>, routes: Route<object>[]) {
  const logged: unknown[] = [];
  const logger = pino({ level: "error" }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const rejected: string[] = [];
  const metrics = { rejected: { inc: ({ code }: { code: string }) => void rejected.push(code) } };
  const router = createSocketRouter(routes, { logger, metrics: metrics as never });
  router.attach(fake.socket, {});
  return { router, logged, rejected };
}

describe("socket router", () => {
  it("has a handler for every client event of the contract, and for nothing else", () => {
    const router = createSocketRouter(chatRoutes, { logger: pino({ level: "silent" }), metrics: {} as never });
    expect([...router.events].sort()).toEqual([...clientEventNames].sort());
  });

  it("refuses two handlers of one event when it is built", () => {
    const twice = [route("chat:leave", leaveSchema, async (_session, { room }) => ({ body: { room } })), route("chat:leave", leaveSchema, async (_session, { room }) => ({ body: { room } }))];
    expect(() => createSocketRouter(twice, { logger: pino({ level: "silent" }), metrics: {} as never })).toThrow("'chat:leave' has two handlers");
  });

  it("refuses an event nobody registered, with or without an ack", async () => {
    const fake = fakeSocket();
    const { rejected } = routerOn(fake, [route("chat:leave", leaveSchema, async (_session, { room }) => ({ body: { room } }))]);
    expect(await fake.request("chat:typing", { room: "a" })).toEqual([{ error: { code: "UNKNOWN_EVENT", message: "unknown event 'chat:typing'" } }]);
    fake.deliver("nope", {});
    expect(fake.emitted).toEqual([{ event: "chat:error", payload: { code: "UNKNOWN_EVENT", message: "unknown event 'nope'", event: "nope" } }]);
    expect(await fake.request("chat:leave", { room: "a" })).toEqual([{ ok: true, room: "a" }]);
    expect(rejected).toEqual(["UNKNOWN_EVENT", "UNKNOWN_EVENT"]);
  });

  it("acks once: the body, or INVALID_ARGUMENT naming the field, the ChatError's body, UNAVAILABLE or INTERNAL", async () => {
    const fake = fakeSocket();
    const failures: Record<string, Error> = {
      a: new ChatError("NOT_FOUND", "no such room"),
      b: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      c: new Error("a bug"),
    };
    let afterAcks = 0;
    const { logged } = routerOn(fake, [
      route("chat:typing", typingSchema, async (_session, { room }) => {
        if (failures[room]) throw failures[room];
        return { body: {}, afterAck: () => void (afterAcks += 1) };
      }),
    ]);
    expect(await fake.request("chat:typing", { room: "ok" })).toEqual([{ ok: true }]);
    expect(afterAcks).toBe(1);
    const [invalid] = await fake.request("chat:typing", { room: "a b" });
    expect(invalid && "error" in invalid && `${invalid.error.code} ${invalid.error.message}`).toMatch(/^INVALID_ARGUMENT room: /);
    expect(await fake.request("chat:typing", { room: "a" })).toEqual([{ error: { code: "NOT_FOUND", message: "no such room" } }]);
    expect(await fake.request("chat:typing", { room: "b" })).toMatchObject([{ error: { code: "UNAVAILABLE" } }]);
    expect(logged).toEqual([]);
    expect(await fake.request("chat:typing", { room: "c" })).toMatchObject([{ error: { code: "INTERNAL" } }]);
    expect(logged).toMatchObject([{ event: "chat:typing", msg: "chat handler failed" }]);
  });

  it("refuses events beyond MAX_QUEUED_EVENTS waiting on one socket, then serves it again", async () => {
    const fake = fakeSocket();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    routerOn(fake, [
      route("chat:typing", typingSchema, async () => {
        await gate;
        return { body: {} };
      }),
    ]);
    const waiting = Array.from({ length: MAX_QUEUED_EVENTS }, () => fake.request("chat:typing", { room: "r" }));
    expect(await fake.request("chat:typing", { room: "r" })).toMatchObject([{ error: { code: "RATE_LIMITED" } }]);
    release();
    const answered = await Promise.all(waiting);
    expect(answered.every((calls) => calls.length === 1 && "ok" in calls[0]!)).toBe(true);
    expect(await fake.request("chat:typing", { room: "r" })).toEqual([{ ok: true }]);
  });

  it("types handlers by the contract", () => {
    const typeChecks = () => [
      // @ts-expect-error not an event of ClientToServerEvents
      route("chat:nope", typingSchema, async () => ({ body: {} })),
      // @ts-expect-error a chat:leave ack carries the room
      route("chat:leave", leaveSchema, async () => ({ body: { rooms: "a" } })),
      // @ts-expect-error the schema's output is not chat:leave's payload
      route("chat:leave", z.strictObject({ name: z.string() }), async () => ({ body: { room: "a" } })),
    ];
    expect(typeChecks).toBeTypeOf("function");
  });
});
