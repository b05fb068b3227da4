import { expect } from "vitest";
import type { ChatTester } from "./chat-client.js";
import { docker, type ContainerInfo, type Kit } from "./kit.js";

/**
 * The chat's crash scenario, the same on one Redis and on a Redis Cluster: `reader` and `writer`
 * (on another replica) share `room`; the reader's replica is SIGKILLed while the writer keeps
 * sending; the reader reconnects through nginx to another replica, which replays what it missed
 * from the room's stream. Asserts it has every message once, in order; returns the killed container.
 */
export async function killReadersReplica(kit: Kit, reader: ChatTester, writer: ChatTester, room: string): Promise<ContainerInfo> {
  const doomed = (await kit.containers("chat")).find((c) => c.hostname === reader.server);
  if (!doomed) throw new Error(`no chat container has hostname ${reader.server}`);
  for (const client of [reader, writer]) await client.join(room);
  await writer.send(room, "before");
  await reader.receive(room, ["before"]);

  await docker("kill", doomed.id);
  const missed = ["missed 1", "missed 2", "missed 3"];
  for (const text of missed) await writer.send(room, text);
  await reader.until(() => reader.connects === 2, 20_000, "reconnection");
  await writer.send(room, "after");

  await reader.receive(room, ["after"]);
  expect(reader.server).not.toBe(doomed.hostname);
  expect(reader.texts(room)).toEqual(["before", ...missed, "after"]);
  return doomed;
}
