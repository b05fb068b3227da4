import pino from "pino";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { registrars } from "../chat/chat.handlers.js";
import { ChatError } from "../chat/ack.js";
import type { ChatDeps } from "../chat/session.js";
import type { ChatSocket } from "../chat/socket-types.js";
import { clientEventNames, type AckResult } from "../contracts/events.js";
import { leaveSchema, typingSchema } from "../contracts/payloads.js";
import { MAX_QUEUED_EVENTS, createSocketRouter, type SocketRouter } from "./router.js";

type Listener = (...args: unknown[]) => void;

/** Just enough of a Socket.IO socket to deliver events the way it does: catch-all listeners first. */
function fakeSocket() {
  const listeners = new Map<string, Listener>();
  const anyListeners: Listener[] = [];
  const emitted: { event: string; payload: unknown }[] = [];
  const socket = {
    id: "fake-socket",
    on: (event: string, listener: Listener) => listeners.set(event, listener),
    onAny: (listener: Listener) => anyListeners.push(listener),
    emit: (event: string, payload: unknown) => emitted.push({ event, payload }),
  };
  const deliver = (event: string, ...args: unknown[]) => {
    for (const listener of anyListeners) listener(event, ...args);
    listeners.get(event)?.(...args);
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

function routerOn(fake: ReturnType<typeof fakeSocket>) {
  const logged: unknown[] = [];
  const logger = pino({ level: "error" }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const rejected: string[] = [];
  const metrics = { rejected: { inc: ({ code }: { code: string }) => void rejected.push(code) } };
  return { router: createSocketRouter(fake.socket, { logger, metrics: metrics as never }), logged, rejected };
}

describe("socket router", () => {
  it("has a handler for every client event of the contract, and for nothing else", () => {
    const fake = fakeSocket();
    const { router } = routerOn(fake);
    // Registering only closes over the deps; no handler runs here.
    for (const register of registrars) register(router, {} as ChatDeps);
    expect([...router.events].sort()).toEqual([...clientEventNames].sort());
  });

  it("refuses an event nobody registered, with or without an ack", async () => {
    const fake = fakeSocket();
    const { router, rejected } = routerOn(fake);
    router.on("chat:leave", leaveSchema, async ({ room }) => ({ body: { room } }));
    expect(await fake.request("chat:typing", { room: "a" })).toEqual([{ error: { code: "UNKNOWN_EVENT", message: "unknown event 'chat:typing'" } }]);
    fake.deliver("nope", {});
    expect(fake.emitted).toEqual([{ event: "chat:error", payload: { code: "UNKNOWN_EVENT", message: "unknown event 'nope'", event: "nope" } }]);
    expect(await fake.request("chat:leave", { room: "a" })).toEqual([{ ok: true, room: "a" }]);
    expect(rejected).toEqual(["UNKNOWN_EVENT", "UNKNOWN_EVENT"]);
  });

  it("acks once: the body, or INVALID_ARGUMENT naming the field, the ChatError's body, UNAVAILABLE or INTERNAL", async () => {
    const fake = fakeSocket();
    const { router, logged } = routerOn(fake);
    const failures: Record<string, Error> = {
      a: new ChatError("NOT_FOUND", "no such room"),
      b: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      c: new Error("a bug"),
    };
    let afterAcks = 0;
    router.on("chat:typing", typingSchema, async ({ room }) => {
      if (failures[room]) throw failures[room];
      return { body: {}, afterAck: () => void (afterAcks += 1) };
    });
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
    const { router } = routerOn(fake);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    router.on("chat:typing", typingSchema, async () => {
      await gate;
      return { body: {} };
    });
    const waiting = Array.from({ length: MAX_QUEUED_EVENTS }, () => fake.request("chat:typing", { room: "r" }));
    expect(await fake.request("chat:typing", { room: "r" })).toMatchObject([{ error: { code: "RATE_LIMITED" } }]);
    release();
    const answered = await Promise.all(waiting);
    expect(answered.every((calls) => calls.length === 1 && "ok" in calls[0]!)).toBe(true);
    expect(await fake.request("chat:typing", { room: "r" })).toEqual([{ ok: true }]);
  });

  it("types handlers by the contract", () => {
    const router = {} as SocketRouter;
    const typeChecks = () => {
      // @ts-expect-error not an event of ClientToServerEvents
      router.on("chat:nope", typingSchema, async () => ({ body: {} }));
      // @ts-expect-error a chat:leave ack carries the room
      router.on("chat:leave", leaveSchema, async () => ({ body: { rooms: "a" } }));
      // @ts-expect-error the schema's output is not chat:leave's payload
      router.on("chat:leave", z.strictObject({ name: z.string() }), async () => ({ body: { room: "a" } }));
    };
    expect(typeChecks).toBeTypeOf("function");
  });
});
