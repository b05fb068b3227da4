import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { writeOrWait } from "./service-context.js";

/** A call whose buffer is always full: every write waits for 'drain'. */
class FullCall extends EventEmitter {
  cancelled = false;
  write(): boolean {
    setImmediate(() => this.emit("drain"));
    return false;
  }
}

describe("finding 11.9: writeOrWait's listener leak (MaxListenersExceededWarning)", () => {
  it("leaves no 'drain' or 'cancelled' listener behind, however many writes waited", async () => {
    const call = new FullCall();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    for (let i = 0; i < 50; i += 1) expect(await writeOrWait(call, i)).toBe(true);
    process.off("warning", onWarning);
    expect(call.listenerCount("drain")).toBe(0);
    expect(call.listenerCount("cancelled")).toBe(0);
    expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
  });

  it("stops waiting when the call is cancelled, and removes the 'drain' listener", async () => {
    const call = new FullCall();
    call.write = () => false;
    const waiting = writeOrWait(call, "x");
    call.cancelled = true;
    call.emit("cancelled");
    expect(await waiting).toBe(false);
    expect(call.listenerCount("drain")).toBe(0);
  });
});
