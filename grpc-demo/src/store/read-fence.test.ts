import { describe, expect, it } from "vitest";
import { ReadFence } from "./read-fence.js";

/** A read the test completes by hand, counting how many were started. */
function manualReads() {
  const pending: Array<(value: number) => void> = [];
  let started = 0;
  const read = () =>
    new Promise<number>((resolve) => {
      started += 1;
      pending.push(resolve);
    });
  const until = async (count: number) => {
    while (started < count) await new Promise((r) => setImmediate(r));
  };
  return { read, pending, until, started: () => started };
}

describe("ReadFence", () => {
  it("shares one read among the callers of one event-loop turn", async () => {
    const reads = manualReads();
    const fence = new ReadFence(reads.read);
    const answers = Promise.all([fence.next(), fence.next(), fence.next()]);
    await reads.until(1);
    reads.pending[0]!(7);
    expect(await answers).toEqual([7, 7, 7]);
    expect(reads.started()).toBe(1);
  });

  it("never answers a caller with a read that started before it asked", async () => {
    const reads = manualReads();
    const fence = new ReadFence(reads.read);
    const early = fence.next();
    await reads.until(1);
    const late = fence.next();
    reads.pending[0]!(1);
    expect(await early).toBe(1);
    await reads.until(2);
    reads.pending[1]!(2);
    expect(await late).toBe(2);
  });

  it("passes a failed read to its batch and keeps serving later callers", async () => {
    let fail = true;
    const fence = new ReadFence(async () => {
      if (fail) throw new Error("down");
      return 3;
    });
    await expect(fence.next()).rejects.toThrow("down");
    fail = false;
    expect(await fence.next()).toBe(3);
  });
});
