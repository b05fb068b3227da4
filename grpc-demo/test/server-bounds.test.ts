import { constants as http2 } from "node:http2";
import { status, type ServiceError } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  connectUsers,
  unary,
  type CreateUserResponse,
  type ImportUsersResponse,
  type SubscribeToUpdatesResponse,
  type UserServiceClient,
} from "../src/client/index.js";
import { rawCall, rawSession, rawSubscriber } from "@clusterkit/test-kit/users";
import { StreamRecorder } from "./support/recorder.js";
import { useUserCluster } from "./support/user-cluster.js";

const MAX_BUFFERED = 256 * 1024;
const MAX_STREAMS = 4;
const cluster = useUserCluster(1, {
  subscriberMaxBufferedBytes: MAX_BUFFERED,
  subscriberStallTimeoutMs: 500,
  maxConcurrentStreams: MAX_STREAMS,
});

/** A client on a connection of its own (grpc-js otherwise shares one per target). */
const ownConnection = () => connectUsers(cluster.replicas[0]!.target, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });

/** `count` users with ~190-byte names in one ImportUsers stream: a burst of about 300 bytes of updates each. */
function importBurst(client: UserServiceClient, tag: string, count: number): Promise<ImportUsersResponse> {
  return new Promise((resolve, reject) => {
    const call = client.importUsers((error, response) => (error ? reject(error) : resolve(response)));
    for (let i = 0; i < count; i += 1) call.write({ name: `${"é".repeat(85)}${tag}${i}`, email: `${tag}-${i}@example.com` });
    call.end();
  });
}

const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 10_000) => {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe("finding 11.5: gRPC server bounds", () => {
  it("resets a subscriber that never reads with RESOURCE_EXHAUSTED, holding at most the bound for it, while a reader gets everything", { timeout: 60_000 }, async () => {
    const slowClient = await ownConnection();
    const slow = slowClient.subscribeToUpdates({ sinceCursor: "" });
    const slowRecorder = new StreamRecorder<SubscribeToUpdatesResponse>(slow);
    const reader = cluster.a.subscribeToUpdates({ sinceCursor: "" });
    const readerRecorder = new StreamRecorder<SubscribeToUpdatesResponse>(reader);
    // And one that reads nothing at all, even at the HTTP/2 level (grpc-js's pause() still lets
    // the connection take data into the client's memory, only more slowly).
    const session = rawSession(cluster.replicas[0]!.target);
    const silent = rawSubscriber(session, "");
    await Promise.all([slowRecorder.ready(), readerRecorder.ready()]);
    await waitFor(() => cluster.replicas[0]!.server.openSubscriptions === 3, "the three subscriptions to register");
    slow.pause();

    // 2,500 updates of ~300 bytes: about 3x what the bound and the client's HTTP/2 window hold.
    const imported = await importBurst(cluster.a, "burst", 2_500);
    expect(imported.createdCount).toBe(2_500);
    const error = await slowRecorder.failed(20_000);
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    // RST_STREAM(ENHANCE_YOUR_CALM) is what a gRPC client reports as RESOURCE_EXHAUSTED.
    expect(await silent.closed).toBe(http2.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
    const replica = cluster.replicas[0]!.server;
    expect(replica.peakSubscriberBufferedBytes).toBeGreaterThan(MAX_BUFFERED / 2);
    expect(replica.peakSubscriberBufferedBytes).toBeLessThanOrEqual(MAX_BUFFERED);

    // The reader took the same burst as it came and was never cut off.
    await readerRecorder.count(2_500, 20_000);
    expect(readerRecorder.error).toBeUndefined();
    reader.cancel();
    slowClient.close();
    await waitFor(() => replica.openSubscriptions === 0, "both subscriptions to be released");
  });

  it("paces a replay to a slow reader, and cuts off one that stops reading mid-replay", { timeout: 60_000 }, async () => {
    const first = (await unary<CreateUserResponse>((cb) => cluster.a.createUser({ name: "Replay Start", email: "replay-start@example.com" }, cb))).response;
    const recorder = new StreamRecorder<SubscribeToUpdatesResponse>(cluster.a.subscribeToUpdates({ sinceCursor: "" }));
    await recorder.ready();
    await importBurst(cluster.a, "history", 2_500);
    await recorder.count(2_500, 20_000);
    const from = recorder.items[0]!.cursor;
    expect(first.user?.name).toBe("Replay Start");

    // The whole history again (~750 KB, 3x the bound) to a client that reads: paced, not cut.
    const replay = new StreamRecorder<SubscribeToUpdatesResponse>(cluster.a.subscribeToUpdates({ sinceCursor: from }));
    await replay.count(2_499, 20_000);
    expect(replay.error).toBeUndefined();

    // The same replay to a client that never reads (a raw HTTP/2 stream left paused): reset with
    // ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED, once it has taken
    // nothing for the stall timeout, with no more than its window and one batch ever waiting.
    const session = rawSession(cluster.replicas[0]!.target);
    const slow = rawSubscriber(session, from);
    expect(await slow.closed).toBe(http2.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(cluster.replicas[0]!.server.peakSubscriberBufferedBytes).toBeLessThanOrEqual(MAX_BUFFERED);
    session.destroy();
  });

  it("refuses calls beyond GRPC_MAX_CONCURRENT_STREAMS on one connection (each holding a message it never finishes)", async () => {
    const session = rawSession(cluster.replicas[0]!.target);
    const outcomes = Array.from({ length: MAX_STREAMS * 2 }, () => {
      const stream = rawCall(session, "GetUser");
      // A length prefix announcing 1,000 bytes, and 10 of them: the server waits for the rest.
      stream.write(Buffer.concat([Buffer.from([0, 0, 0, 0x03, 0xe8]), Buffer.alloc(10)]));
      return new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
    });
    const refused = await Promise.race([
      Promise.all(outcomes.slice(MAX_STREAMS)),
      new Promise<"none">((resolve) => setTimeout(() => resolve("none"), 5_000)),
    ]);
    expect(refused).toEqual(Array(MAX_STREAMS).fill(http2.NGHTTP2_REFUSED_STREAM));
    // The connection itself, and everyone else's, still serve.
    const other = await unary((cb) => cluster.a.getUser({ id: 1 }, cb));
    expect(other.response).toBeDefined();
    session.destroy();
  });

  it("stops a client uploading a message it refused: RESOURCE_EXHAUSTED, then the stream is reset", async () => {
    const session = rawSession(cluster.replicas[0]!.target);
    const stream = rawCall(session, "CreateUser");
    stream.resume();
    const answered = new Promise<unknown>((resolve) => stream.once("response", (headers) => resolve(headers["grpc-status"])));
    const closed = new Promise<number | undefined>((resolve) => stream.once("close", () => resolve(stream.rstCode)));
    // Announces 1 MB and keeps sending without ever ending the request.
    stream.write(Buffer.from([0, 0, 0x10, 0, 0]));
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    const pump = setInterval(() => stream.writable && stream.write(chunk), 5);
    expect(await answered).toBe(String(status.RESOURCE_EXHAUSTED));
    expect(await closed).toBe(http2.NGHTTP2_NO_ERROR);
    clearInterval(pump);
    session.destroy();
  });

  it("answers a message over GRPC_MAX_RECEIVE_MESSAGE_BYTES with RESOURCE_EXHAUSTED, a long but smaller one with INVALID_ARGUMENT", async () => {
    const huge = await unary((cb) => cluster.a.createUser({ name: "x".repeat(20_000), email: "huge@example.com" }, cb)).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(huge?.code).toBe(status.RESOURCE_EXHAUSTED);
    const long = await unary((cb) => cluster.a.createUser({ name: "x".repeat(2_000), email: "long@example.com" }, cb)).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(long?.code).toBe(status.INVALID_ARGUMENT);
  });
});
