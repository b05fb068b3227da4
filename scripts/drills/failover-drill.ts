/**
 * The chat on a Redis Cluster with a master SIGKILLed under load, on loopback only:
 *
 *   npm run drill:failover -- [--clients 30] [--rooms 3] [--rate 60] [--seconds 12] [--json out.json]
 *
 * Starts a Redis Cluster (3 masters, a replica each, cluster-node-timeout 1000 ms; see
 * packages/test-kit/src/redis-cluster.ts), one redis-server for the users side, and three chat processes
 * with CHAT_REDIS_CLUSTER. Clients are spread over the replicas so that each room's members sit
 * on one replica (room i on replica i mod 3), as a room-affine balancer would place them; every
 * client sends at a steady rate and resends a message until a replica accepts it. A third of the
 * way in, the master of the first room's slot is SIGKILLed and every fifth client of that room
 * drops its connection, comes back a second later and rejoins from its last id.
 *
 * Prints, per client, sent (accepted) / delivered / lost / duplicated (a text or an id twice),
 * the recovery time (SIGKILL to the first message accepted in that room that was sent after it),
 * and what each replica received on its room channels and each master published; writes it all
 * as JSON with --json. Exits 1 when anything was lost or doubled, or recovery took 5 s or more.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { io, type Socket } from "socket.io-client";
import type { AckResult, ClientToServerEvents, JoinResult, RoomMessage, ServerToClientEvents } from "../../websocket-chat/src/contracts/events.js";
import { chatKeys } from "../../websocket-chat/src/redis/keys.js";
import { startRedis, startRedisCluster } from "@clusterkit/test-kit";
import { startChatProcess, type ChatProcess } from "@clusterkit/test-kit/chat";

const { values: args } = parseArgs({
  options: {
    clients: { type: "string", default: "30" },
    rooms: { type: "string", default: "3" },
    rate: { type: "string", default: "60" },
    seconds: { type: "string", default: "12" },
    json: { type: "string" },
  },
});
const bounded = (name: string, value: string, max: number) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
  return n;
};
const CLIENTS = bounded("clients", args.clients, 600);
const ROOMS = bounded("rooms", args.rooms, 60);
const RATE = bounded("rate", args.rate, 1_000);
const SECONDS = bounded("seconds", args.seconds, 120);
const RECOVERY_TARGET_MS = 5_000;
const REPLICAS = 3;

type DrillSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
interface DrillClient {
  name: string;
  room: string;
  replica: number;
  socket: DrillSocket;
  got: RoomMessage[];
  sent: number;
  attempts: number;
  reconnects: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const roomName = (i: number) => `failover-${i}`;

function emit<E extends "chat:identify" | "chat:join" | "chat:message">(socket: DrillSocket, event: E, payload: unknown): Promise<AckResult<object>> {
  const timed = socket.timeout(5_000) as unknown as { emitWithAck(e: string, p: unknown): Promise<AckResult<object>> };
  return timed.emitWithAck(event, payload).catch((error: unknown) => ({ error: { code: "UNAVAILABLE" as const, message: `no ack: ${String(error)}` } }));
}

/**
 * Connects, identifies and joins `room` (from `since`), retrying while the store fails over.
 * Live messages go to `onMessage` from the start: they may follow the join's ack in the same frame.
 */
async function connectClient(
  url: string, name: string, room: string, onMessage: (message: RoomMessage) => void, since?: string,
): Promise<{ socket: DrillSocket; joined: JoinResult }> {
  const socket: DrillSocket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  socket.on("chat:message", onMessage);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  for (;;) {
    const identified = await emit(socket, "chat:identify", { nickname: name, sessionKey: `${name}-drill-session-key` });
    const joined = "ok" in identified ? await emit(socket, "chat:join", since ? { room, since } : { room }) : identified;
    if ("ok" in joined) return { socket, joined: joined as unknown as JoinResult };
    await sleep(200); // the store is failing over: the page retries too
  }
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? 0);

const redisCluster = await startRedisCluster();
const usersRedis = await startRedis();
const chats: ChatProcess[] = [];
const clients: DrillClient[] = [];
try {
  for (let i = 1; i <= REPLICAS; i++) {
    chats.push(await startChatProcess({
      SERVER_ID: `chat-${i}`, REDIS_URL: usersRedis.url, CHAT_REDIS_CLUSTER: redisCluster.urls.join(","),
      CHAT_RATE_LIMIT: "100000", CHAT_JOIN_RATE_LIMIT: "100000", USERS_TARGET: "127.0.0.1:1",
    }));
  }
  for (let c = 0; c < CLIENTS; c++) {
    const roomIndex = c % ROOMS;
    const replica = roomIndex % REPLICAS;
    const name = `drill${c}`;
    const got: RoomMessage[] = [];
    const { socket } = await connectClient(chats[replica]!.url, name, roomName(roomIndex), (message) => got.push(message));
    clients.push({ name, room: roomName(roomIndex), replica, socket, got, sent: 0, attempts: 0, reconnects: roomIndex === 0 && c % 5 === 0 });
  }

  const accepted = new Map<string, Map<string, string>>(); // room -> text -> id
  for (let r = 0; r < ROOMS; r++) accepted.set(roomName(r), new Map());
  const killRoom = roomName(0);
  const victim = await redisCluster.masterOf(chatKeys.roomLog(killRoom));
  /** When the master was killed, and when the killed room first accepted a message sent after that. */
  const clock: { killedAt?: number; recoveredAt?: number } = {};
  let sending = true;
  const perClientMs = (CLIENTS / RATE) * 1_000;

  const send = async (client: DrillClient, text: string) => {
    const issuedAt = Date.now();
    for (;;) {
      client.attempts++;
      const reply = client.socket.connected ? await emit(client.socket, "chat:message", { room: client.room, text }) : undefined;
      if (reply && "ok" in reply) {
        accepted.get(client.room)!.set(text, (reply as unknown as { message: RoomMessage }).message.id);
        client.sent++;
        if (client.room === killRoom && clock.killedAt !== undefined && clock.recoveredAt === undefined && issuedAt >= clock.killedAt) clock.recoveredAt = Date.now();
        return;
      }
      await sleep(100);
    }
  };
  const loops = clients.map(async (client, c) => {
    await sleep((c / CLIENTS) * perClientMs);
    for (let n = 0; sending; n++) {
      const started = Date.now();
      await send(client, `${client.name}:${n}`);
      await sleep(Math.max(0, perClientMs - (Date.now() - started)));
    }
  });

  await sleep((SECONDS * 1_000) / 3);
  const before = await Promise.all(chats.map(async (chat) => await (await fetch(`${chat.url}/metrics`)).text()));
  clock.killedAt = Date.now();
  await redisCluster.kill(victim);
  // The reconnecting clients drop their connection now and rejoin from their last id a second later.
  const rejoins = clients.filter((client) => client.reconnects).map(async (client) => {
    client.socket.disconnect();
    await sleep(1_000);
    const since = client.got.at(-1)?.id;
    // Live messages wait until the replay is in: the page shows them in that order too.
    const live: RoomMessage[] = [];
    const back = await connectClient(chats[client.replica]!.url, client.name, client.room, (message) => live.push(message), since);
    client.got.push(...back.joined.messages);
    await sleep(0);
    client.got.push(...live);
    back.socket.off("chat:message");
    back.socket.on("chat:message", (message) => client.got.push(message));
    client.socket = back.socket;
  });
  await sleep((SECONDS * 2_000) / 3);
  sending = false;
  await Promise.all([...loops, ...rejoins]);
  const after = await Promise.all(chats.map(async (chat) => await (await fetch(`${chat.url}/metrics`)).text()));

  // Let the last messages arrive, then compare each client with what its room accepted.
  const deadline = Date.now() + 10_000;
  const complete = (client: DrillClient) => [...accepted.get(client.room)!.keys()].every((text) => client.got.some((m) => m.text === text));
  while (Date.now() < deadline && !clients.every(complete)) await sleep(100);

  const rows = clients.map((client) => {
    const wanted = accepted.get(client.room)!;
    const texts = client.got.map((m) => m.text);
    const ids = client.got.map((m) => m.id);
    const lost = [...wanted.keys()].filter((text) => !texts.includes(text)).length;
    const duplicated = texts.length - new Set(texts).size + (ids.length - new Set(ids).size);
    return { client: client.name, room: client.room, replica: `chat-${client.replica + 1}`, reconnected: client.reconnects, sent: client.sent, delivered: client.got.length, lost, duplicated };
  });
  const totalAccepted = [...accepted.values()].reduce((sum, room) => sum + room.size, 0);
  // What each replica received from its room channels, against what its rooms accepted (a
  // channel per room) and what every replica received with one channel for all rooms (before).
  const replicaTraffic = chats.map((_, i) => ({
    replica: `chat-${i + 1}`,
    roomChannelMessages: metric(after[i]!, "chat_room_channel_messages_total"),
    roomChannelBytes: metric(after[i]!, "chat_room_channel_bytes_total"),
    acceptedInItsRooms: [...accepted].filter(([room]) => Number(room.split("-")[1]) % REPLICAS === i).reduce((sum, [, texts]) => sum + texts.size, 0),
    acceptedInAllRooms: totalAccepted,
    roomChannelMessagesBeforeKill: metric(before[i]!, "chat_room_channel_messages_total"),
  }));
  const summary = {
    clients: CLIENTS,
    rooms: ROOMS,
    ratePerS: RATE,
    seconds: SECONDS,
    killedMaster: victim.port,
    accepted: totalAccepted,
    sendAttempts: clients.reduce((sum, c) => sum + c.attempts, 0),
    delivered: rows.reduce((sum, row) => sum + row.delivered, 0),
    lost: rows.reduce((sum, row) => sum + row.lost, 0),
    duplicated: rows.reduce((sum, row) => sum + row.duplicated, 0),
    recoveryMs: clock.recoveredAt === undefined ? -1 : clock.recoveredAt - clock.killedAt,
  };
  console.table(rows);
  console.table(replicaTraffic);
  console.table([summary]);
  console.log(`DRILL ${JSON.stringify(summary)}`);
  if (args.json) await writeFile(args.json, `${JSON.stringify({ summary, clients: rows, replicaTraffic }, null, 2)}\n`);
  const ok = summary.lost === 0 && summary.duplicated === 0 && summary.recoveryMs >= 0 && summary.recoveryMs < RECOVERY_TARGET_MS;
  console.log(ok ? "PASS: 0 lost, 0 duplicated, recovery < 5 s" : "FAIL");
  process.exitCode = ok ? 0 : 1;
} finally {
  for (const client of clients) client.socket.disconnect();
  for (const chat of chats) {
    chat.child.kill("SIGTERM");
    await chat.exited;
  }
  await redisCluster.close();
  await usersRedis.close();
}
