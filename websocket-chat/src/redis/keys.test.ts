import { describe, expect, it } from "vitest";
import { compareStreamIds } from "./keys.js";

describe("compareStreamIds", () => {
  it("orders by time, then by sequence, numerically", () => {
    expect(compareStreamIds("1-0", "2-0")).toBeLessThan(0);
    expect(compareStreamIds("10-0", "9-99")).toBeGreaterThan(0);
    expect(compareStreamIds("5-10", "5-9")).toBeGreaterThan(0);
    expect(compareStreamIds("1795335018422-0", "1795335018422-0")).toBe(0);
    // Beyond Number's exact range: still exact.
    expect(compareStreamIds("18446744073709551615-1", "18446744073709551615-0")).toBeGreaterThan(0);
  });
});
