import type { ChatSocket } from "./socket-types.js";

/** One Engine.IO connection (every namespace of one client shares it). */
export type EngineConnection = ChatSocket["conn"];

/** The part of the `ws` socket under Engine.IO's websocket transport that matters here. */
interface RawWebSocket {
  /** Bytes handed to the socket and not yet written to the kernel. */
  bufferedAmount?: number;
  terminate?: () => void;
}

/** What the bound keeps per connection. */
interface Watched {
  /** Bytes of the packets in conn.writeBuffer: created, not yet handed to the transport. */
  queued: number;
  cut: boolean;
}

type Packet = { type: string; data?: unknown; options?: { wsPreEncodedFrame?: readonly Buffer[] } };

function sizeOf(packet: Packet): number {
  // A broadcast carries its WebSocket frame built once for every socket: its length is known.
  const frame = packet.options?.wsPreEncodedFrame;
  if (frame) return frame.reduce((sum, part) => sum + part.length, 0);
  const data = packet.data;
  if (typeof data === "string") return Buffer.byteLength(data);
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}

const rawOf = (conn: EngineConnection) => (conn.transport as { socket?: RawWebSocket }).socket;

// Once a connection is being dropped, its packets' bytes need not be held until then: each becomes
// a no-op packet, which clients ignore.
function empty(packet: Packet): void {
  packet.type = "noop";
  packet.data = undefined;
}

export interface SendBufferBound {
  /** Bounds what `conn` may have waiting from now on. */
  watch(conn: EngineConnection): void;
  /** The most any open connection has waiting right now, in bytes (for the metrics). */
  largest(): number;
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
 * One bound serves every connection of a server: its listeners are shared (Engine.IO calls them
 * with the connection as `this`) and each connection costs one small record.
 */
export function createSendBufferBound(maxBytes: number, onCutOff: (conn: EngineConnection, waitingBytes: number) => void): SendBufferBound {
  const watched = new Map<EngineConnection, Watched>();
  const waiting = (conn: EngineConnection, state: Watched) => state.queued + (rawOf(conn)?.bufferedAmount ?? 0);

  // The write buffer went to the transport: from now on the WebSocket's bufferedAmount counts it.
  function onFlush(this: EngineConnection): void {
    const state = watched.get(this);
    if (state) state.queued = 0;
  }

  // Engine.IO queues the packet right after this event.
  function onPacketCreate(this: EngineConnection, packet: Packet): void {
    const state = watched.get(this);
    if (!state) return;
    if (state.cut) return empty(packet);
    const size = sizeOf(packet);
    const before = waiting(this, state);
    if (before + size <= maxBytes) {
      state.queued += size;
      return;
    }
    state.cut = true;
    empty(packet);
    // Not from inside this emit: the caller may be iterating the sockets of a room.
    process.nextTick(cutOff, this, before + size);
  }

  function cutOff(conn: EngineConnection, waitingBytes: number): void {
    conn.close(true);
    rawOf(conn)?.terminate?.();
    onCutOff(conn, waitingBytes);
  }

  function onClose(this: EngineConnection): void {
    watched.delete(this);
  }

  return {
    watch(conn) {
      watched.set(conn, { queued: 0, cut: false });
      conn.on("flush", onFlush);
      conn.on("packetCreate", onPacketCreate);
      conn.once("close", onClose);
    },
    largest() {
      let max = 0;
      for (const [conn, state] of watched) if (!state.cut) max = Math.max(max, waiting(conn, state));
      return max;
    },
  };
}
