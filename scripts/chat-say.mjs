#!/usr/bin/env node
// A chat participant without a browser, for the exercises (docs/exercises.md): connects through
// nginx, identifies, joins a room, and sends messages (and "typing" hints), printing the replica
// it is on for each. It reconnects, rejoins and keeps going when its replica dies, like the page.
//
//   node scripts/chat-say.mjs [--url http://localhost:8080] [--room lobby] [--nick bot]
//     [--count 1] [--every 500] [--typing] [--token <CHAT_AUTH_SECRET token>] [text]
// Exits 0 once every message was accepted, 1 on a refused one or after 30 s without progress.
import { setTimeout, clearTimeout } from "node:timers";
import { URL } from "node:url";
import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string", default: `http://localhost:${process.env.NGINX_PORT || 8080}` },
    room: { type: "string", default: "lobby" },
    nick: { type: "string", default: `bot${process.pid}` },
    count: { type: "string", default: "1" },
    every: { type: "string", default: "500" },
    typing: { type: "boolean", default: false },
    token: { type: "string" },
  },
});
const count = Number(values.count);
const every = Number(values.every);
const text = positionals.join(" ") || "hello";

const socket = io(values.url, {
  transports: ["websocket"],
  // The chat checks Origin against Host on every handshake, as for a browser.
  extraHeaders: { origin: new URL(values.url).origin },
  auth: values.token ? { token: values.token } : {},
  reconnectionDelay: 200,
  reconnectionDelayMax: 1_000,
});

let server = "";
let sent = 0;
let stalled = setTimeout(() => fail("no progress for 30 s"), 30_000);

function fail(why) {
  console.error(`error: ${why}`);
  process.exit(1);
}

async function ack(event, payload) {
  const result = await socket.timeout(5_000).emitWithAck(event, payload);
  if (result && "error" in result) throw new Error(`${event}: ${result.error.code} ${result.error.message}`);
  return result;
}

async function run() {
  // The same session key on every reconnect: the nickname stays ours across a replica's death.
  const me = await ack("chat:identify", { nickname: values.nick, sessionKey: `${values.nick}-exercise-session-key` });
  await ack("chat:join", { room: values.room });
  if (server && server !== me.server) console.log(`moved from ${server} to ${me.server}`);
  server = me.server;
  while (sent < count && socket.connected) {
    if (values.typing) await ack("chat:typing", { room: values.room });
    const body = count > 1 ? `${text} ${sent + 1}` : text;
    const { message } = await ack("chat:message", { room: values.room, text: body });
    sent += 1;
    clearTimeout(stalled);
    stalled = setTimeout(() => fail("no progress for 30 s"), 30_000);
    console.log(`${values.nick} -> #${values.room}: ${body}  [id ${message.id}, on ${server}]`);
    if (sent < count) await new Promise((resolve) => setTimeout(resolve, every));
  }
  if (sent >= count) {
    socket.close();
    process.exit(0);
  }
}

socket.on("connect", () => {
  run().catch((error) => {
    // A replica dying under a call: the reconnect runs `run` again and carries on.
    if (!socket.connected) return;
    fail(error instanceof Error ? error.message : String(error));
  });
});
socket.on("disconnect", (reason) => reason !== "io client disconnect" && console.log(`disconnected (${reason}); reconnecting through nginx`));
socket.on("connect_error", (error) => {
  // Refused by the server (a missing or bad token): Socket.IO will not retry, and neither do we.
  if (!socket.active) fail(`connection refused: ${error.message}`);
  console.log(`connect error: ${error.message}; retrying`);
});
