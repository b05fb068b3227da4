import type { UserEventEntry } from "../events/user-event.js";

/** The part of a generated method definition that turns a response into bytes. */
interface Serializing {
  responseSerialize: (value: never) => Buffer;
}

/**
 * A service whose SubscribeToUpdates also accepts responses encoded beforehand (a Buffer),
 * passed through as they are. grpc-js serializes each write of each call, so an update going to
 * a thousand subscribers was encoded a thousand times, the larger part of what delivering it
 * cost (bench/results/profiles/grpc-fan-out-before.md); with this it is encoded once (see
 * {@link EncodedUpdates}). Only the replica's own handlers write to these calls.
 */
export function withEncodedUpdates<S extends { subscribeToUpdates: Serializing }>(service: S): S {
  const method = service.subscribeToUpdates;
  const serialize = method.responseSerialize as (value: unknown) => Buffer;
  return {
    ...service,
    subscribeToUpdates: { ...method, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)) },
  };
}

/**
 * Each event's update, encoded once and shared by every subscriber it is written to (the hub
 * hands all of them the same event object; replay batches are shared too). Held as long as the
 * event object is: a WeakMap, so nothing here outlives the hub's own references.
 */
export class EncodedUpdates {
  private readonly encoded = new WeakMap<UserEventEntry, Buffer>();

  constructor(private readonly encode: (event: UserEventEntry) => Uint8Array) {}

  bytes(event: UserEventEntry): Buffer {
    let bytes = this.encoded.get(event);
    if (bytes === undefined) {
      const array = this.encode(event);
      // A view, not a copy: grpc-js copies it into each call's frame.
      bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
      this.encoded.set(event, bytes);
    }
    return bytes;
  }
}
