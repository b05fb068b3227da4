/**
 * A replica's log tells the story of its sockets: one info line per connect, identify, join,
 * leave and disconnect, with replica, room and nickname; message text only at debug.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startChatCluster, type TestCluster, connected, identified, ok, request } from "@clusterkit/test-kit/chat";

type Line = Record<string, unknown> & { msg: string; level: number };
const lines: Line[] = [];
let waiters: (() => void)[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const text of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(text) as Line);
    const waiting = waiters;
    waiters = [];
    for (const wake of waiting) wake();
    done();
  },
});

/** Resolves with the first line (logged or to come) that matches. */
function line(match: (l: Line) => boolean, timeoutMs = 5_000): Promise<Line> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching log line; got ${JSON.stringify(lines.map((l) => l.msg))}`)), timeoutMs);
    const check = () => {
      const found = lines.find(match);
      if (!found) return void waiters.push(check);
      clearTimeout(timer);
      resolve(found);
    };
    check();
  });
}

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startChatCluster(1, { logger: pino({ level: "debug" }, sink) });
});
afterAll(async () => {
  await cluster?.close();
});

const INFO = 30;
const DEBUG = 20;

describe("the chat's activity log", () => {
  it("logs connect, identify, join, leave, logout and disconnect at info, with replica, room and nickname", async () => {
    const socket = cluster.client(cluster.replicas[0]!);
    await connected(socket);
    const id = socket.id;
    await identified(socket, "lovelace");
    await ok(socket, "chat:join", { room: "engines" });
    await ok(socket, "chat:leave", { room: "engines" });
    await ok(socket, "chat:logout", {});
    socket.disconnect();

    const ofSocket = (msg: string) => line((l) => l.msg === msg && l.socket === id);
    expect(await ofSocket("connect")).toMatchObject({ level: INFO, replica: "chat-1", transport: "websocket" });
    expect(await ofSocket("identify")).toMatchObject({ level: INFO, replica: "chat-1", nickname: "lovelace" });
    expect(await ofSocket("join")).toMatchObject({ level: INFO, replica: "chat-1", nickname: "lovelace", room: "engines" });
    expect(await ofSocket("leave")).toMatchObject({ level: INFO, replica: "chat-1", nickname: "lovelace", room: "engines" });
    expect(await ofSocket("logout")).toMatchObject({ level: INFO, replica: "chat-1", nickname: "lovelace" });
    const disconnect = await ofSocket("disconnect");
    expect(disconnect).toMatchObject({ level: INFO, replica: "chat-1", reason: "client namespace disconnect" });
    expect(disconnect.nickname).toBeUndefined();
  });

  it("logs a refused event not as a success", async () => {
    const socket = cluster.client(cluster.replicas[0]!);
    await connected(socket);
    expect(await request(socket, "chat:join", { room: "engines" })).toMatchObject({ error: { code: "NOT_IDENTIFIED" } });
    const id = socket.id;
    socket.disconnect();
    await line((l) => l.msg === "disconnect" && l.socket === id);
    expect(lines.filter((l) => l.socket === id).map((l) => l.msg)).toEqual(["connect", "disconnect"]);
  });

  it("writes message text only at debug", async () => {
    const socket = await identified(cluster.client(cluster.replicas[0]!), "babbage");
    await ok(socket, "chat:join", { room: "engines" });
    const text = "the analytical engine weaves algebraic patterns";
    await ok(socket, "chat:message", { room: "engines", text });
    const message = await line((l) => l.msg === "message" && l.nickname === "babbage");
    expect(message).toMatchObject({ level: DEBUG, room: "engines", text });
    expect(lines.filter((l) => l.level >= INFO && JSON.stringify(l).includes(text))).toEqual([]);

    // Disconnecting while identified: the line names who left.
    const id = socket.id;
    socket.disconnect();
    expect(await line((l) => l.msg === "disconnect" && l.socket === id)).toMatchObject({ level: INFO, nickname: "babbage" });
  });
});
