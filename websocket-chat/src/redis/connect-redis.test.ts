import { describe, expect, it } from "vitest";
import { ClientOfflineError } from "redis";
import { isRedisUnavailable } from "./connect-redis.js";

describe("isRedisUnavailable", () => {
  it("counts a connection that died under a command in flight, not other failures", () => {
    expect(isRedisUnavailable(new ClientOfflineError())).toBe(true);
    // What node-redis rejects in-flight commands with when redis-server is SIGKILLed.
    expect(isRedisUnavailable(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toBe(true);
    expect(isRedisUnavailable(new Error("ERR wrong number of arguments"))).toBe(false);
    expect(isRedisUnavailable("ECONNRESET")).toBe(false);
  });
});
