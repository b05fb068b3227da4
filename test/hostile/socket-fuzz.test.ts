import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectUsers } from "grpc-demo/client";
import { startUserReplica, type UserReplica } from "@clusterkit/test-kit/users";
import { SeededRandom } from "@clusterkit/test-kit";
import { ChatTokens } from "../../websocket-chat/src/auth/tokens.js";
import { errorCodes } from "../../websocket-chat/src/contracts/events.js";
import { startChatCluster, type ChatClient, type TestCluster, type TestReplica, connected, identified, joined, ok, record, request, requestAnything } from "@clusterkit/test-kit/chat";
import { fuzzEvents, malformedPackets } from "./support/payloads.js";
import { auditStore } from "./support/stored.js";

/**
 * The socket surface under a seeded stream of hostile events, against three replicas over one
 * real redis-server. `FUZZ_SEED` / `FUZZ_COUNT` replay or widen a run; a failure prints its seed.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const COUNT = Number(process.env.FUZZ_COUNT ?? 1_500);
const SECRET = "a-hostile-test-secret-at-least-32-chars";
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

let open: TestCluster;
let locked: TestCluster;
/** The open cluster's user service: with it, the fuzz reaches the users feed (snapshot pages included). */
let usersService: UserReplica | undefined;
beforeAll(async () => {
  [open, locked] = await Promise.all([
    startChatCluster(3, {
      config: { rateLimit: 40, rateWindowMs: 60_000 },
      async users(redisUrl) {
        usersService ??= await startUserReplica({ redisUrl, serverId: "users-1" });
        return connectUsers(usersService.target);
      },
    }),
    startChatCluster(2, { config: { authSecret: SECRET, rateLimit: 5, rateWindowMs: 60_000 } }),
  ]);
  await Promise.all(open.replicas.map((replica) => replica.server.usersFeedReady));
});
afterAll(async () => {
  // The user service goes before its Redis does, or its reader would wait for Redis forever.
  for (const replica of open?.replicas ?? []) await replica.close();
  await usersService?.close();
  await Promise.all([open?.close(), locked?.close()]);
});

const replicaIds = (cluster: TestCluster) => cluster.replicas.map((r) => r.serverId);
/** Writes a Socket.IO packet as-is, under Engine.IO's message type, bypassing the client's encoder. */
const writeRaw = (socket: ChatClient, packet: string) =>
  (socket.io.engine as unknown as { write(m: string): void }).write(packet);

/** An ack is either `{ ok: true, … }` or `{ error: { code: <known>, message: <non-empty> } }`. */
function isClearAck(reply: unknown): boolean {
  if (typeof reply !== "object" || reply === null) return false;
  if ((reply as { ok?: unknown }).ok === true) return true;
  const error = (reply as { error?: { code?: unknown; message?: unknown } }).error;
  return (
    typeof error === "object" &&
    errorCodes.includes(error.code as never) &&
    typeof error.message === "string" &&
    error.message.length > 0
  );
}

/** Resolves "answered" when the socket answers an identify, "dropped" when it is disconnected first. */
function answersOrDrops(socket: ChatClient): Promise<"answered" | "dropped"> {
  if (!socket.connected) return Promise.resolve("dropped");
  return new Promise((resolve, reject) => {
    socket.once("disconnect", () => resolve("dropped"));
    request(socket, "chat:identify", { nickname: "probe" + socket.id?.slice(0, 6).replace(/[^\w]/g, "") })
      .then((reply) => (isClearAck(reply) ? resolve("answered") : reject(new Error(`unclear ack ${JSON.stringify(reply)}`))))
      .catch((error: Error) => (socket.connected ? reject(error) : resolve("dropped")));
  });
}

async function assertClusterServes(cluster: TestCluster, tag: string) {
  for (const replica of cluster.replicas) {
    expect((await fetch(`${replica.url}/healthz`)).status, `${replica.serverId} /healthz`).toBe(200);
  }
  const [first, last] = [cluster.replicas[0]!, cluster.replicas.at(-1)!];
  const writer = await joined(cluster.client(first), `after-${tag}-w`, `after-${tag}`);
  const reader = await joined(cluster.client(last), `after-${tag}-r`, `after-${tag}`);
  const inbox = record(reader, "chat:message");
  const sent = await ok(writer, "chat:message", { room: `after-${tag}`, text: "still standing" });
  expect((await inbox.until(1))[0]).toEqual(sent.message);
}

describe(`socket fuzz (seed ${SEED})`, () => {
  it(`answers ${COUNT} hostile events with clear acks, stores no garbage and keeps serving`, async () => {
    const random = new SeededRandom(SEED);
    // Per replica: an identified member of 'general' and an anonymous socket.
    const make = async (replica: TestReplica, n: number): Promise<ChatClient> => {
      const socket = open.client(replica);
      if (n % 2 === 1) return connected(socket).then(() => socket);
      await identified(socket, `fuzzer-${n}-${random.int(0, 1e6)}`);
      await ok(socket, "chat:join", { room: "general" });
      return socket;
    };
    const sockets = await Promise.all(Array.from({ length: 6 }, (_, n) => make(open.replicas[n % 3]!, n)));
    const tally = { sent: 0, acked: 0, ok: 0, errors: {} as Record<string, number>, unacked: 0, dropped: 0, reconnected: 0 };
    const unclear: string[] = [];
    const droppedBy: Record<string, number> = {};

    const events = [...fuzzEvents(random, COUNT)];
    // Batches of 30 spread over 6 sockets stay under the 100-waiting-events cap of one socket.
    for (let start = 0; start < events.length; start += 30) {
      await Promise.all(
        events.slice(start, start + 30).map(async (fuzz, i) => {
          const slot = (start + i) % sockets.length;
          let socket = sockets[slot]!;
          if (!socket.connected) {
            socket = sockets[slot] = await make(open.replicas[slot % 3]!, slot);
            tally.reconnected++;
          }
          tally.sent++;
          if (RESERVED.has(fuzz.event)) {
            writeRaw(socket, "2" + JSON.stringify([fuzz.event, ...fuzz.args]));
            tally.unacked++;
            return;
          }
          if (!fuzz.withAck) {
            socket.emit(fuzz.event as "join_room", ...(fuzz.args as [string]));
            tally.unacked++;
            return;
          }
          try {
            const reply = await requestAnything(socket, fuzz.event, ...fuzz.args);
            tally.acked++;
            if (!isClearAck(reply)) unclear.push(`${fuzz.event} (${fuzz.shape}) -> ${JSON.stringify(reply)?.slice(0, 200)}`);
            const code = (reply as { error?: { code: string } }).error?.code;
            if (code === "INTERNAL" || code === "UNAVAILABLE") unclear.push(`${fuzz.event} (${fuzz.shape}) -> ${code}: ${JSON.stringify(fuzz.args).slice(0, 200)}`);
            if (code) tally.errors[code] = (tally.errors[code] ?? 0) + 1;
            else tally.ok++;
          } catch (error) {
            if (socket.connected) unclear.push(`${fuzz.event} (${fuzz.shape}) -> no ack: ${(error as Error).message}`);
            else {
              tally.dropped++;
              droppedBy[fuzz.shape] = (droppedBy[fuzz.shape] ?? 0) + 1;
            }
          }
        }),
      );
    }
    console.info(`socket fuzz seed=${SEED}: ${JSON.stringify(tally)}; ack lost to a drop, by shape: ${JSON.stringify(droppedBy)}`);
    expect(tally.sent).toBe(COUNT);
    expect(unclear, `seed ${SEED}`).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    await assertClusterServes(open, "fuzz");
    const audit = await auditStore(open.inspect, replicaIds(open));
    console.info(`socket fuzz store audit: ${audit.keys} keys, ${audit.entries} stored messages`);
    expect(audit.garbage, `seed ${SEED}`).toEqual([]);
  });

  it(`survives ${malformedPackets.length} malformed Socket.IO packets, each dropping at most its own connection`, async () => {
    const outcomes: Record<string, string> = {};
    for (const packet of malformedPackets) {
      const socket = await identified(open.client(open.replicas[1]!), `raw-${Object.keys(outcomes).length}`);
      writeRaw(socket, packet);
      outcomes[packet.slice(0, 40)] = await answersOrDrops(socket).catch((error: Error) => {
        throw new Error(`after ${JSON.stringify(packet.slice(0, 60))}: ${error.message}`);
      });
      socket.disconnect();
    }
    console.info(`malformed packets: ${JSON.stringify(outcomes)}`);
    await assertClusterServes(open, "raw");
    expect((await auditStore(open.inspect, replicaIds(open))).garbage).toEqual([]);
  });

  it("refuses a flood of 1500 events from one socket without hurting its neighbours", async () => {
    const flooder = await joined(open.client(open.replicas[2]!), "flooder", "flood");
    const neighbour = await joined(open.client(open.replicas[2]!), "neighbour", "flood");
    const errors = record(flooder, "chat:error");
    for (let i = 0; i < 1_000; i++) flooder.emit("chat:message" as "message", { room: "flood", text: `f${i}` } as never);
    const acked = await Promise.all(
      Array.from({ length: 500 }, (_, i) => request(flooder, "chat:message", { room: "flood", text: `a${i}` }).catch(() => null)),
    );
    const refused = acked.filter((r) => r && "error" in r && r.error.code === "RATE_LIMITED").length;
    console.info(`flood: ${errors.items.length} chat:error, ${refused} RATE_LIMITED acks`);
    expect(refused).toBeGreaterThan(0);
    expect(await open.inspect.xLen("chat:room:{flood}:log")).toBeLessThanOrEqual(40);
    const inbox = record(flooder, "chat:message");
    const fine = await ok(neighbour, "chat:message", { room: "flood", text: "I can still talk" });
    if (flooder.connected) await inbox.find((m) => m.id === fine.message.id);
  });
});

describe("socket fuzz with token auth", () => {
  const tokens = new ChatTokens(SECRET);
  const refusal = (socket: ChatClient) =>
    new Promise<{ message: string; data?: unknown }>((resolve, reject) => {
      socket.once("connect_error", resolve);
      socket.once("connect", () => reject(new Error("handshake accepted")));
    });

  it("refuses every handshake without a valid token", async () => {
    const random = new SeededRandom(SEED + 1);
    const key = new TextEncoder().encode(SECRET);
    const candidates: unknown[] = [
      undefined, "", 42, {}, ["x"], null, "x".repeat(10_000),
      await new ChatTokens("some-other-secret-that-is-32-chars-long").sign("alice"),
      new UnsecuredJWT({}).setSubject("alice").encode(),
      await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key),
      await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("<img src=x>").sign(key),
      await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).sign(key),
      (await tokens.sign("alice")).slice(0, -2) + "AA",
    ];
    for (let i = 0; i < 40; i++) {
      candidates.push(random.chance(0.5) ? random.hostileString(300) : random.bytes(200).toString("base64url"));
    }
    for (const token of candidates) {
      const socket = locked.client(locked.replicas[0]!, { autoConnect: false });
      socket.auth = { token };
      socket.connect();
      const refused = await refusal(socket);
      expect(refused.data, `token ${JSON.stringify(token)?.slice(0, 60)}`).toEqual({ code: "UNAUTHENTICATED" });
      socket.disconnect();
    }
    console.info(`auth fuzz: ${candidates.length} handshakes tried, all refused`);
  });

  it("never lets a valid token speak as anyone else", async () => {
    const random = new SeededRandom(SEED + 2);
    const alice = locked.client(locked.replicas[1]!, { token: await tokens.sign("alice") });
    const bob = locked.client(locked.replicas[0]!, { token: await tokens.sign("bob") });
    await Promise.all([connected(alice), connected(bob)]);
    const spoofs = ["bob", "Alice", "alice ", "ALICE", "alice\u0000", "аlice", ...Array.from({ length: 30 }, () => random.hostileString(32))];
    for (const nickname of spoofs) {
      const reply = await request(alice, "chat:identify", { nickname });
      expect(isClearAck(reply)).toBe(true);
      if ("ok" in reply) expect(reply).toMatchObject({ nickname: "alice" });
    }
    await ok(alice, "chat:identify", {});
    await ok(bob, "chat:identify", {});
    await ok(alice, "chat:join", { room: "signed" });
    await ok(bob, "chat:join", { room: "signed" });
    const privates = record(bob, "chat:private");
    await ok(alice, "chat:message", { room: "signed", text: "from alice" });
    alice.emit("message", { room: "signed", message: "handout dialect" });
    await ok(alice, "chat:private", { to: "bob", text: "psst" });
    expect((await privates.until(1))[0]).toMatchObject({ from: "alice", to: "bob" });
    const stored = await locked.inspect.xRange("chat:room:{signed}:log", "-", "+");
    expect(stored.map((e) => e.message.user)).toEqual(stored.map(() => "alice"));
    expect((await auditStore(locked.inspect, replicaIds(locked))).garbage).toEqual([]);
  });

  it("holds one rate limit per token user across replicas, whatever the dialect", async () => {
    const token = await tokens.sign("carol");
    const [tabA, tabB] = [locked.client(locked.replicas[0]!, { token }), locked.client(locked.replicas[1]!, { token })];
    await Promise.all([connected(tabA), connected(tabB)]);
    for (const tab of [tabA, tabB]) {
      await ok(tab, "chat:identify", {});
      await ok(tab, "chat:join", { room: "budget" });
    }
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push(await request(i % 2 ? tabB : tabA, "chat:message", { room: "budget", text: `c${i}` }));
    const accepted = replies.filter((r) => "ok" in r).length;
    expect(accepted).toBe(5);
    expect(replies.slice(5).every((r) => "error" in r && r.error.code === "RATE_LIMITED")).toBe(true);
    expect(await request(tabB, "chat:private", { to: "alice", text: "also over budget" })).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect(await locked.inspect.xLen("chat:room:{budget}:log")).toBe(5);
  });
});
