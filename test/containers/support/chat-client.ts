/**
 * A Socket.IO client that behaves like the kit's web client across failures: it keeps its own
 * cookies (so nginx's stickiness applies to it alone, like one browser), and on every (re)connect
 * it identifies again and rejoins its rooms from the last message id it saw, so the server replays
 * what it missed. Duplicates are dropped by id, and would show as a failed expectation.
 */
import { io } from "socket.io-client";
import type { AckBody, ClientToServerEvents, PayloadOf, RoomMessage } from "../../../websocket-chat/src/contracts/events.js";
import { request, type ClientSocket } from "../../../websocket-chat/src/contracts/request.js";

export interface ChatTesterOptions {
  /** `["polling"]` forces long-polling: every request must reach the same replica. */
  transports?: ("polling" | "websocket")[];
  /** A Cookie header to start with, as a browser that already holds one would send. */
  cookie?: string;
}

export class ChatTester {
  /** SERVER_ID of the replica this client is on now. */
  server = "";
  /** Every distinct message received per room, in arrival order. */
  readonly inbox = new Map<string, RoomMessage[]>();
  /** How many times this client (re)connected. */
  connects = 0;
  /** Connected, identified and back in its rooms. */
  private resumed = false;
  private readonly rooms = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private readonly socket: ClientSocket;

  private constructor(
    url: string,
    readonly nickname: string,
    options: ChatTesterOptions,
  ) {
    this.socket = io(url, {
      withCredentials: true, // a cookie jar of its own: one client = one browser
      transports: options.transports ?? ["polling", "websocket"],
      // What a browser sends: the chat checks Origin against Host on every handshake.
      extraHeaders: { origin: new URL(url).origin, ...(options.cookie ? { cookie: options.cookie } : {}) },
      reconnectionDelay: 200,
      reconnectionDelayMax: 1_000,
      timeout: 10_000,
    });
    this.socket.on("chat:message", (message) => this.take(message));
    this.socket.on("connect", () => {
      void this.resume().catch(() => this.socket.disconnect().connect());
    });
    // Until the next connection has identified and rejoined, a send would reach a replica that
    // does not know this client yet (NOT_IDENTIFIED): send and join wait for `resumed`.
    this.socket.on("disconnect", () => {
      this.resumed = false;
    });
  }

  static async connect(url: string, nickname: string, options: ChatTesterOptions = {}): Promise<ChatTester> {
    const client = new ChatTester(url, nickname, options);
    await client.until(() => client.connects > 0, 15_000, "first connection");
    return client;
  }

  private async ack<E extends keyof ClientToServerEvents>(event: E, payload: PayloadOf<E>): Promise<AckBody<E>> {
    const result = await request(this.socket, event, payload, { timeoutMs: 5_000 });
    if ("error" in result) throw new Error(`${event}: ${result.error.code} ${result.error.message}`);
    return result;
  }

  /** Identifies (same nickname and session key every time) and rejoins every room from its last id. */
  private async resume(): Promise<void> {
    const who = await this.ack("chat:identify", {
      nickname: this.nickname,
      sessionKey: `${this.nickname}-session-key-000`,
    });
    for (const room of this.rooms) await this.joinRoom(room);
    this.server = who.server;
    this.connects += 1;
    this.resumed = this.socket.connected;
    this.wake();
  }

  private async joinRoom(room: string): Promise<void> {
    const since = this.inbox.get(room)?.at(-1)?.id;
    const joined = await this.ack("chat:join", since ? { room, since } : { room });
    for (const message of joined.messages) this.take(message);
  }

  private take(message: RoomMessage): void {
    if (this.seen.has(message.id)) return;
    this.seen.add(message.id);
    const list = this.inbox.get(message.room) ?? [];
    list.push(message);
    this.inbox.set(message.room, list);
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
  }

  async join(room: string): Promise<void> {
    await this.until(() => this.resumed, 30_000, "a resumed connection");
    this.rooms.add(room);
    await this.joinRoom(room);
  }

  async send(room: string, text: string): Promise<RoomMessage> {
    await this.until(() => this.resumed, 30_000, "a resumed connection");
    return (await this.ack("chat:message", { room, text })).message;
  }

  texts(room: string): string[] {
    return (this.inbox.get(room) ?? []).map((m) => m.text);
  }

  /** Resolves once `check()` holds; rejects with `what` after `timeoutMs`. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.nickname}: no ${what} within ${timeoutMs} ms (on ${this.server}, has ${JSON.stringify([...this.inbox])})`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Waits until the room holds every one of `texts`. */
  receive(room: string, texts: string[], timeoutMs = 10_000): Promise<void> {
    return this.until(() => texts.every((t) => this.texts(room).includes(t)), timeoutMs, `messages ${texts.join(", ")}`);
  }

  /**
   * After an outage that began at `since` (a Redis restart, a master killed): sends "probe N"
   * every `everyMs` until `reader` has one of them, and returns every probe the chat accepted, in
   * order. A send refused meanwhile (its error ack: the store is away) is the contract, not a
   * failure; no delivery within `timeoutMs` of `since` is.
   */
  async probeUntilHeard(room: string, reader: ChatTester, { since, everyMs, timeoutMs = 30_000, after }: { since: number; everyMs: number; timeoutMs?: number; after: string }): Promise<string[]> {
    const sent: string[] = [];
    while (!sent.some((text) => reader.texts(room).includes(text))) {
      if (Date.now() - since > timeoutMs) throw new Error(`no delivery ${timeoutMs / 1000} s after ${after}; sent ${sent.join(", ")}`);
      const text = `probe ${sent.length + 1}`;
      try {
        await this.send(room, text);
        sent.push(text);
      } catch {
        // Refused with an error ack while the store is away: try again.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    return sent;
  }

  close(): void {
    this.socket.close();
  }
}
