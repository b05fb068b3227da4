import { io } from "socket.io-client";
import type {
  AckBody,
  ClientToServerEvents,
  ErrorBody,
  JoinResult,
  PayloadOf,
  PresenceEvent,
  PrivateMessage,
  RoomMessage,
} from "../../src/contracts/events.js";
import { request, type ClientSocket } from "../../src/contracts/request.js";

export type ChatSocket = ClientSocket;

export type ConnectionState =
  | { kind: "connecting" }
  | { kind: "connected"; server: string | undefined }
  | { kind: "reconnecting"; reason: string }
  | { kind: "recovered"; server: string | undefined; count: number }
  | { kind: "refused"; message: string };

export interface RoomState {
  name: string;
  /** Id of the newest message this page has: the resume point after a reconnect. */
  lastId: string | undefined;
  members: string[];
  messages: RoomMessage[];
  unread: number;
}

export interface SessionEvents {
  state(state: ConnectionState): void;
  roomChanged(room: RoomState): void;
  message(room: RoomState, message: RoomMessage): void;
  presence(room: RoomState, event: PresenceEvent): void;
  private(message: PrivateMessage): void;
  typing(room: string, nickname: string): void;
  notice(text: string, kind: "info" | "error"): void;
}

/** Thrown when an ack comes back as `{ error }`. */
export class AckError extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }
}

const SESSION_KEY = "clusterkit.sessionKey";

/** Where the browser key lives: localStorage in a page, anything alike in tests. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface ChatSessionOptions {
  /** Server URL; the page's own origin when omitted. */
  url?: string;
  token?: string | undefined;
  storage?: KeyValueStore;
}

/**
 * The chat connection of one tab. Socket.IO reconnects by itself (to any replica behind the
 * proxy); on every reconnect the session identifies again and rejoins each room with the last
 * id it has, so the replay fills exactly the gap and live traffic continues after it.
 */
export class ChatSession {
  readonly socket: ChatSocket;
  readonly rooms = new Map<string, RoomState>();
  nickname: string | undefined;
  server: string | undefined;
  private hadConnection = false;
  /** Id of the newest private message this page has, in this user's inbox. */
  private privateLastId: string | undefined;
  /** True while a reconnect re-identifies and rejoins; its end reports "recovered n". */
  private resuming = false;
  private readonly listeners = new Map<string, ((...args: never[]) => void)[]>();

  private readonly storage: KeyValueStore;
  /** Set when the server ends the session for good (its token expired): no reconnect. */
  private refusal: string | undefined;

  constructor(options: ChatSessionOptions = {}) {
    this.storage = options.storage ?? (globalThis as unknown as { localStorage: KeyValueStore }).localStorage;
    const socketOptions = {
      // WebSocket first; long-polling only if it fails (nginx keeps polling sessions sticky).
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      auth: options.token ? { token: options.token } : {},
      autoConnect: false,
    };
    this.socket = options.url ? io(options.url, socketOptions) : io(socketOptions);
    this.socket.on("connect", () => void this.onConnect());
    this.socket.on("disconnect", (reason) => {
      if (this.refusal) return this.emit("state", { kind: "refused", message: this.refusal });
      this.emit("state", { kind: "reconnecting", reason });
      // A server-side disconnect is not retried by Socket.IO; this page always wants back in.
      if (reason === "io server disconnect") this.socket.connect();
    });
    this.socket.on("connect_error", (error) => {
      const refused = (error as Error & { data?: { code?: string } }).data?.code === "UNAUTHENTICATED";
      this.emit("state", refused ? { kind: "refused", message: error.message } : { kind: "reconnecting", reason: error.message });
    });
    this.socket.on("chat:message", (message) => this.onMessage(message));
    this.socket.on("chat:presence", (event) => {
      const room = this.rooms.get(event.room);
      if (!room) return;
      room.members = event.members;
      this.emit("presence", room, event);
    });
    this.socket.on("chat:private", (message) => this.acceptPrivate(message));
    this.socket.on("chat:typing", ({ room, nickname }) => {
      if (nickname !== this.nickname && this.rooms.has(room)) this.emit("typing", room, nickname);
    });
    this.socket.on("chat:error", (error) => {
      // The server closes the connection right after it, and the token would be refused: stay out.
      if (error.code === "TOKEN_EXPIRED") this.refusal = error.message;
      this.emit("notice", `${error.event}: ${error.message}`, "error");
    });
  }

  on<K extends keyof SessionEvents>(event: K, listener: SessionEvents[K]): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
  }

  connect(): void {
    this.emit("state", { kind: "connecting" });
    this.socket.connect();
  }

  /** Sends a kit event and resolves with its ack, or rejects with the server's error. */
  async request<E extends keyof ClientToServerEvents>(event: E, payload: PayloadOf<E>): Promise<{ ok: true } & AckBody<E>> {
    const result = await request(this.socket, event, payload, { timeoutMs: 8_000 });
    if ("error" in result) throw new AckError(result.error);
    return result;
  }

  /** This browser's random key: every tab sends it, so they may share one nickname. */
  private sessionKey(): string {
    let key = this.storage.getItem(SESSION_KEY);
    if (!key) {
      key = crypto.randomUUID();
      this.storage.setItem(SESSION_KEY, key);
    }
    return key;
  }

  async identify(nickname: string): Promise<void> {
    const sessionKey = this.sessionKey();
    const privateSince = this.privateLastId;
    const reply = await this.request("chat:identify", {
      ...(nickname ? { nickname } : {}),
      sessionKey,
      ...(privateSince ? { privateSince } : {}),
    });
    this.nickname = reply.nickname;
    this.server = reply.server;
    for (const message of reply.privates) this.acceptPrivate(message);
    if (!this.privateLastId || isAfter(reply.privatePosition, this.privateLastId)) this.privateLastId = reply.privatePosition;
    if (!this.resuming) this.emit("state", { kind: "connected", server: this.server });
  }

  /**
   * Leaves every room and gives the nickname back (another browser may take it); the socket
   * stays connected, and this session forgets its rooms and nickname.
   */
  async logout(): Promise<void> {
    await this.request("chat:logout", {});
    this.nickname = undefined;
    this.rooms.clear();
    this.privateLastId = undefined;
  }

  async join(name: string): Promise<RoomState> {
    const existing = this.rooms.get(name);
    const reply = await this.request("chat:join", existing?.lastId ? { room: name, since: existing.lastId } : { room: name });
    const room = existing ?? { name, lastId: undefined, members: [], messages: [], unread: 0 };
    this.rooms.set(name, room);
    this.applyJoin(room, reply);
    return room;
  }

  async leave(name: string): Promise<void> {
    await this.request("chat:leave", { room: name });
    this.rooms.delete(name);
  }

  async send(room: string, text: string): Promise<void> {
    await this.request("chat:message", { room, text });
  }

  private lastTyping = 0;

  /** Tells the room this user is typing, at most every 2 s. Best effort. */
  typing(room: string): void {
    if (Date.now() - this.lastTyping < 2_000 || !this.socket.connected) return;
    this.lastTyping = Date.now();
    this.request("chat:typing", { room }).catch(() => undefined);
  }

  async whisper(to: string, text: string): Promise<void> {
    await this.request("chat:private", { to, text });
  }

  /** Keeps a private message unless the page already has it (inbox ids only grow). */
  private acceptPrivate(message: PrivateMessage): void {
    if (this.privateLastId !== undefined && !isAfter(message.id, this.privateLastId)) return;
    this.privateLastId = message.id;
    this.emit("private", message);
  }

  private async onConnect(): Promise<void> {
    const reconnect = this.hadConnection;
    this.hadConnection = true;
    if (!this.nickname) return this.emit("state", { kind: "connected", server: undefined });
    this.resuming = true;
    try {
      await this.identify(this.nickname);
      let recovered = 0;
      for (const name of [...this.rooms.keys()]) {
        const before = this.rooms.get(name)?.messages.length ?? 0;
        const room = await this.join(name);
        recovered += room.messages.length - before;
      }
      this.emit("state", reconnect ? { kind: "recovered", server: this.server, count: recovered } : { kind: "connected", server: this.server });
    } catch (error) {
      this.emit("notice", `could not resume: ${(error as Error).message}`, "error");
    } finally {
      this.resuming = false;
    }
  }

  private applyJoin(room: RoomState, reply: JoinResult): void {
    room.members = reply.members;
    if (reply.mode === "history" && room.lastId !== undefined) {
      // The server no longer knows our position (its Redis was reset): start the room over.
      room.lastId = undefined;
      room.messages = [];
    }
    if (reply.truncated) this.emit("notice", `#${room.name}: some messages are older than what the room keeps`, "info");
    for (const message of reply.messages) this.accept(room, message);
    this.emit("roomChanged", room);
  }

  private onMessage(message: RoomMessage): void {
    const room = this.rooms.get(message.room);
    if (room && this.accept(room, message)) this.emit("message", room, message);
  }

  /** Keeps a message unless the page already has it (ids only grow within a room). */
  private accept(room: RoomState, message: RoomMessage): boolean {
    if (room.lastId !== undefined && !isAfter(message.id, room.lastId)) return false;
    room.lastId = message.id;
    room.messages.push(message);
    if (room.messages.length > 500) room.messages.splice(0, room.messages.length - 500);
    return true;
  }

  private emit<K extends keyof SessionEvents>(event: K, ...args: Parameters<SessionEvents[K]>): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as unknown as (...a: Parameters<SessionEvents[K]>) => void)(...args);
  }
}

/** Stream ids "<ms>-<seq>": is `a` after `b`? */
export function isAfter(a: string, b: string): boolean {
  const [am = 0n, as = 0n] = a.split("-").map(BigInt);
  const [bm = 0n, bs = 0n] = b.split("-").map(BigInt);
  return am !== bm ? am > bm : as > bs;
}
