import { describe, expect, it } from "vitest";
import { compareCursors, parseCursor } from "./cursor.js";

describe("stream cursors", () => {
  it("parses <ms>-<seq> and a bare <ms>", () => {
    expect(parseCursor("1700000000000-3")).toEqual({ ms: 1700000000000n, seq: 3n });
    expect(parseCursor("42")).toEqual({ ms: 42n, seq: 0n });
  });

  it("rejects anything else", () => {
    for (const bad of ["", "-", "1-", "a-1", "1-2-3", " 1-2", "$", "+"]) expect(parseCursor(bad)).toBeNull();
  });

  it("orders by time, then sequence, numerically", () => {
    expect(compareCursors("9-0", "10-0")).toBeLessThan(0);
    expect(compareCursors("10-2", "10-10")).toBeLessThan(0);
    expect(compareCursors("10-1", "10-1")).toBe(0);
    expect(compareCursors("11-0", "10-99")).toBeGreaterThan(0);
  });
});
