import { connect, type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";

export interface RawSubscriber {
  /** Resolves with the RST_STREAM code when the server resets the stream (0 when it ended it). */
  closed: Promise<number>;
}

/**
 * A SubscribeToUpdates call that never reads a byte of its response, on `session`: its stream
 * stays paused, so HTTP/2 flow control stops the server once the stream's window (64 KB) is
 * full. A grpc-js client is no such thing: `call.pause()` still takes data off the connection
 * into the client's memory.
 */
export function rawSubscriber(session: ClientHttp2Session, sinceCursor: string): RawSubscriber {
  const stream = rawCall(session, "SubscribeToUpdates");
  const cursor = Buffer.from(sinceCursor);
  // SubscribeToUpdatesRequest { since_cursor (field 1, length-delimited) }, gRPC-framed.
  const message = Buffer.concat([Buffer.from([0x0a, cursor.length]), cursor]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  stream.end(Buffer.concat([frame, message]));
  stream.pause();
  // 'close' waits for the readable side, which is never read: the session reports the reset.
  const closed = new Promise<number>((resolve) => {
    stream.once("aborted", () => resolve(stream.rstCode ?? -1));
    stream.once("close", () => resolve(stream.rstCode ?? -1));
    stream.once("error", () => resolve(stream.rstCode ?? -1));
  });
  return { closed };
}

/**
 * A call of the UserService `method` on `session`, headers sent and nothing else: the caller
 * writes the gRPC frames (as many bytes as it likes) and reads or ignores the answer. Stream
 * errors are the caller's to observe through `close` and `rstCode`, never thrown.
 */
export function rawCall(session: ClientHttp2Session, method: string): ClientHttp2Stream {
  const stream = session.request({
    ":method": "POST",
    ":path": `/userservice.v1.UserService/${method}`,
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => undefined);
  return stream;
}

/** An HTTP/2 connection to `target` (host:port) for raw calls. */
export function rawSession(target: string): ClientHttp2Session {
  const session = connect(`http://${target}`);
  session.on("error", () => undefined);
  return session;
}
