import { describe, expect, it } from "vitest";
import { compareStreamIds, parseStreamId } from "./stream-ids.js";

describe("stream ids", () => {
  it("parses <ms>-<seq> and a bare <ms>", () => {
    expect(parseStreamId("1700000000000-3")).toEqual({ ms: 1700000000000n, seq: 3n });
    expect(parseStreamId("42")).toEqual({ ms: 42n, seq: 0n });
  });

  it("rejects anything else", () => {
    for (const bad of ["", "-", "1-", "a-1", "1-2-3", " 1-2", "$", "+", "0x10-1"]) expect(parseStreamId(bad)).toBeNull();
  });

  it("orders by time, then by sequence, numerically", () => {
    expect(compareStreamIds("9-0", "10-0")).toBeLessThan(0);
    expect(compareStreamIds("10-2", "10-10")).toBeLessThan(0);
    expect(compareStreamIds("5-10", "5-9")).toBeGreaterThan(0);
    expect(compareStreamIds("1795335018422-0", "1795335018422-0")).toBe(0);
    expect(compareStreamIds("7", "7-0")).toBe(0);
    // Beyond Number's exact range: still exact.
    expect(compareStreamIds("18446744073709551615-1", "18446744073709551615-0")).toBeGreaterThan(0);
  });

  it("orders ids in any accepted form as their numbers, canonical or not (leading zeros, bare <ms>)", () => {
    const ids = ["0-0", "0-1", "1-0", "007-3", "7-3", "7-10", "9", "10-0", "99-99", "100-0", "1795335018422-0", "1795335018422-17", "18446744073709551615-0"];
    const value = (id: string) => {
      const p = parseStreamId(id)!;
      return p.ms * 2n ** 64n + p.seq;
    };
    for (const a of ids) {
      for (const b of ids) expect(Math.sign(compareStreamIds(a, b)), `${a} vs ${b}`).toBe(value(a) < value(b) ? -1 : value(a) > value(b) ? 1 : 0);
    }
  });

  it("refuses to order a malformed id instead of guessing", () => {
    expect(() => compareStreamIds("abc", "1-0")).toThrow(/cannot compare stream ids/);
  });
});
