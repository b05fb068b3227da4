import { SeededRandom } from "@clusterkit/test-kit";
import { clientEventNames } from "../../../websocket-chat/src/contracts/events.js";

/**
 * Hostile Socket.IO traffic from a seed: event names a client may and may not send, and payloads
 * of every wrong shape (wrong types, near-valid objects with hostile fields, deep and wide JSON,
 * binary attachments, sizes around the packet limit). Same seed, same sequence.
 */

export type Shape =
  | "string"
  | "number"
  | "null"
  | "array"
  | "near-valid"
  | "hostile-text"
  | "extra-keys"
  | "deep-object"
  | "deep-array"
  | "wide"
  | "binary"
  | "big-string"
  | "proto-pollution";

export interface FuzzEvent {
  event: string;
  args: unknown[];
  /** Sent with an ack callback (the kit's dialect) or without (errors come back as chat:error). */
  withAck: boolean;
  shape: Shape;
}

const unknownNames = ["chat:delete_everything", "connect", "disconnect", "__proto__", "constructor", "", "chat:", "users:admin"];

function deep(depth: number, leaf: unknown, asArray: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { room: value };
  return value;
}

/** One of the kit's fields with a hostile value: a room, text, nickname, id or cursor. */
function nearValid(random: SeededRandom): Record<string, unknown> {
  const field = () =>
    random.pick<() => unknown>([
      () => random.hostileString(80),
      () => random.hostileString(2_100),
      () => "general",
      () => random.int(-1e9, 1e9),
      () => ({ toString: "x" }),
      () => ["general"],
      () => null,
      () => "99999999999999999999-99999999999999999999",
      () => "0-0",
    ])();
  const shapes = [
    () => ({ room: field(), text: field() }),
    () => ({ room: field() }),
    () => ({ room: field(), since: field() }),
    () => ({ to: field(), text: field() }),
    () => ({ nickname: field(), sessionKey: field() }),
    () => ({ since: field() }),
    () => ({ room: field(), message: field() }),
  ];
  return random.pick(shapes)();
}

export function* fuzzEvents(random: SeededRandom, count: number): Generator<FuzzEvent> {
  const shapes: Shape[] = [
    "string", "number", "null", "array", "near-valid", "near-valid", "hostile-text", "hostile-text", "extra-keys",
    "deep-object", "deep-array", "wide", "binary", "big-string", "proto-pollution",
  ];
  for (let n = 0; n < count; n++) {
    const event = random.chance(0.8)
      ? random.pick(clientEventNames)
      : random.chance(0.5)
        ? random.pick(unknownNames)
        : random.hostileString(40);
    const shape = random.pick(shapes);
    let payload: unknown;
    switch (shape) {
      case "string": payload = random.hostileString(300); break;
      case "number": payload = random.pick([0, -1, 1e308, Number.MAX_SAFE_INTEGER, 3.14]); break;
      case "null": payload = null; break;
      case "array": payload = [random.hostileString(20), random.int(0, 9), { room: "general" }]; break;
      case "near-valid": payload = nearValid(random); break;
      // Valid in shape: often accepted, so what gets stored is as hostile as a valid message can be.
      case "hostile-text": payload = { room: "general", text: random.hostileString(2_000) }; break;
      case "extra-keys": payload = { ...nearValid(random), admin: true, [random.hostileString(10)]: 1 }; break;
      // socket.io-client's encoder recurses, so deeper JSON goes raw (see malformedPackets).
      case "deep-object": payload = deep(random.int(100, 1_000), "general", false); break;
      case "deep-array": payload = deep(random.int(100, 1_000), "x", true); break;
      case "wide": payload = Object.fromEntries(Array.from({ length: random.int(50, 800) }, (_, i) => [`k${i}`, i])); break;
      case "binary": payload = random.chance(0.5) ? random.bytes(4_000) : { room: "general", text: random.bytes(200) }; break;
      case "big-string": payload = { room: "general", text: "w".repeat(random.int(2_001, 12_000)) }; break;
      case "proto-pollution": payload = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"room":"general","text":"p"}'); break;
    }
    const extra = random.chance(0.1) ? [random.hostileString(10), random.bytes(16)] : [];
    yield { event, args: [payload, ...extra], withAck: random.chance(0.75), shape };
  }
}

/** Raw Socket.IO packets (after Engine.IO's "4"): broken JSON, bad types, namespaces, attachment counts. */
export const malformedPackets = [
  '2["chat:message",',
  "2{}",
  "2[]",
  "2[1,2,3]",
  '2[null,{"room":"general"}]',
  '2["chat:join",{"room":"general"}',
  "9garbage",
  "0/admin,",
  '0/admin,{"token":1}',
  "1/admin,",
  '51-["chat:message",{"_placeholder":true,"num":0}]',
  '599999999-["chat:message",{"_placeholder":true,"num":99}]',
  '2999999999999999999999["chat:join",{"room":"general"}]',
  '3123["oops"]',
  "2" + "[".repeat(4_000) + "]".repeat(4_000),
  '2["chat:join",' + '{"room":'.repeat(1_500) + '"x"' + "}".repeat(1_500) + "]",
  '2["chat:message",{"room":"general","text":"' + "\\u0000".repeat(2_000) + '"}]',
];
