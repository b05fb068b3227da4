import { describe, expect, it } from "vitest";
import { ConnectionLimits } from "./connection-limits.js";

describe("ConnectionLimits (a fake clock)", () => {
  it("lets the connect budget come back as the window slides, and forgets quiet addresses", () => {
    let now = 1_000_000;
    const limits = new ConnectionLimits({ maxSockets: 100, maxConnects: 4, windowMs: 10_000 }, () => now);
    for (let n = 0; n < 4; n++) expect(limits.admit("a")).toBeUndefined();
    expect(limits.admit("a")).toMatch(/^too many new connections from a: at most 4 per 10 s; try again in 10 s$/);
    expect(limits.admit("b")).toBeUndefined(); // another address has its own budget

    now += 15_000; // half of the previous window still overlaps: 4 × 0.5 = 2 spent
    expect(limits.admit("a")).toBeUndefined();
    expect(limits.admit("a")).toBeUndefined();
    expect(limits.admit("a")).toMatch(/try again in 5 s$/);

    now += 20_000; // two windows of silence: nothing remembered
    for (let n = 0; n < 4; n++) expect(limits.admit("a")).toBeUndefined();
  });

  it("counts open connections exactly, per address", () => {
    const limits = new ConnectionLimits({ maxSockets: 2, maxConnects: 100, windowMs: 10_000 });
    limits.opened("a");
    limits.opened("a");
    limits.opened("b");
    expect(limits.admit("a")).toBe("too many connections from a: at most 2 at once");
    limits.closed("a");
    expect(limits.admit("a")).toBeUndefined();
    limits.closed("b");
    limits.closed("b");
    expect(limits.admit("b")).toBeUndefined();
    limits.opened("a");
    expect(limits.admit("a")).toBe("too many connections from a: at most 2 at once");
  });
});
