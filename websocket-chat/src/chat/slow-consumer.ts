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
 * answering pings. So each new packet is counted before it is queued: if it would bring what
 * waits above `maxBytes`, the connection is cut off at the TCP level (a polite close would queue
 * behind the very bytes the client does not read) and everything it held is freed. Every packet
 * counts, the first one too, so no single reply may be larger than the bound: replies that
 * could be (users snapshots) are paged well under it.
 *
 * Returns what waits for the connection right now, in bytes (for the metrics).
 */
export function boundSendBuffer(conn: EngineConnection, maxBytes: number, onCutOff: (waitingBytes: number) => void): () => number {
  // Bytes of the packets in conn.writeBuffer: created, not yet handed to the transport.
  let queued = 0;
  let cut = false;
  const raw = () => (conn.transport as { socket?: RawWebSocket }).socket;
  const waiting = () => queued + (raw()?.bufferedAmount ?? 0);
  conn.on("flush", () => {
    queued = 0;
  });
  // Engine.IO queues the packet right after this event. Once the connection is being dropped its
  // bytes need not be held until then: it becomes a no-op packet, which clients ignore.
  const empty = (packet: { type: string; data?: unknown }) => {
    packet.type = "noop";
    packet.data = undefined;
  };
  conn.on("packetCreate", (packet: { type: string; data?: unknown }) => {
    if (cut) return empty(packet);
    const size = sizeOf(packet.data);
    const before = waiting();
    if (before + size <= maxBytes) {
      queued += size;
      return;
    }
    cut = true;
    empty(packet);
    // Not from inside this emit: the caller may be iterating the sockets of a room.
    process.nextTick(() => {
      conn.close(true);
      raw()?.terminate?.();
      onCutOff(before + size);
    });
  });
  return () => (cut ? 0 : waiting());
}
