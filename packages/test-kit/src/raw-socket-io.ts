import type { Socket } from "node:net";
import WebSocket from "ws";

/**
 * A Socket.IO client spoken by hand (Engine.IO v4 over one bare WebSocket), for what
 * socket.io-client will not do: stop reading its TCP socket while the server keeps writing.
 */
export interface RawSocketIo {
  /** Emits `event` with an ack and resolves with the ack's payload. */
  request(event: string, payload: unknown): Promise<unknown>;
  /**
   * Stops reading from the TCP socket: the kernel's buffers fill, then the server's. With
   * `answerPingsEveryMs`, it still writes a pong that often, without reading the pings: a
   * client that looks alive to the server's heartbeat.
   */
  stopReading(options?: { answerPingsEveryMs?: number }): void;
  /** Resolves once the server has closed (or cut) the connection. */
  closed: Promise<void>;
  close(): void;
}

/** Connects to the Socket.IO server at `url` (http://host:port) and joins the main namespace. */
export async function connectRawSocketIo(url: string): Promise<RawSocketIo> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  let tcp: Socket | undefined;
  ws.once("upgrade", (response) => (tcp = response.socket));
  let pongs: NodeJS.Timeout | undefined;
  const closed = new Promise<void>((resolve) => {
    ws.once("close", () => resolve());
    // A cut-off connection may end in a reset; it still counts as closed.
    ws.on("error", () => undefined);
  });
  void closed.then(() => clearInterval(pongs));

  const acks = new Map<number, (payload: unknown) => void>();
  let nextAck = 0;
  const joined = new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", (data) => {
      const text = Buffer.isBuffer(data) ? data.toString() : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString();
      if (text.startsWith("0")) ws.send("40"); // Engine.IO open: connect to the main namespace
      else if (text.startsWith("40")) resolve();
      else if (text === "2") ws.send("3"); // ping -> pong
      else if (text.startsWith("43")) {
        const id = Number(/^43(\d+)/.exec(text)?.[1]);
        const [payload] = JSON.parse(text.slice(2 + String(id).length)) as unknown[];
        acks.get(id)?.(payload);
        acks.delete(id);
      }
    });
  });
  await joined;

  return {
    request(event, payload) {
      const id = nextAck++;
      return new Promise((resolve) => {
        acks.set(id, resolve);
        ws.send(`42${id}${JSON.stringify([event, payload])}`);
      });
    },
    stopReading(options = {}) {
      if (!tcp) throw new Error("no TCP socket under the WebSocket");
      tcp.pause();
      const every = options.answerPingsEveryMs;
      if (every) pongs = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("3"), every);
    },
    closed,
    close() {
      clearInterval(pongs);
      ws.terminate();
    },
  };
}
