import { status, type ServerWritableStream } from "@grpc/grpc-js";

/**
 * Writes to a server stream while bounding what waits in memory for a client that stops
 * reading: past `maxBuffered` messages the stream ends with RESOURCE_EXHAUSTED (a subscriber
 * then resumes from its last cursor) instead of growing the replica's memory without bound.
 */
export class BoundedStreamWriter<T> {
  private failed = false;

  constructor(
    private readonly call: Pick<ServerWritableStream<unknown, T>, "write" | "emit" | "writableLength" | "cancelled">,
    private readonly maxBuffered = 10_000,
  ) {}

  /** False once the stream is over (cancelled or overflowed): stop producing. */
  write(message: T): boolean {
    if (this.failed || this.call.cancelled) return false;
    if (this.call.writableLength >= this.maxBuffered) {
      this.failed = true;
      this.call.emit("error", {
        code: status.RESOURCE_EXHAUSTED,
        details: `client is not reading; dropped after ${this.maxBuffered} pending messages (resume from your last cursor)`,
      });
      return false;
    }
    this.call.write(message);
    return true;
  }
}
