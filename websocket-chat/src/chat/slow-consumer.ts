import type { ChatSocket } from "./socket-types.js";

/** One Engine.IO connection (every namespace of one client shares it). */
export type EngineConnection = ChatSocket["conn"];

/** The part of the `ws` socket under Engine.IO's websocket transport that matters here. */
interface RawWebSocket {
  /** Bytes handed to the socket and not yet written to the kernel. */
  bufferedAmount?: number;
  terminate?: () => void;
}

function sizeOf(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}

/**
 * Bounds what one connection may have waiting to be written. A client that stops reading
 * leaves every packet for it queued, first in Engine.IO's write buffer, then in the WebSocket's,
 * and nothing drops them: the ping timeout does not either, since such a client may well keep
 * answering pings. So before each new packet, if what already waits exceeds `maxBytes`, the
 * connection is cut off at the TCP level (a polite close would queue behind the very bytes the
 * client does not read) and everything it held is freed. Counting only what already waits lets
 * one reply larger than the bound go out to a client that keeps up.
 */
export function boundSendBuffer(conn: EngineConnection, maxBytes: number, onCutOff: (waitingBytes: number) => void): void {
  // Bytes of the packets in conn.writeBuffer: created, not yet handed to the transport.
  let queued = 0;
  let cut = false;
  conn.on("flush", () => {
    queued = 0;
  });
  conn.on("packetCreate", (packet: { data?: unknown }) => {
    if (cut) return;
    const raw = (conn.transport as { socket?: RawWebSocket }).socket;
    const waiting = queued + (raw?.bufferedAmount ?? 0);
    if (waiting <= maxBytes) {
      queued += sizeOf(packet.data);
      return;
    }
    cut = true;
    // Not from inside this emit: the caller may be iterating the sockets of a room.
    process.nextTick(() => {
      conn.close(true);
      raw?.terminate?.();
      onCutOff(waiting);
    });
  });
}
