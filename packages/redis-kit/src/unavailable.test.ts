import { describe, expect, it } from "vitest";
import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, ErrorReply, SocketClosedUnexpectedlyError } from "redis";
import { isRedisUnavailable } from "./unavailable.js";

describe("isRedisUnavailable", () => {
  it("counts a connection that is down or died under a command in flight", () => {
    expect(isRedisUnavailable(new ClientOfflineError())).toBe(true);
    expect(isRedisUnavailable(new ClientClosedError())).toBe(true);
    expect(isRedisUnavailable(new SocketClosedUnexpectedlyError())).toBe(true);
    expect(isRedisUnavailable(new ConnectionTimeoutError())).toBe(true);
    // What node-redis rejects in-flight commands with when redis-server is SIGKILLed.
    expect(isRedisUnavailable(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toBe(true);
  });

  it("counts a Redis Cluster's replies while a master fails over, which ran nothing", () => {
    expect(isRedisUnavailable(new ErrorReply("CLUSTERDOWN The cluster is down"))).toBe(true);
    expect(isRedisUnavailable(new ErrorReply("TRYAGAIN Multiple keys request during rehashing of slot"))).toBe(true);
    expect(isRedisUnavailable(new ErrorReply("CROSSSLOT Keys in request don't hash to the same slot"))).toBe(false);
  });

  it("does not count a rejected command or something that is not an error", () => {
    expect(isRedisUnavailable(new Error("ERR wrong number of arguments"))).toBe(false);
    expect(isRedisUnavailable("ECONNRESET")).toBe(false);
    expect(isRedisUnavailable(undefined)).toBe(false);
  });
});
