import { constants as http2 } from "node:http2";
import { status, type ServerWritableStream } from "@grpc/grpc-js";

export interface BoundedWriterOptions {
  /** Bytes that may wait for the client before it is cut off (USERS_SUBSCRIBER_MAX_BUFFERED_BYTES). */
  maxBufferedBytes: number;
  /** How long {@link BoundedStreamWriter.whenBelow} may wait before the client counts as not reading. @default 5000 */
  stallTimeoutMs?: number;
  /** Told once when the client is cut off, with the bytes it had waiting. */
  onCutOff?: (bufferedBytes: number) => void;
}

type WritableCall<T> = Pick<ServerWritableStream<unknown, T>, "write" | "once" | "off" | "cancelled" | "emit" | "destroy">;

/**
 * Writes items to a server stream for a client that may stop reading, holding at most
 * `maxBufferedBytes` for it.
 *
 * grpc-js's `call.write()` never refuses: past its high-water mark (16 messages) it returns
 * false and keeps buffering, and HTTP/2 flow control stops sending once a client's window (64 KB)
 * is full, so a client that never reads would make the replica buffer every update it is sent.
 * Here items wait in a queue of our own (the shared event objects, not one message each per
 * subscriber) and are turned into messages only while grpc-js's buffer has room. An item's
 * bytes count from `push` until grpc-js reports it handed to HTTP/2 (the write callback, which
 * waits for the flow-control window), so the count is what this client has not taken.
 *
 * Past the bound the stream is reset with RST_STREAM(ENHANCE_YOUR_CALM), which a gRPC client
 * reports as RESOURCE_EXHAUSTED: ending it with a status cannot work, because trailers queue
 * behind the data the client is not reading.
 */
export class BoundedStreamWriter<E, T> {
  private readonly queue: Array<{ item: E; size: number }> = [];
  private buffered = 0;
  private blocked = false;
  private over = false;
  private waiters: Array<() => void> = [];
  /** The most bytes this client ever had waiting. */
  peakBufferedBytes = 0;

  constructor(
    private readonly call: WritableCall<T>,
    private readonly toMessage: (item: E) => T,
    private readonly sizeOf: (item: E) => number,
    private readonly options: BoundedWriterOptions,
  ) {}

  /** Bytes waiting for the client now. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Queues `item`; false once the stream is over (cancelled or cut off): stop producing. */
  push(item: E): boolean {
    if (this.over || this.call.cancelled) return false;
    const size = this.sizeOf(item);
    if (this.buffered + size > this.options.maxBufferedBytes) {
      this.cutOff();
      return false;
    }
    this.buffered += size;
    this.peakBufferedBytes = Math.max(this.peakBufferedBytes, this.buffered);
    this.queue.push({ item, size });
    this.flush();
    return true;
  }

  /**
   * Resolves true once at most `bytes` wait for the client, false if the stream ends first. A
   * client that takes nothing for `stallTimeoutMs` meanwhile is cut off. Producers that can wait
   * (a replay) call it between batches, so a slow reader slows them instead of filling memory.
   */
  whenBelow(bytes: number): Promise<boolean> {
    if (this.over || this.call.cancelled) return Promise.resolve(false);
    if (this.buffered <= bytes) return Promise.resolve(true);
    return new Promise((resolve) => {
      let progressAt = this.buffered;
      const stall = setInterval(() => {
        if (this.buffered < progressAt) progressAt = this.buffered;
        else this.cutOff();
      }, this.options.stallTimeoutMs ?? 5_000);
      const check = () => {
        if (!this.over && this.buffered > bytes) return;
        clearInterval(stall);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(!this.over);
      };
      this.waiters.push(check);
    });
  }

  /** Stops writing and lets go of everything queued (the call ended some other way). */
  close(): void {
    this.end();
  }

  private flush(): void {
    while (!this.blocked && !this.over && this.queue.length > 0) {
      const { item, size } = this.queue.shift()!;
      const room = this.call.write(this.toMessage(item), () => {
        this.buffered -= size;
        this.wake();
      });
      if (!room) {
        this.blocked = true;
        this.call.once("drain", this.onDrain);
      }
    }
  }

  private readonly onDrain = () => {
    this.blocked = false;
    this.flush();
  };

  private cutOff(): void {
    if (this.over) return;
    const waiting = this.buffered;
    this.end();
    this.options.onCutOff?.(waiting);
    if (!resetStream(this.call, http2.NGHTTP2_ENHANCE_YOUR_CALM)) {
      // Unreachable unless grpc-js changes its internals (a test would fail): still free the
      // buffered messages; the status may never reach the client.
      this.call.emit("error", { code: status.RESOURCE_EXHAUSTED, details: "client is not reading updates; resume from your last cursor" });
      this.call.destroy();
    }
  }

  private end(): void {
    this.over = true;
    this.queue.length = 0;
    this.call.off("drain", this.onDrain);
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

interface Http2StreamLike {
  close(code: number): void;
  destroyed: boolean;
}

/**
 * Resets the HTTP/2 stream under a grpc-js server call (a handler's `call`, or the call an
 * interceptor is given). grpc-js has no public way to do it: the stream sits on its innermost
 * call object (`BaseServerInterceptingCall.stream`), under one `nextCall` per interceptor, under
 * the handler's `call`. Returns false when it is not there.
 */
export function resetStream(call: object, code: number): boolean {
  let layer: unknown = call;
  for (let depth = 0; depth < 16 && layer && typeof layer === "object"; depth += 1) {
    const stream = (layer as { stream?: Partial<Http2StreamLike> }).stream;
    if (stream && typeof stream.close === "function") {
      if (!stream.destroyed) stream.close(code);
      return true;
    }
    const next = layer as { nextCall?: unknown; call?: unknown };
    layer = next.nextCall ?? next.call;
  }
  return false;
}
