import { describe, expect, it } from "vitest";
import { connected, identified, ok, record } from "@clusterkit/test-kit/chat";
import { redisReady as ready, useGatedReplica } from "./support/gated-replica.js";

// One replica straight on Redis, one behind a relay that decides which of its connections come
// back first after a restart: in the drill that order is chance, here it is the worst one.
const gate = useGatedReplica();

/** The gated replica's commands connection (`connectRedis` names it; its duplicates add a role). */
const isCommands = (name: string) => name === "test-chat-gated";

/** A writer on the direct replica and a reader on each replica, all in `room`. */
async function roomOfThree(room: string) {
  await Promise.all([ready(gate.direct.redis), ready(gate.gated.redis)]);
  const writer = await identified(gate.cluster.client(gate.direct), `${room}-writer`);
  const near = await identified(gate.cluster.client(gate.direct), `${room}-near`);
  const far = await identified(gate.cluster.client(gate.gated), `${room}-far`);
  for (const socket of [writer, near, far]) await ok(socket, "chat:join", { room });
  return { writer, near: record(near, "chat:message"), far: record(far, "chat:message"), farSocket: far };
}

/**
 * Restarts Redis empty while every connection of the gated replica waits at the gate.relay, lets the
 * direct replica store `first`, then lets the gated replica's subscribers back while its
 * commands connection still waits, and stores `second`.
 */
async function restartWhileGatedLags(write: (text: string) => Promise<string>) {
  gate.relay.holdConnections(() => true);
  await gate.cluster.redis.restart();
  await ready(gate.direct.redis);
  const first = await write("first after the restart");
  await gate.relay.connectionHeld(isCommands);
  gate.relay.releaseConnections((name) => !isCommands(name));
  const second = await write("second after the restart");
  return { first, second };
}

describe("a Redis restart that loses every stream", () => {
  it("delivers the first messages stored after it on every replica, once, in order", async () => {
    const room = "restart";
    const { writer, near, far, farSocket } = await roomOfThree(room);
    const write = async (text: string) => (await ok(writer, "chat:message", { room, text })).message.id;
    const before = await write("before");
    await Promise.all([near.find((m) => m.id === before), far.find((m) => m.id === before)]);
    // A tab that stays connected through the restart: its replica restores the nickname's owner.
    await identified(gate.cluster.client(gate.gated), "returning2", "returning2-browser-key");

    const { second } = await restartWhileGatedLags(write);
    await Promise.all([near.find((m) => m.id === second), far.find((m) => m.id === second)]);
    const expected = ["before", "first after the restart", "second after the restart"];
    expect(near.items.map((m) => m.text)).toEqual(expected);
    expect(far.items.map((m) => m.text)).toEqual(expected);

    // Its commands connection back, the gated replica takes messages again.
    gate.relay.releaseConnections();
    await ready(gate.gated.redis);
    const last = (await ok(farSocket, "chat:message", { room, text: "from the lagging replica" })).message.id;
    await Promise.all([near.find((m) => m.id === last), far.find((m) => m.id === last)]);
    expect(far.items.map((m) => m.text)).toEqual([...expected, "from the lagging replica"]);
    expect(near.items.map((m) => m.text)).toEqual([...expected, "from the lagging replica"]);

    // A client that held a position from before the restart starts over with all that came since.
    const returning = await identified(gate.cluster.client(gate.gated), "returning");
    const joined = await ok(returning, "chat:join", { room, since: before });
    expect(joined).toMatchObject({ mode: "history", truncated: true });
    expect(joined.messages.map((m) => m.text)).toEqual([...expected.slice(1), "from the lagging replica"]);
    const live = record(returning, "chat:message");
    await write("live again");
    expect((await live.until(1)).map((m) => m.text)).toEqual(["live again"]);

    // Its private inbox too (another tab of a user connected through the restart): everything
    // stored since the restart, whatever `privateSince` was.
    const fields = { user: "restart-writer", to: "returning2", text: "whispered since the restart", server: "chat-1", timestamp: new Date().toISOString() };
    const whisper = await gate.cluster.inspect.xAdd("chat:room:{@returning2}:log", "*", fields);
    const tab = gate.cluster.client(gate.gated);
    await connected(tab);
    const identity = await ok(tab, "chat:identify", { nickname: "returning2", sessionKey: "returning2-browser-key", privateSince: before });
    expect(identity.privates.map((m) => m.text)).toEqual(["whispered since the restart"]);
    expect(identity.privatePosition).toBe(whisper);
  });

  it("keeps delivering when the restarted Redis hands out lower ids than the old one did", async () => {
    const room = "skewed";
    const { writer, near, far } = await roomOfThree(room);
    const write = async (text: string) => (await ok(writer, "chat:message", { room, text })).message.id;
    await write("opens the stream");
    // The old Redis's clock ran an hour ahead (a failover to another host can do that).
    await gate.cluster.inspect.sendCommand(["XSETID", `chat:room:{${room}}:log`, `${Date.now() + 3_600_000}-0`]);
    const ahead = await write("an hour ahead");
    await Promise.all([near.find((m) => m.id === ahead), far.find((m) => m.id === ahead)]);

    const { first, second } = await restartWhileGatedLags(write);
    expect(BigInt(first.split("-")[0]!)).toBeLessThan(BigInt(ahead.split("-")[0]!));
    await Promise.all([near.find((m) => m.id === second), far.find((m) => m.id === second)]);
    const expected = ["opens the stream", "an hour ahead", "first after the restart", "second after the restart"];
    expect(near.items.map((m) => m.text)).toEqual(expected);
    expect(far.items.map((m) => m.text)).toEqual(expected);
  });
});
