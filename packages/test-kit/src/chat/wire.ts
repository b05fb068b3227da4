import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { AckBody, AckResult, ClientToServerEvents, PayloadOf, ServerToClientEvents } from "../../../../websocket-chat/src/contracts/events.js";
import { request as requestWithin } from "../../../../websocket-chat/src/contracts/request.js";
import type { ChatClient } from "./chat-cluster.js";

/** How long a test waits for an ack: long past any healthy answer, short of the test's timeout. */
const ACK_TIMEOUT_MS = 5_000;

/** Emits an event and resolves with its ack (times out instead of hanging the test). */
export function request<E extends keyof ClientToServerEvents>(socket: ChatClient, event: E, payload: PayloadOf<E>): Promise<AckResult<AckBody<E>>> {
  return requestWithin(socket, event, payload, { timeoutMs: ACK_TIMEOUT_MS });
}

/** Like request(), but fails the test unless the ack is `{ ok: true }`. */
export async function ok<E extends keyof ClientToServerEvents>(socket: ChatClient, event: E, payload: PayloadOf<E>): Promise<{ ok: true } & AckBody<E>> {
  const result = await request(socket, event, payload);
  if ("error" in result) throw new Error(`${event} failed: ${result.error.code} ${result.error.message}`);
  return result;
}

/**
 * Any event with any arguments, as a misbehaving client would send it, resolving with whatever
 * comes back: for the tests that send what the contract does not allow.
 */
export function requestAnything(socket: ChatClient, event: string, ...args: unknown[]): Promise<unknown> {
  const plain: Socket = socket;
  return plain.timeout(ACK_TIMEOUT_MS).emitWithAck(event, ...args);
}

/** Resolves once the socket is connected. */
export function connected(socket: ChatClient): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
}

/** Collects every `event` a socket receives; `until(n)` waits for the n-th. */
export function record<E extends keyof ServerToClientEvents>(socket: ChatClient, event: E) {
  type Item = Parameters<ServerToClientEvents[E]>[0];
  const items: Item[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  socket.on(event, ((item: Item) => {
    items.push(item);
    waiters = waiters.filter((w) => (items.length >= w.n ? (w.resolve(), false) : true));
  }) as never);
  return {
    items,
    /** Resolves with all items once at least `n` have arrived. */
    until(n: number, timeoutMs = 8_000): Promise<Item[]> {
      if (items.length >= n) return Promise.resolve(items);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited for ${n} '${event}', got ${items.length}`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(items)) });
      });
    },
    /** Resolves with the first item (arrived or future) that matches. */
    find(match: (item: Item) => boolean, timeoutMs = 8_000): Promise<Item> {
      const found = items.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching '${event}' in ${timeoutMs} ms`)), timeoutMs);
        const listener = ((item: Item) => {
          if (!match(item)) return;
          clearTimeout(timer);
          socket.off(event, listener);
          resolve(item);
        }) as never;
        socket.on(event, listener);
      });
    },
  };
}

/** A connected client already identified as `nickname`. */
export async function identified(socket: ChatClient, nickname: string, sessionKey?: string): Promise<ChatClient> {
  await connected(socket);
  await ok(socket, "chat:identify", sessionKey ? { nickname, sessionKey } : { nickname });
  return socket;
}

/** A connected client identified as `nickname` that has joined `room`. */
export async function joined(socket: ChatClient, nickname: string, room: string): Promise<ChatClient> {
  await identified(socket, nickname);
  await ok(socket, "chat:join", { room });
  return socket;
}

/** One connection attempt, without retries, then disconnected: the transport it got, or why it was refused. */
export function tryConnect(url: string, options: Partial<ManagerOptions & SocketOptions>): Promise<{ transport: string } | { refused: string }> {
  return new Promise((resolve) => {
    const socket = io(url, { ...options, forceNew: true, reconnection: false });
    socket.once("connect", () => {
      const transport = socket.io.engine.transport.name;
      socket.disconnect();
      resolve({ transport });
    });
    socket.once("connect_error", (error) => {
      socket.disconnect();
      resolve({ refused: error.message });
    });
  });
}
